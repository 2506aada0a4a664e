//! Metropolis-adjusted Langevin chains (docs/methods.md §5, local search), run in parallel.
//!
//! The proposal is one Euler–Maruyama step of the Langevin diffusion towards ν ∝ R = exp(−E),
//! x' = x + η∇log R(x) + sqrt(2η)ξ, so q(x'|x) = N(x'; x + η∇log R(x), 2ηI), and the
//! Metropolis–Hastings ratio
//! α = min(1, R(x')q(x|x') / (R(x)q(x'|x)))
//! makes ν exactly invariant whatever η is.

use super::registry::{Capabilities, Family, Flat, FromFlat, SamplerInfo};
use super::{Observation, Phase, Rollout, Sampler, Trajectories, Work};
use crate::energy::Energy;
use crate::rng::Rng;
use crate::state::StateMap;
use std::sync::Arc;

/// Parallel Metropolis-adjusted Langevin chains on ν ∝ exp(−E) (E has τ folded in; log R = −E).
#[derive(Clone, Debug)]
pub struct MalaChains {
    dim: usize,
    /// η.
    step: f64,
    /// Current states, n × d row-major.
    states: Vec<f64>,
    /// log R at the states.
    log_r: Vec<f64>,
    /// ∇log R at the states, n × d.
    grad_log_r: Vec<f64>,
    /// Per-chain acceptance of the last step.
    accepted: Vec<bool>,
    // Scratch for proposals, kept to avoid allocating every step.
    proposal: Vec<f64>,
    proposal_grad: Vec<f64>,
    proposal_log_r: Vec<f64>,
}

/// log q(to | from) up to the constant shared by both directions:
/// −‖to − from − η∇log R(from)‖² / (4η).
fn log_proposal(to: &[f64], from: &[f64], grad_from: &[f64], step: f64) -> f64 {
    let mut sq = 0.0;
    for i in 0..to.len() {
        let r = to[i] - from[i] - step * grad_from[i];
        sq += r * r;
    }
    -sq / (4.0 * step)
}

impl MalaChains {
    /// Chains started at the rows of `x0` (n×d); evaluates log R and ∇log R there.
    pub fn new(energy: &dyn Energy, x0: &[f64], step: f64) -> MalaChains {
        let dim = energy.dim();
        assert!(dim > 0 && x0.len().is_multiple_of(dim), "x0 must be n × d");
        assert!(step > 0.0 && step.is_finite(), "MALA step must be positive");
        let n = x0.len() / dim;
        let mut grad_log_r = vec![0.0; n * dim];
        let mut log_r = vec![0.0; n];
        energy.energy_grad_batch(x0, &mut grad_log_r, &mut log_r);
        // The energy gives E and ∇E; log R = −E.
        for v in log_r.iter_mut().chain(grad_log_r.iter_mut()) {
            *v = -*v;
        }
        MalaChains {
            dim,
            step,
            states: x0.to_vec(),
            log_r,
            grad_log_r,
            accepted: vec![false; n],
            proposal: vec![0.0; n * dim],
            proposal_grad: vec![0.0; n * dim],
            proposal_log_r: vec![0.0; n],
        }
    }

