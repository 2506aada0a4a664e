// The page's state: everything that defines a run, and its round trip through the URL hash.
//
// The hash reads like `#sampler=adjoint&energy=seed-gmm&seed=1&preset=browser&paths=512&…`;
// a custom mixture is its JSON, URI-encoded. Every value is checked here; a value that is
// unknown or invalid is reported by name and never silently swapped for another one.

import { encodeVersus, parseVersus } from "./compare.js";

/**
 * Samplers the page offers: `value` is the facade's name, `dims` the target dimensions it
 * takes (null: any). Filled from the wasm core's `samplers()` list by `setSamplers`, so a sampler added
 * to the core appears here without a change to the page.
 * @type {{ value: string, label: string, description: string, dims: number[] | null }[]}
 */
export const SAMPLERS = [{ value: "adjoint", label: "Adjoint Sampling", description: "Adjoint Sampling", dims: null }];

/** Short names for the sampler select; a sampler without one shows its description. */
const SAMPLER_LABELS = {
  adjoint: "Adjoint Sampling",
  asbs: "ASBS (Schrödinger bridge)",
  ddpm: "DDPM (1-D)",
  tb: "GFlowNet: trajectory balance (TB)",
  vargrad: "GFlowNet: VarGrad",
  db: "GFlowNet: detailed balance (DB)",
  subtb: "GFlowNet: SubTB",
  "fl-subtb": "GFlowNet: FL-SubTB",
  pis: "Path integral sampler (PIS)",
  mala: "MALA (no network)",
};

/** The GFlowNet diffusion samplers (docs/methods.md §5); PIS takes none of the off-policy modifiers. */
export const GFN_SAMPLERS = ["tb", "vargrad", "db", "subtb", "fl-subtb", "pis"];

/**
 * Replaces the sampler list with the core's: [{name, description, dims}]. The label is a
 * short name where the page has one, else the description up to its citation.
 */
export function setSamplers(list) {
  SAMPLERS.length = 0;
  for (const s of list) {
    const label = SAMPLER_LABELS[s.name] || s.description.split(" (")[0];
    SAMPLERS.push({ value: s.name, label, description: s.description, dims: s.dims == null ? null : Array.from(s.dims) });
  }
}

/** Presets of the facade. */
export const PRESETS = [
  { value: "browser", label: "browser" },
  { value: "seed", label: "seed" },
  { value: "paper", label: "paper (slow in a tab)" },
];

/** The target select's value for a user-defined mixture. */
export const CUSTOM_ENERGY = "custom";

/** The example shown when the user first picks a custom mixture (docs/product.md, Command line). */
export const EXAMPLE_MIXTURE = {
  gmm: {
    weights: [0.3, 0.7],
    means: [
      [-3, 0],
      [3, 1],
    ],
    covs: [
      [
        [1, 0],
        [0, 1],
      ],
      [
        [0.5, 0],
        [0, 2],
      ],
    ],
  },
};

/** Regions a link can hide for classroom use (`hide=settings,metrics`): `data-hideable` names. */
export const HIDEABLE = ["settings", "target", "sampler", "metrics", "transport", "speed", "scenes", "share"];

/** Per-frame training budget, milliseconds (page setting, not part of the run's config). */
export const BUDGET = { min: 1, max: 40, fallback: 8 };

/**
 * Web Workers sharing the training rollouts (page setting, `workers=N`; absent: one per extra
 * core, www/workers.js). 0 keeps every path on the page's thread.
 */
export const WORKERS = { max: 16 };

/**
 * @typedef {"int" | "number" | "bool" | "enum" | "energy" | "text"} Kind
 * @typedef {{ kind: Kind, min?: number, positive?: boolean, values?: () => string[] }} FieldSpec
 */

