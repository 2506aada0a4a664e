//! DDPM in 1-D (Nakkiran et al. 2024; docs/methods.md §4), behind the same trait as the
//! SDE samplers. It learns from target samples, not from the energy.
//!
//! Forward: x_{t+Δt} = x_t + N(0, σ_q²Δt), Δt = 1/T, so x_t ~ N(x_0, σ_q² t). The network
//! regresses f_θ(x_{t+Δt}, t+Δt) ≈ E[x_t | x_{t+Δt}] with t uniform on the grid and
//! per-sample noise. Reverse: x_1 ~ p_1 exactly (a target sample plus N(0, σ_q²): the
//! correct start, where the original used N(0, 1)), then x_{t−Δt} = f_θ(x_t, t) +
//! N(0, σ_q²Δt) down to t = 0.
//!
//! One iteration = `inner_steps` gradient steps (units of work) then a reverse rollout of
//! `paths` particles, one step per unit, for the page's live histogram. The reverse chain
//! has no tractable path density against the target, so there are no log weights.
//!
//! Parametrization (Tweedie): f_θ(x, t) = x + σ_q²Δt·s_θ(x, t), where s_θ ≈ ∇log p_t. The
//! residual E[x_{t−Δt} | x_t] − x_t is of order σ_q²Δt = 0.01 at T = 100; a network that
//! outputs it directly sees Adam's parameter jitter at the size of the signal, and its
//! samples came out 5–10% too wide. In score units the output is O(1). With the
//! zero-initialized output layer the untrained denoiser is the identity.

use super::oracle::Oracle;
use super::registry::{Capabilities, Family, Flat, FromFlat, SamplerInfo};
use super::rollout::{DRAW_CHUNK, MAX_FEATURES, TRAJECTORIES};
use super::{DdpmObservation, Observation, Phase, Rollout, Sampler, Trajectories, Work};
use crate::energy::{Energy, EnergySpec, Target};
use crate::nn::{Activation, Adam, FourierFeatures, Mlp, Workspace};
use crate::rng::Rng;
use crate::state::StateMap;
use ndarray::Array2;
use std::sync::Arc;

/// Target samples kept for training and for the exact start x_1.
const POOL: usize = 100_000;

/// DDPM's settings (docs/methods.md §4), taken by name from the flat configuration. It
/// reads the target itself: it trains on the target's samples, not on its energy.
#[derive(Clone, Debug)]
pub struct DdpmSettings {
    pub seed: u64,
    pub energy: EnergySpec,
    pub temperature: f64,
    pub whiten: bool,
    /// Reverse chains sampled per outer iteration.
    pub paths: usize,
    /// T: steps of the forward and reverse chains.
    pub steps: usize,
    /// Gradient steps per outer iteration.
    pub inner_steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub hidden: usize,
    pub layers: usize,
    pub activation: Activation,
    /// σ_q of the forward process x_{t+Δt} = x_t + N(0, σ_q²Δt).
    pub sigma_q: f64,
}

impl FromFlat for DdpmSettings {
    fn from_flat(flat: &Flat) -> Result<Self, String> {
        Ok(DdpmSettings {
            seed: flat.u64("seed")?,
            energy: flat.energy("energy")?,
            temperature: flat.f64("temperature")?,
            whiten: flat.bool("whiten")?,
            paths: flat.usize("paths")?,
            steps: flat.usize("steps")?,
            inner_steps: flat.usize("inner_steps")?,
            batch: flat.usize("batch")?,
            lr: flat.f64("lr")?,
            hidden: flat.usize("hidden")?,
            layers: flat.usize("layers")?,
            activation: flat.activation("activation")?,
            sigma_q: flat.f64("sigma_q")?,
        })
    }
}

pub const INFO: SamplerInfo = SamplerInfo {
    name: "ddpm",
    label: "DDPM (1-D)",
    description: "DDPM in 1-D trained on target samples (Nakkiran et al. 2024)",
    explanation: "DDPM learns from target samples, not from the energy: noise is added forward, x(t + Δt) = x(t) + N(0, σ_q² Δt), and the network f(x, t) learns E[x(t − Δt) | x(t) = x]. The reverse chain starts at x(1) ~ p₁ and runs down to t = 0 (right to left above, over the shading of its time marginals). Drag t to compare the learned denoiser with the exact one.",
    family: Family::Ddpm,
    dims: Some(&[1]),
    settings: &[
        "seed", "energy", "temperature", "paths", "steps", "inner_steps", "batch", "lr",
        "hidden", "layers", "activation", "sigma_q",
    ],
    keeps_progress: &["lr", "inner_steps", "batch"],
    labels: &[("steps", "Chain steps T"), ("paths", "Chains")],
    capabilities: Capabilities {
        source: false,
        stages: false,
        shared_rollout: false,
        path_weights: false,
    },
};

