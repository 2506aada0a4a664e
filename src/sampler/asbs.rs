//! The Adjoint Schrödinger Bridge Sampler (Liu et al. 2025; docs/methods.md §3), and Adjoint
//! Sampling started from a non-Dirac source (the biased baseline it corrects).
//!
//! Same controlled SDE as Adjoint Sampling, dX = σ_t u_θ(t, X) dt + σ_t dW, but X_0 ~ μ.
//! The terminal cost's base-density term is a corrector h ≈ ∇log φ̂_1:
//! - adjoint-matching (AM) iterations store (X_0, X_1, a) with a = clip(∇E(X_1), c) + h(X_1)
//!   and regress u_θ(t, X_t) onto −σ_t a at bridge points X_t | X_0, X_1;
//! - corrector-matching (CM) iterations store (X_0, X_1) and regress h(X_1) onto
//!   (X_0 − X_1)/κ, κ = ν_1 (for the geometric schedule ν_1; for constant σ, σ² = ν_1 too),
//!   without energy evaluations.
//!
//! h⁽⁰⁾ ≡ 0 (zero-initialized output layer), then K stages of M_adj AM iterations and M_crt
//! CM iterations; after the K stages training continues with AM iterations. Each stage
//! starts with an empty replay buffer of its own kind: rows stored under another corrector
//! (AM) or another control (CM) are samples of a superseded problem.
//!
//! With a point source the CM regression target (0 − X_1)/ν_1 is a function of X_1, so the
//! corrector is exact from the start, h = −X_1/ν_1 = ∇log p₀¹, there are no CM stages and
//! the sampler is Adjoint Sampling, random number for random number. The same fixed h =
//! ∇log p₀¹ with a Gaussian source is "Adjoint Sampling with that source" (the sampler
//! `adjoint` with `--source normal:…`): its terminal cost ignores that paths from different
//! X_0 cannot all reach the target, and its samples are biased (docs/methods.md §3).
//!
//! Weighted replay (`weighted_replay`, not in the papers; on in the `browser` preset of
//! Adjoint Sampling): buffer rows are drawn in proportion to their paths' importance
//! weights w instead of uniformly, which makes the regression's minimizer the optimal
//! control of the current problem at every iteration rather than a correction of the
//! current sampler (docs/methods.md §2). For ASBS it also switches on the following, each
//! explained in docs/methods.md §3 ("This project's additions"):
//! - rows weighted for the stage's own problem, terminal cost g = E + log φ̂₁:
//!   w = e^{−g(X_1)}·dP₀/dP_θ, with log φ̂₁ up to a constant given by ψ(x) =
//!   ∫₀¹ h(r + s(x − r))·(x − r) ds (Gauss–Legendre) from r = the mean X_1 the corrector
//!   was last fitted on; the metrics keep the Z-unbiased weight (`path_log_weight`);
//! - the adjoint's corrector term is ∇ψ, the exact gradient of that quadrature sum (h's
//!   input VJP), not h, so the adjoint belongs to the very terminal cost the weights use;
//! - Polyak averages of the control and the corrector over the second half of each stage:
//!   the corrector's mean becomes h for the next AM stage; the control's mean draws the
//!   evaluation samples (`draw`), runs the CM stage's rollouts (CM reads the coupling of the
//!   AM stage's result, not of its last iterate) and is where the next AM stage starts; AM
//!   rollouts use the current control;
//! - the corrector is h(x) = A x + b + net(x): the affine part is the exact least-squares
//!   fit to the current CM stage's rows (`AffineFit`, re-solved after every CM rollout) and
//!   the network is fitted to what it leaves;
//! - `paths_per_source` m > 1 starts m paths from each source draw and divides each path's
//!   weight by its group's mean, so that replayed rows follow the stage's optimal process
//!   with X_0 ~ μ.
//!
//! Adjoint Sampling keeps its fixed corrector and its path weights; for it weighted replay
//! changes only how rows are drawn. The measurements behind each of these choices are in
//! docs/notes/asbs-weighted-replay.md.
//!
//! The network outputs u itself, as the paper and the original do: regressing v = u/σ_t
//! made the early-time control, which decides the mode masses, too noisy
//! (docs/methods.md §2).

use super::affine_fit::AffineFit;
use super::clipper::clip_norm;
use super::line_integral::GaussLegendre;
use super::registry::{self, Capabilities, Family, Flat, FromFlat, SamplerInfo};
use super::replay_buffer::{ReplayBuffer, WeightedIndex};
use super::rollout::{PathBatch, DRAW_CHUNK, MAX_FEATURES, TRAJECTORIES};
use super::source::Source;
use super::{Observation, Phase, Rollout, Sampler, Stage, StageInfo, Trajectories, Work};
use crate::energy::Energy;
use crate::nn::{Activation, Adam, FourierFeatures, Mlp, Workspace};
use crate::rng::Rng;
use crate::sde::{BridgeSample, NoiseSchedule, TimeGrid};
use crate::state::StateMap;
use ndarray::Array2;
use std::sync::Arc;

/// The settings both samplers of this module read (docs/methods.md §2–§3), taken by name
/// from the flat configuration.
#[derive(Clone, Debug)]
pub struct AsbsSettings {
    pub seed: u64,
    /// N: paths simulated per outer iteration.
    pub paths: usize,
    /// S: Euler–Maruyama steps from t = 0 to t = 1.
    pub steps: usize,
    /// L: gradient steps per outer iteration.
    pub inner_steps: usize,
    /// B: rows of a gradient step's minibatch.
    pub batch: usize,
    /// Rows the replay buffer keeps.
    pub buffer_capacity: usize,
    pub weighted_replay: bool,
    pub paths_per_source: usize,
    pub lr: f64,
    pub hidden: usize,
    pub layers: usize,
    pub activation: Activation,
    /// c in the per-sample adjoint clip.
    pub clip: f64,
    pub sigma_min: f64,
    pub sigma_max: f64,
    /// "geometric" or "constant:S".
    pub sigma: String,
    /// "point", "seed" or "normal:MEAN,STD".
    pub source: String,
    pub stages: usize,
    pub adjoint_iters: usize,
    pub corrector_iters: usize,
}

impl FromFlat for AsbsSettings {
    fn from_flat(flat: &Flat) -> Result<Self, String> {
        Ok(AsbsSettings {
            seed: flat.u64("seed")?,
            paths: flat.usize("paths")?,
            steps: flat.usize("steps")?,
            inner_steps: flat.usize("inner_steps")?,
            batch: flat.usize("batch")?,
            buffer_capacity: flat.usize("buffer_capacity")?,
            weighted_replay: flat.bool("weighted_replay")?,
            paths_per_source: flat.usize("paths_per_source")?,
            lr: flat.f64("lr")?,
            hidden: flat.usize("hidden")?,
            layers: flat.usize("layers")?,
            activation: flat.activation("activation")?,
            clip: flat.f64("clip")?,
            sigma_min: flat.f64("sigma_min")?,
            sigma_max: flat.f64("sigma_max")?,
            sigma: flat.string("sigma")?,
            source: flat.string("source")?,
            stages: flat.usize("stages")?,
            adjoint_iters: flat.usize("adjoint_iters")?,
            corrector_iters: flat.usize("corrector_iters")?,
        })
    }
}

/// Adjoint Sampling (`learned_corrector` false) or ASBS from the flat configuration.
pub fn build(
    flat: &serde_json::Value,
    energy: Arc<dyn Energy>,
    learned_corrector: bool,
) -> Result<Box<dyn Sampler>, String> {
    let settings = registry::settings(flat)?;
    Ok(Box::new(AsbsSampler::new(
        &settings,
        energy,
        learned_corrector,
    )?))
}

impl AsbsSettings {
    /// The base process the settings name.
    pub fn schedule(&self) -> Result<NoiseSchedule, String> {
        NoiseSchedule::parse(&self.sigma, self.sigma_min, self.sigma_max)
    }
}

/// The keys Adjoint Sampling reads; ASBS adds its stages and `paths_per_source`.
const ADJOINT_SETTINGS: &[&str] = &[
    "seed",
    "energy",
    "temperature",
    "whiten",
    "paths",
    "steps",
    "inner_steps",
    "batch",
    "buffer_capacity",
    "weighted_replay",
    "lr",
    "hidden",
    "layers",
    "activation",
    "clip",
    "sigma_min",
    "sigma_max",
    "sigma",
    "source",
];

