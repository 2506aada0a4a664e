//! Ground truth by grid quadrature in d = 1 or 2 (docs/methods.md §6 "Ground truth in 2-D",
//! §7 mode masses and marginals).
//!
//! The midpoint rule on a uniform grid converges spectrally for smooth integrands that
//! vanish at the grid's edges: for a Gaussian of standard deviation σ the relative error
//! is about 2·exp(−2π²σ²/h²), below 1e-8 once the cell width h ≤ σ. The callers choose a
//! quadrature window several standard deviations beyond the display window and cells finer
//! than the smallest length scale of the target, so log Z comes out to ~1e-6 or better.

use super::{Energy, Window};
use crate::rng::Rng;

/// Bins per axis of the true marginals, over the display window.
pub const MARGINAL_BINS: usize = 100;
/// Cells per axis of the 2-D density grid for drawing, over the display window.
pub const DENSITY_GRID_CELLS: usize = 128;
/// Cells of the 1-D density grid for drawing.
pub const DENSITY_GRID_CELLS_1D: usize = 512;

/// Everything the metrics compare against, computed once per target and temperature.
#[derive(Clone, Debug)]
pub struct GroundTruth {
    pub log_z: f64,
    pub mean: Vec<f64>,
    /// d×d row-major.
    pub cov: Vec<f64>,
    /// One per axis, over the display window.
    pub marginals: Vec<Marginal>,
    /// Mass of each mode's nearest-centre (Euclidean) cell; sums to 1 (empty without modes).
    pub mode_masses: Vec<f64>,
    /// For drawing.
    pub grid: DensityGrid,
}

/// The true marginal density of one axis at the centres of `density.len()` equal bins of
/// [lo, hi], renormalised so that Σ density·(hi − lo)/bins = 1 (so it compares directly with
/// a normalised histogram of the samples that fall in the window). `mean` and `std` are
/// those of the untruncated marginal.
#[derive(Clone, Debug)]
pub struct Marginal {
    pub lo: f64,
    pub hi: f64,
    pub density: Vec<f64>,
    pub mean: f64,
    pub std: f64,
}

/// log density (normalised: log ν = −E − log Z) at the cell centres of the display window,
/// row-major with x fastest: index = iy*nx + ix. For d = 1, ny = 1 and lo, hi have length 1.
#[derive(Clone, Debug)]
pub struct DensityGrid {
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    pub nx: usize,
    pub ny: usize,
    pub log_density: Vec<f64>,
}

/// A uniform grid of cells over a box in d = 1 or 2; for d = 1 the second axis is one
/// cell of width 1, so that formulas hold unchanged.
struct Cells {
    d: usize,
    lo: [f64; 2],
    h: [f64; 2],
    n: [usize; 2],
}

impl Cells {
    fn new(window: &Window, cells: &[usize]) -> Cells {
        let d = window.lo.len();
        assert!(
            (1..=2).contains(&d) && window.hi.len() == d && cells.len() == d,
            "quadrature needs d = 1 or 2 and matching window/cell counts"
        );
        let mut grid = Cells {
            d,
            lo: [0.0; 2],
            h: [1.0; 2],
            n: [1; 2],
        };
        for i in 0..d {
            assert!(
                cells[i] > 0 && window.hi[i] > window.lo[i],
                "empty quadrature window"
            );
            grid.lo[i] = window.lo[i];
            grid.n[i] = cells[i];
            grid.h[i] = (window.hi[i] - window.lo[i]) / cells[i] as f64;
        }
        grid
    }

    fn len(&self) -> usize {
        self.n[0] * self.n[1]
    }

    fn centre(&self, axis: usize, i: usize) -> f64 {
        self.lo[axis] + (i as f64 + 0.5) * self.h[axis]
    }

    /// Cell centre of flat index c = iy*nx + ix.
    fn point(&self, c: usize) -> [f64; 2] {
        [self.centre(0, c % self.n[0]), self.centre(1, c / self.n[0])]
    }

    fn log_cell_volume(&self) -> f64 {
        (self.h[0] * self.h[1]).ln()
    }

    /// −E at every cell centre.
    fn log_unnormalised(&self, energy: &dyn Energy) -> Vec<f64> {
        (0..self.len())
            .map(|c| -energy.energy(&self.point(c)[..self.d]))
            .collect()
    }
}

/// max and Σ exp(v − max) of a slice (−∞ entries contribute nothing).
fn max_and_scaled_sum(values: &[f64]) -> (f64, f64) {
    let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let sum = values.iter().map(|v| (v - max).exp()).sum();
    (max, sum)
}

