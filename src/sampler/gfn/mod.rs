//! Diffusion samplers trained as continuous GFlowNets (Sendera et al. 2024; docs/methods.md §5):
//! one sampler, six objectives (TB, VarGrad, DB, SubTB, FL-SubTB, PIS), and the
//! modifiers exploration, Langevin parametrization, learned variance and local search.
//!
//! An outer iteration is a batch of B trajectories x_0 = 0, x_1, …, x_T and one gradient
//! step on it. Work units: one time step of the batch's rollout, one MALA step of local
//! search, or one time step's share of the backward pass; the last unit takes the Adam
//! steps. Off-policy objectives keep each step's network workspace from the rollout, so
//! their backward pass needs no second forward pass.
//!
//! Iterations: without local search every iteration rolls out fresh forward trajectories
//! (with exploration noise ε). With local search (docs/methods.md §5) even iterations do so and
//! store their terminal states in D; odd iterations first run local search when
//! it % ls_every == 1 (100 in the paper) (200 MALA steps from B rank-prioritized states of D, accepted proposals
//! after step 100 into D_LS), then train on backward trajectories from D_LS states.

// Per-trajectory loops index several parallel arrays (states, log-probabilities, weights).
#![allow(clippy::needless_range_loop)]

pub mod buffers;
pub mod objectives;
pub mod policy;

use self::buffers::StateBuffer;
pub use self::objectives::Objective;
use self::objectives::{subtrajectory_balance, subtrajectory_weights, trajectory_balance, vargrad};
use self::policy::{
    clipped_score, forward_log_prob, forward_log_prob_gradients, log_normal, BackwardPolicy,
    ForwardPolicy, StepOutputs,
};
use super::mala::MalaChains;
use super::registry::{settings, Capabilities, Family, Flat, FromFlat, SamplerInfo};
use super::rollout::{DRAW_CHUNK, TRAJECTORIES};
use super::{GfnObservation, Observation, Phase, Rollout, Sampler, Trajectories, Work};
use crate::energy::Energy;
use crate::nn::{Activation, Adam, Mlp, Workspace};
use crate::rng::Rng;
use crate::state::StateMap;
use ndarray::Array2;
use std::sync::Arc;

/// SubTB's λ (docs/methods.md §5).
pub const SUBTB_LAMBDA: f64 = 2.0;
/// MALA steps per local search, and the step after which accepted proposals are kept.
pub const LS_STEPS: usize = 200;
pub const LS_BURN_IN: usize = 100;
/// MALA's target acceptance rate (docs/methods.md §5).
pub const LS_TARGET_ACCEPTANCE: f64 = 0.574;
/// MALA's first step size η; later searches start from the last adapted η.
pub const LS_INITIAL_STEP: f64 = 0.01;

/// The GFlowNet samplers' settings (docs/methods.md §5), taken by name from the flat
/// configuration.
#[derive(Clone, Debug)]
pub struct GfnSettings {
    pub seed: u64,
    /// T: time steps of a trajectory.
    pub steps: usize,
    /// B: trajectories per iteration.
    pub batch: usize,
    /// Capacity of local search's buffers D and D_LS.
    pub buffer_capacity: usize,
    pub lr: f64,
    pub hidden: usize,
    pub layers: usize,
    pub activation: Activation,
    /// σ² of the discretized base process.
    pub t_scale: f64,
    /// Exploration ε₀ (0 = none), decayed linearly to 0 over the first half of `iters`.
    pub explore: f64,
    pub iters: usize,
    pub langevin: bool,
    pub local_search: bool,
    pub learned_variance: bool,
    /// Learning rate of TB's scalar log Z.
    pub lr_log_z: f64,
    /// Local search runs on odd iterations with it % ls_every == 1.
    pub ls_every: usize,
}

impl FromFlat for GfnSettings {
    fn from_flat(flat: &Flat) -> Result<Self, String> {
        Ok(GfnSettings {
            seed: flat.u64("seed")?,
            steps: flat.usize("steps")?,
            batch: flat.usize("batch")?,
            buffer_capacity: flat.usize("buffer_capacity")?,
            lr: flat.f64("lr")?,
            hidden: flat.usize("hidden")?,
            layers: flat.usize("layers")?,
            activation: flat.activation("activation")?,
            t_scale: flat.f64("t_scale")?,
            explore: flat.f64("explore")?,
            iters: flat.usize("iters")?,
            langevin: flat.bool("langevin")?,
            local_search: flat.bool("local_search")?,
            learned_variance: flat.bool("learned_variance")?,
            lr_log_z: flat.f64("lr_log_z")?,
            ls_every: flat.usize("ls_every")?,
        })
    }
}

/// Builds the GFlowNet sampler with `objective` from the flat configuration.
pub fn build(
    objective: Objective,
    flat: &serde_json::Value,
    energy: Arc<dyn Energy>,
) -> Result<Box<dyn Sampler>, String> {
    Ok(Box::new(GfnSampler::new(
        objective,
        &settings(flat)?,
        energy,
    )?))
}

/// The keys every off-policy objective reads; TB adds `lr_log_z`.
const OFF_POLICY_SETTINGS: &[&str] = &[
    "seed",
    "energy",
    "temperature",
    "whiten",
    "steps",
    "batch",
    "buffer_capacity",
    "lr",
    "hidden",
    "layers",
    "activation",
    "t_scale",
    "explore",
    "iters",
    "langevin",
    "local_search",
    "learned_variance",
    "ls_every",
];
const OFF_POLICY_KEEPS: &[&str] = &["lr", "explore", "ls_every", "iters"];
const GFN_LABELS: &[(&str, &str)] = &[("steps", "Time steps T"), ("batch", "Trajectories B")];
const GFN_CAPABILITIES: Capabilities = Capabilities {
    source: false,
    stages: false,
    shared_rollout: false,
    path_weights: true,
};

/// One GFlowNet objective's identity; the modules differ in their loss alone.
const fn gfn_info(
    name: &'static str,
    label: &'static str,
    description: &'static str,
    explanation: &'static str,
    settings: &'static [&'static str],
    keeps_progress: &'static [&'static str],
) -> SamplerInfo {
    SamplerInfo {
        name,
        label,
        description,
        explanation,
        family: Family::Gflownet,
        dims: None,
        settings,
        keeps_progress,
        labels: GFN_LABELS,
        capabilities: GFN_CAPABILITIES,
    }
}

