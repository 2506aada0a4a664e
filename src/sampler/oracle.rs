//! The exact DDPM quantities for a 1-D Gaussian-mixture target Σ w_k N(m_k, s_k²)
//! (docs/methods.md §4): the forward marginals p_t and the exact denoiser
//! f*(x, t) = E[x_{t−Δt} | x_t = x] of the forward process x_{t+Δt} = x_t + N(0, σ_q²Δt).

use crate::energy::Gmm;
use crate::rng::Rng;

#[derive(Clone, Debug)]
pub struct Oracle {
    weights: Vec<f64>,
    means: Vec<f64>,
    /// s_k².
    variances: Vec<f64>,
    /// σ_q².
    sigma_q2: f64,
    /// Δt = 1/T.
    dt: f64,
}

impl Oracle {
    /// Panics unless the mixture is 1-D.
    pub fn new(gmm: &Gmm, sigma_q: f64, steps: usize) -> Oracle {
        assert_eq!(gmm.dim(), 1, "the DDPM oracle is 1-D");
        let k = gmm.n_components();
        Oracle {
            weights: gmm.weights().to_vec(),
            means: (0..k).map(|i| gmm.mean(i)[0]).collect(),
            variances: (0..k).map(|i| gmm.cov(i)[0]).collect(),
            sigma_q2: sigma_q * sigma_q,
            dt: 1.0 / steps as f64,
        }
    }

    fn normal_pdf(x: f64, m: f64, var: f64) -> f64 {
        (-0.5 * (x - m) * (x - m) / var).exp() / (2.0 * std::f64::consts::PI * var).sqrt()
    }

    /// p_t(x) = Σ w_k N(x; m_k, s_k² + σ_q² t).
    pub fn density(&self, x: f64, t: f64) -> f64 {
        (0..self.weights.len())
            .map(|k| {
                self.weights[k]
                    * Oracle::normal_pdf(x, self.means[k], self.variances[k] + self.sigma_q2 * t)
            })
            .sum()
    }

    /// f*(x, t) = Σ r_k(x)[m_k + (x − m_k)(s_k² + σ_q²(t − Δt))/(s_k² + σ_q² t)],
    /// r_k ∝ w_k N(x; m_k, s_k² + σ_q² t): the posterior mean of x_{t−Δt} given x_t = x,
    /// per component the Gaussian regression of x_{t−Δt} on x_t, weighted by the
    /// component's responsibility (docs/methods.md §4).
    pub fn mean(&self, x: f64, t: f64) -> f64 {
        // Responsibilities in log space: far modes underflow otherwise.
        let variance = |k: usize, t: f64| self.variances[k] + self.sigma_q2 * t.max(0.0);
        let log_r: Vec<f64> = (0..self.weights.len())
            .map(|k| {
                let var = variance(k, t);
                self.weights[k].ln() - 0.5 * var.ln() - 0.5 * (x - self.means[k]).powi(2) / var
            })
            .collect();
        let max = log_r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (mut num, mut den) = (0.0, 0.0);
        for (k, &lr) in log_r.iter().enumerate() {
            let r = (lr - max).exp();
            let m = self.means[k];
            num += r * (m + (x - m) * variance(k, t - self.dt) / variance(k, t));
            den += r;
        }
        num / den
    }

    /// Exact draws of x_t ~ p_t.
    pub fn sample_marginal(&self, t: f64, rng: &mut Rng) -> f64 {
        let mut u = rng.uniform();
        let mut k = self.weights.len() - 1;
        for (i, &w) in self.weights.iter().enumerate() {
            if u < w {
                k = i;
                break;
            }
            u -= w;
        }
        self.means[k] + (self.variances[k] + self.sigma_q2 * t).sqrt() * rng.normal()
    }

