//! Energies, the target catalog of docs/methods.md §6 and their ground truth.
//!
//! Conventions: points are `&[f64]` of length d; batches are row-major flat `&[f64]`
//! (n × d). An [`Energy`] has the temperature folded in: the target density is
//! ∝ exp(−E(x)), i.e. E = E_original/τ.

// Small dense linear algebra reads best with explicit indices (a[i * d + j]).
#![allow(clippy::needless_range_loop)]

pub mod affine;
pub mod formula;
pub mod funnel;
pub mod gmm;
pub mod manywell;
pub mod quadrature;
pub mod wells;

pub use affine::{Affine, Pulled};
pub use formula::{Formula, FormulaEnergy, FormulaError, FormulaSpec};
pub use quadrature::{DensityGrid, GroundTruth, Marginal};

use std::sync::Arc;

use crate::rng::Rng;
pub use funnel::Funnel;
pub use gmm::Gmm;
pub use manywell::Manywell;
use wells::{DoubleWell, HarmonicWell, QuarticWell1d};

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

/// (name, one-line description) of the catalog targets (docs/methods.md §6).
pub const CATALOG: &[(&str, &str)] = &[
    (
        "seed-gmm",
        "two Gaussians 0.5·N([2,2], diag(2,3)) + 0.5·N([−4,−4], diag(1,2)), the seed's target",
    ),
    (
        "well",
        "harmonic well E = ½‖x‖², a standard normal at τ = 1",
    ),
    ("gmm9", "9 equal Gaussians of variance 0.3 at {−5, 0, 5}²"),
    (
        "gmm25",
        "25 equal Gaussians of variance 0.3 at {−10, −5, 0, 5, 10}²",
    ),
    (
        "double-well",
        "E = x₁⁴ − 6x₁² − ½x₁ + ½x₂²: two wells, the right one holds 84% of the mass",
    ),
    (
        "normal1d",
        "1-D standard normal N(0, 1), the DDPM original's target",
    ),
    (
        "gmm1d-demo",
        "1-D 0.5·N(−1, 0.7²) + 0.5·N(2, 0.4²), the ASBS showcase",
    ),
    ("gmm1d-unequal", "1-D 0.2·N(−2, 0.5²) + 0.8·N(2, 0.5²)"),
    (
        "gmm1d-far",
        "1-D far modes 0.5·N(−4, 0.5²) + 0.5·N(4, 0.5²)",
    ),
    ("double-well1d", "1-D double well E = (x² − 4)²"),
    (
        "gmm40",
        "40 equal unit-variance Gaussians, means uniform in [−40, 40]² (fixed seed)",
    ),
    (
        "funnel",
        "Neal's funnel in d = 10, x₀ ~ N(0, 9), x_i ~ N(0, e^{x₀}); funnel:D for any 2 ≤ D ≤ 512; \
         shows (x₀, x₁)",
    ),
    (
        "manywell",
        "Manywell in d = 32: 16 independent double wells; manywell:D for any even 2 ≤ D ≤ 512; \
         shows the first pair",
    ),
];

/// Largest d accepted in "funnel:D" and "manywell:D".
pub const MAX_DIM: usize = 512;
/// Seed of the 40GMM means (our xoshiro [`Rng`]); fixed so "gmm40" is one target.
pub const GMM40_SEED: u64 = 40;
/// Half-width of the square the 40GMM means are drawn from.
pub const GMM40_HALF_WIDTH: f64 = 40.0;

/// A high-dimensional catalog target named "base" or "base:D".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scalable {
    Funnel(usize),
    Manywell(usize),
}

/// Recognises "funnel", "funnel:D", "manywell", "manywell:D": Ok(None) for other names,
/// Err naming the value when D is not a valid dimension for that target.
fn parse_scalable(name: &str) -> Result<Option<Scalable>, String> {
    let (base, dim) = match name.split_once(':') {
        Some((base, dim)) => (base, Some(dim)),
        None => (name, None),
    };
    let (default, even) = match base {
        "funnel" => (10, false),
        "manywell" => (32, true),
        _ => return Ok(None),
    };
    let d = match dim {
        None => default,
        Some(text) => {
            let d: usize = text.trim().parse().map_err(|_| {
                format!("energy \"{name}\": the dimension \"{text}\" is not a whole number")
            })?;
            let low = 2;
            if d < low || d > MAX_DIM {
                return Err(format!(
                    "energy \"{name}\": dimension {d} is out of range; {base}:D needs {low} ≤ D ≤ {MAX_DIM}"
                ));
            }
            if even && !d.is_multiple_of(2) {
                return Err(format!(
                    "energy \"{name}\": dimension {d} is odd; manywell:D needs an even D (pairs of coordinates)"
                ));
            }
            d
        }
    };
    Ok(Some(if even {
        Scalable::Manywell(d)
    } else {
        Scalable::Funnel(d)
    }))
}

