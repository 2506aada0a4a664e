//! Adam (Kingma & Ba 2015, Algorithm 1) over one flat parameter vector
//! (docs/methods.md §1), with optional global gradient-norm clipping.

#[derive(Clone, Debug)]
pub struct Adam {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// If set, gradients are scaled by min(1, c/‖g‖₂) before the update.
    pub max_grad_norm: Option<f32>,
    /// First-moment estimate m.
    m: Vec<f32>,
    /// Second-moment estimate v.
    v: Vec<f32>,
    /// Steps taken so far.
    t: u32,
}

impl Adam {
    /// β1 0.9, β2 0.999, ε 1e-8, no clipping (docs/methods.md §1; torch's defaults).
    pub fn new(n_params: usize, lr: f32) -> Adam {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            max_grad_norm: None,
            m: vec![0.0; n_params],
            v: vec![0.0; n_params],
            t: 0,
        }
    }

    /// Number of steps taken since construction or the last reset.
    pub fn steps(&self) -> u32 {
        self.t
    }

    /// One Adam step with bias correction; returns the pre-clip gradient norm ‖g‖₂.
    /// Panics if `params` or `grad` do not have the length given at construction.
    pub fn step(&mut self, params: &mut [f32], grad: &[f32]) -> f32 {
        assert_eq!(params.len(), self.m.len(), "Adam::step: params length");
        assert_eq!(grad.len(), self.m.len(), "Adam::step: grad length");
        // Sum of squares in f64: 50k f32 squares would lose digits in f32.
        let norm = grad
            .iter()
            .map(|&g| (g as f64) * (g as f64))
            .sum::<f64>()
            .sqrt() as f32;
        let scale = match self.max_grad_norm {
            Some(c) if norm > c => c / norm,
            _ => 1.0,
        };
        self.t += 1;
        // Alg. 1 with the bias corrections folded into the step size and ε:
        // θ ← θ − lr·m̂/(√v̂ + ε), m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ).
        let bias1 = 1.0 - (self.beta1 as f64).powi(self.t as i32);
        let bias2 = 1.0 - (self.beta2 as f64).powi(self.t as i32);
        let step_size = (self.lr as f64 / bias1) as f32;
        let inv_sqrt_bias2 = (1.0 / bias2.sqrt()) as f32;
        let (b1, b2, eps) = (self.beta1, self.beta2, self.eps);
        for (((p, &g), m), v) in params
            .iter_mut()
            .zip(grad)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            let g = g * scale;
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= step_size * *m / (v.sqrt() * inv_sqrt_bias2 + eps);
        }
        norm
    }

    /// Forgets the moment estimates and the step count.
    pub fn reset(&mut self) {
        self.m.fill(0.0);
        self.v.fill(0.0);
        self.t = 0;
    }
}

impl Adam {
    /// Saves the moments and step count under `prefix` (see `crate::state`).
    pub fn save_state(&self, out: &mut crate::state::StateMap, prefix: &str) {
        out.put_f32(&format!("{prefix}m"), &self.m);
        out.put_f32(&format!("{prefix}v"), &self.v);
        out.put_usize(&format!("{prefix}t"), self.t as usize);
    }

