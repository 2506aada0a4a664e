//! Energies, the target catalog of docs/methods.md §6 and their ground truth.
//!
//! Conventions: points are `&[f64]` of length d; batches are row-major flat `&[f64]`
//! (n × d). An [`Energy`] has the temperature folded in: the target density is
//! ∝ exp(−E(x)), i.e. E = E_original/τ.
//!
//! A [`Target`] is one catalog entry or custom energy built at a temperature: it holds its
//! family's [`TargetFamily`] and answers everything through it. The named targets are the
//! rows of [`CATALOG`] below; [`catalog`] documents the trait's contract and how to add a
//! target (its module, and one row here).

// Small dense linear algebra reads best with explicit indices (a[i * d + j]).
#![allow(clippy::needless_range_loop)]

pub mod affine;
pub mod catalog;
pub mod counted;
pub mod formula;
pub mod funnel;
pub mod gmm;
pub mod manywell;
pub mod quadrature;
pub mod wells;

pub use affine::{Affine, Pulled};
pub use catalog::{Build, CatalogRow, ExactSampler, QuadratureSpec, Size, TargetFamily};
pub use counted::{Counted, EvalCounter};
pub use formula::{Formula, FormulaEnergy, FormulaError, FormulaSpec};
pub use quadrature::{DensityGrid, GroundTruth, Marginal};

use std::sync::Arc;

use crate::rng::Rng;
pub use funnel::Funnel;
pub use gmm::{Gmm, GMM40_HALF_WIDTH, GMM40_SEED};
pub use manywell::Manywell;

use catalog::mixture;
use funnel::FunnelTarget;
use manywell::ManywellTarget;
use wells::{DoubleWellTarget, HarmonicTarget, QuarticWell1dTarget};

/// Largest d accepted in "funnel:D" and "manywell:D".
pub const MAX_DIM: usize = 512;

/// The named targets, in the order the command line and the page list them: one row per
/// target, read by name parsing, the command line's list and the page's catalog (see
/// [`catalog`] for the family contract and how to add a target).
pub const CATALOG: &[CatalogRow] = &[
    CatalogRow {
        name: "seed-gmm",
        description:
            "two Gaussians 0.5·N([2,2], diag(2,3)) + 0.5·N([−4,−4], diag(1,2)), the seed's target",
        build: Build::Fixed(|tau| mixture(gmm::seed_gmm(tau))),
    },
    CatalogRow {
        name: "well",
        description: "harmonic well E = ½‖x‖², a standard normal at τ = 1",
        build: Build::Fixed(|tau| Ok(Box::new(HarmonicTarget::new(2, tau)))),
    },
    CatalogRow {
        name: "gmm9",
        description: "9 equal Gaussians of variance 0.3 at {−5, 0, 5}²",
        build: Build::Fixed(|tau| mixture(gmm::gmm9(tau))),
    },
    CatalogRow {
        name: "gmm25",
        description: "25 equal Gaussians of variance 0.3 at {−10, −5, 0, 5, 10}²",
        build: Build::Fixed(|tau| mixture(gmm::gmm25(tau))),
    },
    CatalogRow {
        name: "double-well",
        description:
            "E = x₁⁴ − 6x₁² − ½x₁ + ½x₂²: two wells, the right one holds 84% of the mass",
        build: Build::Fixed(|tau| Ok(Box::new(DoubleWellTarget::new(tau)))),
    },
    CatalogRow {
        name: "normal1d",
        description: "1-D standard normal N(0, 1), the DDPM original's target",
        build: Build::Fixed(|tau| Ok(Box::new(HarmonicTarget::new(1, tau)))),
    },
    CatalogRow {
        name: "gmm1d-demo",
        description: "1-D 0.5·N(−1, 0.7²) + 0.5·N(2, 0.4²), the ASBS showcase",
        build: Build::Fixed(|tau| {
            mixture(Gmm::mixture_1d(&[(0.5, -1.0, 0.7), (0.5, 2.0, 0.4)], tau))
        }),
    },
    CatalogRow {
        name: "gmm1d-unequal",
        description: "1-D 0.2·N(−2, 0.5²) + 0.8·N(2, 0.5²)",
        build: Build::Fixed(|tau| {
            mixture(Gmm::mixture_1d(&[(0.2, -2.0, 0.5), (0.8, 2.0, 0.5)], tau))
        }),
    },
    CatalogRow {
        name: "gmm1d-far",
        description: "1-D far modes 0.5·N(−4, 0.5²) + 0.5·N(4, 0.5²)",
        build: Build::Fixed(|tau| {
            mixture(Gmm::mixture_1d(&[(0.5, -4.0, 0.5), (0.5, 4.0, 0.5)], tau))
        }),
    },
    CatalogRow {
        name: "double-well1d",
        description: "1-D double well E = (x² − 4)²",
        build: Build::Fixed(|tau| Ok(Box::new(QuarticWell1dTarget::new(tau)))),
    },
    CatalogRow {
        name: "gmm40",
        description: "40 equal unit-variance Gaussians, means uniform in [−40, 40]² (fixed seed)",
        build: Build::Fixed(|tau| mixture(gmm::gmm40(tau))),
    },
    CatalogRow {
        name: "funnel",
        description:
            "Neal's funnel in d = 10, x₀ ~ N(0, 9), x_i ~ N(0, e^{x₀}); funnel:D for any 2 ≤ D ≤ 512; \
             shows (x₀, x₁)",
        build: Build::Sized(
            Size {
                default: 10,
                min: 2,
                max: MAX_DIM,
                even: None,
                // In d = 2 the picture is the whole target.
                listed: &[(2, "Neal's funnel in d = 2: x₀ ~ N(0, 9), x₁ ~ N(0, e^{x₀})")],
            },
            |d, tau| Ok(Box::new(FunnelTarget::new(d, tau)?)),
        ),
    },
    CatalogRow {
        name: "manywell",
        description:
            "Manywell in d = 32: 16 independent double wells; manywell:D for any even 2 ≤ D ≤ 512; \
             shows the first pair",
        build: Build::Sized(
            Size {
                default: 32,
                min: 2,
                max: MAX_DIM,
                even: Some("pairs of coordinates"),
                listed: &[],
            },
            |d, tau| Ok(Box::new(ManywellTarget::new(d, tau))),
        ),
    },
];

