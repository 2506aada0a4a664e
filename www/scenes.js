// @ts-check
// Curated scenes: a name in a link (`#scene=NAME`, or `scene="NAME"` on the custom element)
// stands for a configuration, a page-level flag or two and a caption that says what to watch.
// Settings given beside the scene override its own.

/**
 * `versus`: the compared run's sampler and changed settings (www/compare.js), when it is not
 * Adjoint Sampling on the same settings.
 * @typedef {{ name: string, title: string, caption: string,
 *             config: Record<string, unknown>, compare?: boolean,
 *             versus?: { sampler: string, settings: Record<string, unknown> } }} Scene
 * @type {Scene[]}
 */
export const SCENES = [
  {
    name: "as-bias",
    title: "Adjoint Sampling's bias from a spread-out source, removed by ASBS",
    caption:
      "Both samplers start their paths from a normal source N(0, 1) instead of a point. Adjoint Sampling (purple outline) regresses its control as if the source were the base process's own marginal, so its samples stay smeared toward the source and the modes' masses come out wrong. ASBS (orange bars) learns a corrector h that accounts for the source: stage by stage its histogram settles onto the true density (solid line) while Adjoint Sampling's does not.",
    config: { sampler: "asbs", preset: "browser", energy: "gmm1d-demo", seed: 1 },
    compare: true,
  },
  {
    name: "ddpm-far",
    title: "DDPM learning far-apart modes",
    caption:
      "DDPM learns from samples of the target, not its energy: it adds noise forward and learns to undo it step by step. Here the two modes lie far apart, so the reverse chain has to split its mass early, at large t, where the noised modes still overlap. Watch the learned histogram: the split settles in the right proportion only once the denoiser is learned at the large times.",
    config: { sampler: "ddpm", preset: "browser", energy: "gmm1d-far", seed: 1 },
  },
  {
    name: "few-steps",
    title: "Too few time steps",
    caption:
      "DDPM's reverse chain takes Gaussian steps around the learned mean E[x(t − Δt) | x(t)], which is right only when the steps are small. Here the chain has 4 steps instead of 100: each adds noise of variance σ_q²/4, and the narrow mode at x = 2 comes out blurred however long the network trains. The oracle sampler (green outline) uses the exact denoiser with the same 4 steps and is blurred the same way: the fault is the step count, not the learning. Compare with the scene on far-apart modes, which runs 100 steps.",
    config: { sampler: "ddpm", preset: "browser", energy: "gmm1d-demo", steps: 4, seed: 1 },
  },
  {
    name: "mode-collapse",
    title: "Mode collapse without whitening",
    caption:
      "Adjoint Sampling on the seed's two-mode target, without whitening: the paths start at the origin in the target's own coordinates and the base process's noise is narrow compared with the distance between the modes. Paths that never reach the far mode produce no signal pulling toward it, so the samples collapse onto the nearer mode; the mode-mass bars show one mode starved.",
    config: { sampler: "adjoint", preset: "browser", energy: "seed-gmm", whiten: false, seed: 1 },
  },
  {
    name: "gfn-exploration",
    title: "Mode collapse without exploration (TB on 25 modes)",
    caption:
      "Two diffusion samplers trained as GFlowNets with the trajectory balance loss on a grid of 25 equal Gaussian modes, same seed and settings. Trained on its own trajectories only (orange), the policy reinforces what it already finds: mass piles onto the central modes and the outer ring stays thin. The second run (purple) adds exploration, noise of variance ε = 0.2 added to the forward policy's steps while collecting trajectories, decaying to zero over the first half of training; off-policy losses such as TB can learn from such trajectories, and the outer modes get their share. Measured natively after 1,500 iterations: mode coverage 0.40–0.44 without and 0.52–0.60 with exploration over seeds 1–3. Watch where the two sets of samples sit and, on the full page, the mass-per-mode bars and the Comparison card.",
    // Pinned to the settings the caption was measured with (the browser preset's before its
    // tuning for mode discovery: T 20, lr 1e-3, σ² 5, fixed variance).
    config: { sampler: "tb", preset: "browser", energy: "gmm25", iters: 1500, explore: 0, seed: 1, steps: 20, lr: 0.001, t_scale: 5, learned_variance: false },
    compare: true,
    versus: { sampler: "tb", settings: { explore: 0.2 } },
  },
  {
    name: "gfn-local-search",
    title: "Local search finding the Manywell modes",
    caption:
      "TB with the Langevin parametrization on a 4-dimensional Manywell (two independent 2-D double-well pairs, four modes; the plot shows the first pair, whose lighter well holds 16 % of the mass). With local search (orange), every 100 iterations Metropolis-adjusted Langevin chains start from the best terminal states found so far, and their accepted moves fill a second replay buffer from which backward trajectories are trained on every other iteration; the chains cross into wells the policy rarely visits. Without it (purple) the lighter well stays empty. Measured natively after 3,000 iterations (seeds 1 and 2): the lighter well's mass 0.057 and 0.059 with local search, 0.000 without, and log Ẑ^RW 20.61 against the true 20.59 (20.26–20.27 without).",
    // Pinned as above; a search every 100 iterations (ls_every) into buffers of 20,000.
    config: { sampler: "tb", preset: "browser", energy: "manywell:4", iters: 3000, langevin: true, local_search: true, seed: 1, steps: 20, lr: 0.001, learned_variance: false, ls_every: 100, buffer_capacity: 20000 },
    compare: true,
    versus: { sampler: "tb", settings: { local_search: false } },
  },
];

/** @returns {Scene | undefined} */
export function findScene(name) {
  return SCENES.find((s) => s.name === name);
}
