// @ts-check
// The state store: what defines a run and what the page shows, as one typed object, and its
// round trip through the URL hash (`#sampler=adjoint&energy=seed-gmm&seed=1&…&views=…`).
//
// The hash's keys are declared once: the run's settings come from the core's registry
// (www/registry.js: kind, range, enum values), the page's own keys from PAGE_KEYS below.
// Every value is checked here; a value that is unknown or invalid is reported by name and
// never silently swapped for another one. A custom mixture is its JSON, URI-encoded.

import { encodeVersus, parseVersus } from "./compare.js";

/**
 * @typedef {import("./registry.js").Registry} Registry
 * @typedef {import("./compare.js").Versus} Versus
 * @typedef {{ ok: boolean, value?: any, warning?: string, message?: string }} Parsed
 *   a checked value (`ok`), or why it was refused (`message`)
 */

/** The registry the settings are checked against (set once the core is loaded). */
/** @type {Registry | null} */
let registry = null;

/** Makes `next` the registry that link values are checked against. */
export function setRegistry(/** @type {Registry} */ next) {
  registry = next;
}

/** The registry in use; throws before `setRegistry`. */
export function currentRegistry() {
  if (!registry) throw new Error("the core's registry is not loaded yet");
  return registry;
}

/** How the page names a preset in its select, where the name alone would mislead. */
export const PRESET_NOTES = { paper: "paper (slow in a tab)" };

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

/**
 * Optional layers of the main view (`views=residuals,buffer-ls`): the GFlowNet paths coloured
 * by balance residual, the replay buffer D and the local-search buffer D_LS.
 */
export const VIEWS = ["residuals", "buffer-d", "buffer-ls"];
/** The layers shown when the link names none. */
export const DEFAULT_VIEWS = ["residuals", "buffer-ls"];

/** Per-frame training budget, milliseconds (page setting, not part of the run's config). */
export const BUDGET = { min: 1, max: 40, fallback: 8 };

/**
 * Web Workers sharing the training rollouts (page setting, `workers=N`; absent: one per extra
 * core, www/workers.js). 0 keeps every path on the page's thread.
 */
export const WORKERS = { max: 16 };

/**
 * The page's state beside the run: `scene` names the curated scene the run came from (null
 * once a setting changes), `hide` the regions hidden for classroom use, `axes` the shown 2-D
 * projection of a d > 2 target (null: the first pair), `views` the optional layers shown,
 * `workers` the Web Workers asked for (null: the default). The run's own state (`config`,
 * `compare`, `versus`, `budget`, `playing`) is the controller's (www/controller.js).
 * @typedef {{ config: Record<string, unknown>, budget: number, workers: number | null, playing: boolean,
 *             compare: boolean, versus: Versus | null, scene: string | null, hide: string[],
 *             axes: number[] | null, views: string[] }} PageState
 * @returns {PageState}
 */
export function createState() {
  return { config: {}, budget: BUDGET.fallback, workers: null, playing: false, compare: false, versus: null, scene: null, hide: [], axes: null, views: [...DEFAULT_VIEWS] };
}

/**
 * A link key of the page: `read` checks the raw text, `write` gives the text to put in the
 * link or null to leave the key out.
 * @typedef {{ key: keyof PageState | "vs", read: (raw: string, ctx: { sceneNames: string[] }) => Parsed,
 *             write: (state: PageState) => string | null }} PageKey
 */

/** @param {string} message @returns {Parsed} */
function fail(message) {
  return { ok: false, message };
}

/**
 * A comma-separated list of names from `known`, duplicates dropped; unknown names are left
 * out and named in `warning`.
 * @param {string} key @param {string} raw @param {string[]} known @param {string} what
 * @returns {Parsed}
 */
function readList(key, raw, known, what) {
  if (raw === "none") return { ok: true, value: [] };
  const names = raw.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !known.includes(n));
  const value = known.filter((n) => names.includes(n));
  if (unknown.length === 0) return { ok: true, value };
  const warning = `${key}=${shorten(unknown.join(","))} in the link names no ${what} (known: ${known.join(", ")}); it was ignored.`;
  return { ok: true, value, warning };
}

/**
 * The page's own link keys, in the hash's order after the run's settings (scene first).
 * @type {PageKey[]}
 */