pub const ADJOINT: SamplerInfo = SamplerInfo {
    name: "adjoint",
    label: "Adjoint Sampling",
    description: "Adjoint Sampling (Havens et al. 2025)",
    explanation: "Each iteration simulates paths of dX = σ_t u(t, X) dt + σ_t dW from the source (a point by default: the origin of the sampler's coordinates, with Whiten the target's mean) at t = 0 to t = 1, then regresses the control onto −σ_t·a with the endpoint's adjoint a = ∇E(X₁)/τ − X₁/ν₁ (Adjoint Sampling). Once trained, the endpoints are samples of the target drawn underneath.",
    family: Family::Adjoint,
    dims: None,
    settings: ADJOINT_SETTINGS,
    keeps_progress: &["lr", "inner_steps", "batch", "clip"],
    labels: &[],
    capabilities: Capabilities {
        source: true,
        stages: false,
        shared_rollout: true,
        path_weights: true,
    },
};

pub const ASBS: SamplerInfo = SamplerInfo {
    name: "asbs",
    label: "ASBS (Schrödinger bridge)",
    description: "Adjoint Schrödinger Bridge Sampler (Liu et al. 2025), any source",
    explanation: "ASBS starts its paths from a source μ (drawn beside the target) and alternates K stages: adjoint matching trains the control with a = ∇E(X₁)/τ + h(X₁), corrector matching regresses the corrector h(X₁) onto (X₀ − X₁)/κ. h starts at zero; without it (Adjoint Sampling with the same source: tick Compare) the endpoints are biased.",
    family: Family::Adjoint,
    dims: None,
    settings: &[
        "seed", "energy", "temperature", "whiten", "paths", "steps", "inner_steps", "batch",
        "buffer_capacity", "weighted_replay", "lr", "hidden", "layers", "activation", "clip",
        "sigma_min", "sigma_max", "sigma", "source", "stages", "adjoint_iters",
        "corrector_iters", "paths_per_source",
    ],
    keeps_progress: &["lr", "inner_steps", "batch", "clip"],
    labels: &[],
    capabilities: Capabilities {
        source: true,
        stages: true,
        shared_rollout: true,
        path_weights: true,
    },
};

/// The learned corrector h(x) ≈ ∇log φ̂_1(x) with its optimizer and replay buffer.
#[derive(Clone)]
struct LearnedCorrector {
    net: Mlp,
    adam: Adam,
    /// Rows (X_0, X_1).
    buffer: ReplayBuffer,
    ws: Workspace,
    grad: Vec<f32>,
    inputs: Array2<f32>,
    targets: Array2<f32>,
    grad_out: Array2<f32>,
    /// ψ = log φ̂₁ − const is the line integral of h from this point (the mean X_1 of the
    /// rows h was last fitted to, where h is trustworthy), fixed during an AM stage.
    reference: Vec<f32>,
    quadrature: GaussLegendre,
    /// Scratch: the quadrature points of a batch of line integrals, h there, the
    /// cotangents at them and h's input VJPs there (for ∇ψ).
    line_points: Vec<f32>,
    line_values: Array2<f32>,
    line_cotangents: Array2<f32>,
    line_vjps: Array2<f32>,
    /// The mean of h's parameters over the second half of the current CM stage, which
    /// becomes h for the next AM stage (module doc).
    averaged: Mlp,
    averaged_count: usize,
    /// With weighted replay, h = A x + b + net(x): the affine part is the exact least-squares
    /// fit to the current CM stage's targets, and the network learns the rest (module doc).
    affine: Option<AffineFit>,
}

/// Gauss–Legendre nodes of the line integral ψ(X_1): h is a smooth network; 8 nodes get
/// the log-density of a 2-D mixture with unit-scale modes to 1e-3 (line_integral.rs).
const POTENTIAL_NODES: usize = 8;

impl LearnedCorrector {
    /// h at the rows of `x` (n × d), into `out`.
    fn eval_into(&mut self, x: &[f32], d: usize, out: &mut [f32]) {
        corrector_at(&self.net, self.affine.as_ref(), &mut self.ws, x, d, out);
    }

    /// ψ(x) = ∫₀¹ h(r + s(x − r))·(x − r) ds = log φ̂₁(x) − log φ̂₁(r) for the rows of `x`
    /// (n × d) into `out` (n), r = `self.reference`; exact when h = ∇log φ̂₁, which is
    /// what corrector matching regresses onto (a conditional mean of gradients of
    /// log p(X_1 | X_0) under a coupling of product form, docs/methods.md §3). h at the
    /// quadrature points stays in `line_values`, and the forward pass in the workspace.
    fn potential_into(&mut self, x: &[f32], d: usize, out: &mut [f64]) {
        let q = self.quadrature.nodes.len();
        let n = x.len() / d;
        self.line_points.clear();
        for xp in x.chunks_exact(d) {
            for &s in &self.quadrature.nodes {
                for (&xk, &rk) in xp.iter().zip(&self.reference) {
                    self.line_points.push(rk + s as f32 * (xk - rk));
                }
            }
        }
        let points =
            ndarray::ArrayView2::from_shape((n * q, d), &self.line_points).expect("(n·q) × d");
        let h = self.net.forward(points, &mut self.ws);
        if self.line_values.dim() != (n * q, d) {
            self.line_values = Array2::zeros((n * q, d));
            self.line_cotangents = Array2::zeros((n * q, d));
            self.line_vjps = Array2::zeros((n * q, d));
        }
        self.line_values.assign(&h);
        if let Some(affine) = &self.affine {
            let values = self.line_values.as_slice_mut().expect("contiguous");
            affine.add_to(&self.line_points, values);
        }
        for (p, (xp, psi)) in x.chunks_exact(d).zip(out.iter_mut()).enumerate() {
            *psi = 0.0;
            for (j, &w) in self.quadrature.weights.iter().enumerate() {
                let hj = self.line_values.row(p * q + j);
                for ((&hk, &xk), &rk) in hj.iter().zip(xp).zip(&self.reference) {
                    *psi += w * hk as f64 * (xk - rk) as f64;
                }
            }
        }
    }

    /// ψ (as `potential_into`) and its exact gradient ∇ψ (n × d into `grad`), the gradient
    /// of the quadrature sum itself: ∇ψ(x) = Σ_j w_j [h(p_j) + s_j J_h(p_j)ᵀ(x − r)] with
    /// p_j = r + s_j(x − r), the Jacobian term by h's input VJP. ∇ψ = h where h is a
    /// gradient field, but a network h is not exactly one, and weighted replay needs the
    /// adjoint of the very terminal cost its weights use (module doc).
    fn potential_and_gradient_into(
        &mut self,
        x: &[f32],
        d: usize,
        psi: &mut [f64],
        grad: &mut [f32],
    ) {
        let q = self.quadrature.nodes.len();
        self.potential_into(x, d, psi);
        for (p, xp) in x.chunks_exact(d).enumerate() {
            for (j, (&s, &w)) in self
                .quadrature
                .nodes
                .iter()
                .zip(&self.quadrature.weights)
                .enumerate()
            {
                let mut row = self.line_cotangents.row_mut(p * q + j);
                for ((c, &xk), &rk) in row.iter_mut().zip(xp).zip(&self.reference) {
                    *c = (w * s) as f32 * (xk - rk);
                }
            }
        }
        self.net.backward(
            &mut self.ws,
            self.line_cotangents.view(),
            &mut self.grad,
            Some(self.line_vjps.view_mut()),
        );
        if let Some(affine) = &self.affine {
            let cotangents = self.line_cotangents.as_slice().expect("contiguous");
            affine.add_vjp_to(
                cotangents,
                self.line_vjps.as_slice_mut().expect("contiguous"),
            );
        }
        for (p, gp) in grad.chunks_exact_mut(d).enumerate() {
            gp.fill(0.0);
            for (j, &w) in self.quadrature.weights.iter().enumerate() {
                let (h, vjp) = (
                    self.line_values.row(p * q + j),
                    self.line_vjps.row(p * q + j),
                );
                for ((g, &hk), &vk) in gp.iter_mut().zip(h).zip(vjp) {
                    *g += w as f32 * hk + vk;
                }
            }
        }
    }
}

/// h(x) = net(x) (+ A x + b with the affine part) at the rows of `x` (n × d), into `out`.
fn corrector_at(
    net: &Mlp,
    affine: Option<&AffineFit>,
    ws: &mut Workspace,
    x: &[f32],
    d: usize,
    out: &mut [f32],
) {
    let view = ndarray::ArrayView2::from_shape((x.len() / d, d), x).expect("n × d");
    let h = net.forward(view, ws);
    out.copy_from_slice(h.as_slice().expect("contiguous"));
    if let Some(affine) = affine {
        affine.add_to(x, out);
    }
}

/// ASBS's learned corrector h as observed ([`Observation::corrector`]), for drawing its
/// field; evaluating it changes nothing in the sampler.
#[derive(Clone, Copy)]
pub struct CorrectorField<'a> {
    corrector: &'a LearnedCorrector,
    dim: usize,
}

