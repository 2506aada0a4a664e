//! Adjoint Sampling with a Dirac source (Havens et al. 2025; methods.md §2).
//!
//! Controlled SDE dX = σ_t u_θ(t, X) dt + σ_t dW from X_0 = 0. Each outer iteration
//! simulates N paths without gradients, stores (X_1, a) with the adjoint
//! a = clip(∇E(X_1) − X_1/ν_1, c) in a replay buffer, then takes L Adam steps of reciprocal
//! adjoint matching, λ_t‖u_θ(t, X_t) + σ_t a‖² with λ_t = 1/σ_t², at bridge points X_t | X_1.
//!
//! The network outputs u itself, as the paper and the original do. Regressing v = u/σ_t
//! instead has the same loss value but multiplies the drift's sensitivity to the parameters
//! at early times by σ_0 ≈ 3.7, and there the early-time control, which alone decides how
//! much mass each mode receives, became noisy enough to swing mode masses by ±0.1 between
//! iterations.

use super::clipper::clip_norm;
use super::replay_buffer::ReplayBuffer;
use super::{Phase, Rollout, Sampler, Work};
use crate::config::Config;
use crate::energy::Energy;
use crate::nn::{Adam, FourierFeatures, Mlp, Workspace};
use crate::rng::Rng;
use crate::sde::{BridgeSample, NoiseSchedule, TimeGrid};
use ndarray::Array2;
use std::sync::Arc;

/// Paths shown as trajectories.
pub(crate) const TRAJECTORIES: usize = 24;
/// Evaluation rollouts run in chunks of this many paths to bound memory.
pub(crate) const DRAW_CHUNK: usize = 2048;
/// Room for the time features on the stack.
pub(crate) const MAX_FEATURES: usize = 16;

#[derive(Clone)]
pub struct AdjointSampler {
    dim: usize,
    energy: Arc<dyn Energy>,
    schedule: NoiseSchedule,
    grid: TimeGrid,
    features: FourierFeatures,
    net: Mlp,
    adam: Adam,
    clip: f64,
    inner_steps: usize,
    buffer: ReplayBuffer,
    rng: Rng,
    phase: Phase,
    iteration: usize,
    energy_evals: u64,
    // Rollout state.
    rollout: PathBatch,
    trajectories: Vec<f32>,
    last: Option<Rollout>,
    // Training state.
    inner: usize,
    loss_sum: f64,
    batch_inputs: Array2<f32>,
    batch_targets: Array2<f32>,
    batch_sigma: Vec<f32>,
    grad_out: Array2<f32>,
    grad: Vec<f32>,
    ws: Workspace,
}

/// Paths in flight and the buffers their Euler–Maruyama steps reuse.
#[derive(Clone)]
pub(crate) struct PathBatch {
    pub(crate) step: usize,
    pub(crate) x: Vec<f32>,
    pub(crate) log_ratio: Vec<f64>,
    inputs: Array2<f32>,
    ws: Workspace,
}

impl PathBatch {
    pub(crate) fn new(n: usize, d: usize, features: &FourierFeatures) -> PathBatch {
        PathBatch {
            step: 0,
            x: vec![0.0; n * d],
            log_ratio: vec![0.0; n],
            inputs: Array2::zeros((n, d + features.dim())),
            ws: Workspace::new(),
        }
    }

    pub(crate) fn restart(&mut self) {
        self.step = 0;
        self.x.fill(0.0); // Dirac source at the origin.
        self.log_ratio.fill(0.0);
    }

    /// One Euler–Maruyama step of every path with the network's control.
    pub(crate) fn advance(
        &mut self,
        net: &Mlp,
        grid: &TimeGrid,
        features: &FourierFeatures,
        d: usize,
        rng: &mut Rng,
    ) {
        let i = self.step;
        fill_inputs(&mut self.inputs, &self.x, d, features, grid.times[i]);
        let u = net.forward(self.inputs.view(), &mut self.ws);
        let u = u.as_slice().expect("network output is contiguous");
        grid.step(i, &mut self.x, u, &mut self.log_ratio, d, rng);
        self.step += 1;
    }
}