pub const TB: SamplerInfo = gfn_info(
    "tb",
    "GFlowNet: trajectory balance (TB)",
    "diffusion sampler trained by trajectory balance (Sendera et al. 2024)",
    "Each iteration rolls out a batch of T-step paths from x₀ = 0 under the learned forward policy p_F (with exploration noise ε early on) and takes one gradient step on trajectory balance: ½(log Z + S_F − S_B − log R)² per path, against the fixed Brownian-bridge backward policy p_B. With local search, odd iterations instead train on paths drawn backward from D_LS, the states MALA accepted near the best samples in D. Paths are coloured by that residual: 0 is balanced.",
    &[
        "seed", "energy", "temperature", "whiten", "steps", "batch", "buffer_capacity", "lr",
        "hidden", "layers", "activation", "t_scale", "explore", "iters", "langevin",
        "local_search", "learned_variance", "ls_every", "lr_log_z",
    ],
    &["lr", "explore", "ls_every", "iters", "lr_log_z"],
);

pub const VARGRAD: SamplerInfo = gfn_info(
    "vargrad",
    "GFlowNet: VarGrad",
    "diffusion sampler trained by the log-variance (VarGrad) loss",
    "As TB, but without a learned log Z: the loss is the batch variance of S_F − S_B − log R (the log-variance or VarGrad loss). Paths are coloured by their residual against the batch's mean log weight.",
    OFF_POLICY_SETTINGS,
    OFF_POLICY_KEEPS,
);

pub const DB: SamplerInfo = gfn_info(
    "db",
    "GFlowNet: detailed balance (DB)",
    "diffusion sampler trained by detailed balance with a learned flow",
    "Detailed balance: every step i → i+1 must balance log F(x_i) + log p_F = log F(x_{i+1}) + log p_B with a learned state flow F (F at t = 1 is R). Paths are coloured by log F(x₀) + S_F − S_B − log R.",
    OFF_POLICY_SETTINGS,
    OFF_POLICY_KEEPS,
);

pub const SUBTB: SamplerInfo = gfn_info(
    "subtb",
    "GFlowNet: SubTB",
    "diffusion sampler trained by subtrajectory balance (λ = 2)",
    "Subtrajectory balance: the balance condition on every sub-path i → j, weighted by λ^(j−i) with λ = 2, with a learned state flow. Paths are coloured by log F(x₀) + S_F − S_B − log R.",
    OFF_POLICY_SETTINGS,
    OFF_POLICY_KEEPS,
);

pub const FL_SUBTB: SamplerInfo = gfn_info(
    "fl-subtb",
    "GFlowNet: FL-SubTB",
    "SubTB with the forward-looking flow log F = NN + interpolated log densities",
    "SubTB with a forward-looking flow: log F = NN + (1 − t)·log N(x; 0, σ²t) + t·log R(x), so the flow starts from the target's own energy. Paths are coloured by log F(x₀) + S_F − S_B − log R.",
    OFF_POLICY_SETTINGS,
    OFF_POLICY_KEEPS,
);

pub const PIS: SamplerInfo = gfn_info(
    "pis",
    "Path integral sampler (PIS)",
    "path integral sampler: on-policy, gradient through the whole trajectory",
    "The path integral sampler trains on-policy: the loss (1/d)·mean(S_F − S_B − log R) is differentiated through the whole rollout (input vector–Jacobian products of the network and ∇log R at the end). No exploration, local search or Langevin parametrization.",
    &[
        "seed", "energy", "temperature", "whiten", "steps", "batch", "lr", "hidden", "layers",
        "activation", "t_scale", "learned_variance",
    ],
    &["lr"],
);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Between iterations.
    Begin,
    /// MALA step k of local search.
    LocalSearch(usize),
    /// Forward rollout: next step to take is i (x_i → x_{i+1}).
    Forward(usize),
    /// Backward rollout: next state to draw is x_i.
    Backward(usize),
    /// Backward pass: k-th step of the gradient accumulation.
    Train(usize),
}

/// Local search's state: the two buffers and the chains of a search in progress.
#[derive(Clone)]
struct LocalSearch {
    /// Searches start on odd iterations with it % every == 1 (`ls_every`).
    every: usize,
    /// D: terminal states of forward trajectories.
    terminal: StateBuffer,
    /// D_LS: accepted MALA proposals.
    accepted: StateBuffer,
    chains: Option<MalaChains>,
    step_size: f64,
    /// The last MALA step's acceptances.
    flags: Vec<bool>,
}

/// The per-iteration trajectory batch (B trajectories, T steps, d dimensions).
#[derive(Clone)]
struct Batch {
    /// x_i of trajectory b at `xs[(i·B + b)·d ..]`, i = 0..=T.
    xs: Vec<f64>,
    /// log p_F(x_{i+1}|x_i) and log p_B(x_i|x_{i+1}) at [i·B + b].
    lf: Vec<f64>,
    lb: Vec<f64>,
    /// log R(x_i) at [i·B + b]: row T always, rows 1..T for FL-SubTB.
    log_r: Vec<f64>,
    /// μ, ℓ (T·B·d) and the network output (T·B·out) of every step.
    mu: Vec<f64>,
    ell: Vec<f64>,
    raw: Vec<f32>,
    /// LP: clipped score at x_i (T·B·d) and NN2(t_i) (T).
    score: Vec<f64>,
    scale: Vec<f64>,
    /// log F(x_i, t_i) at [i·B + b], row T = log R(x_T).
    log_f: Vec<f64>,
    d_lf: Vec<f64>,
    d_log_f: Vec<f64>,
    d_log_z: f64,
    /// PIS: dJ/dx_{i+1} carried backwards (B·d).
    adjoint: Vec<f64>,
    /// Whether the batch came from a forward rollout (its path weights estimate Z).
    forward: bool,
    explore: f64,
}

#[derive(Clone)]
pub struct GfnSampler {
    objective: Objective,
    dim: usize,
    energy: Arc<dyn Energy>,
    steps: usize,
    batch_size: usize,
    dt: f64,
    backward: BackwardPolicy,
    policy: ForwardPolicy,
    adam: Adam,
    langevin_adam: Option<Adam>,
    flow: Option<Mlp>,
    flow_adam: Option<Adam>,
    /// TB's log Z, and its optimizer with its own learning rate.
    log_z: Vec<f32>,
    log_z_adam: Adam,
    /// ε_0 and the iterations over which ε decays linearly to 0.
    explore: f64,
    explore_iters: usize,
    local_search: Option<LocalSearch>,
    subtb_weights: Vec<f64>,
    rng: Rng,
    iteration: usize,
    stage: Stage,
    batch: Batch,
    /// One network workspace per time step, kept from forward pass to backward pass.
    ws: StepWorkspaces,
    ws_langevin: StepWorkspaces,
    ws_flow: StepWorkspaces,
    inputs: Array2<f32>,
    grad_out: Array2<f32>,
    flow_grad_out: Array2<f32>,
    grad_input: Array2<f32>,
    grad: Vec<f32>,
    grad_step: Vec<f32>,
    langevin_grad: Vec<f32>,
    langevin_grad_step: Vec<f32>,
    flow_grad: Vec<f32>,
    flow_grad_step: Vec<f32>,
    d_mu: Vec<f64>,
    d_ell: Vec<f64>,
    grad_e: Vec<f64>,
    particles: Vec<f32>,
    particle_time: f64,
    trajectories: Vec<f32>,
    /// Per shown trajectory: log Z_ref + S_F − S_B − log R (see [`GfnSampler::residual_reference`]).
    trajectory_residuals: Vec<f32>,
    /// Whether the shown trajectories were drawn backward from D_LS (local search).
    trajectories_backward: bool,
    last: Option<Rollout>,
    loss: f64,
}

