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

/// Paths per block: each block has its own random stream, input rows and network
/// workspace, so blocks can advance on different threads. The split depends only on the
/// number of paths, so a seed gives the same paths whatever the number of threads.
const BLOCK: usize = 256;

/// Threads a rollout step uses: natively up to the cores available (at most 2 blocks'
/// worth of work per thread pays for the spawn), 1 in wasm.
pub(crate) fn rollout_threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::env::var("PLAYGROUND_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &usize| n >= 1)
            .unwrap_or(cores)
    }
    #[cfg(target_arch = "wasm32")]
    {
        1
    }
}

/// One block's private state.
#[derive(Clone)]
struct PathBlock {
    rng: Rng,
    inputs: Array2<f32>,
    ws: Workspace,
}

/// Paths in flight and the buffers their Euler–Maruyama steps reuse.
#[derive(Clone)]
pub(crate) struct PathBatch {
    pub(crate) step: usize,
    pub(crate) x: Vec<f32>,
    pub(crate) log_ratio: Vec<f64>,
    blocks: Vec<PathBlock>,
    threads: usize,
}

impl PathBatch {
    pub(crate) fn new(n: usize, d: usize, features: &FourierFeatures) -> PathBatch {
        let blocks = (0..n.div_ceil(BLOCK))
            .map(|b| PathBlock {
                rng: Rng::new(0),
                inputs: Array2::zeros((BLOCK.min(n - b * BLOCK), d + features.dim())),
                ws: Workspace::new(),
            })
            .collect();
        PathBatch {
            step: 0,
            x: vec![0.0; n * d],
            log_ratio: vec![0.0; n],
            blocks,
            threads: rollout_threads(),
        }
    }

    /// Back to t = 0; every block draws its noise from its own stream forked from `rng`.
    pub(crate) fn restart(&mut self, rng: &mut Rng) {
        self.step = 0;
        self.x.fill(0.0); // Dirac source at the origin.
        self.log_ratio.fill(0.0);
        for block in &mut self.blocks {
            block.rng = rng.fork();
        }
    }

    /// One Euler–Maruyama step of every path with the network's control.
    pub(crate) fn advance(
        &mut self,
        net: &Mlp,
        grid: &TimeGrid,
        features: &FourierFeatures,
        d: usize,
    ) {
        let i = self.step;
        let step_block = |block: &mut PathBlock, x: &mut [f32], log_ratio: &mut [f64]| {
            fill_inputs(&mut block.inputs, x, d, features, grid.times[i]);
            let u = net.forward(block.inputs.view(), &mut block.ws);
            let u = u.as_slice().expect("network output is contiguous");
            grid.step(i, x, u, log_ratio, d, &mut block.rng);
        };
        let threads = self.threads.min(self.blocks.len());
        let (blocks, x, log_ratio) = (
            &mut self.blocks[..],
            &mut self.x[..],
            &mut self.log_ratio[..],
        );
        // No threads in wasm32 (the browser's would need SharedArrayBuffer).
        if threads <= 1 || cfg!(target_arch = "wasm32") {
            run_blocks(blocks, x, log_ratio, d, &step_block);
        } else {
            // Contiguous shares of the blocks, one per thread; this thread takes the last.
            std::thread::scope(|s| {
                let (mut blocks, mut x, mut log_ratio) = (blocks, x, log_ratio);
                for t in 0..threads - 1 {
                    let take = blocks.len() / (threads - t);
                    let paths: usize = blocks[..take].iter().map(|b| b.inputs.nrows()).sum();
                    let (b0, b1) = blocks.split_at_mut(take);
                    let (x0, x1) = x.split_at_mut(paths * d);
                    let (l0, l1) = log_ratio.split_at_mut(paths);
                    let step_block = &step_block;
                    s.spawn(move || run_blocks(b0, x0, l0, d, step_block));
                    (blocks, x, log_ratio) = (b1, x1, l1);
                }
                run_blocks(blocks, x, log_ratio, d, &step_block);
            });
        }
        self.step += 1;
    }
}

