//! Manywell (docs/methods.md §6): d/2 independent copies of the 2-D double well, coordinates
//! (x₀, x₁), (x₂, x₃), … forming the pairs; temperature folded in.

use super::wells::DoubleWell;
use super::Energy;
use crate::rng::Rng;

#[derive(Clone, Debug)]
pub struct Manywell {
    pub pairs: usize,
    pub well: DoubleWell,
}

impl Manywell {
    /// d = 2·pairs, pairs ≥ 1.
    pub fn new(dim: usize, temperature: f64) -> Manywell {
        assert!(
            dim >= 2 && dim.is_multiple_of(2),
            "manywell needs an even d ≥ 2"
        );
        Manywell {
            pairs: dim / 2,
            well: DoubleWell::new(temperature),
        }
    }

    /// log Z = (d/2)·log Z of one double well (10.29348 at τ = 1, so 164.6957 at d = 32).
    pub fn log_z(&self) -> f64 {
        self.pairs as f64 * self.well.log_z()
    }

    /// Exact samples, row-major n×d: n·d/2 independent double-well pairs laid end to end.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        self.well.sample(n * self.pairs, rng)
    }
}

impl Energy for Manywell {
    fn dim(&self) -> usize {
        2 * self.pairs
    }

    fn energy(&self, x: &[f64]) -> f64 {
        x.chunks_exact(2).map(|p| self.well.energy(p)).sum()
    }

    fn energy_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        x.chunks_exact(2)
            .zip(grad.chunks_exact_mut(2))
            .map(|(p, g)| self.well.energy_grad(p, g))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::tests::assert_gradient_matches;
    use crate::energy::wells::quartic;

    #[test]
    fn manywell_gradient_matches_finite_differences() {
        for (d, tau) in [(2, 1.0), (4, 1.0), (32, 1.0), (6, 2.5)] {
            let m = Manywell::new(d, tau);
            let mut rng = Rng::new(d as u64);
            for _ in 0..10 {
                let x: Vec<f64> = (0..d).map(|_| 2.0 * rng.normal()).collect();
                assert_gradient_matches(&m, &x);
            }
        }
    }

    #[test]
    fn manywell_log_z_by_quadrature_of_a_pair() {
        // d = 4: Z = (∫exp(−f(x))dx · sqrt(2π))² with the 1-D integral by Simpson's rule on
        // [−5, 5] (f ≥ 125 − 150 − 2.5 … grows as x⁴ beyond; the tails are below e^{-300}).
        let (n, h) = (20_000, 10.0 / 20_000.0);
        let g = |x: f64| (-quartic(x)).exp();
        let mut s = g(-5.0) + g(5.0);
        for i in 1..n {
            s += if i % 2 == 1 { 4.0 } else { 2.0 } * g(-5.0 + i as f64 * h);
        }
        let pair = (s * h / 3.0).ln() + 0.5 * (2.0 * std::f64::consts::PI).ln();
        let m4 = Manywell::new(4, 1.0);
        assert!((m4.log_z() - 2.0 * pair).abs() < 1e-9, "{}", m4.log_z());
        assert!((pair - 10.29348).abs() < 5e-6, "{pair}");
        let m32 = Manywell::new(32, 1.0);
        assert!((m32.log_z() - 164.6957).abs() < 1e-4, "{}", m32.log_z());
        // The energy is the sum over pairs.
        let x = [1.0, -0.5, -1.2, 2.0];
        let want = quartic(1.0) + 0.125 + quartic(-1.2) + 2.0;
        assert!((m4.energy(&x) - want).abs() < 1e-12);
    }

    #[test]
    fn manywell_exact_samples_are_independent_pairs() {
        let d = 8;
        let m = Manywell::new(d, 1.0);
        let n = 100_000;
        let xs = m.sample(n, &mut Rng::new(23));
        assert_eq!(xs.len(), n * d);
        // The right well (x₁ > 0) holds 0.844 of each pair's mass (docs/methods.md §6) …
        let right: Vec<Vec<bool>> = xs
            .chunks_exact(d)
            .map(|x| (0..d / 2).map(|k| x[2 * k] > 0.0).collect())
            .collect();
        for k in 0..d / 2 {
            let p = right.iter().filter(|r| r[k]).count() as f64 / n as f64;
            assert!((p - 0.844).abs() < 0.006, "pair {k}: {p}");
        }
        // … independently: both of two pairs in the right well with probability 0.844².
        let both = right.iter().filter(|r| r[0] && r[3]).count() as f64 / n as f64;
        let p2 = 0.8443f64.powi(2);
        assert!((both - p2).abs() < 0.007, "{both} vs {p2}");
        // The Gaussian coordinates: mean 0, variance 1.
        let v: f64 = xs.chunks_exact(d).map(|x| x[5] * x[5]).sum::<f64>() / n as f64;
        assert!((v - 1.0).abs() < 0.02, "{v}");
    }
}