pub trait Energy: Send + Sync {
    fn dim(&self) -> usize;
    fn energy(&self, x: &[f64]) -> f64;
    /// Writes ∇E(x) into `grad` (len d) and returns E(x).
    fn energy_grad(&self, x: &[f64], grad: &mut [f64]) -> f64;

    /// E at every row of a row-major batch `xs` (n×d), into `out` (len n).
    fn energy_batch(&self, xs: &[f64], out: &mut [f64]) {
        let d = self.dim();
        for (x, e) in xs.chunks_exact(d).zip(out.iter_mut()) {
            *e = self.energy(x);
        }
    }

    /// E and ∇E at every row of `xs` (n×d): gradients into `grads` (n×d), energies into `out`.
    fn energy_grad_batch(&self, xs: &[f64], grads: &mut [f64], out: &mut [f64]) {
        let d = self.dim();
        for ((x, g), e) in xs
            .chunks_exact(d)
            .zip(grads.chunks_exact_mut(d))
            .zip(out.iter_mut())
        {
            *e = self.energy_grad(x, g);
        }
    }
}

/// What the user names: a catalog name or a custom mixture. JSON form of a custom one:
/// {"gmm": {"weights": [0.3, 0.7], "means": [[-3, 0], [3, 1]], "covs": [[[1,0],[0,1]], [[0.5,0],[0,2]]]}}
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum EnergySpec {
    Named(String),
    Custom(CustomEnergy),
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum CustomEnergy {
    Gmm(GmmSpec),
    /// {"formula": {"energy": "(x^2-4)^2 + 0.5*y^2", "window": [[-3, 3], [-3, 3]]}}: see
    /// [`formula`].
    Formula(FormulaSpec),
}

/// A user's Gaussian mixture. Weights need not sum to 1: they are normalised.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GmmSpec {
    pub weights: Vec<f64>,
    pub means: Vec<Vec<f64>>,
    pub covs: Vec<Vec<Vec<f64>>>,
}

impl EnergySpec {
    /// A catalog name ("seed-gmm", "well", "gmm9", "gmm25", "double-well", …, "funnel:D",
    /// "manywell:D") or JSON text (starts with '{'). Unknown names → Err listing the known
    /// ones; a bad D → Err naming it; bad JSON → Err with serde's message. Only the syntax is checked here; [`Target::new`] validates values.
    pub fn parse(text: &str) -> Result<EnergySpec, String> {
        let text = text.trim();
        if text.starts_with('{') {
            // Parsed as CustomEnergy rather than the untagged EnergySpec, whose error
            // would only say "did not match any variant".
            return serde_json::from_str::<CustomEnergy>(text)
                .map(EnergySpec::Custom)
                .map_err(|e| format!("invalid energy JSON: {e}"));
        }
        if catalog::lookup(text)?.is_some() {
            Ok(EnergySpec::Named(text.to_string()))
        } else {
            Err(catalog::unknown_name(text))
        }
    }

    /// Short display name: the catalog name, or "custom-gmm".
    pub fn name(&self) -> String {
        match self {
            EnergySpec::Named(n) => n.clone(),
            EnergySpec::Custom(CustomEnergy::Gmm(_)) => "custom-gmm".to_string(),
            EnergySpec::Custom(CustomEnergy::Formula(_)) => "formula".to_string(),
        }
    }
}

pub const MIN_TEMPERATURE: f64 = 1e-3;
pub const MAX_TEMPERATURE: f64 = 1e3;

/// An axis-aligned box.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

impl Window {
    /// The bounding box of this box's image under x ↦ A⁻¹(x − b) (sampler coordinates).
    pub fn to_sampler(&self, map: &Affine) -> Window {
        let d = self.lo.len();
        let mut lo = vec![f64::INFINITY; d];
        let mut hi = vec![f64::NEG_INFINITY; d];
        let mut y = vec![0.0; d];
        for corner in 0..(1usize << d) {
            let x: Vec<f64> = (0..d)
                .map(|i| {
                    if corner >> i & 1 == 0 {
                        self.lo[i]
                    } else {
                        self.hi[i]
                    }
                })
                .collect();
            map.to_sampler(&x, &mut y);
            for i in 0..d {
                lo[i] = lo[i].min(y[i]);
                hi[i] = hi[i].max(y[i]);
            }
        }
        Window { lo, hi }
    }
}

