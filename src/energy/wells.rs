//! The harmonic well, the 2-D double well (docs/methods.md §6) and the 1-D double well
//! (docs/methods.md §4), temperature folded in, and their catalog families.

use std::sync::Arc;

use super::catalog::{ExactSampler, QuadratureSpec, TargetFamily};
use super::{cell_counts, Energy, Gmm, Window, DISPLAY_SIGMAS, QUADRATURE_SIGMAS};
use crate::rng::Rng;

/// E(x) = ½‖x‖² / τ: N(0, τ I), log Z = (d/2) log(2πτ).
#[derive(Clone, Debug)]
pub struct HarmonicWell {
    pub dim: usize,
    pub temperature: f64,
}

impl HarmonicWell {
    pub fn new(dim: usize, temperature: f64) -> HarmonicWell {
        HarmonicWell { dim, temperature }
    }

    pub fn log_z(&self) -> f64 {
        0.5 * self.dim as f64 * (2.0 * std::f64::consts::PI * self.temperature).ln()
    }

    /// Exact samples sqrt(τ)·z, row-major n×d.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        let s = self.temperature.sqrt();
        (0..n * self.dim).map(|_| s * rng.normal()).collect()
    }
}

impl Energy for HarmonicWell {
    fn dim(&self) -> usize {
        self.dim
    }

    fn energy(&self, x: &[f64]) -> f64 {
        0.5 * x.iter().map(|v| v * v).sum::<f64>() / self.temperature
    }

    fn energy_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        for (g, v) in grad.iter_mut().zip(x) {
            *g = v / self.temperature;
        }
        self.energy(x)
    }
}

/// The x₁ part of the double-well energy at τ = 1: f(x) = x⁴ − 6x² − ½x.
pub fn quartic(x: f64) -> f64 {
    let x2 = x * x;
    x2 * x2 - 6.0 * x2 - 0.5 * x
}

/// f'(x) = 4x³ − 12x − ½.
pub fn quartic_derivative(x: f64) -> f64 {
    4.0 * x * x * x - 12.0 * x - 0.5
}

/// The two minima of f (left, right): roots of f'(x)/4 = x³ − 3x − 1/8 by the
/// trigonometric formula x_k = 2 cos(arccos(1/16)/3 − 2πk/3) (k = 0 right minimum,
/// k = 1 the local maximum near 0, k = 2 left minimum), polished by two Newton steps.
pub fn quartic_minima() -> [f64; 2] {
    let phi = (1.0f64 / 16.0).acos() / 3.0;
    let third = 2.0 * std::f64::consts::PI / 3.0;
    let polish = |mut x: f64| {
        for _ in 0..2 {
            x -= quartic_derivative(x) / (12.0 * x * x - 12.0);
        }
        x
    };
    [
        polish(2.0 * (phi - 2.0 * third).cos()),
        polish(2.0 * phi.cos()),
    ]
}

/// E(x) = (x₁⁴ − 6x₁² − ½x₁ + ½x₂²) / τ, i.e. log R = −x₁⁴ + 6x₁² + ½x₁ − ½x₂² at τ = 1
/// (one pair of Manywell). The density factorizes: x₂ ~ N(0, τ), x₁ ∝ exp(−f(x₁)/τ).
#[derive(Clone, Debug)]
pub struct DoubleWell {
    pub temperature: f64,
}

impl DoubleWell {
    pub fn new(temperature: f64) -> DoubleWell {
        DoubleWell { temperature }
    }

    /// The modes (±1.7…, 0): the minima of the quartic, independent of τ.
    pub fn modes() -> Vec<Vec<f64>> {
        quartic_minima().iter().map(|&m| vec![m, 0.0]).collect()
    }

    /// The x₁ interval where f(x₁)/τ stays within sigmas²/2 of its minimum (the analogue of
    /// ±sigmas standard deviations), found by bisection outside each minimum.
    pub fn x1_interval(&self, sigmas: f64) -> (f64, f64) {
        let [left, right] = quartic_minima();
        let level = quartic(right).min(quartic(left)) + 0.5 * sigmas * sigmas * self.temperature;
        let root = |inner: f64, direction: f64| {
            // f is monotone beyond each minimum; expand until above the level, then bisect.
            let mut step = 0.5;
            while quartic(inner + direction * step) <= level {
                step *= 2.0;
            }
            let (mut a, mut b) = (0.0, step);
            for _ in 0..100 {
                let mid = 0.5 * (a + b);
                if quartic(inner + direction * mid) <= level {
                    a = mid;
                } else {
                    b = mid;
                }
            }
            inner + direction * b
        };
        (root(left, -1.0), root(right, 1.0))
    }

