// The page: loads the wasm core, keeps one run (a `Playground`) going inside a per-frame time
// budget, wires the controls and the URL hash, and hands each view the data it draws.
//
// Typed arrays from the core are views into wasm memory, which any allocation may move:
// they are fetched right where they are drawn, every frame, and never kept.

import init, { Playground, catalog } from "../pkg/boltzmann_playground.js";
import {
  BUDGET,
  CUSTOM_ENERGY,
  EXAMPLE_MIXTURE,
  PRESETS,
  PRESET_KEEPS,
  ACTIVATIONS,
  SAMPLERS,
  createState,
  decodeHash,
  encodeHash,
  energyChoice,
  parseEnergy,
  parseSetting,
  shorten,
} from "./state.js";
import { Surface } from "./surface.js";
import { readTheme, watchTheme } from "./theme.js";
import { FieldView } from "./views/field.js";
import { drawMarginal } from "./views/marginals.js";
import { drawLineChart } from "./views/chart.js";
import { drawModeBars } from "./views/modes.js";
import { formatCount, formatNumber, formatSignificant } from "./views/ticks.js";

const $ = (id) => document.getElementById(id);

/** Settings edited through a plain input or select carrying `data-setting`. */
const SETTING_INPUTS = [...document.querySelectorAll("[data-setting]")];

const state = createState();
/** @type {Playground | null} */
let playground = null;
/** @type {{ name: string, description: string }[]} */
let targets = [];
let catalogNames = [];
let theme = readTheme();

const surfaces = {
  field: new Surface($("field")),
  margX: new Surface($("marg-x")),
  margY: new Surface($("marg-y")),
  loss: new Surface($("loss-chart")),
  logZ: new Surface($("logz-chart")),
  modes: new Surface($("modes-chart")),
};
const fieldView = new FieldView(surfaces.field);

/** Per-run bookkeeping for the readout. */
const counters = {
  history: null,
  historyIteration: -1,
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
  showRunError(`The playground could not start: ${messageOf(err)}`);
  $("status-line").textContent = "Not running.";
});

async function main() {
  await init();
  targets = catalog();
  catalogNames = targets.map((t) => t.name);
  fillSelects();
  wireControls();
  watchTheme(() => {
    theme = readTheme();
    fieldView.invalidate();
    counters.dirty = true;
  });
  const warnings = loadFromHash();
  if (!playground) return;
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  state.playing = !reduceMotion && warnings.length === 0;
  updateTransport();
  window.addEventListener("hashchange", () => loadFromHash());
  // A handle for the browser console and the end-to-end test: the running core and the state.
  window.boltzmannPlayground = {
    get playground() {
      return playground;
    },
    state,
  };
  document.documentElement.dataset.ready = "true";
  requestAnimationFrame(frame);
}

// ---------------------------------------------------------------------------------------------
// Runs

/** @returns {{ ok: true, playground: Playground } | { ok: false, message: string }} */
function tryCreate(config) {
  try {
    return { ok: true, playground: new Playground(config) };
  } catch (err) {
    return { ok: false, message: messageOf(err) };
  }
}

/** Makes `next` the running playground; the state takes its resolved config. */
function adopt(next) {
  if (playground) playground.free();
  playground = next;
  state.config = playground.config();
  writeHash();
  syncControls();
  const plotWindow = Array.from(playground.window());
  fieldView.setTarget({
    window: plotWindow,
    nx: playground.grid_nx(),
    ny: playground.grid_ny(),
    density: playground.density_grid().slice(),
    modes: playground.mode_centres().slice(),
  });
  $("stage").style.setProperty("--aspect", String((plotWindow[1] - plotWindow[0]) / (plotWindow[3] - plotWindow[2])));
  hideRunError();
  resetCounters();
}

/**
 * Starts the run that the URL hash describes. Values the page cannot read, and values the
 * core rejects, are named in a warning; the run starts from the rest.
 * @returns {string[]} the warnings shown
 */
