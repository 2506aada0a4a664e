//! The target catalog: the trait every target family implements, the rows of the table of
//! named targets ([`CATALOG`], docs/methods.md §6) and the name lookup.
//!
//! # The contract of [`TargetFamily`]
//!
//! A family is one kind of target (a Gaussian mixture, the harmonic well, the funnel, …);
//! a value of a type implementing [`TargetFamily`] is that family built at one size and
//! temperature τ, already validated. [`Target`](super::Target) holds one and asks it
//! everything that differs between kinds, so no code outside the table tells the kinds
//! apart. The family answers:
//!
//! - [`energy`](TargetFamily::energy): E/τ through the numeric [`Energy`] interface, the
//!   one the samplers and the quadrature evaluate (temperature folded in).
//! - [`window`](TargetFamily::window): the plot window of the displayed coordinates,
//!   min(d, 2) of them, holding essentially all their mass (it grows with τ).
//! - [`modes`](TargetFamily::modes): mode centres in those coordinates (the nearest-centre
//!   cells judge per-mode mass); empty when the target has no meaningful modes.
//! - [`quadrature`](TargetFamily::quadrature): the grid the default ground truth integrates
//!   (wider than the window, cells finer than the smallest length scale).
//! - [`log_z`](TargetFamily::log_z): log Z in closed form where known; None lets the
//!   quadrature's value stand.
//! - [`moments`](TargetFamily::moments): mean and covariance in closed form where known;
//!   [`moments_known`](TargetFamily::moments_known): whether the ground truth's mean and
//!   covariance are exact in all d coordinates (true for d ≤ 2, where quadrature gives
//!   them; a d > 2 family must say so to be whitened).
//! - [`exact_sampler`](TargetFamily::exact_sampler): independent exact samples where a
//!   sampler exists. Every d > 2 family must have one (the reference samples of d ≤ 2
//!   targets without one come from the quadrature grid, which does not exist above 2).
//! - [`as_mixture`](TargetFamily::as_mixture): the target as a Gaussian mixture where it is
//!   one (the DDPM oracle needs the components).
//! - [`projections`](TargetFamily::projections): the displayed axes the page may choose,
//!   each a list of min(d, 2) axes, the default (the first min(d, 2) axes) first. A d ≤ 2
//!   target has exactly that one. A d > 2 target lists only projections whose ground truth
//!   (density grid, marginals, modes) is that of the first pair, so one truth judges them
//!   all; [`projection_rule`](TargetFamily::projection_rule) says which in words for the
//!   message that refuses another.
//! - [`ground_truth`](TargetFamily::ground_truth): by default grid quadrature of the energy
//!   over the quadrature grid, which needs d ≤ 2; a d > 2 family overrides it with the
//!   full-d moments and the truth of its displayed projection.
//! - [`hint`](TargetFamily::hint): one line the page may show beside the picture.
//!
//! Everything is deterministic: building the same family twice gives the same numbers.
//!
//! # How to add a target
//!
//! Two files:
//!
//! 1. The family's module, `src/energy/<family>.rs` (an existing one for another member of
//!    a family, e.g. a named mixture in `gmm.rs`): the numeric type implementing
//!    [`Energy`], and a type implementing [`TargetFamily`] that builds its window, modes
//!    and quadrature grid once in its constructor and overrides the defaults it has better
//!    answers for. Its tests check the trait's identities: exact samples against the stated
//!    moments, quadrature log Z against the closed form.
//! 2. `src/energy/mod.rs`: the module's `pub mod` line (for a new module) and one row in
//!    [`CATALOG`]: name, one-line description, and the constructor — a
//!    [`Build::Fixed`] closure of τ, or a [`Build::Sized`] one of (D, τ) with the
//!    [`Size`] range that "name:D" accepts:
//!
//! ```text
//! CatalogRow {
//!     name: "ring",
//!     description: "a ring of radius 3, E = (‖x‖ − 3)² / 0.1",
//!     build: Build::Fixed(|tau| Ok(Box::new(ring::RingTarget::new(tau)?))),
//! },
//! ```
//!
//! Name parsing and its error messages, the command line's list and the page's `catalog()`
//! all read the table, and the tests below build every row, check its projections against
//! the projection check and its closed forms against its ground truth.

use std::sync::Arc;

use super::formula::FormulaTarget;
use super::gmm::MixtureTarget;
use super::quadrature::{self, GroundTruth};
use super::{CustomEnergy, Energy, EnergySpec, Gmm, Window, CATALOG};
use crate::rng::Rng;