/// Half-widths of the display window in standard deviations of the widest component
/// (outside ±4.5σ lies 7e-6 of a Gaussian's mass per axis).
const DISPLAY_SIGMAS: f64 = 4.5;
/// Half-widths of the quadrature window: the neglected tail (≈1e-13) is far below the 1e-6
/// accuracy asked of log Z.
const QUADRATURE_SIGMAS: f64 = 7.5;
/// Quadrature cells are at most this many of the target's smallest length scales wide
/// (midpoint error ≈ 2·exp(−2π²/0.5²) for a Gaussian: negligible).
const CELL_IN_SCALES: f64 = 0.5;
/// Cells per axis of the 2-D quadrature grid: at least…
const QUADRATURE_CELLS_2D: usize = 512;
/// …and at most (a custom mixture with very disparate scales gets this many and a
/// correspondingly less accurate ground truth).
const QUADRATURE_MAX_CELLS_2D: usize = 2048;
const QUADRATURE_CELLS_1D: usize = 8192;
const QUADRATURE_MAX_CELLS_1D: usize = 1 << 18;

/// A target in its original coordinates, ready to be sampled and judged.
pub struct Target {
    pub spec: EnergySpec,
    pub temperature: f64,
    /// E/τ.
    pub energy: Arc<dyn Energy>,
    /// Mode centres in the displayed coordinates, for per-mode mass (nearest-centre cells
    /// of the projection [`Target::project`]). Manywell: the two wells of the displayed
    /// pair; Funnel: none.
    pub modes: Vec<Vec<f64>>,
    /// Plot window of the displayed coordinates, holding essentially all their mass (grows
    /// with sqrt(τ)). The display shows the first `window.lo.len()` = min(d, 2) axes: for
    /// d > 2 a 2-D projection (Funnel (x₀, x₁), Manywell the first pair).
    pub window: Window,
    /// Closed form where known, else None (quadrature gives it).
    pub log_z: Option<f64>,
    quadrature: QuadratureSpec,
    family: Box<dyn TargetFamily>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("spec", &self.spec)
            .field("temperature", &self.temperature)
            .field("modes", &self.modes)
            .field("window", &self.window)
            .field("log_z", &self.log_z)
            .field("quadrature_window", &self.quadrature.window)
            .field("quadrature_cells", &self.quadrature.cells)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// Validates everything and builds the target E/τ.
    ///
    /// τ must be positive and finite. A custom GMM needs ≥ 1 component and equally many
    /// weights, means and covariances; weights finite and > 0 (they are normalised to sum
    /// 1; zero or negative is an error); every mean of the same dimension d ∈ {1, 2} and
    /// every covariance d×d, symmetric (to 1e-9 of its largest entry) and positive definite;
    /// all numbers finite. Errors name the component (0-based, as in the JSON arrays) and
    /// the problem, e.g. "component 2: covariance is not positive definite".
    pub fn new(spec: &EnergySpec, temperature: f64) -> Result<Target, String> {
        // Beyond this range the quadrature grid cannot resolve the density (τ → 0) or the
        // plot window stops meaning anything (τ → ∞).
        if !(temperature.is_finite() && (MIN_TEMPERATURE..=MAX_TEMPERATURE).contains(&temperature))
        {
            return Err(format!(
                "temperature must be between {MIN_TEMPERATURE} and {MAX_TEMPERATURE}, got {temperature}"
            ));
        }
        let family = catalog::build(spec, temperature)?;
        Ok(Target {
            spec: spec.clone(),
            temperature,
            energy: family.energy(),
            modes: family.modes().to_vec(),
            window: family.window().clone(),
            log_z: family.log_z(),
            quadrature: family.quadrature().clone(),
            family,
        })
    }

    pub fn dim(&self) -> usize {
        self.energy.dim()
    }

    /// Dimension of the display: min(d, 2).
    pub fn display_dim(&self) -> usize {
        self.window.lo.len()
    }

    /// The displayed coordinates (the first [`Target::display_dim`]) of every row of `xs`
    /// (n × d) as n × display_dim; a copy when d ≤ 2.
    pub fn project(&self, xs: &[f64]) -> Vec<f64> {
        let (d, k) = (self.dim(), self.display_dim());
        if d == k {
            return xs.to_vec();
        }
        xs.chunks_exact(d)
            .flat_map(|x| x[..k].iter().copied())
            .collect()
    }

    /// The displayed axes that may be shown ([`TargetFamily::projections`]), the default
    /// (the first min(d, 2) axes) first: for d > 2 those whose ground truth (density grid,
    /// marginals, modes) is the first pair's, so the same truth judges them.
    pub fn projections(&self) -> Vec<Vec<usize>> {
        self.family.projections()
    }

    /// One line for the page beside the picture ([`TargetFamily::hint`]).
    pub fn hint(&self) -> Option<String> {
        self.family.hint()
    }