function loadFromHash() {
  const link = decodeHash(window.location.hash, catalogNames);
  const warnings = [...link.warnings];
  if (link.budget !== null) state.budget = link.budget;
  let created = tryCreate(link.config);
  const rejectedKeys = new Set();
  if (!created.ok) {
    // Find the culprits: add the link's settings one at a time to the preset's defaults.
    // A setting can depend on a later one (batch vs buffer), so rejected ones get a second try.
    let accepted = {};
    let pending = Object.keys(link.config);
    const reasons = new Map();
    for (let pass = 0; pass < 2 && pending.length > 0; pass++) {
      const rejected = [];
      for (const key of pending) {
        const trial = { ...accepted, [key]: link.config[key] };
        const attempt = tryCreate(trial);
        if (attempt.ok) {
          attempt.playground.free();
          accepted = trial;
        } else {
          rejected.push(key);
          reasons.set(key, attempt.message);
        }
      }
      pending = rejected;
    }
    for (const key of pending) {
      rejectedKeys.add(key);
      warnings.push(`${key}=${shorten(displayValue(link.config[key]))} in the link was rejected: ${reasons.get(key)}`);
    }
    created = tryCreate(accepted);
  }
  if (!created.ok) {
    showRunError(`The playground could not start: ${created.message}`);
    showLinkWarnings(warnings);
    return warnings;
  }
  adopt(created.playground);
  for (const key of link.untyped) {
    if (!(key in state.config) && !rejectedKeys.has(key)) warnings.push(`Unknown setting "${key}" in the link was ignored.`);
  }
  if (warnings.length > 0) {
    warnings.push("The run below uses the link's other settings; the address bar now shows what is running.");
  }
  showLinkWarnings(warnings);
  return warnings;
}

/**
 * Applies one changed setting by starting a new run with it. When the core rejects it, the
 * message goes where the value was entered and the current run keeps going.
 */
function applySetting(key, value, errorEl, inputEl) {
  let config = { ...state.config, [key]: value };
  if (key === "preset") {
    config = { preset: value };
    for (const kept of PRESET_KEEPS) if (kept in state.config) config[kept] = state.config[kept];
  }
  const created = tryCreate(config);
  if (!created.ok) {
    showFieldError(errorEl, inputEl, created.message);
    return false;
  }
  clearFieldError(errorEl, inputEl);
  adopt(created.playground);
  announce(`Started a new run with ${key} = ${shorten(displayValue(value), 40)}.`);
  return true;
}

function writeHash() {
  const hash = `#${encodeHash(state)}`;
  if (window.location.hash !== hash) window.history.replaceState(null, "", hash);
}

// ---------------------------------------------------------------------------------------------
// Controls

function fillSelects() {
  const energy = $("energy");
  for (const t of targets) energy.append(new Option(t.name, t.name));
  energy.append(new Option("custom mixture…", CUSTOM_ENERGY));
  for (const s of SAMPLERS) $("sampler").append(new Option(s.label, s.value));
  for (const p of PRESETS) $("preset").append(new Option(p.label, p.value));
  for (const a of ACTIVATIONS) $("activation").append(new Option(a, a));
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
    state.budget = Number(budget.value);
    $("budget-value").textContent = `${state.budget} ms/frame`;
  });
  budget.addEventListener("change", writeHash);

  for (const input of SETTING_INPUTS) {
    input.addEventListener("change", () => onSettingInput(input));
  }

  $("energy").addEventListener("change", onEnergySelect);
  const text = $("custom-json");
  text.addEventListener("input", () => {
    // Syntax errors show while typing; the mixture itself is checked on Apply.
    const parsed = parseEnergy(text.value.trim(), catalogNames);
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
  $("settings").addEventListener("submit", (e) => e.preventDefault());

  document.addEventListener("keydown", onShortcut);
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
  const parsed = parseSetting(key, raw, catalogNames);
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
  updateDescription(select.value);
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
    ? parseEnergy(source, catalogNames)
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
    select.value = choice;
    $("custom-block").hidden = choice !== CUSTOM_ENERGY;
    if (choice === CUSTOM_ENERGY && $("custom-json").getAttribute("aria-invalid") !== "true") {
      $("custom-json").value = formatEnergy(config.energy);
    }
    updateDescription(choice);
  }
  $("budget").value = String(state.budget);
  $("budget-value").textContent = `${state.budget} ms/frame`;
}

function updateDescription(choice) {
  const target = targets.find((t) => t.name === choice);
  $("energy-desc").textContent = target
    ? target.description
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
  state.playing = playing;
  updateTransport();
  announce(playing ? "Training." : summaryText("Paused."));
}

function stepOnce() {
  if (!playground) return;
  state.playing = false;
  updateTransport();
  try {
    playground.step_iteration();
  } catch (err) {
    stopOnError(err);
  }
  counters.dirty = true;
  announce(summaryText("Stepped one iteration."));
}

function resetRun() {
  if (!playground) return;
  try {
    playground.reset();
  } catch (err) {
    stopOnError(err);
    return;
  }
  hideRunError();
  resetCounters();
  announce("Reset: same settings and seed, from scratch.");
}