impl CorrectorField<'_> {
    /// h at the rows of `x` (n × d, sampler coordinates): n × d.
    pub fn at(&self, x: &[f32]) -> Vec<f32> {
        let c = self.corrector;
        let mut out = vec![0.0; x.len()];
        // Its own scratch: the sampler's workspace stays the sampler's.
        let mut ws = Workspace::new();
        corrector_at(&c.net, c.affine.as_ref(), &mut ws, x, self.dim, &mut out);
        out
    }
}

#[derive(Clone)]
enum Corrector {
    /// h = ∇log p₀¹ (the base law at t = 1): Adjoint Sampling's term, exact for a point source.
    BaseMarginal,
    Learned(Box<LearnedCorrector>),
}

#[derive(Clone)]
pub struct AsbsSampler {
    name: &'static str,
    dim: usize,
    energy: Arc<dyn Energy>,
    source: Source,
    schedule: NoiseSchedule,
    grid: TimeGrid,
    features: FourierFeatures,
    net: Mlp,
    adam: Adam,
    clip: f64,
    inner_steps: usize,
    /// Rows (X_0, X_1, a, log w): w is the path's importance weight (docs/methods.md §7).
    buffer: ReplayBuffer,
    /// Weighted replay: rows drawn in proportion to w rather than uniformly; None for
    /// uniform replay (the papers' method).
    weighted_replay: Option<WeightedIndex>,
    corrector: Corrector,
    /// ASBS: the mean of the control's parameters over the AM iterations of the current
    /// stage from its midpoint on, with how many iterates it holds; `draw` (evaluation)
    /// uses it once it holds any (module doc).
    averaged: Mlp,
    averaged_count: usize,
    stages: usize,
    adjoint_iters: usize,
    corrector_iters: usize,
    /// Paths per source draw; their weights are normalized within the group (module doc).
    paths_per_source: usize,
    rng: Rng,
    phase: Phase,
    iteration: usize,
    rollout: PathBatch,
    /// X_0 of the paths in flight.
    x0: Vec<f32>,
    trajectories: Vec<f32>,
    last: Option<Rollout>,
    inner: usize,
    loss_sum: f64,
    batch_inputs: Array2<f32>,
    batch_targets: Array2<f32>,
    batch_sigma: Vec<f32>,
    grad_out: Array2<f32>,
    grad: Vec<f32>,
    ws: Workspace,
}

impl AsbsSampler {
    /// ASBS (`learned_corrector`) or Adjoint Sampling from the configured source.
    pub fn new(
        settings: &AsbsSettings,
        energy: Arc<dyn Energy>,
        learned_corrector: bool,
    ) -> Result<AsbsSampler, String> {
        let d = energy.dim();
        let source = Source::parse(&settings.source)?;
        source.check_dim(d)?;
        let schedule = settings.schedule()?;
        schedule.validate()?;
        // The same construction order as Adjoint Sampling, so a point source reproduces it.
        let mut rng = Rng::new(settings.seed);
        let features = FourierFeatures::new(3);
        let in_dim = d + features.dim();
        let mut sizes = vec![in_dim];
        sizes.extend(std::iter::repeat_n(settings.hidden, settings.layers));
        sizes.push(d);
        let net = Mlp::new(&sizes, settings.activation, &mut rng);
        let adam = Adam::new(net.n_params(), settings.lr as f32);
        let grid = TimeGrid::new(&schedule, settings.steps);
        let corrector = if learned_corrector && !source.is_point() {
            let mut sizes = vec![d];
            sizes.extend(std::iter::repeat_n(settings.hidden, settings.layers));
            sizes.push(d);
            let net = Mlp::new(&sizes, settings.activation, &mut rng);
            Corrector::Learned(Box::new(LearnedCorrector {
                adam: Adam::new(net.n_params(), settings.lr as f32),
                grad: vec![0.0; net.n_params()],
                averaged: net.clone(),
                net,
                buffer: ReplayBuffer::new(settings.buffer_capacity, 2 * d),
                ws: Workspace::new(),
                inputs: Array2::zeros((settings.batch, d)),
                targets: Array2::zeros((settings.batch, d)),
                grad_out: Array2::zeros((settings.batch, d)),
                reference: vec![0.0; d],
                averaged_count: 0,
                quadrature: GaussLegendre::new(POTENTIAL_NODES),
                line_points: Vec::new(),
                line_values: Array2::zeros((0, d)),
                line_cotangents: Array2::zeros((0, d)),
                line_vjps: Array2::zeros((0, d)),
                affine: settings.weighted_replay.then(|| AffineFit::new(d)),
            }))
        } else {
            Corrector::BaseMarginal
        };
        let k = TRAJECTORIES.min(settings.paths);
        let averaged = net.clone();
        Ok(AsbsSampler {
            name: if learned_corrector { "asbs" } else { "adjoint" },
            dim: d,
            grad: vec![0.0; net.n_params()],
            rollout: PathBatch::new(settings.paths, d, &features),
            x0: vec![0.0; settings.paths * d],
            trajectories: vec![0.0; k * (settings.steps + 1) * d],
            batch_inputs: Array2::zeros((settings.batch, in_dim)),
            batch_targets: Array2::zeros((settings.batch, d)),
            batch_sigma: vec![0.0; settings.batch],
            grad_out: Array2::zeros((settings.batch, d)),
            energy,
            source,
            schedule,
            grid,
            features,
            net,
            adam,
            clip: settings.clip,
            inner_steps: settings.inner_steps,
            buffer: ReplayBuffer::new(settings.buffer_capacity, 3 * d + 1),
            weighted_replay: settings.weighted_replay.then(WeightedIndex::default),
            corrector,
            averaged,
            averaged_count: 0,
            stages: settings.stages,
            paths_per_source: settings.paths_per_source,
            adjoint_iters: settings.adjoint_iters,
            corrector_iters: settings.corrector_iters,
            rng,
            phase: Phase::Rollout,
            iteration: 0,
            last: None,
            inner: 0,
            loss_sum: 0.0,
            ws: Workspace::new(),
        })
    }

    pub fn network(&self) -> &Mlp {
        &self.net
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The stage of iteration `i`, its stage number k (0-based) and the iteration's index
    /// within that stage.
    /// Iterations of one stage (AM then CM).
    fn stage_cycle(&self) -> usize {
        self.adjoint_iters + self.corrector_iters
    }

    fn stage_of(&self, i: usize) -> (Stage, usize, usize) {
        if matches!(self.corrector, Corrector::BaseMarginal) {
            return (Stage::Adjoint, 0, i);
        }
        let cycle = self.stage_cycle();
        let k = i / cycle;
        if k >= self.stages {
            // Adjoint matching goes on in the last stage, counted on from its AM iterations.
            let within = i - (self.stages - 1) * cycle - self.corrector_iters;
            return (Stage::Adjoint, self.stages - 1, within);
        }
        let r = i % cycle;
        if r < self.adjoint_iters {
            (Stage::Adjoint, k, r)
        } else {
            (Stage::Corrector, k, r - self.adjoint_iters)
        }
    }

    /// h at the rows of `x` (n × d), into `out` (n × d).
    fn corrector_into(&mut self, x: &[f32], out: &mut [f32]) {
        let d = self.dim;
        match &mut self.corrector {
            Corrector::BaseMarginal => {
                let nu1 = self.grid.nu1;
                for (xp, hp) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
                    for (k, (&xk, h)) in xp.iter().zip(hp.iter_mut()).enumerate() {
                        let (m, s) = self.source.coordinate(k);
                        *h = (-(xk as f64 - m) / (s * s + nu1)) as f32;
                    }
                }
            }
            Corrector::Learned(c) => c.eval_into(x, d, out),
        }
    }

    fn record_trajectories(&mut self) {
        let (d, step) = (self.dim, self.rollout.step);
        let points = self.grid.steps() + 1;
        let k = self.trajectories.len() / (points * d);
        for p in 0..k {
            let at = (p * points + step) * d;
            self.trajectories[at..at + d].copy_from_slice(&self.rollout.x[p * d..(p + 1) * d]);
        }
    }

