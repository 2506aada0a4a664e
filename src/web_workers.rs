//! The wasm facade of `crate::shared_rollout`, the one protocol for sharing a rollout with
//! Web Workers: two coordinators, the page's `Playground` and the bench's `SharedBench`,
//! which own the sampler and train, hand out the same share messages and take results back
//! the same way; each worker (`RolloutShareWorker`) simulates the shares it is sent. Messages
//! are transferable typed arrays, not SharedArrayBuffer, so a page using them needs no
//! cross-origin isolation. `www/workers.js` carries them.

use crate::bench::{BenchConfig, BenchRecord, BenchSampler};
use crate::config::Config;
use crate::shared_rollout::{RolloutOwner, RolloutSharing, ShareMessage, ShareSimulator};
use crate::web::{bench_config, now_seconds, to_js, Playground};
use js_sys::{Array, Float32Array, Object, Reflect, Uint32Array};
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

/// Shares as JavaScript hands them to workers: [{id, from, to, params, seeds, x}], the
/// arrays typed (Float32Array, Uint32Array seed halves, Float32Array X_0) so that they can
/// be transferred.
fn share_messages(messages: Vec<ShareMessage>) -> Result<JsValue, JsError> {
    let out = Array::new();
    for m in messages {
        let o = Object::new();
        let seeds = split_seeds(&m.seeds);
        let fields: [(&str, JsValue); 6] = [
            ("id", m.share.id.into()),
            ("from", (m.share.from as u32).into()),
            ("to", (m.share.to as u32).into()),
            ("params", Float32Array::from(m.params.as_slice()).into()),
            ("seeds", Uint32Array::from(seeds.as_slice()).into()),
            ("x", Float32Array::from(m.x0.as_slice()).into()),
        ];
        for (k, v) in fields {
            Reflect::set(&o, &k.into(), &v).map_err(|_| JsError::new("rollout share: set"))?;
        }
        out.push(&o);
    }
    Ok(out.into())
}

/// Takes back a worker's results for a coordinator (`RolloutSharing::accept`).
fn accept(
    sharing: &mut RolloutSharing,
    owner: &mut impl RolloutOwner,
    id: u32,
    from: u32,
    x: &[f32],
    log_ratio: &[f64],
) -> Result<bool, JsError> {
    sharing
        .accept(owner, id, from as usize, x, log_ratio)
        .map_err(js_err)
}

/// The compute benchmark's coordinator: its rollouts shared with workers by the protocol of
/// `crate::shared_rollout`, a whole rollout per iteration (`begin`, `advance`, the
/// workers' results through `accept_rollout_share`, `finish`).
#[wasm_bindgen]
pub struct SharedBench {
    cfg: BenchConfig,
    bench: BenchSampler,
    record: BenchRecord,
    sharing: RolloutSharing,
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
            sharing: RolloutSharing::default(),
        })
    }

    /// Outer iterations to run: warm-up ones, then measured ones.
    pub fn iterations(&self) -> u32 {
        (self.cfg.warmup + self.cfg.epochs) as u32
    }

    pub fn warmup(&self) -> u32 {
        self.cfg.warmup as u32
    }

    /// Blocks of paths in the rollout (at most one share each).
    pub fn rollout_blocks(&mut self) -> u32 {
        RolloutSharing::blocks(&mut self.bench.sampler) as u32
    }

    /// Shares each rollout from now on with `workers` workers (0: none).
    pub fn set_rollout_workers(&mut self, workers: u32) {
        self.sharing.set_workers(workers as usize);
    }

    /// Starts an iteration (restarts the paths, draws X_0, takes the first step) and returns
    /// its shares for the workers, as `Playground.pending_rollout_shares`.
    pub fn begin(&mut self) -> Result<JsValue, JsError> {
        let messages = self
            .bench
            .begin_rollout(&mut self.sharing)
            .map_err(js_err)?;
        share_messages(messages)
    }

    /// Advances the share kept here through the rollout's other steps.
    pub fn advance(&mut self) {
        self.bench.advance_home();
    }

    /// Takes back a worker's share of rollout `id` from block `from` on; false if stale.
    pub fn accept_rollout_share(
        &mut self,
        id: u32,
        from: u32,
        x: &[f32],
        log_ratio: &[f64],
    ) -> Result<bool, JsError> {
        accept(
            &mut self.sharing,
            &mut self.bench.sampler,
            id,
            from,
            x,
            log_ratio,
        )
    }

    /// Simulates here whatever of the rollout is still out (a worker failed).
    pub fn reclaim_rollout(&mut self) {
        self.sharing.reclaim(&mut self.bench.sampler);
    }

    /// Trains on the finished rollout (every share back) and records the iteration if it is
    /// a measured one (`rollout_seconds` measured by the caller, from `begin` to the last
    /// accepted share).
    pub fn finish(&mut self, rollout_seconds: f64, measured: bool) -> Result<f64, JsError> {
        let (target, train, loss) = self
            .bench
            .finish_iteration(&mut self.sharing, &now_seconds)
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

/// A Web Worker's side (`ShareSimulator`): simulates the shares it is handed.
#[wasm_bindgen]
pub struct RolloutShareWorker {
    simulator: ShareSimulator,
}

#[wasm_bindgen]
impl RolloutShareWorker {
    /// For the bench (`config` as `bench`'s).
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<RolloutShareWorker, JsError> {
        let cfg = bench_config(config)?;
        Ok(RolloutShareWorker {
            simulator: ShareSimulator::for_bench(&cfg).map_err(js_err)?,
        })
    }

    /// For the page: `config` is a playground's resolved configuration (`Playground.config`).
    pub fn for_playground(config: JsValue) -> Result<RolloutShareWorker, JsError> {
        let given: serde_json::Value =
            crate::web::input::from_js(config, &crate::web::input::SETTINGS)?;
        let config = Config::from_partial(&given).map_err(js_err)?;
        Ok(RolloutShareWorker {
            simulator: ShareSimulator::new(&config).map_err(js_err)?,
        })
    }

    /// Advances a share, given as its message's `params`, `seeds` and `x` (X_0).
    pub fn run(&mut self, params: &[f32], seeds: &[u32], x: &[f32]) -> Result<(), JsError> {
        let seeds = join_seeds(seeds)?;
        self.simulator.run(params, &seeds, x).map_err(js_err)
    }

    /// Final positions of the last share (paths × d).
    pub fn x(&self) -> Vec<f32> {
        self.simulator.x().to_vec()
    }

    /// Girsanov log-ratios of the last share's paths.
    pub fn log_ratio(&self) -> Vec<f64> {
        self.simulator.log_ratio().to_vec()
    }
}

/// The page's coordinator (`www/workers.js`, `PageRolloutWorkers`): the playground's
/// training rollouts shared by the protocol of `crate::shared_rollout`, one unit of work at a
/// time within the page's frames (`Playground.train`).
#[wasm_bindgen]
impl Playground {
    /// Blocks a training rollout of this run can be shared in; 0 if it cannot be shared
    /// (samplers other than Adjoint Sampling and ASBS, fewer than two time steps).
    pub fn rollout_blocks(&mut self) -> u32 {
        RolloutSharing::blocks(&mut self.run) as u32
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
    /// [{id, from, to, params, seeds, x}] (blocks [from, to) of rollout `id`, with what a
    /// worker needs to simulate them).
    pub fn pending_rollout_shares(&mut self) -> Result<JsValue, JsError> {
        share_messages(self.shares.hand_out(&mut self.run))
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
        accept(&mut self.shares, &mut self.run, id, from, x, log_ratio)
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
