// @ts-check
// The one controller of a run, shared by the page (www/main.js), the custom element
// (www/element.js) and so the iframe page (www/embed.js): it owns the `Playground` (and the
// compared run beside it), trains them within a per-frame time budget, applies setting
// changes, and words what the user is told. Those three only lay out and draw, so that the
// same change gives the same run, bit for bit, wherever it is made.
//
// The rules, the same everywhere:
// - A setting that the sampler lists in `keeps_progress` (the core's registry) carries the
//   trained state over to a run of the new settings; every other change starts a new run.
// - A preset change keeps the sampler, the target, the seed and the temperature (the target's
//   physics, chosen by the user) and takes every other setting from the new preset.
// - A sampler change keeps the preset and the seed and takes the sampler's preset settings,
//   its target among them: the old ones were chosen for another method.
// - Settings given together in one change (a link, set-state) are all applied on top.
// - A change the core rejects leaves the running run as it was and comes back as a message
//   naming the setting; nothing is replaced silently.
// - Reset starts the same settings and seed from scratch; Step trains exactly one iteration.

import { Playground } from "../pkg/boltzmann_playground.js";
import { DEFAULT_VERSUS, Track, versusConfig, versusLabel } from "./compare.js";
import { formatNumber, formatSignificant } from "./views/ticks.js";
import { BUDGET, displayValue, shorten } from "./state.js";

/** The screen-reader summary changes at most this often while training, ms. */
export const SUMMARY_EVERY = 15000;

/** Settings a preset change keeps. */
export const PRESET_KEEPS = ["sampler", "energy", "seed", "temperature"];
/** Settings a sampler change keeps. */
export const SAMPLER_KEEPS = ["preset", "seed"];

/**
 * @typedef {import("./compare.js").Versus} Versus
 * @typedef {import("./registry.js").Registry} Registry
 * @typedef {Record<string, unknown>} Config
 * @typedef {{ attach?: (pg: Playground) => void, train?: (pg: Playground, ms: number) => number }} Trainer
 *   who trains the main run (the page shares its rollouts with Web Workers, www/workers.js)
 * @typedef {{ ok: boolean, message?: string }} Result
 */

/**
 * The configuration after `changes` to `current`, by the rules above.
 * @param {Config} current
 * @param {Config} changes
 * @returns {Config}
 */
export function nextConfig(current, changes) {
  const differs = (/** @type {string} */ k) => k in changes && JSON.stringify(changes[k]) !== JSON.stringify(current[k]);
  /** @type {Config} */
  let base = { ...current };
  if (differs("sampler")) base = pick(current, SAMPLER_KEEPS);
  else if (differs("preset")) base = pick(current, PRESET_KEEPS);
  return { ...base, ...changes };
}

/** @param {Config} config @param {string[]} keys */
function pick(config, keys) {
  /** @type {Config} */
  const out = {};
  for (const k of keys) if (k in config) out[k] = config[k];
  return out;
}

