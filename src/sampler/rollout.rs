//! The rollout shared by the SDE samplers: paths in flight, advanced one Euler–Maruyama step
//! at a time in blocks that each own a random stream, so a seed gives the same paths on any
//! number of threads.

use crate::nn::{FourierFeatures, Mlp, Workspace};
use crate::rng::Rng;
use crate::sde::TimeGrid;
use ndarray::Array2;
use rand::RngCore;

/// Paths shown as trajectories.
pub(crate) const TRAJECTORIES: usize = 24;
/// Evaluation rollouts run in chunks of this many paths to bound memory.
pub(crate) const DRAW_CHUNK: usize = 2048;
/// Room for the time features on the stack.
pub(crate) const MAX_FEATURES: usize = 16;

/// Paths per block: each block has its own random stream, input rows and network
/// workspace, so blocks can advance on different threads. The split depends only on the
/// number of paths, so a seed gives the same paths whatever the number of threads.
const BLOCK: usize = 256;

/// Threads a rollout step uses: natively the cores available (or `PLAYGROUND_THREADS`),
/// woken from the persistent pool and capped per step at one per block and `MAX_SHARES`;
/// 1 in wasm.
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
    /// The seed `rng` started from at the last restart (a Web Worker rebuilds the stream
    /// from it).
    seed: u64,
    rng: Rng,
    inputs: Array2<f32>,
    ws: Workspace,
    /// Where the block is simulated in the current rollout (see [`OpenRollout`]).
    place: Place,
}