    /// Standard deviation of the narrower well in x₁ at τ: sqrt(τ / f''(x*)).
    pub fn x1_scale(&self) -> f64 {
        quartic_minima()
            .iter()
            .map(|&m| (self.temperature / (12.0 * m * m - 12.0)).sqrt())
            .fold(f64::INFINITY, f64::min)
    }

    /// log Z = log ∫exp(−f(x₁)/τ)dx₁ + ½ log(2πτ), the 1-D integral by the midpoint rule on
    /// 20 000 cells over the interval holding all but e^{-60} of the mass: the integrand is
    /// smooth, so the rule is accurate to rounding (10.29348… at τ = 1, docs/methods.md §6).
    pub fn log_z(&self) -> f64 {
        let (lo, hi) = self.x1_interval(11.0);
        let n = 20_000;
        let h = (hi - lo) / n as f64;
        let logs: Vec<f64> = (0..n)
            .map(|i| -quartic(lo + (i as f64 + 0.5) * h) / self.temperature)
            .collect();
        let max = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = logs.iter().map(|l| (l - max).exp()).sum();
        max + (sum * h).ln() + 0.5 * (2.0 * std::f64::consts::PI * self.temperature).ln()
    }

    /// Exact samples, row-major n×2: x₂ ~ N(0, τ) and x₁ by rejection.
    ///
    /// Envelope: f is a quartic, so around a minimum x* exactly
    /// f(x* + t) − f(x*) = t²·B(t), B(t) = t² + 4x*·t + 6x*² − 6. On the half-line of x*
    /// (x ≥ 0 for the right minimum, x < 0 for the left) B is monotone and smallest at
    /// x = 0, where B = a := 3x*² − 6 > 0, so there exp(−f(x)/τ) ≤ exp(−(f(x*) + a t²)/τ).
    /// The sum of these two Gaussian bounds, N(x*, τ/(2a)) with masses
    /// ∝ exp(−f(x*)/τ)·sqrt(πτ/a), dominates exp(−f/τ) everywhere and touches it at both
    /// minima, so the acceptance rate, exp(−f(x)/τ) / envelope(x), stays near ½ at every τ.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        let tau = self.temperature;
        let minima = quartic_minima();
        let curvature = minima.map(|m| 3.0 * m * m - 6.0);
        let log_bound =
            |x: f64, k: usize| -(quartic(minima[k]) + curvature[k] * (x - minima[k]).powi(2)) / tau;
        let log_mass = [0, 1].map(|k| -quartic(minima[k]) / tau - 0.5 * curvature[k].ln());
        // Probability of the right component, e^{M_R} / (e^{M_L} + e^{M_R}).
        let p_right = 1.0 / (1.0 + (log_mass[0] - log_mass[1]).exp());
        let std = curvature.map(|a| (tau / (2.0 * a)).sqrt());
        let mut out = Vec::with_capacity(2 * n);
        while out.len() < 2 * n {
            let k = if rng.uniform() < p_right { 1 } else { 0 };
            let x = minima[k] + std[k] * rng.normal();
            let (a, b) = (log_bound(x, 0), log_bound(x, 1));
            let log_envelope = a.max(b) + (-(a - b).abs()).exp().ln_1p();
            let log_accept = -quartic(x) / tau - log_envelope;
            if rng.uniform().ln() < log_accept {
                out.push(x);
                out.push(tau.sqrt() * rng.normal());
            }
        }
        out
    }
}

impl Energy for DoubleWell {
    fn dim(&self) -> usize {
        2
    }

    fn energy(&self, x: &[f64]) -> f64 {
        (quartic(x[0]) + 0.5 * x[1] * x[1]) / self.temperature
    }

    fn energy_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        grad[0] = quartic_derivative(x[0]) / self.temperature;
        grad[1] = x[1] / self.temperature;
        self.energy(x)
    }
}

impl ExactSampler for HarmonicWell {
    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        HarmonicWell::sample(self, n, rng)
    }
}