    /// The reverse sampler with f*: x_1 ~ p_1 exactly, then x_{t−Δt} = f*(x_t, t) +
    /// N(0, σ_q²Δt) for t = 1, 1 − Δt, …, Δt; returns x at t = `stop` (rounded to the grid).
    pub fn reverse_sample(&self, n: usize, stop: f64, rng: &mut Rng) -> Vec<f64> {
        let steps = (1.0 / self.dt).round() as usize;
        let last = (stop / self.dt).round() as usize;
        let sd = (self.sigma_q2 * self.dt).sqrt();
        (0..n)
            .map(|_| {
                let mut x = self.sample_marginal(1.0, rng);
                for i in (last + 1..=steps).rev() {
                    x = self.mean(x, i as f64 * self.dt) + sd * rng.normal();
                }
                x
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Gmm {
        Gmm::new(
            &[0.5, 0.5],
            &[vec![-1.0], vec![2.0]],
            &[vec![vec![0.49]], vec![vec![0.16]]],
            1.0,
        )
        .unwrap()
    }

    #[test]
    fn oracle_mean_matches_monte_carlo_conditional_expectation() {
        // E[x_t | x_{t+Δt} ∈ bin] by simulation of the forward process, against f* at the
        // bin's samples (averaged the same way): agrees to the Monte-Carlo error.
        let (sigma_q, steps) = (1.0, 20);
        let oracle = Oracle::new(&demo(), sigma_q, steps);
        let dt = 1.0 / steps as f64;
        let mut rng = Rng::new(7);
        for &t in &[0.0, 0.3, 0.8] {
            let n = 400_000;
            let (lo, hi) = (0.2, 0.8); // between the modes, where f* bends most
            let (mut sum_xt, mut sum_f, mut count) = (0.0, 0.0, 0usize);
            for _ in 0..n {
                let xt = oracle.sample_marginal(t, &mut rng);
                let next = xt + (sigma_q * sigma_q * dt).sqrt() * rng.normal();
                if (lo..hi).contains(&next) {
                    sum_xt += xt;
                    sum_f += oracle.mean(next, t + dt);
                    count += 1;
                }
            }
            let (mc, exact) = (sum_xt / count as f64, sum_f / count as f64);
            // Residual sd of x_t given x_{t+Δt} ≤ σ_q√Δt ≈ 0.22.
            let se = 0.23 / (count as f64).sqrt();
            assert!(count > 5000, "{count}");
            assert!(
                (mc - exact).abs() < 5.0 * se,
                "t={t}: MC {mc} vs f* {exact} (se {se})"
            );
        }
    }

    #[test]
    fn oracle_sampler_reproduces_the_marginals() {
        // Reverse chain with f* from the exact p_1: at t = 0.5 and t = 0 its samples have
        // p_t's mean and variance and mode split (the Gaussian reverse step is exact to
        // O(Δt); T = 100).
        let oracle = Oracle::new(&demo(), 1.0, 100);
        let mut rng = Rng::new(3);
        for &t in &[0.5, 0.0] {
            let xs = oracle.reverse_sample(20_000, t, &mut rng);
            let n = xs.len() as f64;
            let mean = xs.iter().sum::<f64>() / n;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            // p_t: mean 0.5, variance Σw(s² + σ_q²t + m²) − 0.25.
            let want_var = 0.5 * (0.49 + t + 1.0) + 0.5 * (0.16 + t + 4.0) - 0.25;
            assert!((mean - 0.5).abs() < 0.04, "t={t} mean {mean}");
            assert!(
                (var - want_var).abs() < 0.06,
                "t={t} var {var} vs {want_var}"
            );
            let left = xs.iter().filter(|&&x| x < 0.5).count() as f64 / n;
            let mut want_left = 0.0;
            let h = 1e-3;
            for i in 0..20_000 {
                let x = 0.5 - (i as f64 + 0.5) * h;
                want_left += oracle.density(x, t) * h;
            }
            assert!(
                (left - want_left).abs() < 0.015,
                "t={t}: {left} vs {want_left}"
            );
        }
    }

    #[test]
    fn density_is_normalised() {
        let oracle = Oracle::new(&demo(), 1.5, 100);
        let h = 1e-3;
        let mass: f64 = (0..30_000)
            .map(|i| oracle.density(-15.0 + (i as f64 + 0.5) * h, 0.7) * h)
            .sum();
        assert!((mass - 1.0).abs() < 1e-9, "{mass}");
    }
}