/// Per-step network workspaces. They hold nothing between iterations, so a copy (Run's
/// snapshot after every iteration) starts empty instead of copying T workspaces; they grow
/// back on the next iteration's forward passes.
struct StepWorkspaces(Vec<Workspace>);

impl StepWorkspaces {
    fn new(steps: usize) -> StepWorkspaces {
        StepWorkspaces(vec![Workspace::new(); steps])
    }
}

impl Clone for StepWorkspaces {
    fn clone(&self) -> StepWorkspaces {
        StepWorkspaces::new(self.0.len())
    }
}

impl std::ops::Index<usize> for StepWorkspaces {
    type Output = Workspace;
    fn index(&self, i: usize) -> &Workspace {
        &self.0[i]
    }
}

impl std::ops::IndexMut<usize> for StepWorkspaces {
    fn index_mut(&mut self, i: usize) -> &mut Workspace {
        &mut self.0[i]
    }
}

/// Gradients of the last iteration's loss (before its Adam step), for tests.
pub struct Gradients<'a> {
    pub policy: &'a [f32],
    pub langevin: Option<&'a [f32]>,
    pub flow: Option<&'a [f32]>,
    pub log_z: f64,
}

impl GfnSampler {
    pub fn new(
        objective: Objective,
        settings: &GfnSettings,
        energy: Arc<dyn Energy>,
    ) -> Result<GfnSampler, String> {
        if objective == Objective::Pis {
            // PIS is on-policy and reparameterized: exploration and replay have no place,
            // and LP's drift would need the Hessian of log R in the backward pass.
            if settings.explore > 0.0 || settings.local_search || settings.langevin {
                return Err(
                    "pis: exploration, local search and the Langevin parametrization apply to \
                     the off-policy objectives only"
                        .into(),
                );
            }
        }
        if !(settings.t_scale.is_finite() && settings.t_scale > 0.0) {
            return Err(format!(
                "t_scale must be positive, got {}",
                settings.t_scale
            ));
        }
        let d = energy.dim();
        let (steps, b) = (settings.steps, settings.batch);
        let dt = 1.0 / steps as f64;
        let mut rng = Rng::new(settings.seed);
        let policy = ForwardPolicy::new(
            d,
            settings.hidden,
            settings.layers,
            settings.activation,
            settings.learned_variance,
            settings.langevin,
            settings.t_scale,
            &mut rng,
        );
        let flow = objective.has_flow().then(|| {
            let mut sizes = vec![policy.in_dim()];
            sizes.extend(std::iter::repeat_n(settings.hidden, settings.layers));
            sizes.push(1);
            Mlp::new(&sizes, settings.activation, &mut rng)
        });
        let out = policy.out_dim();
        let in_dim = policy.in_dim();
        let n_params = policy.net.n_params();
        let n_lp = policy.langevin.as_ref().map_or(0, |m| m.n_params());
        let n_flow = flow.as_ref().map_or(0, |m| m.n_params());
        let lr = settings.lr as f32;
        let traj = TRAJECTORIES.min(b);
        Ok(GfnSampler {
            objective,
            dim: d,
            energy,
            steps,
            batch_size: b,
            dt,
            backward: BackwardPolicy {
                sigma2: settings.t_scale,
                dt,
            },
            adam: Adam::new(n_params, lr),
            langevin_adam: policy
                .langevin
                .as_ref()
                .map(|m| Adam::new(m.n_params(), lr)),
            flow_adam: flow.as_ref().map(|m| Adam::new(m.n_params(), lr)),
            flow,
            policy,
            log_z: vec![0.0],
            log_z_adam: Adam::new(1, settings.lr_log_z as f32),
            explore: settings.explore,
            explore_iters: (settings.iters / 2).max(1),
            local_search: settings.local_search.then(|| LocalSearch {
                every: settings.ls_every,
                terminal: StateBuffer::new(settings.buffer_capacity, d),
                accepted: StateBuffer::new(settings.buffer_capacity, d),
                chains: None,
                step_size: LS_INITIAL_STEP,
                flags: Vec::with_capacity(b),
            }),
            subtb_weights: subtrajectory_weights(objective, steps, SUBTB_LAMBDA),
            rng,
            iteration: 0,
            stage: Stage::Begin,
            batch: Batch {
                xs: vec![0.0; (steps + 1) * b * d],
                lf: vec![0.0; steps * b],
                lb: vec![0.0; steps * b],
                log_r: vec![0.0; (steps + 1) * b],
                mu: vec![0.0; steps * b * d],
                ell: vec![0.0; steps * b * d],
                raw: vec![0.0; steps * b * out],
                score: if settings.langevin {
                    vec![0.0; steps * b * d]
                } else {
                    Vec::new()
                },
                scale: vec![0.0; steps],
                log_f: vec![0.0; (steps + 1) * b],
                d_lf: vec![0.0; steps * b],
                d_log_f: vec![0.0; (steps + 1) * b],
                d_log_z: 0.0,
                adjoint: vec![0.0; b * d],
                forward: true,
                explore: 0.0,
            },
            ws: StepWorkspaces::new(steps),
            ws_langevin: StepWorkspaces::new(if n_lp > 0 { steps } else { 0 }),
            ws_flow: StepWorkspaces::new(if n_flow > 0 { steps } else { 0 }),
            inputs: Array2::zeros((b, in_dim)),
            grad_out: Array2::zeros((b, out)),
            flow_grad_out: Array2::zeros((b, 1)),
            grad_input: Array2::zeros((b, in_dim)),
            grad: vec![0.0; n_params],
            grad_step: vec![0.0; n_params],
            langevin_grad: vec![0.0; n_lp],
            langevin_grad_step: vec![0.0; n_lp],
            flow_grad: vec![0.0; n_flow],
            flow_grad_step: vec![0.0; n_flow],
            d_mu: vec![0.0; b * d],
            d_ell: vec![0.0; b * d],
            grad_e: vec![0.0; d],
            particles: vec![0.0; b * d],
            particle_time: 0.0,
            trajectories: vec![0.0; traj * (steps + 1) * d],
            trajectory_residuals: vec![0.0; traj],
            trajectories_backward: false,
            last: None,
            loss: 0.0,
        })
    }

