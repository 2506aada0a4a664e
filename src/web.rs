//! The wasm-bindgen facade: one stateful `Playground` with coarse methods and zero-copy
//! typed-array views of buffers it owns. Views are valid until the next call into wasm
//! that may allocate: fetch them anew every frame, never keep them.
//!
//! It reads the sampler only through its [`Observation`] (`Sampler::observe`) and the run.

use crate::config::Config;
use crate::energy::{EnergySpec, Target, CATALOG};
use crate::metrics::marginals::axis_histogram;
use crate::run::{IterationMetrics, Run};
use crate::sampler::Observation;
use js_sys::{Float32Array, Float64Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;

mod embed;
mod gfn_views;
pub(crate) mod input;
pub use embed::{check_formula, target_preview};

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

/// The bench's settings from a JS object {preset?, paths?, steps?, …} (`bench` and the Web
/// Worker bench of `web_workers` take the same).
pub(crate) fn bench_config(config: JsValue) -> Result<crate::bench::BenchConfig, JsError> {
    let given: serde_json::Value = input::from_js(config, &input::SETTINGS)?;
    let obj = given.as_object().cloned().unwrap_or_default();
    let preset = obj
        .get("preset")
        .and_then(|v| v.as_str())
        .unwrap_or("default");
    let mut cfg = crate::bench::BenchConfig::preset(preset).map_err(|e| JsError::new(&e))?;
    for (k, v) in obj.iter().filter(|(k, _)| k.as_str() != "preset") {
        // Strings (the activation) as they are, numbers in their JSON form.
        let value = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        cfg.set(k, &value).map_err(|e| JsError::new(&e))?;
    }
    Ok(cfg)
}

/// Timed groups of the engine's peak loop, and its rounds per call (~3 ms at 33 GFLOP/s).
pub(crate) const PEAK_GROUPS: u32 = 8;
pub(crate) const PEAK_ITERS: u32 = 1_000_000;

/// The compute benchmark in this engine: `config` is {preset?, paths?, steps?,
/// hidden?, layers?, batch?, inner?, epochs?, warmup?, seed?} with the reference script's
/// meanings; returns its JSON plus `peak_gflops`, the engine's register-resident
/// multiply-add rate. Blocks the calling thread for the whole run.
#[wasm_bindgen]
pub fn bench(config: JsValue) -> Result<JsValue, JsError> {
    let cfg = bench_config(config)?;
    let mut out = crate::bench::run(&cfg, &now_seconds).map_err(|e| JsError::new(&e))?;
    out["engine"] = "wasm32".into();
    out["core_build"] = core_build().into();
    out["peak_gflops"] = crate::bench::peak_gflops(PEAK_GROUPS, PEAK_ITERS, &now_seconds)
        .map_err(|e| JsError::new(&e))?
        .into();
    to_js(&out)
}

/// Which of scripts/build's two wasm cores this is: "relaxed-simd" (f32x4.relaxed_madd in the
/// matrix kernels, chosen by www/core.js where the engine validates relaxed SIMD) or
/// "simd128" (the fallback).
#[wasm_bindgen]
pub fn core_build() -> String {
    if cfg!(target_feature = "relaxed-simd") {
        "relaxed-simd".into()
    } else {
        "simd128".into()
    }
}

/// The targets the page offers, one entry per catalog row, in the catalog's order:
///
/// ```text
/// {name: "funnel", description: "Neal's funnel in d = 10, …", dim: 10,
///  projections: [[0, 1], [0, 2], …, [0, 9]], hint: "every (x0, xi) is the same 2-D funnel",
///  sizes: {default: 10, min: 2, max: 512, even: false,
///          listed: [{name: "funnel:2", description: "Neal's funnel in d = 2: …", dim: 2,
///                    projections: [[0, 1]], hint: null, sizes: null}]}}
/// ```
///
/// - `dim`: d at the row's default size.
/// - `projections`: the displayed axes the page may offer there (what `set_display_axes`
///   accepts), the default first, each an array of min(d, 2) axis indices: [[0]] in 1-D,
///   [[0, 1]] in 2-D, [[0, 1], [2, 3], …] for Manywell's pairs.
/// - `hint`: one line about the picture, or null.
/// - `sizes`: null when the name takes no ":D"; else "name:D" is accepted for
///   min ≤ D ≤ max (even D only when `even`), "name" alone is `default`, and `listed`
///   holds entries of this same shape (their `sizes` null) for the sizes the page offers
///   as targets of their own.
#[wasm_bindgen]
pub fn catalog() -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Sizes {
        default: usize,
        min: usize,
        max: usize,
        even: bool,
        listed: Vec<Entry>,
    }
    #[derive(Serialize)]
    struct Entry {
        name: String,
        description: &'static str,
        dim: usize,
        projections: Vec<Vec<usize>>,
        hint: Option<String>,
        sizes: Option<Sizes>,
    }
    let entry = |name: String, description, sizes| -> Result<Entry, JsError> {
        let target =
            Target::new(&EnergySpec::Named(name.clone()), 1.0).map_err(|e| JsError::new(&e))?;
        Ok(Entry {
            name,
            description,
            dim: target.dim(),
            projections: target.projections(),
            hint: target.hint(),
            sizes,
        })
    };
    let mut list = Vec::with_capacity(CATALOG.len());
    for row in CATALOG {
        let sizes = match row.size() {
            None => None,
            Some(size) => Some(Sizes {
                default: size.default,
                min: size.min,
                max: size.max,
                even: size.even.is_some(),
                listed: size
                    .listed
                    .iter()
                    .map(|&(d, description)| entry(format!("{}:{d}", row.name), description, None))
                    .collect::<Result<_, _>>()?,
            }),
        };
        list.push(entry(row.name.to_string(), row.description, sizes)?);
    }
    to_js(&list)
}

