//! The facade's views of the target: its dimension, window, density grid, true marginals,
//! mode centres and the 2-D projections a d > 2 target may be shown in.

use super::*;

#[wasm_bindgen]
impl Playground {
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

    /// Mode centres, original coordinates (view).
    pub fn mode_centres(&self) -> Float32Array {
        unsafe { Float32Array::view(&self.centres) }
    }
}