    /// Restores what [`Adam::save_state`] saved; the lengths must be this optimizer's.
    pub fn load_state(
        &mut self,
        from: &crate::state::StateMap,
        prefix: &str,
    ) -> Result<(), String> {
        from.read_f32_into(&format!("{prefix}m"), &mut self.m)?;
        from.read_f32_into(&format!("{prefix}v"), &mut self.v)?;
        let t = from.usize(&format!("{prefix}t"))?;
        self.t = u32::try_from(t).map_err(|_| format!("saved state: {prefix}t is too large"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random_grad(rng: &mut Rng, n: usize) -> Vec<f32> {
        // Magnitudes in [1e-3, 1e1) with random signs, so ε/|g| ≤ 1e-5.
        (0..n)
            .map(|_| {
                let mag = 10f64.powf(-3.0 + 4.0 * rng.uniform());
                (if rng.uniform() < 0.5 { -mag } else { mag }) as f32
            })
            .collect()
    }

    #[test]
    fn first_step_moves_each_parameter_by_lr_times_sign() {
        // Bias correction makes m̂ = g and v̂ = g² after one step: Δθ = −lr·g/(|g| + ε).
        let mut rng = Rng::new(3);
        let n = 1000;
        let g = random_grad(&mut rng, n);
        let mut p: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
        let p0 = p.clone();
        let lr = 1e-3;
        let mut adam = Adam::new(n, lr);
        adam.step(&mut p, &g);
        for i in 0..n {
            let moved = (p0[i] - p[i]) as f64;
            let want = lr as f64 * (g[i] as f64).signum();
            // f32 rounding of θ (|θ| ≲ 4) is ≤ 2.4e-7; ε/|g| ≤ 1e-5 relative.
            assert!(
                (moved - want).abs() < 5e-7,
                "i {i}: moved {moved}, want {want}"
            );
        }
        assert_eq!(adam.steps(), 1);
    }

    #[test]
    fn minimises_a_badly_scaled_quadratic() {
        // f(θ) = ½ Σ aᵢ (θᵢ − cᵢ)², curvatures spanning 4 decades.
        let n = 20;
        let a: Vec<f32> = (0..n)
            .map(|i| 10f32.powf(-2.0 + 4.0 * i as f32 / (n - 1) as f32))
            .collect();
        let c: Vec<f32> = (0..n).map(|i| (i as f32 * 0.7).sin() * 3.0).collect();
        let mut p = vec![0.0f32; n];
        let mut g = vec![0.0f32; n];
        let mut adam = Adam::new(n, 0.05);
        let loss = |p: &[f32]| -> f64 {
            (0..n)
                .map(|i| 0.5 * a[i] as f64 * ((p[i] - c[i]) as f64).powi(2))
                .sum()
        };
        let initial = loss(&p);
        for _ in 0..3000 {
            for i in 0..n {
                g[i] = a[i] * (p[i] - c[i]);
            }
            adam.step(&mut p, &g);
        }
        let fin = loss(&p);
        assert!(fin < 1e-6 * initial, "loss {initial} -> {fin}");
        for i in 0..n {
            assert!((p[i] - c[i]).abs() < 2e-2, "θ{i} = {} vs {}", p[i], c[i]);
        }
    }

    #[test]
    fn clipping_scales_gradient_to_the_bound() {
        let mut rng = Rng::new(5);
        let n = 50;
        let g1: Vec<f32> = (0..n).map(|_| 3.0 * rng.normal() as f32).collect();
        let g2: Vec<f32> = (0..n).map(|_| 0.01 * rng.normal() as f32).collect();
        let norm1 = g1.iter().map(|g| (g * g) as f64).sum::<f64>().sqrt();
        let bound = 2.0f32;
        assert!(norm1 > 10.0);

        let mut clipped = Adam::new(n, 1e-2);
        clipped.max_grad_norm = Some(bound);
        let mut p_clipped = vec![0.5f32; n];
        let reported = clipped.step(&mut p_clipped, &g1);
        assert!(
            (reported as f64 / norm1 - 1.0).abs() < 1e-6,
            "returns the pre-clip norm"
        );
        // The first moment holds (1−β1)·g·c/‖g‖: its norm is (1−β1)·c.
        let m_norm = clipped.m.iter().map(|m| (m * m) as f64).sum::<f64>().sqrt();
        assert!((m_norm - 0.1 * bound as f64).abs() < 1e-6, "‖m‖ = {m_norm}");
        // A gradient under the bound passes untouched.
        clipped.step(&mut p_clipped, &g2);

        // Same trajectory as an unclipped Adam fed the pre-scaled gradient.
        let scale = bound / norm1 as f32;
        let g1_scaled: Vec<f32> = g1.iter().map(|g| g * scale).collect();
        let mut plain = Adam::new(n, 1e-2);
        let mut p_plain = vec![0.5f32; n];
        plain.step(&mut p_plain, &g1_scaled);
        plain.step(&mut p_plain, &g2);
        for i in 0..n {
            assert!((p_plain[i] - p_clipped[i]).abs() < 1e-7, "θ{i}");
        }
    }

    #[test]
    fn reset_restarts_from_scratch() {
        let g = [1.0f32, -2.0, 0.5];
        let mut adam = Adam::new(3, 0.1);
        let mut p = [0.0f32; 3];
        adam.step(&mut p, &g);
        adam.step(&mut p, &[0.3, 0.3, 0.3]);
        adam.reset();
        assert_eq!(adam.steps(), 0);
        let mut q = [0.0f32; 3];
        adam.step(&mut q, &g);
        let mut fresh = Adam::new(3, 0.1);
        let mut r = [0.0f32; 3];
        fresh.step(&mut r, &g);
        assert_eq!(q, r);
    }
}