    /// Buffer rows for the finished rollout and its path weights.
    fn finish_rollout(&mut self, stage: Stage) -> Result<(), String> {
        let d = self.dim;
        let n = self.rollout.log_ratio.len();
        if self.rollout.x.iter().any(|v| !v.is_finite()) {
            return Err(
                "particles became NaN or infinite during the rollout; lower the learning rate"
                    .into(),
            );
        }
        let x1 = std::mem::take(&mut self.rollout.x);
        let mut h = vec![0f32; n * d];
        // ψ(X_1) = log φ̂₁(X_1) + const, for the rows' weights of this stage's problem.
        let mut psi = vec![0f64; n];
        if stage == Stage::Adjoint {
            if let Corrector::Learned(c) = &mut self.corrector {
                if self.weighted_replay.is_some() {
                    // The adjoint's corrector term is ∇ψ, the gradient of the very ψ in the
                    // rows' weights (module doc).
                    c.potential_and_gradient_into(&x1, d, &mut psi, &mut h);
                } else {
                    self.corrector_into(&x1, &mut h);
                }
            }
        }
        let mut log_weights = Vec::with_capacity(n);
        let (mut xg, mut grad, mut scratch) = (vec![0f64; d], vec![0f64; d], vec![0f64; d]);
        let mut row = vec![0f32; 3 * d + 1];
        // Rows wait for their group's mean weight (module doc).
        let grouped = self.paths_per_source > 1 && matches!(self.corrector, Corrector::Learned(_));
        let mut pending: Vec<f32> = Vec::new();
        for p in 0..n {
            let (xp, x0p) = (&x1[p * d..(p + 1) * d], &self.x0[p * d..(p + 1) * d]);
            for k in 0..d {
                xg[k] = xp[k] as f64;
            }
            match stage {
                Stage::Adjoint => {
                    let e = self.energy.energy_grad(&xg, &mut grad);
                    let hp = &h[p * d..(p + 1) * d];
                    match self.corrector {
                        // Adjoint Sampling: a = clip(∇E + ∇log p₀¹, c), the sum clipped
                        // (docs/methods.md §2), in f64 as there.
                        Corrector::BaseMarginal => {
                            self.source
                                .log_base_marginal(&xg, self.grid.nu1, &mut scratch);
                            for k in 0..d {
                                grad[k] += scratch[k];
                            }
                            clip_norm(&mut grad, self.clip);
                        }
                        // ASBS: a = clip(∇E, c) + h (docs/methods.md §3).
                        Corrector::Learned(_) => {
                            clip_norm(&mut grad, self.clip);
                            for k in 0..d {
                                grad[k] += hp[k] as f64;
                            }
                        }
                    }
                    row[..d].copy_from_slice(x0p);
                    row[d..2 * d].copy_from_slice(xp);
                    for k in 0..d {
                        row[2 * d + k] = grad[k] as f32;
                    }
                    let log_w = self.path_log_weight(e, &xg, &mut scratch, p);
                    // The row's weight is for this stage's control problem, terminal cost
                    // g = E + log φ̂₁: w = e^{−g(X_1)}·dP₀/dP_θ (module doc). For Adjoint
                    // Sampling log φ̂₁ = log p₀¹ and w is the metrics' weight.
                    row[3 * d] = match self.corrector {
                        Corrector::BaseMarginal => log_w,
                        Corrector::Learned(_) => -e - psi[p] + self.rollout.log_ratio[p],
                    } as f32;
                    if grouped {
                        pending.extend_from_slice(&row);
                    } else {
                        self.buffer.push(&row);
                    }
                    log_weights.push(log_w);
                }
                Stage::Corrector => {
                    if let Corrector::Learned(c) = &mut self.corrector {
                        row[..d].copy_from_slice(x0p);
                        row[d..2 * d].copy_from_slice(xp);
                        c.buffer.push(&row[..2 * d]);
                        if let Some(affine) = &mut c.affine {
                            // The CM target (X_0 − X_1)/κ, in f64 as the sums are.
                            for k in 0..d {
                                scratch[k] = (x0p[k] as f64 - xg[k]) / self.grid.nu1;
                            }
                            affine.add(xp, &scratch);
                        }
                    }
                    // Energies for the rollout's metrics only; the CM stage itself needs
                    // none. Like every evaluation in `work`, they count as training's.
                    let e = self.energy.energy(&xg);
                    log_weights.push(self.path_log_weight(e, &xg, &mut scratch, p));
                }
            }
        }
        if grouped && stage == Stage::Adjoint {
            // log w − log mean_group w, the mean by log-sum-exp.
            let (w, m) = (3 * d + 1, self.paths_per_source);
            for group in pending.chunks_exact_mut(m * w) {
                let log_w = |group: &[f32], i: usize| group[i * w + 3 * d] as f64;
                let max = (0..m)
                    .map(|i| log_w(group, i))
                    .fold(f64::NEG_INFINITY, f64::max);
                let sum = (0..m).map(|i| (log_w(group, i) - max).exp()).sum::<f64>();
                let log_mean = max + (sum / m as f64).ln();
                for i in 0..m {
                    group[i * w + 3 * d] = (log_w(group, i) - log_mean) as f32;
                }
            }
            for row in pending.chunks_exact(w) {
                self.buffer.push(row);
            }
        }
        if stage == Stage::Adjoint {
            self.rebuild_weighted_index()?;
        } else if let Corrector::Learned(c) = &mut self.corrector {
            if let Some(affine) = &mut c.affine {
                affine.solve();
            }
        }
        self.last = Some(Rollout {
            samples: x1.clone(),
            log_weights: Some(log_weights),
        });
        self.rollout.x = x1;
        Ok(())
    }

    /// Weighted replay's index over the buffer rows' log-weights (column 3d); nothing to do
    /// for uniform replay or an empty buffer.
    fn rebuild_weighted_index(&mut self) -> Result<(), String> {
        let (buffer, d) = (&self.buffer, self.dim);
        match &mut self.weighted_replay {
            Some(index) if !buffer.is_empty() => index
                .rebuild((0..buffer.len()).map(|i| buffer.row(i)[3 * d] as f64))
                .map_err(|e| format!("{e}; lower the learning rate or turn weighted replay off")),
            _ => Ok(()),
        }
    }

    fn path_log_weight(&self, energy: f64, x: &[f64], scratch: &mut [f64], p: usize) -> f64 {
        path_log_weight(
            &self.source,
            energy,
            x,
            self.grid.nu1,
            self.rollout.log_ratio[p],
            scratch,
        )
    }

    fn fill_sources(&mut self) {
        self.source
            .fill(&mut self.rollout.x, self.dim, &mut self.rng);
        if self.paths_per_source > 1 {
            let (d, m) = (self.dim, self.paths_per_source);
            for chunk in self.rollout.x.chunks_exact_mut(m * d) {
                let (first, rest) = chunk.split_at_mut(d);
                for r in rest.chunks_exact_mut(d) {
                    r.copy_from_slice(first);
                }
            }
        }
    }

    /// The worker's half of `crate::shared_rollout`: a share simulated for another sampler
    /// of this configuration (in a Web Worker): sets the network's parameters, restarts `batch` (the share's paths, its x holding X_0)
    /// from the blocks' seeds and advances it through every step.
    pub(crate) fn simulate_share(
        &mut self,
        batch: &mut PathBatch,
        params: &[f32],
        seeds: &[u64],
    ) -> Result<(), String> {
        if params.len() != self.net.n_params() {
            return Err(format!(
                "rollout share: {} parameters for a network of {}",
                params.len(),
                self.net.n_params()
            ));
        }
        self.net.set_params(params);
        batch.restart_from_seeds(seeds)?;
        batch.advance_steps(
            self.grid.steps(),
            &self.net,
            &self.grid,
            &self.features,
            self.dim,
            None,
        );
        Ok(())
    }

    /// An empty batch for a share of `paths` paths of this sampler's rollout.
    pub(crate) fn share_batch(&self, paths: usize) -> PathBatch {
        PathBatch::new(paths, self.dim, &self.features)
    }

    /// One Adam step of reciprocal adjoint matching at bridge points X_t | X_0, X_1.
    fn adjoint_step(&mut self) -> Result<f64, String> {
        let d = self.dim;
        let b = self.batch_inputs.nrows();
        let mut tf = [0f32; MAX_FEATURES];
        let tf = &mut tf[..self.features.dim()];
        for j in 0..b {
            let row = match &self.weighted_replay {
                Some(index) => self.buffer.row(index.sample(&mut self.rng)),
                None => self.buffer.sample(&mut self.rng),
            };
            let (x0, rest) = row.split_at(d);
            let (x1, rest) = rest.split_at(d);
            let a = &rest[..d];
            let t = self.rng.uniform();
            let sigma = self.schedule.sigma(t) as f32;
            self.batch_sigma[j] = sigma;
            let mut input = self.batch_inputs.row_mut(j);
            let input = input.as_slice_mut().expect("standard layout");
            // X_t | X_0, X_1 ~ N((1−γ_t)X_0 + γ_t X_1, ν_1γ_t(1−γ_t)) (docs/methods.md §3).
            BridgeSample::at(&self.schedule, t).draw(Some(x0), x1, &mut input[..d], &mut self.rng);
            self.features.write(t, tf);
            input[d..].copy_from_slice(tf);
            for (target, &ak) in self.batch_targets.row_mut(j).iter_mut().zip(a) {
                *target = -sigma * ak;
            }
        }
        let u = self.net.forward(self.batch_inputs.view(), &mut self.ws);
        // Loss (1/B) Σ ½λ_t‖u + σ_t a‖², λ_t = 1/σ_t²; gradient in u is λ_t(u + σ_t a)/B.
        let mut loss = 0.0f64;
        for (((g, uj), target), &sigma) in self
            .grad_out
            .rows_mut()
            .into_iter()
            .zip(u.rows())
            .zip(self.batch_targets.rows())
            .zip(&self.batch_sigma)
        {
            let lambda = 1.0 / (sigma * sigma);
            for ((g, &uk), &tk) in g.into_iter().zip(uj).zip(target) {
                let r = uk - tk;
                loss += 0.5 * (lambda * r * r) as f64;
                *g = lambda * r / b as f32;
            }
        }
        loss /= b as f64;
        self.net.backward(
            &mut self.ws,
            self.grad_out.view(),
            &mut self.grad,
            None::<ndarray::ArrayViewMut2<f32>>,
        );
        let gnorm = self.adam.step(self.net.params_mut(), &self.grad);
        check(loss, gnorm)
    }