#[derive(Clone)]
pub struct DdpmSampler {
    features: FourierFeatures,
    net: Mlp,
    adam: Adam,
    sigma_q: f64,
    steps: usize,
    inner_steps: usize,
    pool: Arc<Vec<f64>>,
    oracle: Option<Oracle>,
    rng: Rng,
    phase: Phase,
    iteration: usize,
    /// Reverse chain in flight: x and the number of reverse steps taken.
    x: Vec<f32>,
    reverse_step: usize,
    trajectories: Vec<f32>,
    /// Every particle of the reverse chain in flight after each reverse step, (T + 1) ×
    /// paths (row i at t = 1 − i/T), and the last completed chain: the page's learned p_t.
    chain: Vec<f32>,
    last_chain: Vec<f32>,
    last: Option<Rollout>,
    inner: usize,
    loss_sum: f64,
    inputs: Array2<f32>,
    targets: Vec<f32>,
    grad_out: Array2<f32>,
    grad: Vec<f32>,
    ws: Workspace,
    sample_inputs: Array2<f32>,
    sample_ws: Workspace,
}

impl DdpmSampler {
    pub fn new(settings: &DdpmSettings, energy: Arc<dyn Energy>) -> Result<DdpmSampler, String> {
        if energy.dim() != 1 {
            return Err(format!(
                "ddpm: the target must be 1-D, \"{}\" is {}-D",
                settings.energy.name(),
                energy.dim()
            ));
        }
        if settings.whiten {
            return Err(
                "ddpm: set whiten to false (DDPM learns in the target's coordinates)".into(),
            );
        }
        let target = Target::new(&settings.energy, settings.temperature)?;
        let mut rng = Rng::new(settings.seed);
        let features = FourierFeatures::new(3);
        let in_dim = 1 + features.dim();
        let mut sizes = vec![in_dim];
        sizes.extend(std::iter::repeat_n(settings.hidden, settings.layers));
        sizes.push(1);
        let net = Mlp::new(&sizes, settings.activation, &mut rng);
        let mut pool_rng = rng.fork();
        let pool = target
            .exact_samples(POOL, &mut pool_rng)
            .unwrap_or_else(|| target.reference_samples(POOL, &mut pool_rng));
        let oracle = target
            .as_mixture()
            .map(|g| Oracle::new(&g, settings.sigma_q, settings.steps));
        let k = TRAJECTORIES.min(settings.paths);
        Ok(DdpmSampler {
            adam: Adam::new(net.n_params(), settings.lr as f32),
            grad: vec![0.0; net.n_params()],
            net,
            features,
            sigma_q: settings.sigma_q,
            steps: settings.steps,
            inner_steps: settings.inner_steps,
            pool: Arc::new(pool),
            oracle,
            rng,
            phase: Phase::Train,
            iteration: 0,
            x: vec![0.0; settings.paths],
            reverse_step: 0,
            trajectories: vec![0.0; k * (settings.steps + 1)],
            chain: vec![0.0; settings.paths * (settings.steps + 1)],
            last_chain: Vec::new(),
            last: None,
            inner: 0,
            loss_sum: 0.0,
            inputs: Array2::zeros((settings.batch, in_dim)),
            targets: vec![0.0; settings.batch],
            grad_out: Array2::zeros((settings.batch, 1)),
            ws: Workspace::new(),
            sample_inputs: Array2::zeros((settings.paths, in_dim)),
            sample_ws: Workspace::new(),
        })
    }

    /// The exact denoiser and marginals where the target is a Gaussian mixture.
    pub fn oracle(&self) -> Option<&Oracle> {
        self.oracle.as_ref()
    }

