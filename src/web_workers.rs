//! The wasm side of simulating a rollout on several Web Workers (issue 5): one coordinator
//! owns the sampler and trains; each worker advances a share of the path blocks (they have
//! independent random streams) given a copy of the parameters, the share's X_0 and its
//! blocks' seeds, all in transferable typed arrays. No SharedArrayBuffer, so a page using
//! it needs no cross-origin isolation. `www/workers.js` drives these from JavaScript.

use crate::bench::{BenchConfig, BenchRecord, BenchSampler};
use crate::sampler::rollout::PathBatch;
use crate::sampler::Sampler;
use crate::web::{bench_config, now_seconds, to_js};
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
    bench: BenchSampler,
    batch: Option<PathBatch>,
}

#[wasm_bindgen]
impl RolloutShareWorker {
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<RolloutShareWorker, JsError> {
        let cfg = bench_config(config)?;
        Ok(RolloutShareWorker {
            bench: BenchSampler::new(&cfg).map_err(js_err)?,
            batch: None,
        })
    }

    /// Advances a share: `x` holds X_0 of its paths (paths × d), `seeds` its blocks'
    /// seeds as (low, high) halves, `params` the coordinator's parameters.
    pub fn run(&mut self, params: &[f32], seeds: &[u32], x: &[f32]) -> Result<(), JsError> {
        let d = self.bench.sampler.dim();
        if !x.len().is_multiple_of(d) {
            return Err(JsError::new("rollout share: x is not whole paths"));
        }
        let paths = x.len() / d;
        let batch = match &mut self.batch {
            Some(b) if b.log_ratio.len() == paths => b,
            slot => slot.insert(self.bench.sampler.share_batch(paths)),
        };
        batch.x.copy_from_slice(x);
        let seeds = join_seeds(seeds)?;
        self.bench
            .sampler
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
