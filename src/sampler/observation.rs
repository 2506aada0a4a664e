//! What a sampler offers to look at, as one typed [`Observation`] ([`super::Sampler::observe`]):
//! the views (the page's facade, the command line's metrics and the tests) read a sampler
//! only through it, never by its concrete type.
//!
//! Contract: an observation borrows the sampler and copies nothing; what a sampler does not
//! have is `None` (or empty), never a placeholder. Observing changes nothing and draws no
//! random numbers, so views can be refreshed at any time without moving a seeded run.
//! Points are in the sampler's coordinates (`Run` maps them to the target's).

use super::ddpm::Denoiser;
use super::oracle::Oracle;
use super::{asbs::CorrectorField, Rollout, StageInfo};

/// A sampler's view data at the current unit of work.
pub struct Observation<'a> {
    /// Positions of the paths (or chains) being simulated, n × d.
    pub particles: &'a [f32],
    /// Their time t: in [0, 1] along the path; DDPM counts down from 1; MALA gives the
    /// fraction of the iteration's steps done; a GFlowNet local search shows t = 1.
    pub time: f64,
    /// Whether paths run from t = 1 down to t = 0 (DDPM's reverse chain) rather than up.
    pub time_reversed: bool,
    /// A few whole paths of the last completed rollout.
    pub trajectories: Trajectories<'a>,
    /// The last completed training rollout, whose samples the iteration's metrics describe;
    /// None before the first.
    pub last_rollout: Option<&'a Rollout>,
    /// Where a staged sampler (ASBS) is; None for the others.
    pub stage: Option<StageInfo>,
    /// ASBS's learned corrector h; None where the corrector is fixed or absent.
    pub corrector: Option<CorrectorField<'a>>,
    /// DDPM's chain, denoiser and oracle.
    pub ddpm: Option<DdpmObservation<'a>>,
    /// A GFlowNet sampler's residuals, buffers and scalars.
    pub gfn: Option<GfnObservation<'a>>,
}

/// Whole paths, path-major: `values` is count × points × d.
#[derive(Clone, Copy)]
pub struct Trajectories<'a> {
    pub values: &'a [f32],
    pub count: usize,
    pub points: usize,
}

/// DDPM (docs/methods.md §4).
pub struct DdpmObservation<'a> {
    /// T: the time grid is j/T.
    pub steps: usize,
    pub sigma_q: f64,
    /// The last completed training rollout's reverse chain, (T + 1) × paths, row i holding
    /// every particle at t = 1 − i/T; None before the first rollout.
    pub chain: Option<&'a [f32]>,
    /// The learned denoiser f_θ(x, t).
    pub denoiser: Denoiser<'a>,
    /// The exact denoiser and marginals, where the target is a Gaussian mixture.
    pub oracle: Option<&'a Oracle>,
}

/// The GFlowNet samplers (docs/methods.md §5).
pub struct GfnObservation<'a> {
    /// log Z_ref + S_F − S_B − log R of each trajectory in [`Observation::trajectories`], in
    /// the same order.
    pub residuals: &'a [f32],
    /// What the residuals take as log Z_ref: "log Z" (TB), "log F(x₀)" (DB, SubTB,
    /// FL-SubTB) or "batch mean" (VarGrad, PIS).
    pub residual_reference: &'static str,
    /// Whether the shown trajectories were drawn backward from D_LS.
    pub backward: bool,
    /// Local search's buffers D and D_LS (n × d each, f64); None without local search.
    pub buffers: Option<(&'a [f64], &'a [f64])>,
    /// TB's learned log Z (sampler coordinates); None for the other objectives.
    pub learned_log_z: Option<f64>,
    /// The exploration ε of the current iteration (0 once decayed).
    pub exploration: f64,
}