/// Where a block of paths is simulated in the current rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Here, by the batch's steps.
    Here,
    /// Elsewhere (a Web Worker's share): the steps here leave it at X_0.
    Away,
    /// Back from elsewhere, at t = 1: the steps here leave it alone until the next restart.
    Back,
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
                seed: 0,
                rng: Rng::new(0),
                inputs: Array2::zeros((BLOCK.min(n - b * BLOCK), d + features.dim())),
                ws: Workspace::new(),
                place: Place::Here,
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
            // The same stream as `rng.fork()`, with its seed kept.
            block.seed = rng.next_u64();
            block.rng = Rng::new(block.seed);
            // Blocks sent away for this rollout stay away; those back from the last are here.
            if block.place == Place::Back {
                block.place = Place::Here;
            }
        }
    }

    /// Back to t = 0 with the blocks' streams started from `seeds` (one per block: those of
    /// the rollout's blocks this batch simulates a share of); x is left as it is.
    pub(crate) fn restart_from_seeds(&mut self, seeds: &[u64]) -> Result<(), String> {
        if seeds.len() != self.blocks.len() {
            return Err(format!(
                "rollout share: {} block seeds for {} blocks",
                seeds.len(),
                self.blocks.len()
            ));
        }
        self.step = 0;
        self.log_ratio.fill(0.0);
        for (block, &seed) in self.blocks.iter_mut().zip(seeds) {
            block.seed = seed;
            block.rng = Rng::new(seed);
        }
        Ok(())
    }

    /// Runs on `threads` threads from now on (tests pin 1 to see every allocation).
    #[cfg(test)]
    pub(crate) fn set_threads(&mut self, threads: usize) {
        self.threads = threads;
    }

    /// Blocks, each a contiguous run of paths; a share of a rollout is a range of them.
    pub(crate) fn n_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// The first path of block `b` (b = n_blocks gives the number of paths).
    pub(crate) fn block_start(&self, b: usize) -> usize {
        (b * BLOCK).min(self.log_ratio.len())
    }

    /// One Euler–Maruyama step of every path with the network's control.
    pub(crate) fn advance(
        &mut self,
        net: &Mlp,
        grid: &TimeGrid,
        features: &FourierFeatures,
        d: usize,
    ) {
        self.advance_steps(1, net, grid, features, d, None);
    }

    /// `count` Euler–Maruyama steps of every path. Each thread takes a contiguous share of
    /// the blocks through all `count` steps (blocks never interact, so threads meet once per
    /// call, not once per step). If `trace` is given (k paths × (steps + 1) points × d), the
    /// first k paths' positions after each step are written to it at their step's point.
    pub(crate) fn advance_steps(
        &mut self,
        count: usize,
        net: &Mlp,
        grid: &TimeGrid,
        features: &FourierFeatures,
        d: usize,
        trace: Option<&mut [f32]>,
    ) {
        let count = count.min(grid.steps() - self.step);
        let all = 0..self.blocks.len();
        self.advance_block_range(all, count, net, grid, features, d, trace);
        self.step += count;
    }

    /// `count` steps from `self.step` of the blocks in `range` only (the others are left to
    /// another worker); `self.step` is not moved. The trace, if any, needs block 0 in range.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn advance_block_range(
        &mut self,
        range: std::ops::Range<usize>,
        count: usize,
        net: &Mlp,
        grid: &TimeGrid,
        features: &FourierFeatures,
        d: usize,
        trace: Option<&mut [f32]>,
    ) {
        let first = self.step;
        self.advance_blocks(
            range,
            first,
            count,
            Place::Here,
            net,
            grid,
            features,
            d,
            trace,
        );
    }

    /// `count` steps from step `first` of the blocks in `range` that are at `place`; the
    /// others are skipped.
    #[allow(clippy::too_many_arguments)]
    fn advance_blocks(
        &mut self,
        range: std::ops::Range<usize>,
        first: usize,
        count: usize,
        place: Place,
        net: &Mlp,
        grid: &TimeGrid,
        features: &FourierFeatures,
        d: usize,
        trace: Option<&mut [f32]>,
    ) {
        let count = count.min(grid.steps() - first);
        if count == 0 {
            return;
        }
        let points = grid.steps() + 1;
        if let Some(trace) = &trace {
            let k = trace.len() / (points * d);
            assert!(
                trace.len() == k * points * d
                    && (k == 0 || range.start == 0 && k <= self.blocks[0].inputs.nrows()),
                "rollout trace: traced paths must lie in the first block, in range"
            );
        }
        let run_share = |share: Share| {
            let Share {
                blocks,
                x,
                log_ratio,
                mut trace,
            } = share;
            let (mut x, mut log_ratio) = (x, log_ratio);
            for (b, block) in blocks.iter_mut().enumerate() {
                let n = block.inputs.nrows();
                let (xb, xr) = std::mem::take(&mut x).split_at_mut(n * d);
                let (lb, lr) = std::mem::take(&mut log_ratio).split_at_mut(n);
                let steps = if block.place == place { count } else { 0 };
                for i in first..first + steps {
                    fill_inputs(&mut block.inputs, xb, d, features, grid.times[i]);
                    let u = net.forward(block.inputs.view(), &mut block.ws);
                    let u = u.as_slice().expect("network output is contiguous");
                    grid.step(i, xb, u, lb, d, &mut block.rng);
                    if let (0, Some(trace)) = (b, trace.as_deref_mut()) {
                        let k = trace.len() / (points * d);
                        for (p, xp) in xb.chunks_exact(d).take(k).enumerate() {
                            let at = (p * points + i + 1) * d;
                            trace[at..at + d].copy_from_slice(xp);
                        }
                    }
                }
                (x, log_ratio) = (xr, lr);
            }
        };
        let threads = self.threads.min(range.len()).min(MAX_SHARES);
        let paths = self.block_start(range.start)..self.block_start(range.end);
        let whole = Share {
            blocks: &mut self.blocks[range],
            x: &mut self.x[paths.start * d..paths.end * d],
            log_ratio: &mut self.log_ratio[paths],
            trace,
        };
        run_shares(whole, threads, d, &run_share);
    }
}

/// A sampler's training rollout opened so that Web Workers can simulate shares of its path
/// blocks (Adjoint Sampling and ASBS, see [`crate::sampler::Sampler::open_rollout`]):
/// before the rollout starts, blocks are sent away; the sampler's own units of work (or
/// [`OpenRollout::advance`]) then advance only the others, and the away blocks' results are
/// handed back (or simulated here after all) before its last step. Blocks have independent
/// random streams, so the paths are bit for bit those of a rollout simulated in one place.
/// The protocol built on it is `crate::shared_rollout`'s.
pub struct OpenRollout<'a> {
    pub(crate) batch: &'a mut PathBatch,
    pub(crate) net: &'a Mlp,
    pub(crate) grid: &'a TimeGrid,
    pub(crate) features: &'a FourierFeatures,
    pub(crate) dim: usize,
    /// The sampler's trajectories (k paths × (steps + 1) points × d), written by `advance`.
    pub(crate) trace: &'a mut [f32],
}

