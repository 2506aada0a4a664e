// @ts-check
// What the wasm core says about itself: its samplers (which settings each reads, which of
// them keep the trained state when changed, what the page explains about it), its settings
// (kinds, ranges, enum values, labels) and its targets (dimension, projections). The page,
// the custom element and the iframe page read these instead of keeping their own tables,
// so that a sampler or setting added to the core needs no change here.

/**
 * @typedef {{ source: boolean, stages: boolean, shared_rollout: boolean, path_weights: boolean }} Capabilities
 * @typedef {{ name: string, label: string, description: string, explanation: string, family: string,
 *             dims: number[] | null, settings: string[], keeps_progress: string[],
 *             labels?: [string, string][], capabilities: Capabilities }} SamplerEntry
 *   `labels`: the sampler's own names for settings whose meaning differs for it
 * @typedef {"int" | "number" | "bool" | "enum" | "energy" | "text"} Kind
 * @typedef {{ key: string, kind: Kind, min?: number, max?: number, step?: number, positive?: boolean,
 *             values?: string[], label: string, help: string, deprecated_keys?: string[] }} SettingEntry
 *   an int is a multiple of `step`; a `positive` number is > min, any other ≥ min
 * @typedef {{ name: string, description: string, dim: number, projections: number[][], hint: string | null,
 *             sizes: { default: number, min: number, max: number, even: boolean, listed: TargetEntry[] } | null }} TargetEntry
 *   a catalog row: `projections` the axis pairs the page may show, `hint` a line about the
 *   picture, `sizes` the D of "name:D" it takes (null: none), `listed` the sizes offered as
 *   targets of their own
 */

/** Keys that pick the run rather than tune the sampler: their controls are always shown. */
export const ALWAYS_SHOWN = ["sampler", "preset", "energy", "seed"];

export class Registry {
  /**
   * @param {{ samplers: SamplerEntry[], settings: SettingEntry[], targets: TargetEntry[] }} lists
   */
  constructor({ samplers, settings, targets }) {
    /** @type {SamplerEntry[]} */
    this.samplers = samplers.map((s) => ({ ...s, dims: s.dims == null ? null : Array.from(s.dims) }));
    /** @type {SettingEntry[]} */
    this.settings = settings;
    /** The catalog's rows. @type {TargetEntry[]} */
    this.catalog = targets;
    /** The targets offered: each row, then the sizes it lists as targets of their own. @type {TargetEntry[]} */
    this.targets = targets.flatMap((t) => [t, ...(t.sizes ? t.sizes.listed : [])]);
    /** Old key → its current key (links written by earlier versions). */
    /** @type {Map<string, string>} */
    this.renamed = new Map();
    for (const s of settings) for (const old of s.deprecated_keys ?? []) this.renamed.set(old, s.key);
  }

  /** @param {string} name */
  sampler(name) {
    return this.samplers.find((s) => s.name === name);
  }

  /** @param {string} key */
  setting(key) {
    return this.settings.find((s) => s.key === key);
  }

  get samplerNames() {
    return this.samplers.map((s) => s.name);
  }

  get targetNames() {
    return this.targets.map((t) => t.name);
  }

  /** The sampler's short name for selects and legends (its name when unknown). */
  /** @param {string} name */
  labelOf(name) {
    return this.sampler(name)?.label ?? name;
  }

  /**
   * Whether changing `key` keeps the trained state of a run of `sampler` (the network, the
   * optimizer's moments and buffers carry over into a run of the new settings).
   * @param {string} sampler
   * @param {string} key
   */
  keepsProgress(sampler, key) {
    return this.sampler(sampler)?.keeps_progress.includes(key) ?? false;
  }

  /**
   * The label of `key` for a run of `sampler`: the sampler's own where its meaning differs,
   * else the setting's.
   * @param {string} sampler
   * @param {string} key
   */
  settingLabel(sampler, key) {
    const own = this.sampler(sampler)?.labels?.find(([k]) => k === key);
    return own ? own[1] : this.setting(key)?.label ?? key;
  }

  /**
   * Whether a run of `sampler` reads `key` (its control is shown).
   * @param {string} sampler
   * @param {string} key
   */
  reads(sampler, key) {
    if (ALWAYS_SHOWN.includes(key)) return true;
    return this.sampler(sampler)?.settings.includes(key) ?? false;
  }

  /** The catalog entry of a target name, sized ("manywell:4") or not. */
  /** @param {unknown} energy */
  target(energy) {
    if (typeof energy !== "string") return undefined;
    return this.targets.find((t) => t.name === energy) ?? this.catalog.find((t) => t.name === energy.split(":")[0]);
  }

  /**
   * Why a catalog name, sized or not, is not a target ("manywell:5": Manywell's D is even),
   * or null when it is one.
   * @param {string} text
   * @returns {string | null}
   */
  targetProblem(text) {
    if (this.targets.some((t) => t.name === text)) return null;
    const sized = /^([a-z0-9-]+):(\d+)$/.exec(text);
    const row = sized ? this.catalog.find((t) => t.name === sized[1]) : undefined;
    const known = `known: ${this.targets.map((t) => t.name).join(", ")}, or a JSON mixture`;
    if (!sized || !row) return `unknown target "${text}" (${known})`;
    if (!row.sizes) return `the target ${row.name} takes no size, got "${text}"`;
    const d = Number(sized[2]);
    const { min, max, even } = row.sizes;
    if (d < min || d > max || (even && d % 2 !== 0)) return `${row.name}:D takes ${even ? "an even " : ""}D from ${min} to ${max}, got ${d}`;
    return null;
  }
}

/**
 * The registry of a loaded core (the wasm-bindgen glue module).
 * @param {Record<string, any>} glue
 */
export function readRegistry(glue) {
  const samplers = /** @type {SamplerEntry[]} */ (glue.samplers());
  const targets = /** @type {TargetEntry[]} */ (glue.catalog());
  const settings = /** @type {SettingEntry[]} */ (glue.settings());
  return new Registry({ samplers, settings, targets });
}
