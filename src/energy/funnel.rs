//! Neal's funnel (docs/methods.md §6): x₀ ~ N(0, 9), x_i ~ N(0, e^{x₀}) for i = 1..d−1,
//! normalised (log Z = 0), at τ = 1 only.

use std::sync::Arc;

use super::catalog::{ExactSampler, QuadratureSpec, TargetFamily};
use super::quadrature::{DensityGrid, GroundTruth, Marginal, DENSITY_GRID_CELLS, MARGINAL_BINS};
use super::{Energy, Window, DISPLAY_SIGMAS};
use crate::rng::Rng;

/// Variance of x₀.
const X0_VARIANCE: f64 = 9.0;

/// E(x) = x₀²/18 + ½log(18π) + Σ_{i≥1} [½x_i² e^{−x₀} + ½x₀ + ½log(2π)] = −log p(x).
#[derive(Clone, Debug)]
pub struct Funnel {
    pub dim: usize,
}

impl Funnel {
    /// d ≥ 2.
    pub fn new(dim: usize) -> Funnel {
        assert!(dim >= 2, "the funnel needs d ≥ 2");
        Funnel { dim }
    }

    /// Exact samples, row-major n×d: x₀ = 3z₀, x_i = e^{x₀/2} z_i.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        let mut out = Vec::with_capacity(n * self.dim);
        for _ in 0..n {
            let x0 = X0_VARIANCE.sqrt() * rng.normal();
            out.push(x0);
            let s = (0.5 * x0).exp();
            for _ in 1..self.dim {
                out.push(s * rng.normal());
            }
        }
        out
    }

    /// Exact mean (0) and covariance diag(9, e^{9/2}, …): Var x_i = E[e^{x₀}] = e^{9/2}
    /// (the log-normal mean), and every cross moment vanishes by the symmetry x_i → −x_i.
    pub fn moments(&self) -> (Vec<f64>, Vec<f64>) {
        let d = self.dim;
        let mut cov = vec![0.0; d * d];
        cov[0] = X0_VARIANCE;
        for i in 1..d {
            cov[i * d + i] = (0.5 * X0_VARIANCE).exp();
        }
        (vec![0.0; d], cov)
    }

    /// Marginal density of one x_i (i ≥ 1): p(t) = ∫ N(x₀; 0, 9) N(t; 0, e^{x₀}) dx₀, by the
    /// midpoint rule on x₀ ∈ [−45, 45] (±15 standard deviations) with 3000 cells: for
    /// t ≠ 0 the integrand is smooth on the scale of 1 in x₀ and vanishes at both ends.
    pub fn x1_marginal_density(t: f64) -> f64 {
        let (lo, hi, n) = (-45.0, 45.0, 3000);
        let h = (hi - lo) / n as f64;
        let log_norm = -0.5 * (2.0 * std::f64::consts::PI).ln();
        let mut sum = 0.0;
        for k in 0..n {
            let x0 = lo + (k as f64 + 0.5) * h;
            let log_p0 = log_norm - 0.5 * X0_VARIANCE.ln() - x0 * x0 / (2.0 * X0_VARIANCE);
            let log_p1 = log_norm - 0.5 * x0 - 0.5 * t * t * (-x0).exp();
            sum += (log_p0 + log_p1).exp();
        }
        sum * h
    }

    /// Ground truth of the displayed projection (x₀, x₁) over `display` (2-D): log Z = 0,
    /// the full-d moments in closed form, the exact marginals at the bin centres (x₀ a
    /// Gaussian, x₁ the 1-D integral above), and the exact log density of the 2-D funnel,
    /// which is the (x₀, x₁) marginal of the d-D one. No modes. (Grid quadrature would not
    /// do here: the neck at x₀ ≈ −9 is thinner than any affordable cell.)
    pub fn ground_truth(&self, display: &Window) -> GroundTruth {
        let (mean, cov) = self.moments();
        let bins = MARGINAL_BINS;
        let marginal = |axis: usize, p: &dyn Fn(f64) -> f64| {
            let (lo, hi) = (display.lo[axis], display.hi[axis]);
            let width = (hi - lo) / bins as f64;
            let mut density: Vec<f64> = (0..bins)
                .map(|b| p(lo + (b as f64 + 0.5) * width))
                .collect();
            let total: f64 = density.iter().sum::<f64>() * width;
            density.iter_mut().for_each(|v| *v /= total);
            Marginal {
                lo,
                hi,
                density,
                mean: 0.0,
                std: cov[axis * self.dim + axis].sqrt(),
            }
        };
        let x0_density = |t: f64| {
            (-t * t / (2.0 * X0_VARIANCE)).exp() / (2.0 * std::f64::consts::PI * X0_VARIANCE).sqrt()
        };
        let marginals = vec![
            marginal(0, &x0_density),
            marginal(1, &Funnel::x1_marginal_density),
        ];
        let plane = Funnel::new(2);
        let n = DENSITY_GRID_CELLS;
        let h = [0, 1].map(|a| (display.hi[a] - display.lo[a]) / n as f64);
        let mut log_density = Vec::with_capacity(n * n);
        for iy in 0..n {
            for ix in 0..n {
                let p = [
                    display.lo[0] + (ix as f64 + 0.5) * h[0],
                    display.lo[1] + (iy as f64 + 0.5) * h[1],
                ];
                log_density.push(-plane.energy(&p));
            }
        }
        GroundTruth {
            log_z: 0.0,
            mean,
            cov,
            marginals,
            mode_masses: Vec::new(),
            grid: DensityGrid {
                lo: display.lo.clone(),
                hi: display.hi.clone(),
                nx: n,
                ny: n,
                log_density,
            },
        }
    }
}

