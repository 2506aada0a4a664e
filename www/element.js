// @ts-check
// <boltzmann-playground>: the playground as one custom element for blogs and lecture notes.
//
//   <script type="module" src="https://your.host/playground/www/element.js"></script>
//   <boltzmann-playground sampler="asbs" target="gmm1d-demo" seed="7" controls="play,step,reset"
//                         autoplay theme="auto"></boltzmann-playground>
//
// Attributes: sampler, target, seed, preset, scene (a curated scene, www/scenes.js), controls
// ("play,step,reset,speed" in any selection, or "none"), autoplay, theme ("auto" | "light" |
// "dark"), compare (a second run beside it on the same settings and seed: "1" for the
// scene's or Adjoint Sampling, a sampler's name, or JSON {"sampler": …, …settings} as a
// link's `vs`; www/compare.js).
// Every instance lays out one run controller (www/controller.js, the page's too), which owns
// its `Playground`; all share one wasm module. A changed run attribute applies as the page's
// control for it does. An instance shows a poster (what it will run and a Start button) until
// it comes near the viewport or is clicked, and pauses while it is scrolled out of view or the
// tab is hidden, resuming when it comes back.
// Colours are www/palette.css's tokens, adopted into the shadow root; they and the sizes are
// CSS custom properties on the element (documented in README.md's Embedding section), and
// any page rule on `boltzmann-playground` overrides them.

import * as glue from "../pkg/boltzmann_playground.js";
import { loadCore as loadWasmCore } from "./core.js";
import { RunController, SUMMARY_EVERY, couldNotStartText, drawingStoppedText, messageOf } from "./controller.js";
import { HistoryCopy } from "./history.js";
import { readRegistry } from "./registry.js";
import { currentRegistry, parseSetting, setRegistry } from "./state.js";
import { Surface } from "./surface.js";
import { readTheme } from "./theme.js";
import { FieldView } from "./views/field.js";
import { TimeFieldView } from "./views/timefield.js";
import { drawDensity1d } from "./views/density1d.js";
import { drawLineChart } from "./views/chart.js";
import { formatCount, formatNumber, formatSignificant } from "./views/ticks.js";
import { findScene } from "./scenes.js";
import { histogramDensity } from "./oned.js";
import { drawPoster, posterAspect } from "./poster.js";
import { parseVersus, sceneVersus } from "./compare.js";

/** Per-frame training budget (ms) shared by all playing instances on the page. */
const FRAME_BUDGET = 8;
/** Metrics events at most this often (ms). */
const METRICS_EVERY = 500;
const CONTROLS = ["play", "step", "reset", "speed"];
const DEFAULT_CONTROLS = ["play", "step", "reset"];
/** Starts this far before it scrolls into view. */
const NEAR = "200px";

let corePromise = null;

/**
 * The shared palette (www/palette.css: every colour token, light and dark), adopted by every
 * instance's shadow root; filled once fetched.
 */
const paletteSheet = new CSSStyleSheet();
const palettePromise = fetch(new URL("./palette.css", import.meta.url))
  .then((response) => {
    if (!response.ok) throw new Error(`www/palette.css: HTTP ${response.status}`);
    return response.text();
  })
  .then((text) => paletteSheet.replace(text));

/**
 * Loads the wasm module once for every instance on the page, and the core's registry.
 * @returns {Promise<import("./registry.js").Registry>}
 */
export function loadCore() {
  if (!corePromise) {
    corePromise = Promise.all([loadWasmCore(), palettePromise]).then(() => {
      const registry = readRegistry(glue);
      setRegistry(registry);
      return registry;
    });
    corePromise.then(
      () => {
        coreReady = true;
        for (const el of awaitingPreview) el.drawPreview();
        awaitingPreview.clear();
      },
      () => {},
    );
  }
  return corePromise;
}

/** Whether the core is loaded; posters draw their preview once it is (www/poster.js). */
let coreReady = false;
/** Elements showing a poster until the core (loaded by whichever starts first) is ready. */
const awaitingPreview = new Set();

/** The run attributes and the setting each one sets. */
const ATTRIBUTE_SETTINGS = { sampler: "sampler", target: "energy", seed: "seed", preset: "preset" };

/** Instances currently training: they split the frame budget. */
const playing = new Set();