/// Runs `f` on each block with its rows of x (n × d) and log_ratio.
fn run_blocks(
    blocks: &mut [PathBlock],
    x: &mut [f32],
    log_ratio: &mut [f64],
    d: usize,
    f: &(impl Fn(&mut PathBlock, &mut [f32], &mut [f64]) + Sync),
) {
    let (mut x, mut log_ratio) = (x, log_ratio);
    for block in blocks {
        let n = block.inputs.nrows();
        let (xb, xr) = x.split_at_mut(n * d);
        let (lb, lr) = log_ratio.split_at_mut(n);
        f(block, xb, lb);
        (x, log_ratio) = (xr, lr);
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

    /// One whole outer iteration through the same steps as [`Sampler::work`], timed by
    /// phase for `playground bench`: seconds of (rollout, target, train) and the mean loss.
    /// `now` reads a clock in seconds (Instant natively, performance.now in the browser).
    pub(crate) fn timed_iteration(
        &mut self,
        now: &dyn Fn() -> f64,
    ) -> Result<([f64; 3], f64), String> {
        let t0 = now();
        self.rollout.restart(&mut self.rng);
        self.record_trajectories();
        while self.rollout.step < self.grid.steps() {
            self.rollout
                .advance(&self.net, &self.grid, &self.features, self.dim);
            self.record_trajectories();
        }
        let t1 = now();
        self.finish_rollout()?;
        let t2 = now();
        let mut loss = 0.0;
        for _ in 0..self.inner_steps {
            loss += self.gradient_step()?;
        }
        let t3 = now();
        self.iteration += 1;
        self.rollout.step = 0;
        self.phase = Phase::Rollout;
        Ok(([t1 - t0, t2 - t1, t3 - t2], loss / self.inner_steps as f64))
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
                    self.rollout.restart(&mut self.rng);
                    self.record_trajectories();
                }
                self.rollout
                    .advance(&self.net, &self.grid, &self.features, self.dim);
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
            batch.restart(rng);
            while batch.step < self.grid.steps() {
                batch.advance(&self.net, &self.grid, &self.features, d);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;
    use crate::nn::Activation;

    /// A network with random output weights, so the control is not zero.
    fn random_net(seed: u64) -> Mlp {
        let mut rng = Rng::new(seed);
        let mut net = Mlp::new(&[8, 32, 32, 2], Activation::Gelu, &mut rng);
        let p: Vec<f32> = (0..net.n_params())
            .map(|_| (0.3 * rng.normal()) as f32)
            .collect();
        net.set_params(&p);
        net
    }

    #[test]
    fn threaded_rollout_equals_the_single_threaded_one_exactly() {
        // Each block of paths has its own stream, so the split over threads cannot change
        // a single bit of the paths or their Girsanov log-ratios.
        let net = random_net(5);
        let grid = TimeGrid::new(&Config::preset(Preset::Browser).schedule(), 20);
        let features = FourierFeatures::new(3);
        let n = 3 * BLOCK + 17;
        let mut results = Vec::new();
        for threads in [1, 2, 3] {
            let mut batch = PathBatch::new(n, 2, &features);
            batch.threads = threads;
            batch.restart(&mut Rng::new(9));
            while batch.step < grid.steps() {
                batch.advance(&net, &grid, &features, 2);
            }
            assert!(batch.x.iter().all(|v| v.is_finite()));
            results.push((batch.x, batch.log_ratio));
        }
        assert_eq!(results[0], results[1]);
        assert_eq!(results[0], results[2]);
        // The control moved the paths: log-ratios are not all zero.
        assert!(results[0].1.iter().any(|&l| l.abs() > 1e-3));
    }

    #[test]
    fn blocks_draw_independent_noise() {
        // With u = 0 every path is a base-process path: variance ν₁ per coordinate, and
        // paths in different blocks uncorrelated (same-index paths of two blocks would be
        // identical if the streams were shared).
        let mut rng = Rng::new(3);
        let net = Mlp::new(&[8, 16, 2], Activation::Gelu, &mut rng);
        let grid = TimeGrid::new(&Config::preset(Preset::Browser).schedule(), 10);
        let features = FourierFeatures::new(3);
        let n = 16 * BLOCK;
        let mut batch = PathBatch::new(n, 2, &features);
        batch.restart(&mut Rng::new(4));
        while batch.step < grid.steps() {
            batch.advance(&net, &grid, &features, 2);
        }
        let x: Vec<f64> = batch.x.iter().map(|&v| v as f64).collect();
        let var = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
        // 8192 draws: sd of the variance estimate ≈ ν₁·√(2/8192) ≈ 0.016·ν₁.
        assert!((var / grid.nu1 - 1.0).abs() < 0.07, "{var} vs {}", grid.nu1);
        let m = BLOCK * 2;
        let cross: f64 = (0..m).map(|i| x[i] * x[i + m]).sum::<f64>() / m as f64;
        assert!(cross.abs() < 0.25 * grid.nu1, "block correlation {cross}");
    }
}