impl Energy for Funnel {
    fn dim(&self) -> usize {
        self.dim
    }

    fn energy(&self, x: &[f64]) -> f64 {
        let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let x0 = x[0];
        let inv_var = (-x0).exp();
        let tail: f64 = x[1..].iter().map(|v| v * v).sum::<f64>();
        x0 * x0 / (2.0 * X0_VARIANCE)
            + 0.5 * X0_VARIANCE.ln()
            + half_log_2pi
            + 0.5 * tail * inv_var
            + (self.dim - 1) as f64 * (0.5 * x0 + half_log_2pi)
    }

    /// ∂E/∂x₀ = x₀/9 + Σ_i (½ − ½x_i² e^{−x₀}), ∂E/∂x_i = x_i e^{−x₀}.
    fn energy_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let inv_var = (-x[0]).exp();
        let mut tail = 0.0;
        for i in 1..self.dim {
            tail += x[i] * x[i];
            grad[i] = x[i] * inv_var;
        }
        grad[0] = x[0] / X0_VARIANCE + 0.5 * (self.dim - 1) as f64 - 0.5 * tail * inv_var;
        self.energy(x)
    }
}

impl ExactSampler for Funnel {
    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        Funnel::sample(self, n, rng)
    }
}

/// The funnel as a catalog target ("funnel:D"), τ = 1 only: at τ ≠ 1 the x₀ marginal of
/// exp(−E/τ) drifts by 4.5(d − 1)(τ − 1) standard units and the target stops being a
/// funnel. Shows (x₀, x₁), or any (x₀, x_i): the x_i are exchangeable, so every such pair
/// is the same 2-D funnel and one ground truth judges them all.
pub struct FunnelTarget {
    funnel: Funnel,
    window: Window,
    quadrature: QuadratureSpec,
}

impl FunnelTarget {
    pub fn new(dim: usize, tau: f64) -> Result<FunnelTarget, String> {
        if tau != 1.0 {
            return Err(format!(
                "the funnel is defined at temperature 1 only, got {tau}"
            ));
        }
        // x₀: ±4.5 standard deviations; x₁ has heavy tails (std e^{9/4} ≈ 9.5 but most of
        // its mass near 0): ±20 holds about 98% of it.
        let window = Window {
            lo: vec![-DISPLAY_SIGMAS * X0_VARIANCE.sqrt(), -20.0],
            hi: vec![DISPLAY_SIGMAS * X0_VARIANCE.sqrt(), 20.0],
        };
        Ok(FunnelTarget {
            funnel: Funnel::new(dim),
            // Unused by the closed-form ground truth; the reference samples are exact.
            quadrature: QuadratureSpec {
                window: window.clone(),
                cells: vec![DENSITY_GRID_CELLS; 2],
            },
            window,
        })
    }
}

