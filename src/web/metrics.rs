//! The facade's numbers: the latest metrics, a fresh evaluation draw and the metric history
//! (whole, or incrementally for charts that append).

use super::*;

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
impl Playground {
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