/// A target family built at one size and temperature; see the module doc for the contract.
pub trait TargetFamily: Send + Sync {
    /// E/τ.
    fn energy(&self) -> Arc<dyn Energy>;

    /// Plot window of the displayed coordinates (min(d, 2) axes).
    fn window(&self) -> &Window;

    /// Mode centres in the displayed coordinates.
    fn modes(&self) -> &[Vec<f64>];

    /// The grid of the default ground truth.
    fn quadrature(&self) -> &QuadratureSpec;

    /// log Z in closed form, where known.
    fn log_z(&self) -> Option<f64> {
        None
    }

    /// Mean and covariance (d × d row-major) in closed form, where known.
    fn moments(&self) -> Option<(Vec<f64>, Vec<f64>)> {
        None
    }

    /// Whether [`TargetFamily::ground_truth`]'s mean and covariance are exact in every
    /// coordinate: quadrature makes them so for d ≤ 2.
    fn moments_known(&self) -> bool {
        self.energy().dim() <= 2
    }

    /// Independent exact samples, where a sampler exists.
    fn exact_sampler(&self) -> Option<&dyn ExactSampler> {
        None
    }

    /// The target as a Gaussian mixture, where it is one.
    fn as_mixture(&self) -> Option<Arc<Gmm>> {
        None
    }

    /// The displayed axes the page may choose, the default first.
    fn projections(&self) -> Vec<Vec<usize>> {
        vec![(0..self.window().lo.len()).collect()]
    }

    /// The allowed projections in words, for a message refusing another; None: only the
    /// default.
    fn projection_rule(&self) -> Option<String> {
        None
    }

    /// One line for the page beside the picture, where the catalog description is not all.
    fn hint(&self) -> Option<String> {
        None
    }

    /// Ground truth; by default grid quadrature, d ≤ 2 only. Deterministic and cache-free
    /// (the caller caches).
    fn ground_truth(&self) -> GroundTruth {
        let q = self.quadrature();
        quadrature::ground_truth(
            &*self.energy(),
            self.window(),
            &q.window,
            &q.cells,
            self.modes(),
        )
    }
}

/// Draws independent samples from a target exactly.
pub trait ExactSampler: Send + Sync {
    /// n samples, row-major n × d.
    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64>;
}

/// Where the quadrature integrates: a window (wider than the plot window) and cells per
/// axis.
#[derive(Clone, Debug, PartialEq)]
pub struct QuadratureSpec {
    pub window: Window,
    pub cells: Vec<usize>,
}

/// A built family, as the table's constructors return it.
pub type Family = Result<Box<dyn TargetFamily>, String>;

/// How a catalog row is built.
#[derive(Clone, Copy)]
pub enum Build {
    /// From τ alone: the name takes no ":D".
    Fixed(fn(f64) -> Family),
    /// From (D, τ): "name" builds [`Size::default`], "name:D" any D the size allows.
    Sized(Size, fn(usize, f64) -> Family),
}

/// The dimensions "name:D" accepts.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub default: usize,
    pub min: usize,
    pub max: usize,
    /// Some(why) when D must be even, and why (it ends the message refusing an odd D).
    pub even: Option<&'static str>,
    /// Sizes the page lists as targets of their own beside the row: (D, description).
    pub listed: &'static [(usize, &'static str)],
}

/// One named target.
#[derive(Clone, Copy)]
pub struct CatalogRow {
    pub name: &'static str,
    /// One line, shown by the command line's list and the page.
    pub description: &'static str,
    pub build: Build,
}

impl CatalogRow {
    pub fn size(&self) -> Option<&Size> {
        match &self.build {
            Build::Fixed(_) => None,
            Build::Sized(size, _) => Some(size),
        }
    }
}

/// A mixture family from a validated mixture (a row's or a user's).
pub(super) fn mixture(gmm: Result<Gmm, String>) -> Family {
    Ok(Box::new(MixtureTarget::new(gmm?)))
}