impl TargetFamily for FunnelTarget {
    fn energy(&self) -> Arc<dyn Energy> {
        Arc::new(self.funnel.clone())
    }

    fn window(&self) -> &Window {
        &self.window
    }

    /// A funnel has one mode smeared along its neck: no nearest-centre cells.
    fn modes(&self) -> &[Vec<f64>] {
        &[]
    }

    fn quadrature(&self) -> &QuadratureSpec {
        &self.quadrature
    }

    /// Normalised by construction.
    fn log_z(&self) -> Option<f64> {
        Some(0.0)
    }

    fn moments(&self) -> Option<(Vec<f64>, Vec<f64>)> {
        Some(self.funnel.moments())
    }

    fn moments_known(&self) -> bool {
        true
    }

    fn exact_sampler(&self) -> Option<&dyn ExactSampler> {
        Some(&self.funnel)
    }

    fn projections(&self) -> Vec<Vec<usize>> {
        (1..self.funnel.dim).map(|i| vec![0, i]).collect()
    }

    fn projection_rule(&self) -> Option<String> {
        let d = self.funnel.dim;
        Some(format!(
            "0,i with 1 ≤ i < {d} (every (x0, xi) is the same funnel)"
        ))
    }

    fn hint(&self) -> Option<String> {
        (self.funnel.dim > 2).then(|| "every (x0, xi) is the same 2-D funnel".to_string())
    }