    fn learned_denoiser(&self) -> Denoiser<'_> {
        Denoiser {
            net: &self.net,
            features: &self.features,
            scale: (self.sigma_q * self.sigma_q / self.steps as f64) as f32,
        }
    }

    /// The last completed training rollout's reverse chain: (T + 1) × paths values, row i
    /// holding every particle at t = 1 − i/T; None before the first rollout.
    pub fn last_chain(&self) -> Option<&[f32]> {
        (!self.last_chain.is_empty()).then_some(self.last_chain.as_slice())
    }

    /// x_1 ~ p_1: a target sample plus N(0, σ_q²).
    fn start(&self, x: &mut [f32], rng: &mut Rng) {
        for v in x {
            let x0 = self.pool[rng.index(self.pool.len())];
            *v = (x0 + self.sigma_q * rng.normal()) as f32;
        }
    }

    /// One reverse step from t = i/T to (i − 1)/T of every particle:
    /// x ← x + σ_q²Δt·s_θ(x, t) + N(0, σ_q²Δt) (`noise_sd` = σ_q√Δt). An associated
    /// function over the parts it needs, so the training rollout can lend its buffers while
    /// `draw` uses its own.
    #[allow(clippy::too_many_arguments)]
    fn reverse(
        net: &Mlp,
        features: &FourierFeatures,
        inputs: &mut Array2<f32>,
        ws: &mut Workspace,
        x: &mut [f32],
        t: f64,
        noise_sd: f64,
        rng: &mut Rng,
    ) {
        fill(inputs, x, features, t);
        let out = net.forward(inputs.view(), ws);
        let scale = noise_sd * noise_sd;
        for (v, &s) in x.iter_mut().zip(out.iter()) {
            *v = (*v as f64 + scale * s as f64 + noise_sd * rng.normal()) as f32;
        }
    }

    fn record_trajectories(&mut self) {
        let points = self.steps + 1;
        let k = self.trajectories.len() / points;
        for p in 0..k {
            self.trajectories[p * points + self.reverse_step] = self.x[p];
        }
        let n = self.x.len();
        self.chain[self.reverse_step * n..(self.reverse_step + 1) * n].copy_from_slice(&self.x);
    }

    /// One Adam step on ½(f_θ(x_{t+Δt}, t+Δt) − x_t)², t = i/T, i uniform in 0..T, in its
    /// Rao–Blackwellized form and in score units (below; the loss reported is in those units).
    fn gradient_step(&mut self) -> Result<f64, String> {
        let b = self.inputs.nrows();
        let dt = 1.0 / self.steps as f64;
        let mut tf = [0f32; MAX_FEATURES];
        let tf = &mut tf[..self.features.dim()];
        for j in 0..b {
            let x0 = self.pool[self.rng.index(self.pool.len())];
            let i = self.rng.index(self.steps);
            let t = i as f64 * dt;
            // x_{t+Δt} = x_0 + N(0, σ_q²(t + Δt)): fresh noise per sample.
            let next = x0 + (self.sigma_q * self.sigma_q * (t + dt)).sqrt() * self.rng.normal();
            self.features.write(t + dt, tf);
            self.inputs[[j, 0]] = next as f32;
            for (k, &f) in tf.iter().enumerate() {
                self.inputs[[j, 1 + k]] = f;
            }
            // Target: E[x_t | x_0, x_{t+Δt}] instead of the drawn x_t (given both ends the
            // forward path is a Brownian bridge, E[x_t | x_0, x_{t+Δt}] = x_0 +
            // t/(t+Δt)·(x_{t+Δt} − x_0)). This changes the loss only by a θ-independent
            // constant (the bridge variance), so the minimizer E[x_t | x_{t+Δt}] and the
            // expected gradient are those of docs/methods.md §4, without the per-sample noise
            // σ_q√Δt that is ten times the signal at T = 100. In score units (divided by
            // σ_q²Δt, a constant factor of the loss) it is (x_0 − x_{t+Δt})/(σ_q²(t + Δt)).
            self.targets[j] = ((x0 - next) / (self.sigma_q * self.sigma_q * (t + dt))) as f32;
        }
        let out = self.net.forward(self.inputs.view(), &mut self.ws);
        let mut loss = 0.0f64;
        for ((g, &r), &target) in self.grad_out.iter_mut().zip(out.iter()).zip(&self.targets) {
            let e = r - target;
            loss += 0.5 * (e * e) as f64;
            *g = e / b as f32;
        }
        loss /= b as f64;
        self.net.backward(
            &mut self.ws,
            self.grad_out.view(),
            &mut self.grad,
            None::<ndarray::ArrayViewMut2<f32>>,
        );
        let gnorm = self.adam.step(self.net.params_mut(), &self.grad);
        if !loss.is_finite() || !gnorm.is_finite() {
            return Err(format!(
                "training diverged (loss {loss}, gradient norm {gnorm}); lower the learning rate"
            ));
        }
        Ok(loss)
    }
}