function updateTransport() {
  $("play").classList.toggle("active", state.playing);
  $("play").setAttribute("aria-pressed", String(state.playing));
  $("pause").classList.toggle("active", !state.playing);
  $("pause").setAttribute("aria-pressed", String(!state.playing));
  counters.dirty = true;
}

function stopOnError(err) {
  state.playing = false;
  updateTransport();
  const lr = state.config.lr;
  const hint = lr !== undefined ? ` Try a smaller learning rate (now ${lr}) or fewer SDE steps, then Reset.` : " Try other settings, then Reset.";
  showRunError(`Training stopped: ${messageOf(err).replace(/\.$/, "")}.${hint}`);
  announce(`Training stopped: ${messageOf(err)}`);
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
  counters.history = null;
  counters.historyIteration = -1;
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
    try {
      counters.windowUnits += playground.train(state.budget);
    } catch (err) {
      stopOnError(err);
    }
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
    state.playing = false;
    updateTransport();
    counters.dirty = false;
    counters.broken = true;
    showRunError(`Drawing stopped: ${messageOf(err)}. Reset or change a setting to start again.`);
  }
}

function render(now) {
  const pg = playground;
  const metrics = pg.metrics();
  if (metrics.iteration !== counters.historyIteration || counters.history === null) {
    counters.history = pg.history();
    counters.historyIteration = metrics.iteration;
  }
  const history = counters.history;

  fieldView.draw(theme, {
    particles: () => pg.particles(),
    samples: () => pg.samples(),
    trajectories: () => pg.trajectories(),
    trajectoryCount: pg.trajectory_count(),
    trajectoryPoints: pg.trajectory_points(),
  });
  // Marginals are a few dozen bins: copies are cheap and stay valid across the next calls.
  for (const [surface, axis] of [
    [surfaces.margX, 0],
    [surfaces.margY, 1],
  ]) {
    const model = pg.marginal_model(axis).slice();
    const truth = pg.marginal_truth(axis).slice();
    drawMarginal(surface, theme, { axis, model, truth });
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
    refs: Number.isFinite(truth) ? [{ y: truth, colour: theme.truth }] : [],
    yClip: Number.isFinite(truth) ? [truth - 6, truth + 3] : null,
  });
  drawModeBars(surfaces.modes, theme, { model: metrics.mode_masses, truth: metrics.true_mode_masses });

  if (now - counters.lastReadout > 200 || !state.playing) {
    counters.lastReadout = now;
    updateReadout(metrics, pg.rollout_time());
  }
  if (state.playing && now - counters.lastSummary > 15000) {
    counters.lastSummary = now;
    $("summary").textContent = summaryText("Training.", metrics);
  }
}

function updateReadout(m, rolloutTime) {
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
    mode_coverage: Number.isFinite(m.mode_coverage) ? `${Math.round(m.mode_coverage * 100)} %` : "–",
    x_mean: vs(m.x_mean, m.true_x_mean, 2),
    x_std: vs(m.x_std, m.true_x_std, 2),
    energy_evals: formatCount(m.energy_evals),
    steps_per_second: counters.stepsPerSecond === null ? "–" : formatCount(counters.stepsPerSecond),
    fps: counters.fps === null ? "–" : counters.fps.toFixed(0),
    rollout_time: Number.isFinite(rolloutTime) ? rolloutTime.toFixed(2) : "–",
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

/** A sentence for screen readers about where the run stands. */
function summaryText(prefix, metrics) {
  const m = metrics || (playground ? playground.metrics() : null);
  if (!m) return prefix;
  const parts = [prefix, `Iteration ${m.iteration}.`];
  if (Number.isFinite(m.loss)) parts.push(`Loss ${formatSignificant(m.loss, 3)}.`);
  if (Number.isFinite(m.log_z_elbo)) {
    parts.push(
      `log Z estimate ${formatNumber(m.log_z_elbo, 2)}${Number.isFinite(m.log_z_true) ? `, true ${formatNumber(m.log_z_true, 2)}` : ""}.`,
    );
  }
  if (Number.isFinite(m.mode_coverage)) parts.push(`Mode coverage ${Math.round(m.mode_coverage * 100)} percent.`);
  return parts.join(" ");
}

function announce(text) {
  $("summary").textContent = text;
  counters.lastSummary = performance.now();
}

// ---------------------------------------------------------------------------------------------

function messageOf(err) {
  // A trap (a Rust panic) is a bug in the core, not a bad setting: say so.
  if (err instanceof WebAssembly.RuntimeError) return `internal error in the wasm core (${err.message}); please report this link`;
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

function displayValue(value) {
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