/// Ground truth of exp(−E) by the midpoint rule on `cells` cells per axis over `quadrature`,
/// with marginals and the density grid over `display`. `modes` are the centres of the
/// nearest-centre cells for mode masses. Deterministic; d = 1 or 2.
pub fn ground_truth(
    energy: &dyn Energy,
    display: &Window,
    quadrature: &Window,
    cells: &[usize],
    modes: &[Vec<f64>],
) -> GroundTruth {
    let grid = Cells::new(quadrature, cells);
    let d = grid.d;
    assert_eq!(energy.dim(), d, "energy and window dimensions differ");
    assert_eq!(display.lo.len(), d, "display window dimension differs");

    // log Z = log Σ_c exp(−E(c))·|cell| by log-sum-exp.
    let logs = grid.log_unnormalised(energy);
    let (max, sum) = max_and_scaled_sum(&logs);
    let log_z = max + sum.ln() + grid.log_cell_volume();

    // Cell probabilities, moments (two passes for an accurate covariance) and
    // nearest-centre mode masses.
    let weights: Vec<f64> = logs.iter().map(|l| (l - max).exp() / sum).collect();
    let centres: Vec<[f64; 2]> = modes
        .iter()
        .map(|m| [m[0], if d == 2 { m[1] } else { 0.0 }])
        .collect();
    let mut mean = [0.0; 2];
    let mut mode_masses = vec![0.0; modes.len()];
    for iy in 0..grid.n[1] {
        let y = grid.centre(1, iy);
        let row = &weights[iy * grid.n[0]..(iy + 1) * grid.n[0]];
        let mut row_mass = 0.0;
        for (ix, &w) in row.iter().enumerate() {
            let x = grid.centre(0, ix);
            mean[0] += w * x;
            row_mass += w;
            if !centres.is_empty() {
                mode_masses[nearest(x, y, &centres)] += w;
            }
        }
        mean[1] += row_mass * y;
    }
    let mut cov = vec![0.0; d * d];
    for (c, &w) in weights.iter().enumerate() {
        let p = grid.point(c);
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] += w * (p[i] - mean[i]) * (p[j] - mean[j]);
            }
        }
    }
    let mass: f64 = mode_masses.iter().sum();
    if mass > 0.0 {
        mode_masses.iter_mut().for_each(|m| *m /= mass);
    }

    let marginals = (0..d)
        .map(|axis| {
            marginal(
                energy,
                &grid,
                axis,
                display.lo[axis],
                display.hi[axis],
                log_z,
                mean[axis],
                cov[axis * d + axis].sqrt(),
            )
        })
        .collect();

    let density_cells: Vec<usize> = if d == 1 {
        vec![DENSITY_GRID_CELLS_1D]
    } else {
        vec![DENSITY_GRID_CELLS; 2]
    };
    let drawing = Cells::new(display, &density_cells);
    let log_density = drawing
        .log_unnormalised(energy)
        .into_iter()
        .map(|l| l - log_z)
        .collect();

    GroundTruth {
        log_z,
        mean: mean[..d].to_vec(),
        cov,
        marginals,
        mode_masses,
        grid: DensityGrid {
            lo: display.lo.clone(),
            hi: display.hi.clone(),
            nx: drawing.n[0],
            ny: drawing.n[1],
            log_density,
        },
    }
}

/// Index of the centre nearest to (x, y) (for d = 1, y and the centres' second
/// coordinates are 0).
fn nearest(x: f64, y: f64, centres: &[[f64; 2]]) -> usize {
    let mut best = 0;
    let mut best_d = f64::INFINITY;
    for (k, c) in centres.iter().enumerate() {
        let dk = (x - c[0]) * (x - c[0]) + (y - c[1]) * (y - c[1]);
        if dk < best_d {
            best = k;
            best_d = dk;
        }
    }
    best
}

/// Marginal density of `axis` at MARGINAL_BINS bin centres of [lo, hi]: the other axis is
/// integrated on the quadrature grid's cells, p(t) = Σ_j exp(−E(t, y_j) − log Z)·h_y.
#[allow(clippy::too_many_arguments)]
fn marginal(
    energy: &dyn Energy,
    grid: &Cells,
    axis: usize,
    lo: f64,
    hi: f64,
    log_z: f64,
    mean: f64,
    std: f64,
) -> Marginal {
    let bins = MARGINAL_BINS;
    let width = (hi - lo) / bins as f64;
    let other = 1 - axis;
    let mut density: Vec<f64> = (0..bins)
        .map(|b| {
            let t = lo + (b as f64 + 0.5) * width;
            if grid.d == 1 {
                return (-energy.energy(&[t]) - log_z).exp();
            }
            let logs: Vec<f64> = (0..grid.n[other])
                .map(|j| {
                    let mut p = [0.0; 2];
                    p[axis] = t;
                    p[other] = grid.centre(other, j);
                    -energy.energy(&p)
                })
                .collect();
            let (max, sum) = max_and_scaled_sum(&logs);
            (max + sum.ln() + grid.h[other].ln() - log_z).exp()
        })
        .collect();
    let total: f64 = density.iter().sum::<f64>() * width;
    if total > 0.0 {
        density.iter_mut().for_each(|p| *p /= total);
    }
    Marginal {
        lo,
        hi,
        density,
        mean,
        std,
    }
}

/// n samples (row-major n×d) from the piecewise-constant approximation of exp(−E) on the
/// quadrature grid: a cell with probability ∝ exp(−E(centre)), then a uniform point in it.
/// Approximate: exact up to the within-cell variation of the density and the mass outside
/// the window (both negligible for the grids the targets choose, but not zero).
pub fn grid_samples(
    energy: &dyn Energy,
    quadrature: &Window,
    cells: &[usize],
    n: usize,
    rng: &mut Rng,
) -> Vec<f64> {
    let grid = Cells::new(quadrature, cells);
    let d = grid.d;
    let logs = grid.log_unnormalised(energy);
    let max = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut cumulative = Vec::with_capacity(logs.len());
    let mut acc = 0.0;
    for l in &logs {
        acc += (l - max).exp();
        cumulative.push(acc);
    }
    let last = logs.len() - 1;
    let mut out = Vec::with_capacity(n * d);
    for _ in 0..n {
        let u = rng.uniform() * acc;
        let c = cumulative.partition_point(|&s| s <= u).min(last);
        let (ix, iy) = (c % grid.n[0], c / grid.n[0]);
        out.push(grid.lo[0] + (ix as f64 + rng.uniform()) * grid.h[0]);
        if d == 2 {
            out.push(grid.lo[1] + (iy as f64 + rng.uniform()) * grid.h[1]);
        }
    }
    out
}