    /// Ok when `axes` is one of [`Target::projections`], else a message naming the allowed
    /// ones.
    pub fn check_display_axes(&self, axes: &[usize]) -> Result<(), String> {
        let d = self.dim();
        let default: Vec<usize> = (0..self.display_dim()).collect();
        if axes == default.as_slice() || self.family.projections().iter().any(|p| p == axes) {
            return Ok(());
        }
        let shown = |a: &[usize]| {
            a.iter()
                .map(|i| format!("x{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let choices = self
            .family
            .projection_rule()
            .unwrap_or_else(|| format!("only {} (d = {d})", shown(&default)));
        Err(format!(
            "axes: cannot show ({}) of {}; allowed: {choices}",
            shown(axes),
            self.spec.name()
        ))
    }

    /// Whether the ground truth's mean and covariance are exact (closed form or quadrature)
    /// in every dimension: needed to whiten (Run) when d > 2.
    pub fn moments_known(&self) -> bool {
        self.family.moments_known()
    }

    /// Mean and covariance in closed form, where known ([`TargetFamily::moments`]).
    pub fn moments(&self) -> Option<(Vec<f64>, Vec<f64>)> {
        self.family.moments()
    }

    /// The target as a Gaussian mixture, where it is one at τ = 1 (the DDPM oracle needs
    /// the components).
    pub fn as_mixture(&self) -> Option<Arc<Gmm>> {
        self.family.as_mixture()
    }

    /// Whether [`Target::exact_samples`] returns Some.
    pub fn has_exact_sampler(&self) -> bool {
        self.family.exact_sampler().is_some()
    }

    /// The window and cells per axis the quadrature uses (wider than `window`).
    pub fn quadrature_grid(&self) -> (&Window, &[usize]) {
        (&self.quadrature.window, &self.quadrature.cells)
    }

    /// n exact samples (row-major n×d) where an exact sampler exists: mixtures at τ = 1,
    /// the harmonic well at any τ, the double well and Manywell at any τ (x₂ ~ N(0, τ), x₁
    /// by rejection, per pair), the funnel — else None.
    pub fn exact_samples(&self, n: usize, rng: &mut Rng) -> Option<Vec<f64>> {
        self.family.exact_sampler().map(|s| s.sample(n, rng))
    }

    /// Samples from the quadrature grid (piecewise-constant density, uniform jitter within
    /// the cell) as a fallback ground truth when no exact sampler exists. Approximate: the
    /// density is flattened within each cell (cells are ≤ ½ of the smallest length scale)
    /// and the tail beyond the quadrature window (≈1e-13 of the mass) is dropped.
    /// Recomputes the grid on every call. d ≤ 2 only (every d > 2 target has an exact
    /// sampler; this panics otherwise).
    pub fn reference_samples(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        if self.dim() > 2 {
            return self
                .exact_samples(n, rng)
                .expect("every d > 2 target has an exact sampler");
        }
        quadrature::grid_samples(
            &*self.energy,
            &self.quadrature.window,
            &self.quadrature.cells,
            n,
            rng,
        )
    }

    /// Ground truth ([`TargetFamily::ground_truth`]): by grid quadrature for d = 1 or 2.
    /// For d > 2 the mean and covariance are in all d coordinates and exact, log Z is the
    /// closed form, and the marginals, density grid and mode masses are those of the
    /// displayed projection. Deterministic; cache-free (the caller caches).
    pub fn ground_truth(&self) -> GroundTruth {
        self.family.ground_truth()
    }
}

/// Cells per axis: fine enough for the smallest length scale on that axis, within limits.
fn cell_counts(window: &Window, scales: &[f64]) -> Vec<usize> {
    let d = window.lo.len();
    let (min, max) = if d == 1 {
        (QUADRATURE_CELLS_1D, QUADRATURE_MAX_CELLS_1D)
    } else {
        (QUADRATURE_CELLS_2D, QUADRATURE_MAX_CELLS_2D)
    };
    (0..d)
        .map(|i| {
            let wanted = (window.hi[i] - window.lo[i]) / (CELL_IN_SCALES * scales[i]);
            (wanted.ceil() as usize).clamp(min, max)
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::wells::DoubleWell;
    use super::*;

    /// Checks `energy_grad` against central finite differences (relative 1e-6) and that its
    /// returned value is `energy(x)`.
    pub(crate) fn assert_gradient_matches(energy: &dyn Energy, x: &[f64]) {
        let d = energy.dim();
        let mut grad = vec![0.0; d];
        let e = energy.energy_grad(x, &mut grad);
        let e_direct = energy.energy(x);
        assert!(
            (e - e_direct).abs() <= 1e-12 * (1.0 + e.abs()),
            "energy_grad returned {e}, energy gives {e_direct} at {x:?}"
        );
        for i in 0..d {
            let h = 1e-5 * x[i].abs().max(1.0);
            let mut xp = x.to_vec();
            let mut xm = x.to_vec();
            xp[i] += h;
            xm[i] -= h;
            let fd = (energy.energy(&xp) - energy.energy(&xm)) / (2.0 * h);
            assert!(
                (fd - grad[i]).abs() <= 1e-6 * (1.0 + grad[i].abs()),
                "∂E/∂x{i} at {x:?}: analytic {} vs finite difference {fd}",
                grad[i]
            );
        }
    }

    pub(crate) fn target(name: &str, tau: f64) -> Target {
        Target::new(&EnergySpec::parse(name).unwrap(), tau).unwrap()
    }

    const CUSTOM_JSON: &str = r#"{"gmm": {"weights": [0.6, 1.4, 1.0],
        "means": [[-3, 0], [3, 1], [0.5, -4]],
        "covs": [[[1, 0.7], [0.7, 1.2]], [[0.5, -0.2], [-0.2, 2]], [[0.3, 0.1], [0.1, 0.25]]]}}"#;

    #[test]
    fn every_target_gradient_matches_finite_differences() {
        let points: [[f64; 2]; 7] = [
            [0.0, 0.0],
            [2.0, 2.0],
            [-4.1, -3.7],
            [1.7, 0.1],
            [4.9, -5.2],
            [-25.0, 18.0],
            [60.0, 70.0],
        ];
        for name in [
            "seed-gmm",
            "well",
            "gmm9",
            "gmm25",
            "double-well",
            CUSTOM_JSON,
        ] {
            for tau in [1.0, 2.5] {
                let t = target(name, tau);
                for x in points {
                    assert_gradient_matches(&*t.energy, &x);
                }
            }
        }
    }

    #[test]
    fn quadrature_log_z_matches_closed_forms() {
        let cases: [(&str, f64, f64); 7] = [
            ("seed-gmm", 1.0, 0.0),
            ("gmm9", 1.0, 0.0),
            ("gmm25", 1.0, 0.0),
            ("well", 1.0, (2.0 * std::f64::consts::PI).ln()),
            ("well", 2.5, (2.0 * std::f64::consts::PI * 2.5).ln()),
            ("double-well", 1.0, 10.29348),
            (CUSTOM_JSON, 1.0, 0.0),
        ];
        for (name, tau, expected) in cases {
            let t = target(name, tau);
            let gt = t.ground_truth();
            // The published double-well value has 5 decimals; the rest are closed forms.
            let tol = if name == "double-well" { 1e-5 } else { 1e-6 };
            assert!(
                (gt.log_z - expected).abs() < tol,
                "{name} τ={tau}: quadrature {} vs {expected}",
                gt.log_z
            );
            if let Some(closed) = t.log_z {
                assert!(
                    (gt.log_z - closed).abs() < 1e-6,
                    "{name}: {} vs {closed}",
                    gt.log_z
                );
            }
            assert!((gt.mode_masses.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // Double well at τ ≠ 1: quadrature agrees with the separable 1-D integral.
        let hot = target("double-well", 2.0);
        assert!(hot.log_z.is_none());
        assert!((hot.ground_truth().log_z - DoubleWell::new(2.0).log_z()).abs() < 1e-6);
    }

    #[test]
    fn double_well_mode_masses_and_gmm9_equal_masses() {
        let t = target("double-well", 1.0);
        let gt = t.ground_truth();
        // modes are (left, right).
        assert!(t.modes[1][0] > 0.0 && t.modes[0][0] < 0.0);
        assert!(
            (gt.mode_masses[1] - 0.844).abs() < 1e-3,
            "{:?}",
            gt.mode_masses
        );
        let gt9 = target("gmm9", 1.0).ground_truth();
        assert_eq!(gt9.mode_masses.len(), 9);
        for m in &gt9.mode_masses {
            // Equal up to the ~1e-7 that crosses cell borders unevenly (corner vs centre modes).
            assert!((m - 1.0 / 9.0).abs() < 1e-6, "{:?}", gt9.mode_masses);
        }
        let gt25 = target("gmm25", 1.0).ground_truth();
        assert!(gt25.mode_masses.iter().all(|m| (m - 0.04).abs() < 1e-6));
    }

    #[test]
    fn windows_hold_the_mass_and_grow_with_temperature() {
        for name in ["seed-gmm", "well", "gmm25", "double-well", CUSTOM_JSON] {
            let cold = target(name, 1.0);
            let hot = target(name, 4.0);
            for i in 0..2 {
                assert!(
                    hot.window.hi[i] - hot.window.lo[i] > cold.window.hi[i] - cold.window.lo[i]
                );
            }
            for t in [cold, hot] {
                let gt = t.ground_truth();
                let g = &gt.grid;
                let cell = (g.hi[0] - g.lo[0]) / g.nx as f64 * (g.hi[1] - g.lo[1]) / g.ny as f64;
                let mass: f64 = g.log_density.iter().map(|l| l.exp()).sum::<f64>() * cell;
                assert!(
                    (mass - 1.0).abs() < 2e-3,
                    "{name} τ={}: window mass {mass}",
                    t.temperature
                );
            }
        }
        let w = target("well", 4.0);
        assert!((w.window.hi[0] - 2.0 * target("well", 1.0).window.hi[0]).abs() < 1e-12);
    }

    /// Per-entry mean and covariance of samples, with standard errors estimated from the
    /// samples themselves.
    pub(crate) fn sample_moments(xs: &[f64], d: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let n = (xs.len() / d) as f64;
        let mean: Vec<f64> = (0..d)
            .map(|i| xs.chunks_exact(d).map(|x| x[i]).sum::<f64>() / n)
            .collect();
        let mut cov = vec![0.0; d * d];
        let mut cov_se = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                let z: Vec<f64> = xs
                    .chunks_exact(d)
                    .map(|x| (x[i] - mean[i]) * (x[j] - mean[j]))
                    .collect();
                let m = z.iter().sum::<f64>() / n;
                let v = z.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / n;
                cov[i * d + j] = m;
                cov_se[i * d + j] = (v / n).sqrt();
            }
        }
        let mean_se = (0..d).map(|i| (cov[i * d + i] / n).sqrt()).collect();
        (mean, mean_se, cov, cov_se)
    }

    pub(crate) fn assert_samples_match(xs: &[f64], gt: &GroundTruth, what: &str) {
        assert_moments_match(xs, &gt.mean, &gt.cov, what);
    }

    /// Sample mean and covariance within 4 of their estimated standard errors of `want`.
    pub(crate) fn assert_moments_match(
        xs: &[f64],
        want_mean: &[f64],
        want_cov: &[f64],
        what: &str,
    ) {
        let d = want_mean.len();
        let (mean, mean_se, cov, cov_se) = sample_moments(xs, d);
        for i in 0..d {
            assert!(
                (mean[i] - want_mean[i]).abs() < 4.0 * mean_se[i],
                "{what}: mean[{i}] {} vs {} (se {})",
                mean[i],
                want_mean[i],
                mean_se[i]
            );
        }
        for k in 0..d * d {
            assert!(
                (cov[k] - want_cov[k]).abs() < 4.0 * cov_se[k],
                "{what}: cov[{k}] {} vs {} (se {})",
                cov[k],
                want_cov[k],
                cov_se[k]
            );
        }
    }

    #[test]
    fn exact_samplers_match_ground_truth_moments() {
        let n = 100_000;
        let mut rng = Rng::new(11);
        for (name, tau) in [
            ("seed-gmm", 1.0),
            ("gmm9", 1.0),
            ("gmm25", 1.0),
            ("well", 1.0),
            ("well", 2.5),
            ("double-well", 1.0),
            ("double-well", 0.5),
            ("double-well", 3.0),
            (CUSTOM_JSON, 1.0),
        ] {
            let t = target(name, tau);
            assert!(t.has_exact_sampler());
            let xs = t.exact_samples(n, &mut rng).unwrap();
            assert_eq!(xs.len(), n * 2);
            let gt = t.ground_truth();
            assert_samples_match(&xs, &gt, &format!("{name} τ={tau}"));
            // Per-mode mass by nearest centre, within 4 binomial standard errors.
            for (k, &m) in gt.mode_masses.iter().enumerate() {
                let count = xs
                    .chunks_exact(2)
                    .filter(|x| {
                        let d2 = |c: &Vec<f64>| (x[0] - c[0]).powi(2) + (x[1] - c[1]).powi(2);
                        t.modes.iter().all(|c| d2(&t.modes[k]) <= d2(c))
                    })
                    .count();
                let frac = count as f64 / n as f64;
                let se = (m * (1.0 - m) / n as f64).sqrt();
                assert!(
                    (frac - m).abs() < 4.0 * se + 1e-9,
                    "{name} τ={tau} mode {k}: {frac} vs {m}"
                );
            }
        }
        // Mixtures have no exact sampler away from τ = 1.
        assert!(target("gmm9", 2.0).exact_samples(10, &mut rng).is_none());
    }

    #[test]
    fn reference_samples_match_ground_truth_moments() {
        let mut rng = Rng::new(5);
        for (name, tau) in [("seed-gmm", 2.0), ("gmm9", 0.7)] {
            let t = target(name, tau);
            assert!(!t.has_exact_sampler() && t.log_z.is_none());
            let xs = t.reference_samples(100_000, &mut rng);
            assert_samples_match(&xs, &t.ground_truth(), &format!("{name} τ={tau} grid"));
        }
    }

    #[test]
    fn whitened_seed_gmm_is_standardised_and_log_z_transforms() {
        let t = target("seed-gmm", 1.0);
        let gt = t.ground_truth();
        let map = Affine::whitening(&gt.mean, &gt.cov);
        let pulled = Pulled::new(t.energy.clone(), map.clone());
        let (qwin, _) = t.quadrature_grid();
        let display = t.window.to_sampler(&map);
        let quad = qwin.to_sampler(&map);
        let modes_y: Vec<Vec<f64>> = t
            .modes
            .iter()
            .map(|m| {
                let mut y = vec![0.0; 2];
                map.to_sampler(m, &mut y);
                y
            })
            .collect();
        let gty = quadrature::ground_truth(&pulled, &display, &quad, &[1024, 1024], &modes_y);
        for i in 0..2 {
            assert!(gty.mean[i].abs() < 1e-6, "whitened mean {:?}", gty.mean);
        }
        let identity = [1.0, 0.0, 0.0, 1.0];
        for k in 0..4 {
            assert!(
                (gty.cov[k] - identity[k]).abs() < 1e-6,
                "whitened cov {:?}",
                gty.cov
            );
        }
        // Exact samples mapped to sampler coordinates are standardised too.
        let n = 100_000;
        let xs = t.exact_samples(n, &mut Rng::new(9)).unwrap();
        let mut ys = vec![0.0; xs.len()];
        map.to_sampler_batch(&xs, &mut ys);
        assert_samples_match(&ys, &gty, "whitened samples");
    }

    #[test]
    fn one_dimensional_catalog_targets() {
        for name in [
            "normal1d",
            "gmm1d-demo",
            "gmm1d-unequal",
            "gmm1d-far",
            "double-well1d",
        ] {
            let t = target(name, 1.0);
            for x in [-4.3, -2.0, -0.7, 0.0, 0.4, 1.9, 5.0] {
                assert_gradient_matches(&*t.energy, &[x]);
            }
            let gt = t.ground_truth();
            if name == "double-well1d" {
                // Z = ∫exp(−(x² − 4)²)dx by Simpson's rule on [−4, 4], independent of the grid.
                let (n, h) = (40_000, 8.0 / 40_000.0);
                let f = |x: f64| (-(x * x - 4.0).powi(2)).exp();
                let mut z = f(-4.0) + f(4.0);
                for i in 1..n {
                    z += if i % 2 == 1 { 4.0 } else { 2.0 } * f(-4.0 + i as f64 * h);
                }
                let z = z * h / 3.0;
                assert!(
                    (gt.log_z - z.ln()).abs() < 1e-6,
                    "{} vs {}",
                    gt.log_z,
                    z.ln()
                );
                // Symmetric wells hold half the mass each.
                assert!(
                    (gt.mode_masses[0] - 0.5).abs() < 1e-6,
                    "{:?}",
                    gt.mode_masses
                );
            } else {
                // Normalised mixtures: 0; the standard normal's energy ½x²: ½log 2π.
                let want = t.log_z.unwrap();
                assert!((gt.log_z - want).abs() < 1e-6, "{name}: {}", gt.log_z);
            }
        }
        let unequal = target("gmm1d-unequal", 1.0).ground_truth();
        // Modes 4 standard deviations apart split at 0: 0.2·Φ(4) + 0.8·Φ(−4) ≈ 0.2000.
        assert!((unequal.mode_masses[0] - 0.2).abs() < 1e-4);
        let far = target("gmm1d-far", 1.0).ground_truth();
        assert!((far.cov[0] - (16.0 + 0.25)).abs() < 1e-6, "{:?}", far.cov);
    }

    #[test]
    fn parse_names_json_and_display_names() {
        for row in CATALOG {
            let name = row.name;
            let spec = EnergySpec::parse(name).unwrap();
            assert_eq!(spec.name(), name);
            let d = match name {
                "funnel" => 10,
                "manywell" => 32,
                n if n.contains("1d") => 1,
                _ => 2,
            };
            assert_eq!(Target::new(&spec, 1.0).unwrap().dim(), d, "{name}");
        }
        let spec = EnergySpec::parse(
            r#" {"gmm": {"weights": [0.3, 0.7], "means": [[-3, 0], [3, 1]], "covs": [[[1, 0], [0, 1]], [[0.5, 0], [0, 2]]]}} "#,
        )
        .unwrap();
        assert_eq!(spec.name(), "custom-gmm");
        // The serde form round-trips (the config and URL hash carry it).
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<EnergySpec>(&json).unwrap(), spec);
        let named: EnergySpec = serde_json::from_str("\"gmm25\"").unwrap();
        assert_eq!(named, EnergySpec::Named("gmm25".into()));
    }

    fn custom_error(weights: &str, means: &str, covs: &str) -> String {
        let json =
            format!(r#"{{"gmm": {{"weights": {weights}, "means": {means}, "covs": {covs}}}}}"#);
        let spec = EnergySpec::parse(&json).unwrap();
        Target::new(&spec, 1.0).unwrap_err()
    }

    #[test]
    fn invalid_input_is_rejected_with_a_message_naming_the_problem() {
        let id = "[[1, 0], [0, 1]]";
        let two_ids = format!("[{id}, {id}]");
        let means = "[[0, 0], [1, 1]]";
        let cases: Vec<(String, &str)> = vec![
            (
                custom_error("[0.5, 0]", means, &two_ids),
                "component 1: weight 0 is not positive",
            ),
            (
                custom_error("[-0.5, 1]", means, &two_ids),
                "component 0: weight -0.5 is not positive",
            ),
            (
                custom_error("[1, 1]", means, &format!("[{id}, [[1, 2], [2, 1]]]")),
                "component 1: covariance is not positive definite",
            ),
            (
                custom_error("[1, 1]", means, &format!("[{id}, [[1, 0.5], [0.4, 1]]]")),
                "component 1: covariance is not symmetric",
            ),
            (
                custom_error("[1, 1]", "[[0, 0], [1]]", &two_ids),
                "component 1: mean has dimension 1 but component 0 has dimension 2",
            ),
            (
                custom_error("[1, 1]", means, &format!("[{id}, [[1]]]")),
                "component 1: covariance must be 2×2",
            ),
            (
                custom_error("[1, 1]", means, &format!("[{id}, [[1, 0], [0, 1, 0]]]")),
                "component 1: covariance row 1 has 3 entries, expected 2",
            ),
            (
                custom_error("[1]", "[[0, 0, 0]]", "[[[1, 0, 0], [0, 1, 0], [0, 0, 1]]]"),
                "custom mixtures must be 1-D or 2-D",
            ),
            (
                custom_error("[1, 1, 1]", means, &two_ids),
                "3 weights but 2 means",
            ),
            (
                custom_error("[1, 1]", means, &format!("[{id}]")),
                "2 weights but 1 covariances",
            ),
            (custom_error("[]", "[]", "[]"), "no components"),
        ];
        for (err, expected) in &cases {
            assert!(
                err.contains(expected),
                "error {err:?} should contain {expected:?}"
            );
        }
        // Non-finite numbers cannot be written in JSON; they can reach the struct directly.
        let nan_spec = |weights: Vec<f64>, mean: Vec<f64>, cov: Vec<Vec<f64>>| {
            EnergySpec::Custom(CustomEnergy::Gmm(GmmSpec {
                weights,
                means: vec![mean],
                covs: vec![cov],
            }))
        };
        let ok_cov = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let non_finite = [
            (
                nan_spec(vec![f64::NAN], vec![0.0, 0.0], ok_cov.clone()),
                "component 0: weight NaN is not a finite number",
            ),
            (
                nan_spec(vec![f64::INFINITY], vec![0.0, 0.0], ok_cov.clone()),
                "component 0: weight inf is not a finite number",
            ),
            (
                nan_spec(vec![1.0], vec![f64::NAN, 0.0], ok_cov.clone()),
                "component 0: mean contains a non-finite number",
            ),
            (
                nan_spec(
                    vec![1.0],
                    vec![0.0, 0.0],
                    vec![vec![1.0, 0.0], vec![0.0, f64::INFINITY]],
                ),
                "component 0: covariance contains a non-finite number",
            ),
        ];
        for (spec, expected) in &non_finite {
            let err = Target::new(spec, 1.0).unwrap_err();
            assert!(
                err.contains(expected),
                "error {err:?} should contain {expected:?}"
            );
        }
        // Temperature.
        for tau in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-30, 1e30] {
            let err = Target::new(&EnergySpec::Named("well".into()), tau).unwrap_err();
            assert!(err.contains("temperature must be between"), "{err}");
        }
        for tau in [MIN_TEMPERATURE, MAX_TEMPERATURE] {
            for name in ["seed-gmm", "gmm25", "double-well"] {
                let t = Target::new(&EnergySpec::Named(name.into()), tau).unwrap();
                assert!(t.ground_truth().log_z.is_finite(), "{name} at τ = {tau}");
            }
        }
        // Names and JSON syntax.
        let err = EnergySpec::parse("gmm41").unwrap_err();
        assert!(
            err.contains("unknown energy \"gmm41\"")
                && err.contains("seed-gmm, well, gmm9, gmm25, double-well"),
            "{err}"
        );
        let err = Target::new(&EnergySpec::Named("nope".into()), 1.0).unwrap_err();
        assert!(err.contains("unknown energy \"nope\""), "{err}");
        let err = EnergySpec::parse(r#"{"gmm": {"weights": [1], "means": [[0, 0]]"#).unwrap_err();
        assert!(
            err.starts_with("invalid energy JSON: EOF while parsing"),
            "{err}"
        );
        let err = EnergySpec::parse(r#"{"gmm": {"weights": [1], "means": [[0, 0]], "covs": [[[1, 0], [0, 1]]], "extra": 1}}"#)
            .unwrap_err();
        assert!(err.contains("unknown field `extra`"), "{err}");
        let err = EnergySpec::parse(r#"{"funnel": {}}"#).unwrap_err();
        assert!(err.contains("unknown variant `funnel`"), "{err}");
        let err = EnergySpec::parse(r#"{"gmm": {"weights": [1], "means": [[0, 0]]}}"#).unwrap_err();
        assert!(err.contains("missing field `covs`"), "{err}");
    }

    #[test]
    fn ground_truth_is_fast_enough() {
        // Budget: well under 0.2 s natively per 2-D target (it also runs in the browser).
        for name in ["gmm25", "seed-gmm", "double-well"] {
            let t = target(name, 1.0);
            let start = std::time::Instant::now();
            let gt = t.ground_truth();
            let secs = start.elapsed().as_secs_f64();
            assert!(gt.log_z.is_finite());
            // Generous bound: tests run in parallel on a shared machine. The real figure
            // (single-threaded, idle machine) is printed with --nocapture.
            eprintln!("{name}: ground truth in {secs:.3} s");
            assert!(secs < 1.0, "{name}: ground truth took {secs:.3} s");
        }
    }

    #[test]
    fn high_dimensional_ground_truth_matches_exact_samples() {
        let mut rng = Rng::new(77);
        for name in ["manywell:6", "funnel:5"] {
            let t = target(name, 1.0);
            let d = t.dim();
            let gt = t.ground_truth();
            assert_eq!((gt.mean.len(), gt.cov.len()), (d, d * d));
            assert_eq!(gt.marginals.len(), 2);
            assert!(t.moments_known());
            let xs = t.exact_samples(100_000, &mut rng).unwrap();
            if name.starts_with("funnel") {
                // The x_i have heavy tails (kurtosis ≈ 3e^{9}·…): check x₀ and the
                // zero cross moments only; the variances are tested in funnel.rs.
                let (mean, mean_se, cov, cov_se) = sample_moments(&xs, d);
                assert!((mean[0] - gt.mean[0]).abs() < 4.0 * mean_se[0]);
                assert!((cov[0] - 9.0).abs() < 4.0 * cov_se[0], "{}", cov[0]);
                assert!(cov[1].abs() < 4.0 * cov_se[1] && cov[d + 2].abs() < 4.0 * cov_se[d + 2]);
            } else {
                assert_samples_match(&xs, &gt, name);
                // Mode masses of the displayed pair, by nearest centre on the projection.
                let shown = t.project(&xs);
                assert_eq!(shown.len(), 200_000);
                let masses = crate::metrics::modes::mode_masses(&shown, 2, &t.modes);
                for k in 0..2 {
                    let m = gt.mode_masses[k];
                    let se = (m * (1.0 - m) / 100_000.0).sqrt();
                    assert!((masses[k] - m).abs() < 4.0 * se, "{masses:?} vs {m}");
                }
            }
            // Marginal means and stds of the displayed axes agree with the full moments.
            for a in 0..2 {
                assert!((gt.marginals[a].mean - gt.mean[a]).abs() < 1e-9);
                assert!((gt.marginals[a].std - gt.cov[a * d + a].sqrt()).abs() < 1e-9);
            }
        }
        let mw = target("manywell", 1.0);
        let gt = mw.ground_truth();
        assert!((gt.log_z - 164.6957).abs() < 1e-4, "{}", gt.log_z);
        assert_eq!(mw.log_z, Some(gt.log_z));
        assert!((gt.mode_masses[1] - 0.844).abs() < 1e-3);
        // Hot Manywell: log Z scales with the pairs at any τ.
        let hot = target("manywell:4", 2.0);
        assert!((hot.log_z.unwrap() - 2.0 * DoubleWell::new(2.0).log_z()).abs() < 1e-12);
    }
}