const STYLE = `
:host {
  display: block;
  position: relative;
  contain: layout;
  --bp-font: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  --bp-radius: 10px;
  /* The public colour properties (README.md, Embedding), on the shared palette's tokens. */
  --bp-bg: var(--panel);
  --bp-text: var(--text);
  --bp-muted: var(--muted);
  --bp-border: var(--border);
  --bp-accent: var(--accent);
  --bp-accent-text: var(--accent-text);
  --bp-focus: var(--focus);
  --bp-error: var(--error);
  --bp-error-bg: var(--error-bg);
  --bp-warn: var(--warn);
  --bp-warn-bg: var(--warn-bg);
  --bp-aspect: 1.4;
}
:host([hidden]) { display: none; }
:host(:focus-visible) { outline: 2px solid var(--bp-focus); outline-offset: 2px; border-radius: var(--bp-radius); }
.frame {
  font: 14px/1.45 var(--bp-font);
  color: var(--bp-text);
  background: var(--bp-bg);
  border: 1px solid var(--bp-border);
  border-radius: var(--bp-radius);
  padding: 10px;
  box-sizing: border-box;
  min-width: 0;
}
.title { margin: 0 0 4px; font-weight: 600; font-size: 15px; }
.caption { margin: 0 0 8px; color: var(--bp-muted); }
.plot { position: relative; width: 100%; aspect-ratio: var(--aspect, var(--bp-aspect)); max-height: 80vh; }
.plot canvas, .small canvas { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.small { position: relative; width: 100%; height: 92px; margin-top: 6px; }
.poster {
  position: absolute; inset: 0; display: grid; place-content: center; gap: 8px; text-align: center;
  background: linear-gradient(135deg, var(--c-ramp-1), var(--c-ramp-3));
  color: var(--bp-text); border-radius: calc(var(--bp-radius) - 4px);
}
.poster[hidden] { display: none; }
.poster.preview { background: none; }
.poster.preview > * { justify-self: center; background: color-mix(in srgb, var(--bp-bg) 82%, transparent); padding: 4px 10px; border-radius: 8px; }
.poster p { margin: 0; font-weight: 600; }
.bar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-top: 8px; }
.bar[hidden] { display: none; }
button {
  font: inherit; min-height: 32px; padding: 4px 12px; border-radius: 8px; cursor: pointer;
  border: 1px solid var(--bp-border); background: var(--bp-bg); color: var(--bp-text);
}
button.primary { background: var(--bp-accent); color: var(--bp-accent-text); border-color: var(--bp-accent); }
button:focus-visible, input:focus-visible { outline: 2px solid var(--bp-focus); outline-offset: 2px; }
label.speed { display: inline-flex; gap: 6px; align-items: center; color: var(--bp-muted); }
label.speed input { width: 90px; }
.status { margin: 6px 0 0; color: var(--bp-muted); font-variant-numeric: tabular-nums; font-size: 13px; }
.banner { margin: 8px 0 0; padding: 6px 10px; border-radius: 8px; }
.banner[hidden] { display: none; }
.error { color: var(--bp-error); background: var(--bp-error-bg); }
.warn { color: var(--bp-warn); background: var(--bp-warn-bg); }
.warn ul { margin: 4px 0 0; padding-left: 18px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; margin: 6px 0 0; padding: 0; list-style: none; color: var(--bp-muted); font-size: 12px; }
.legend[hidden], .small[hidden] { display: none; }
.sw { display: inline-block; width: 12px; height: 3px; margin-right: 5px; vertical-align: middle; border-radius: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
`;

const TEMPLATE = `
<div class="frame" part="frame">
  <p class="title" part="title" hidden></p>
  <p class="caption" part="caption" hidden></p>
  <div class="plot">
    <canvas class="main" role="img"></canvas>
    <div class="poster" part="poster">
      <p class="poster-label"></p>
      <div><button type="button" class="primary start">Start</button></div>
    </div>
  </div>
  <div class="small hist" hidden><canvas role="img" aria-label="Histogram of the samples against the true density"></canvas></div>
  <div class="small loss"><canvas role="img" aria-label="Training loss per iteration"></canvas></div>
  <ul class="legend" aria-label="Legend"></ul>
  <div class="bar" role="toolbar" aria-label="Training controls">
    <button type="button" class="primary play" data-control="play" aria-keyshortcuts="Space">Play</button>
    <button type="button" class="step" data-control="step" aria-keyshortcuts=".">Step</button>
    <button type="button" class="reset" data-control="reset" aria-keyshortcuts="r">Reset</button>
    <label class="speed" data-control="speed"><span>Speed</span><input type="range" min="1" max="40" step="1" value="${FRAME_BUDGET}" aria-label="Training time per frame, milliseconds"></label>
  </div>
  <p class="status" aria-hidden="true">Not started.</p>
  <div class="banner warn" role="alert" hidden></div>
  <p class="banner error" role="alert" hidden></p>
  <p class="summary sr-only" aria-live="polite"></p>
</div>`;