impl OpenRollout<'_> {
    pub(crate) fn blocks(&self) -> usize {
        self.batch.n_blocks()
    }

    /// Euler–Maruyama steps done in the current rollout, of its `steps()`.
    pub(crate) fn step(&self) -> usize {
        self.batch.step
    }

    pub(crate) fn steps(&self) -> usize {
        self.grid.steps()
    }

    /// Advances the blocks simulated here `count` steps (at most to the rollout's end) in one
    /// call, the traced paths included, so that threads meet once rather than once per step
    /// (the bench's coordinator). Bit for bit the sampler's own steps. At the end the
    /// sampler's next unit of work steps nothing and finishes the rollout.
    pub(crate) fn advance(&mut self, count: usize) {
        let (net, grid, features, d) = (self.net, self.grid, self.features, self.dim);
        let trace = Some(&mut *self.trace);
        self.batch
            .advance_steps(count, net, grid, features, d, trace);
    }

    /// Whether any block is away.
    pub(crate) fn any_away(&self) -> bool {
        self.batch.blocks.iter().any(|b| b.place == Place::Away)
    }

    /// Sends blocks `range` away for the rollout about to start (at step 0). Block 0 stays:
    /// its paths are the ones drawn as trajectories.
    pub(crate) fn send_away(&mut self, range: std::ops::Range<usize>) -> Result<(), String> {
        if self.batch.step != 0 || range.start == 0 || range.end > self.blocks() {
            return Err(format!(
                "rollout share: cannot send blocks {range:?} of {} away at step {}",
                self.blocks(),
                self.batch.step
            ));
        }
        for block in &mut self.batch.blocks[range] {
            block.place = Place::Away;
        }
        Ok(())
    }

    /// The stream seeds of blocks `range` since the rollout started.
    pub(crate) fn seeds(&self, range: std::ops::Range<usize>) -> Vec<u64> {
        self.batch.blocks[range].iter().map(|b| b.seed).collect()
    }

    /// Positions of the paths of blocks `range` (X_0 while they are away).
    pub(crate) fn x(&self, range: std::ops::Range<usize>) -> &[f32] {
        let (s, e) = (
            self.batch.block_start(range.start),
            self.batch.block_start(range.end),
        );
        &self.batch.x[s * self.dim..e * self.dim]
    }

    /// Takes back the final positions and Girsanov log-ratios of the away blocks from
    /// `first_block` on that `log_ratio` covers. Ok(false), changing nothing, if any of them
    /// is not away (results that arrive after `reclaim`); an error if they are not whole
    /// blocks.
    pub(crate) fn accept(
        &mut self,
        first_block: usize,
        x: &[f32],
        log_ratio: &[f64],
    ) -> Result<bool, String> {
        let (d, n) = (self.dim, log_ratio.len());
        let start = self.batch.block_start(first_block.min(self.blocks()));
        let end = start + n;
        let last_block = (first_block..=self.blocks()).find(|&b| self.batch.block_start(b) == end);
        let Some(last_block) = last_block.filter(|_| x.len() == n * d && n > 0) else {
            return Err(format!(
                "rollout share: {n} paths from block {first_block} are not whole blocks of the rollout"
            ));
        };
        let blocks = &mut self.batch.blocks[first_block..last_block];
        if !blocks.iter().all(|b| b.place == Place::Away) {
            return Ok(false);
        }
        for block in blocks {
            block.place = Place::Back;
        }
        self.batch.x[start * d..end * d].copy_from_slice(x);
        self.batch.log_ratio[start..end].copy_from_slice(log_ratio);
        Ok(true)
    }

    /// Simulates the blocks still away here, up to the other blocks' step, and keeps them
    /// (their results, if they arrive, are then refused by `accept`).
    pub(crate) fn reclaim(&mut self) {
        let all = 0..self.blocks();
        let step = self.batch.step;
        let (net, grid, features, d) = (self.net, self.grid, self.features, self.dim);
        self.batch
            .advance_blocks(all, 0, step, Place::Away, net, grid, features, d, None);
        for block in &mut self.batch.blocks {
            if block.place == Place::Away {
                block.place = Place::Here;
            }
        }
    }
}

