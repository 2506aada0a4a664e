// @ts-check
// The page: loads the wasm core, lays out the run of www/controller.js (which owns the
// `Playground`, trains it and applies changes), wires the controls and the URL hash (the
// state store, www/state.js), and hands each view the data it draws.
//
// Typed arrays from the core are views into wasm memory, which any allocation may move:
// they are fetched right where they are drawn, every frame, and never kept.

import * as glue from "../pkg/boltzmann_playground.js";
import { loadCore } from "./core.js";
import { BUDGET, CUSTOM_ENERGY, DEFAULT_VIEWS, EXAMPLE_MIXTURE, PRESET_NOTES, VIEWS, createState, decodeHash, encodeHash, energyChoice, parseAxes, parseEnergy, parseSetting, setRegistry } from "./state.js";
import { RunController, SUMMARY_EVERY, couldNotStartText, drawingStoppedText, messageOf } from "./controller.js";
import { HistoryCopy } from "./history.js";
import { readRegistry } from "./registry.js";
import { boxSmooth, exactTimeMarginals, histogramDensity, tweedieResidual } from "./oned.js";
import { Surface } from "./surface.js";
import { readTheme, watchTheme } from "./theme.js";
import { FieldView } from "./views/field.js";
import { drawMarginal } from "./views/marginals.js";
import { drawLineChart } from "./views/chart.js";
import { drawModeBars } from "./views/modes.js";
import { TimeFieldView } from "./views/timefield.js";
import { drawDensity1d } from "./views/density1d.js";
import { formatCount, formatNumber, formatSignificant } from "./views/ticks.js";
import { SCENES, findScene } from "./scenes.js";
import { residualColours, stridePoints, updateResidualLegend } from "./views/gfn.js";
import { configFromExport, configToExport, historyCsv } from "./exchange.js";
import { FORMULA_ENERGY, FormulaEditor } from "./formula.js";
import { MixtureEditor } from "./mixture.js";
import { comparisonName, sceneVersus } from "./compare.js";
import { PageRolloutWorkers } from "./workers.js";

/** An element of index.html by id (its kind is index.html's: an input, a select, a canvas…). */
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/**
 * Settings edited through a plain input or select carrying `data-setting`: those laid out in
 * index.html, then one made for each further setting of the core (addSettingControls).
 * @type {(HTMLInputElement | HTMLSelectElement)[]}
 */
let SETTING_INPUTS = [.../** @type {NodeListOf<HTMLInputElement | HTMLSelectElement>} */ (document.querySelectorAll("[data-setting]"))];

/** @type {import("./registry.js").Registry} */
let registry;
/** @type {RunController} */
let ctrl;
/** The controller's runs, for the views (set whenever it adopts a run). */
/** @type {import("../pkg/boltzmann_playground.js").Playground | null} */
let playground = null;
/** @type {import("../pkg/boltzmann_playground.js").Playground | null} */
let compareRun = null;
/**
 * The page's state (www/state.js): the page's own keys here, the run's (config, compare,
 * versus, budget, playing) read from the controller, so that there is one copy of each.
 */
const state = createState();
for (const key of ["config", "compare", "versus", "budget", "playing"]) {
  Object.defineProperty(state, key, { get: () => (ctrl ? ctrl[key] : createState()[key]), enumerable: true });
}
/** A warning about the `?core=` query parameter (www/core.js), shown with the link's. */
let coreWarning = null;
/** The readout's "wasm core" row. */
let coreBuildText = "–";
/** The run's training rollouts shared with Web Workers (the compared run's stay here). */
const rolloutWorkers = new PageRolloutWorkers(() => {
  counters.dirty = true;
});
let theme = readTheme();
/** The formula box (www/formula.js), shown while the target is a formula. */
let formulaEditor = null;
/** The mixture editor (www/mixture.js): the custom mixture's table and its means on the plot. */
let mixtureEditor = null;

const surfaces = {
  field: new Surface($("field")),
  margX: new Surface($("marg-x")),
  margY: new Surface($("marg-y")),
  loss: new Surface($("loss-chart")),
  logZ: new Surface($("logz-chart")),
  ess: new Surface($("ess-chart")),
  modes: new Surface($("modes-chart")),
  hist: new Surface($("hist1d")),
  corrector: new Surface($("corrector")),
  ptLearned: new Surface($("pt-learned")),
  ptExact: new Surface($("pt-exact")),
  f: new Surface($("fplot")),
  compareEvals: new Surface($("compare-evals")),
  compareTime: new Surface($("compare-time")),
};
const fieldView = new FieldView(surfaces.field);
const timeView = new TimeFieldView(surfaces.field);
const stripLearned = new TimeFieldView(surfaces.ptLearned);
const stripExact = new TimeFieldView(surfaces.ptExact);

/** Samples behind the fixed 1-D curves (source density, oracle sampler histogram). */
const CURVE_SAMPLES = 4000;
/** Points of the 1-D curve views (corrector, denoiser) and arrows per side in 2-D. */
const CURVE_POINTS = 160;
const ARROWS_PER_SIDE = 13;

/**
 * Per-run data of the views, rebuilt when a run is adopted; entries keyed by iteration are
 * refreshed when the iteration changes.
 */
let view = {
  dim: 2,
  lo: 0,
  hi: 1,
  bins: 0,
  sampler: "",
  reversed: false,
  ddpm: false,
  staged: false,
  source: null,
  source2d: null,
  oracle: null,
  exact: null,
  steps: 0,
  sigmaQ: NaN,
  iteration: -1,
  heat: null,
  corrector: null,
  arrows: null,
  compareKey: "",
  compareHist: null,
  compareMetrics: null,
  scrubT: 0.5,
  fKey: "",
  fCurves: null,
  runId: 0,
  gfn: false,
  localSearch: false,
  learnedLogZ: false,
  weights: true,
  targetDim: 2,
};

/** Per-run bookkeeping for the readout. */
const counters = {
  history: new HistoryCopy(),
  windowStart: performance.now(),
  windowUnits: 0,
  windowFrames: 0,
  stepsPerSecond: null,
  fps: null,
  lastReadout: 0,
  lastSummary: 0,
  lastSurfaceVersions: "",
  dirty: true,
  broken: false,
};

main().catch((err) => {
  showRunError(couldNotStartText(messageOf(err)));
  $("status-line").textContent = "Not running.";
});