    /// One Adam step of corrector matching: ½‖h(X_1) − (X_0 − X_1)/κ‖², κ = ν_1.
    fn corrector_step(&mut self) -> Result<f64, String> {
        let d = self.dim;
        let kappa = self.grid.nu1 as f32;
        let Corrector::Learned(c) = &mut self.corrector else {
            unreachable!("corrector iterations only exist with a learned corrector");
        };
        let b = c.inputs.nrows();
        for j in 0..b {
            let row = c.buffer.sample(&mut self.rng);
            let (x0, x1) = row.split_at(d);
            for k in 0..d {
                c.inputs[[j, k]] = x1[k];
                c.targets[[j, k]] = (x0[k] - x1[k]) / kappa;
            }
        }
        if let Some(affine) = &c.affine {
            // The network's part of the target: what the affine fit leaves.
            let fitted = c.grad_out.as_slice_mut().expect("contiguous");
            fitted.fill(0.0);
            affine.add_to(c.inputs.as_slice().expect("contiguous"), fitted);
            c.targets -= &c.grad_out;
        }
        let h = c.net.forward(c.inputs.view(), &mut c.ws);
        let mut loss = 0.0f64;
        for ((g, hj), target) in c
            .grad_out
            .rows_mut()
            .into_iter()
            .zip(h.rows())
            .zip(c.targets.rows())
        {
            for ((g, &hk), &tk) in g.into_iter().zip(hj).zip(target) {
                let r = hk - tk;
                loss += 0.5 * (r * r) as f64;
                *g = r / b as f32;
            }
        }
        loss /= b as f64;
        c.net.backward(
            &mut c.ws,
            c.grad_out.view(),
            &mut c.grad,
            None::<ndarray::ArrayViewMut2<f32>>,
        );
        let gnorm = c.adam.step(c.net.params_mut(), &c.grad);
        check(loss, gnorm)
    }
}

/// Adds `current`'s parameters to the running mean `mean` of `count` earlier iterates.
fn add_to_mean(mean: &mut Mlp, count: &mut usize, current: &Mlp) {
    *count += 1;
    let weight = 1.0 / *count as f32;
    for (m, &p) in mean.params_mut().iter_mut().zip(current.params()) {
        *m += weight * (p - *m);
    }
}

fn check(loss: f64, gnorm: f32) -> Result<f64, String> {
    if !loss.is_finite() || !gnorm.is_finite() {
        return Err(format!(
            "training diverged (loss {loss}, gradient norm {gnorm}); lower the learning rate"
        ));
    }
    Ok(loss)
}

/// log w = −E(X_1) − log p₀¹(X_1) + log dP₀/dP_θ, with p₀¹ = μ ⊛ N(0, ν_1 I) the base law
/// at t = 1 (docs/methods.md §7, "Girsanov along the EM path").
///
/// Why: take as target path measure Q = P₀ · R(X_1)/p₀¹(X_1), the base process started from
/// μ and reweighted at its end; its X_1-marginal is p₀¹·R/p₀¹ = R, so its mass is Z. Both P₀
/// and the controlled chain P_θ start from μ, so μ(X_0) cancels in dQ/dP_θ and what remains
/// is R(X_1)/p₀¹(X_1) times the product of EM transition ratios p₀/p_θ, which `TimeGrid::step`
/// accumulates. Hence E_{P_θ}[w] = Z for any control (log μ(X_0) terms appear only if one
/// chooses a different backward kernel; this one, the base posterior of X_0 given X_1, needs
/// none because p₀¹ is Gaussian here). For the point source p₀¹ = N(0, ν_1 I): AS's weight.
pub(crate) fn path_log_weight(
    source: &Source,
    energy: f64,
    x: &[f64],
    nu1: f64,
    log_ratio: f64,
    scratch: &mut [f64],
) -> f64 {
    -energy - source.log_base_marginal(x, nu1, scratch) + log_ratio
}

impl Sampler for AsbsSampler {
    fn name(&self) -> &'static str {
        self.name
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn work(&mut self) -> Result<Work, String> {
        let (stage, _, within) = self.stage_of(self.iteration);
        // After the K stages adjoint matching goes on as one more AM stage against the last
        // corrector, and like every stage it starts with that corrector's mean installed
        // and an empty buffer (module doc).
        let starts_stage = self.iteration > 0
            && (within == 0 || self.iteration == self.stages * self.stage_cycle());
        match self.phase {
            Phase::Rollout => {
                if self.rollout.step == 0 {
                    if starts_stage {
                        // A new stage: rows of the previous problem are stale.
                        match (stage, &mut self.corrector) {
                            (Stage::Adjoint, Corrector::Learned(c)) => {
                                if c.averaged_count > 0 {
                                    c.net.params_mut().copy_from_slice(c.averaged.params());
                                    c.averaged_count = 0;
                                }
                                // ψ's zero: the mean X_1 of the rows h was just fitted to.
                                let d = self.dim;
                                c.reference.fill(0.0);
                                for i in 0..c.buffer.len() {
                                    let x1 = &c.buffer.row(i)[d..2 * d];
                                    for (r, &v) in c.reference.iter_mut().zip(x1) {
                                        *r += v / c.buffer.len() as f32;
                                    }
                                }
                                self.buffer.clear();
                                self.averaged_count = 0;
                            }
                            (Stage::Corrector, Corrector::Learned(c)) => {
                                // The CM stage reads the coupling of the AM stage's result,
                                // the control's mean, which the next AM stage starts from
                                // (module doc).
                                if self.averaged_count > 0 {
                                    self.net
                                        .params_mut()
                                        .copy_from_slice(self.averaged.params());
                                }
                                c.buffer.clear();
                                if let Some(affine) = &mut c.affine {
                                    affine.reset();
                                }
                            }
                            _ => {}
                        }
                    }
                    self.rollout.restart(&mut self.rng);
                    self.fill_sources();
                    self.x0.copy_from_slice(&self.rollout.x);
                    self.record_trajectories();
                }
                self.rollout
                    .advance(&self.net, &self.grid, &self.features, self.dim);
                self.record_trajectories();
                if self.rollout.step == self.grid.steps() {
                    self.finish_rollout(stage)?;
                    self.phase = Phase::Train;
                    self.inner = 0;
                    self.loss_sum = 0.0;
                }
                Ok(Work::RolloutStep)
            }
            Phase::Train => {
                let loss = match stage {
                    Stage::Adjoint => self.adjoint_step()?,
                    Stage::Corrector => self.corrector_step()?,
                };
                self.loss_sum += loss;
                self.inner += 1;
                if self.inner == self.inner_steps {
                    // Second halves of stages, with weighted replay (module doc).
                    let average = self.weighted_replay.is_some();
                    match (stage, &mut self.corrector) {
                        (Stage::Adjoint, Corrector::Learned(_))
                            if average && 2 * within >= self.adjoint_iters =>
                        {
                            add_to_mean(&mut self.averaged, &mut self.averaged_count, &self.net)
                        }
                        (Stage::Corrector, Corrector::Learned(c))
                            if average && 2 * within >= self.corrector_iters =>
                        {
                            add_to_mean(&mut c.averaged, &mut c.averaged_count, &c.net)
                        }
                        _ => {}
                    }
                    self.iteration += 1;
                    self.phase = Phase::Rollout;
                    self.rollout.step = 0;
                    Ok(Work::IterationDone {
                        loss: self.loss_sum / self.inner_steps as f64,
                    })
                } else {
                    Ok(Work::GradientStep { loss })
                }
            }
        }
    }

    fn iteration(&self) -> usize {
        self.iteration
    }

    fn phase(&self) -> Phase {
        self.phase
    }