/// The row a catalog name refers to, and its D for a sized row ("funnel" → the default,
/// "funnel:37" → 37). Ok(None) for a name no row has (including ":D" on a row without a
/// size); Err naming the value when D is not a valid dimension for that row.
pub fn lookup(name: &str) -> Result<Option<(&'static CatalogRow, Option<usize>)>, String> {
    let (base, dim) = match name.split_once(':') {
        Some((base, dim)) => (base, Some(dim)),
        None => (name, None),
    };
    let Some(row) = CATALOG.iter().find(|r| r.name == base) else {
        return Ok(None);
    };
    let Some(size) = row.size() else {
        return Ok(dim.is_none().then_some((row, None)));
    };
    let d = match dim {
        None => size.default,
        Some(text) => {
            let d: usize = text.trim().parse().map_err(|_| {
                format!("energy \"{name}\": the dimension \"{text}\" is not a whole number")
            })?;
            let (low, high) = (size.min, size.max);
            if d < low || d > high {
                return Err(format!(
                    "energy \"{name}\": dimension {d} is out of range; {base}:D needs {low} ≤ D ≤ {high}"
                ));
            }
            if let Some(why) = size.even {
                if !d.is_multiple_of(2) {
                    return Err(format!(
                        "energy \"{name}\": dimension {d} is odd; {base}:D needs an even D ({why})"
                    ));
                }
            }
            d
        }
    };
    Ok(Some((row, Some(d))))
}