    fn ground_truth(&self) -> GroundTruth {
        self.funnel.ground_truth(&self.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::tests::assert_gradient_matches;

    #[test]
    fn funnel_gradient_matches_finite_differences() {
        for d in [2, 3, 10] {
            let f = Funnel::new(d);
            let mut rng = Rng::new(d as u64);
            for _ in 0..20 {
                let x: Vec<f64> = (0..d).map(|_| 2.0 * rng.normal()).collect();
                assert_gradient_matches(&f, &x);
            }
            assert_gradient_matches(&f, &vec![0.0; d]);
        }
    }

    #[test]
    fn funnel_log_z_is_zero_by_quadrature_in_two_dimensions() {
        // ∫∫exp(−E)dx₁dx₀: the inner integral over x₁ on a grid scaled to the conditional
        // standard deviation e^{x₀/2} (±12 of them, 400 cells), so the neck is resolved; the
        // outer over x₀ ∈ [−36, 36] with 4000 cells.
        let f = Funnel::new(2);
        let (n0, n1) = (4000, 400);
        let h0 = 72.0 / n0 as f64;
        let mut z = 0.0;
        for i in 0..n0 {
            let x0 = -36.0 + (i as f64 + 0.5) * h0;
            let s = (0.5 * x0).exp();
            let h1 = 24.0 * s / n1 as f64;
            let inner: f64 = (0..n1)
                .map(|j| (-f.energy(&[x0, -12.0 * s + (j as f64 + 0.5) * h1])).exp())
                .sum();
            z += inner * h1 * h0;
        }
        assert!(z.ln().abs() < 1e-9, "log Z = {}", z.ln());
        // The x₁ marginal integrates to 1 (it is symmetric with heavy tails: integrate
        // in u = asinh(t) to reach |t| ~ 1e8).
        let n = 4000;
        let h = 2.0 * 19.0 / n as f64;
        let mass: f64 = (0..n)
            .map(|k| {
                let u = -19.0 + (k as f64 + 0.5) * h;
                Funnel::x1_marginal_density(u.sinh()) * u.cosh() * h
            })
            .sum();
        // The density has a cusp at t = 0 (from the neck), where the midpoint rule loses
        // ≈5e-5 of the mass at this resolution.
        assert!((mass - 1.0).abs() < 1e-4, "x₁ marginal mass {mass}");
    }

    #[test]
    fn funnel_exact_samples_match_moments() {
        let d = 10;
        let f = Funnel::new(d);
        let n = 200_000;
        let xs = f.sample(n, &mut Rng::new(17));
        let (_, cov) = f.moments();
        let x0: Vec<f64> = xs.chunks_exact(d).map(|x| x[0]).collect();
        let m0 = x0.iter().sum::<f64>() / n as f64;
        let v0 = x0.iter().map(|v| v * v).sum::<f64>() / n as f64;
        // se of the mean 3/sqrt(n) = 0.0067; of the variance 9·sqrt(2/n) = 0.028.
        assert!(m0.abs() < 0.03 && (v0 - 9.0).abs() < 0.12, "{m0} {v0}");
        // x_i given x₀ is N(0, e^{x₀}): x_i e^{−x₀/2} is standard normal, independent of x₀.
        let cells = 500;
        let hh = 2.0 / cells as f64;
        let exact: f64 = (0..cells)
            .map(|k| Funnel::x1_marginal_density(-1.0 + (k as f64 + 0.5) * hh) * hh)
            .sum();
        for i in [1, 5, 9] {
            let z: Vec<f64> = xs
                .chunks_exact(d)
                .map(|x| x[i] * (-0.5 * x[0]).exp())
                .collect();
            let m = z.iter().sum::<f64>() / n as f64;
            let v = z.iter().map(|v| v * v).sum::<f64>() / n as f64;
            assert!(
                m.abs() < 0.01 && (v - 1.0).abs() < 0.015,
                "axis {i}: {m} {v}"
            );
            // The fraction with |x_i| < 1 against the exact marginal's mass.
            let frac = xs.chunks_exact(d).filter(|x| x[i].abs() < 1.0).count() as f64 / n as f64;
            let se = (exact * (1.0 - exact) / n as f64).sqrt();
            assert!(
                (frac - exact).abs() < 4.0 * se,
                "axis {i}: {frac} vs {exact}"
            );
        }
        assert!((cov[d + 1] - 4.5f64.exp()).abs() < 1e-12);
    }

    #[test]
    fn funnel_projection_ground_truth_is_normalised() {
        let display = Window {
            lo: vec![-13.5, -20.0],
            hi: vec![13.5, 20.0],
        };
        let gt = Funnel::new(10).ground_truth(&display);
        assert_eq!(gt.mean.len(), 10);
        assert_eq!(gt.cov.len(), 100);
        for m in &gt.marginals {
            let width = (m.hi - m.lo) / m.density.len() as f64;
            assert!((m.density.iter().sum::<f64>() * width - 1.0).abs() < 1e-12);
        }
        assert!((gt.marginals[1].std - 2.25f64.exp()).abs() < 1e-12);
        // The displayed window holds most of the 2-D mass (the x₁ tails are heavy).
        let g = &gt.grid;
        let cell = 27.0 / g.nx as f64 * 40.0 / g.ny as f64;
        let mass: f64 = g.log_density.iter().map(|l| l.exp()).sum::<f64>() * cell;
        assert!(mass > 0.9 && mass < 1.0, "window mass {mass}");
        assert!(gt.mode_masses.is_empty());
    }

    #[test]
    fn funnel_family_shows_every_x0_xi_and_states_its_moments() {
        let t = FunnelTarget::new(5, 1.0).unwrap();
        assert_eq!(
            t.projections(),
            vec![vec![0, 1], vec![0, 2], vec![0, 3], vec![0, 4]]
        );
        assert!(t.projection_rule().unwrap().contains("1 ≤ i < 5"));
        let gt = t.ground_truth();
        assert_eq!(Some((gt.mean, gt.cov)), t.moments());
        assert_eq!((t.log_z(), gt.log_z), (Some(0.0), 0.0));
        assert!(t.moments_known() && t.modes().is_empty());
        // x₀ of the exact samples against the stated N(0, 9) (the x_i's tails are too
        // heavy for a moment test; funnel_exact_samples_match_moments checks them).
        let xs = t.exact_sampler().unwrap().sample(100_000, &mut Rng::new(8));
        let x0: Vec<f64> = xs.chunks_exact(5).map(|x| x[0]).collect();
        let (mean, cov) = t.moments().unwrap();
        crate::energy::tests::assert_moments_match(&x0, &mean[..1], &cov[..1], "x₀");
        let err = FunnelTarget::new(5, 2.0).err().unwrap();
        assert!(err.contains("temperature 1 only"), "{err}");
    }
}