    fn draw(&mut self, n: usize, rng: &mut Rng) -> Rollout {
        let d = self.dim;
        let mut samples = Vec::with_capacity(n * d);
        let mut log_weights = Vec::with_capacity(n);
        let (mut xg, mut grad) = (vec![0f64; d], vec![0f64; d]);
        let net = if self.averaged_count > 0 {
            &self.averaged
        } else {
            &self.net
        };
        let mut done = 0;
        while done < n {
            let m = DRAW_CHUNK.min(n - done);
            let mut batch = PathBatch::new(m, d, &self.features);
            batch.restart(rng);
            self.source.fill(&mut batch.x, d, rng);
            while batch.step < self.grid.steps() {
                batch.advance(net, &self.grid, &self.features, d);
            }
            for (p, xp) in batch.x.chunks_exact(d).enumerate() {
                for (g, &v) in xg.iter_mut().zip(xp) {
                    *g = v as f64;
                }
                let e = self.energy.energy(&xg);
                log_weights.push(path_log_weight(
                    &self.source,
                    e,
                    &xg,
                    self.grid.nu1,
                    batch.log_ratio[p],
                    &mut grad,
                ));
            }
            samples.extend_from_slice(&batch.x);
            done += m;
        }
        Rollout {
            samples,
            log_weights: Some(log_weights),
        }
    }