/// DDPM's learned denoiser f_θ(x, t) = x + σ_q²Δt·s_θ(x, t) as observed
/// ([`DdpmObservation::denoiser`]); evaluating it changes nothing in the sampler.
#[derive(Clone, Copy)]
pub struct Denoiser<'a> {
    net: &'a Mlp,
    features: &'a FourierFeatures,
    /// σ_q²Δt.
    scale: f32,
}

impl Denoiser<'_> {
    /// f_θ(x, t) at the points `xs`.
    pub fn at(&self, xs: &[f32], t: f64) -> Vec<f32> {
        let mut inputs = Array2::zeros((xs.len(), 1 + self.features.dim()));
        let mut ws = Workspace::new();
        fill(&mut inputs, xs, self.features, t);
        let out = self.net.forward(inputs.view(), &mut ws);
        xs.iter()
            .zip(out.iter())
            .map(|(&x, &s)| x + self.scale * s)
            .collect()
    }
}

fn fill(inputs: &mut Array2<f32>, x: &[f32], features: &FourierFeatures, t: f64) {
    let mut tf = [0f32; MAX_FEATURES];
    let tf = &mut tf[..features.dim()];
    features.write(t, tf);
    for (mut row, &xp) in inputs.rows_mut().into_iter().zip(x) {
        row[0] = xp;
        for (k, &f) in tf.iter().enumerate() {
            row[1 + k] = f;
        }
    }
}