impl ExactSampler for DoubleWell {
    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        DoubleWell::sample(self, n, rng)
    }
}

/// The harmonic well as a catalog target ("well" in 2-D, "normal1d" in 1-D): everything
/// in closed form, windows ±σ·sqrt(τ).
pub struct HarmonicTarget {
    well: HarmonicWell,
    window: Window,
    modes: Vec<Vec<f64>>,
    quadrature: QuadratureSpec,
}

impl HarmonicTarget {
    pub fn new(dim: usize, tau: f64) -> HarmonicTarget {
        let s = tau.sqrt();
        let window = Window {
            lo: vec![-QUADRATURE_SIGMAS * s; dim],
            hi: vec![QUADRATURE_SIGMAS * s; dim],
        };
        HarmonicTarget {
            well: HarmonicWell::new(dim, tau),
            window: Window {
                lo: vec![-DISPLAY_SIGMAS * s; dim],
                hi: vec![DISPLAY_SIGMAS * s; dim],
            },
            modes: vec![vec![0.0; dim]],
            quadrature: QuadratureSpec {
                cells: cell_counts(&window, &vec![s; dim]),
                window,
            },
        }
    }
}

impl TargetFamily for HarmonicTarget {
    fn energy(&self) -> Arc<dyn Energy> {
        Arc::new(self.well.clone())
    }

    fn window(&self) -> &Window {
        &self.window
    }

    fn modes(&self) -> &[Vec<f64>] {
        &self.modes
    }

    fn quadrature(&self) -> &QuadratureSpec {
        &self.quadrature
    }

    fn log_z(&self) -> Option<f64> {
        Some(self.well.log_z())
    }

    /// N(0, τI).
    fn moments(&self) -> Option<(Vec<f64>, Vec<f64>)> {
        let d = self.well.dim;
        let mut cov = vec![0.0; d * d];
        for i in 0..d {
            cov[i * d + i] = self.well.temperature;
        }
        Some((vec![0.0; d], cov))
    }

    fn exact_sampler(&self) -> Option<&dyn ExactSampler> {
        Some(&self.well)
    }

    /// In 1-D, a one-component mixture N(0, τ) (the DDPM oracle's form; 2-D has no
    /// mixture sampler that needs it).
    fn as_mixture(&self) -> Option<Arc<Gmm>> {
        (self.well.dim == 1).then(|| {
            Arc::new(
                Gmm::mixture_1d(&[(1.0, 0.0, self.well.temperature.sqrt())], 1.0).expect("valid"),
            )
        })
    }
}

/// The 2-D double well as a catalog target, at any τ. Also the layout (window, modes,
/// quadrature grid) of each Manywell pair.
pub struct DoubleWellTarget {
    pub(super) well: DoubleWell,
    window: Window,
    modes: Vec<Vec<f64>>,
    quadrature: QuadratureSpec,
}

impl DoubleWellTarget {
    pub fn new(tau: f64) -> DoubleWellTarget {
        let well = DoubleWell::new(tau);
        let s = tau.sqrt();
        let (lo1, hi1) = well.x1_interval(DISPLAY_SIGMAS);
        let (qlo1, qhi1) = well.x1_interval(QUADRATURE_SIGMAS);
        let window = Window {
            lo: vec![qlo1, -QUADRATURE_SIGMAS * s],
            hi: vec![qhi1, QUADRATURE_SIGMAS * s],
        };
        DoubleWellTarget {
            window: Window {
                lo: vec![lo1, -DISPLAY_SIGMAS * s],
                hi: vec![hi1, DISPLAY_SIGMAS * s],
            },
            modes: DoubleWell::modes(),
            quadrature: QuadratureSpec {
                cells: cell_counts(&window, &[well.x1_scale(), s]),
                window,
            },
            well,
        }
    }
}

impl TargetFamily for DoubleWellTarget {
    fn energy(&self) -> Arc<dyn Energy> {
        Arc::new(self.well.clone())
    }

    fn window(&self) -> &Window {
        &self.window
    }

    fn modes(&self) -> &[Vec<f64>] {
        &self.modes
    }

    fn quadrature(&self) -> &QuadratureSpec {
        &self.quadrature
    }