/** The typed settings the page knows; order is the hash's order. @type {Record<string, FieldSpec>} */
export const FIELDS = {
  sampler: { kind: "enum", values: () => SAMPLERS.map((s) => s.value) },
  energy: { kind: "energy" },
  seed: { kind: "int", min: 0 },
  preset: { kind: "enum", values: () => PRESETS.map((p) => p.value) },
  temperature: { kind: "number", positive: true },
  whiten: { kind: "bool" },
  paths: { kind: "int", min: 1 },
  steps: { kind: "int", min: 1 },
  inner_steps: { kind: "int", min: 1 },
  batch: { kind: "int", min: 1 },
  buffer_capacity: { kind: "int", min: 1 },
  lr: { kind: "number", positive: true },
  hidden: { kind: "int", min: 1 },
  layers: { kind: "int", min: 1 },
  activation: { kind: "enum", values: () => ACTIVATIONS },
  clip: { kind: "number", positive: true },
  sigma_min: { kind: "number", positive: true },
  sigma_max: { kind: "number", positive: true },
  source: { kind: "text" },
  sigma: { kind: "text" },
  stages: { kind: "int", min: 1 },
  adjoint_iters: { kind: "int", min: 1 },
  corrector_iters: { kind: "int", min: 1 },
  paths_per_source: { kind: "int", min: 1 },
  sigma_q: { kind: "number", positive: true },
  iters: { kind: "int", min: 1 },
  t_scale: { kind: "number", positive: true },
  explore: { kind: "number", nonNegative: true },
  langevin: { kind: "bool" },
  local_search: { kind: "bool" },
  learned_variance: { kind: "bool" },
  lr_log_z: { kind: "number", positive: true },
  ls_every: { kind: "int", min: 2 },
};

/** Activations of the network (nn::Activation). */
export const ACTIVATIONS = ["gelu", "silu", "relu"];

/** Settings kept when the preset changes; the new preset fills in every other one. */
export const PRESET_KEEPS = ["sampler", "energy", "seed", "temperature"];

/**
 * Reads `axes=i,j` (the 2-D projection of a d > 2 target): two whole numbers; which pairs a
 * target allows is the core's to say.
 * @returns {{ ok: true, value: number[] } | { ok: false, message: string }}
 */
export function parseAxes(raw) {
  const parts = String(raw).split(",").map((p) => p.trim());
  if (parts.length !== 2 || !parts.every((p) => /^\d+$/.test(p))) {
    return fail(`axes must be two coordinate numbers such as 2,3, got "${raw}"`);
  }
  return { ok: true, value: parts.map(Number) };
}

/**
 * The one state object of the page.
 * `axes` is the shown 2-D projection of a d > 2 target (null: the first pair);
 * `config` is the run's configuration (as resolved by the facade once a run exists);
 * `budget` the per-frame training time; `playing` whether the animation trains; `compare`
 * whether a second run trains beside it on the same settings and seed; `workers` the Web
 * Workers asked for by the link (null: the default); `versus` that run's
 * sampler and changed settings (null: Adjoint Sampling, www/compare.js).
 * `scene` names the curated scene the run came from (null once a setting changes); `hide`
 * lists the regions hidden for classroom use.
 * @typedef {{ config: Record<string, unknown>, budget: number, workers: number | null, playing: boolean, compare: boolean,
 *             versus: { sampler: string, settings: Record<string, unknown> } | null,
 *             scene: string | null, hide: string[], axes: number[] | null }} PageState
 * @returns {PageState}
 */
export function createState() {
  return { config: {}, budget: BUDGET.fallback, workers: null, playing: false, compare: false, versus: null, scene: null, hide: [], axes: null };
}

/**
 * Checks one value typed by the user or read from a link.
 * @param {string} key
 * @param {string} raw
 * @param {string[]} catalogNames names of the built-in targets
 * @returns {{ ok: true, value: unknown } | { ok: false, message: string }}
 */