/** The message of anything thrown by the core or the page. */
export function messageOf(/** @type {unknown} */ err) {
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

/** @param {Config} config @returns {{ ok: boolean, playground?: Playground, message?: string }} */
function tryCreate(config) {
  try {
    return { ok: true, playground: new Playground(config) };
  } catch (err) {
    return { ok: false, message: messageOf(err) };
  }
}

/** @param {Config} config @param {unknown} saved @returns {{ ok: boolean, playground?: Playground, message?: string }} */
function tryRestore(config, saved) {
  try {
    return { ok: true, playground: Playground.restore(config, saved) };
  } catch (err) {
    return { ok: false, message: messageOf(err) };
  }
}

export class RunController {
  /**
   * @param {{ registry: Registry, trainer?: Trainer, onRun?: (info: { kept: boolean }) => void,
   *           onError?: (message: string) => void, onPlaying?: (playing: boolean) => void }} options
   *   onRun: a run was adopted (redraw everything); onError: training stopped with this
   *   message; onPlaying: play or pause
   */
  constructor({ registry, trainer = {}, onRun = () => {}, onError = () => {}, onPlaying = () => {} }) {
    this.registry = registry;
    this.trainer = trainer;
    this.onRun = onRun;
    this.onError = onError;
    this.onPlaying = onPlaying;
    /** @type {Playground | null} */
    this.pg = null;
    /** @type {Config} */
    this.resolved = {};
    /** The compared run: another sampler on the same settings and seed (www/compare.js). */
    /** @type {Playground | null} */
    this.comparePg = null;
    /** Whether a compared run is wanted (it may have failed to start: `compareError`). */
    this.compare = false;
    /** The compared run's sampler and changed settings; null: the default. */
    /** @type {Versus | null} */
    this.versus = null;
    /** Why the wanted compared run could not start, or null. */
    /** @type {string | null} */
    this.compareError = null;
    this.playing = false;
    /** Per-frame training time, ms. */
    this.budget = BUDGET.fallback;
    /** Both runs' comparison series and training time. */
    this.tracks = { main: new Track(), other: new Track() };
  }

  /** The resolved configuration of the running run ({} before one exists). */
  get config() {
    return this.pg ? this.resolved : {};
  }

  /** The compared run's sampler and settings, the default when none was chosen. */
  get currentVersus() {
    return this.versus ?? { sampler: DEFAULT_VERSUS, settings: {} };
  }

  /** The compared run's short name for legends. */
  get compareLabel() {
    return versusLabel(this.currentVersus, (name) => this.registry.labelOf(name));
  }

  /** The sampler entry of the running run. */
  get sampler() {
    return this.registry.sampler(String(this.config.sampler));
  }

  // -------------------------------------------------------------------------------------------
  // Runs

  /**
   * Starts the run `config` describes in full (a link, the element's attributes, an imported
   * file), with or without a compared run. `saved` (an imported file's) restores where it was.
   * On failure the running run, if any, goes on.
   * @param {Config} config
   * @param {{ compare?: boolean, versus?: Versus | null, saved?: unknown, savedCompare?: unknown }} [options]
   * @returns {Result}
   */
  open(config, { compare = this.compare, versus = this.versus, saved = undefined, savedCompare = null } = {}) {
    const created = saved !== undefined ? tryRestore(config, saved) : tryCreate(config);
    if (!created.ok) return created;
    this.compare = compare;
    this.versus = versus;
    this.adopt(created.playground, savedCompare, false);
    return { ok: true };
  }

  /**
   * Starts the run a link describes; settings the core rejects are found one by one, named,
   * and left out. A setting can depend on a later one (batch and buffer), so rejected ones
   * get a second try.
   * @param {Config} config
   * @param {{ compare?: boolean, versus?: Versus | null }} [options]
   * @returns {{ ok: boolean, warnings: string[], rejected?: string[], message?: string }}
   */
  openLink(config, options = {}) {
    const first = this.open(config, options);
    if (first.ok) return { ok: true, warnings: [], rejected: [] };
    /** @type {Config} */
    let accepted = {};
    let pending = Object.keys(config);
    const reasons = new Map();
    for (let pass = 0; pass < 2 && pending.length > 0; pass++) {
      const rejected = [];
      for (const key of pending) {
        const trial = { ...accepted, [key]: config[key] };
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
    const warnings = pending.map((key) => `${key}=${shorten(displayValue(config[key]))} in the link was rejected: ${reasons.get(key)}`);
    const rest = this.open(accepted, options);
    if (!rest.ok) return { ok: false, message: rest.message, warnings };
    return { ok: true, warnings, rejected: pending };
  }

  /**
   * The resolved configuration `config` would run, or null where the core rejects it.
   * @param {Config} config
   * @returns {Config | null}
   */
  resolve(config) {
    const created = tryCreate(config);
    if (!created.ok) return null;
    const resolved = created.playground.config();
    created.playground.free();
    return resolved;
  }

  /**
   * Applies changed settings by the rules at the top of this file. On failure the running
   * run goes on and `message` names what the core rejected.
   * @param {Config} changes
   * @returns {{ ok: boolean, kept?: boolean, rebuilt?: boolean, announcement?: string, message?: string }}
   */
  change(changes) {
    if (!this.pg) return { ok: false, message: "no run to change yet" };
    const current = this.config;
    const keys = Object.keys(changes).filter((k) => JSON.stringify(changes[k]) !== JSON.stringify(current[k]));
    if (keys.length === 0) return { ok: true, kept: true, rebuilt: false, announcement: "" };
    const config = nextConfig(current, changes);
    const sampler = String(current.sampler);
    const keeps = keys.every((k) => this.registry.keepsProgress(sampler, k));
    let next = null;
    if (keeps) {
      // The core names what does not fit (a GFlowNet batch sizes the paths): then start anew.
      const kept = tryRestore(config, this.pg.save_state());
      if (kept.ok) next = kept.playground;
    }
    const kept = next !== null;
    if (!next) {
      const created = tryCreate(config);
      if (!created.ok) return created;
      next = created.playground;
    }
    const savedCompare = kept && this.comparePg ? { state: this.comparePg.save_state(), fresh: true } : null;
    this.adopt(next, savedCompare, kept);
    const what = keys.map((k) => `${k} = ${shorten(displayValue(changes[k]), 40)}`).join(", ");
    return { ok: true, kept, rebuilt: true, announcement: kept ? `Set ${what}; the run keeps its progress.` : `Started a new run with ${what}.` };
  }

  /**
   * Starts or stops the compared run beside the running one.
   * @param {boolean} on
   * @param {Versus | null} [versus] null: the default
   */
  setCompare(on, versus = this.versus) {
    this.compare = on;
    this.versus = versus;
    this.startCompare(null);
    this.tracks.main.reset();
    this.onRun({ kept: true });
    return this.compareError === null ? { ok: true } : { ok: false, message: this.compareError };
  }

  /**
   * Makes `next` the running run (freeing the old one) and starts its compared run.
   * @param {Playground} next
   * @param {any} savedCompare {state, fresh?} of the compared run to restore, or null
   * @param {boolean} kept whether the run carries its progress over
   */
  adopt(next, savedCompare, kept) {
    if (this.pg) this.pg.free();
    this.pg = next;
    /** The run's resolved configuration, read once. @type {Config} */
    this.resolved = next.config();
    this.trainer.attach?.(next);
    this.tracks.main.reset();
    this.startCompare(savedCompare);
    this.onRun({ kept });
  }

  /** @param {any} saved */
  startCompare(saved) {
    if (this.comparePg) {
      this.comparePg.free();
      this.comparePg = null;
    }
    this.tracks.other.reset();
    this.compareError = null;
    if (!this.compare || !this.pg) return;
    const config = versusConfig(this.config, this.currentVersus);
    let created = saved ? tryRestore(config, saved.state) : tryCreate(config);
    // A compared run carried over with a changed setting (`fresh`) starts afresh where its
    // state does not fit; an imported one's misfit is reported.
    if (!created.ok && saved && saved.fresh) created = tryCreate(config);
    if (created.ok) this.comparePg = created.playground;
    else this.compareError = `${this.compareLabel} could not start beside this run: ${created.message}`;
  }

  /** Frees both runs. */
  release() {
    this.setPlaying(false);
    this.pg?.free();
    this.comparePg?.free();
    this.pg = null;
    this.comparePg = null;
  }

  // -------------------------------------------------------------------------------------------
  // Training

  /** @param {boolean} on */
  setPlaying(on) {
    const next = on && this.pg !== null;
    if (next === this.playing) return;
    this.playing = next;
    this.onPlaying(next);
  }

  /**
   * Training time per frame, ms, within BUDGET; the run keeps its progress.
   * @param {number} ms
   */
  setBudget(ms) {
    if (!(Number.isFinite(ms) && ms >= BUDGET.min && ms <= BUDGET.max)) return false;
    this.budget = ms;
    return true;
  }

  /**
   * One frame's training while playing: `ms` of it (the budget by default), shared by the
   * runs; each run's own training time is kept for the comparison. A fault stops training
   * with a message (the core rolled back to the last good state).
   * @returns {number} work units done by the main run
   */
  tick(ms = this.budget) {
    if (!this.playing || !this.pg) return 0;
    let units = 0;
    try {
      const t0 = performance.now();
      const share = this.comparePg ? ms / 2 : ms;
      units = this.trainer.train ? this.trainer.train(this.pg, share) : this.pg.train(share);
      const t1 = performance.now();
      this.tracks.main.ms += t1 - t0;
      if (this.comparePg) {
        this.comparePg.train(share);
        this.tracks.other.ms += performance.now() - t1;
      }
    } catch (err) {
      this.fail(err);
    }
    return units;
  }

  /** Trains exactly one iteration of each run, paused. @returns {Result} */
  step() {
    if (!this.pg) return { ok: false, message: "no run yet" };
    this.setPlaying(false);
    try {
      const t0 = performance.now();
      this.pg.step_iteration();
      const t1 = performance.now();
      this.tracks.main.ms += t1 - t0;
      if (this.comparePg) {
        this.comparePg.step_iteration();
        this.tracks.other.ms += performance.now() - t1;
      }
    } catch (err) {
      return { ok: false, message: this.fail(err) };
    }
    return { ok: true };
  }

  /** The same settings and seed from scratch. @returns {Result} */
  reset() {
    if (!this.pg) return { ok: false, message: "no run yet" };
    try {
      this.pg.reset();
      this.comparePg?.reset();
    } catch (err) {
      return { ok: false, message: this.fail(err) };
    }
    this.tracks.main.reset();
    this.tracks.other.reset();
    return { ok: true };
  }

  /** Divergence or another fault: stop and say what to change. @returns {string} the message */
  fail(/** @type {unknown} */ err) {
    this.setPlaying(false);
    const message = trainingStoppedText(err, this.pg ? this.config.lr : undefined);
    this.onError(message);
    return message;
  }

  // -------------------------------------------------------------------------------------------
  // Words

  /**
   * A sentence for screen readers about where the run stands.
   * @param {string} prefix
   * @param {any} [metrics] the main run's, when already read
   */
  summary(prefix, metrics) {
    const m = metrics ?? (this.pg ? this.pg.metrics() : null);
    if (!m) return prefix;
    const parts = [prefix, `Iteration ${m.iteration}.`];
    if (Number.isFinite(m.loss)) parts.push(`Loss ${formatSignificant(m.loss, 3)}.`);
    if (Number.isFinite(m.log_z_elbo)) {
      parts.push(`log Z estimate ${formatNumber(m.log_z_elbo, 2)}${Number.isFinite(m.log_z_true) ? `, true ${formatNumber(m.log_z_true, 2)}` : ""}.`);
    }
    if (Number.isFinite(m.w2)) parts.push(`W2 to the target ${formatNumber(m.w2, 2)}.`);
    if (Number.isFinite(m.mode_coverage)) parts.push(`Mode coverage ${Math.round(m.mode_coverage * 100)} percent.`);
    const compared = this.comparePg?.metrics();
    if (compared && Number.isFinite(compared.w2)) parts.push(`Compared run, ${this.compareLabel}: W2 ${formatNumber(compared.w2, 2)} at iteration ${compared.iteration}.`);
    return parts.join(" ");
  }
}

/**
 * What the user is told when training stops on a fault.
 * @param {unknown} err
 * @param {unknown} lr the run's learning rate, if it has one
 */
export function trainingStoppedText(err, lr) {
  const hint = lr !== undefined ? ` Try a smaller learning rate (now ${lr}) or fewer SDE steps, then Reset.` : " Try other settings, then Reset.";
  return `Training stopped: ${messageOf(err).replace(/\.$/, "")}.${hint}`;
}

/** What the user is told when reading the core for drawing fails. */
export function drawingStoppedText(/** @type {unknown} */ err) {
  return `Drawing stopped: ${messageOf(err)}. Reset or change a setting to start again.`;
}

/** What the user is told when no run could start. */
export function couldNotStartText(/** @type {string} */ message) {
  return `The playground could not start: ${message}`;
}