    /// The x₁ integral is one-dimensional and computed to rounding; the brief keeps the
    /// "known" value to τ = 1, where it is the published 10.29348.
    fn log_z(&self) -> Option<f64> {
        (self.well.temperature == 1.0).then(|| self.well.log_z())
    }

    /// x₂ ~ N(0, τ), x₁ by rejection.
    fn exact_sampler(&self) -> Option<&dyn ExactSampler> {
        Some(&self.well)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::tests::{assert_gradient_matches, assert_moments_match};

    #[test]
    fn gradients_match_finite_differences() {
        for tau in [1.0, 0.5, 3.0] {
            let dw = DoubleWell::new(tau);
            let well = HarmonicWell::new(2, tau);
            for x in [
                [0.0, 0.0],
                [1.75, 0.2],
                [-1.7, -1.0],
                [0.3, 2.0],
                [-6.0, 9.0],
                [25.0, -30.0],
            ] {
                assert_gradient_matches(&dw, &x);
                assert_gradient_matches(&well, &x);
            }
        }
        assert_gradient_matches(&HarmonicWell::new(1, 2.0), &[0.7]);
    }

    #[test]
    fn quartic_minima_are_stationary_and_minimal() {
        let [left, right] = quartic_minima();
        assert!(
            (left + 1.7111).abs() < 1e-3 && (right - 1.7527).abs() < 1e-3,
            "{left} {right}"
        );
        for m in [left, right] {
            assert!(quartic_derivative(m).abs() < 1e-13, "f'({m})");
            assert!(quartic(m) < quartic(m + 1e-4) && quartic(m) < quartic(m - 1e-4));
        }
        // The tilt ½x₁ makes the right well the deeper one.
        assert!(quartic(right) < quartic(left));
    }

    #[test]
    fn double_well_log_z_matches_published_value() {
        assert!((DoubleWell::new(1.0).log_z() - 10.29348).abs() < 5e-6);
        // At very high τ the quartic term still bounds the interval; x₂ adds ½log(2πτ).
        let hot = DoubleWell::new(50.0).log_z();
        assert!(hot.is_finite());
    }

    #[test]
    fn harmonic_log_z_closed_form() {
        let w = HarmonicWell::new(2, 2.5);
        assert!((w.log_z() - (2.0 * std::f64::consts::PI * 2.5).ln()).abs() < 1e-15);
    }

    #[test]
    fn rejection_envelope_dominates_and_is_tight_at_the_minima() {
        // The bound f(x) ≥ f(x*) + (3x*² − 6)(x − x*)² on x*'s half-line, checked densely.
        let minima = quartic_minima();
        for i in 0..=20_000 {
            let x = -10.0 + i as f64 * 0.001;
            let k = if x >= 0.0 { 1 } else { 0 };
            let m = minima[k];
            let bound = quartic(m) + (3.0 * m * m - 6.0) * (x - m) * (x - m);
            assert!(
                quartic(x) >= bound - 1e-9 * (1.0 + quartic(x).abs()),
                "x={x}"
            );
        }
        // Small temperatures do not stall the sampler (acceptance stays ≈ ½).
        let xs = DoubleWell::new(0.002).sample(2000, &mut Rng::new(4));
        let right = xs.chunks_exact(2).filter(|x| x[0] > 0.0).count();
        assert!(
            right > 1990,
            "at τ = 0.002 nearly all mass is in the deeper well: {right}"
        );
    }

    #[test]
    fn x1_interval_brackets_level_set() {
        let dw = DoubleWell::new(1.0);
        let (lo, hi) = dw.x1_interval(4.5);
        let [left, right] = quartic_minima();
        let level = quartic(right) + 0.5 * 4.5 * 4.5;
        assert!((quartic(lo) - level).abs() < 1e-9 && (quartic(hi) - level).abs() < 1e-9);
        assert!(lo < left && hi > right);
    }

    #[test]
    fn harmonic_family_samples_and_quadrature_match_its_closed_forms() {
        let mut rng = Rng::new(31);
        for (dim, tau) in [(1, 1.0), (1, 2.5), (2, 1.0), (2, 0.5)] {
            let t = HarmonicTarget::new(dim, tau);
            let (mean, cov) = t.moments().unwrap();
            let xs = t.exact_sampler().unwrap().sample(100_000, &mut rng);
            assert_moments_match(&xs, &mean, &cov, &format!("well d={dim} τ={tau}"));
            let gt = t.ground_truth();
            assert!((gt.log_z - t.log_z().unwrap()).abs() < 1e-6, "{}", gt.log_z);
            // The 1-D mixture view is the same N(0, τ) (its variance is sqrt(τ)², so to
            // rounding).
            match t.as_mixture() {
                Some(g) => {
                    let (m, c) = g.moments();
                    assert_eq!(m, mean);
                    assert!((c[0] - cov[0]).abs() < 1e-15 * cov[0], "{c:?} vs {cov:?}");
                }
                None => assert_eq!(dim, 2),
            }
        }
    }

    #[test]
    fn double_well_families_state_log_z_where_the_brief_knows_it() {
        let t = DoubleWellTarget::new(1.0);
        assert!((t.ground_truth().log_z - t.log_z().unwrap()).abs() < 1e-6);
        assert!(t.exact_sampler().is_some() && t.moments().is_none());
        assert!(DoubleWellTarget::new(2.0).log_z().is_none());
        // The 1-D quartic well has neither: quadrature and grid samples stand in.
        let q = QuarticWell1dTarget::new(1.0);
        assert!(q.log_z().is_none() && q.exact_sampler().is_none());
        assert_eq!((q.modes().len(), q.projections()), (2, vec![vec![0]]));
    }
}

/// The 1-D double well E(x) = (x² − 4)² / τ (docs/methods.md §4): minima at ±2, curvature
/// E'' = 32/τ there. No closed-form Z: ground truth is grid quadrature (inverse CDF on the
/// grid for samples).
#[derive(Clone, Debug)]
pub struct QuarticWell1d {
    pub temperature: f64,
}

impl QuarticWell1d {
    pub fn new(temperature: f64) -> QuarticWell1d {
        QuarticWell1d { temperature }
    }