    pub fn objective(&self) -> Objective {
        self.objective
    }

    pub fn policy(&self) -> &ForwardPolicy {
        &self.policy
    }

    pub fn policy_mut(&mut self) -> &mut ForwardPolicy {
        &mut self.policy
    }

    pub fn flow_mut(&mut self) -> Option<&mut Mlp> {
        self.flow.as_mut()
    }

    /// TB's learned log Z (for the other objectives, log F(x_0, 0) plays its part).
    pub fn log_z(&self) -> f64 {
        self.log_z[0] as f64
    }

    pub fn set_log_z(&mut self, v: f64) {
        self.log_z[0] = v as f32;
    }

    /// The exploration ε of iteration `it`: ε_0 decaying linearly to 0 over the first half
    /// of training (docs/methods.md §5).
    pub fn exploration_at(&self, it: usize) -> f64 {
        self.explore * (1.0 - it as f64 / self.explore_iters as f64).max(0.0)
    }

    /// States of the local-search buffers D and D_LS (n × d each), if local search is on.
    /// The log Z that a trajectory's balance residual log Z + S_F − S_B − log R is taken
    /// against (docs/methods.md §5): TB's learned log Z; the learned flow log F(x_0, 0) for DB,
    /// SubTB and FL-SubTB; for VarGrad and PIS, which learn none, the batch mean of
    /// S_B + log R − S_F (VarGrad's implicit log Z), so their residuals are centred.
    /// Reads the current batch: call after its rollout.
    fn residual_reference(&self) -> f64 {
        let (b, t) = (self.batch_size, self.steps);
        match self.objective {
            Objective::Tb => self.log_z[0] as f64,
            Objective::Db | Objective::SubTb | Objective::FlSubTb => self.batch.log_f[0],
            Objective::VarGrad | Objective::Pis => {
                let bt = &self.batch;
                -(0..b)
                    .map(|p| objectives::path_residual(&bt.lf, &bt.lb, bt.log_r[t * b + p], p, b))
                    .sum::<f64>()
                    / b as f64
            }
        }
    }

    /// The balance residual of each trajectory that [`Observation::trajectories`] shows, from
    /// the same batch (forward, or backward from D_LS: see [`GfnObservation::backward`]).
    pub fn trajectory_residuals(&self) -> &[f32] {
        &self.trajectory_residuals
    }