/// A 1-D mixture Σ w_k N(m_k, s_k²) from (weight, mean, standard deviation) triples.
fn mixture_1d(components: &[(f64, f64, f64)], tau: f64) -> Result<Gmm, String> {
    let weights: Vec<f64> = components.iter().map(|c| c.0).collect();
    let means: Vec<Vec<f64>> = components.iter().map(|c| vec![c.1]).collect();
    let covs: Vec<Vec<Vec<f64>>> = components.iter().map(|c| vec![vec![c.2 * c.2]]).collect();
    Gmm::new(&weights, &means, &covs, tau)
}

fn known_names() -> String {
    CATALOG
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_name(name: &str) -> String {
    format!(
        "unknown energy \"{name}\"; known names: {}, or a JSON mixture such as \
         {{\"gmm\": {{\"weights\": [1], \"means\": [[0, 0]], \"covs\": [[[1, 0], [0, 1]]]}}}} \
         or a formula such as {{\"formula\": {{\"energy\": \"x^2 + y^2\", \"window\": [[-4, 4], [-4, 4]]}}}}",
        known_names()
    )
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
        if CATALOG.iter().any(|(n, _)| *n == text) || parse_scalable(text)?.is_some() {
            Ok(EnergySpec::Named(text.to_string()))
        } else {
            Err(unknown_name(text))
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

/// Which exact sampler applies to a target, if any.
enum ExactSampler {
    Mixture(Arc<Gmm>),
    Well(HarmonicWell),
    DoubleWell(DoubleWell),
    Funnel(Funnel),
    Manywell(Manywell),
    None,
}

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
    quadrature_window: Window,
    quadrature_cells: Vec<usize>,
    exact: ExactSampler,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("spec", &self.spec)
            .field("temperature", &self.temperature)
            .field("modes", &self.modes)
            .field("window", &self.window)
            .field("log_z", &self.log_z)
            .field("quadrature_window", &self.quadrature_window)
            .field("quadrature_cells", &self.quadrature_cells)
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
        let tau = temperature;
        let mut target = match spec {
            EnergySpec::Named(name) if parse_scalable(name)?.is_some() => {
                match parse_scalable(name)?.expect("checked") {
                    Scalable::Funnel(d) => Target::funnel(d, tau)?,
                    Scalable::Manywell(d) => Target::manywell(d, tau),
                }
            }
            EnergySpec::Named(name) => match name.as_str() {
                "seed-gmm" => Target::mixture(Gmm::new(
                    &[0.5, 0.5],
                    &[vec![2.0, 2.0], vec![-4.0, -4.0]],
                    &[
                        vec![vec![2.0, 0.0], vec![0.0, 3.0]],
                        vec![vec![1.0, 0.0], vec![0.0, 2.0]],
                    ],
                    tau,
                )?),
                "gmm9" => Target::mixture(Gmm::square_grid(&[-5.0, 0.0, 5.0], 0.3, tau)?),
                "gmm25" => {
                    Target::mixture(Gmm::square_grid(&[-10.0, -5.0, 0.0, 5.0, 10.0], 0.3, tau)?)
                }
                "well" => Target::harmonic_well(2, tau),
                "double-well" => Target::double_well(tau),
                "normal1d" => Target::harmonic_well(1, tau),
                "gmm1d-demo" => {
                    Target::mixture(mixture_1d(&[(0.5, -1.0, 0.7), (0.5, 2.0, 0.4)], tau)?)
                }
                "gmm1d-unequal" => {
                    Target::mixture(mixture_1d(&[(0.2, -2.0, 0.5), (0.8, 2.0, 0.5)], tau)?)
                }
                "gmm1d-far" => {
                    Target::mixture(mixture_1d(&[(0.5, -4.0, 0.5), (0.5, 4.0, 0.5)], tau)?)
                }
                "double-well1d" => Target::quartic_well_1d(tau),
                "gmm40" => Target::mixture(gmm40(tau)?),
                other => return Err(unknown_name(other)),
            },
            EnergySpec::Custom(CustomEnergy::Gmm(g)) => Target::mixture(Gmm::from_spec(g, tau)?),
            EnergySpec::Custom(CustomEnergy::Formula(f)) => Target::formula(f, tau)?,
        };
        target.spec = spec.clone();
        Ok(target)
    }

    fn mixture(gmm: Gmm) -> Target {
        let tau = gmm.temperature();
        let (lo, hi) = gmm.extent(DISPLAY_SIGMAS);
        let (qlo, qhi) = gmm.extent(QUADRATURE_SIGMAS);
        let quadrature_window = Window { lo: qlo, hi: qhi };
        let scale = gmm.smallest_scale();
        let scales = vec![scale; gmm.dim()];
        let modes = (0..gmm.n_components())
            .map(|k| gmm.mean(k).to_vec())
            .collect();
        let gmm = Arc::new(gmm);
        let exact_at_unit_temperature = tau == 1.0;
        Target {
            spec: EnergySpec::Named(String::new()),
            temperature: tau,
            energy: gmm.clone(),
            modes,
            window: Window { lo, hi },
            // A normalised mixture has Z = 1 at τ = 1; p^{1/τ} has no closed form.
            log_z: exact_at_unit_temperature.then_some(0.0),
            quadrature_cells: cell_counts(&quadrature_window, &scales),
            quadrature_window,
            exact: if exact_at_unit_temperature {
                ExactSampler::Mixture(gmm)
            } else {
                ExactSampler::None
            },
        }
    }

    fn harmonic_well(dim: usize, tau: f64) -> Target {
        let well = HarmonicWell::new(dim, tau);
        let s = tau.sqrt();
        let window = Window {
            lo: vec![-DISPLAY_SIGMAS * s; dim],
            hi: vec![DISPLAY_SIGMAS * s; dim],
        };
        let quadrature_window = Window {
            lo: vec![-QUADRATURE_SIGMAS * s; dim],
            hi: vec![QUADRATURE_SIGMAS * s; dim],
        };
        Target {
            spec: EnergySpec::Named(String::new()),
            temperature: tau,
            energy: Arc::new(well.clone()),
            modes: vec![vec![0.0; dim]],
            window,
            log_z: Some(well.log_z()),
            quadrature_cells: cell_counts(&quadrature_window, &vec![s; dim]),
            quadrature_window,
            exact: ExactSampler::Well(well),
        }
    }

    fn double_well(tau: f64) -> Target {
        let dw = DoubleWell::new(tau);
        let s = tau.sqrt();
        let (lo1, hi1) = dw.x1_interval(DISPLAY_SIGMAS);
        let (qlo1, qhi1) = dw.x1_interval(QUADRATURE_SIGMAS);
        let quadrature_window = Window {
            lo: vec![qlo1, -QUADRATURE_SIGMAS * s],
            hi: vec![qhi1, QUADRATURE_SIGMAS * s],
        };
        Target {
            spec: EnergySpec::Named(String::new()),
            temperature: tau,
            energy: Arc::new(dw.clone()),
            modes: DoubleWell::modes(),
            window: Window {
                lo: vec![lo1, -DISPLAY_SIGMAS * s],
                hi: vec![hi1, DISPLAY_SIGMAS * s],
            },
            // The x₁ integral is one-dimensional and computed to rounding; the "known" value
            // is kept to τ = 1, where it is the published 10.29348 (docs/methods.md §6).
            log_z: (tau == 1.0).then(|| dw.log_z()),
            quadrature_cells: cell_counts(&quadrature_window, &[dw.x1_scale(), s]),
            quadrature_window,
            exact: ExactSampler::DoubleWell(dw),
        }
    }

    /// Funnel in d dimensions, τ = 1 only: at τ ≠ 1 the x₀ marginal of exp(−E/τ) drifts by
    /// 4.5(d − 1)(τ − 1) standard units and the target stops being a funnel.
    fn funnel(dim: usize, tau: f64) -> Result<Target, String> {
        if tau != 1.0 {
            return Err(format!(
                "the funnel is defined at temperature 1 only, got {tau}"
            ));
        }
        let funnel = Funnel::new(dim);
        // x₀: ±4.5 standard deviations; x₁ has heavy tails (std e^{9/4} ≈ 9.5 but most of
        // its mass near 0): ±20 holds about 98% of it.
        let window = Window {
            lo: vec![-DISPLAY_SIGMAS * 3.0, -20.0],
            hi: vec![DISPLAY_SIGMAS * 3.0, 20.0],
        };
        Ok(Target {
            spec: EnergySpec::Named(String::new()),
            temperature: tau,
            energy: Arc::new(funnel.clone()),
            modes: Vec::new(),
            quadrature_window: window.clone(),
            quadrature_cells: vec![quadrature::DENSITY_GRID_CELLS; 2],
            window,
            log_z: Some(0.0),
            exact: ExactSampler::Funnel(funnel),
        })
    }

    /// Manywell in d (even) dimensions at any τ: the display, modes and quadrature grid
    /// are those of the first pair (a double well), log Z = (d/2)·log Z of a pair (its 1-D
    /// integral is exact to rounding at every τ).
    fn manywell(dim: usize, tau: f64) -> Target {
        let manywell = Manywell::new(dim, tau);
        let pair = Target::double_well(tau);
        Target {
            energy: Arc::new(manywell.clone()),
            log_z: Some(manywell.log_z()),
            exact: ExactSampler::Manywell(manywell),
            ..pair
        }
    }

    fn quartic_well_1d(tau: f64) -> Target {
        let well = QuarticWell1d::new(tau);
        let (r, q) = (
            well.half_width(DISPLAY_SIGMAS),
            well.half_width(QUADRATURE_SIGMAS),
        );
        let quadrature_window = Window {
            lo: vec![-q],
            hi: vec![q],
        };
        Target {
            spec: EnergySpec::Named(String::new()),
            temperature: tau,
            energy: Arc::new(well.clone()),
            modes: vec![vec![-2.0], vec![2.0]],
            window: Window {
                lo: vec![-r],
                hi: vec![r],
            },
            log_z: None,
            quadrature_cells: cell_counts(&quadrature_window, &[well.scale()]),
            quadrature_window,
            exact: ExactSampler::None,
        }
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

    /// The 2-D projections shown instead of the first pair, for d > 2: those whose ground
    /// truth (density grid, marginals, modes) is the first pair's, so the same truth judges
    /// them. Manywell: any pair (x_2k, x_2k+1), an independent copy of the double well;
    /// Funnel: (x₀, x_i) for any i ≥ 1, exchangeable. Returns the axes or a message naming
    /// the allowed ones.
    pub fn check_display_axes(&self, axes: &[usize]) -> Result<(), String> {
        let d = self.dim();
        let default: Vec<usize> = (0..self.display_dim()).collect();
        if axes == default.as_slice() {
            return Ok(());
        }
        let shown = |a: &[usize]| {
            a.iter()
                .map(|i| format!("x{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let allowed = match &self.exact {
            ExactSampler::Manywell(_) => {
                axes.len() == 2
                    && axes[0].is_multiple_of(2)
                    && axes[1] == axes[0] + 1
                    && axes[1] < d
            }
            ExactSampler::Funnel(_) => axes.len() == 2 && axes[0] == 0 && (1..d).contains(&axes[1]),
            _ => false,
        };
        if allowed {
            return Ok(());
        }
        let choices = match &self.exact {
            ExactSampler::Manywell(_) => format!(
                "a pair (x2k, x2k+1) with 2k + 1 < {d}, e.g. 2,3 (every pair is the same double well)"
            ),
            ExactSampler::Funnel(_) => {
                format!("0,i with 1 ≤ i < {d} (every (x0, xi) is the same funnel)")
            }
            _ => format!("only {} (d = {d})", shown(&default)),
        };
        Err(format!(
            "axes: cannot show ({}) of {}; allowed: {choices}",
            shown(axes),
            self.spec.name()
        ))
    }

    /// Whether the ground truth's mean and covariance are exact (closed form or quadrature)
    /// in every dimension: needed to whiten (Run) when d > 2.
    pub fn moments_known(&self) -> bool {
        self.dim() <= 2
            || matches!(
                self.exact,
                ExactSampler::Funnel(_) | ExactSampler::Manywell(_)
            )
    }

    /// The target as a Gaussian mixture, where it is one at τ = 1 (the DDPM oracle needs
    /// the components).
    pub fn as_mixture(&self) -> Option<Arc<Gmm>> {
        match &self.exact {
            ExactSampler::Mixture(g) => Some(g.clone()),
            ExactSampler::Well(w) if w.dim == 1 => Some(Arc::new(
                mixture_1d(&[(1.0, 0.0, w.temperature.sqrt())], 1.0).expect("valid"),
            )),
            _ => None,
        }
    }

    /// Whether [`Target::exact_samples`] returns Some.
    pub fn has_exact_sampler(&self) -> bool {
        !matches!(self.exact, ExactSampler::None)
    }

    /// The window and cells per axis the quadrature uses (wider than `window`).
    pub fn quadrature_grid(&self) -> (&Window, &[usize]) {
        (&self.quadrature_window, &self.quadrature_cells)
    }

    /// n exact samples (row-major n×d) where an exact sampler exists: mixtures at τ = 1,
    /// the harmonic well at any τ, the double well and Manywell at any τ (x₂ ~ N(0, τ), x₁
    /// by rejection, per pair), the funnel — else None.
    pub fn exact_samples(&self, n: usize, rng: &mut Rng) -> Option<Vec<f64>> {
        match &self.exact {
            ExactSampler::Mixture(g) => Some(g.sample(n, rng)),
            ExactSampler::Well(w) => Some(w.sample(n, rng)),
            ExactSampler::DoubleWell(dw) => Some(dw.sample(n, rng)),
            ExactSampler::Funnel(f) => Some(f.sample(n, rng)),
            ExactSampler::Manywell(m) => Some(m.sample(n, rng)),
            ExactSampler::None => None,
        }
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
            &self.quadrature_window,
            &self.quadrature_cells,
            n,
            rng,
        )
    }

    /// Ground truth: by grid quadrature for d = 1 or 2. For d > 2 the mean and covariance
    /// are in all d coordinates and exact, log Z is the closed form, and the marginals,
    /// density grid and mode masses are those of the displayed projection: Funnel in closed
    /// form ([`Funnel::ground_truth`]); Manywell by quadrature of its first pair (a double
    /// well), whose moments repeat block-diagonally over the independent pairs.
    /// Deterministic; cache-free (the caller caches).
    pub fn ground_truth(&self) -> GroundTruth {
        match &self.exact {
            ExactSampler::Funnel(f) => return f.ground_truth(&self.window),
            ExactSampler::Manywell(m) => {
                let mut gt = quadrature::ground_truth(
                    &m.well,
                    &self.window,
                    &self.quadrature_window,
                    &self.quadrature_cells,
                    &self.modes,
                );
                let d = self.dim();
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
                return gt;
            }
            _ => {}
        }
        quadrature::ground_truth(
            &*self.energy,
            &self.window,
            &self.quadrature_window,
            &self.quadrature_cells,
            &self.modes,
        )
    }
}

/// The 40GMM (docs/methods.md §6): equal weights, unit covariances, means uniform in
/// [−40, 40]² drawn from [`GMM40_SEED`].
fn gmm40(tau: f64) -> Result<Gmm, String> {
    let mut rng = Rng::new(GMM40_SEED);
    let means: Vec<Vec<f64>> = (0..40)
        .map(|_| {
            (0..2)
                .map(|_| GMM40_HALF_WIDTH * (2.0 * rng.uniform() - 1.0))
                .collect()
        })
        .collect();
    let identity = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
    Gmm::new(&[1.0; 40], &means, &vec![identity; 40], tau)
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

    fn target(name: &str, tau: f64) -> Target {
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
    fn seed_gmm_moments_and_marginals() {
        let gt = target("seed-gmm", 1.0).ground_truth();
        let x = &gt.marginals[0];
        assert!((x.mean + 1.0).abs() < 1e-6, "x mean {}", x.mean);
        assert!((x.std - 10.5f64.sqrt()).abs() < 1e-6, "x std {}", x.std);
        let expected_cov = [10.5, 9.0, 9.0, 11.5];
        for k in 0..4 {
            assert!((gt.cov[k] - expected_cov[k]).abs() < 1e-6, "{:?}", gt.cov);
        }
        assert!((gt.mean[1] + 1.0).abs() < 1e-6);
        // The binned marginal: integrates to 1 over the window, and at a bin centre equals
        // the closed-form mixture marginal 0.5·N(2, 2) + 0.5·N(−4, 1) (up to the window's
        // renormalisation, < 1e-4).
        let width = (x.hi - x.lo) / x.density.len() as f64;
        assert_eq!(x.density.len(), quadrature::MARGINAL_BINS);
        assert!((x.density.iter().sum::<f64>() * width - 1.0).abs() < 1e-12);
        let normal = |t: f64, m: f64, v: f64| {
            (-(t - m) * (t - m) / (2.0 * v)).exp() / (2.0 * std::f64::consts::PI * v).sqrt()
        };
        for b in [10, 35, 50, 77] {
            let t = x.lo + (b as f64 + 0.5) * width;
            let exact = 0.5 * normal(t, 2.0, 2.0) + 0.5 * normal(t, -4.0, 1.0);
            assert!(
                (x.density[b] - exact).abs() < 1e-4 * exact.max(1e-3),
                "bin {b}"
            );
        }
        // Density grid: normalised log density at cell centres.
        let g = &gt.grid;
        assert_eq!(
            (g.nx, g.ny),
            (
                quadrature::DENSITY_GRID_CELLS,
                quadrature::DENSITY_GRID_CELLS
            )
        );
        let (hx, hy) = (
            (g.hi[0] - g.lo[0]) / g.nx as f64,
            (g.hi[1] - g.lo[1]) / g.ny as f64,
        );
        let mass: f64 = g.log_density.iter().map(|l| l.exp()).sum::<f64>() * hx * hy;
        assert!((mass - 1.0).abs() < 1e-3, "display-window mass {mass}");
        let (ix, iy) = (40, 90);
        let p = [
            g.lo[0] + (ix as f64 + 0.5) * hx,
            g.lo[1] + (iy as f64 + 0.5) * hy,
        ];
        let t = target("seed-gmm", 1.0);
        assert!((g.log_density[iy * g.nx + ix] + t.energy.energy(&p)).abs() < 1e-12);
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
    fn sample_moments(xs: &[f64], d: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
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

    fn assert_samples_match(xs: &[f64], gt: &GroundTruth, what: &str) {
        let d = gt.mean.len();
        let (mean, mean_se, cov, cov_se) = sample_moments(xs, d);
        for i in 0..d {
            assert!(
                (mean[i] - gt.mean[i]).abs() < 4.0 * mean_se[i],
                "{what}: mean[{i}] {} vs {} (se {})",
                mean[i],
                gt.mean[i],
                mean_se[i]
            );
        }
        for k in 0..d * d {
            assert!(
                (cov[k] - gt.cov[k]).abs() < 4.0 * cov_se[k],
                "{what}: cov[{k}] {} vs {} (se {})",
                cov[k],
                gt.cov[k],
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
    fn one_dimensional_custom_mixture() {
        let spec = EnergySpec::parse(
            r#"{"gmm": {"weights": [1, 1], "means": [[-1], [2]], "covs": [[[0.49]], [[0.16]]]}}"#,
        )
        .unwrap();
        let t = Target::new(&spec, 1.0).unwrap();
        assert_eq!(t.dim(), 1);
        let gt = t.ground_truth();
        assert!(gt.log_z.abs() < 1e-9, "{}", gt.log_z);
        assert!((gt.mean[0] - 0.5).abs() < 1e-9);
        // Var = Σ w (s² + m²) − mean² = 0.5(0.49 + 1) + 0.5(0.16 + 4) − 0.25.
        assert!((gt.cov[0] - (0.5 * 1.49 + 0.5 * 4.16 - 0.25)).abs() < 1e-9);
        assert_eq!(gt.grid.ny, 1);
        assert_eq!(gt.marginals.len(), 1);
        let n = 100_000;
        let xs = t.exact_samples(n, &mut Rng::new(2)).unwrap();
        assert_samples_match(&xs, &gt, "1-D mixture");
        // Nearest-centre cells split at 0.5: the left cell loses the wide component's right
        // tail, ½Φ(1.5/0.7) + ½Φ(−1.5/0.4) = 0.4920131 (Φ via erf, computed offline); the
        // samples' split agrees within 4 binomial standard errors. (The cell holding the
        // border is assigned whole: an error of order h·density there ≈ 1e-5.)
        let m = gt.mode_masses[0];
        assert!((m - 0.4920131).abs() < 3e-5, "{m}");
        let left = xs.iter().filter(|&&x| x < 0.5).count() as f64 / n as f64;
        assert!(
            (left - m).abs() < 4.0 * (m * (1.0 - m) / n as f64).sqrt(),
            "{left}"
        );
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
        for (name, _) in CATALOG {
            let spec = EnergySpec::parse(name).unwrap();
            assert_eq!(spec.name(), *name);
            let d = match *name {
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
    fn scalable_names_parse_and_bad_dimensions_are_named() {
        for (name, d) in [
            ("funnel", 10),
            ("funnel:2", 2),
            ("funnel:37", 37),
            ("manywell", 32),
            ("manywell:2", 2),
            ("manywell:4", 4),
            ("manywell:512", 512),
        ] {
            let spec = EnergySpec::parse(name).unwrap();
            assert_eq!(spec.name(), name);
            let t = Target::new(&spec, 1.0).unwrap();
            assert_eq!((t.dim(), t.display_dim()), (d, 2), "{name}");
        }
        for (name, expected) in [
            ("manywell:3", "dimension 3 is odd"),
            (
                "funnel:1",
                "dimension 1 is out of range; funnel:D needs 2 ≤ D ≤ 512",
            ),
            ("manywell:0", "dimension 0 is out of range"),
            ("manywell:x", "the dimension \"x\" is not a whole number"),
            ("funnel:", "the dimension \"\" is not a whole number"),
            ("manywell:-4", "the dimension \"-4\" is not a whole number"),
            ("manywell:1024", "dimension 1024 is out of range"),
            ("funnel:100000000000", "out of range"),
        ] {
            let err = EnergySpec::parse(name).unwrap_err();
            assert!(
                err.contains(expected) && err.contains(&format!("\"{name}\"")),
                "{name}: {err}"
            );
            // Target::new checks names that did not come through parse (e.g. serde).
            let err = Target::new(&EnergySpec::Named(name.into()), 1.0).unwrap_err();
            assert!(err.contains(expected), "{name}: {err}");
        }
        assert!(EnergySpec::parse("wellmany:4")
            .unwrap_err()
            .contains("unknown energy"));
        let err = Target::new(&EnergySpec::Named("funnel".into()), 2.0).unwrap_err();
        assert!(err.contains("temperature 1 only"), "{err}");
    }

    #[test]
    fn gmm40_is_a_fixed_normalised_mixture_with_an_exact_sampler() {
        let t = target("gmm40", 1.0);
        assert_eq!((t.dim(), t.modes.len()), (2, 40));
        assert_eq!(t.log_z, Some(0.0));
        // Fixed: the same means every time, all inside the square, not all alike.
        assert_eq!(target("gmm40", 1.0).modes, t.modes);
        assert!(t
            .modes
            .iter()
            .flatten()
            .all(|v| v.abs() <= GMM40_HALF_WIDTH));
        let spread = t
            .modes
            .iter()
            .map(|m| m[0])
            .fold(f64::NEG_INFINITY, f64::max)
            - t.modes.iter().map(|m| m[0]).fold(f64::INFINITY, f64::min);
        assert!(spread > 50.0, "{spread}");
        let gt = t.ground_truth();
        assert!(gt.log_z.abs() < 1e-6, "{}", gt.log_z);
        let xs = t.exact_samples(100_000, &mut Rng::new(40)).unwrap();
        assert_samples_match(&xs, &gt, "gmm40");
        for x in [[0.0, 0.0], [13.0, -27.5], [-39.0, 39.0], [70.0, -80.0]] {
            assert_gradient_matches(&*t.energy, &x);
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