    /// The interval |x| ≤ r where E ≤ sigmas²/2 (the analogue of ±sigmas standard
    /// deviations): (r² − 4)² = τ·sigmas²/2 ⇒ r² = 4 + sigmas·sqrt(τ/2).
    pub fn half_width(&self, sigmas: f64) -> f64 {
        (4.0 + sigmas * (0.5 * self.temperature).sqrt()).sqrt()
    }

    /// Standard deviation of a well in the harmonic approximation: sqrt(τ/32).
    pub fn scale(&self) -> f64 {
        (self.temperature / 32.0).sqrt()
    }
}

impl Energy for QuarticWell1d {
    fn dim(&self) -> usize {
        1
    }

    fn energy(&self, x: &[f64]) -> f64 {
        let a = x[0] * x[0] - 4.0;
        a * a / self.temperature
    }

    fn energy_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let a = x[0] * x[0] - 4.0;
        // d/dx (x² − 4)² = 4x(x² − 4).
        grad[0] = 4.0 * x[0] * a / self.temperature;
        a * a / self.temperature
    }
}

/// The 1-D double well as a catalog target: no closed-form Z and no exact sampler, so
/// quadrature gives the truth and the grid the reference samples.
pub struct QuarticWell1dTarget {
    well: QuarticWell1d,
    window: Window,
    modes: Vec<Vec<f64>>,
    quadrature: QuadratureSpec,
}

impl QuarticWell1dTarget {
    pub fn new(tau: f64) -> QuarticWell1dTarget {
        let well = QuarticWell1d::new(tau);
        let (r, q) = (
            well.half_width(DISPLAY_SIGMAS),
            well.half_width(QUADRATURE_SIGMAS),
        );
        let window = Window {
            lo: vec![-q],
            hi: vec![q],
        };
        QuarticWell1dTarget {
            window: Window {
                lo: vec![-r],
                hi: vec![r],
            },
            modes: vec![vec![-2.0], vec![2.0]],
            quadrature: QuadratureSpec {
                cells: cell_counts(&window, &[well.scale()]),
                window,
            },
            well,
        }
    }
}

impl TargetFamily for QuarticWell1dTarget {
    fn energy(&self) -> Arc<dyn Energy> {
        Arc::new(self.well.clone())
    }

    fn window(&self) -> &Window {
        &self.window
    }

    fn modes(&self) -> &[Vec<f64>] {
        &self.modes
    }

    fn quadrature(&self) -> &QuadratureSpec {
        &self.quadrature
    }
}