    /// What [`GfnSampler::trajectory_residuals`] take as log Z, for a legend.
    pub fn residual_reference_name(&self) -> &'static str {
        match self.objective {
            Objective::Tb => "log Z",
            Objective::Db | Objective::SubTb | Objective::FlSubTb => "log F(x₀)",
            Objective::VarGrad | Objective::Pis => "batch mean",
        }
    }

    /// TB's learned log Z, None for the other objectives.
    pub fn learned_log_z(&self) -> Option<f64> {
        (self.objective == Objective::Tb).then(|| self.log_z[0] as f64)
    }

    pub fn local_search_buffers(&self) -> Option<(&[f64], &[f64])> {
        self.local_search
            .as_ref()
            .map(|ls| (ls.terminal.states(), ls.accepted.states()))
    }

    /// The current batch: states (T+1)·B·d, log p_F and log p_B (T·B), log R(x_T) (B).
    pub fn batch_view(&self) -> (&[f64], &[f64], &[f64], &[f64]) {
        let b = self.batch_size;
        (
            &self.batch.xs,
            &self.batch.lf,
            &self.batch.lb,
            &self.batch.log_r[self.steps * b..],
        )
    }

    /// The loss's gradients accumulated by the last backward pass.
    pub fn gradients(&self) -> Gradients<'_> {
        Gradients {
            policy: &self.grad,
            langevin: self
                .policy
                .langevin
                .as_ref()
                .map(|_| &self.langevin_grad[..]),
            flow: self.flow.as_ref().map(|_| &self.flow_grad[..]),
            log_z: self.batch.d_log_z,
        }
    }

    /// One iteration's rollout and backward pass without the Adam step; returns the loss.
    /// (The gradient tests compare `gradients()` with finite differences of this.)
    pub fn rollout_and_gradients(&mut self) -> Result<f64, String> {
        self.stage = Stage::Begin;
        loop {
            if self.stage == Stage::Train(self.steps - 1) {
                // The last unit's accumulation, without its Adam step.
                self.train_step(self.steps - 1);
                self.stage = Stage::Begin;
                return Ok(self.loss);
            }
            self.unit()?;
        }
    }

    /// Re-evaluates the loss and its gradients on the stored (detached) trajectories with
    /// the current parameters: every step's forward pass again, then the backward pass.
    /// Off-policy objectives only.
    pub fn loss_on_stored_batch(&mut self) -> Result<f64, String> {
        assert!(
            self.objective != Objective::Pis,
            "PIS has no detached batch"
        );
        for i in 0..self.steps {
            self.evaluate_step(i);
        }
        self.finish_rollout()?;
        for k in 0..self.steps {
            self.train_step(k);
        }
        Ok(self.loss)
    }

    fn begin_iteration(&mut self) -> Result<(), String> {
        let it = self.iteration;
        let (b, d) = (self.batch_size, self.dim);
        let use_backward = match &self.local_search {
            Some(ls) => it % 2 == 1 && (!ls.terminal.is_empty() || !ls.accepted.is_empty()),
            None => false,
        };
        if use_backward {
            let ls = self.local_search.as_mut().expect("local search");
            if it % ls.every == 1 && !ls.terminal.is_empty() {
                let picks = ls.terminal.rank_prioritized(b, &mut self.rng);
                let mut x0 = Vec::with_capacity(b * d);
                for &i in &picks {
                    x0.extend_from_slice(ls.terminal.state(i));
                }
                ls.chains = Some(MalaChains::new(self.energy.as_ref(), &x0, ls.step_size));
                self.stage = Stage::LocalSearch(0);
                return Ok(());
            }
            if !ls.accepted.is_empty() {
                self.start_backward();
                return Ok(());
            }
        }
        self.batch.forward = true;
        self.batch.explore = self.exploration_at(it);
        self.batch.xs[..b * d].fill(0.0);
        self.stage = Stage::Forward(0);
        Ok(())
    }

    /// Backward trajectories from B uniform draws of D_LS.
    fn start_backward(&mut self) {
        let (b, d, t) = (self.batch_size, self.dim, self.steps);
        let ls = self.local_search.as_ref().expect("local search");
        for p in 0..b {
            let j = ls.accepted.uniform_index(&mut self.rng);
            let at = (t * b + p) * d;
            self.batch.xs[at..at + d].copy_from_slice(ls.accepted.state(j));
            self.batch.log_r[t * b + p] = ls.accepted.log_r(j);
        }
        self.batch.forward = false;
        self.batch.explore = 0.0;
        self.stage = Stage::Backward(t - 1);
    }

    fn local_search_step(&mut self, k: usize) {
        let ls = self.local_search.as_mut().expect("local search");
        let chains = ls.chains.as_mut().expect("chains of a search in progress");
        ls.flags.clear();
        ls.flags
            .extend_from_slice(chains.step(self.energy.as_ref(), &mut self.rng));
        let rate = ls.flags.iter().filter(|&&a| a).count() as f64 / ls.flags.len() as f64;
        if k >= LS_BURN_IN {
            let d = self.dim;
            for (p, &a) in ls.flags.iter().enumerate() {
                if a {
                    ls.accepted
                        .push(&chains.states()[p * d..(p + 1) * d], chains.log_r()[p]);
                }
            }
        }
        chains.adapt(rate, LS_TARGET_ACCEPTANCE);
        for (q, &v) in self.particles.iter_mut().zip(chains.states()) {
            *q = v as f32;
        }
        self.particle_time = 1.0;
        if k + 1 == LS_STEPS {
            ls.step_size = chains.step_size();
            ls.chains = None;
        }
    }

    /// Policy (and flow) outputs at x_i for step i, with log p_F and log p_B of the stored
    /// x_{i+1}; for FL-SubTB log R(x_i) too.
    fn evaluate_step(&mut self, i: usize) {
        self.policy_outputs(i);
        self.step_log_probs(i);
        self.flow_outputs(i);
    }

    /// LP's score, NN2(t_i), and μ, ℓ at the batch's x_i.
    fn policy_outputs(&mut self, i: usize) {
        let (b, d) = (self.batch_size, self.dim);
        let t = i as f64 * self.dt;
        let x = &self.batch.xs[i * b * d..(i + 1) * b * d];
        let lp = self.policy.langevin.is_some();
        if lp {
            let score = &mut self.batch.score[i * b * d..(i + 1) * b * d];
            for (xp, sp) in x.chunks_exact(d).zip(score.chunks_exact_mut(d)) {
                self.energy.energy_grad(xp, &mut self.grad_e);
                clipped_score(&self.grad_e, sp);
            }
            self.batch.scale[i] = self.policy.langevin_scale(t, &mut self.ws_langevin[i]);
        }
        let out = self.policy.out_dim();
        self.policy.outputs(
            x,
            t,
            lp.then(|| &self.batch.score[i * b * d..(i + 1) * b * d]),
            self.batch.scale[i],
            &mut self.inputs,
            &mut self.ws[i],
            StepOutputs {
                mu: &mut self.batch.mu[i * b * d..(i + 1) * b * d],
                ell: &mut self.batch.ell[i * b * d..(i + 1) * b * d],
                raw: &mut self.batch.raw[i * b * out..(i + 1) * b * out],
            },
        );
    }

    fn step_log_probs(&mut self, i: usize) {
        let (b, d) = (self.batch_size, self.dim);
        let (head, tail) = self.batch.xs.split_at((i + 1) * b * d);
        let x = &head[i * b * d..];
        let next = &tail[..b * d];
        for p in 0..b {
            let r = p * d..(p + 1) * d;
            let m = (i * b + p) * d..(i * b + p + 1) * d;
            self.batch.lf[i * b + p] = forward_log_prob(
                &x[r.clone()],
                &next[r.clone()],
                &self.batch.mu[m.clone()],
                &self.batch.ell[m],
                self.dt,
            );
            self.batch.lb[i * b + p] = self.backward.log_prob(i, &x[r.clone()], &next[r]);
        }
    }

    /// log F(x_i, t_i) = NN_F (+ the forward-looking terms for FL-SubTB).
    fn flow_outputs(&mut self, i: usize) {
        let Some(flow) = &self.flow else {
            return;
        };
        let (b, d) = (self.batch_size, self.dim);
        let t = i as f64 * self.dt;
        let x = &self.batch.xs[i * b * d..(i + 1) * b * d];
        self.policy.fill_inputs(x, t, &mut self.inputs);
        let f = flow.forward(self.inputs.view(), &mut self.ws_flow[i]);
        let fl = self.objective == Objective::FlSubTb;
        // FL-SubTB: log F = NN_F + (1−t)·log N(x; 0, σ² max(i,1)Δt I) + t·log R(x).
        let v = self.backward.sigma2 * (i.max(1) as f64) * self.dt;
        for p in 0..b {
            let mut lf = f[[p, 0]] as f64;
            if fl {
                lf += (1.0 - t) * log_normal(&x[p * d..(p + 1) * d], |_| 0.0, v);
                if i > 0 {
                    lf += t * self.batch.log_r[i * b + p];
                }
            }
            self.batch.log_f[i * b + p] = lf;
        }
    }

    /// Samples x_{i+1} from the policy (std sqrt(Δt e^ℓ + ε²)) and scores it without ε.
    fn forward_step(&mut self, i: usize) {
        let (b, d) = (self.batch_size, self.dim);
        self.policy_outputs(i);
        let eps2 = self.batch.explore * self.batch.explore;
        {
            let (head, tail) = self.batch.xs.split_at_mut((i + 1) * b * d);
            let x = &head[i * b * d..];
            let next = &mut tail[..b * d];
            let mu = &self.batch.mu[i * b * d..(i + 1) * b * d];
            let ell = &self.batch.ell[i * b * d..(i + 1) * b * d];
            for k in 0..b * d {
                let sd = (self.dt * ell[k].exp() + eps2).sqrt();
                next[k] = x[k] + self.dt * mu[k] + sd * self.rng.normal();
            }
        }
        self.step_log_probs(i);
        self.after_new_states(i + 1);
        self.flow_outputs(i);
    }

    /// Draws x_i ~ p_B(·|x_{i+1}) and evaluates the policy there.
    fn backward_step(&mut self, i: usize) {
        let (b, d) = (self.batch_size, self.dim);
        {
            let (head, tail) = self.batch.xs.split_at_mut((i + 1) * b * d);
            let x = &mut head[i * b * d..];
            let next = &tail[..b * d];
            for p in 0..b {
                let r = p * d..(p + 1) * d;
                self.backward
                    .sample(i, &next[r.clone()], &mut x[r], &mut self.rng);
            }
        }
        if i > 0 && self.objective.needs_intermediate_log_r() {
            for p in 0..b {
                let at = (i * b + p) * d;
                self.batch.log_r[i * b + p] = -self.energy.energy(&self.batch.xs[at..at + d]);
            }
        }
        self.evaluate_step(i);
        self.show_particles(i);
    }

    /// log R at the new states x_j where needed; the particles shown.
    fn after_new_states(&mut self, j: usize) {
        let (b, d) = (self.batch_size, self.dim);
        if j == self.steps || self.objective.needs_intermediate_log_r() {
            for p in 0..b {
                let at = (j * b + p) * d;
                self.batch.log_r[j * b + p] = -self.energy.energy(&self.batch.xs[at..at + d]);
            }
        }
        self.show_particles(j);
    }

    fn show_particles(&mut self, j: usize) {
        let (b, d) = (self.batch_size, self.dim);
        for (q, &v) in self
            .particles
            .iter_mut()
            .zip(&self.batch.xs[j * b * d..(j + 1) * b * d])
        {
            *q = v as f32;
        }
        self.particle_time = j as f64 * self.dt;
    }

    /// The loss and its gradients in log p_F, log F and log Z (or PIS's terminal adjoint),
    /// path weights and trajectories of the finished rollout.
    fn finish_rollout(&mut self) -> Result<(), String> {
        let (b, d, t) = (self.batch_size, self.dim, self.steps);
        if self.batch.xs.iter().any(|v| !v.is_finite()) {
            return Err(
                "trajectories became NaN or infinite; lower the learning rate or t_scale".into(),
            );
        }
        let bt = &mut self.batch;
        let log_r_t = &bt.log_r[t * b..];
        bt.log_f[t * b..].copy_from_slice(log_r_t);
        bt.d_log_z = 0.0;
        self.loss = match self.objective {
            Objective::Tb => {
                let (loss, dz) =
                    trajectory_balance(&bt.lf, &bt.lb, log_r_t, self.log_z[0] as f64, &mut bt.d_lf);
                bt.d_log_z = dz;
                loss
            }
            Objective::VarGrad => vargrad(&bt.lf, &bt.lb, log_r_t, &mut bt.d_lf),
            Objective::Db | Objective::SubTb | Objective::FlSubTb => subtrajectory_balance(
                &bt.lf,
                &bt.lb,
                &bt.log_f,
                &self.subtb_weights,
                &mut bt.d_lf,
                &mut bt.d_log_f,
            ),
            Objective::Pis => {
                // J_b = S_F − S_B − log R, loss (1/d)·mean_b J_b; the adjoint starts at
                // dJ/dx_T = −∇log R(x_T) − ∂log p_B(x_{T−1}|x_T)/∂x_T.
                let mut loss = 0.0;
                for p in 0..b {
                    loss += objectives::path_residual(&bt.lf, &bt.lb, log_r_t[p], p, b);
                    let xt = &bt.xs[(t * b + p) * d..(t * b + p + 1) * d];
                    let a = &mut bt.adjoint[p * d..(p + 1) * d];
                    self.energy.energy_grad(xt, a);
                    let xp = &bt.xs[((t - 1) * b + p) * d..((t - 1) * b + p + 1) * d];
                    self.backward
                        .add_gradients(t - 1, xp, xt, -1.0, None, Some(a));
                }
                loss / (b * d) as f64
            }
        };
        if !self.loss.is_finite() {
            return Err(format!(
                "the {} loss is {}; lower the learning rate",
                self.objective.name(),
                self.loss
            ));
        }
        if self.batch.forward {
            let samples: Vec<f32> = self.batch.xs[t * b * d..]
                .iter()
                .map(|&v| v as f32)
                .collect();
            let log_weights = (0..b)
                .map(|p| {
                    -objectives::path_residual(
                        &self.batch.lf,
                        &self.batch.lb,
                        log_r_t_of(&self.batch, t, b)[p],
                        p,
                        b,
                    )
                })
                .collect();
            self.last = Some(Rollout {
                samples,
                log_weights: Some(log_weights),
            });
            if let Some(ls) = &mut self.local_search {
                for p in 0..b {
                    let at = (t * b + p) * d;
                    ls.terminal
                        .push(&self.batch.xs[at..at + d], self.batch.log_r[t * b + p]);
                }
            }
        }
        let k = self.trajectories.len() / ((t + 1) * d);
        for p in 0..k {
            for i in 0..=t {
                let at = (i * b + p) * d;
                for c in 0..d {
                    self.trajectories[(p * (t + 1) + i) * d + c] = self.batch.xs[at + c] as f32;
                }
            }
        }
        let reference = self.residual_reference();
        let bt = &self.batch;
        for p in 0..k {
            let r = objectives::path_residual(&bt.lf, &bt.lb, bt.log_r[t * b + p], p, b);
            self.trajectory_residuals[p] = (reference + r) as f32;
        }
        self.trajectories_backward = !self.batch.forward;
        self.grad.fill(0.0);
        self.langevin_grad.fill(0.0);
        self.flow_grad.fill(0.0);
        Ok(())
    }

    /// The k-th unit of the backward pass: step i = k (off-policy) or T−1−k (PIS, which
    /// carries the adjoint backwards in time).
    fn train_step(&mut self, k: usize) {
        let (b, d) = (self.batch_size, self.dim);
        let pis = self.objective == Objective::Pis;
        let i = if pis { self.steps - 1 - k } else { k };
        let m = i * b * d..(i + 1) * b * d;
        let (xs, bt) = (&self.batch.xs, &self.batch);
        let x = &xs[m.clone()];
        let next = &xs[(i + 1) * b * d..(i + 2) * b * d];
        for p in 0..b {
            let r = p * d..(p + 1) * d;
            let (mu, ell) = (
                &bt.mu[m.start + r.start..m.start + r.end],
                &bt.ell[m.start + r.start..m.start + r.end],
            );
            if pis {
                // dJ/dμ = Δt·a_{i+1}; dJ/dℓ = −½ + a_{i+1}·r/2 (x_{i+1} moves with the
                // noise scale sqrt(Δt e^ℓ), and log p_F's own −½ log variance).
                for c in 0..d {
                    let a = bt.adjoint[p * d + c];
                    let res = next[r.start + c] - x[r.start + c] - self.dt * mu[c];
                    self.d_mu[p * d + c] = self.dt * a;
                    self.d_ell[p * d + c] = -0.5 + 0.5 * a * res;
                }
            } else {
                forward_log_prob_gradients(
                    &x[r.clone()],
                    &next[r.clone()],
                    mu,
                    ell,
                    self.dt,
                    bt.d_lf[i * b + p],
                    &mut self.d_mu[r.clone()],
                    &mut self.d_ell[r],
                );
            }
        }
        let out = self.policy.out_dim();
        let lp = self.policy.langevin.is_some();
        let d_scale = self.policy.output_gradient(
            &bt.raw[i * b * out..(i + 1) * b * out],
            lp.then(|| &bt.score[m.clone()]),
            bt.scale[i],
            &self.d_mu,
            &self.d_ell,
            &mut self.grad_out,
        );
        self.policy.net.backward(
            &mut self.ws[i],
            self.grad_out.view(),
            &mut self.grad_step,
            pis.then(|| self.grad_input.view_mut()),
        );
        for (g, s) in self.grad.iter_mut().zip(&self.grad_step) {
            *g += s;
        }
        if let Some(nn2) = &self.policy.langevin {
            let g = ndarray::Array2::from_elem((1, 1), d_scale as f32);
            nn2.backward(
                &mut self.ws_langevin[i],
                g.view(),
                &mut self.langevin_grad_step,
                None,
            );
            for (g, s) in self.langevin_grad.iter_mut().zip(&self.langevin_grad_step) {
                *g += s;
            }
        }
        if let Some(flow) = &self.flow {
            for p in 0..b {
                self.flow_grad_out[[p, 0]] = bt.d_log_f[i * b + p] as f32;
            }
            flow.backward(
                &mut self.ws_flow[i],
                self.flow_grad_out.view(),
                &mut self.flow_grad_step,
                None,
            );
            for (g, s) in self.flow_grad.iter_mut().zip(&self.flow_grad_step) {
                *g += s;
            }
        }
        if pis && i > 0 {
            // a_i = a_{i+1}·∂x_{i+1}/∂x_i − ∂log p_B(x_i|x_{i+1})/∂x_i − ∂log p_B(x_{i−1}|x_i)/∂x_i.
            let prev = &xs[(i - 1) * b * d..i * b * d];
            let adjoint = &mut self.batch.adjoint;
            for p in 0..b {
                let r = p * d..(p + 1) * d;
                for c in 0..d {
                    adjoint[p * d + c] += self.grad_input[[p, c]] as f64;
                }
                let a = &mut adjoint[r.clone()];
                self.backward.add_gradients(
                    i,
                    &x[r.clone()],
                    &next[r.clone()],
                    -1.0,
                    Some(a),
                    None,
                );
                self.backward.add_gradients(
                    i - 1,
                    &prev[r.clone()],
                    &x[r.clone()],
                    -1.0,
                    None,
                    Some(a),
                );
            }
        }
    }

    /// Adam steps on the accumulated gradients (PIS's are scaled by 1/(dB) here).
    fn apply_gradients(&mut self) -> Result<(), String> {
        if self.objective == Objective::Pis {
            let s = 1.0 / (self.batch_size * self.dim) as f32;
            self.grad.iter_mut().for_each(|g| *g *= s);
        }
        let norm = self.adam.step(self.policy.net.params_mut(), &self.grad);
        let mut finite = norm.is_finite();
        if let (Some(nn2), Some(adam)) = (&mut self.policy.langevin, &mut self.langevin_adam) {
            finite &= adam.step(nn2.params_mut(), &self.langevin_grad).is_finite();
        }
        if let (Some(flow), Some(adam)) = (&mut self.flow, &mut self.flow_adam) {
            finite &= adam.step(flow.params_mut(), &self.flow_grad).is_finite();
        }
        if self.objective == Objective::Tb {
            let g = [self.batch.d_log_z as f32];
            finite &= self.log_z_adam.step(&mut self.log_z, &g).is_finite();
        }
        if !finite {
            return Err(format!(
                "training diverged (gradient norm {norm}); lower the learning rate"
            ));
        }
        Ok(())
    }

    /// One unit of work; returns the loss when it finished the iteration.
    fn unit(&mut self) -> Result<Option<f64>, String> {
        match self.stage {
            Stage::Begin => {
                self.begin_iteration()?;
                self.unit()
            }
            Stage::LocalSearch(k) => {
                self.local_search_step(k);
                if k + 1 == LS_STEPS {
                    if self
                        .local_search
                        .as_ref()
                        .is_some_and(|ls| !ls.accepted.is_empty())
                    {
                        self.start_backward();
                    } else {
                        // Nothing accepted (η far off): this iteration trains on the policy.
                        self.batch.forward = true;
                        self.batch.explore = self.exploration_at(self.iteration);
                        let n = self.batch_size * self.dim;
                        self.batch.xs[..n].fill(0.0);
                        self.stage = Stage::Forward(0);
                    }
                } else {
                    self.stage = Stage::LocalSearch(k + 1);
                }
                Ok(None)
            }
            Stage::Forward(i) => {
                self.forward_step(i);
                if i + 1 == self.steps {
                    self.finish_rollout()?;
                    self.stage = Stage::Train(0);
                } else {
                    self.stage = Stage::Forward(i + 1);
                }
                Ok(None)
            }
            Stage::Backward(i) => {
                self.backward_step(i);
                if i == 0 {
                    self.finish_rollout()?;
                    self.stage = Stage::Train(0);
                } else {
                    self.stage = Stage::Backward(i - 1);
                }
                Ok(None)
            }
            Stage::Train(k) => {
                self.train_step(k);
                if k + 1 == self.steps {
                    self.apply_gradients()?;
                    self.iteration += 1;
                    self.stage = Stage::Begin;
                    Ok(Some(self.loss))
                } else {
                    self.stage = Stage::Train(k + 1);
                    Ok(None)
                }
            }
        }
    }

    /// A rollout of n fresh forward trajectories without exploration: terminal states and
    /// log w = log R(x_T) + S_B − S_F.
    fn sample_paths(&self, n: usize, rng: &mut Rng) -> Rollout {
        let d = self.dim;
        let out = self.policy.out_dim();
        let lp = self.policy.langevin.is_some();
        let mut samples = Vec::with_capacity(n * d);
        let mut log_weights = Vec::with_capacity(n);
        let mut grad_e = vec![0.0; d];
        let mut ws = Workspace::new();
        let mut ws2 = Workspace::new();
        let mut done = 0;
        while done < n {
            let m = DRAW_CHUNK.min(n - done);
            let mut x = vec![0.0; m * d];
            let mut next = vec![0.0; m * d];
            let (mut mu, mut ell) = (vec![0.0; m * d], vec![0.0; m * d]);
            let mut raw = vec![0f32; m * out];
            let mut score = vec![0.0; if lp { m * d } else { 0 }];
            let mut inputs = Array2::zeros((m, self.policy.in_dim()));
            let mut lw = vec![0.0; m];
            for i in 0..self.steps {
                let t = i as f64 * self.dt;
                let mut scale = 0.0;
                if lp {
                    for (xp, sp) in x.chunks_exact(d).zip(score.chunks_exact_mut(d)) {
                        self.energy.energy_grad(xp, &mut grad_e);
                        clipped_score(&grad_e, sp);
                    }
                    scale = self.policy.langevin_scale(t, &mut ws2);
                }
                self.policy.outputs(
                    &x,
                    t,
                    lp.then_some(&score[..]),
                    scale,
                    &mut inputs,
                    &mut ws,
                    StepOutputs {
                        mu: &mut mu,
                        ell: &mut ell,
                        raw: &mut raw,
                    },
                );
                for k in 0..m * d {
                    next[k] =
                        x[k] + self.dt * mu[k] + (self.dt * ell[k].exp()).sqrt() * rng.normal();
                }
                for p in 0..m {
                    let r = p * d..(p + 1) * d;
                    lw[p] += self.backward.log_prob(i, &x[r.clone()], &next[r.clone()])
                        - forward_log_prob(
                            &x[r.clone()],
                            &next[r.clone()],
                            &mu[r.clone()],
                            &ell[r],
                            self.dt,
                        );
                }
                std::mem::swap(&mut x, &mut next);
            }
            for (p, xp) in x.chunks_exact(d).enumerate() {
                log_weights.push(lw[p] - self.energy.energy(xp));
            }
            samples.extend(x.iter().map(|&v| v as f32));
            done += m;
        }
        Rollout {
            samples,
            log_weights: Some(log_weights),
        }
    }
}

