//! Diffusion coefficients σ_t of the base process dX = σ_t dW on t ∈ [0, 1] and their
//! cumulative variances ν_t = ∫₀ᵗ σ_s² ds (docs/methods.md §2).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum NoiseSchedule {
    /// σ_t = σ_min·D^(1−t)·√(2 ln D), D = σ_max/σ_min; ν_t = σ_max²(1 − D^(−2t)).
    Geometric { sigma_min: f64, sigma_max: f64 },
    /// σ_t = σ; ν_t = σ² t.
    Constant { sigma: f64 },
}

impl NoiseSchedule {
    pub const SEED: NoiseSchedule = NoiseSchedule::Geometric {
        sigma_min: 1e-3,
        sigma_max: 1.0,
    };

    /// The base process a configuration names: `text` is "geometric" (σ_min, σ_max as
    /// given) or "constant:S"; the message quotes what it could not read.
    pub fn parse(text: &str, sigma_min: f64, sigma_max: f64) -> Result<NoiseSchedule, String> {
        let text = text.trim();
        if text == "geometric" {
            return Ok(NoiseSchedule::Geometric {
                sigma_min,
                sigma_max,
            });
        }
        let sigma = text
            .strip_prefix("constant:")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .ok_or_else(|| {
                format!("sigma: expected \"geometric\" or \"constant:S\", got \"{text}\"")
            })?;
        Ok(NoiseSchedule::Constant { sigma })
    }

    pub fn validate(&self) -> Result<(), String> {
        match *self {
            NoiseSchedule::Geometric {
                sigma_min,
                sigma_max,
            } => {
                if !(sigma_min.is_finite() && sigma_min > 0.0) {
                    return Err(format!("sigma_min must be positive, got {sigma_min}"));
                }
                if !(sigma_max.is_finite() && sigma_max > sigma_min) {
                    return Err(format!(
                        "sigma_max must be finite and larger than sigma_min ({sigma_min}), got {sigma_max}"
                    ));
                }
            }
            NoiseSchedule::Constant { sigma } => {
                if !(sigma.is_finite() && sigma > 0.0) {
                    return Err(format!("sigma must be positive, got {sigma}"));
                }
            }
        }
        Ok(())
    }

    /// σ_t.
    pub fn sigma(&self, t: f64) -> f64 {
        match *self {
            NoiseSchedule::Geometric {
                sigma_min,
                sigma_max,
            } => {
                let d = sigma_max / sigma_min;
                sigma_min * d.powf(1.0 - t) * (2.0 * d.ln()).sqrt()
            }
            NoiseSchedule::Constant { sigma } => sigma,
        }
    }

    /// ν_t = ∫₀ᵗ σ_s² ds, the variance of the base process at t started from a point.
    pub fn nu(&self, t: f64) -> f64 {
        match *self {
            NoiseSchedule::Geometric {
                sigma_min,
                sigma_max,
            } => {
                let d = sigma_max / sigma_min;
                // 1 − D^(−2t) = −expm1(−2t ln D), accurate for small t.
                sigma_max * sigma_max * -(-2.0 * t * d.ln()).exp_m1()
            }
            NoiseSchedule::Constant { sigma } => sigma * sigma * t,
        }
    }

    /// ∫_{t0}^{t1} σ_s ds: the drift σ_t·u of the controlled SDE integrated over a step
    /// with u held constant.
    pub fn sigma_integral(&self, t0: f64, t1: f64) -> f64 {
        match *self {
            NoiseSchedule::Geometric {
                sigma_min,
                sigma_max,
            } => {
                // σ_t = c·D^(1−t) ⇒ ∫ = c·D·(D^(−t0) − D^(−t1))/ln D.
                let d = sigma_max / sigma_min;
                let (ln_d, c) = (d.ln(), sigma_min * (2.0 * d.ln()).sqrt());
                c * d * ((-t0 * ln_d).exp() - (-t1 * ln_d).exp()) / ln_d
            }
            NoiseSchedule::Constant { sigma } => sigma * (t1 - t0),
        }
    }

    /// ν_1: one value used everywhere (docs/methods.md §2: the seed mixed two).
    pub fn nu1(&self) -> f64 {
        self.nu(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
        let h = (b - a) / n as f64;
        let mut s = f(a) + f(b);
        for i in 1..n {
            let w = if i % 2 == 1 { 4.0 } else { 2.0 };
            s += w * f(a + i as f64 * h);
        }
        s * h / 3.0
    }

    #[test]
    fn nu_is_the_integral_of_sigma_squared() {
        for sched in [
            NoiseSchedule::SEED,
            NoiseSchedule::Geometric {
                sigma_min: 0.01,
                sigma_max: 3.0,
            },
            NoiseSchedule::Constant { sigma: 0.3 },
        ] {
            for &t in &[0.0, 0.1, 0.37, 0.8, 1.0] {
                let q = simpson(|s| sched.sigma(s).powi(2), 0.0, t, 20_000);
                assert!(
                    (q - sched.nu(t)).abs() < 1e-9 * (1.0 + q),
                    "{sched:?} t={t}: quadrature {q} vs nu {}",
                    sched.nu(t)
                );
            }
        }
    }

    #[test]
    fn sigma_integral_matches_quadrature() {
        for sched in [NoiseSchedule::SEED, NoiseSchedule::Constant { sigma: 0.3 }] {
            for &(a, b) in &[(0.0, 0.01), (0.2, 0.45), (0.9, 1.0)] {
                let q = simpson(|s| sched.sigma(s), a, b, 2_000);
                let got = sched.sigma_integral(a, b);
                assert!(
                    (q - got).abs() < 1e-10 * (1.0 + q),
                    "{sched:?} [{a},{b}]: {q} vs {got}"
                );
            }
        }
    }

    #[test]
    fn seed_schedule_constants() {
        let s = NoiseSchedule::SEED;
        // ν_1 = σ_max² − σ_min² exactly (docs/methods.md §2).
        assert!((s.nu1() - (1.0 - 1e-6)).abs() < 1e-12);
        assert!((s.sigma(1.0) - 1e-3 * (2.0 * 1000f64.ln()).sqrt()).abs() < 1e-15);
        assert!((s.sigma(0.0) - (2.0 * 1000f64.ln()).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(NoiseSchedule::Geometric {
            sigma_min: 1.0,
            sigma_max: 0.5
        }
        .validate()
        .unwrap_err()
        .contains("sigma_max"));
        assert!(NoiseSchedule::Constant { sigma: 0.0 }
            .validate()
            .unwrap_err()
            .contains("sigma"));
        assert!(NoiseSchedule::SEED.validate().is_ok());
    }
}