    pub fn n_chains(&self) -> usize {
        self.log_r.len()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// One MH step of every chain: x' = x + η∇log R(x) + sqrt(2η)ξ, accept with the exact MALA ratio
    /// (both proposal densities). Returns per-chain accepted flags of this step.
    pub fn step(&mut self, energy: &dyn Energy, rng: &mut Rng) -> &[bool] {
        let (d, eta) = (self.dim, self.step);
        let noise = (2.0 * eta).sqrt();
        for ((p, x), g) in self
            .proposal
            .iter_mut()
            .zip(&self.states)
            .zip(&self.grad_log_r)
        {
            *p = x + eta * g + noise * rng.normal();
        }
        energy.energy_grad_batch(
            &self.proposal,
            &mut self.proposal_grad,
            &mut self.proposal_log_r,
        );
        for v in self
            .proposal_log_r
            .iter_mut()
            .chain(self.proposal_grad.iter_mut())
        {
            *v = -*v;
        }
        for c in 0..self.n_chains() {
            let rows = c * d..(c + 1) * d;
            let (x, gx) = (&self.states[rows.clone()], &self.grad_log_r[rows.clone()]);
            let (y, gy) = (
                &self.proposal[rows.clone()],
                &self.proposal_grad[rows.clone()],
            );
            let log_alpha = self.proposal_log_r[c] - self.log_r[c] + log_proposal(x, y, gy, eta)
                - log_proposal(y, x, gx, eta);
            // A non-finite proposal (overflowing energy) is rejected: NaN compares false.
            let accept = rng.uniform().ln() < log_alpha;
            self.accepted[c] = accept;
            if accept {
                self.states[rows.clone()].copy_from_slice(&self.proposal[rows.clone()]);
                self.grad_log_r[rows.clone()].copy_from_slice(&self.proposal_grad[rows]);
                self.log_r[c] = self.proposal_log_r[c];
            }
        }
        &self.accepted
    }

    /// η ← η·1.1 if `acceptance` > target else η·0.9 (docs/methods.md §5; target 0.574).
    pub fn adapt(&mut self, acceptance: f64, target: f64) {
        if acceptance > target {
            self.step *= 1.1;
        } else {
            self.step *= 0.9;
        }
    }

    /// Fraction of chains that accepted in the last step.
    pub fn last_acceptance(&self) -> f64 {
        let n = self.accepted.len().max(1);
        self.accepted.iter().filter(|&&a| a).count() as f64 / n as f64
    }

    pub fn states(&self) -> &[f64] {
        &self.states
    }

    pub fn log_r(&self) -> &[f64] {
        &self.log_r
    }

    pub fn step_size(&self) -> f64 {
        self.step
    }
}

impl MalaChains {
    /// Saves the chains (states, log R, ∇log R, η, acceptances) under `prefix`.
    pub fn save_state(&self, out: &mut StateMap, prefix: &str) {
        out.put_f64(&format!("{prefix}states"), &self.states);
        out.put_f64(&format!("{prefix}log_r"), &self.log_r);
        out.put_f64(&format!("{prefix}grad_log_r"), &self.grad_log_r);
        out.put_scalar(&format!("{prefix}step"), self.step);
        let accepted: Vec<u64> = self.accepted.iter().map(|&a| a as u64).collect();
        out.put_u64(&format!("{prefix}accepted"), &accepted);
    }

