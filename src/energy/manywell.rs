//! Manywell (docs/methods.md §6): d/2 independent copies of the 2-D double well, coordinates
//! (x₀, x₁), (x₂, x₃), … forming the pairs; temperature folded in.

use std::sync::Arc;

use super::catalog::{ExactSampler, QuadratureSpec, TargetFamily};
use super::quadrature::{self, GroundTruth};
use super::wells::{DoubleWell, DoubleWellTarget};
use super::{Energy, Window};
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

impl ExactSampler for Manywell {
    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        Manywell::sample(self, n, rng)
    }
}

/// Manywell as a catalog target ("manywell:D", D even) at any τ: the display, modes and
/// quadrature grid are those of the first pair (a double well), log Z = (d/2)·log Z of a
/// pair (its 1-D integral is exact to rounding at every τ). Any pair (x_2k, x_2k+1) may be
/// shown instead: each is an independent copy of the double well, judged by the same truth.
pub struct ManywellTarget {
    manywell: Manywell,
    pair: DoubleWellTarget,
}

impl ManywellTarget {
    pub fn new(dim: usize, tau: f64) -> ManywellTarget {
        ManywellTarget {
            manywell: Manywell::new(dim, tau),
            pair: DoubleWellTarget::new(tau),
        }
    }
}

impl TargetFamily for ManywellTarget {
    fn energy(&self) -> Arc<dyn Energy> {
        Arc::new(self.manywell.clone())
    }

    fn window(&self) -> &Window {
        self.pair.window()
    }

    fn modes(&self) -> &[Vec<f64>] {
        self.pair.modes()
    }

    fn quadrature(&self) -> &QuadratureSpec {
        self.pair.quadrature()
    }

    fn log_z(&self) -> Option<f64> {
        Some(self.manywell.log_z())
    }

    /// The pair's quadrature moments repeat block-diagonally: exact in every coordinate.
    fn moments_known(&self) -> bool {
        true
    }

    fn exact_sampler(&self) -> Option<&dyn ExactSampler> {
        Some(&self.manywell)
    }

    fn projections(&self) -> Vec<Vec<usize>> {
        (0..self.manywell.pairs)
            .map(|k| vec![2 * k, 2 * k + 1])
            .collect()
    }

    fn projection_rule(&self) -> Option<String> {
        let d = self.manywell.dim();
        Some(format!(
            "a pair (x2k, x2k+1) with 2k + 1 < {d}, e.g. 2,3 (every pair is the same double well)"
        ))
    }

    fn hint(&self) -> Option<String> {
        (self.manywell.pairs > 1)
            .then(|| "every pair (x2k, x2k+1) is the same double well".to_string())
    }

    /// The pair's quadrature truth (marginals, density grid, mode masses of the displayed
    /// pair), with the mean and covariance repeated over the independent pairs and the
    /// closed-form log Z of all d coordinates.
    fn ground_truth(&self) -> GroundTruth {
        let m = &self.manywell;
        let q = self.quadrature();
        let mut gt =
            quadrature::ground_truth(&m.well, self.window(), &q.window, &q.cells, self.modes());
        let d = m.dim();
        let mut mean = Vec::with_capacity(d);
        let mut cov = vec![0.0; d * d];
        for k in 0..m.pairs {
            mean.extend_from_slice(&gt.mean);
            for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                cov[(2 * k + i) * d + 2 * k + j] = gt.cov[i * 2 + j];
            }
        }
        gt.mean = mean;
        gt.cov = cov;
        gt.log_z = m.log_z();
        // The grid's log density is that of the pair, normalised by its own log Z.
        gt
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

    #[test]
    fn manywell_family_repeats_the_pair_truth_over_its_pairs() {
        let t = ManywellTarget::new(6, 1.5);
        assert_eq!(t.projections(), vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
        let pair = DoubleWellTarget::new(1.5);
        assert_eq!(t.window(), pair.window());
        let (gt, gp) = (t.ground_truth(), pair.ground_truth());
        assert!(
            (gt.log_z - 3.0 * gp.log_z).abs() < 1e-6,
            "{} vs {}",
            gt.log_z,
            gp.log_z
        );
        assert_eq!(Some(gt.log_z), t.log_z());
        for k in 0..3 {
            for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                assert_eq!(gt.cov[(2 * k + i) * 6 + 2 * k + j], gp.cov[2 * i + j]);
            }
            assert_eq!(gt.mean[2 * k..2 * k + 2], gp.mean[..]);
        }
        // Different pairs are independent.
        assert_eq!(gt.cov[2], 0.0);
        assert_eq!(gt.mode_masses, gp.mode_masses);
        assert!(t.moments_known() && t.exact_sampler().is_some());
    }
}