async function main() {
  // `?core=simd128` loads the fallback core where relaxed SIMD would be chosen (www/core.js).
  const core = await loadCore(new URLSearchParams(window.location.search).get("core"));
  coreWarning = core.warning;
  coreBuildText = glue.core_build() === "relaxed-simd" ? "relaxed SIMD, FMA" : "simd128";
  registry = readRegistry(glue);
  setRegistry(registry);
  ctrl = new RunController({
    registry,
    trainer: {
      attach: (pg) => rolloutWorkers.attach(pg, state.workers),
      train: (pg, ms) => rolloutWorkers.train(pg, ms),
    },
    onRun: () => showRun(),
    onError: (message) => {
      showRunError(message);
      announce(message);
    },
    onPlaying: () => updateTransport(),
  });
  addSettingControls();
  fillSelects();
  wireControls();
  watchTheme(() => {
    theme = readTheme();
    fieldView.invalidate();
    for (const v of [timeView, stripLearned, stripExact]) v.heatKey = null;
    counters.dirty = true;
  });
  const warnings = loadFromHash();
  if (!playground) return;
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  ctrl.setPlaying(!reduceMotion && warnings.length === 0);
  updateTransport();
  window.addEventListener("hashchange", () => loadFromHash());
  // A handle for the browser console and the end-to-end test: the running core and the state.
  /** @type {any} */ (window).boltzmannPlayground = {
    get playground() {
      return playground;
    },
    get compare() {
      return compareRun;
    },
    get controller() {
      return ctrl;
    },
    workers: rolloutWorkers,
    state,
  };
  document.documentElement.dataset.ready = "true";
  requestAnimationFrame(frame);
}

// ---------------------------------------------------------------------------------------------
// Runs

/** Lays out the controller's run (a new one, or one carried over to new settings). */
function showRun() {
  playground = ctrl.pg;
  compareRun = ctrl.comparePg;
  if (!playground) return;
  applyAxes();
  writeHash();
  syncControls();
  const plotWindow = Array.from(playground.window());
  buildView(playground, plotWindow);
  if (view.dim === 2) {
    fieldView.setTarget({
      window: plotWindow,
      nx: playground.grid_nx(),
      ny: playground.grid_ny(),
      density: playground.density_grid().slice(),
      modes: playground.mode_centres().slice(),
    });
  }
  // 1-D: a wide x-vs-t plot, less wide on a phone so that it keeps some height.
  const narrow = window.matchMedia("(max-width: 520px)").matches;
  const aspect = view.dim === 2 ? (plotWindow[1] - plotWindow[0]) / (plotWindow[3] - plotWindow[2]) : narrow ? 1.15 : 1.7;
  $("stage").style.setProperty("--aspect", String(aspect));
  $("stage").classList.toggle("one-d", view.dim === 1);
  showCompare();
  showForRun();
  hideRunError();
  resetCounters();
}

/** The per-run data of the views: fixed curves computed once, caches emptied. */
function buildView(pg, plotWindow) {
  const dim = pg.dim();
  const bins = pg.marginal_bins();
  const [lo, hi] = plotWindow;
  const sampler = String(state.config.sampler);
  const steps = pg.ddpm_steps();
  const sourceXs = pg.source_samples(dim === 1 ? CURVE_SAMPLES : 600);
  const oracleXs = dim === 1 ? pg.oracle_samples(CURVE_SAMPLES) : undefined;
  const truth = dim === 1 ? pg.marginal_truth(0).slice() : null;
  // A point source is a spike, not a density worth drawing beside the target.
  const pointSource = state.config.source === "point";
  const gfn = pg.gfn_state() !== null;
  view = {
    ...view,
    dim,
    lo,
    hi,
    bins,
    sampler,
    reversed: pg.time_reversed(),
    ddpm: steps > 0,
    staged: pg.stage() !== null,
    source: dim === 1 && sourceXs.length > 0 && !pointSource ? histogramDensity(sourceXs, lo, hi, bins) : null,
    source2d: dim === 2 && sourceXs.length > 0 && !pointSource ? sourceXs : null,
    oracle: oracleXs ? histogramDensity(oracleXs, lo, hi, bins) : null,
    exact: steps > 0 && truth ? exactTimeMarginals(truth, lo, hi, pg.sigma_q(), steps) : null,
    steps,
    sigmaQ: pg.sigma_q(),
    iteration: -1,
    heat: null,
    corrector: null,
    arrows: null,
    compareKey: "",
    compareHist: null,
    compareMetrics: null,
    fKey: "",
    fCurves: null,
    runId: view.runId + 1,
    gfn,
    localSearch: gfn && Boolean(state.config.local_search),
    learnedLogZ: gfn && Number.isFinite(pg.gfn_state().log_z_learned),
    // Whether its paths carry importance weights (log Ẑ, ESS): the core's registry says.
    weights: registry.sampler(sampler)?.capabilities.path_weights ?? true,
    targetDim: pg.target_dim(),
  };
  if (steps > 0) {
    const scrub = $("scrub");
    scrub.step = String(1 / steps);
    scrub.min = String(1 / steps);
    view.scrubT = Math.max(1 / steps, Math.round(view.scrubT * steps) / steps);
    scrub.value = String(view.scrubT);
    $("scrub-value").textContent = view.scrubT.toFixed(2);
  }
}

/**
 * Shows the controls, legend entries, cards and readout rows that apply to this run: a
 * setting's control iff the sampler reads it (the core's registry).
 */
function showForRun() {
  const sampler = view.sampler;
  const flags = {
    "1d": view.dim === 1,
    "2d": view.dim === 2,
    ddpm: view.ddpm,
    source: view.source !== null || view.source2d !== null,
    arrows2d: view.dim === 2 && view.staged,
    compare: compareRun !== null,
    stage: view.staged,
    ...gfnFlags(),
  };
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-show]"))) el.hidden = !flags[el.dataset.show];
  for (const input of SETTING_INPUTS) {
    const key = input.dataset.setting;
    const field = /** @type {HTMLElement} */ (input.closest(".field"));
    field.hidden = !registry.reads(sampler, key);
    // A sampler that reads a setting in its own sense names it so (the core's labels).
    const label = /** @type {HTMLElement | null} */ (field.querySelector(`label[for="${input.id}"]`));
    const own = registry.sampler(sampler)?.labels?.find(([k]) => k === key);
    if (label) {
      if (label.dataset.pageLabel === undefined) label.dataset.pageLabel = label.innerHTML;
      if (own) label.textContent = own[1];
      else label.innerHTML = label.dataset.pageLabel;
    }
  }
  // A group of settings none of which the sampler reads goes with them.
  for (const group of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("#settings fieldset, #settings .field-grid, #settings details"))) {
    const fields = [.../** @type {NodeListOf<HTMLElement>} */ (group.querySelectorAll(".field"))];
    if (fields.length > 0 && !group.hasAttribute("data-hideable")) group.hidden = fields.every((f) => f.hidden);
  }
  $("hist-card").hidden = view.dim !== 1;
  $("corrector-card").hidden = !(view.dim === 1 && view.staged);
  $("pt-card").hidden = !view.ddpm;
  $("f-card").hidden = !view.ddpm;
  $("stage-indicator").hidden = !view.staged;
  $("compare").checked = state.compare;
  const entry = registry.sampler(sampler);
  $("explain").textContent = entry ? entry.explanation : "";
  // Targets the sampler cannot take are shown but disabled.
  const dims = entry ? entry.dims : null;
  for (const option of $("energy").options) {
    const target = registry.targets.find((t) => t.name === option.value);
    option.disabled = target !== undefined && dims !== null && !dims.includes(target.dim);
  }
}

