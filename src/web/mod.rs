//! The wasm-bindgen facade: one stateful `Playground` with coarse methods and zero-copy
//! typed-array views of buffers it owns. Views are valid until the next call into wasm
//! that may allocate: fetch them anew every frame, never keep them.
//!
//! It reads the sampler only through its [`Observation`] (`Sampler::observe`) and the run.
//!
//! Grouped by concept, each file adding its methods to `Playground` (or free functions):
//! this file holds the run's control (create, configure, train, step, reset);
//! `offer.rs` what the core offers before any run (catalog, samplers, settings schema);
//! `target_views.rs` the target (window, density, true marginals, projections);
//! `run_views.rs` the run as it trains (particles, samples, trajectories, stage, source);
//! `metrics.rs` the numbers (metrics, evaluation, history); `ddpm_views.rs` and
//! `gfn_views.rs` each family's own views; `embed.rs` saving, restoring and previews;
//! `bench.rs` the compute benchmark; `input.rs` the checks on values from JavaScript.

use crate::config::Config;
use crate::energy::{EnergySpec, Target, CATALOG};
use crate::metrics::marginals::axis_histogram;
use crate::run::{IterationMetrics, Run};
use crate::sampler::Observation;
use js_sys::{Float32Array, Float64Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;

// The facade by concept; each adds its methods to `Playground` or its free functions.
mod bench;
mod ddpm_views;
mod embed;
mod gfn_views;
pub(crate) mod input;
mod metrics;
mod offer;
mod run_views;
mod target_views;
pub use bench::{bench, core_build};
pub(crate) use bench::{bench_config, PEAK_GROUPS, PEAK_ITERS};
pub use embed::{check_formula, target_preview};
pub use offer::{catalog, samplers, settings};

pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

/// Seconds from the global scope's `performance.now()`, in a window or a Web Worker
/// (`web_sys::window()` is None in a worker); `Date.now()` where there is none.
pub(crate) fn now_seconds() -> f64 {
    let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .filter(|p| !p.is_undefined());
    let ms = perf.and_then(|p| {
        js_sys::Reflect::get(&p, &"now".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .and_then(|f| f.call0(&p).ok())
            .and_then(|v| v.as_f64())
    });
    ms.unwrap_or_else(js_sys::Date::now) / 1e3
}

fn now_ms() -> f64 {
    now_seconds() * 1e3
}

#[wasm_bindgen]
pub struct Playground {
    pub(crate) run: Run,
    /// Training rollouts shared with Web Workers (`web_workers.rs`).
    pub(crate) shares: crate::shared_rollout::RolloutSharing,
    work_units: u64,
    particles: Vec<f32>,
    samples: Vec<f32>,
    trajectories: Vec<f32>,
    density: Vec<f32>,
    centres: Vec<f32>,
    marginal_truth: Vec<Vec<f32>>,
    marginal_model: Vec<Vec<f32>>,
    /// Iteration whose rollout `samples` and `marginal_model` show.
    shown_iteration: Option<usize>,
    gfn: gfn_views::GfnViews,
}

#[wasm_bindgen]
impl Playground {
    /// `config` is a partial configuration object (see `Config::from_partial`); throws an
    /// Error naming the offending setting when it is invalid.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<Playground, JsError> {
        let partial: serde_json::Value = input::from_js(config, &input::SETTINGS)?;
        let config = Config::from_partial(&partial).map_err(|e| JsError::new(&e))?;
        let run = Run::new(config).map_err(|e| JsError::new(&e))?;
        Ok(Playground::from_run(run))
    }
}

impl Playground {
    /// The facade around a run (fresh or restored, see `embed.rs`).
    fn from_run(run: Run) -> Playground {
        let truth = &run.truth;
        let density = truth.grid.log_density.iter().map(|&v| v as f32).collect();
        let centres = run
            .target
            .modes
            .iter()
            .flatten()
            .map(|&v| v as f32)
            .collect();
        let marginal_truth: Vec<Vec<f32>> = truth
            .marginals
            .iter()
            .map(|m| m.density.iter().map(|&v| v as f32).collect())
            .collect();
        let marginal_model = marginal_truth.iter().map(|m| vec![0.0; m.len()]).collect();
        Playground {
            run,
            shares: Default::default(),
            work_units: 0,
            particles: Vec::new(),
            samples: Vec::new(),
            trajectories: Vec::new(),
            density,
            centres,
            marginal_truth,
            marginal_model,
            shown_iteration: None,
            gfn: Default::default(),
        }
    }
}

#[wasm_bindgen]
impl Playground {
    /// The resolved configuration (every setting), for the URL hash.
    pub fn config(&self) -> Result<JsValue, JsError> {
        to_js(&self.run.config)
    }

    /// Runs units of work until `budget_ms` has elapsed (at least one unit, unless a
    /// rollout waits for a Web Worker's share); returns how many ran. Returns early when a
    /// rollout shared with workers starts, so that its shares go out at once
    /// (`pending_rollout_shares`). Throws on divergence, after rolling back to the last
    /// good iteration.
    pub fn train(&mut self, budget_ms: f64) -> Result<u32, JsError> {
        let start = now_ms();
        let mut units = 0;
        while self.shares.before_work(&mut self.run) {
            if let Err(e) = self.run.work() {
                self.shares.cancel();
                return Err(JsError::new(&e));
            }
            units += 1;
            if self.shares.after_work(&self.run) || now_ms() - start >= budget_ms {
                break;
            }
        }
        self.work_units += units as u64;
        Ok(units)
    }

    /// Finishes the current outer iteration.
    pub fn step_iteration(&mut self) -> Result<(), JsError> {
        // Whatever of the rollout is out with workers is simulated here instead.
        self.shares.reclaim(&mut self.run);
        self.run.run_iterations(1, |_| {}).map_err(|e| {
            self.shares.cancel();
            JsError::new(&e)
        })
    }

    /// Starts again from scratch with the same configuration and seed.
    pub fn reset(&mut self) -> Result<(), JsError> {
        self.run = Run::new(self.run.config.clone()).map_err(|e| JsError::new(&e))?;
        self.shares.cancel();
        self.work_units = 0;
        self.shown_iteration = None;
        self.gfn.invalidate();
        Ok(())
    }
}

impl Playground {
    /// What the run's sampler offers to look at now.
    fn observe(&self) -> Observation<'_> {
        self.run.sampler().observe()
    }
}
