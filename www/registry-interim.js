// @ts-check
// Until the core tells a run's projections (`Playground.projections()`), the pairs a d > 2
// target can show are known here. Removed once the core has them.

/**
 * The pairs a d > 2 target can show, for a core without `Playground.projections()`:
 * Manywell's (x2k, x2k+1), the funnel's (x0, xi), else the first pair.
 * @param {unknown} energy @param {number} dim
 */
export function interimProjections(energy, dim) {
  const name = typeof energy === "string" ? energy.split(":")[0] : "";
  const pairs = [];
  if (name === "manywell") for (let k = 0; 2 * k + 1 < dim; k++) pairs.push([2 * k, 2 * k + 1]);
  else if (name === "funnel") for (let i = 1; i < dim; i++) pairs.push([0, i]);
  else pairs.push([0, 1]);
  return pairs;
}