    /// Restores chains of this size from [`MalaChains::save_state`].
    pub fn load_state(&mut self, from: &StateMap, prefix: &str) -> Result<(), String> {
        from.read_f64_into(&format!("{prefix}states"), &mut self.states)?;
        from.read_f64_into(&format!("{prefix}log_r"), &mut self.log_r)?;
        from.read_f64_into(&format!("{prefix}grad_log_r"), &mut self.grad_log_r)?;
        self.step = from.scalar(&format!("{prefix}step"))?;
        let accepted = from.u64s(&format!("{prefix}accepted"))?;
        if accepted.len() != self.accepted.len() {
            return Err(format!(
                "saved state: {prefix}accepted has the wrong length"
            ));
        }
        for (a, &v) in self.accepted.iter_mut().zip(&accepted) {
            *a = v != 0;
        }
        Ok(())
    }
}

/// Step-size adaptation target (docs/methods.md §5).
pub const TARGET_ACCEPTANCE: f64 = 0.574;
/// η of the first step; adaptation (×1.1 per step) reaches 1 within 50 steps.
pub const INITIAL_STEP: f64 = 0.01;
/// Chains whose whole path of the last iteration is kept for drawing.
const TRAJECTORY_CHAINS: usize = 16;

/// MALA's settings, taken by name from the flat configuration.
#[derive(Clone, Debug)]
pub struct MalaSettings {
    pub seed: u64,
    /// Parallel chains.
    pub paths: usize,
    /// MALA steps per outer iteration.
    pub steps: usize,
    /// σ of the chains' start N(0, σ²I) in the sampler's coordinates (the configuration's
    /// base noise scale, reused rather than adding a key).
    pub sigma_max: f64,
}

impl FromFlat for MalaSettings {
    fn from_flat(flat: &Flat) -> Result<Self, String> {
        Ok(MalaSettings {
            seed: flat.u64("seed")?,
            paths: flat.usize("paths")?,
            steps: flat.usize("steps")?,
            sigma_max: flat.f64("sigma_max")?,
        })
    }
}

pub const INFO: SamplerInfo = SamplerInfo {
    name: "mala",
    label: "MALA (no network)",
    description: "parallel Metropolis-adjusted Langevin chains, a classical baseline",
    explanation: "Parallel Metropolis-adjusted Langevin chains (no network): x' = x + η∇log R(x) + √(2η)ξ, accepted with the Metropolis–Hastings ratio; η adapts toward acceptance 0.574. Each iteration is `steps` MALA steps of `paths` chains.",
    family: Family::Mcmc,
    dims: None,
    settings: &["seed", "energy", "temperature", "whiten", "paths", "steps", "sigma_max"],
    keeps_progress: &[],
    labels: &[
        ("paths", "Chains"),
        ("steps", "MALA steps / iter"),
        ("sigma_max", "Start spread σ"),
    ],
    capabilities: Capabilities {
        source: false,
        stages: false,
        shared_rollout: false,
        path_weights: false,
    },
};

/// MALA as a classical baseline sampler (docs/methods.md §5): `paths` parallel chains started from
/// N(0, σ²I) in the sampler's coordinates with σ = `sigma_max` (the configuration's base
/// noise scale, reused rather than adding a field), η adapted toward acceptance 0.574 after
/// every step. One unit of work is one MALA step of every chain; an outer iteration is
/// `steps` of them. Nothing is learned: the reported loss is NaN and the "rollout" is the
/// chains' current states, without path weights (a Markov chain has no tractable density
/// of its marginal, so there is no log Ẑ or ESS).
#[derive(Clone)]
pub struct MalaSampler {
    energy: Arc<dyn Energy>,
    chains: MalaChains,
    rng: Rng,
    steps: usize,
    /// Steps taken in the current iteration.
    step_in_iteration: usize,
    iteration: usize,
    /// The chains' states as f32 (n × d).
    particles: Vec<f32>,
    last: Option<Rollout>,
    /// Paths of the first chains during the current iteration, chain-major
    /// (count × (steps + 1) × d).
    paths: Vec<f32>,
    /// The same for the last completed iteration.
    last_paths: Vec<f32>,
    /// Acceptance rates of this iteration's steps, summed.
    acceptance_sum: f64,
    /// Mean acceptance of the last completed iteration.
    pub last_acceptance: f64,
}

impl MalaSampler {
    pub fn new(settings: &MalaSettings, energy: Arc<dyn Energy>) -> Result<MalaSampler, String> {
        let d = energy.dim();
        let sigma = settings.sigma_max;
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(format!(
                "sigma_max (MALA's initial spread) must be positive, got {sigma}"
            ));
        }
        let mut rng = Rng::new(settings.seed);
        let x0: Vec<f64> = (0..settings.paths * d)
            .map(|_| sigma * rng.normal())
            .collect();
        let chains = MalaChains::new(&*energy, &x0, INITIAL_STEP);
        if chains.log_r().iter().any(|v| v.is_nan()) {
            return Err("MALA: the energy is NaN at a starting point".into());
        }
        let mut sampler = MalaSampler {
            energy,
            chains,
            rng,
            steps: settings.steps,
            step_in_iteration: 0,
            iteration: 0,
            particles: Vec::new(),
            last: None,
            paths: Vec::new(),
            last_paths: Vec::new(),
            acceptance_sum: 0.0,
            last_acceptance: f64::NAN,
        };
        sampler.refresh_particles();
        sampler.record_paths();
        Ok(sampler)
    }

    pub fn chains(&self) -> &MalaChains {
        &self.chains
    }

    fn refresh_particles(&mut self) {
        self.particles.clear();
        self.particles
            .extend(self.chains.states().iter().map(|&v| v as f32));
    }

    /// Appends the first chains' current states to `paths` (point `step_in_iteration`).
    fn record_paths(&mut self) {
        let d = self.chains.dim();
        let count = TRAJECTORY_CHAINS.min(self.chains.n_chains());
        let points = self.steps + 1;
        if self.paths.len() != count * points * d {
            self.paths = vec![0.0; count * points * d];
        }
        let p = self.step_in_iteration;
        for c in 0..count {
            let at = (c * points + p) * d;
            self.paths[at..at + d].copy_from_slice(&self.particles[c * d..(c + 1) * d]);
        }
    }
}