export function parseSetting(key, raw, catalogNames = []) {
  const spec = FIELDS[key];
  const text = String(raw).trim();
  if (!spec) return parseLoose(text);
  switch (spec.kind) {
    case "int": {
      if (!/^[+-]?\d+$/.test(text)) return fail(`${key} must be a whole number, got "${raw}"`);
      const value = Number(text);
      if (!Number.isSafeInteger(value)) return fail(`${key} is too large: "${raw}"`);
      if (spec.min !== undefined && value < spec.min) return fail(`${key} must be at least ${spec.min}, got ${value}`);
      return { ok: true, value };
    }
    case "number": {
      const value = text === "" ? NaN : Number(text);
      if (!Number.isFinite(value)) return fail(`${key} must be a number, got "${raw}"`);
      if (spec.positive && !(value > 0)) return fail(`${key} must be positive, got ${value}`);
      if (spec.nonNegative && !(value >= 0)) return fail(`${key} must be 0 or positive, got ${value}`);
      return { ok: true, value };
    }
    case "bool": {
      if (text === "true" || text === "1") return { ok: true, value: true };
      if (text === "false" || text === "0") return { ok: true, value: false };
      return fail(`${key} must be true or false, got "${raw}"`);
    }
    case "enum": {
      const values = spec.values();
      if (values.includes(text)) return { ok: true, value: text };
      return fail(`unknown ${key} "${raw}" (known: ${values.join(", ")})`);
    }
    case "energy":
      return parseEnergy(text, catalogNames);
    case "text":
      // Checked by the core, which names what is wrong ("source: …").
      if (text === "") return fail(`${key} must not be empty`);
      return { ok: true, value: text };
    default:
      return fail(`${key}: unsupported setting`);
  }
}

/**
 * A target is a catalog name or a JSON object such as `{"gmm": {...}}`.
 * @returns {{ ok: true, value: unknown } | { ok: false, message: string }}
 */
export function parseEnergy(text, catalogNames) {
  if (text.startsWith("{")) {
    try {
      const value = JSON.parse(text);
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return fail("the custom target must be a JSON object such as {\"gmm\": {…}}");
      }
      return { ok: true, value };
    } catch (err) {
      return fail(`the custom target is not valid JSON: ${err.message}`);
    }
  }
  if (catalogNames.includes(text)) return { ok: true, value: text };
  // A catalog target with its dimension, such as "manywell:4" (the core checks D).
  const sized = /^([a-z0-9-]+):(\d+)$/.exec(text);
  if (sized && catalogNames.includes(sized[1])) return { ok: true, value: text };
  return fail(`unknown target "${text}" (known: ${catalogNames.join(", ")}, or a JSON mixture)`);
}

/** Values of settings the page has no type for (the facade may have more): number, bool or text. */
function parseLoose(text) {
  if (text === "true" || text === "false") return { ok: true, value: text === "true" };
  if (text !== "" && Number.isFinite(Number(text))) return { ok: true, value: Number(text) };
  if (text.startsWith("{") || text.startsWith("[")) {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch {
      return { ok: true, value: text };
    }
  }
  return { ok: true, value: text };
}

function fail(message) {
  return { ok: false, message };
}

/**
 * Reads a URL hash.
 * @param {string} hash `location.hash`, with or without the leading "#"
 * @param {string[]} catalogNames
 * @param {string[]} [sceneNames] names of the curated scenes
 * @returns {{ config: Record<string, unknown>, budget: number | null, workers: number | null, compare: boolean | null,
 *            versus: { sampler: string, settings: Record<string, unknown> } | null,
 *            scene: string | null, hide: string[] | null, axes: number[] | null, warnings: string[],
 *            untyped: string[] }}
 *   `untyped`: keys the page has no type for; the caller checks that the facade knows them.
 */