export class BoltzmannPlayground extends HTMLElement {
  static get observedAttributes() {
    return ["sampler", "target", "seed", "preset", "scene", "controls", "theme", "compare"];
  }

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = `<style>${STYLE}</style>${TEMPLATE}`;
    root.adoptedStyleSheets = [paletteSheet];
    const q = (sel) => root.querySelector(sel);
    this.ui = {
      frame: q(".frame"),
      title: q(".title"),
      caption: q(".caption"),
      plot: q(".plot"),
      canvas: q("canvas.main"),
      poster: q(".poster"),
      posterLabel: q(".poster-label"),
      start: q(".start"),
      hist: q(".small.hist"),
      loss: q(".small.loss"),
      legend: q(".legend"),
      bar: q(".bar"),
      play: q(".play"),
      step: q(".step"),
      reset: q(".reset"),
      speed: q("label.speed input"),
      status: q(".status"),
      warn: q(".warn"),
      error: q(".error"),
      summary: q(".summary"),
    };
    /**
     * The run's controller (www/controller.js), shared with the page: created once the
     * core is loaded.
     * @type {RunController | null}
     */
    this.ctrl = null;
    this.started = false;
    this.playing = false;
    /** Paused by scrolling out of view or a hidden tab: resume when back. */
    this.autoPaused = false;
    this.visible = false;
    this.budget = FRAME_BUDGET;
    /**
     * A run given as a property (the iframe page's link), instead of the attributes.
     * @type {{ config: Record<string, unknown>, compare: boolean, versus: import("./compare.js").Versus | null } | null}
     */
    this.configOverride = null;
    this.dirty = true;
    this.raf = 0;
    this.lastSummary = 0;
    this.lastMetrics = 0;
    this.lastStatus = 0;
    this.history = new HistoryCopy();
    this.view = null;
    this.surfaces = null;
    this.errorMessage = "";
    this.frame = this.frame.bind(this);
    this.onVisibility = this.onVisibility.bind(this);
    this.onSchemeChange = () => this.refreshTheme();

