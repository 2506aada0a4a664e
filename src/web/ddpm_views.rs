//! The facade's DDPM views: the learned and exact denoiser, the reverse chain's time
//! marginals and the oracle sampler.

use super::*;

#[wasm_bindgen]
impl Playground {
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
}