fn log_r_t_of(batch: &Batch, t: usize, b: usize) -> &[f64] {
    &batch.log_r[t * b..(t + 1) * b]
}

impl Sampler for GfnSampler {
    fn name(&self) -> &'static str {
        self.objective.name()
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn work(&mut self) -> Result<Work, String> {
        Ok(match self.unit()? {
            Some(loss) => Work::IterationDone { loss },
            None if matches!(self.stage, Stage::Train(k) if k > 0) => {
                Work::GradientStep { loss: self.loss }
            }
            None => Work::RolloutStep,
        })
    }

    fn iteration(&self) -> usize {
        self.iteration
    }

    fn phase(&self) -> Phase {
        match self.stage {
            Stage::Train(_) => Phase::Train,
            _ => Phase::Rollout,
        }
    }

    fn draw(&mut self, n: usize, rng: &mut Rng) -> Rollout {
        self.sample_paths(n, rng)
    }

    fn observe(&self) -> Observation<'_> {
        let points = self.steps + 1;
        Observation {
            particles: &self.particles,
            time: self.particle_time,
            time_reversed: false,
            trajectories: Trajectories {
                values: &self.trajectories,
                count: self.trajectories.len() / (points * self.dim),
                points,
            },
            last_rollout: self.last.as_ref(),
            stage: None,
            corrector: None,
            ddpm: None,
            gfn: Some(GfnObservation {
                residuals: &self.trajectory_residuals,
                residual_reference: self.residual_reference_name(),
                backward: self.trajectories_backward,
                buffers: self.local_search_buffers(),
                learned_log_z: self.learned_log_z(),
                exploration: self.exploration_at(self.iteration),
            }),
        }
    }

    fn save_state(&self) -> StateMap {
        let mut out = StateMap::new();
        out.put_f32("policy", self.policy.net.params());
        self.adam.save_state(&mut out, "adam.");
        if let (Some(net), Some(adam)) = (&self.policy.langevin, &self.langevin_adam) {
            out.put_f32("langevin", net.params());
            adam.save_state(&mut out, "langevin_adam.");
        }
        if let (Some(net), Some(adam)) = (&self.flow, &self.flow_adam) {
            out.put_f32("flow", net.params());
            adam.save_state(&mut out, "flow_adam.");
        }
        out.put_f32("log_z", &self.log_z);
        self.log_z_adam.save_state(&mut out, "log_z_adam.");
        if let Some(ls) = &self.local_search {
            ls.terminal.save_state(&mut out, "ls.terminal.");
            ls.accepted.save_state(&mut out, "ls.accepted.");
            out.put_scalar("ls.step_size", ls.step_size);
        }
        out.put_u64("rng", &self.rng.state());
        out.put_usize("iteration", self.iteration);
        out.put_f32("particles", &self.particles);
        out.put_scalar("particle_time", self.particle_time);
        out.put_f32("trajectories", &self.trajectories);
        out.put_scalar("loss", self.loss);
        Rollout::save_state(self.last.as_ref(), &mut out, "last.");
        out
    }

    fn load_state(&mut self, from: &StateMap) -> Result<(), String> {
        self.policy.net.load_params(from, "policy")?;
        self.adam.load_state(from, "adam.")?;
        if let (Some(net), Some(adam)) = (&mut self.policy.langevin, &mut self.langevin_adam) {
            net.load_params(from, "langevin")?;
            adam.load_state(from, "langevin_adam.")?;
        }
        if let (Some(net), Some(adam)) = (&mut self.flow, &mut self.flow_adam) {
            net.load_params(from, "flow")?;
            adam.load_state(from, "flow_adam.")?;
        }
        from.read_f32_into("log_z", &mut self.log_z)?;
        self.log_z_adam.load_state(from, "log_z_adam.")?;
        if let Some(ls) = &mut self.local_search {
            ls.terminal.load_state(from, "ls.terminal.")?;
            ls.accepted.load_state(from, "ls.accepted.")?;
            ls.step_size = from.scalar("ls.step_size")?;
            ls.chains = None;
        }
        self.rng = Rng::from_state(&from.u64s("rng")?)?;
        self.iteration = from.usize("iteration")?;
        // The arrays' lengths follow from the batch and dimension; say so when they differ.
        let (b, d) = (self.batch_size, self.dim);
        let sized = |e: String| format!("{e}; this run has batch {b} in dimension {d}");
        from.read_f32_into("particles", &mut self.particles)
            .map_err(sized)?;
        self.particle_time = from.scalar("particle_time")?;
        from.read_f32_into("trajectories", &mut self.trajectories)
            .map_err(sized)?;
        self.loss = from.scalar("loss")?;
        self.last = Rollout::load_state(from, "last.", b, d).map_err(sized)?;
        self.stage = Stage::Begin;
        Ok(())
    }
}