/// Most threads a rollout is split over.
const MAX_SHARES: usize = 16;

/// A contiguous run of blocks with their rows of x (n × d) and log_ratio; the first share
/// carries the trace.
struct Share<'a> {
    blocks: &'a mut [PathBlock],
    x: &'a mut [f32],
    log_ratio: &'a mut [f64],
    trace: Option<&'a mut [f32]>,
}

/// Splits `whole` into `threads` contiguous shares and runs `f` on each, on the process's
/// worker pool natively (or on this thread if the pool is busy or in wasm, which has no
/// threads without SharedArrayBuffer).
fn run_shares(whole: Share, threads: usize, d: usize, f: &(dyn Fn(Share) + Sync)) {
    #[cfg(not(target_arch = "wasm32"))]
    if threads > 1 {
        if let Some(mut pool) = super::pool::Pool::try_global() {
            use std::sync::Mutex;
            let shares: [Mutex<Option<Share>>; MAX_SHARES] =
                std::array::from_fn(|_| Mutex::new(None));
            let Share {
                mut blocks,
                mut x,
                mut log_ratio,
                mut trace,
            } = whole;
            let total = blocks.len();
            for (t, slot) in shares.iter().enumerate().take(threads) {
                let take = (t + 1) * total / threads - t * total / threads;
                let paths: usize = blocks[..take].iter().map(|b| b.inputs.nrows()).sum();
                let (b0, b1) = blocks.split_at_mut(take);
                let (x0, x1) = x.split_at_mut(paths * d);
                let (l0, l1) = log_ratio.split_at_mut(paths);
                *slot.lock().expect("share") = Some(Share {
                    blocks: b0,
                    x: x0,
                    log_ratio: l0,
                    trace: trace.take(),
                });
                (blocks, x, log_ratio) = (b1, x1, l1);
            }
            pool.run(threads, &|t| {
                let share = shares[t].lock().expect("share").take();
                f(share.expect("each share is taken once"));
            });
            return;
        }
    }
    let _ = (threads, d);
    f(whole);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Preset};
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
    fn chunked_steps_with_a_trace_equal_single_steps_on_any_thread_count() {
        let net = random_net(6);
        let grid = TimeGrid::new(&Config::preset(Preset::Browser).schedule(), 23);
        let features = FourierFeatures::new(3);
        let (n, d, k) = (2 * BLOCK + 40, 2, 5);
        let points = grid.steps() + 1;
        // Reference: one step per call, positions read after each.
        let mut single = PathBatch::new(n, d, &features);
        single.threads = 1;
        single.restart(&mut Rng::new(2));
        let mut want = vec![0f32; k * points * d];
        while single.step < grid.steps() {
            single.advance(&net, &grid, &features, d);
            for p in 0..k {
                let at = (p * points + single.step) * d;
                want[at..at + d].copy_from_slice(&single.x[p * d..(p + 1) * d]);
            }
        }
        for threads in [1, 2, 3] {
            let mut batch = PathBatch::new(n, d, &features);
            batch.threads = threads;
            batch.restart(&mut Rng::new(2));
            let mut trace = vec![0f32; k * points * d];
            for chunk in [1, 7, 100] {
                batch.advance_steps(chunk, &net, &grid, &features, d, Some(&mut trace));
            }
            assert_eq!(batch.step, grid.steps());
            assert_eq!(batch.x, single.x, "{threads} threads");
            assert_eq!(batch.log_ratio, single.log_ratio, "{threads} threads");
            assert_eq!(trace, want, "{threads} threads");
        }
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
