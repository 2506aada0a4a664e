// @ts-check
// Until the core lists its settings and what each sampler reads (samplers() with settings,
// keeps_progress and explanation; settings()), this fills them in for the older core.
// Removed once the core has them.

const COMMON = ["weighted_replay", "temperature", "whiten", "paths", "steps", "batch", "lr", "hidden", "layers", "inner_steps", "activation"];
const GFN = ["t_scale", "learned_variance", "explore", "iters", "local_search", "langevin", "buffer_capacity", "ls_every"];
const READS = {
  adjoint: [...COMMON, "buffer_capacity", "clip", "source", "sigma", "sigma_min", "sigma_max"],
  asbs: [...COMMON, "buffer_capacity", "clip", "source", "sigma", "sigma_min", "sigma_max", "stages", "adjoint_iters", "corrector_iters", "paths_per_source"],
  ddpm: [...COMMON, "sigma_q"],
  tb: [...COMMON, ...GFN, "lr_log_z"],
  vargrad: [...COMMON, ...GFN],
  db: [...COMMON, ...GFN],
  subtb: [...COMMON, ...GFN],
  "fl-subtb": [...COMMON, ...GFN],
  pis: [...COMMON, "t_scale", "learned_variance"],
  mala: [...COMMON, "sigma_max"],
};
const LABELS = {
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
const KEEPS = ["lr", "lr_log_z", "inner_steps", "batch", "clip", "explore", "ls_every", "iters"];

/** @param {string} key @param {string} kind @param {Record<string, unknown>} [extra] */
const s = (key, kind, extra = {}) => ({ key, kind, label: key, help: "", ...extra });

export function interimSettings() {
  return [
    s("sampler", "enum", { values: Object.keys(READS) }),
    s("energy", "energy"),
    s("seed", "int", { min: 0 }),
    s("preset", "enum", { values: ["browser", "seed", "paper"] }),
    s("temperature", "number", { min: 0 }),
    s("whiten", "bool"),
    s("paths", "int", { min: 1 }),
    s("steps", "int", { min: 1 }),
    s("inner_steps", "int", { min: 1 }),
    s("batch", "int", { min: 1 }),
    s("buffer_capacity", "int", { min: 1 }),
    s("lr", "number", { min: 0 }),
    s("hidden", "int", { min: 1 }),
    s("layers", "int", { min: 1 }),
    s("activation", "enum", { values: ["gelu", "gelu-fast", "silu", "relu"] }),
    s("clip", "number", { min: 0 }),
    s("sigma_min", "number", { min: 0 }),
    s("sigma_max", "number", { min: 0 }),
    s("source", "text"),
    s("sigma", "text"),
    s("stages", "int", { min: 1 }),
    s("adjoint_iters", "int", { min: 1 }),
    s("corrector_iters", "int", { min: 1 }),
    s("paths_per_source", "int", { min: 1 }),
    s("sigma_q", "number", { min: 0 }),
    s("iters", "int", { min: 1 }),
    s("t_scale", "number", { min: 0 }),
    s("explore", "number", { min: 0 }),
    s("langevin", "bool"),
    s("local_search", "bool"),
    s("learned_variance", "bool"),
    s("lr_log_z", "number", { min: 0 }),
    s("weighted_replay", "bool"),
    s("ls_every", "int", { min: 2 }),
  ];
}

/** @param {{ name: string, description: string, dims: number[] | null }[]} list */
export function interimSamplers(list) {
  return list.map((e) => ({
    ...e,
    label: LABELS[e.name] ?? e.description.split(" (")[0],
    explanation: e.description,
    family: ["tb", "vargrad", "db", "subtb", "fl-subtb", "pis"].includes(e.name) ? "gflownet" : e.name,
    settings: READS[e.name] ?? COMMON,
    keeps_progress: KEEPS.filter((k) => (READS[e.name] ?? COMMON).includes(k)),
    capabilities: { source: ["adjoint", "asbs"].includes(e.name), stages: e.name === "asbs", shared_rollout: true, path_weights: e.name !== "ddpm" },
  }));
}

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
