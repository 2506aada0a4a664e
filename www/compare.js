// @ts-check
// Comparison: a second run beside the main one, on the same target, settings and seed, with
// another sampler (or the same sampler with a few settings changed, as a scene may ask).
// Both runs are judged by one number after every iteration and plotted against the energy
// evaluations each has spent and against the wall time each has trained.
//
// Common random numbers: each run seeds its own generator with the shared seed, so where
// two samplers consume it alike they see the same numbers (tests/compare.rs checks these):
// Adjoint Sampling and ASBS build the same control network, and from a point source ASBS
// is Adjoint Sampling step for step (from another source its corrector's initialization
// draws first and the noise differs); TB, VarGrad and PIS start from the same policy and
// draw the same first batch, while DB, SubTB and FL-SubTB initialize a flow network first.
// The streams part as soon as the updates differ. DDPM (which draws target samples) and
// MALA (chain starts) share only the seed.

/** The sampler compared with when none is named (ASBS's original comparison). */
export const DEFAULT_VERSUS = "adjoint";

/**
 * @typedef {{ sampler: string, settings: Record<string, unknown> }} Versus
 *   the compared run: its sampler and settings that differ from the main run's
 */

/**
 * Reads the `vs` value of a link: a sampler name, or a JSON object {sampler, ...settings}.
 * @param {string} raw
 * @param {string[]} samplerNames
 * @returns {{ ok: boolean, value?: Versus, message?: string }}
 */
export function parseVersus(raw, samplerNames) {
  const text = String(raw).trim();
  let value;
  if (text.startsWith("{")) {
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { ok: false, message: `vs is not valid JSON: ${err.message}` };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) return { ok: false, message: "vs must be a sampler name or an object {sampler, …settings}" };
  } else {
    value = { sampler: text };
  }
  const { sampler, ...settings } = value;
  if (typeof sampler !== "string" || !samplerNames.includes(sampler)) {
    return { ok: false, message: `unknown sampler ${JSON.stringify(sampler)} to compare with (known: ${samplerNames.join(", ")})` };
  }
  return { ok: true, value: { sampler, settings } };
}

/** The `vs` value of a link: the sampler's name, or JSON when settings differ. */
export function encodeVersus(versus) {
  if (Object.keys(versus.settings).length === 0) return versus.sampler;
  return JSON.stringify({ sampler: versus.sampler, ...versus.settings });
}

/** A scene's compared run as a Versus (a copy, so edits leave the scene alone), or null. */
export function sceneVersus(scene) {
  if (!scene || !scene.versus) return null;
  return { sampler: scene.versus.sampler, settings: { ...(scene.versus.settings ?? {}) } };
}

/** The compared run's configuration: the main run's with the sampler and settings replaced. */
export function versusConfig(config, versus) {
  return { ...config, sampler: versus.sampler, ...versus.settings };
}

/** A short name of the compared run for legends: the sampler's label and changed settings. */
export function versusLabel(versus, labelOf) {
  const extra = Object.entries(versus.settings).map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : v}`);
  return extra.length > 0 ? `${labelOf(versus.sampler)} (${extra.join(", ")})` : labelOf(versus.sampler);
}

/**
 * The number both runs are judged by, from a run's `metrics()`: W2 to the truth in 1-D; in
 * 2-D the mode-mass error ½ Σ |m_k − m*_k| (the total variation between the masses of the
 * modes' cells), or null when the target has no modes or no samples yet.
 */
export function comparisonValue(metrics, dim) {
  if (dim === 1) return Number.isFinite(metrics.w2) ? metrics.w2 : null;
  const model = metrics.mode_masses;
  const truth = metrics.true_mode_masses;
  if (!model || !truth || truth.length === 0 || model.length !== truth.length) return null;
  let tv = 0;
  for (let k = 0; k < truth.length; k++) tv += Math.abs(model[k] - truth[k]);
  return tv / 2;
}

/** What the comparison charts' y axis shows. */
export function comparisonName(dim) {
  return dim === 1 ? "W2 to the target" : "mode-mass error ½Σ|m − m*|";
}

/** One run's series: the value after each iteration against energy evaluations and time. */
export class Track {
  constructor() {
    this.reset();
  }

  reset() {
    /** Milliseconds spent in this run's training calls. */
    this.ms = 0;
    this.iteration = -1;
    this.evals = [];
    this.seconds = [];
    this.values = [];
  }

  /** Adds the point of a newly completed iteration (nothing if the iteration is known). */
  record(metrics, dim) {
    if (metrics.iteration === this.iteration || metrics.iteration === 0) return;
    this.iteration = metrics.iteration;
    const v = comparisonValue(metrics, dim);
    this.evals.push(metrics.energy_evals);
    this.seconds.push(this.ms / 1000);
    this.values.push(v === null ? NaN : v);
  }
}