/** The compared run's names, legend and any reason it could not start. */
function showCompare() {
  const versus = ctrl.currentVersus;
  $("compare-with").value = versus.sampler;
  const label = ctrl.compareLabel;
  for (const el of document.querySelectorAll(".compare-name")) el.textContent = label;
  $("compare-main-name").textContent = registry.labelOf(view.sampler);
  $("compare-metric").textContent = `${comparisonName(view.dim)} after each iteration`;
  if (ctrl.compareError) showFieldError($("compare-error"), null, ctrl.compareError);
  else clearFieldError($("compare-error"), null);
}

/**
 * Starts the run that the URL hash describes. Values the page cannot read, and values the
 * core rejects, are named in a warning; the run starts from the rest.
 * @returns {string[]} the warnings shown
 */
function loadFromHash() {
  const link = decodeHash(
    window.location.hash,
    SCENES.map((s) => s.name),
  );
  const warnings = [...link.warnings];
  if (coreWarning) warnings.unshift(coreWarning);
  const scene = link.scene ? findScene(link.scene) : undefined;
  // The scene's settings, overridden by any given beside it in the link.
  const config = scene ? { ...scene.config, ...link.config } : link.config;
  const compare = link.compare ?? Boolean(scene && scene.compare);
  const versus = link.versus ?? sceneVersus(scene);
  if (playground && warnings.length > 0 && sameRun(config, compare, versus)) {
    // A link edited to hold a bad value and nothing else new: the value is named and the
    // running run goes on with its progress; the address bar shows what runs.
    writeHash();
    warnings.push("The run keeps going with its settings; the address bar now shows them.");
    showLinkWarnings(warnings);
    return warnings;
  }
  if (link.budget !== null) ctrl.setBudget(link.budget);
  state.workers = link.workers;
  state.scene = link.scene;
  state.hide = link.hide ?? [];
  state.axes = link.axes;
  state.views = link.views ?? [...DEFAULT_VIEWS];
  pendingAxesWarning = null;
  applyHide();
  applyViews();
  updateScene();
  const opened = ctrl.openLink(config, { compare, versus });
  warnings.push(...opened.warnings);
  if (!opened.ok) {
    showRunError(couldNotStartText(opened.message));
    showLinkWarnings(warnings);
    return warnings;
  }
  if (pendingAxesWarning) warnings.push(pendingAxesWarning);
  if (warnings.length > 0) {
    warnings.push("The run below uses the link's other settings; the address bar now shows what is running.");
  }
  showLinkWarnings(warnings);
  return warnings;
}

/** Whether the link's run is what runs now: the same resolved configuration and comparison. */
function sameRun(config, compare, versus) {
  const resolved = ctrl.resolve(config);
  return resolved !== null && JSON.stringify(resolved) === JSON.stringify(state.config) && compare === state.compare && JSON.stringify(versus) === JSON.stringify(state.versus);
}

/**
 * Applies one changed setting by the controller's rules. When the core rejects it, the
 * message goes where the value was entered and the current run keeps going.
 */
function applySetting(key, value, errorEl, inputEl) {
  // A changed setting makes the run the user's own (the scene's caption no longer describes
  // it); another target (or a sampler or preset with its own) has its own projections.
  const before = { scene: state.scene, axes: state.axes };
  state.scene = null;
  if (key === "energy" || key === "sampler" || key === "preset") state.axes = null;
  const result = ctrl.change({ [key]: value });
  if (!result.ok) {
    Object.assign(state, before);
    showFieldError(errorEl, inputEl, result.message);
    return false;
  }
  clearFieldError(errorEl, inputEl);
  updateScene();
  if (result.announcement) announce(result.announcement);
  return true;
}

/** Shows the scene's caption above the canvas (none when the run is not a scene's). */
function updateScene() {
  const scene = state.scene ? findScene(state.scene) : undefined;
  $("scene-caption").hidden = !scene;
  if (scene) {
    $("scene-title").textContent = scene.title;
    $("scene-text").textContent = scene.caption;
  }
  for (const a of $("scene-list").querySelectorAll("a")) a.setAttribute("aria-current", String(a.dataset.scene === state.scene));
}

/** Hides the regions the link's `hide` flag names (classroom use). */
function applyHide() {
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-hideable]"))) el.hidden = state.hide.includes(el.dataset.hideable);
  document.documentElement.dataset.hide = state.hide.join(",");
}

// ---------------------------------------------------------------------------------------------
// Sharing, export and import

async function copyLink() {
  writeHash();
  const link = window.location.href;
  const status = $("copy-status");
  const fallback = $("copy-fallback");
  try {
    if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
    await navigator.clipboard.writeText(link);
    fallback.hidden = true;
    status.textContent = "Link copied.";
  } catch {
    // No clipboard (an insecure origin, a refused permission): hand over the link selected.
    fallback.value = link;
    fallback.hidden = false;
    fallback.focus();
    fallback.select();
    status.textContent = "Copy the selected link (Ctrl+C).";
  }
  $("copy-link").dataset.copied = String(Date.now());
  setTimeout(() => {
    if (status.textContent === "Link copied.") status.textContent = "";
  }, 4000);
}

function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function exportName(ext) {
  const c = state.config;
  const energy = typeof c.energy === "string" ? c.energy : "custom";
  return `boltzmann-${c.sampler}-${energy}-seed${c.seed}.${ext}`;
}

function exportPng() {
  $("field").toBlob((blob) => {
    if (blob) download(exportName("png"), blob);
  }, "image/png");
}

function exportCsv() {
  if (!playground) return;
  download(exportName("csv"), new Blob([historyCsv(playground.history())], { type: "text/csv" }));
}

function exportJson() {
  // The core saves its last completed iteration: the network's weights and all it needs to go on.
  // With a comparison, the compared run's state too, so that an import resumes both.
  const savedOf = (pg) => ({ iteration: pg.metrics().iteration, state: pg.save_state() });
  const saved = playground ? { ...savedOf(playground), compare: compareRun ? savedOf(compareRun) : null } : null;
  const text = JSON.stringify(configToExport(state, saved), null, 2);
  download(exportName("json"), new Blob([`${text}\n`], { type: "application/json" }));
}