export const PAGE_KEYS = [
  {
    key: "scene",
    read: (raw, { sceneNames }) => (sceneNames.includes(raw) ? { ok: true, value: raw } : fail(`unknown scene "${shorten(raw)}" (known: ${sceneNames.join(", ")})`)),
    write: (s) => (s.scene ? encodeURIComponent(s.scene) : null),
  },
  {
    key: "compare",
    read: (raw) => (raw === "1" || raw === "true" ? { ok: true, value: true } : raw === "0" || raw === "false" ? { ok: true, value: false } : fail("compare is 1 or 0")),
    write: (s) => (s.compare ? "1" : null),
  },
  {
    key: "vs",
    read: (raw) => {
      const parsed = parseVersus(raw, registry ? registry.samplerNames : []);
      return parsed;
    },
    write: (s) => (s.compare && s.versus ? encodeComponent(encodeVersus(s.versus)) : null),
  },
  {
    key: "axes",
    read: (raw) => {
      const parsed = parseAxes(raw);
      return parsed;
    },
    write: (s) => (s.axes ? s.axes.join(",") : null),
  },
  {
    key: "views",
    read: (raw) => readList("views", raw, VIEWS, "view"),
    write: (s) => {
      const same = s.views.length === DEFAULT_VIEWS.length && DEFAULT_VIEWS.every((v) => s.views.includes(v));
      return same ? null : s.views.length === 0 ? "none" : s.views.join(",");
    },
  },
  {
    key: "budget",
    read: (raw) => {
      const value = Number(raw);
      return raw !== "" && Number.isFinite(value) && value >= BUDGET.min && value <= BUDGET.max
        ? { ok: true, value }
        : fail(`the budget is a time between ${BUDGET.min} and ${BUDGET.max} ms`);
    },
    write: (s) => String(s.budget),
  },
  {
    key: "workers",
    read: (raw) =>
      /^\d+$/.test(raw) && Number(raw) <= WORKERS.max ? { ok: true, value: Number(raw) } : fail(`workers is a whole number of Web Workers from 0 to ${WORKERS.max}`),
    write: (s) => (s.workers !== null && s.workers !== undefined ? String(s.workers) : null),
  },
  {
    key: "hide",
    read: (raw) => readList("hide", raw, HIDEABLE, "part of the page"),
    write: (s) => (s.hide && s.hide.length > 0 ? s.hide.join(",") : null),
  },
];

/**
 * Reads `axes=i,j` (the 2-D projection of a d > 2 target): two whole numbers; which pairs a
 * target allows is the core's to say.
 * @param {string} raw
 * @returns {Parsed}
 */
export function parseAxes(raw) {
  const parts = String(raw).split(",").map((p) => p.trim());
  if (parts.length !== 2 || !parts.every((p) => /^\d+$/.test(p))) {
    return fail(`axes must be two coordinate numbers such as 2,3, got "${raw}"`);
  }
  return { ok: true, value: parts.map(Number) };
}

/**
 * Checks one value typed by the user or read from a link, by the core's declaration of the
 * setting.
 * @param {string} key
 * @param {string} raw
 * @returns {Parsed}
 */
export function parseSetting(key, raw) {
  const spec = currentRegistry().setting(key);
  const text = String(raw).trim();
  if (!spec) return fail(`unknown setting "${key}"`);
  const { min, max, step, positive } = spec;
  switch (spec.kind) {
    case "int": {
      if (!/^[+-]?\d+$/.test(text)) return fail(`${key} must be a whole number, got "${raw}"`);
      const value = Number(text);
      if (!Number.isSafeInteger(value)) return fail(`${key} is too large: "${raw}"`);
      if (min !== undefined && min !== null && value < min) return fail(`${key} must be at least ${min}, got ${value}`);
      if (max !== undefined && max !== null && value > max) return fail(`${key} must be at most ${max}, got ${value}`);
      if (step && step > 1 && value % step !== 0) return fail(step === 2 ? `${key} must be an even number, got ${value}` : `${key} must be a multiple of ${step}, got ${value}`);
      return { ok: true, value };
    }
    case "number": {
      const value = text === "" ? NaN : Number(text);
      if (!Number.isFinite(value)) return fail(`${key} must be a number, got "${raw}"`);
      if (positive && !(value > (min ?? 0))) return fail(min ? `${key} must be more than ${min}, got ${value}` : `${key} must be positive, got ${value}`);
      if (min !== undefined && min !== null && value < min) return fail(min === 0 ? `${key} must be 0 or positive, got ${value}` : `${key} must be at least ${min}, got ${value}`);
      if (max !== undefined && max !== null && value > max) return fail(`${key} must be at most ${max}, got ${value}`);
      return { ok: true, value };
    }
    case "bool": {
      if (text === "true" || text === "1") return { ok: true, value: true };
      if (text === "false" || text === "0") return { ok: true, value: false };
      return fail(`${key} must be true or false, got "${raw}"`);
    }
    case "enum": {
      const values = spec.values ?? [];
      if (values.includes(text)) return { ok: true, value: text };
      return fail(`unknown ${key} "${raw}" (known: ${values.join(", ")})`);
    }
    case "energy":
      return parseEnergy(text);
    case "text":
      // Checked by the core, which names what is wrong ("source: …").
      if (text === "") return fail(`${key} must not be empty`);
      return { ok: true, value: text };
    default:
      return fail(`${key}: unsupported setting`);
  }
}

/**
 * A target is a catalog name, a sized catalog name ("manywell:4", within the sizes the
 * catalog gives) or a JSON object such as `{"gmm": {...}}`.
 * @param {string} text
 * @returns {Parsed}
 */
export function parseEnergy(text) {
  if (text.startsWith("{")) {
    try {
      const value = JSON.parse(text);
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return fail('the custom target must be a JSON object such as {"gmm": {…}}');
      }
      return { ok: true, value };
    } catch (err) {
      return fail(`the custom target is not valid JSON: ${err instanceof Error ? err.message : err}`);
    }
  }
  const problem = currentRegistry().targetProblem(text);
  return problem === null ? { ok: true, value: text } : fail(problem);
}

