//! Sample metrics (docs/methods.md §7): log Z estimates from path weights, exact
//! Wasserstein distances, per-mode masses and coverage, and 1-D marginals.
//!
//! Samples are row-major flat slices: point k of dimension `d` is
//! `samples[k * d..(k + 1) * d]`, so a set holds `samples.len() / d` points.

pub mod log_z;
pub mod marginals;
pub mod modes;
pub mod wasserstein;