async function importJson() {
  const input = $("import-json");
  const file = input.files && input.files[0];
  input.value = "";
  if (!file) return;
  const errorEl = $("import-error");
  let parsed;
  try {
    parsed = configFromExport(JSON.parse(await file.text()));
  } catch (err) {
    parsed = { ok: false, message: `${file.name} is not JSON: ${messageOf(err)}` };
  }
  if (!parsed.ok) {
    showFieldError(errorEl, null, `Import failed: ${parsed.message}`);
    return;
  }
  // A trained run saved beside a comparison but without the compared run's state (a file of
  // an earlier version): a fresh compared run would skew the comparison, so it stays off.
  const comparisonLost = Boolean(parsed.run && parsed.compare && !parsed.run.compare);
  const sceneBefore = state.scene;
  state.scene = null;
  const opened = ctrl.open(parsed.config, {
    compare: parsed.compare && !comparisonLost,
    versus: parsed.versus,
    saved: parsed.run ? parsed.run.state : undefined,
    savedCompare: parsed.run?.compare ?? null,
  });
  if (!opened.ok) {
    state.scene = sceneBefore;
    showFieldError(errorEl, null, `Import failed: ${opened.message}. The current run keeps going.`);
    return;
  }
  clearFieldError(errorEl, null);
  if (parsed.budget !== null) ctrl.setBudget(parsed.budget);
  syncControls();
  writeHash();
  updateScene();
  if (comparisonLost) {
    showFieldError($("compare-error"), null, `${file.name} holds no state of the compared run, so the comparison did not resume; tick Compare to start a fresh one.`);
  }
  announce(parsed.run ? `Imported ${file.name}: the run goes on from iteration ${parsed.run.iteration}.` : `Imported ${file.name}.`);
}

function writeHash() {
  const hash = `#${encodeHash(state)}`;
  if (window.location.hash !== hash) window.history.replaceState(null, "", hash);
}

// ---------------------------------------------------------------------------------------------
// Controls

/**
 * A control for each setting of the core that index.html does not lay out, under "More",
 * labelled by the core: a setting added to the core needs no change to the page.
 */
function addSettingControls() {
  const grid = document.querySelector("#settings details.more .field-grid");
  const laidOut = new Set([...SETTING_INPUTS.map((i) => i.dataset.setting), "energy"]);
  for (const s of registry.settings) {
    if (laidOut.has(s.key)) continue;
    const field = document.createElement("div");
    field.className = s.kind === "bool" ? "field check wide" : "field";
    const label = document.createElement("label");
    label.htmlFor = s.key;
    label.textContent = s.label;
    if (s.help) label.title = s.help;
    let input;
    if (s.kind === "enum") {
      input = document.createElement("select");
    } else {
      input = document.createElement("input");
      input.type = s.kind === "bool" ? "checkbox" : s.kind === "text" ? "text" : "number";
      if (s.kind === "int" || s.kind === "number") {
        input.step = s.kind === "int" ? "1" : "any";
        input.inputMode = s.kind === "int" ? "numeric" : "decimal";
        if (s.min !== undefined && s.min !== null) input.min = String(s.min);
        if (s.max !== undefined && s.max !== null) input.max = String(s.max);
      }
      if (s.kind === "text") {
        input.spellcheck = false;
        input.autocomplete = "off";
      }
    }
    input.id = s.key;
    input.dataset.setting = s.key;
    if (s.help) input.title = s.help;
    input.setAttribute("aria-describedby", `${s.key}-error`);
    const error = document.createElement("p");
    error.id = `${s.key}-error`;
    error.className = "field-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    if (s.kind === "bool") field.append(input, label, error);
    else field.append(label, input, error);
    grid.append(field);
  }
  SETTING_INPUTS = [.../** @type {NodeListOf<HTMLInputElement | HTMLSelectElement>} */ (document.querySelectorAll("[data-setting]"))];
  // The core's help for a setting is the tooltip of a laid-out control that has none.
  for (const input of SETTING_INPUTS) {
    const help = registry.setting(input.dataset.setting)?.help;
    if (help && !input.title) input.title = help;
  }
}

function fillSelects() {
  const energy = $("energy");
  for (const t of registry.targets) energy.append(new Option(t.name, t.name));
  energy.append(new Option("custom mixture…", CUSTOM_ENERGY));
  energy.append(new Option("your formula…", FORMULA_ENERGY));
  for (const s of registry.samplers) {
    const option = new Option(s.label, s.name);
    option.title = s.description;
    $("sampler").append(option);
    $("compare-with").append(new Option(s.label, s.name));
  }
  // Every other choice of a setting is the core's list of its values.
  for (const select of /** @type {NodeListOf<HTMLSelectElement>} */ (document.querySelectorAll("select[data-setting]"))) {
    const key = select.dataset.setting;
    if (key === "sampler") continue;
    for (const value of registry.setting(key)?.values ?? []) select.append(new Option(PRESET_NOTES[value] ?? value, value));
  }
}

function wireControls() {
  $("play").addEventListener("click", () => setPlaying(true));
  $("pause").addEventListener("click", () => setPlaying(false));
  $("step").addEventListener("click", stepOnce);
  $("reset").addEventListener("click", resetRun);

  const budget = $("budget");
  budget.min = String(BUDGET.min);
  budget.max = String(BUDGET.max);
  budget.addEventListener("input", () => {
    ctrl.setBudget(Number(budget.value));
    $("budget-value").textContent = `${state.budget} ms/frame`;
  });
  budget.addEventListener("change", writeHash);

  for (const input of SETTING_INPUTS) {
    input.addEventListener("change", () => onSettingInput(input));
  }

  $("energy").addEventListener("change", onEnergySelect);
  mixtureEditor = new MixtureEditor({
    root: $("mixture-editor"),
    errorEl: $("custom-error"),
    plotEl: $("field-plot"),
    apply: (energy) => applySetting("energy", energy, $("custom-error"), null),
  });
  formulaEditor = new FormulaEditor($("formula-block"), {
    check: (text, dim) => glue.check_formula(text, dim),
    apply: (energy, errorEl, inputEl) => applySetting("energy", energy, errorEl, inputEl),
  });
  const text = $("custom-json");
  text.addEventListener("input", () => {
    // Syntax errors show while typing; the mixture itself is checked on Apply.
    const parsed = parseEnergy(text.value.trim());
    if (parsed.ok) clearFieldError($("custom-error"), text);
    else if (text.value.trim().startsWith("{")) showFieldError($("custom-error"), text, parsed.message);
  });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      applyCustom();
    }
  });
  $("custom-apply").addEventListener("click", applyCustom);
  const onCompareChange = () => {
    const chosen = $("compare-with").value;
    const versus = chosen !== ctrl.currentVersus.sampler ? { sampler: chosen, settings: {} } : state.versus;
    state.scene = null;
    updateScene();
    ctrl.setCompare($("compare").checked, versus);
    counters.dirty = true;
    announce(state.compare ? `${ctrl.compareLabel} now trains beside this run on the same settings and seed.` : "Comparison stopped.");
  };
  $("compare").addEventListener("change", onCompareChange);
  $("compare-with").addEventListener("change", onCompareChange);
  $("scrub").addEventListener("input", () => {
    view.scrubT = Number($("scrub").value);
    $("scrub-value").textContent = view.scrubT.toFixed(2);
    counters.dirty = true;
  });
  $("settings").addEventListener("submit", (e) => e.preventDefault());
  $("copy-link").addEventListener("click", copyLink);
  $("export-png").addEventListener("click", exportPng);
  $("export-csv").addEventListener("click", exportCsv);
  $("export-json").addEventListener("click", exportJson);
  $("import-json").addEventListener("change", importJson);
  for (const scene of SCENES) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `#scene=${scene.name}`;
    a.textContent = scene.title;
    a.dataset.scene = scene.name;
    li.append(a);
    $("scene-list").append(li);
  }

  document.addEventListener("keydown", onShortcut);
  wireGfnViews();
}