impl Sampler for MalaSampler {
    fn name(&self) -> &'static str {
        "mala"
    }

    fn dim(&self) -> usize {
        self.chains.dim()
    }

    fn work(&mut self) -> Result<Work, String> {
        self.chains.step(&*self.energy, &mut self.rng);
        let acceptance = self.chains.last_acceptance();
        self.chains.adapt(acceptance, TARGET_ACCEPTANCE);
        self.acceptance_sum += acceptance;
        if !self.chains.step_size().is_normal() {
            return Err(format!(
                "MALA's step size left the representable range ({})",
                self.chains.step_size()
            ));
        }
        self.refresh_particles();
        self.step_in_iteration += 1;
        self.record_paths();
        if self.step_in_iteration < self.steps {
            return Ok(Work::RolloutStep);
        }
        self.last_acceptance = self.acceptance_sum / self.steps as f64;
        self.acceptance_sum = 0.0;
        self.step_in_iteration = 0;
        self.iteration += 1;
        std::mem::swap(&mut self.paths, &mut self.last_paths);
        self.record_paths();
        self.last = Some(Rollout {
            samples: self.particles.clone(),
            log_weights: None,
        });
        Ok(Work::IterationDone { loss: f64::NAN })
    }

    fn iteration(&self) -> usize {
        self.iteration
    }

    fn phase(&self) -> Phase {
        Phase::Rollout
    }

    /// The chains' current states, t the fraction of the iteration's steps done; the
    /// trajectories are the first 16 chains' paths over the last completed iteration
    /// (steps + 1 points).
    fn observe(&self) -> Observation<'_> {
        let points = self.steps + 1;
        Observation {
            particles: &self.particles,
            time: self.step_in_iteration as f64 / self.steps as f64,
            time_reversed: false,
            trajectories: Trajectories {
                values: &self.last_paths,
                count: self.last_paths.len() / (points * self.chains.dim()),
                points,
            },
            last_rollout: self.last.as_ref(),
            stage: None,
            corrector: None,
            ddpm: None,
            gfn: None,
        }
    }

    /// n samples: the current states of the first n chains when n ≤ paths; beyond that,
    /// copies of the chains continue with η frozen and their states after every further
    /// `steps` steps are appended (so the samples are `steps`-thinned draws of the same
    /// chains, correlated across rounds). The sampler itself is not advanced.
    fn draw(&mut self, n: usize, rng: &mut Rng) -> Rollout {
        let d = self.chains.dim();
        let mut samples: Vec<f32> = Vec::with_capacity(n * d);
        let mut chains = self.chains.clone();
        loop {
            let take = (n * d - samples.len()).min(chains.states().len());
            samples.extend(chains.states()[..take].iter().map(|&v| v as f32));
            if samples.len() == n * d {
                break;
            }
            for _ in 0..self.steps {
                chains.step(&*self.energy, rng);
            }
        }
        Rollout {
            samples,
            log_weights: None,
        }
    }

    fn save_state(&self) -> StateMap {
        let mut out = StateMap::new();
        self.chains.save_state(&mut out, "chains.");
        out.put_u64("rng", &self.rng.state());
        out.put_usize("iteration", self.iteration);
        out.put_f32("last_paths", &self.last_paths);
        out.put_scalar("last_acceptance", self.last_acceptance);
        Rollout::save_state(self.last.as_ref(), &mut out, "last.");
        out
    }

    fn load_state(&mut self, from: &StateMap) -> Result<(), String> {
        self.chains.load_state(from, "chains.")?;
        self.rng = Rng::from_state(&from.u64s("rng")?)?;
        self.iteration = from.usize("iteration")?;
        // `paths` has the size this configuration records (set by `new`).
        self.last_paths = from.f32s_empty_or_of_len("last_paths", self.paths.len())?;
        self.last_acceptance = from.scalar("last_acceptance")?;
        self.step_in_iteration = 0;
        self.acceptance_sum = 0.0;
        self.refresh_particles();
        self.record_paths();
        self.last = Rollout::load_state(from, "last.", self.chains.n_chains(), self.chains.dim())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::energy::wells::HarmonicWell;
    use crate::energy::Gmm;

    /// Mean and variance per coordinate of an n×d batch.
    fn moments(xs: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
        let n = (xs.len() / d) as f64;
        let mut mean = vec![0.0; d];
        for x in xs.chunks_exact(d) {
            for i in 0..d {
                mean[i] += x[i] / n;
            }
        }
        let mut var = vec![0.0; d];
        for x in xs.chunks_exact(d) {
            for i in 0..d {
                var[i] += (x[i] - mean[i]).powi(2) / n;
            }
        }
        (mean, var)
    }

    #[test]
    fn exact_samples_stay_distributed_as_the_harmonic_well() {
        // N(0, τI) with τ = 2 in d = 3, started exactly; after 200 steps at a large η (where
        // an unadjusted Langevin chain is visibly biased, see below) the moments still match.
        let (d, n, tau) = (3, 20_000, 2.0);
        let well = HarmonicWell::new(d, tau);
        let mut rng = Rng::new(3);
        let x0 = well.sample(n, &mut rng);
        let eta = 1.5;
        let mut chains = MalaChains::new(&well, &x0, eta);
        let mut accepted = 0usize;
        for _ in 0..200 {
            accepted += chains.step(&well, &mut rng).iter().filter(|&&a| a).count();
        }
        let (mean, var) = moments(chains.states(), d);
        // se of a mean: sqrt(τ/n) = 0.01; of a variance: τ sqrt(2/n) = 0.02.
        for i in 0..d {
            assert!(mean[i].abs() < 0.04, "mean {mean:?}");
            assert!((var[i] - tau).abs() < 0.08, "var {var:?}");
        }
        let rate = accepted as f64 / (200 * n) as f64;
        eprintln!("harmonic well, η = {eta}: acceptance {rate:.3}, var {var:?}");
        assert!(rate > 0.05 && rate < 0.95, "{rate}");
        // The same η without the MH correction (ULA) has stationary variance
        // τ/(1 − η/(2τ)) = 3.2 for the Gaussian: the test above would catch it.
        let mut x = x0.clone();
        let mut g = vec![0.0; d];
        for row in x.chunks_exact_mut(d) {
            for _ in 0..200 {
                well.energy_grad(row, &mut g);
                for i in 0..d {
                    row[i] += -eta * g[i] + (2.0 * eta).sqrt() * rng.normal();
                }
            }
        }
        let (_, ula_var) = moments(&x, d);
        assert!((ula_var[0] - tau).abs() > 0.5, "ULA var {ula_var:?}");
    }

    #[test]
    fn exact_samples_stay_distributed_as_a_two_mode_mixture() {
        // Two unequal, anisotropic components close enough for MALA to move between them.
        let gmm = Gmm::new(
            &[0.3, 0.7],
            &[vec![-1.5, 0.0], vec![1.5, 1.0]],
            &[
                vec![vec![1.0, 0.3], vec![0.3, 0.5]],
                vec![vec![0.6, 0.0], vec![0.0, 1.2]],
            ],
            1.0,
        )
        .unwrap();
        let n = 20_000;
        let mut rng = Rng::new(8);
        let x0 = gmm.sample(n, &mut rng);
        let (m0, v0) = moments(&x0, 2);
        let mut chains = MalaChains::new(&gmm, &x0, 0.8);
        for _ in 0..100 {
            chains.step(&gmm, &mut rng);
        }
        let (m, v) = moments(chains.states(), 2);
        // Against the starting set's own moments (both are samples of ν; chains are
        // correlated with their start, so the difference has at most twice the variance).
        for i in 0..2 {
            let se_mean = (v0[i] / n as f64).sqrt();
            assert!((m[i] - m0[i]).abs() < 6.0 * se_mean, "mean {m:?} vs {m0:?}");
            assert!((v[i] - v0[i]).abs() < 0.06 * v0[i], "var {v:?} vs {v0:?}");
        }
        // Exact mixture moments: mean = Σ w m_k.
        let want = [0.3 * -1.5 + 0.7 * 1.5, 0.7];
        for i in 0..2 {
            assert!((m[i] - want[i]).abs() < 0.05, "mean {m:?} vs {want:?}");
        }
        // log R kept in step with the states.
        for (x, &lr) in chains.states().chunks_exact(2).zip(chains.log_r()).take(50) {
            assert!((lr + gmm.energy(x)).abs() < 1e-9);
        }
    }

    #[test]
    fn acceptance_tends_to_one_as_the_step_shrinks() {
        let gmm = Gmm::square_grid(&[-5.0, 0.0, 5.0], 0.3, 1.0).unwrap();
        let mut rng = Rng::new(4);
        let x0 = gmm.sample(2000, &mut rng);
        let mut rates = Vec::new();
        for eta in [1e-1, 1e-2, 1e-3, 1e-4] {
            let mut chains = MalaChains::new(&gmm, &x0, eta);
            let mut acc = 0.0;
            for _ in 0..10 {
                chains.step(&gmm, &mut rng);
                acc += chains.last_acceptance() / 10.0;
            }
            rates.push(acc);
        }
        eprintln!("acceptance at η = 1e-1..1e-4: {rates:?}");
        // 1 − acceptance = O(η^{3/2}) for MALA.
        assert!(rates.windows(2).all(|w| w[1] >= w[0]), "{rates:?}");
        assert!(rates[3] > 0.999, "{rates:?}");
        assert!(rates[0] < 0.99, "{rates:?}");
    }

    #[test]
    fn adaptation_moves_acceptance_to_the_target() {
        let (d, n) = (10, 500);
        let well = HarmonicWell::new(d, 1.0);
        let mut rng = Rng::new(6);
        let x0 = well.sample(n, &mut rng);
        for eta0 in [1e-4, 5.0] {
            let mut chains = MalaChains::new(&well, &x0, eta0);
            let mut last = Vec::new();
            for k in 0..300 {
                chains.step(&well, &mut rng);
                let a = chains.last_acceptance();
                chains.adapt(a, 0.574);
                if k >= 200 {
                    last.push(a);
                }
            }
            let mean = last.iter().sum::<f64>() / last.len() as f64;
            eprintln!(
                "η₀ = {eta0}: η → {:.3}, acceptance {mean:.3}",
                chains.step_size()
            );
            assert!((mean - 0.574).abs() < 0.06, "η₀ {eta0}: {mean}");
        }
        let mut chains = MalaChains::new(&well, &x0, 1.0);
        chains.adapt(0.9, 0.574);
        assert!((chains.step_size() - 1.1).abs() < 1e-12);
        chains.adapt(0.1, 0.574);
        assert!((chains.step_size() - 0.99).abs() < 1e-12);
    }

    /// A run of the MALA sampler through `Run`, as the command line drives it.
    fn mala_run(partial: serde_json::Value, iters: usize) -> crate::run::Run {
        let mut partial = partial;
        partial["sampler"] = "mala".into();
        let config = Config::from_partial(&partial).unwrap();
        let mut run = crate::run::Run::new(config).unwrap();
        run.run_iterations(iters, |_| {}).unwrap();
        run
    }

    #[test]
    fn mala_sampler_reaches_the_seed_gmm_moments_and_mode_masses() {
        // The default preset (seed GMM, whitened, 512 chains from N(0, I), 100 steps per
        // iteration): after 5 iterations the chains hold each component's half of the mass
        // and the x-marginal's mean −1 and std sqrt(10.5) = 3.24.
        let mut run = mala_run(serde_json::json!({"seed": 4}), 5);
        assert_eq!(run.history.loss.len(), 5);
        assert!(run.history.loss.iter().all(|l| l.is_nan()));
        let r = run.report(2000, 2000, 500);
        eprintln!(
            "MALA on seed-gmm: masses {:?}, x {:.3} ± {:.3} (true {:.3} ± {:.3}), W2 {:.3} (floor {:.3})",
            r.mode_masses, r.marginal.x_mean, r.marginal.x_std, r.marginal.true_x_mean,
            r.marginal.true_x_std, r.w2, r.w2_floor
        );
        let tol_mass = 0.06;
        for (a, b) in r.mode_masses.iter().zip(&r.true_mode_masses) {
            assert!((a - b).abs() < tol_mass, "{:?}", r.mode_masses);
        }
        let m = &r.marginal;
        // The mean moves by 6 per unit of mass imbalance (se of the mass with 512 chains
        // ≈ 0.022); the std hardly depends on the split near ½, so it is held tighter.
        let (tol_mean, tol_std) = (0.3, 0.1);
        assert!((m.x_mean - m.true_x_mean).abs() < tol_mean, "{m:?}");
        assert!((m.x_std - m.true_x_std).abs() < tol_std, "{m:?}");
        assert!(r.w2 < r.w2_floor + 0.3, "W2 {} floor {}", r.w2, r.w2_floor);
        // No path density: no log Ẑ, no ESS.
        assert!(r.log_z_elbo.is_none() && r.log_z_iw.is_none() && r.ess.is_none());
        assert_eq!(r.energy_evals, 512 * (1 + 500));

        // The same chains moved without the MH correction (ULA) at the adapted η in the
        // sampler's (whitened) coordinates: the x-marginal spreads too wide, so the
        // tolerances above would catch a MALA that skipped the correction.
        let energy = crate::energy::Pulled {
            inner: run.target.energy.clone(),
            map: run.map.clone(),
        };
        let eta = mala_step_of(&run);
        let mut ys: Vec<f64> = run
            .sampler()
            .observe()
            .particles
            .iter()
            .map(|&v| v as f64)
            .collect();
        let mut rng = Rng::new(12);
        let mut g = [0.0; 2];
        for y in ys.chunks_exact_mut(2) {
            for _ in 0..300 {
                energy.energy_grad(y, &mut g);
                for i in 0..2 {
                    y[i] += -eta * g[i] + (2.0 * eta).sqrt() * rng.normal();
                }
            }
        }
        let mut x = vec![0.0; 2];
        let xs: Vec<f64> = ys
            .chunks_exact(2)
            .flat_map(|y| {
                run.map.to_original(y, &mut x);
                x.clone()
            })
            .collect();
        let ula = crate::metrics::marginals::axis_moments(&xs, 2, 0);
        eprintln!("ULA at η = {eta:.3}: x std {:.3}", ula.std);
        assert!(
            (ula.std - m.true_x_std).abs() > tol_std,
            "ULA std {} is within tolerance",
            ula.std
        );
    }

    /// The adapted step size of the run's MALA sampler.
    fn mala_step_of(run: &crate::run::Run) -> f64 {
        // The Sampler trait does not expose η: run an identical sampler (same seed, same
        // energy) for as many iterations and read it there.
        let config = run.config.clone();
        let energy: Arc<dyn Energy> = Arc::new(crate::energy::Pulled {
            inner: run.target.energy.clone(),
            map: run.map.clone(),
        });
        let mut s = MalaSampler::new(&config.settings(), energy).unwrap();
        while s.iteration() < run.sampler().iteration() {
            s.work().unwrap();
        }
        assert_eq!(s.observe().particles, run.sampler().observe().particles);
        s.chains().step_size()
    }

    #[test]
    fn run_handles_high_dimensional_targets() {
        for (energy, d) in [("manywell:8", 8), ("funnel:4", 4), ("gmm40", 2)] {
            let mut run = mala_run(
                serde_json::json!({"energy": energy, "paths": 64, "steps": 10, "seed": 2}),
                2,
            );
            assert_eq!((run.dim(), run.display_dim()), (d, 2));
            let m = run.latest().unwrap();
            assert_eq!(m.mode_masses.len(), run.target.modes.len());
            let mut shown = Vec::new();
            let rollout = run.sampler().observe().last_rollout.unwrap();
            run.to_display_f32(&rollout.samples, &mut shown);
            assert_eq!(shown.len(), 64 * 2);
            let r = run.report(500, 500, 200);
            assert_eq!(r.dim, d);
            assert!(r.w2.is_finite() && r.w2_floor.is_finite(), "{energy}");
            assert_eq!(r.log_z_true, run.target.log_z);
            if energy.starts_with("funnel") {
                assert!(r.mode_coverage.is_nan() && r.mode_masses.is_empty());
            } else {
                assert!(r.mode_coverage.is_finite());
            }
            // Whitening (the preset's default) is allowed where the covariance is known.
            assert!(run.config.whiten);
        }
        // draw beyond the chain count continues copies of the chains.
        let mut run = mala_run(serde_json::json!({"paths": 10, "steps": 5}), 1);
        let before = run.sampler().observe().particles.to_vec();
        let r = run.report(35, 35, 35);
        assert_eq!(r.samples, 35);
        assert_eq!(run.sampler().observe().particles, &before[..]);
    }
}
