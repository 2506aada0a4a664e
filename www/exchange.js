// @ts-check
// Export and import of a run: the configuration with the trained network's state as JSON (a
// file that restores the run where it was), the metric history as CSV. Plain functions of
// plain data, unit-tested in tests/e2e/unit.test.mjs.

import { BUDGET } from "./state.js";

export const EXPORT_FORMAT = "boltzmann-playground";
/** Version 2 adds `run`, the saved state; version 1 files (configuration only) still import. */
export const EXPORT_VERSION = 2;
const READABLE_VERSIONS = [1, 2];

/**
 * The JSON document of a run: every setting of the resolved configuration, the page's own
 * flags and, when given, `run`: the core's saved state (`Playground.save_state()`: network
 * weights, optimizer moments, replay buffers, generator states, history) at `iteration`.
 * @param {{ config: Record<string, unknown>, compare: boolean, budget: number,
 *           versus?: { sampler: string, settings: Record<string, unknown> } | null }} state
 * @param {{ iteration: number, state: Record<string, unknown>,
 *           compare?: { iteration: number, state: Record<string, unknown> } | null } | null} [saved]
 *   the main run's saved state and, with a comparison, the compared run's
 */
export function configToExport(state, saved = null) {
  const doc = { format: EXPORT_FORMAT, version: EXPORT_VERSION, config: state.config, compare: state.compare, budget: state.budget };
  if (state.versus) doc.versus = state.versus;
  if (saved) {
    doc.run = { iteration: saved.iteration, state: saved.state };
    // The compared run's own state: without it an import would set a fresh run beside a
    // trained one and the comparison would be skewed.
    if (saved.compare) doc.run.compare = { iteration: saved.compare.iteration, state: saved.compare.state };
  }
  return doc;
}

/**
 * Checks an imported document's shape; the configuration's values are the core's to judge.
 * @returns {{ ok: boolean, message?: string, config?: Record<string, unknown>, compare?: boolean, budget?: number | null,
 *            versus?: { sampler: string, settings: Record<string, unknown> } | null,
 *            run?: { iteration: number, state: Record<string, unknown>,
 *                   compare: { iteration: number, state: Record<string, unknown> } | null } | null }}
 *   the document's parts (`ok`), or what is wrong with it (`message`)
 */
export function configFromExport(doc) {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return { ok: false, message: "the file holds no JSON object" };
  if (doc.format !== EXPORT_FORMAT) return { ok: false, message: `"format" must be "${EXPORT_FORMAT}", got ${JSON.stringify(doc.format)}` };
  if (!READABLE_VERSIONS.includes(doc.version)) {
    return { ok: false, message: `unsupported version ${JSON.stringify(doc.version)} (this page reads ${READABLE_VERSIONS.join(" and ")})` };
  }
  const config = doc.config;
  if (config === null || typeof config !== "object" || Array.isArray(config)) return { ok: false, message: '"config" must be an object of settings' };
  if (doc.compare !== undefined && typeof doc.compare !== "boolean") return { ok: false, message: `"compare" must be true or false, got ${JSON.stringify(doc.compare)}` };
  let budget = null;
  if (doc.budget !== undefined) {
    if (typeof doc.budget !== "number" || !(doc.budget >= BUDGET.min && doc.budget <= BUDGET.max)) {
      return { ok: false, message: `"budget" must be a number of ms between ${BUDGET.min} and ${BUDGET.max}, got ${JSON.stringify(doc.budget)}` };
    }
    budget = doc.budget;
  }
  let versus = null;
  if (doc.versus !== undefined) {
    const v = doc.versus;
    const ok = v !== null && typeof v === "object" && typeof v.sampler === "string" && v.settings !== null && typeof v.settings === "object" && !Array.isArray(v.settings);
    if (!ok) return { ok: false, message: '"versus" must be {sampler, settings}, the compared run' };
    versus = { sampler: v.sampler, settings: v.settings };
  }
  let run = null;
  if (doc.run !== undefined) {
    const r = doc.run;
    if (r === null || typeof r !== "object" || Array.isArray(r)) return { ok: false, message: '"run" must be an object {iteration, state}' };
    if (!Number.isSafeInteger(r.iteration) || r.iteration < 0) return { ok: false, message: `"run.iteration" must be a whole number, got ${JSON.stringify(r.iteration)}` };
    if (r.state === null || typeof r.state !== "object" || Array.isArray(r.state)) return { ok: false, message: '"run.state" must be the object the page saved' };
    run = { iteration: r.iteration, state: r.state, compare: null };
    if (r.compare !== undefined) {
      const c = r.compare;
      if (c === null || typeof c !== "object" || Array.isArray(c)) return { ok: false, message: '"run.compare" must be an object {iteration, state}, the compared run\'s' };
      if (!Number.isSafeInteger(c.iteration) || c.iteration < 0) return { ok: false, message: `"run.compare.iteration" must be a whole number, got ${JSON.stringify(c.iteration)}` };
      if (c.state === null || typeof c.state !== "object" || Array.isArray(c.state)) return { ok: false, message: '"run.compare.state" must be the object the page saved' };
      run.compare = { iteration: c.iteration, state: c.state };
    }
  }
  return { ok: true, config, compare: doc.compare === true, versus, budget, run };
}

/**
 * The metric history as CSV: a header of the series' names, one row per iteration; values
 * that do not exist (NaN, null) are empty cells.
 * @param {Record<string, ArrayLike<number | null>>} history
 */
export function historyCsv(history) {
  const keys = Object.keys(history);
  const rows = [keys.join(",")];
  const n = keys.length > 0 ? history[keys[0]].length : 0;
  for (let i = 0; i < n; i++) {
    rows.push(
      keys
        .map((k) => {
          const v = history[k][i];
          return typeof v === "number" && Number.isFinite(v) ? String(v) : "";
        })
        .join(","),
    );
  }
  return `${rows.join("\n")}\n`;
}