function onSettingInput(input) {
  const key = input.dataset.setting;
  const errorEl = $(`${key}-error`);
  let raw;
  if (input.type === "checkbox") raw = String(input.checked);
  else if (input.validity && input.validity.badInput) {
    showFieldError(errorEl, input, `${key} must be a number`);
    return;
  } else raw = input.value;
  if (raw.trim() === "") {
    showFieldError(errorEl, input, `enter a value for ${key}`);
    return;
  }
  const parsed = parseSetting(key, raw);
  if (!parsed.ok) {
    showFieldError(errorEl, input, parsed.message);
    return;
  }
  applySetting(key, parsed.value, errorEl, input);
}

function onEnergySelect() {
  const select = $("energy");
  const custom = select.value === CUSTOM_ENERGY;
  $("custom-block").hidden = !custom;
  $("formula-block").hidden = select.value !== FORMULA_ENERGY;
  updateDescription(select.value);
  if (select.value === FORMULA_ENERGY) {
    formulaEditor.apply();
    return;
  }
  if (custom) {
    const text = $("custom-json");
    if (text.value.trim() === "") text.value = formatEnergy(EXAMPLE_MIXTURE);
    applyCustom();
    return;
  }
  if (applySetting("energy", select.value, $("energy-error"), select)) {
    // The custom mixture's old complaint no longer applies to what runs.
    clearFieldError($("custom-error"), $("custom-json"));
  }
}

function applyCustom() {
  const text = $("custom-json");
  const errorEl = $("custom-error");
  const source = text.value.trim();
  const parsed = source.startsWith("{")
    ? parseEnergy(source)
    : { ok: false, message: 'a custom mixture is a JSON object such as {"gmm": {"weights": …, "means": …, "covs": …}}' };
  if (!parsed.ok) {
    showFieldError(errorEl, text, parsed.message);
    return;
  }
  if (applySetting("energy", parsed.value, errorEl, text)) clearFieldError($("energy-error"), $("energy"));
}

/** Puts the running config into the controls; fields showing an unfixed error keep the user's text. */
function syncControls() {
  const config = state.config;
  for (const input of SETTING_INPUTS) {
    const key = input.dataset.setting;
    const known = key in config;
    input.disabled = !known;
    input.closest(".field").classList.toggle("unused", !known);
    if (!known || input.getAttribute("aria-invalid") === "true") continue;
    if (input.type === "checkbox") input.checked = Boolean(config[key]);
    else input.value = String(config[key]);
  }
  const select = $("energy");
  if (select.getAttribute("aria-invalid") !== "true") {
    const choice = energyChoice(config.energy);
    // A sized catalog target from a link (manywell:8) gets its own entry.
    if (![...select.options].some((o) => o.value === choice)) select.add(new Option(choice, choice), select.options.length - 1);
    select.value = choice;
    $("custom-block").hidden = choice !== CUSTOM_ENERGY;
    $("formula-block").hidden = choice !== FORMULA_ENERGY;
    if (choice === FORMULA_ENERGY) formulaEditor.sync(config.energy);
    if (choice === CUSTOM_ENERGY && $("custom-json").getAttribute("aria-invalid") !== "true") {
      $("custom-json").value = formatEnergy(config.energy);
    }
    updateDescription(choice);
  }
  $("budget").value = String(state.budget);
  $("budget-value").textContent = `${state.budget} ms/frame`;
  if (energyChoice(config.energy) === CUSTOM_ENERGY && playground) mixtureEditor.sync(config.energy, Array.from(playground.window()));
  else mixtureEditor.hide();
}

function updateDescription(choice) {
  const target = registry.target(choice);
  $("energy-desc").textContent = target
    ? target.description
    : choice === FORMULA_ENERGY
      ? "An energy of your own, typed as a formula and differentiated exactly in the core."
      : "A Gaussian mixture of your own: positive weights, one mean and one positive-definite covariance per component.";
}

