//! The facade's views of the run as it trains: the particles in flight, the last rollout's
//! samples and trajectories, their marginals, the stage, the corrector field and the source.
//! Typed arrays are views into buffers the `Playground` owns (see the module map).

use super::*;

#[wasm_bindgen]
impl Playground {
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

    /// Histogram density of the last rollout's samples along `axis` (view).
    pub fn marginal_model(&mut self, axis: usize) -> Result<Float32Array, JsError> {
        self.refresh_samples();
        let m = self
            .marginal_model
            .get(axis)
            .ok_or_else(|| JsError::new("axis out of range"))?;
        Ok(unsafe { Float32Array::view(m) })
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
}