/**
 * What a link holds: the run's settings and the page keys it names (absent keys are null).
 * @typedef {{ config: Record<string, unknown>, budget: number | null, workers: number | null,
 *             compare: boolean | null, versus: Versus | null, scene: string | null,
 *             hide: string[] | null, axes: number[] | null, views: string[] | null,
 *             warnings: string[] }} Link
 */

/**
 * Reads a URL hash.
 * @param {string} hash `location.hash`, with or without the leading "#"
 * @param {string[]} [sceneNames] names of the curated scenes
 * @returns {Link}
 */
export function decodeHash(hash, sceneNames = []) {
  /** @type {Link} */
  const link = { config: {}, budget: null, workers: null, compare: null, versus: null, scene: null, hide: null, axes: null, views: null, warnings: [] };
  const reg = currentRegistry();
  const body = hash.replace(/^#/, "");
  /** Unknown keys, reported together in one warning (a long link must not make a long banner). */
  const unknownKeys = new Set();
  for (const part of body.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    let key;
    let raw;
    try {
      key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      raw = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, "%20"));
    } catch {
      link.warnings.push(`Could not read "${shorten(part)}" in the link (bad %-encoding); it was ignored.`);
      continue;
    }
    const page = PAGE_KEYS.find((k) => k.key === key);
    if (page) {
      const parsed = page.read(raw, { sceneNames });
      if (parsed.ok) /** @type {any} */ (link)[key === "vs" ? "versus" : key] = parsed.value;
      if (parsed.ok && parsed.warning) link.warnings.push(parsed.warning);
      else if (!parsed.ok) link.warnings.push(`${key}=${shorten(raw)} in the link was ignored: ${parsed.message}.`);
      continue;
    }
    const renamed = reg.renamed.get(key);
    if (renamed) key = renamed;
    if (!reg.setting(key)) {
      unknownKeys.add(shorten(key, 30));
      continue;
    }
    if (eq < 0 || raw === "") {
      link.warnings.push(`"${key}" in the link has no value; it was ignored.`);
      continue;
    }
    const parsed = parseSetting(key, raw);
    if (!parsed.ok) {
      link.warnings.push(`${key}=${shorten(raw)} in the link was ignored: ${parsed.message}.`);
      continue;
    }
    link.config[key] = parsed.value;
  }
  if (unknownKeys.size > 0) {
    const names = [...unknownKeys];
    const shown = names.slice(0, UNKNOWN_SHOWN).map((n) => `"${n}"`).join(", ");
    const more = names.length > UNKNOWN_SHOWN ? ` and ${names.length - UNKNOWN_SHOWN} more` : "";
    link.warnings.push(`Unknown setting${names.length > 1 ? "s" : ""} ${shown}${more} in the link ${names.length > 1 ? "were" : "was"} ignored.`);
  }
  // Repeated values (say, the same bad key twice) are told once.
  link.warnings = [...new Set(link.warnings)];
  return link;
}

/** Unknown keys named in the link's warning; the rest are counted. */
const UNKNOWN_SHOWN = 5;

/**
 * Writes the state as a URL hash (without "#"): the scene, the run's settings in the core's
 * order (then any other key of the resolved config), then the page's keys.
 * @param {Partial<PageState> & { config: Record<string, unknown> }} state
 */
export function encodeHash(state) {
  const full = { ...createState(), ...state };
  const order = registry ? registry.settings.map((s) => s.key) : [];
  const keys = order.filter((k) => k in full.config);
  for (const k of Object.keys(full.config)) if (!keys.includes(k)) keys.push(k);
  const parts = [];
  const scene = PAGE_KEYS[0].write(full);
  if (scene !== null) parts.push(`scene=${scene}`);
  for (const key of keys) {
    const value = full.config[key];
    if (value === null || value === undefined) continue;
    const text = typeof value === "object" ? JSON.stringify(value) : String(value);
    parts.push(`${encodeURIComponent(key)}=${encodeComponent(text)}`);
  }
  for (const k of PAGE_KEYS.slice(1)) {
    const text = k.write(full);
    if (text !== null) parts.push(`${k.key}=${text}`);
  }
  return parts.join("&");
}

/** encodeURIComponent, leaving "," and ":" (legal in a fragment) readable in JSON values. */
function encodeComponent(/** @type {string} */ text) {
  return encodeURIComponent(text).replace(/%(2C|3A)/g, (m, hex) => String.fromCharCode(parseInt(hex, 16)));
}

/** The select's value for a config's energy: a catalog name, "formula" or the custom mixture. */
export function energyChoice(/** @type {unknown} */ energy) {
  if (typeof energy === "string") return energy;
  if (energy && typeof energy === "object" && "formula" in energy) return "formula";
  return CUSTOM_ENERGY;
}

/** A value as the user would type it, for messages. */
export function displayValue(/** @type {unknown} */ value) {
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** Shortens long link values for messages. */
export function shorten(/** @type {unknown} */ text, max = 60) {
  const s = String(text);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