export function decodeHash(hash, catalogNames, sceneNames = []) {
  const config = {};
  const warnings = [];
  const untyped = [];
  let budget = null;
  let workers = null;
  let compare = null;
  let versus = null;
  let scene = null;
  let hide = null;
  let axes = null;
  const body = hash.replace(/^#/, "");
  if (body === "") return { config, budget, workers, compare, versus, scene, hide, axes, warnings, untyped };
  for (const part of body.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    let key;
    let raw;
    try {
      key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      raw = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, "%20"));
    } catch {
      warnings.push(`Could not read "${part}" in the link (bad %-encoding); it was ignored.`);
      continue;
    }
    if (key === "budget") {
      const value = Number(raw);
      if (Number.isFinite(value) && value >= BUDGET.min && value <= BUDGET.max) budget = value;
      else warnings.push(`budget=${raw} in the link is not a time between ${BUDGET.min} and ${BUDGET.max} ms; it was ignored.`);
      continue;
    }
    if (key === "workers") {
      if (/^\d+$/.test(raw) && Number(raw) <= WORKERS.max) workers = Number(raw);
      else warnings.push(`workers=${shorten(raw)} in the link is not a whole number of Web Workers from 0 to ${WORKERS.max}; it was ignored.`);
      continue;
    }
    if (key === "compare") {
      if (raw === "1" || raw === "true") compare = true;
      else if (raw === "0" || raw === "false") compare = false;
      else warnings.push(`compare=${shorten(raw)} in the link is not 1 or 0; it was ignored.`);
      continue;
    }
    if (key === "vs") {
      const parsed = parseVersus(raw, SAMPLERS.map((s) => s.value));
      if (parsed.ok) versus = parsed.value;
      else warnings.push(`vs=${shorten(raw)} in the link was ignored: ${parsed.message}.`);
      continue;
    }
    if (key === "scene") {
      if (sceneNames.includes(raw)) scene = raw;
      else warnings.push(`unknown scene "${shorten(raw)}" in the link (known: ${sceneNames.join(", ")}); it was ignored.`);
      continue;
    }
    if (key === "axes") {
      const parsed = parseAxes(raw);
      if (parsed.ok) axes = parsed.value;
      else warnings.push(`axes=${shorten(raw)} in the link was ignored: ${parsed.message}.`);
      continue;
    }
    if (key === "hide") {
      hide = [];
      for (const name of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
        if (HIDEABLE.includes(name)) {
          if (!hide.includes(name)) hide.push(name);
        } else {
          warnings.push(`hide=${shorten(name)} in the link names no part of the page (known: ${HIDEABLE.join(", ")}); it was ignored.`);
        }
      }
      continue;
    }
    if (eq < 0 || raw === "") {
      warnings.push(`"${key}" in the link has no value; it was ignored.`);
      continue;
    }
    const parsed = parseSetting(key, raw, catalogNames);
    if (!parsed.ok) {
      warnings.push(`${key}=${shorten(raw)} in the link was ignored: ${parsed.message}.`);
      continue;
    }
    if (!FIELDS[key]) untyped.push(key);
    config[key] = parsed.value;
  }
  return { config, budget, workers, compare, versus, scene, hide, axes, warnings, untyped };
}

/**
 * Writes the state as a URL hash (without "#"): typed fields first in their order, then any
 * further field of the resolved config, then the page's budget and Web Workers.
 * @param {PageState} state
 */
export function encodeHash(state) {
  const keys = Object.keys(FIELDS).filter((k) => k in state.config);
  for (const k of Object.keys(state.config)) if (!keys.includes(k)) keys.push(k);
  const parts = [];
  if (state.scene) parts.push(`scene=${encodeURIComponent(state.scene)}`);
  for (const key of keys) {
    const value = state.config[key];
    if (value === null || value === undefined) continue;
    const text = typeof value === "object" ? JSON.stringify(value) : String(value);
    parts.push(`${encodeURIComponent(key)}=${encodeComponent(text)}`);
  }
  if (state.compare) parts.push("compare=1");
  if (state.compare && state.versus) parts.push(`vs=${encodeComponent(encodeVersus(state.versus))}`);
  if (state.axes) parts.push(`axes=${state.axes.join(",")}`);
  parts.push(`budget=${state.budget}`);
  if (state.workers !== null && state.workers !== undefined) parts.push(`workers=${state.workers}`);
  if (state.hide && state.hide.length > 0) parts.push(`hide=${state.hide.join(",")}`);
  return parts.join("&");
}

/** encodeURIComponent, leaving "," and ":" (legal in a fragment) readable in JSON values. */
function encodeComponent(text) {
  return encodeURIComponent(text).replace(/%(2C|3A)/g, (m, hex) => String.fromCharCode(parseInt(hex, 16)));
}

/** The select's value for a config's energy: a catalog name, "formula" or the custom mixture. */
export function energyChoice(energy) {
  if (typeof energy === "string") return energy;
  if (energy && typeof energy === "object" && energy.formula) return "formula";
  return CUSTOM_ENERGY;
}

/** Shortens long link values for messages. */
export function shorten(text, max = 60) {
  const s = String(text);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