/// Rows of [x, features(t)] for the network.
pub(crate) fn fill_inputs(
    inputs: &mut Array2<f32>,
    x: &[f32],
    d: usize,
    features: &FourierFeatures,
    t: f64,
) {
    let mut tf = [0f32; MAX_FEATURES];
    let tf = &mut tf[..features.dim()];
    features.write(t, tf);
    for (mut row, xp) in inputs.rows_mut().into_iter().zip(x.chunks_exact(d)) {
        let row = row.as_slice_mut().expect("standard layout");
        row[..d].copy_from_slice(xp);
        row[d..].copy_from_slice(tf);
    }
}

impl AdjointSampler {
    pub fn new(config: &Config, energy: Arc<dyn Energy>) -> Result<AdjointSampler, String> {
        let d = energy.dim();
        let schedule = config.schedule();
        schedule.validate()?;
        let mut rng = Rng::new(config.seed);
        let features = FourierFeatures::new(3);
        let mut sizes = vec![d + features.dim()];
        sizes.extend(std::iter::repeat_n(config.hidden, config.layers));
        sizes.push(d);
        let net = Mlp::new(&sizes, config.activation, &mut rng);
        let adam = Adam::new(net.n_params(), config.lr as f32);
        let grid = TimeGrid::new(&schedule, config.steps);
        let k = TRAJECTORIES.min(config.paths);
        let in_dim = d + features.dim();
        Ok(AdjointSampler {
            dim: d,
            grad: vec![0.0; net.n_params()],
            rollout: PathBatch::new(config.paths, d, &features),
            trajectories: vec![0.0; k * (config.steps + 1) * d],
            batch_inputs: Array2::zeros((config.batch, in_dim)),
            batch_targets: Array2::zeros((config.batch, d)),
            batch_sigma: vec![0.0; config.batch],
            grad_out: Array2::zeros((config.batch, d)),
            energy,
            schedule,
            grid,
            features,
            net,
            adam,
            clip: config.clip,
            inner_steps: config.inner_steps,
            buffer: ReplayBuffer::new(config.buffer_capacity, 2 * d),
            rng,
            phase: Phase::Rollout,
            iteration: 0,
            energy_evals: 0,
            last: None,
            inner: 0,
            loss_sum: 0.0,
            ws: Workspace::new(),
        })
    }