/** A mixture as readable JSON: one line per field, numbers kept compact. */
function formatEnergy(energy) {
  if (energy && typeof energy === "object" && energy.gmm && typeof energy.gmm === "object") {
    const lines = Object.entries(energy.gmm).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v).replace(/,/g, ", ")}`);
    return `{"gmm": {\n${lines.join(",\n")}\n}}`;
  }
  return JSON.stringify(energy, null, 2);
}

function showFieldError(errorEl, inputEl, message) {
  errorEl.textContent = message;
  errorEl.hidden = false;
  if (inputEl) inputEl.setAttribute("aria-invalid", "true");
}

function clearFieldError(errorEl, inputEl) {
  errorEl.textContent = "";
  errorEl.hidden = true;
  if (inputEl) inputEl.removeAttribute("aria-invalid");
}

function onShortcut(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || !playground) return;
  const tag = e.target && e.target.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
  if (e.key === " " || e.code === "Space") {
    // A focused button or summary handles space itself.
    if (tag === "BUTTON" || tag === "SUMMARY") return;
    e.preventDefault();
    setPlaying(!state.playing);
  } else if (e.key === ".") {
    e.preventDefault();
    stepOnce();
  } else if (e.key === "r" || e.key === "R") {
    e.preventDefault();
    resetRun();
  }
}

// ---------------------------------------------------------------------------------------------
// Transport

function setPlaying(playing) {
  if (!playground) return;
  if (playing) hideRunError();
  ctrl.setPlaying(playing);
  announce(playing ? "Training." : ctrl.summary("Paused."));
}

function stepOnce() {
  if (!playground) return;
  ctrl.step();
  counters.dirty = true;
  announce(ctrl.summary("Stepped one iteration."));
}

function resetRun() {
  if (!playground) return;
  if (!ctrl.reset().ok) return;
  view.iteration = -1;
  view.compareKey = "";
  hideRunError();
  resetCounters();
  announce(ctrl.summary("Reset: same settings and seed, from scratch."));
}

function updateTransport() {
  $("play").classList.toggle("active", state.playing);
  $("play").setAttribute("aria-pressed", String(state.playing));
  $("pause").classList.toggle("active", !state.playing);
  $("pause").setAttribute("aria-pressed", String(!state.playing));
  counters.dirty = true;
}

function showRunError(message) {
  const el = $("run-error");
  el.textContent = message;
  el.hidden = false;
}

function hideRunError() {
  $("run-error").hidden = true;
}

function showLinkWarnings(warnings) {
  const el = $("link-warnings");
  el.replaceChildren();
  if (warnings.length === 0) {
    el.hidden = true;
    return;
  }
  const title = document.createElement("strong");
  title.textContent = "Some settings in the link could not be used.";
  const list = document.createElement("ul");
  for (const w of warnings) {
    const li = document.createElement("li");
    li.textContent = w;
    list.append(li);
  }
  const close = document.createElement("button");
  close.type = "button";
  close.className = "dismiss";
  close.textContent = "Dismiss";
  close.addEventListener("click", () => {
    el.hidden = true;
  });
  el.append(title, list, close);
  el.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// Animation

function resetCounters() {
  counters.broken = false;
  counters.history.clear();
  counters.windowStart = performance.now();
  counters.windowUnits = 0;
  counters.windowFrames = 0;
  counters.stepsPerSecond = null;
  counters.fps = null;
  counters.dirty = true;
}

function frame(now) {
  requestAnimationFrame(frame);
  if (!playground || counters.broken) return;
  counters.windowFrames += 1;
  if (state.playing) {
    counters.windowUnits += ctrl.tick();
    counters.dirty = true;
  }
  const elapsed = now - counters.windowStart;
  if (elapsed >= 1000) {
    counters.stepsPerSecond = state.playing ? (counters.windowUnits * 1000) / elapsed : null;
    counters.fps = (counters.windowFrames * 1000) / elapsed;
    counters.windowStart = now;
    counters.windowUnits = 0;
    counters.windowFrames = 0;
  }
  const versions = Object.values(surfaces)
    .map((s) => s.version)
    .join(",");
  if (versions !== counters.lastSurfaceVersions) {
    counters.lastSurfaceVersions = versions;
    counters.dirty = true;
  }
  if (!counters.dirty) return;
  counters.dirty = false;
  try {
    render(now);
  } catch (err) {
    // Reading the core failed (a trap leaves it unusable): stop, say so once, and wait for a
    // new run or a reset instead of failing again every frame.
    ctrl.setPlaying(false);
    counters.dirty = false;
    counters.broken = true;
    showRunError(drawingStoppedText(err));
  }
}

function render(now) {
  const pg = playground;
  const metrics = pg.metrics();
  const history = counters.history.update(pg);
  if (metrics.iteration !== view.iteration) refreshIterationData(pg, metrics.iteration);
  if (compareRun) {
    refreshCompare();
    ctrl.tracks.main.record(metrics, view.dim);
    drawComparison();
  }

  if (view.dim === 2) {
    fieldView.draw(theme, {
      particles: () => pg.particles(),
      samples: () => pg.samples(),
      trajectories: () => pg.trajectories(),
      trajectoryCount: pg.trajectory_count(),
      trajectoryPoints: pg.trajectory_points(),
      source: view.source2d,
      compare: compareRun ? () => compareRun.samples() : null,
      arrows: view.arrows,
      ...gfnFieldFrame(pg),
    });
    // Marginals are a few dozen bins: copies are cheap and stay valid across the next calls.
    for (const [surface, axis] of /** @type {[Surface, 0 | 1][]} */ ([
      [surfaces.margX, 0],
      [surfaces.margY, 1],
    ])) {
      const model = pg.marginal_model(axis).slice();
      const truth = pg.marginal_truth(axis).slice();
      drawMarginal(surface, theme, { axis, model, truth });
    }
  } else {
    render1d(pg);
  }

  drawLineChart(surfaces.loss, theme, {
    series: [{ xs: history.iteration, ys: history.loss, colour: theme.loss }],
    logY: true,
  });
  const truth = metrics.log_z_true;
  drawLineChart(surfaces.logZ, theme, {
    series: [
      { xs: history.iteration, ys: history.log_z_elbo, colour: theme.elbo },
      { xs: history.iteration, ys: history.log_z_iw, colour: theme.iw },
    ],
    refs: Number.isFinite(truth) && view.weights ? [{ y: truth, colour: theme.truth }] : [],
    yClip: Number.isFinite(truth) ? [truth - 6, truth + 3] : null,
    empty: view.weights ? undefined : `${registry.labelOf(view.sampler)} has no path weights: no log Ẑ`,
  });
  drawModeBars(surfaces.modes, theme, { model: metrics.mode_masses, truth: metrics.true_mode_masses });
  if (view.weights) {
    drawLineChart(surfaces.ess, theme, {
      series: [{ xs: history.iteration, ys: history.ess, colour: theme.iw }],
      refs: [{ y: 1, colour: theme.border, dash: [2, 3] }, { y: 0, colour: theme.border, dash: [2, 3] }],
    });
  }

  if (now - counters.lastReadout > 200 || !state.playing) {
    counters.lastReadout = now;
    updateReadout(metrics, pg.rollout_time(), view.gfn ? pg.gfn_state() : null);
    updateStage(pg.stage());
  }
  if (state.playing && now - counters.lastSummary > SUMMARY_EVERY) {
    counters.lastSummary = now;
    $("summary").textContent = ctrl.summary("Training.", metrics);
  }
}

/** Evenly spaced points of the plot window (bin centres when `n` is the bin count). */
function gridPoints(lo, hi, n) {
  const xs = new Float32Array(n);
  for (let k = 0; k < n; k++) xs[k] = lo + ((k + 0.5) * (hi - lo)) / n;
  return xs;
}

/** Data that changes once per iteration: DDPM's learned p_t, ASBS's corrector. */
function refreshIterationData(pg, iteration) {
  view.iteration = iteration;
  if (view.ddpm) {
    const h = pg.ddpm_time_histograms();
    view.heat =
      h.length > 0
        ? {
            data: boxSmooth(h, view.steps + 1, view.bins),
            times: view.steps + 1,
            bins: view.bins,
            norm: view.exact.norm,
            key: `${view.runId}-${iteration}`,
          }
        : null;
    view.fKey = "";
  }
  if (view.staged && view.dim === 1) {
    const xs = gridPoints(view.lo, view.hi, CURVE_POINTS);
    const h = pg.corrector_field(xs);
    view.corrector = h ? { xs: Array.from(xs), ys: Array.from(h) } : null;
  }
  if (view.staged && view.dim === 2) {
    const [xlo, xhi, ylo, yhi] = Array.from(pg.window());
    const n = ARROWS_PER_SIDE;
    const points = new Float32Array(2 * n * n);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        points[2 * (j * n + i)] = xlo + ((i + 0.5) * (xhi - xlo)) / n;
        points[2 * (j * n + i) + 1] = ylo + ((j + 0.5) * (yhi - ylo)) / n;
      }
    }
    const vectors = pg.corrector_field(points);
    if (vectors) {
      let longest = 0;
      for (let k = 0; k + 1 < vectors.length; k += 2) longest = Math.max(longest, Math.hypot(vectors[k], vectors[k + 1]));
      const cell = Math.min(xhi - xlo, yhi - ylo) / n;
      view.arrows = longest > 1e-9 ? { points, vectors, scale: (0.9 * cell) / longest } : null;
    } else {
      view.arrows = null;
    }
  }
}

/** The compared run's histogram and numbers, when its iteration moved. */
function refreshCompare() {
  const m = compareRun.metrics();
  const key = `${m.iteration}`;
  if (key === view.compareKey) return;
  view.compareKey = key;
  view.compareMetrics = m;
  ctrl.tracks.other.record(m, view.dim);
  view.compareHist = view.dim === 1 ? compareRun.marginal_model(0).slice() : null;
}

/** Both runs' comparison value against energy evaluations and against training time. */
function drawComparison() {
  const empty = view.dim === 2 && view.compareMetrics && view.compareMetrics.true_mode_masses.length === 0 ? "this target has no modes to compare" : undefined;
  for (const [surface, axis] of /** @type {[Surface, "evals" | "seconds"][]} */ ([
    [surfaces.compareEvals, "evals"],
    [surfaces.compareTime, "seconds"],
  ])) {
    drawLineChart(surface, theme, {
      series: [
        { xs: ctrl.tracks.main[axis], ys: ctrl.tracks.main.values, colour: theme.model },
        { xs: ctrl.tracks.other[axis], ys: ctrl.tracks.other.values, colour: theme.compare },
      ],
      xTicks: "any",
      empty,
    });
  }
}

function render1d(pg) {
  timeView.draw(theme, {
    lo: view.lo,
    hi: view.hi,
    reversed: view.reversed,
    heat: view.heat,
    source: view.source,
    trajectories: () => pg.trajectories(),
    trajectoryCount: pg.trajectory_count(),
    trajectoryPoints: pg.trajectory_points(),
    particles: () => pg.particles(),
    particleT: pg.rollout_time(),
    scrubT: view.ddpm ? view.scrubT : null,
  });
  const model = pg.marginal_model(0).slice();
  const truth = pg.marginal_truth(0).slice();
  drawMarginal(surfaces.margY, theme, { axis: 1, model, truth });
  const lines = [{ values: truth, colour: theme.truth }];
  if (view.oracle) lines.push({ values: view.oracle, colour: theme.oracle, step: true, width: 1.3 });
  if (view.source) lines.push({ values: view.source, colour: theme.source, dash: [5, 4] });
  if (view.compareHist) lines.push({ values: view.compareHist, colour: theme.compare, step: true, width: 1.4 });
  drawDensity1d(surfaces.hist, theme, { lo: view.lo, hi: view.hi, bars: view.iteration > 0 ? model : null, lines });

  if (view.staged) {
    drawLineChart(surfaces.corrector, theme, {
      series: view.corrector ? [{ xs: view.corrector.xs, ys: view.corrector.ys, colour: theme.corrector }] : [],
      refs: [{ y: 0, colour: theme.border, dash: [2, 3] }],
      xTicks: "any",
      empty: "no corrector",
    });
  }
  if (view.ddpm) renderDdpm(pg);
}

function renderDdpm(pg) {
  const { exact, lo, hi, steps } = view;
  stripLearned.draw(theme, { lo, hi, heat: view.heat, scrubT: view.scrubT, axes: false });
  stripExact.draw(theme, {
    lo,
    hi,
    heat: { data: exact.data, times: exact.times, bins: exact.bins, norm: exact.norm, key: `exact-${view.runId}` },
    scrubT: view.scrubT,
    axes: false,
  });
  const t = Math.max(1, Math.round(view.scrubT * steps)) / steps;
  const key = `${view.runId}-${view.iteration}-${t}`;
  if (key !== view.fKey) {
    view.fKey = key;
    const xs = gridPoints(lo, hi, CURVE_POINTS);
    const curves = pg.ddpm_curves(t, xs);
    const xsArr = Array.from(xs);
    const learned = xsArr.map((x, k) => curves.learned[k] - x);
    let oracle;
    let oracleXs = xsArr;
    if (curves.oracle) {
      oracle = xsArr.map((x, k) => curves.oracle[k] - x);
    } else {
      // No closed form (not a mixture): Tweedie's formula on the exact p_t.
      const j = Math.round(t * steps);
      const row = exact.data.subarray(j * exact.bins, (j + 1) * exact.bins);
      oracle = Array.from(tweedieResidual(row, (hi - lo) / exact.bins, view.sigmaQ, 1 / steps));
      oracleXs = Array.from(gridPoints(lo, hi, exact.bins));
    }
    view.fCurves = { xs: xsArr, learned, oracleXs, oracle };
    $("f-t").textContent = t.toFixed(2);
  }
  const c = view.fCurves;
  drawLineChart(surfaces.f, theme, {
    series: [
      { xs: c.oracleXs, ys: c.oracle, colour: theme.oracle, width: 2.2 },
      { xs: c.xs, ys: c.learned, colour: theme.loss },
    ],
    refs: [{ y: 0, colour: theme.border, dash: [2, 3] }],
    xTicks: "any",
  });
}

/** The ASBS stage line and its progress bar; hidden for samplers without stages. */
function updateStage(st) {
  if (!st) return;
  const corrector = st.stage === "corrector";
  // Past its K stages ASBS goes on with adjoint matching against the last corrector.
  const past = st.k === st.stages && st.iteration >= st.iterations;
  const line = past
    ? `all ${st.stages} stages done, going on with the last corrector`
    : `stage ${st.k} of ${st.stages} · iteration ${st.iteration + 1} of ${st.iterations}`;
  const el = $("stage-line");
  const key = `${st.stage}|${line}`;
  if (el.dataset.key !== key) {
    el.dataset.key = key;
    const tag = document.createElement("span");
    tag.className = `tag ${st.stage}`;
    tag.textContent = corrector ? "corrector matching" : "adjoint matching";
    el.replaceChildren(tag, document.createTextNode(` ${line}`));
    const done = past ? 1 : (st.k - 1 + (corrector ? 0.5 : 0) + (0.5 * st.iteration) / Math.max(1, st.iterations)) / st.stages;
    $("stage-fill").style.width = `${(100 * Math.min(1, done)).toFixed(1)}%`;
  }
}

function updateReadout(m, rolloutTime, gfn) {
  const vs = (model, truth, digits) =>
    Number.isFinite(truth) ? `${formatNumber(model, digits)} / ${formatNumber(truth, digits)}` : formatNumber(model, digits);
  const values = {
    iteration: formatCount(m.iteration),
    phase: m.phase ?? "–",
    loss: formatSignificant(m.loss, 5),
    ess: Number.isFinite(m.ess) ? `${(m.ess * 100).toFixed(1)} %` : "–",
    log_z_elbo: formatNumber(m.log_z_elbo, 3),
    log_z_iw: formatNumber(m.log_z_iw, 3),
    log_z_true: formatNumber(m.log_z_true, 3),
    mode_coverage: coverageText(m),
    log_z_learned: gfn && Number.isFinite(gfn.log_z_learned) ? formatNumber(gfn.log_z_learned, 3) : "–",
    exploration: gfn ? formatNumber(gfn.exploration, 3) : "–",
    buffers: gfn && gfn.buffer_d !== null ? `${formatCount(gfn.buffer_d)}, ${formatCount(gfn.buffer_ls)}` : "–",
    x_mean: vs(m.x_mean, m.true_x_mean, 2),
    x_std: vs(m.x_std, m.true_x_std, 2),
    energy_evals: formatCount(m.energy_evals),
    steps_per_second: counters.stepsPerSecond === null ? "–" : formatCount(counters.stepsPerSecond),
    fps: counters.fps === null ? "–" : counters.fps.toFixed(0),
    workers: rolloutWorkers.status,
    core: coreBuildText,
    rollout_time: Number.isFinite(rolloutTime) ? rolloutTime.toFixed(2) : "–",
    w1: formatNumber(m.w1, 3),
    w2: formatNumber(m.w2, 3),
    tv: formatNumber(m.tv, 3),
    samples: Number.isFinite(m.samples) ? formatCount(m.samples) : "–",
    stage: stageText(),
    compare: compareText(),
  };
  for (const dd of $("readout").querySelectorAll("dd[data-key]")) {
    const text = values[dd.dataset.key];
    if (text !== undefined && dd.textContent !== text) dd.textContent = text;
  }
  const status = state.playing ? "Training" : "Paused";
  const line = `${status} · iteration ${formatCount(m.iteration)} · ${m.phase ?? "–"}${
    m.phase === "rollout" && Number.isFinite(rolloutTime) ? ` t = ${rolloutTime.toFixed(2)}` : ""
  }`;
  if ($("status-line").textContent !== line) $("status-line").textContent = line;
}

/** Coverage as a percentage and, with modes, as "k of M modes". */
function coverageText(m) {
  if (!Number.isFinite(m.mode_coverage)) return "–";
  const total = m.true_mode_masses ? m.true_mode_masses.length : 0;
  const pct = `${Math.round(m.mode_coverage * 100)} %`;
  return total > 1 ? `${pct} (${Math.round(m.mode_coverage * total)} of ${total})` : pct;
}

function stageText() {
  const st = playground ? playground.stage() : null;
  return st ? `${st.stage} ${st.k}/${st.stages}` : "–";
}

function compareText() {
  const m = view.compareMetrics;
  if (!compareRun || !m) return "–";
  if (Number.isFinite(m.w1)) return `W1 ${formatNumber(m.w1, 3)}, W2 ${formatNumber(m.w2, 3)} (it. ${m.iteration})`;
  return `x ${formatNumber(m.x_mean, 2)} ± ${formatNumber(m.x_std, 2)} (it. ${m.iteration})`;
}

function announce(text) {
  $("summary").textContent = text;
  counters.lastSummary = performance.now();
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// GFlowNet views and the projection of d > 2 targets

/** Which of the GFlowNet legend entries, toggles and readout rows apply (showForRun's flags). */
function gfnFlags() {
  const ls = view.localSearch;
  return {
    gfn: view.gfn,
    "gfn-offpolicy": view.gfn && registry.reads(view.sampler, "explore"),
    "log-z-learned": view.learnedLogZ,
    ls,
    "buffer-d": ls && state.views.includes("buffer-d"),
    "buffer-ls": ls && state.views.includes("buffer-ls"),
    residuals: view.gfn && view.dim === 2 && state.views.includes("residuals"),
    weights: view.weights,
    projection: view.dim === 2 && view.targetDim > 2,
  };
}

/** The field view's GFlowNet layers: buffers D and D_LS, and paths coloured by residual. */
function gfnFieldFrame(pg) {
  if (!view.gfn) return {};
  const frame = { layers: [] };
  if (view.localSearch && state.views.includes("buffer-d")) {
    frame.layers.push({ points: () => stridePoints(pg.buffer_d()), colour: theme["buffer-d"], size: 1.8 });
  }
  if (view.localSearch && state.views.includes("buffer-ls")) {
    frame.layers.push({ points: () => stridePoints(pg.buffer_ls()), colour: theme["buffer-ls"], size: 1.8 });
  }
  if (state.views.includes("residuals")) {
    // A copy: the colours must survive the calls into wasm that fetch the paths.
    const residuals = pg.trajectory_residuals().slice();
    const { colourOf, scale } = residualColours(theme, residuals);
    frame.trajectoryColour = colourOf;
    frame.maxTrajectories = residuals.length;
    const st = pg.gfn_state();
    updateResidualLegend($("residual-legend"), scale, st.residual_reference, st.backward);
  }
  return frame;
}

/** The view toggles' checkboxes: `data-view` names the layer (state.views, in the link). */
const VIEW_TOGGLES = [.../** @type {NodeListOf<HTMLInputElement>} */ (document.querySelectorAll("input[data-view]"))];

/** Puts `state.views` into the view toggles. */
function applyViews() {
  for (const input of VIEW_TOGGLES) input.checked = state.views.includes(input.dataset.view);
}

function wireGfnViews() {
  for (const input of VIEW_TOGGLES) {
    input.addEventListener("change", () => {
      state.views = VIEWS.filter((v) => (v === input.dataset.view ? input.checked : state.views.includes(v)));
      writeHash();
      showForRun();
      counters.dirty = true;
    });
  }
  $("axes").addEventListener("change", () => {
    const parsed = parseAxes($("axes").value);
    if (!parsed.ok || !playground) return;
    try {
      playground.set_display_axes(Uint32Array.from(parsed.value));
    } catch (err) {
      showFieldError($("axes-error"), $("axes"), messageOf(err));
      return;
    }
    clearFieldError($("axes-error"), $("axes"));
    state.axes = parsed.value[0] === 0 && parsed.value[1] === 1 ? null : parsed.value;
    writeHash();
    counters.dirty = true;
    announce(`Showing coordinates (x${parsed.value[0]}, x${parsed.value[1]}).`);
  });
}

/**
 * Shows the projection `state.axes` on the adopted run (the link's or the user's), or the
 * first pair; a projection the core refuses is named where it is chosen and in the link's
 * warnings, and the first pair is shown.
 */
function applyAxes() {
  const select = $("axes");
  // The core knows which pairs a target can show (their truth is the first pair's).
  const pairs = /** @type {number[][]} */ (playground.projections());
  // The catalog's line about the picture ("every pair (x2k, x2k+1) is the same double well").
  $("axes-hint").textContent = registry.target(state.config.energy)?.hint ?? "";
  select.replaceChildren(...pairs.map(([i, j]) => new Option(`(x${i}, x${j})`, `${i},${j}`)));
  clearFieldError($("axes-error"), select);
  if (state.axes) {
    try {
      playground.set_display_axes(Uint32Array.from(state.axes));
    } catch (err) {
      const message = messageOf(err);
      showFieldError($("axes-error"), select, message);
      pendingAxesWarning = `axes=${state.axes.join(",")} was not applied: ${message}`;
      state.axes = null;
    }
  }
  const shown = Array.from(playground.display_axes());
  if (shown.length === 2) select.value = `${shown[0]},${shown[1]}`;
}

/** A refused projection from the link, shown with the link's other warnings. */
let pendingAxesWarning = null;
