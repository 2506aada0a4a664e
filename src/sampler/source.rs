//! The source μ of X_0 for Adjoint Sampling and ASBS (docs/methods.md §3): a point mass at the
//! origin or a Gaussian with diagonal covariance, in the sampler's coordinates.

use crate::rng::Rng;

#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Dirac mass at 0: Adjoint Sampling's memoryless setting.
    Point,
    /// N(mean, diag(std²)); a 1-element mean/std is isotropic in any dimension.
    Gaussian { mean: Vec<f64>, std: Vec<f64> },
}

impl Source {
    /// "point", "seed" (the original's N([2,−1], diag(1.5, 0.5))) or "normal:MEAN,STD".
    pub fn parse(text: &str) -> Result<Source, String> {
        let text = text.trim();
        match text {
            "point" => return Ok(Source::Point),
            "seed" => {
                return Ok(Source::Gaussian {
                    mean: vec![2.0, -1.0],
                    std: vec![1.5f64.sqrt(), 0.5f64.sqrt()],
                })
            }
            _ => {}
        }
        let bad = || {
            format!(
                "source: expected \"point\", \"seed\" or \"normal:MEAN,STD\" (STD > 0), got \"{text}\""
            )
        };
        let rest = text.strip_prefix("normal:").ok_or_else(bad)?;
        let mut parts = rest.split(',').map(|v| v.trim().parse::<f64>());
        match (parts.next(), parts.next(), parts.next()) {
            (Some(Ok(m)), Some(Ok(s)), None) if m.is_finite() && s.is_finite() && s > 0.0 => {
                Ok(Source::Gaussian {
                    mean: vec![m],
                    std: vec![s],
                })
            }
            _ => Err(bad()),
        }
    }

    /// Checks the source fits dimension d.
    pub fn check_dim(&self, d: usize) -> Result<(), String> {
        match self {
            Source::Gaussian { mean, .. } if mean.len() != 1 && mean.len() != d => Err(format!(
                "source: a {}-D source for a {d}-D target",
                mean.len()
            )),
            _ => Ok(()),
        }
    }

    pub fn is_point(&self) -> bool {
        matches!(self, Source::Point)
    }

    /// (mean, std) of coordinate k (0, 0 for the point mass).
    pub fn coordinate(&self, k: usize) -> (f64, f64) {
        match self {
            Source::Point => (0.0, 0.0),
            Source::Gaussian { mean, std } => {
                let i = if mean.len() == 1 { 0 } else { k };
                (mean[i], std[i])
            }
        }
    }

    /// Fills rows of `x` (n × d) with draws from μ. The point mass draws nothing from `rng`,
    /// so that a point-source run consumes the same random numbers as Adjoint Sampling.
    pub fn fill(&self, x: &mut [f32], d: usize, rng: &mut Rng) {
        match self {
            Source::Point => x.fill(0.0),
            Source::Gaussian { .. } => {
                for row in x.chunks_exact_mut(d) {
                    for (k, v) in row.iter_mut().enumerate() {
                        let (m, s) = self.coordinate(k);
                        *v = (m + s * rng.normal()) as f32;
                    }
                }
            }
        }
    }

    /// log p₀¹(x) and its gradient: the base process's law at t = 1 started from μ,
    /// μ ⊛ N(0, ν₁ I) = N(mean, diag(std² + ν₁)) (exact for both kinds of source).
    pub fn log_base_marginal(&self, x: &[f64], nu1: f64, grad: &mut [f64]) -> f64 {
        let mut log_p = 0.0;
        for (k, (&xk, g)) in x.iter().zip(grad.iter_mut()).enumerate() {
            let (m, s) = self.coordinate(k);
            let var = s * s + nu1;
            let r = xk - m;
            log_p -= 0.5 * (2.0 * std::f64::consts::PI * var).ln() + 0.5 * r * r / var;
            *g = -r / var;
        }
        log_p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds_and_names_bad_ones() {
        assert_eq!(Source::parse("point").unwrap(), Source::Point);
        assert_eq!(
            Source::parse("normal:0.5, 2").unwrap(),
            Source::Gaussian {
                mean: vec![0.5],
                std: vec![2.0]
            }
        );
        let seed = Source::parse("seed").unwrap();
        assert_eq!(seed.coordinate(1).0, -1.0);
        assert!((seed.coordinate(0).1.powi(2) - 1.5).abs() < 1e-12);
        for bad in [
            "normal:0",
            "normal:0,-1",
            "gauss",
            "normal:a,1",
            "normal:0,1,2",
        ] {
            assert!(Source::parse(bad).unwrap_err().contains("source"), "{bad}");
        }
        assert!(seed.check_dim(1).is_err());
        assert!(Source::parse("normal:0,1").unwrap().check_dim(2).is_ok());
    }

    #[test]
    fn base_marginal_is_a_normalised_density_with_its_gradient() {
        // ∫ p₀¹ = 1 by the midpoint rule and ∇log p₀¹ against central differences.
        let src = Source::parse("normal:0.5,0.8").unwrap();
        let nu1 = 0.09;
        let mut g = [0.0];
        let h = 1e-3;
        let mass: f64 = (0..20_000)
            .map(|i| {
                let x = -10.0 + (i as f64 + 0.5) * h;
                src.log_base_marginal(&[x], nu1, &mut g).exp() * h
            })
            .sum();
        assert!((mass - 1.0).abs() < 1e-9, "{mass}");
        let x = 1.3;
        src.log_base_marginal(&[x], nu1, &mut g);
        let fd = (src.log_base_marginal(&[x + 1e-5], nu1, &mut [0.0])
            - src.log_base_marginal(&[x - 1e-5], nu1, &mut [0.0]))
            / 2e-5;
        assert!((fd - g[0]).abs() < 1e-7, "{fd} vs {}", g[0]);
    }
}
