//! The wasm side of simulating a rollout on several Web Workers: one coordinator
//! owns the sampler and trains; each worker advances a share of the path blocks (they have
//! independent random streams) given a copy of the parameters, the share's X_0 and its
//! blocks' seeds, all in transferable typed arrays. No SharedArrayBuffer, so a page using
//! it needs no cross-origin isolation. `www/workers.js` drives these from JavaScript. The
//! coordinator is the bench's `SharedBench`, or the page's `Playground`, whose training
//! rollouts `crate::shared_rollout` shares out.

use crate::bench::{BenchConfig, BenchRecord, BenchSampler};
use crate::config::Config;
use crate::sampler::asbs::AsbsSampler;
use crate::sampler::rollout::PathBatch;
use crate::sampler::Sampler;
use crate::shared_rollout::{share_simulator, RolloutSharing};
use crate::web::{bench_config, now_seconds, to_js, Playground};
use wasm_bindgen::prelude::*;

fn js_err(e: String) -> JsError {
    JsError::new(&e)
}

/// Seeds travel as (low, high) 32-bit halves: a u64 does not fit a JS number.
fn split_seeds(seeds: &[u64]) -> Vec<u32> {
    seeds
        .iter()
        .flat_map(|&s| [s as u32, (s >> 32) as u32])
        .collect()
}

fn join_seeds(halves: &[u32]) -> Result<Vec<u64>, JsError> {
    if !halves.len().is_multiple_of(2) {
        return Err(JsError::new(
            "rollout share: seeds come in (low, high) pairs",
        ));
    }
    Ok(halves
        .chunks_exact(2)
        .map(|p| p[0] as u64 | (p[1] as u64) << 32)
        .collect())
}

/// The coordinator of the compute benchmark with its rollout shared out: it runs block
/// range [0, local_blocks) itself and trains; the other blocks go to workers.
#[wasm_bindgen]
pub struct SharedBench {
    cfg: BenchConfig,
    bench: BenchSampler,
    record: BenchRecord,
    seeds: Vec<u64>,
}

#[wasm_bindgen]
impl SharedBench {
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<SharedBench, JsError> {
        let cfg = bench_config(config)?;
        let bench = BenchSampler::new(&cfg).map_err(js_err)?;
        Ok(SharedBench {
            cfg,
            bench,
            record: BenchRecord::default(),
            seeds: Vec::new(),
        })
    }

    /// Outer iterations to run: warm-up ones, then measured ones.
    pub fn iterations(&self) -> u32 {
        (self.cfg.warmup + self.cfg.epochs) as u32
    }

    pub fn warmup(&self) -> u32 {
        self.cfg.warmup as u32
    }

    /// Blocks of paths in the rollout; a share is a range of them.
    pub fn blocks(&self) -> u32 {
        self.bench.sampler.rollout_blocks() as u32
    }

    /// Paths of blocks [from, to).
    pub fn share_paths(&self, from: u32, to: u32) -> u32 {
        let s = &self.bench.sampler;
        (s.rollout_block_start(to as usize) - s.rollout_block_start(from as usize)) as u32
    }

    /// Starts an iteration: restarts the paths and draws X_0.
    pub fn begin(&mut self) {
        self.seeds = self.bench.sampler.begin_split_iteration();
    }

    /// A copy of the network's parameters, to send to the workers.
    pub fn params(&self) -> Vec<f32> {
        self.bench.sampler.network().params().to_vec()
    }

    /// The seeds of blocks [from, to) as (low, high) halves.
    pub fn seeds(&self, from: u32, to: u32) -> Vec<u32> {
        split_seeds(&self.seeds[from as usize..to as usize])
    }

    /// X_0 of the paths of blocks [from, to).
    pub fn x(&self, from: u32, to: u32) -> Vec<f32> {
        self.bench
            .sampler
            .share_x(from as usize..to as usize)
            .to_vec()
    }

    /// Advances blocks [from, to) through every step on this thread.
    pub fn advance(&mut self, from: u32, to: u32) {
        self.bench.sampler.advance_share(from as usize..to as usize);
    }

    /// Takes back a worker's share of blocks from `from` on.
    pub fn accept(&mut self, from: u32, x: &[f32], log_ratio: &[f64]) -> Result<(), JsError> {
        self.bench
            .sampler
            .accept_share(from as usize, x, log_ratio)
            .map_err(js_err)
    }

    /// Trains on the finished rollout and records the iteration if it is a measured one
    /// (`rollout_seconds` measured by the caller, from `begin` to the last `accept`).
    pub fn finish(&mut self, rollout_seconds: f64, measured: bool) -> Result<f64, JsError> {
        let (target, train, loss) = self
            .bench
            .sampler
            .finish_split_iteration(&now_seconds)
            .map_err(js_err)?;
        if measured {
            self.record.push(rollout_seconds, target, train, loss);
        }
        Ok(loss)
    }

    /// The reference's JSON for the measured iterations, run on `threads` threads.
    pub fn report(&self, threads: u32) -> Result<JsValue, JsError> {
        let mut out = crate::bench::report(&self.cfg, &self.bench, &self.record, threads as usize);
        out["engine"] = "wasm32".into();
        to_js(&out)
    }
}

/// A Web Worker's side: a sampler of the same configuration (for its network, time grid
/// and features) and the paths of its share.
#[wasm_bindgen]
pub struct RolloutShareWorker {
    sampler: AsbsSampler,
    batch: Option<PathBatch>,
}