impl Sampler for DdpmSampler {
    fn name(&self) -> &'static str {
        "ddpm"
    }

    fn dim(&self) -> usize {
        1
    }

    fn work(&mut self) -> Result<Work, String> {
        match self.phase {
            Phase::Train => {
                let loss = self.gradient_step()?;
                self.loss_sum += loss;
                self.inner += 1;
                if self.inner == self.inner_steps {
                    self.phase = Phase::Rollout;
                    self.reverse_step = 0;
                }
                Ok(Work::GradientStep { loss })
            }
            Phase::Rollout => {
                if self.reverse_step == 0 {
                    let mut x = std::mem::take(&mut self.x);
                    let mut rng = self.rng.fork();
                    self.start(&mut x, &mut rng);
                    self.rng = rng;
                    self.x = x;
                    self.record_trajectories();
                }
                let t = 1.0 - self.reverse_step as f64 / self.steps as f64;
                let sd = self.sigma_q / (self.steps as f64).sqrt();
                DdpmSampler::reverse(
                    &self.net,
                    &self.features,
                    &mut self.sample_inputs,
                    &mut self.sample_ws,
                    &mut self.x,
                    t,
                    sd,
                    &mut self.rng,
                );
                self.reverse_step += 1;
                self.record_trajectories();
                if self.reverse_step < self.steps {
                    return Ok(Work::RolloutStep);
                }
                if self.x.iter().any(|v| !v.is_finite()) {
                    return Err("samples became NaN or infinite; lower the learning rate".into());
                }
                self.last = Some(Rollout {
                    samples: self.x.clone(),
                    log_weights: None,
                });
                self.last_chain.clone_from(&self.chain);
                self.iteration += 1;
                self.phase = Phase::Train;
                self.inner = 0;
                let loss = self.loss_sum / self.inner_steps as f64;
                self.loss_sum = 0.0;
                Ok(Work::IterationDone { loss })
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
        let mut samples = Vec::with_capacity(n);
        let sd = self.sigma_q / (self.steps as f64).sqrt();
        let mut ws = Workspace::new();
        let mut done = 0;
        while done < n {
            let m = DRAW_CHUNK.min(n - done);
            let mut x = vec![0f32; m];
            self.start(&mut x, rng);
            let mut inputs = Array2::zeros((m, 1 + self.features.dim()));
            for i in (1..=self.steps).rev() {
                let t = i as f64 / self.steps as f64;
                DdpmSampler::reverse(
                    &self.net,
                    &self.features,
                    &mut inputs,
                    &mut ws,
                    &mut x,
                    t,
                    sd,
                    rng,
                );
            }
            samples.extend_from_slice(&x);
            done += m;
        }
        Rollout {
            samples,
            log_weights: None,
        }
    }

    /// DDPM never evaluates the energy; its particles run down in time.
    fn observe(&self) -> Observation<'_> {
        let points = self.steps + 1;
        Observation {
            particles: &self.x,
            time: 1.0 - self.reverse_step as f64 / self.steps as f64,
            time_reversed: true,
            trajectories: Trajectories {
                values: &self.trajectories,
                count: self.trajectories.len() / points,
                points,
            },
            last_rollout: self.last.as_ref(),
            stage: None,
            corrector: None,
            ddpm: Some(DdpmObservation {
                steps: self.steps,
                sigma_q: self.sigma_q,
                chain: self.last_chain(),
                denoiser: self.learned_denoiser(),
                oracle: self.oracle(),
            }),
            gfn: None,
        }
    }

    fn save_state(&self) -> StateMap {
        let mut out = StateMap::new();
        out.put_f32("net", self.net.params());
        self.adam.save_state(&mut out, "adam.");
        out.put_u64("rng", &self.rng.state());
        out.put_usize("iteration", self.iteration);
        out.put_f32("particles", &self.x);
        out.put_f32("trajectories", &self.trajectories);
        out.put_f32("last_chain", &self.last_chain);
        Rollout::save_state(self.last.as_ref(), &mut out, "last.");
        out
    }

    fn load_state(&mut self, from: &StateMap) -> Result<(), String> {
        self.net.load_params(from, "net")?;
        self.adam.load_state(from, "adam.")?;
        self.rng = Rng::from_state(&from.u64s("rng")?)?;
        self.iteration = from.usize("iteration")?;
        from.read_f32_into("particles", &mut self.x)?;
        from.read_f32_into("trajectories", &mut self.trajectories)?;
        self.last_chain = from.f32s_empty_or_of_len("last_chain", self.chain.len())?;
        if !self.last_chain.is_empty() {
            self.chain.clone_from(&self.last_chain);
        }
        self.last = Rollout::load_state(from, "last.", self.x.len(), 1)?;
        // Between iterations DDPM is about to train (docs/methods.md §4: train, then sample).
        self.phase = Phase::Train;
        self.inner = 0;
        self.loss_sum = 0.0;
        self.reverse_step = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::energy::EnergySpec;
    use serde_json::json;

    #[test]
    fn last_chain_holds_the_whole_reverse_chain_of_the_last_rollout() {
        let config = Config::from_partial(&json!({"sampler": "ddpm", "energy": "gmm1d-demo",
                                                  "paths": 2000, "inner_steps": 1, "steps": 10}))
        .unwrap();
        let target = Target::new(&EnergySpec::Named("gmm1d-demo".into()), 1.0).unwrap();
        let mut s = DdpmSampler::new(&config.settings(), target.energy.clone()).unwrap();
        assert!(s.last_chain().is_none());
        while s.iteration() == 0 {
            s.work().unwrap();
        }
        let chain = s.last_chain().unwrap();
        let n = 2000;
        assert_eq!(chain.len(), n * 11);
        // Its last row (t = 0) is the rollout's samples, and its trajectories are its paths.
        let seen = s.observe();
        assert_eq!(
            &chain[10 * n..],
            seen.last_rollout.unwrap().samples.as_slice()
        );
        let Trajectories {
            values: traj,
            count,
            points,
        } = seen.trajectories;
        for p in 0..count {
            for i in 0..points {
                assert_eq!(traj[p * points + i], chain[i * n + p]);
            }
        }
        // Row 0 is x_1 ~ p_1 = target * N(0, σ_q²): variance Var(target) + σ_q² (= 2.575 + 1).
        let row: Vec<f64> = chain[..n].iter().map(|&v| v as f64).collect();
        let mean = row.iter().sum::<f64>() / n as f64;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        let truth = 0.5 * (0.49 + 0.16) + 0.25 * 9.0 + 1.0;
        assert!((var - truth).abs() < 0.25, "{var} vs {truth}");
    }
}