/// The sampler registry, in its order: [{name, label, description, explanation, family,
/// dims, settings, keeps_progress, labels, capabilities}] (`sampler::registry::SamplerInfo`;
/// `dims` null: any dimension; `labels` [[key, label], …] where the sampler's meaning of a
/// setting differs from the schema's label).
#[wasm_bindgen]
pub fn samplers() -> Result<JsValue, JsError> {
    to_js(&crate::sampler::registry::infos().collect::<Vec<_>>())
}

/// The settings schema in the link's order: [{key, kind, min?, max?, step?, positive?,
/// values?, label, help}] (`config::schema`); the sampler key's values are the registry's.
#[wasm_bindgen]
pub fn settings() -> Result<JsValue, JsError> {
    to_js(&crate::config::schema::to_json())
}

#[derive(Serialize)]
struct Metrics<'a> {
    iteration: usize,
    phase: crate::sampler::Phase,
    loss: Option<f64>,
    log_z_elbo: Option<f64>,
    log_z_iw: Option<f64>,
    log_z_true: f64,
    ess: Option<f64>,
    mode_masses: Option<&'a [f64]>,
    true_mode_masses: &'a [f64],
    mode_coverage: Option<f64>,
    x_mean: Option<f64>,
    x_std: Option<f64>,
    true_x_mean: f64,
    true_x_std: f64,
    /// 1-D only: W1, W2 and histogram TV to the truth (docs/methods.md §7), else null.
    w1: Option<f64>,
    w2: Option<f64>,
    tv: Option<f64>,
    /// Samples behind the sample statistics (the last rollout's paths).
    samples: Option<usize>,
    energy_evals: u64,
    work_units: u64,
}

