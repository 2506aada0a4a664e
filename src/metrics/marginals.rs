//! One-coordinate marginals of samples: moments, density histograms and their total
//! variation distance (docs/methods.md §7, the seed metric and the DDPM view).

use serde::Serialize;

/// Mean and population standard deviation of one coordinate.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Moments {
    pub mean: f64,
    pub std: f64,
}

fn check_axis(samples: &[f64], d: usize, axis: usize) {
    assert!(axis < d, "axis {axis} out of range for dimension {d}");
    assert_eq!(samples.len() % d, 0, "sample length is not a multiple of d");
}

/// Mean and (population) std of coordinate `axis`. Two passes (mean first, then the
/// squared deviations from it) avoid the cancellation of E[x²] − E[x]². NaN with no
/// samples.
///
/// Panics if `axis ≥ d` or `samples.len()` is not a multiple of `d`.
pub fn axis_moments(samples: &[f64], d: usize, axis: usize) -> Moments {
    check_axis(samples, d, axis);
    let n = (samples.len() / d) as f64;
    let values = || samples.iter().skip(axis).step_by(d);
    let mean = values().sum::<f64>() / n;
    let variance = values().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    Moments {
        mean,
        std: variance.sqrt(),
    }
}

/// Density histogram of coordinate `axis` over [lo, hi) with `out.len()` bins,
/// normalised by the TOTAL sample count and the bin width, so mass outside the window
/// (and NaN) is lost, as it should be for comparison with a true density on the window.
/// Writes into `out` to allow reuse without allocation; with no samples it is all 0.
///
/// Panics if `axis ≥ d`, `samples.len()` is not a multiple of `d`, `out` is empty, or
/// not lo < hi.
pub fn axis_histogram(samples: &[f64], d: usize, axis: usize, lo: f64, hi: f64, out: &mut [f64]) {
    check_axis(samples, d, axis);
    assert!(!out.is_empty(), "a histogram needs at least one bin");
    assert!(lo < hi, "histogram window must have lo < hi");
    let bins = out.len();
    let bins_per_unit = bins as f64 / (hi - lo);
    out.fill(0.0);
    for &x in samples.iter().skip(axis).step_by(d) {
        if x >= lo && x < hi {
            // Rounding can put x just below hi at index `bins`; it belongs to the last bin.
            let bin = (((x - lo) * bins_per_unit) as usize).min(bins - 1);
            out[bin] += 1.0;
        }
    }
    let n = samples.len() / d;
    if n > 0 {
        let density = bins_per_unit / n as f64;
        out.iter_mut().for_each(|h| *h *= density);
    }
}

/// Total variation distance between two histograms over the same bins:
/// ½ Σ |p − q| · width.
///
/// Panics if the histograms have different lengths.
pub fn histogram_tv(p: &[f64], q: &[f64], width: f64) -> f64 {
    assert_eq!(p.len(), q.len(), "histograms over different bins");
    0.5 * width * p.iter().zip(q).map(|(a, b)| (a - b).abs()).sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn moments_hand_examples() {
        // Coordinate 1 of (·, 2), (·, 4), (·, 4), (·, 4), (·, 5), (·, 5), (·, 7), (·, 9):
        // mean 5, population variance 4.
        let ys = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let samples: Vec<f64> = ys.iter().flat_map(|&y| [100.0 * y, y]).collect();
        let m = axis_moments(&samples, 2, 1);
        assert!(
            (m.mean - 5.0).abs() < 1e-15 && (m.std - 2.0).abs() < 1e-15,
            "{m:?}"
        );
        let m = axis_moments(&samples, 2, 0);
        assert!((m.mean - 500.0).abs() < 1e-12 && (m.std - 200.0).abs() < 1e-12);
        // A large offset does not spoil the spread (no E[x²] − E[x]² cancellation).
        let shifted: Vec<f64> = ys.iter().map(|y| y + 1e9).collect();
        let m = axis_moments(&shifted, 1, 0);
        assert!((m.std - 2.0).abs() < 1e-6, "{m:?}");
        let m = axis_moments(&[3.0], 1, 0);
        assert_eq!((m.mean, m.std), (3.0, 0.0));
        assert!(axis_moments(&[], 3, 2).mean.is_nan());
    }

    #[test]
    fn histogram_hand_example() {
        // Bins of width 0.5 on [0, 2): 0.0 and 0.49 → bin 0, 1.5 → bin 3; 2.0 (= hi),
        // −0.1 and NaN are outside. n = 6, so each sample adds 1 / (6 · 0.5).
        let xs = [0.0, 0.49, 1.5, 2.0, -0.1, f64::NAN];
        let mut hist = [7.0; 4];
        axis_histogram(&xs, 1, 0, 0.0, 2.0, &mut hist);
        let unit = 1.0 / 3.0;
        assert_eq!(hist, [2.0 * unit, 0.0, 0.0, unit]);
        let mut hist = [1.0; 2];
        axis_histogram(&[], 1, 0, 0.0, 1.0, &mut hist);
        assert_eq!(hist, [0.0, 0.0]);
    }

    #[test]
    fn histogram_integrates_to_in_window_fraction() {
        let mut rng = Rng::new(17);
        let n = 10_000;
        let samples: Vec<f64> = (0..2 * n).map(|_| 2.0 * rng.normal()).collect();
        let (lo, hi, bins) = (-1.5, 3.0, 37);
        let width = (hi - lo) / bins as f64;
        for axis in 0..2 {
            let inside = samples
                .iter()
                .skip(axis)
                .step_by(2)
                .filter(|&&x| x >= lo && x < hi)
                .count();
            let mut hist = vec![0.0; bins];
            axis_histogram(&samples, 2, axis, lo, hi, &mut hist);
            let integral: f64 = hist.iter().sum::<f64>() * width;
            assert!((integral - inside as f64 / n as f64).abs() < 1e-12);
            // And it estimates the density: mass of N(0, 4) on [−1.5, 3) is Φ(1.5) − Φ(−0.75) ≈ 0.7066.
            assert!((integral - 0.7066).abs() < 0.02, "{integral}");
        }
    }

    #[test]
    fn total_variation_hand_examples() {
        let width = 0.5;
        let p = [1.0, 1.0, 0.0, 0.0];
        let q = [0.0, 0.0, 1.0, 1.0];
        assert_eq!(histogram_tv(&p, &q, width), 1.0); // disjoint supports
        assert_eq!(histogram_tv(&p, &p, width), 0.0);
        // Moving mass 0.25 from bin 0 to bin 2: TV = 0.25.
        let r = [0.5, 1.0, 0.5, 0.0];
        assert!((histogram_tv(&p, &r, width) - 0.25).abs() < 1e-15);
        assert_eq!(histogram_tv(&p, &r, width), histogram_tv(&r, &p, width));
    }
}