    this.ui.start.addEventListener("click", () => this.start({ play: true }));
    this.ui.play.addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    this.ui.step.addEventListener("click", () => this.step());
    this.ui.reset.addEventListener("click", () => this.reset());
    this.ui.speed.addEventListener("input", () => this.setBudget(Number(this.ui.speed.value)));
    this.addEventListener("keydown", (e) => this.onKey(e));
  }

  connectedCallback() {
    if (!this.hasAttribute("tabindex")) this.tabIndex = 0;
    if (!this.hasAttribute("role")) this.setAttribute("role", "group");
    if (!this.hasAttribute("aria-label")) this.setAttribute("aria-label", "Boltzmann Playground");
    this.dataset.state = this.started ? this.dataset.state : "poster";
    this.applyControls();
    this.checkAttributes();
    this.describe();
    this.io = new IntersectionObserver((entries) => this.onIntersect(entries), { rootMargin: NEAR });
    this.io.observe(this);
    document.addEventListener("visibilitychange", this.onVisibility);
    this.scheme = window.matchMedia("(prefers-color-scheme: dark)");
    this.scheme.addEventListener("change", this.onSchemeChange);
    if (!this.started) {
      if (coreReady) this.drawPreview();
      else awaitingPreview.add(this);
    }
  }

  /** Creates the canvases' surfaces once (the poster's preview draws on the main one). */
  ensureSurfaces() {
    if (this.surfaces) return;
    this.surfaces = {
      main: new Surface(this.ui.canvas),
      hist: new Surface(this.ui.hist.querySelector("canvas")),
      loss: new Surface(this.ui.loss.querySelector("canvas")),
    };
    // After the surfaces' own observers (created first, so called first): redraw at the new size.
    this.resizeObserver = new ResizeObserver(() => this.kick());
    for (const el of [this.ui.plot, this.ui.hist, this.ui.loss]) this.resizeObserver.observe(el);
  }

  /**
   * The poster frame: the target's density under the poster's label, while no run exists.
   * A target the core rejects leaves the plain poster (starting names the problem).
   */
  drawPreview() {
    if (this.pg || !this.isConnected) return;
    this.describe();
    let preview;
    try {
      preview = glue.target_preview(this.plannedConfig());
    } catch {
      return;
    }
    this.ui.plot.style.setProperty("--aspect", String(posterAspect(preview)));
    this.preview = preview;
    // Painted by the next frame once the surface knows its size (its ResizeObserver's first
    // report kicks a frame), and again after every resize.
    this.ensureSurfaces();
    this.kick();
  }

  paintPreview() {
    const surface = this.surfaces?.main;
    if (!this.preview || !surface?.ready) return;
    drawPoster(surface, readTheme(this.ui.frame), this.preview);
    this.ui.poster.classList.add("preview");
    this.dataset.preview = "drawn";
  }

  disconnectedCallback() {
    awaitingPreview.delete(this);
    this.io?.disconnect();
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.scheme?.removeEventListener("change", this.onSchemeChange);
    this.setPlaying(false);
    cancelAnimationFrame(this.raf);
    this.raf = 0;
    // Moved elements are disconnected and connected again in one task: free the run only
    // when the element is really gone.
    setTimeout(() => {
      if (!this.isConnected) this.release();
    }, 0);
  }

  /** Frees the wasm objects; the element shows its poster again if it is ever reattached. */
  release() {
    if (!this.started) return;
    this.ctrl?.release();
    this.started = false;
    this.startPromise = null;
    this.pendingPlay = false;
    this.ui.poster.hidden = false;
    this.dataset.state = "poster";
  }

  attributeChangedCallback(name, old, value) {
    if (old === value || !this.isConnected) return;
    this.checkAttributes();
    if (name === "controls") this.applyControls();
    else if (name === "theme") this.refreshTheme();
    else if (this.started && this.configOverride === null) this.applyAttribute(name, value);
    else if (!this.started && this.dataset.state === "error" && this.visible) this.start();
    else this.describe();
  }

  /**
   * A changed run attribute, applied as the page applies the same control: one setting
   * changed by the controller's rules (a scene starts its own run; compare starts or stops
   * the compared run).
   * @param {string} name
   * @param {string | null} value
   */
  applyAttribute(name, value) {
    const ctrl = /** @type {RunController} */ (this.ctrl);
    if (name === "scene") {
      this.openAttributes();
      return;
    }
    if (name === "compare") {
      let versus;
      try {
        versus = this.versus();
      } catch (err) {
        this.reject(messageOf(err));
        return;
      }
      ctrl.setCompare(this.wantsCompare(), versus);
      this.afterCompare();
      return;
    }
    const key = ATTRIBUTE_SETTINGS[name];
    if (value === null) return;
    const parsed = parseSetting(key, value);
    if (!parsed.ok) {
      this.reject(`${name}="${value}": ${parsed.message}`);
      return;
    }
    const result = ctrl.change({ [key]: parsed.value });
    if (!result.ok) this.reject(`${name}="${value}": ${result.message}`);
    else if (result.announcement) this.say(result.announcement);
  }

  // -------------------------------------------------------------------------------------------
  // Public API (also what the iframe page's postMessage protocol drives)

  /** The running run (null before the start). */
  get pg() {
    return this.ctrl ? this.ctrl.pg : null;
  }

  /** The compared run, if any. */
  get comparePg() {
    return this.ctrl ? this.ctrl.comparePg : null;
  }

  /** Training iterations done so far (0 before the start). */
  get iteration() {
    return this.pg ? this.pg.metrics().iteration : 0;
  }

  /** The resolved configuration of the running sampler (null before the start). */
  get config() {
    return this.pg && this.ctrl ? this.ctrl.config : null;
  }

  /** The latest metrics object of the core (null before the start). */
  metrics() {
    return this.pg ? this.pg.metrics() : null;
  }

  /** The page-level state: {config, playing, budget, compare, versus, iteration, scene}. */
  get state() {
    return {
      config: this.config,
      playing: this.playing,
      budget: this.budget,
      compare: this.comparePg !== null,
      versus: this.comparePg !== null && this.ctrl ? this.ctrl.versus : null,
      iteration: this.iteration,
      scene: this.getAttribute("scene"),
    };
  }

  async play() {
    if (!(await this.start())) return;
    this.hideError();
    this.autoPaused = false;
    this.setPlaying(true);
    this.say("Training.");
  }

  pause() {
    this.autoPaused = false;
    this.setPlaying(false);
    this.say(this.ctrl ? this.ctrl.summary("Paused.") : "Paused.");
  }

  async step() {
    if (!(await this.start())) return;
    const ctrl = /** @type {RunController} */ (this.ctrl);
    if (!ctrl.step().ok) return;
    this.kick();
    this.say(ctrl.summary("Stepped one iteration."));
  }

  async reset() {
    if (!(await this.start())) return;
    const ctrl = /** @type {RunController} */ (this.ctrl);
    if (!ctrl.reset().ok) return;
    this.hideError();
    this.history.clear();
    this.kick();
    this.emitState();
    this.say(ctrl.summary("Reset: same settings and seed, from scratch."));
  }

  /** Training time per frame in ms (1–40): a page setting, the run keeps its progress. */
  setBudget(ms) {
    if (!(Number.isFinite(ms) && ms >= 1 && ms <= 40)) return false;
    this.budget = ms;
    this.ui.speed.value = String(ms);
    this.emitState();
    return true;
  }

  /**
   * Applies a partial state {config keys…, budget?, compare?, playing?}: the settings by the
   * controller's rules (as the page's controls), speed and playing keep the progress. Values
   * the core rejects leave the current run going and come back as {ok: false, message}.
   * @returns {Promise<{ ok: boolean, rebuilt?: boolean, message?: string }>}
   */
  async setState(partial) {
    if (partial === null || typeof partial !== "object" || Array.isArray(partial)) {
      return { ok: false, message: "state must be an object" };
    }
    const { budget, compare, playing: wantPlaying, ...config } = partial;
    if (budget !== undefined && !this.setBudget(Number(budget))) {
      return { ok: false, message: `budget must be between 1 and 40 ms, got ${JSON.stringify(budget)}` };
    }
    if (!(await this.start())) return { ok: false, message: this.errorMessage };
    const ctrl = /** @type {RunController} */ (this.ctrl);
    const result = ctrl.change(config);
    if (!result.ok) return this.reject(result.message);
    let rebuilt = result.rebuilt;
    if (compare !== undefined && Boolean(compare) !== (this.comparePg !== null)) {
      ctrl.setCompare(Boolean(compare), ctrl.versus);
      this.afterCompare();
      rebuilt = true;
    }
    if (result.announcement) this.say(result.announcement);
    if (wantPlaying === true) this.play();
    else if (wantPlaying === false) this.pause();
    this.emitState();
    return { ok: true, rebuilt };
  }

  /** Shows warnings (e.g. about a link's values) above the canvas; [] hides them. */
  showWarnings(list) {
    this.givenWarnings = list;
    this.renderWarnings();
  }

  /** Names attribute values the element cannot use (they are ignored, never replaced silently). */
  checkAttributes() {
    const warnings = [];
    const raw = this.getAttribute("controls");
    if (raw !== null && raw.trim() !== "none") {
      const unknown = raw.split(",").map((c) => c.trim()).filter((c) => c && !CONTROLS.includes(c));
      if (unknown.length > 0) warnings.push(`unknown control "${unknown.join('", "')}" (known: ${CONTROLS.join(", ")}, or none)`);
    }
    const theme = this.getAttribute("theme");
    if (theme !== null && !["auto", "light", "dark"].includes(theme)) warnings.push(`unknown theme "${theme}" (known: auto, light, dark)`);
    const scene = this.getAttribute("scene");
    if (scene && !findScene(scene.trim())) warnings.push(`unknown scene "${scene}"`);
    this.attributeWarnings = warnings;
    this.renderWarnings();
  }

  renderWarnings() {
    const list = [...(this.attributeWarnings ?? []), ...(this.givenWarnings ?? [])];
    const el = this.ui.warn;
    el.replaceChildren();
    el.hidden = list.length === 0;
    if (list.length === 0) return;
    const title = document.createElement("strong");
    title.textContent = "Some settings could not be used:";
    const ul = document.createElement("ul");
    for (const w of list) {
      const li = document.createElement("li");
      li.textContent = w;
      ul.append(li);
    }
    el.append(title, ul);
  }

  /** The main canvas as a PNG data URL. */
  toDataURL() {
    return this.ui.canvas.toDataURL("image/png");
  }

  /**
   * Creates the run (loads the core on first use); the poster gives way to the first frame.
   * @returns {Promise<boolean>} whether a run exists
   */
  async start(options = {}) {
    if (this.pg) {
      if (options.play) this.play();
      return true;
    }
    if (!this.startPromise) {
      this.startPromise = (async () => {
        this.dataset.state = "loading";
        this.ui.status.textContent = "Loading the WebAssembly core…";
        try {
          await loadCore();
        } catch (err) {
          this.showError(couldNotStartText(messageOf(err)));
          this.dataset.state = "error";
          this.startPromise = null;
          return false;
        }
        const result = this.configOverride ? this.openLink() : this.openAttributes();
        if (!result.ok) {
          // A corrected attribute, a click or coming into view tries again.
          this.dataset.state = "error";
          this.startPromise = null;
          return false;
        }
        this.started = true;
        this.ui.poster.hidden = true;
        this.preview = null;
        this.dataset.state = "paused";
        this.dispatchEvent(new CustomEvent("bp-ready", { detail: this.state }));
        const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
        if ((this.hasAttribute("autoplay") && !reduceMotion && this.visible) || this.pendingPlay) this.play();
        return true;
      })();
    }
    if (options.play) this.pendingPlay = true;
    const ok = await this.startPromise;
    if (ok && options.play && !this.playing) this.play();
    return ok;
  }

  // -------------------------------------------------------------------------------------------
  // Runs

  /**
   * The configuration the attributes describe (a scene's, overridden by explicit ones), each
   * value checked as the page checks its controls.
   * @returns {{ config: Record<string, unknown>, errors: string[] }}
   */
  attributeConfig() {
    const scene = this.sceneEntry();
    /** @type {Record<string, unknown>} */
    const config = scene ? { ...scene.config } : {};
    const errors = [];
    for (const [name, key] of Object.entries(ATTRIBUTE_SETTINGS)) {
      const raw = this.getAttribute(name);
      if (raw === null || raw.trim() === "") continue;
      const parsed = coreReady ? parseSetting(key, raw) : { ok: true, value: raw.trim() };
      if (parsed.ok) config[key] = parsed.value;
      else errors.push(`${name}="${raw}": ${parsed.message}`);
    }
    return { config, errors };
  }

  sceneEntry() {
    const name = this.getAttribute("scene");
    return name ? findScene(name.trim()) : undefined;
  }

  wantsCompare() {
    const attr = this.getAttribute("compare");
    if (attr !== null) return attr !== "false" && attr !== "0";
    return Boolean(this.sceneEntry()?.compare);
  }

  /**
   * The compared run (www/compare.js): the `compare` attribute's sampler name or JSON
   * {sampler, …settings} (a link's `vs`), the scene's, or null for the default. Needs the
   * core (for the sampler names); throws an Error naming the attribute when it is neither.
   * @returns {import("./compare.js").Versus | null}
   */
  versus() {
    const attr = (this.getAttribute("compare") ?? "").trim();
    if (attr !== "" && !["1", "true", "false", "0"].includes(attr)) {
      const parsed = parseVersus(attr, /** @type {RunController} */ (this.ctrl).registry.samplerNames);
      if (!parsed.ok) throw new Error(`compare="${attr}": ${parsed.message}`);
      return parsed.value;
    }
    return sceneVersus(this.sceneEntry());
  }

  /** The configuration the element will start (before a run exists). */
  plannedConfig() {
    return this.configOverride ? this.configOverride.config : this.attributeConfig().config;
  }

  /** The controller, created once the core is loaded. */
  controller() {
    if (!this.ctrl) {
      this.ctrl = new RunController({
        registry: currentRegistry(),
        onRun: () => this.showRun(),
        onError: (message) => {
          this.autoPaused = false;
          this.showError(message);
          this.say(message);
          this.kick();
        },
        onPlaying: (on) => this.showPlaying(on),
      });
    }
    return this.ctrl;
  }

  /** Starts the run the attributes describe; a bad value is named and no run starts. */
  openAttributes() {
    const { config, errors } = this.attributeConfig();
    if (errors.length > 0) return this.reject(errors.join("; "));
    this.controller();
    let versus;
    try {
      versus = this.versus();
    } catch (err) {
      return this.reject(messageOf(err));
    }
    const result = this.controller().open(config, { compare: this.wantsCompare(), versus });
    if (!result.ok) return this.reject(result.message);
    this.afterCompare();
    return result;
  }

  /**
   * Starts the run of a link (the iframe page's `configOverride`): values the core rejects
   * are named and left out, as on the page.
   */
  openLink() {
    const ctrl = this.controller();
    const { config, compare, versus } = /** @type {any} */ (this.configOverride);
    const opened = ctrl.openLink(config, { compare, versus });
    if (opened.warnings.length > 0) this.showWarnings([...(this.givenWarnings ?? []), ...opened.warnings]);
    if (!opened.ok) return this.reject(couldNotStartText(opened.message));
    this.afterCompare();
    return { ok: true };
  }

  /** Names a compared run that could not start (the main run goes on). */
  afterCompare() {
    const message = this.ctrl?.compareError;
    if (message) this.showError(message);
  }

  /** Lays out the controller's run (a new one, or one carried over to new settings). */
  showRun() {
    if (!this.pg) return;
    this.history.clear();
    this.hideError();
    this.buildView();
    this.describe();
    this.kick();
    this.emitState();
  }

  /**
   * A run attribute or setting that could not be applied: named in the element, and the
   * previous run, if any, keeps going.
   * @param {string} message
   * @returns {{ ok: boolean, message: string }}
   */
  reject(message) {
    this.showError(this.pg ? `${message}. The previous run keeps going.` : message);
    return { ok: false, message };
  }

  buildView() {
    const pg = this.pg;
    const plotWindow = Array.from(pg.window());
    const dim = pg.dim();
    this.ensureSurfaces();
    this.view = {
      dim,
      lo: plotWindow[0],
      hi: plotWindow[1],
      reversed: pg.time_reversed(),
      field: dim === 2 ? new FieldView(this.surfaces.main) : null,
      time: dim === 1 ? new TimeFieldView(this.surfaces.main) : null,
      truth: dim === 1 ? pg.marginal_truth(0).slice() : null,
      source: null,
      oracle: null,
    };
    // DDPM: the reverse chain driven by the exact denoiser, as a histogram beside the learned one.
    const oracleXs = dim === 1 ? pg.oracle_samples(4000) : undefined;
    if (oracleXs) this.view.oracle = histogramDensity(oracleXs, this.view.lo, this.view.hi, pg.marginal_bins());
    // The source μ as a profile at t = 0 (1-D), unless it is a point (a spike, not a density).
    if (dim === 1 && pg.config().source !== "point") {
      const xs = pg.source_samples(4000);
      if (xs.length > 0) this.view.source = histogramDensity(xs, this.view.lo, this.view.hi, pg.marginal_bins());
    }
    if (dim === 2) {
      this.view.field.setTarget({
        window: plotWindow,
        nx: pg.grid_nx(),
        ny: pg.grid_ny(),
        density: pg.density_grid().slice(),
        modes: pg.mode_centres().slice(),
      });
    }
    const aspect = dim === 2 ? (plotWindow[1] - plotWindow[0]) / (plotWindow[3] - plotWindow[2]) : 1.8;
    this.ui.plot.style.setProperty("--aspect", String(aspect));
    this.ui.hist.hidden = dim !== 1;
    this.ui.canvas.setAttribute(
      "aria-label",
      dim === 2
        ? "Target density with energy contours, particles in flight, the last samples and a few trajectories"
        : "Paths of the sampler over time t (across) in x (up), over the target",
    );
    this.fillLegend();
    this.theme = readTheme(this.ui.frame);
  }

  fillLegend() {
    const items = [
      ["particle", "particles"],
      ["traj", "trajectories"],
    ];
    if (this.view.dim === 1) items.push(["model", "sample histogram"], ["truth", "true density"]);
    else items.push(["sample", "last samples"]);
    if (this.comparePg) items.push(["compare", `${this.compareLabel()} (compared)`]);
    if (this.view.oracle) items.push(["oracle", "oracle sampler"]);
    items.push(["loss", "loss"]);
    this.ui.legend.replaceChildren(
      ...items.map(([c, text]) => {
        const li = document.createElement("li");
        const sw = document.createElement("span");
        sw.className = "sw";
        sw.style.background = `var(--c-${c})`;
        li.append(sw, text);
        return li;
      }),
    );
  }

  /** Title, caption and poster text from the scene and attributes. */
  describe() {
    const scene = this.sceneEntry();
    const config = this.pg ? this.config : this.plannedConfig();
    this.ui.title.hidden = !scene;
    this.ui.caption.hidden = !scene;
    if (scene) {
      this.ui.title.textContent = scene.title;
      this.ui.caption.textContent = scene.caption;
    }
    const energy = typeof config.energy === "object" ? "a custom target" : config.energy ?? "the default target";
    // The sampler's short name, as on the page, once the core (and its registry) is loaded.
    const sampler = String(config.sampler ?? "adjoint");
    this.ui.posterLabel.textContent = `${coreReady ? currentRegistry().labelOf(sampler) : sampler} on ${energy}`;
    this.ui.start.setAttribute("aria-label", `Start ${this.ui.posterLabel.textContent}`);
  }

  applyControls() {
    const raw = (this.getAttribute("controls") ?? DEFAULT_CONTROLS.join(",")).trim();
    const wanted = raw === "none" ? [] : raw.split(",").map((s) => s.trim()).filter(Boolean);
    for (const el of this.ui.bar.querySelectorAll("[data-control]")) el.hidden = !wanted.includes(el.dataset.control);
    this.ui.bar.hidden = wanted.length === 0;
  }

  refreshTheme() {
    if (!this.view) return;
    this.theme = readTheme(this.ui.frame);
    this.view.field?.invalidate();
    if (this.view.time) this.view.time.heatKey = null;
    this.kick();
  }

  // -------------------------------------------------------------------------------------------
  // Visibility, focus and keys

  onIntersect(entries) {
    const entry = entries[entries.length - 1];
    this.visible = entry.isIntersecting;
    if (this.visible) {
      if (!this.started) this.start();
      else if (this.autoPaused && !document.hidden) {
        this.autoPaused = false;
        this.setPlaying(true);
      }
      this.kick();
    } else if (this.playing) {
      this.setPlaying(false);
      this.autoPaused = true;
    }
  }

  onVisibility() {
    if (document.hidden && this.playing) {
      this.setPlaying(false);
      this.autoPaused = true;
    } else if (!document.hidden && this.autoPaused && this.visible) {
      this.autoPaused = false;
      this.setPlaying(true);
    }
  }

  onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const origin = e.composedPath()[0];
    const tag = origin && origin.tagName;
    if (tag === "INPUT") return;
    if (e.key === " " || e.code === "Space") {
      if (tag === "BUTTON") return;
      e.preventDefault();
      if (this.playing) this.pause();
      else this.play();
    } else if (e.key === ".") {
      e.preventDefault();
      this.step();
    } else if (e.key === "r" || e.key === "R") {
      e.preventDefault();
      this.reset();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Animation

  /** @param {boolean} on */
  setPlaying(on) {
    if (this.ctrl) this.ctrl.setPlaying(on);
  }

  /** Shows play or pause (the controller's state, which a fault can change too). */
  showPlaying(/** @type {boolean} */ on) {
    const changed = on !== this.playing;
    this.playing = on;
    if (on) playing.add(this);
    else playing.delete(this);
    if (this.pg) this.dataset.state = on ? "playing" : "paused";
    this.ui.play.textContent = on ? "Pause" : "Play";
    this.ui.play.setAttribute("aria-pressed", String(on));
    this.kick();
    if (changed) this.emitState();
  }

  kick() {
    this.dirty = true;
    if (!this.raf && this.isConnected) this.raf = requestAnimationFrame(this.frame);
  }

  frame(now) {
    this.raf = 0;
    if (!this.pg) {
      this.paintPreview();
      return;
    }
    if (this.playing) {
      /** @type {RunController} */ (this.ctrl).tick(this.budget / Math.max(1, playing.size));
      this.dirty = true;
    }
    if (this.dirty && (this.visible || !this.playing)) {
      this.dirty = false;
      try {
        this.render(now);
      } catch (err) {
        this.setPlaying(false);
        this.showError(drawingStoppedText(err));
      }
    }
    if (this.playing || this.dirty) this.raf = requestAnimationFrame(this.frame);
  }

  render(now) {
    const pg = this.pg;
    const theme = this.theme;
    const v = this.view;
    const m = pg.metrics();
    const h = this.history.update(pg);
    if (v.dim === 2) {
      const cmp = this.comparePg;
      v.field.draw(theme, {
        particles: () => pg.particles(),
        samples: () => pg.samples(),
        trajectories: () => pg.trajectories(),
        trajectoryCount: pg.trajectory_count(),
        trajectoryPoints: pg.trajectory_points(),
        compare: cmp ? () => cmp.samples() : null,
      });
    } else {
      v.time.draw(theme, {
        lo: v.lo,
        hi: v.hi,
        reversed: v.reversed,
        source: v.source,
        trajectories: () => pg.trajectories(),
        trajectoryCount: pg.trajectory_count(),
        trajectoryPoints: pg.trajectory_points(),
        particles: () => pg.particles(),
        particleT: pg.rollout_time(),
      });
      const model = pg.marginal_model(0).slice();
      const lines = [{ values: v.truth, colour: theme.truth }];
      if (v.oracle) lines.push({ values: v.oracle, colour: theme.oracle, step: true, width: 1.3 });
      if (this.comparePg) lines.push({ values: this.comparePg.marginal_model(0).slice(), colour: theme.compare, step: true, width: 1.4 });
      drawDensity1d(this.surfaces.hist, theme, { lo: v.lo, hi: v.hi, bars: m.iteration > 0 ? model : null, lines });
    }
    drawLineChart(this.surfaces.loss, theme, {
      series: [{ xs: h.iteration, ys: h.loss, colour: theme.loss }],
      logY: true,
      empty: "loss: not trained yet",
    });
    // At most every 200 ms while training: the compared run's metrics are read only then.
    if (now - this.lastStatus > 200 || !this.playing) {
      const text = this.statusText(m, this.comparePg?.metrics());
      if (this.ui.status.textContent !== text) {
        this.ui.status.textContent = text;
        this.lastStatus = now;
      }
    }
    this.dataset.iteration = String(m.iteration);
    if (this.playing && now - this.lastSummary > SUMMARY_EVERY) this.say(/** @type {RunController} */ (this.ctrl).summary("Training.", m));
    if (now - this.lastMetrics > METRICS_EVERY) {
      this.lastMetrics = now;
      this.dispatchEvent(new CustomEvent("bp-metrics", { detail: m }));
    }
  }

  /** The status line; with a comparison, the compared run's number of the same kind after it. */
  statusText(m, compared) {
    const parts = [`${this.playing ? "Training" : "Paused"} · iteration ${formatCount(m.iteration)}`];
    if (Number.isFinite(m.loss)) parts.push(`loss ${formatSignificant(m.loss, 4)}`);
    // The two runs share the time budget, not the iteration count, so the other's is shown.
    const versus = (text) => `${this.compareLabel()} ${text} at iteration ${formatCount(compared.iteration)}`;
    if (Number.isFinite(m.w2)) {
      parts.push(`W2 ${formatNumber(m.w2, 3)}`);
      if (compared && Number.isFinite(compared.w2)) parts.push(versus(`W2 ${formatNumber(compared.w2, 3)}`));
    } else if (Number.isFinite(m.log_z_elbo)) {
      parts.push(`log Ẑ ${formatNumber(m.log_z_elbo, 2)} (true ${formatNumber(m.log_z_true, 2)})`);
      if (compared && Number.isFinite(compared.log_z_elbo)) parts.push(versus(`log Ẑ ${formatNumber(compared.log_z_elbo, 2)}`));
    }
    return parts.join(" · ");
  }

  /** The compared run's short name (its sampler, and the settings it changes). */
  compareLabel() {
    return this.ctrl ? this.ctrl.compareLabel : "";
  }

  say(text) {
    this.ui.summary.textContent = text;
    this.lastSummary = performance.now();
  }

  showError(message) {
    this.errorMessage = message;
    this.ui.error.textContent = message;
    this.ui.error.hidden = false;
    this.dataset.error = message;
    this.dispatchEvent(new CustomEvent("bp-error", { detail: { message } }));
  }

  hideError() {
    this.ui.error.hidden = true;
    delete this.dataset.error;
  }

  emitState() {
    if (!this.pg) return;
    this.dispatchEvent(new CustomEvent("bp-state", { detail: this.state }));
  }
}

export { messageOf };

if (!customElements.get("boltzmann-playground")) customElements.define("boltzmann-playground", BoltzmannPlayground);
