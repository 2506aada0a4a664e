//! The rollout shared by the SDE samplers: paths in flight, advanced one Euler–Maruyama step
//! at a time in blocks that each own a random stream, so a seed gives the same paths on any
//! number of threads.

use crate::nn::{FourierFeatures, Mlp, Workspace};
use crate::rng::Rng;
use crate::sde::TimeGrid;
use ndarray::Array2;

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