    pub fn network(&self) -> &Mlp {
        &self.net
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

    /// Turns the finished paths into buffer rows and path weights.
    fn finish_rollout(&mut self) -> Result<(), String> {
        let d = self.dim;
        let nu1 = self.grid.nu1;
        let n = self.rollout.log_ratio.len();
        if self.rollout.x.iter().any(|v| !v.is_finite()) {
            return Err(
                "particles became NaN or infinite during the rollout; lower the learning rate"
                    .into(),
            );
        }
        let mut log_weights = Vec::with_capacity(n);
        let mut xg = vec![0f64; d];
        let mut grad = vec![0f64; d];
        let mut row = vec![0f32; 2 * d];
        for p in 0..n {
            let xp = &self.rollout.x[p * d..(p + 1) * d];
            for k in 0..d {
                xg[k] = xp[k] as f64;
            }
            let e = self.energy.energy_grad(&xg, &mut grad);
            // a = ∇E − X_1/ν_1 = ∇(E + log p_base)(X_1), clipped (methods.md §2).
            for k in 0..d {
                grad[k] -= xg[k] / nu1;
            }
            clip_norm(&mut grad, self.clip);
            row[..d].copy_from_slice(xp);
            for k in 0..d {
                row[d + k] = grad[k] as f32;
            }
            self.buffer.push(&row);
            log_weights.push(path_log_weight(e, &xg, nu1, self.rollout.log_ratio[p]));
        }
        self.energy_evals += n as u64;
        self.last = Some(Rollout {
            samples: self.rollout.x.clone(),
            log_weights: Some(log_weights),
        });
        Ok(())
    }

    /// One Adam step of reciprocal adjoint matching on a minibatch from the buffer.
    fn gradient_step(&mut self) -> Result<f64, String> {
        let d = self.dim;
        let b = self.batch_inputs.nrows();
        let mut tf = [0f32; MAX_FEATURES];
        let tf = &mut tf[..self.features.dim()];
        for j in 0..b {
            let row = self.buffer.sample(&mut self.rng);
            let (x1, a) = row.split_at(d);
            let t = self.rng.uniform();
            let sigma = self.schedule.sigma(t) as f32;
            self.batch_sigma[j] = sigma;
            let mut input = self.batch_inputs.row_mut(j);
            let input = input.as_slice_mut().expect("standard layout");
            BridgeSample::at(&self.schedule, t).draw(None, x1, &mut input[..d], &mut self.rng);
            self.features.write(t, tf);
            input[d..].copy_from_slice(tf);
            for (target, &ak) in self.batch_targets.row_mut(j).iter_mut().zip(a) {
                *target = -sigma * ak;
            }
        }
        let u = self.net.forward(self.batch_inputs.view(), &mut self.ws);
        // Loss (1/B) Σ ½λ_t‖u + σ_t a‖², λ_t = 1/σ_t²; its gradient in u is λ_t(u + σ_t a)/B.
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
        if !loss.is_finite() || !gnorm.is_finite() {
            return Err(format!(
                "training diverged (loss {loss}, gradient norm {gnorm}); lower the learning rate"
            ));
        }
        Ok(loss)
    }
}

/// log w = −E(x) − log N(x; 0, ν_1 I) + log dP₀/dP_θ (methods.md §7): the base process
/// reweighted by R(X_1)/p₀(X_1) is the target path measure.
fn path_log_weight(energy: f64, x: &[f64], nu1: f64, log_ratio: f64) -> f64 {
    let d = x.len() as f64;
    let r2: f64 = x.iter().map(|v| v * v).sum();
    let log_base = -0.5 * d * (2.0 * std::f64::consts::PI * nu1).ln() - 0.5 * r2 / nu1;
    -energy - log_base + log_ratio
}

impl Sampler for AdjointSampler {
    fn name(&self) -> &'static str {
        "adjoint"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn work(&mut self) -> Result<Work, String> {
        match self.phase {
            Phase::Rollout => {
                if self.rollout.step == 0 {
                    self.rollout.restart();
                    self.record_trajectories();
                }
                self.rollout.advance(
                    &self.net,
                    &self.grid,
                    &self.features,
                    self.dim,
                    &mut self.rng,
                );
                self.record_trajectories();
                if self.rollout.step == self.grid.steps() {
                    self.finish_rollout()?;
                    self.phase = Phase::Train;
                    self.inner = 0;
                    self.loss_sum = 0.0;
                }
                Ok(Work::RolloutStep)
            }
            Phase::Train => {
                let loss = self.gradient_step()?;
                self.loss_sum += loss;
                self.inner += 1;
                if self.inner == self.inner_steps {
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

    fn energy_evals(&self) -> u64 {
        self.energy_evals
    }

    fn particles(&self) -> (&[f32], f64) {
        (&self.rollout.x, self.grid.times[self.rollout.step])
    }

    fn last_rollout(&self) -> Option<&Rollout> {
        self.last.as_ref()
    }

    fn trajectories(&self) -> (&[f32], usize, usize) {
        let points = self.grid.steps() + 1;
        let k = self.trajectories.len() / (points * self.dim);
        (&self.trajectories, k, points)
    }

    fn draw(&mut self, n: usize, rng: &mut Rng) -> Rollout {
        let d = self.dim;
        let mut samples = Vec::with_capacity(n * d);
        let mut log_weights = Vec::with_capacity(n);
        let mut xg = vec![0f64; d];
        let mut grad = vec![0f64; d];
        let mut done = 0;
        while done < n {
            let m = DRAW_CHUNK.min(n - done);
            let mut batch = PathBatch::new(m, d, &self.features);
            while batch.step < self.grid.steps() {
                batch.advance(&self.net, &self.grid, &self.features, d, rng);
            }
            for (p, xp) in batch.x.chunks_exact(d).enumerate() {
                for (g, &v) in xg.iter_mut().zip(xp) {
                    *g = v as f64;
                }
                let e = self.energy.energy_grad(&xg, &mut grad);
                log_weights.push(path_log_weight(e, &xg, self.grid.nu1, batch.log_ratio[p]));
            }
            samples.extend_from_slice(&batch.x);
            done += m;
        }
        Rollout {
            samples,
            log_weights: Some(log_weights),
        }
    }

    fn snapshot(&self) -> Box<dyn Sampler> {
        Box::new(self.clone())
    }
}