#[wasm_bindgen]
impl RolloutShareWorker {
    /// For the bench (`config` as `bench`'s).
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<RolloutShareWorker, JsError> {
        let cfg = bench_config(config)?;
        Ok(RolloutShareWorker {
            sampler: BenchSampler::new(&cfg).map_err(js_err)?.sampler,
            batch: None,
        })
    }

    /// For the page: `config` is a playground's resolved configuration (`Playground.config`).
    pub fn for_playground(config: JsValue) -> Result<RolloutShareWorker, JsError> {
        let given: serde_json::Value =
            serde_wasm_bindgen::from_value(config).map_err(|e| JsError::new(&e.to_string()))?;
        let config = Config::from_partial(&given).map_err(js_err)?;
        Ok(RolloutShareWorker {
            sampler: share_simulator(&config).map_err(js_err)?,
            batch: None,
        })
    }

    /// Advances a share: `x` holds X_0 of its paths (paths × d), `seeds` its blocks'
    /// seeds as (low, high) halves, `params` the coordinator's parameters.
    pub fn run(&mut self, params: &[f32], seeds: &[u32], x: &[f32]) -> Result<(), JsError> {
        let d = self.sampler.dim();
        if !x.len().is_multiple_of(d) {
            return Err(JsError::new("rollout share: x is not whole paths"));
        }
        let paths = x.len() / d;
        let batch = match &mut self.batch {
            Some(b) if b.log_ratio.len() == paths => b,
            slot => slot.insert(self.sampler.share_batch(paths)),
        };
        batch.x.copy_from_slice(x);
        let seeds = join_seeds(seeds)?;
        self.sampler
            .simulate_share(batch, params, &seeds)
            .map_err(js_err)
    }

    /// Final positions of the last share (paths × d).
    pub fn x(&self) -> Vec<f32> {
        self.batch.as_ref().map_or_else(Vec::new, |b| b.x.clone())
    }

    /// Girsanov log-ratios of the last share's paths.
    pub fn log_ratio(&self) -> Vec<f64> {
        self.batch
            .as_ref()
            .map_or_else(Vec::new, |b| b.log_ratio.clone())
    }
}

/// The page's side (`www/workers.js`, `PageRolloutWorkers`): the playground's training
/// rollouts shared with workers (`crate::shared_rollout`).
#[wasm_bindgen]
impl Playground {
    /// Blocks a training rollout of this run can be shared in; 0 if it cannot be shared
    /// (samplers other than Adjoint Sampling and ASBS, fewer than two time steps).
    pub fn rollout_blocks(&mut self) -> u32 {
        self.run
            .open_rollout()
            .filter(|o| o.steps() >= 2)
            .map_or(0, |o| o.blocks() as u32)
    }

    /// Shares each training rollout that starts from now on with `workers` workers (0:
    /// every path on this thread), at most one share per block.
    pub fn set_rollout_workers(&mut self, workers: u32) {
        self.shares.set_workers(workers as usize);
    }

    pub fn rollout_workers(&self) -> u32 {
        self.shares.workers() as u32
    }

    /// The shares of the rollout just started that are to go out now, each once:
    /// [{id, from, to}] (blocks [from, to) of rollout `id`).
    pub fn pending_rollout_shares(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.shares.take_unsent())
    }

    /// A copy of the network's parameters for the shares.
    pub fn rollout_share_params(&mut self) -> Vec<f32> {
        RolloutSharing::params(&mut self.run)
    }

    /// The seeds of blocks [from, to) as (low, high) halves.
    pub fn rollout_share_seeds(&mut self, from: u32, to: u32) -> Result<Vec<u32>, JsError> {
        let seeds = RolloutSharing::seeds(&mut self.run, from as usize, to as usize);
        Ok(split_seeds(&seeds.map_err(js_err)?))
    }

    /// X_0 of the paths of blocks [from, to).
    pub fn rollout_share_x(&mut self, from: u32, to: u32) -> Result<Vec<f32>, JsError> {
        RolloutSharing::x0(&mut self.run, from as usize, to as usize).map_err(js_err)
    }

    /// Takes back a worker's share of rollout `id` from block `from` on; false (changing
    /// nothing) if the results are stale: another rollout's or run's, or simulated here since.
    pub fn accept_rollout_share(
        &mut self,
        id: u32,
        from: u32,
        x: &[f32],
        log_ratio: &[f64],
    ) -> Result<bool, JsError> {
        self.shares
            .accept(&mut self.run, id, from as usize, x, log_ratio)
            .map_err(js_err)
    }

    /// Simulates on this thread whatever of the rollout in flight is still out (a worker
    /// failed); its results, if they come, are then stale.
    pub fn reclaim_rollout(&mut self) {
        self.shares.reclaim(&mut self.run);
    }

    /// Whether training waits for a worker's share (the rollout's last step is next).
    pub fn rollout_waiting(&mut self) -> bool {
        self.shares.waiting(&mut self.run)
    }
}

/// The engine's register-resident multiply-add rate on this thread, GFLOP/s
/// (`bench::peak_gflops`).
#[wasm_bindgen]
pub fn engine_peak_gflops() -> Result<f64, JsError> {
    crate::bench::peak_gflops(
        crate::web::PEAK_GROUPS,
        crate::web::PEAK_ITERS,
        &now_seconds,
    )
    .map_err(|e| JsError::new(&e))
}