/// The metrics of a fresh evaluation draw (`Playground::evaluate`).
#[derive(Serialize)]
struct Evaluation<'a> {
    #[serde(flatten)]
    metrics: &'a IterationMetrics,
    true_mode_masses: &'a [f64],
    true_x_mean: f64,
    true_x_std: f64,
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

    /// Dimension of everything this object hands out (samples, particles, trajectories,
    /// window, centres): min(d, 2). For d > 2 targets it is the 2-D projection the target
    /// displays (Funnel (x₀, x₁), Manywell the first pair).
    pub fn dim(&self) -> usize {
        self.run.display_dim()
    }

    /// The target's full dimension d.
    pub fn target_dim(&self) -> usize {
        self.run.dim()
    }

    /// The displayed axes this run's target may show (what `set_display_axes` accepts), the
    /// default first: an array of [i, j] arrays, e.g. [[0, 1], [2, 3]] for manywell:4,
    /// [[0, 1]] for any 2-D target, [[0]] for a 1-D one.
    pub fn projections(&self) -> JsValue {
        let pairs: js_sys::Array = self
            .run
            .target
            .projections()
            .iter()
            .map(|p| {
                p.iter()
                    .map(|&a| JsValue::from(a as u32))
                    .collect::<js_sys::Array>()
            })
            .collect();
        pairs.into()
    }

    /// [xlo, xhi, ylo, yhi] of the plot window, original coordinates.
    pub fn window(&self) -> Float64Array {
        let w = &self.run.target.window;
        let mut v = Vec::with_capacity(2 * w.lo.len());
        for k in 0..w.lo.len() {
            v.push(w.lo[k]);
            v.push(w.hi[k]);
        }
        Float64Array::from(v.as_slice())
    }

    pub fn grid_nx(&self) -> usize {
        self.run.truth.grid.nx
    }

    pub fn grid_ny(&self) -> usize {
        self.run.truth.grid.ny
    }

    /// Normalised log density on the grid, x fastest (view).
    pub fn density_grid(&self) -> Float32Array {
        // SAFETY: a view of a buffer this object owns; the caller drops it before calling
        // into wasm again (documented at the top of this module).
        unsafe { Float32Array::view(&self.density) }
    }

    /// Positions of the paths being simulated, original coordinates (view): while a
    /// rollout is shared with Web Workers, those of the share simulated here.
    pub fn particles(&mut self) -> Float32Array {
        let y = self.run.sampler().observe().particles;
        let y = match self.shares.home_paths() {
            Some(n) => &y[..n * self.run.dim()],
            None => y,
        };
        let mut out = std::mem::take(&mut self.particles);
        self.run.to_display_f32(y, &mut out);
        self.particles = out;
        unsafe { Float32Array::view(&self.particles) }
    }

    /// Time t of the paths being simulated.
    pub fn rollout_time(&self) -> f64 {
        self.observe().time
    }

    fn refresh_samples(&mut self) {
        let iteration = self.run.sampler().iteration();
        if self.shown_iteration == Some(iteration) {
            return;
        }
        let seen = self.run.sampler().observe();
        let Some(rollout) = seen.last_rollout else {
            return;
        };
        let mut out = std::mem::take(&mut self.samples);
        self.run.to_display_f32(&rollout.samples, &mut out);
        self.samples = out;
        let d = self.run.display_dim();
        let x: Vec<f64> = self.samples.iter().map(|&v| v as f64).collect();
        for (axis, m) in self.run.truth.marginals.iter().enumerate() {
            let mut h = vec![0f64; m.density.len()];
            axis_histogram(&x, d, axis, m.lo, m.hi, &mut h);
            for (o, v) in self.marginal_model[axis].iter_mut().zip(h) {
                *o = v as f32;
            }
        }
        let traj = seen.trajectories.values;
        let mut out = std::mem::take(&mut self.trajectories);
        self.run.to_display_f32(traj, &mut out);
        self.trajectories = out;
        self.shown_iteration = Some(iteration);
    }

    /// Terminal samples of the last completed rollout, original coordinates (view).
    pub fn samples(&mut self) -> Float32Array {
        self.refresh_samples();
        unsafe { Float32Array::view(&self.samples) }
    }

    pub fn trajectory_count(&self) -> usize {
        self.observe().trajectories.count
    }

    pub fn trajectory_points(&self) -> usize {
        self.observe().trajectories.points
    }

    /// A few whole paths of the last completed rollout (count × points × 2, view).
    pub fn trajectories(&mut self) -> Float32Array {
        self.refresh_samples();
        unsafe { Float32Array::view(&self.trajectories) }
    }

    pub fn marginal_bins(&self) -> usize {
        self.marginal_truth.first().map_or(0, Vec::len)
    }

    /// True marginal density of `axis` at the bin centres (view).
    pub fn marginal_truth(&self, axis: usize) -> Result<Float32Array, JsError> {
        let m = self
            .marginal_truth
            .get(axis)
            .ok_or_else(|| JsError::new("axis out of range"))?;
        Ok(unsafe { Float32Array::view(m) })
    }

    /// Histogram density of the last rollout's samples along `axis` (view).
    pub fn marginal_model(&mut self, axis: usize) -> Result<Float32Array, JsError> {
        self.refresh_samples();
        let m = self
            .marginal_model
            .get(axis)
            .ok_or_else(|| JsError::new("axis out of range"))?;
        Ok(unsafe { Float32Array::view(m) })
    }

    /// Mode centres, original coordinates (view).
    pub fn mode_centres(&self) -> Float32Array {
        unsafe { Float32Array::view(&self.centres) }
    }

    pub fn metrics(&self) -> Result<JsValue, JsError> {
        let latest = self.run.latest();
        let truth = &self.run.truth;
        to_js(&Metrics {
            iteration: self.run.sampler().iteration(),
            phase: self.run.sampler().phase(),
            loss: latest.map(|m| m.loss),
            log_z_elbo: latest.and_then(|m| m.log_z_elbo),
            log_z_iw: latest.and_then(|m| m.log_z_iw),
            log_z_true: self.run.log_z_true(),
            ess: latest.and_then(|m| m.ess),
            mode_masses: latest.map(|m| m.mode_masses.as_slice()),
            true_mode_masses: &truth.mode_masses,
            mode_coverage: latest.map(|m| m.mode_coverage),
            x_mean: latest.map(|m| m.x_mean),
            x_std: latest.map(|m| m.x_std),
            true_x_mean: truth.marginals[0].mean,
            true_x_std: truth.marginals[0].std,
            w1: latest.and_then(|m| m.w1),
            w2: latest.and_then(|m| m.w2),
            tv: latest.and_then(|m| m.tv),
            samples: latest.map(|m| m.samples),
            energy_evals: self.run.energy_evals(),
            work_units: self.work_units,
        })
    }

    /// ASBS's stage {stage: "adjoint"|"corrector", k, stages, iteration, iterations}
    /// (k 1-based, iteration 0-based within the stage), or null for other samplers.
    pub fn stage(&self) -> Result<JsValue, JsError> {
        to_js(&self.observe().stage)
    }

    /// ASBS's corrector h at `points` (n × d, original coordinates) as vectors (a copy),
    /// or undefined when the sampler has no learned corrector or d > 2 (a d-D field has
    /// no faithful picture in the 2-D projection).
    pub fn corrector_field(&mut self, points: Vec<f32>) -> Option<Vec<f32>> {
        if self.run.dim() > self.run.display_dim() {
            return None;
        }
        self.run.corrector_field(&points)
    }

    /// n draws from the source μ (n × dim(), original coordinates projected on the
    /// displayed axes, a copy), for drawing the source beside the target; empty for DDPM.
    pub fn source_samples(&mut self, n: usize) -> Vec<f32> {
        let full = self.run.source_samples(n);
        if self.run.dim() == self.run.display_dim() {
            return full;
        }
        self.run.project(&full)
    }

    /// DDPM at time t on the points `xs`: {learned: f_θ(x, t), oracle: f*(x, t) or null,
    /// density: exact p_t(x) or null (mixtures only)}; null for other samplers.
    pub fn ddpm_curves(&self, t: f64, xs: Vec<f32>) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Curves {
            learned: Vec<f32>,
            oracle: Option<Vec<f64>>,
            density: Option<Vec<f64>>,
        }
        let Some(ddpm) = self.observe().ddpm else {
            return Ok(JsValue::NULL);
        };
        let oracle = ddpm.oracle;
        to_js(&Curves {
            learned: ddpm.denoiser.at(&xs, t),
            oracle: oracle.map(|o| xs.iter().map(|&x| o.mean(x as f64, t)).collect()),
            density: oracle.map(|o| xs.iter().map(|&x| o.density(x as f64, t)).collect()),
        })
    }

    /// The metrics of `n` fresh samples of the current sampler (trains nothing; blocks for
    /// a rollout of n paths): the fields of `metrics()` that describe samples, with W1, W2
    /// and TV in 1-D, and `samples` = n.
    pub fn evaluate(&mut self, n: usize) -> Result<JsValue, JsError> {
        if n == 0 {
            return Err(JsError::new("evaluate: n must be at least 1"));
        }
        let m = self.run.evaluate(n);
        let truth = &self.run.truth;
        to_js(&Evaluation {
            metrics: &m,
            true_mode_masses: &truth.mode_masses,
            true_x_mean: truth.marginals[0].mean,
            true_x_std: truth.marginals[0].std,
        })
    }

    /// Whether paths run from t = 1 down to t = 0 (DDPM's reverse chain) rather than up.
    pub fn time_reversed(&self) -> bool {
        self.observe().time_reversed
    }

    /// DDPM's T (its time grid is j/T), or 0 for other samplers.
    pub fn ddpm_steps(&self) -> usize {
        self.observe().ddpm.map_or(0, |d| d.steps)
    }

    /// DDPM's σ_q, or NaN for other samplers.
    pub fn sigma_q(&self) -> f64 {
        self.observe().ddpm.map_or(f64::NAN, |d| d.sigma_q)
    }

    /// DDPM's learned time marginals p_t: histograms of the last training rollout's reverse
    /// chain over the marginal window's bins, (T + 1) rows × `marginal_bins()`, row j at
    /// t = j/T, each a density like `marginal_truth(0)` (a copy); empty before the first
    /// rollout and for other samplers.
    pub fn ddpm_time_histograms(&self) -> Vec<f32> {
        let Some(ddpm) = self.observe().ddpm else {
            return Vec::new();
        };
        let Some(chain) = ddpm.chain else {
            return Vec::new();
        };
        let m = &self.run.truth.marginals[0];
        let bins = m.density.len();
        let t_count = ddpm.steps + 1;
        let n = chain.len() / t_count;
        let mut out = vec![0f32; t_count * bins];
        let mut h = vec![0f64; bins];
        let mut row = vec![0f64; n];
        for i in 0..t_count {
            for (r, &v) in row.iter_mut().zip(&chain[i * n..(i + 1) * n]) {
                *r = v as f64;
            }
            axis_histogram(&row, 1, 0, m.lo, m.hi, &mut h);
            // Chain row i is at t = 1 − i/T: store it as row T − i.
            let j = t_count - 1 - i;
            for (o, &v) in out[j * bins..(j + 1) * bins].iter_mut().zip(&h) {
                *o = v as f32;
            }
        }
        out
    }

    /// n draws of the reverse sampler driven by the exact oracle f* (docs/methods.md §4), for
    /// mixture targets under DDPM (a copy); undefined otherwise. Seeded by the run's seed.
    pub fn oracle_samples(&self, n: usize) -> Option<Vec<f32>> {
        let oracle = self.observe().ddpm?.oracle?;
        let mut rng = crate::rng::Rng::new(self.run.config.seed ^ 0x0AC1_E5A3);
        Some(
            oracle
                .reverse_sample(n, 0.0, &mut rng)
                .into_iter()
                .map(|v| v as f32)
                .collect(),
        )
    }

    /// Per-iteration series: {iteration, loss, log_z_elbo, log_z_iw, ess}.
    pub fn history(&self) -> Result<JsValue, JsError> {
        to_js(&self.run.history)
    }

    /// The history's entries from index `from` on, as {from, iteration, loss, log_z_elbo,
    /// log_z_iw, ess} of Float64Arrays (copies), so that a chart appends what is new
    /// instead of reading the whole history every iteration. `from` past the end gives
    /// empty arrays; after a reset or a rollback the history is shorter than a caller's
    /// copy, which it sees from `history_len`.
    pub fn history_since(&self, from: usize) -> Result<JsValue, JsError> {
        let h = &self.run.history;
        let from = from.min(h.iteration.len());
        let out = js_sys::Object::new();
        let set = |key: &str, value: &JsValue| {
            js_sys::Reflect::set(&out, &JsValue::from_str(key), value)
                .map(|_| ())
                .map_err(|_| JsError::new("history_since: could not build the result"))
        };
        set("from", &JsValue::from(from as u32))?;
        for (key, series) in [
            ("iteration", &h.iteration),
            ("loss", &h.loss),
            ("log_z_elbo", &h.log_z_elbo),
            ("log_z_iw", &h.log_z_iw),
            ("ess", &h.ess),
        ] {
            set(key, &Float64Array::from(&series[from..]).into())?;
        }
        Ok(out.into())
    }

    /// Entries in the history.
    pub fn history_len(&self) -> usize {
        self.run.history.iteration.len()
    }
}

impl Playground {
    /// What the run's sampler offers to look at now.
    fn observe(&self) -> Observation<'_> {
        self.run.sampler().observe()
    }
}