fn known_names() -> String {
    CATALOG
        .iter()
        .map(|r| r.name)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn unknown_name(name: &str) -> String {
    format!(
        "unknown energy \"{name}\"; known names: {}, or a JSON mixture such as \
         {{\"gmm\": {{\"weights\": [1], \"means\": [[0, 0]], \"covs\": [[[1, 0], [0, 1]]]}}}} \
         or a formula such as {{\"formula\": {{\"energy\": \"x^2 + y^2\", \"window\": [[-4, 4], [-4, 4]]}}}}",
        known_names()
    )
}

/// Builds the family a spec names at temperature τ: a catalog row, or a custom mixture or
/// formula (the two families a user parametrises, which have no row).
pub(super) fn build(spec: &EnergySpec, tau: f64) -> Family {
    match spec {
        EnergySpec::Named(name) => match lookup(name)? {
            Some((row, d)) => match (row.build, d) {
                (Build::Fixed(build), _) => build(tau),
                (Build::Sized(size, build), d) => build(d.unwrap_or(size.default), tau),
            },
            None => Err(unknown_name(name)),
        },
        EnergySpec::Custom(CustomEnergy::Gmm(g)) => mixture(Gmm::from_spec(g, tau)),
        EnergySpec::Custom(CustomEnergy::Formula(f)) => Ok(Box::new(FormulaTarget::new(f, tau)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::Target;

    /// Every name a row answers to in these tests: the plain name, and for a sized row its
    /// smallest and listed sizes too.
    fn names(row: &CatalogRow) -> Vec<String> {
        let mut names = vec![row.name.to_string()];
        if let Some(size) = row.size() {
            names.push(format!("{}:{}", row.name, size.min));
            for (d, _) in size.listed {
                names.push(format!("{}:{d}", row.name));
            }
        }
        names
    }

    #[test]
    fn no_name_appears_twice() {
        let mut seen = std::collections::HashSet::new();
        for row in CATALOG {
            assert!(seen.insert(row.name), "{} appears twice", row.name);
            // A ':' would make "name:D" ambiguous.
            assert!(
                !row.name.contains(':') && !row.name.is_empty(),
                "{}",
                row.name
            );
        }
        // Nor may a listed size repeat, or fall outside its row's range.
        for row in CATALOG {
            if let Some(size) = row.size() {
                let mut listed = std::collections::HashSet::new();
                for &(d, _) in size.listed {
                    assert!(listed.insert(d), "{}:{d} listed twice", row.name);
                    assert!(d != size.default && (size.min..=size.max).contains(&d));
                }
            }
        }
    }

    #[test]
    fn every_row_builds_and_its_projections_pass_the_projection_check() {
        for row in CATALOG {
            for name in names(row) {
                let spec = EnergySpec::parse(&name).unwrap();
                let t = Target::new(&spec, 1.0).unwrap_or_else(|e| panic!("{name}: {e}"));
                let (d, k) = (t.dim(), t.display_dim());
                assert_eq!(k, d.min(2), "{name}");
                let projections = t.projections();
                let default: Vec<usize> = (0..k).collect();
                assert_eq!(projections[0], default, "{name}: the default comes first");
                // Run::set_display_axes accepts exactly these (it asks check_display_axes):
                // every listed one, and no other pair of distinct axes.
                for p in &projections {
                    assert_eq!(p.len(), k, "{name}: {p:?}");
                    assert!(p.iter().all(|&a| a < d), "{name}: {p:?}");
                    t.check_display_axes(p)
                        .unwrap_or_else(|e| panic!("{name} refuses its own {p:?}: {e}"));
                }
                if d <= 32 && k == 2 {
                    for i in 0..d {
                        for j in 0..d {
                            let listed = projections.contains(&vec![i, j]);
                            let accepted = t.check_display_axes(&[i, j]).is_ok();
                            assert_eq!(listed, accepted, "{name}: ({i}, {j})");
                        }
                    }
                }
                let err = t.check_display_axes(&[d, d + 1]).unwrap_err();
                assert!(err.contains(&format!("of {name}; allowed: ")), "{err}");
                if projections.len() > 1 {
                    assert!(t.hint().is_some(), "{name}: several projections, no hint");
                }
                // Every d > 2 target has the exact sampler its reference samples need, and
                // moments for whitening.
                if d > 2 {
                    assert!(t.has_exact_sampler() && t.moments_known(), "{name}");
                }
            }
        }
    }

    #[test]
    fn sized_rows_build_their_default_and_listed_sizes() {
        for row in CATALOG {
            let Some(size) = row.size() else {
                assert!(lookup(&format!("{}:2", row.name)).unwrap().is_none());
                continue;
            };
            let t = Target::new(&EnergySpec::Named(row.name.into()), 1.0).unwrap();
            assert_eq!(t.dim(), size.default, "{}", row.name);
            for &(d, description) in size.listed {
                let name = format!("{}:{d}", row.name);
                let t = Target::new(&EnergySpec::parse(&name).unwrap(), 1.0).unwrap();
                assert_eq!(t.dim(), d);
                assert!(!description.is_empty());
            }
            let too_big = format!("{}:{}", row.name, size.max + 1);
            assert!(EnergySpec::parse(&too_big)
                .unwrap_err()
                .contains("out of range"));
        }
    }

    /// The identities every family's answers must keep with each other, for every row at
    /// τ = 1 and 2 (where the family allows τ ≠ 1): closed forms against the ground truth,
    /// the mixture view against it too, and consistent shapes.
    #[test]
    fn every_row_keeps_its_closed_forms_and_shapes_consistent() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6 * (1.0 + b.abs());
        let mut rng = Rng::new(3);
        for row in CATALOG {
            for name in names(row) {
                for tau in [1.0, 2.0] {
                    let spec = EnergySpec::parse(&name).unwrap();
                    let Ok(t) = Target::new(&spec, tau) else {
                        // Only the funnel refuses τ ≠ 1 (it would stop being a funnel).
                        assert!(name.starts_with("funnel") && tau != 1.0, "{name} τ={tau}");
                        continue;
                    };
                    let what = format!("{name} τ={tau}");
                    let (d, k) = (t.dim(), t.display_dim());
                    let (qwin, cells) = t.quadrature_grid();
                    assert_eq!((t.window.hi.len(), qwin.lo.len(), cells.len()), (k, k, k));
                    assert!(t.modes.iter().all(|m| m.len() == k), "{what}");
                    for a in 0..k {
                        assert!(qwin.lo[a] <= t.window.lo[a] && t.window.hi[a] <= qwin.hi[a]);
                    }
                    let gt = t.ground_truth();
                    assert_eq!((gt.mean.len(), gt.cov.len()), (d, d * d), "{what}");
                    assert_eq!(gt.mode_masses.len(), t.modes.len(), "{what}");
                    if let Some(z) = t.log_z {
                        assert!(close(gt.log_z, z), "{what}: log Z {} vs {z}", gt.log_z);
                    }
                    let mut stated = Vec::new();
                    if let Some(moments) = t.moments() {
                        stated.push(("closed-form", moments));
                    }
                    if let Some(g) = t.as_mixture() {
                        assert_eq!(g.dim(), d, "{what}");
                        stated.push(("mixture", g.moments()));
                    }
                    for (source, (mean, cov)) in stated {
                        assert!(t.moments_known(), "{what}");
                        let pairs = mean.iter().zip(&gt.mean).chain(cov.iter().zip(&gt.cov));
                        for (a, b) in pairs {
                            assert!(close(*a, *b), "{what}: {source} moment {a} vs {b}");
                        }
                    }
                    let xs = t.exact_samples(10, &mut rng);
                    assert_eq!(xs.is_some(), t.has_exact_sampler(), "{what}");
                    if let Some(xs) = xs {
                        assert_eq!(xs.len(), 10 * d, "{what}");
                    }
                }
            }
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
}