    fn observe(&self) -> Observation<'_> {
        let points = self.grid.steps() + 1;
        let (stage, corrector) = match &self.corrector {
            Corrector::BaseMarginal => (None, None),
            Corrector::Learned(c) => {
                let (stage, k, within) = self.stage_of(self.iteration);
                let info = StageInfo {
                    stage,
                    k: k + 1,
                    stages: self.stages,
                    iteration: within,
                    iterations: match stage {
                        Stage::Adjoint => self.adjoint_iters,
                        Stage::Corrector => self.corrector_iters,
                    },
                };
                let field = CorrectorField {
                    corrector: c,
                    dim: self.dim,
                };
                (Some(info), Some(field))
            }
        };
        Observation {
            particles: &self.rollout.x,
            time: self.grid.times[self.rollout.step],
            time_reversed: false,
            trajectories: Trajectories {
                values: &self.trajectories,
                count: self.trajectories.len() / (points * self.dim),
                points,
            },
            last_rollout: self.last.as_ref(),
            stage,
            corrector,
            ddpm: None,
            gfn: None,
        }
    }

    fn open_rollout(&mut self) -> Option<crate::sampler::rollout::OpenRollout<'_>> {
        Some(crate::sampler::rollout::OpenRollout {
            batch: &mut self.rollout,
            net: &self.net,
            grid: &self.grid,
            features: &self.features,
            dim: self.dim,
            trace: &mut self.trajectories,
        })
    }

    fn save_state(&self) -> StateMap {
        let mut out = StateMap::new();
        out.put_f32("net", self.net.params());
        self.adam.save_state(&mut out, "adam.");
        self.buffer.save_state(&mut out, "buffer.");
        if let Corrector::Learned(c) = &self.corrector {
            out.put_f32("corrector.net", c.net.params());
            c.adam.save_state(&mut out, "corrector.adam.");
            c.buffer.save_state(&mut out, "corrector.buffer.");
            if self.weighted_replay.is_some() {
                // The averages and ψ's zero (module doc) exist only with weighted replay.
                out.put_f32("corrector.averaged", c.averaged.params());
                out.put_usize("corrector.averaged_count", c.averaged_count);
                out.put_f32("corrector.reference", &c.reference);
                if let Some(affine) = &c.affine {
                    out.put_f32("corrector.affine", affine.coefficients());
                    out.put_f64("corrector.affine_sums", &affine.sums());
                }
                out.put_f32("averaged", self.averaged.params());
                out.put_usize("averaged_count", self.averaged_count);
            }
        }
        out.put_u64("rng", &self.rng.state());
        out.put_usize("iteration", self.iteration);
        out.put_f32("particles", &self.rollout.x);
        out.put_f32("trajectories", &self.trajectories);
        Rollout::save_state(self.last.as_ref(), &mut out, "last.");
        out
    }

    fn load_state(&mut self, from: &StateMap) -> Result<(), String> {
        self.net.load_params(from, "net")?;
        self.adam.load_state(from, "adam.")?;
        self.buffer.load_state(from, "buffer.")?;
        if let Corrector::Learned(c) = &mut self.corrector {
            c.net.load_params(from, "corrector.net")?;
            c.adam.load_state(from, "corrector.adam.")?;
            c.buffer.load_state(from, "corrector.buffer.")?;
            if self.weighted_replay.is_some() {
                c.averaged.load_params(from, "corrector.averaged")?;
                c.averaged_count = from.usize("corrector.averaged_count")?;
                from.read_f32_into("corrector.reference", &mut c.reference)?;
                if let Some(affine) = &mut c.affine {
                    affine.restore(
                        &from.f32s("corrector.affine")?,
                        &from.f64s("corrector.affine_sums")?,
                    )?;
                }
                self.averaged.load_params(from, "averaged")?;
                self.averaged_count = from.usize("averaged_count")?;
            }
        }
        self.rng = Rng::from_state(&from.u64s("rng")?)?;
        self.iteration = from.usize("iteration")?;
        from.read_f32_into("particles", &mut self.rollout.x)?;
        from.read_f32_into("trajectories", &mut self.trajectories)?;
        self.last = Rollout::load_state(from, "last.", self.rollout.x.len() / self.dim, self.dim)?;
        self.phase = Phase::Rollout;
        self.rollout.step = 0;
        // The weighted index is a function of the buffer's rows, rebuilt after every
        // adjoint rollout and unchanged since.
        self.rebuild_weighted_index()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn rollout_and_training_loops_do_not_allocate() {
        // The Euler–Maruyama steps and the inner Adam steps reuse preallocated buffers
        // (docs/performance.md). Counted on this thread with the rollout pinned to it.
        use crate::alloc_count::allocations_on_this_thread;
        use crate::bench::{BenchConfig, BenchSampler};
        let mut cfg = BenchConfig::preset("browser").unwrap();
        for (f, v) in [("paths", "600"), ("steps", "20"), ("inner", "4")] {
            cfg.set(f, v).unwrap();
        }
        // The counter sees an allocation on this thread.
        let before = allocations_on_this_thread();
        std::hint::black_box(Vec::<u8>::with_capacity(8));
        assert_eq!(allocations_on_this_thread() - before, 1);
        let mut bench = BenchSampler::new(&cfg).unwrap();
        let s = &mut bench.sampler;
        s.rollout.set_threads(1);
        // A whole iteration sizes every buffer; then the next rollout's first unit (its
        // restart), its other steps in one call, and the unit that finishes it.
        while s.iteration() == 0 {
            s.work().unwrap();
        }
        s.work().unwrap();
        let before = allocations_on_this_thread();
        s.open_rollout().unwrap().advance(usize::MAX);
        assert_eq!(allocations_on_this_thread() - before, 0, "rollout steps");
        s.work().unwrap();
        assert_eq!(s.phase(), Phase::Train);
        let before = allocations_on_this_thread();
        for _ in 0..4 {
            s.adjoint_step().unwrap();
        }
        assert_eq!(allocations_on_this_thread() - before, 0, "Adam steps");
    }
    use crate::energy::Target;

    /// A rollout of the untrained (base) sampler on a harmonic well, its replay rows drawn
    /// uniformly and by weight: (mean of X_1², over both coordinates) for each.
    fn replay_second_moments(temperature: f64) -> (f64, f64) {
        let config = Config::from_partial(&serde_json::json!({
            "energy": "well", "temperature": temperature, "whiten": false,
            "paths": 4096, "buffer_capacity": 4096, "steps": 20, "seed": 3,
            "weighted_replay": true
        }))
        .unwrap();
        let target = Target::new(&config.energy, config.temperature).unwrap();
        let mut s = AsbsSampler::new(&config.settings(), target.energy.clone(), false).unwrap();
        while s.phase() == Phase::Rollout {
            s.work().unwrap();
        }
        let index = s.weighted_replay.clone().unwrap();
        let mut rng = Rng::new(9);
        let (mut uniform, mut weighted) = (0.0, 0.0);
        let draws = 40_000;
        for _ in 0..draws {
            let x1 = &s.buffer.sample(&mut rng)[2..4];
            uniform += x1.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / 2.0;
            let x1 = &s.buffer.row(index.sample(&mut rng))[2..4];
            weighted += x1.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / 2.0;
        }
        (uniform / draws as f64, weighted / draws as f64)
    }

    #[test]
    fn corrector_potential_gradient_is_the_gradient_of_the_potential() {
        // ∇ψ by the input VJP against central differences of ψ itself, for a random
        // (curl-carrying) corrector network and a reference point off the origin: exact up
        // to f32 rounding, and not h (which the test would otherwise not tell apart).
        let config = Config::from_partial(&serde_json::json!({
            "sampler": "asbs", "energy": "seed-gmm", "source": "seed", "hidden": 16,
            "layers": 2, "weighted_replay": true, "seed": 4
        }))
        .unwrap();
        let target = Target::new(&config.energy, config.temperature).unwrap();
        let mut s = AsbsSampler::new(&config.settings(), target.energy.clone(), true).unwrap();
        let Corrector::Learned(c) = &mut s.corrector else {
            panic!("a Gaussian source learns its corrector");
        };
        let mut rng = Rng::new(11);
        for p in c.net.params_mut() {
            *p = 0.6 * rng.normal() as f32;
        }
        c.reference = vec![0.4, -0.3];
        let x: Vec<f32> = (0..2 * 50).map(|_| 1.5 * rng.normal() as f32).collect();
        let (mut psi, mut grad) = (vec![0f64; 50], vec![0f32; 100]);
        c.potential_and_gradient_into(&x, 2, &mut psi, &mut grad);
        let mut plain = vec![0f64; 50];
        c.potential_into(&x, 2, &mut plain);
        assert_eq!(psi, plain, "the same ψ as the path weights use");
        let h = c
            .net
            .forward(
                ndarray::ArrayView2::from_shape((50, 2), &x).unwrap(),
                &mut c.ws,
            )
            .to_owned();
        let eps = 1e-2f32;
        let (mut worst, mut curl) = (0f64, 0f64);
        for k in 0..2 {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            for p in 0..50 {
                xp[2 * p + k] += eps;
                xm[2 * p + k] -= eps;
            }
            let (mut fp, mut fm) = (vec![0f64; 50], vec![0f64; 50]);
            c.potential_into(&xp, 2, &mut fp);
            c.potential_into(&xm, 2, &mut fm);
            for p in 0..50 {
                let fd = (fp[p] - fm[p]) / (2.0 * eps as f64);
                worst = worst.max((fd - grad[2 * p + k] as f64).abs() / (1.0 + fd.abs()));
                curl = curl.max((fd - h[[p, k]] as f64).abs());
            }
        }
        assert!(
            worst < 2e-3,
            "∇ψ against central differences: relative error {worst}"
        );
        assert!(
            curl > 0.05,
            "a random h is no gradient field: max |∇ψ − h| {curl}"
        );
    }

    #[test]
    fn adjoint_matching_after_the_k_stages_starts_like_a_stage() {
        // One stage of 2 AM + 2 CM iterations, then continued AM: its first iteration must
        // install the corrector's mean and replay only its own rows.
        let config = Config::from_partial(&serde_json::json!({
            "sampler": "asbs", "energy": "gmm9", "whiten": true, "source": "normal:0,1",
            "weighted_replay": true, "stages": 1, "adjoint_iters": 2, "corrector_iters": 2,
            "paths": 32, "steps": 8, "batch": 16, "inner_steps": 2, "hidden": 16,
            "layers": 2, "buffer_capacity": 1000
        }))
        .unwrap();
        let target = Target::new(&config.energy, config.temperature).unwrap();
        let mut s = AsbsSampler::new(&config.settings(), target.energy.clone(), true).unwrap();
        let iterate = |s: &mut AsbsSampler| loop {
            if let Work::IterationDone { .. } = s.work().unwrap() {
                break;
            }
        };
        for _ in 0..4 {
            iterate(&mut s);
        }
        assert_eq!(
            s.buffer.len(),
            2 * 32,
            "the stage's two AM iterations' rows"
        );
        let Corrector::Learned(c) = &s.corrector else {
            panic!("ASBS from a normal source learns its corrector")
        };
        assert!(c.averaged_count > 0, "the CM stage averaged its corrector");
        let mean = c.averaged.params().to_vec();
        iterate(&mut s);
        assert_eq!(s.buffer.len(), 32, "continued AM replays its own rows only");
        let Corrector::Learned(c) = &s.corrector else {
            unreachable!()
        };
        assert_eq!(
            c.net.params(),
            &mean[..],
            "the corrector's mean is installed"
        );
        assert_eq!(c.averaged_count, 0);
        let info = s.observe().stage.unwrap();
        assert_eq!((info.k, info.stages), (1, 1));
        assert!(
            info.iteration >= info.iterations,
            "shown as past its stages"
        );
    }

    /// A diagnostic run by hand (`cargo test --release --lib seed_gmm_error_split --
    /// --ignored --nocapture`; about a minute): trains the README's seed-gmm ASBS command
    /// (JSON overrides in ASBS_DIAG, e.g. {"seed": 5}) and splits its x-mean error
    /// into the part its final corrector implies and the part the control adds. On a grid
    /// in the sampler's (whitened) coordinates it computes (a) the terminal law of the
    /// optimal control for g = E + ψ, ψ the learned corrector's potential, and (b) the
    /// Schrödinger bridge's own log φ̂₁ by Sinkhorn iterations (the base kernel N(y₀, ν₁I)
    /// is separable, so each sweep is two small matrix products), and prints x̄ and the
    /// [2,2] mode's mass for the sampler's draws, for (a), and for the bridge, with ψ's
    /// error between the modes and along the diagonal, in nats. What it asserts is the
    /// grid's own correctness: the bridge's terminal law must be ν (x̄ −1).
    #[test]
    #[ignore]
    fn seed_gmm_error_split_between_corrector_and_control() {
        use crate::energy::affine::{Affine, Pulled};
        use ndarray::Array2 as A2;
        let mut partial = serde_json::json!({
            "sampler": "asbs", "preset": "seed", "paths": 512, "steps": 100, "hidden": 64,
            "layers": 3, "weighted_replay": true, "buffer_capacity": 32768, "stages": 8,
            "adjoint_iters": 100, "corrector_iters": 20, "iters": 1440, "paths_per_source": 8,
            "seed": 1
        });
        if let Ok(extra) = std::env::var("ASBS_DIAG") {
            let extra: serde_json::Value = serde_json::from_str(&extra).unwrap();
            for (k, v) in extra.as_object().unwrap() {
                partial[k] = v.clone();
            }
        }
        let config = Config::from_partial(&partial).unwrap();
        let target = Target::new(&config.energy, config.temperature).unwrap();
        let truth = target.ground_truth();
        let map = Affine::whitening(&truth.mean, &truth.cov);
        let energy: Arc<dyn Energy> = Arc::new(Pulled::new(target.energy.clone(), map.clone()));
        let mut s = AsbsSampler::new(&config.settings(), energy.clone(), true).unwrap();
        while s.iteration() < config.iters {
            s.work().unwrap();
        }
        // x̄ and the [2,2] mode's mass (x + y > −2) of weighted points in sampler coordinates.
        let summary = |points: &[[f64; 2]], weights: &[f64]| {
            let (mut total, mut mean, mut mass) = (0.0, 0.0, 0.0);
            let mut x = [0.0; 2];
            for (y, &w) in points.iter().zip(weights) {
                map.to_original(y, &mut x);
                total += w;
                mean += w * x[0];
                if x[0] + x[1] > -2.0 {
                    mass += w;
                }
            }
            (mean / total, mass / total)
        };
        // x̄ and mass of 20,000 draws of the sampler as it stands, on one fixed stream.
        let draws_summary = |s: &mut AsbsSampler| {
            let drawn = s.draw(20_000, &mut Rng::new(77));
            let points: Vec<[f64; 2]> = drawn
                .samples
                .chunks_exact(2)
                .map(|p| [p[0] as f64, p[1] as f64])
                .collect();
            summary(&points, &vec![1.0; points.len()])
        };
        let (x_draws, m_draws) = draws_summary(&mut s);
        // The same control simulated with 4× finer Euler–Maruyama steps: what the time
        // discretization adds.
        let steps = s.grid.steps();
        s.grid = TimeGrid::new(&s.schedule, 4 * steps);
        let (x_fine, m_fine) = draws_summary(&mut s);
        s.grid = TimeGrid::new(&s.schedule, steps);
        println!(
            "draws with {} steps: x̄ {x_fine:.3} mass {m_fine:.3}",
            4 * steps
        );
        // The last iterate instead of the average (module doc).
        let averaged_count = std::mem::replace(&mut s.averaged_count, 0);
        let (x_last, m_last) = draws_summary(&mut s);
        s.averaged_count = averaged_count;
        println!("draws of the last iterate: x̄ {x_last:.3} mass {m_last:.3}");

        let nu1 = s.grid.nu1;
        let axis = |lo: f64, hi: f64, n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
                .collect()
        };
        let y1 = axis(-5.0, 5.0, 201);
        let (m0, s0) = (s.source.coordinate(0), s.source.coordinate(1));
        let y0 = [
            axis(m0.0 - 6.0 * m0.1, m0.0 + 6.0 * m0.1, 81),
            axis(s0.0 - 6.0 * s0.1, s0.0 + 6.0 * s0.1, 81),
        ];
        let kernel = |from: &[f64]| {
            A2::from_shape_fn((from.len(), y1.len()), |(a, i)| {
                (-(y1[i] - from[a]).powi(2) / (2.0 * nu1)).exp()
            })
        };
        let (kx, ky) = (kernel(&y0[0]), kernel(&y0[1]));
        let mu = A2::from_shape_fn((y0[0].len(), y0[1].len()), |(a, b)| {
            (-(y0[0][a] - m0.0).powi(2) / (2.0 * m0.1 * m0.1)
                - (y0[1][b] - s0.0).powi(2) / (2.0 * s0.1 * s0.1))
                .exp()
        });
        let n1 = y1.len();
        let grid: Vec<[f64; 2]> = (0..n1 * n1).map(|k| [y1[k / n1], y1[k % n1]]).collect();
        let e = A2::from_shape_fn((n1, n1), |(i, j)| energy.energy(&[y1[i], y1[j]]));
        let Corrector::Learned(c) = &mut s.corrector else {
            panic!("ASBS from the seed source learns its corrector");
        };
        let flat: Vec<f32> = grid
            .iter()
            .flat_map(|p| [p[0] as f32, p[1] as f32])
            .collect();
        let mut psi_flat = vec![0f64; grid.len()];
        c.potential_into(&flat, 2, &mut psi_flat);
        let psi = A2::from_shape_vec((n1, n1), psi_flat).unwrap();
        // Terminal law of the optimal control for g from μ: p*(y₁) ∝ e^{−g(y₁)} Σ_{y₀} K μ/Z,
        // Z(y₀) = Σ_{y₁} K e^{−g}.
        // Far corners of the grids underflow; where a divisor does, so does its numerator.
        let divide = |a: &A2<f64>, b: &A2<f64>| {
            ndarray::Zip::from(a)
                .and(b)
                .map_collect(|&a, &b| if b > 1e-280 { a / b } else { 0.0 })
        };
        let terminal = |g: &A2<f64>| {
            let shift = g.iter().cloned().fold(f64::INFINITY, f64::min);
            let eg = g.mapv(|v| (shift - v).exp());
            let z = kx.dot(&eg).dot(&ky.t());
            let ratio = divide(&mu, &z);
            let back = kx.t().dot(&ratio).dot(&ky);
            eg * back
        };
        let p_learned = terminal(&(&e + &psi));
        let (x_learned, m_learned) = summary(&grid, p_learned.as_slice().unwrap());
        // Sinkhorn for the bridge: φ₀ = K(ν/φ̂₁), φ̂₁ = Kᵀ(μ/φ₀).
        let nu = e.mapv(|v| (-v).exp());
        let mut phi_hat = A2::<f64>::ones((n1, n1));
        // Converged to 1e-5 in x̄ by 16 sweeps here; hundreds more lose the far grid to
        // underflow.
        for _ in 0..64 {
            let phi0 = kx.dot(&divide(&nu, &phi_hat)).dot(&ky.t());
            phi_hat = kx.t().dot(&divide(&mu, &phi0)).dot(&ky);
        }
        let log_phi_hat = phi_hat.mapv(|v| v.max(1e-300).ln());
        let p_bridge = terminal(&(&e + &log_phi_hat));
        let (x_bridge, m_bridge) = summary(&grid, p_bridge.as_slice().unwrap());
        // The grid's own check: the bridge's terminal law is ν, whose x̄ is −1.
        let (x_nu, m_nu) = summary(&grid, nu.as_slice().unwrap());
        assert!((x_nu + 1.0).abs() < 1e-3, "ν on the grid: x̄ {x_nu}");
        assert!(
            (x_bridge - x_nu).abs() < 1e-3 && (m_bridge - m_nu).abs() < 1e-3,
            "Sinkhorn did not converge: x̄ {x_bridge}, mass {m_bridge} against {x_nu}, {m_nu}"
        );
        // ψ's error between the modes' centres (sampler coordinates, nearest grid points).
        let at = |field: &A2<f64>, x: [f64; 2]| {
            let mut y = [0.0; 2];
            map.to_sampler(&x, &mut y);
            let idx = |v: f64| (((v + 5.0) / 10.0 * (n1 - 1) as f64).round() as usize).min(n1 - 1);
            field[[idx(y[0]), idx(y[1])]]
        };
        let gap = |field: &A2<f64>| at(field, [2.0, 2.0]) - at(field, [-4.0, -4.0]);
        let along: Vec<String> = (0..=12)
            .map(|k| {
                let u = -4.0 + 0.5 * k as f64;
                let x = [u, u];
                let err = (at(&psi, x) - at(&psi, [-4.0, -4.0]))
                    - (at(&log_phi_hat, x) - at(&log_phi_hat, [-4.0, -4.0]));
                format!("{u}:{err:+.3}")
            })
            .collect();
        println!(
            "ψ error from [−4,−4] along the diagonal: {}",
            along.join(" ")
        );
        println!(
            "seed {}: draws x̄ {x_draws:.3} mass {m_draws:.3} | corrector's law x̄ {x_learned:.3} mass {m_learned:.3} | bridge x̄ {x_bridge:.3} mass {m_bridge:.3} | ψ gap {:.3} against {:.3}",
            config.seed,
            gap(&psi),
            gap(&log_phi_hat)
        );
    }

    #[test]
    fn paths_share_a_source_draw_in_groups_whose_weights_average_to_one() {
        // paths_per_source m: rows come in groups of m paths from one X_0, and each row's
        // weight is divided by its group's mean, so the groups' mean weight is 1 (module doc).
        let config = Config::from_partial(&serde_json::json!({
            "sampler": "asbs", "energy": "seed-gmm", "source": "seed", "whiten": false,
            "paths": 64, "steps": 10, "hidden": 8, "layers": 2, "weighted_replay": true,
            "paths_per_source": 8, "seed": 3
        }))
        .unwrap();
        let target = Target::new(&config.energy, config.temperature).unwrap();
        let mut s = AsbsSampler::new(&config.settings(), target.energy.clone(), true).unwrap();
        while s.phase() == Phase::Rollout {
            s.work().unwrap();
        }
        assert_eq!(s.buffer.len(), 64);
        let mut spread = 0f64;
        for g in 0..8 {
            let rows: Vec<&[f32]> = (0..8).map(|i| s.buffer.row(8 * g + i)).collect();
            for r in &rows {
                assert_eq!(&r[..2], &rows[0][..2], "group {g} shares X_0");
            }
            let mean = rows.iter().map(|r| (r[6] as f64).exp()).sum::<f64>() / 8.0;
            assert!((mean - 1.0).abs() < 1e-5, "group {g}: mean weight {mean}");
            let (lo, hi) = rows.iter().fold((f64::MAX, f64::MIN), |(lo, hi), r| {
                (lo.min(r[6] as f64), hi.max(r[6] as f64))
            });
            spread = spread.max(hi - lo);
        }
        // The weights still tell the paths of a group apart.
        assert!(spread > 0.1, "log-weight spread within groups {spread}");
        assert_ne!(s.buffer.row(0)[..2], s.buffer.row(8)[..2], "groups differ");
        // Refused where it means nothing, and where groups would not fill the paths.
        for (bad, needle) in [
            (
                serde_json::json!({"sampler": "adjoint", "weighted_replay": true, "paths_per_source": 4}),
                "asbs",
            ),
            (
                serde_json::json!({"sampler": "asbs", "weighted_replay": false, "paths_per_source": 4}),
                "weighted_replay",
            ),
            (
                serde_json::json!({"sampler": "asbs", "weighted_replay": true, "source": "point", "paths_per_source": 4}),
                "non-point",
            ),
            (
                serde_json::json!({"sampler": "asbs", "weighted_replay": true, "paths": 100, "paths_per_source": 8}),
                "multiple",
            ),
        ] {
            let err = Config::from_partial(&bad).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn weighted_replay_rows_follow_the_target() {
        // The base ends at N(0, ν₁ I), ν₁ ≈ 1; the target N(0, τ I) with τ = 0.5. The path
        // weights of the untrained sampler are ν/p₀¹ (its Girsanov term is 0), so rows
        // drawn by weight have second moment τ while uniform rows have ν₁ (docs/methods.md §7).
        let (uniform, weighted) = replay_second_moments(0.5);
        assert!(
            (uniform - 1.0).abs() < 0.06,
            "uniform rows: E[x²] {uniform}"
        );
        assert!(
            (weighted - 0.5).abs() < 0.04,
            "weighted rows: E[x²] {weighted}"
        );
    }
}
