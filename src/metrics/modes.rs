//! Per-mode masses and mode coverage (docs/methods.md §7).

/// Fraction of samples whose nearest centre (Euclidean) is each centre; sums to 1.
///
/// Ties go to the earlier centre. A sample with a non-finite coordinate has no nearest
/// centre and counts for none, so then the masses sum to less than 1; with no samples
/// every mass is 0.
///
/// Panics if `d` is 0, `samples.len()` is not a multiple of `d`, or a centre does not
/// have `d` coordinates.
pub fn mode_masses(samples: &[f64], d: usize, centres: &[Vec<f64>]) -> Vec<f64> {
    assert!(d > 0, "dimension must be positive");
    assert_eq!(samples.len() % d, 0, "sample length is not a multiple of d");
    assert!(
        centres.iter().all(|c| c.len() == d),
        "every centre needs d coordinates"
    );
    let mut counts = vec![0usize; centres.len()];
    let n = samples.len() / d;
    for point in samples.chunks_exact(d) {
        if !point.iter().all(|x| x.is_finite()) {
            continue;
        }
        let mut nearest = None;
        let mut nearest_dist = f64::INFINITY;
        for (m, centre) in centres.iter().enumerate() {
            let dist: f64 = point
                .iter()
                .zip(centre)
                .map(|(x, c)| (x - c) * (x - c))
                .sum();
            if dist < nearest_dist {
                nearest_dist = dist;
                nearest = Some(m);
            }
        }
        if let Some(m) = nearest {
            counts[m] += 1;
        }
    }
    let scale = if n > 0 { 1.0 / n as f64 } else { 0.0 };
    counts.iter().map(|&c| c as f64 * scale).collect()
}

/// Fraction of modes whose captured mass is at least half their true mass (docs/methods.md
/// §7): the share of indices m with `model[m] ≥ truth[m] / 2`. A NaN model mass
/// captures nothing; with no modes the result is NaN.
///
/// Panics if the two slices differ in length.
pub fn mode_coverage(model: &[f64], truth: &[f64]) -> f64 {
    assert_eq!(model.len(), truth.len(), "one mass per mode in each");
    let covered = model
        .iter()
        .zip(truth)
        .filter(|(&captured, &true_mass)| captured >= 0.5 * true_mass)
        .count();
    covered as f64 / model.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masses_hand_example() {
        let centres = vec![vec![0.0, 0.0], vec![10.0, 0.0], vec![0.0, 10.0]];
        // Nearest: 0, 0, 1, 1, 1, 2, 0 (the last is nearer 0 than 2: 4.9 vs 5.1).
        let samples = [
            0.1, 0.2, -3.0, 1.0, 9.0, 0.0, 12.0, -1.0, 6.0, 0.0, 0.0, 8.0, 0.0, 4.9,
        ];
        let masses = mode_masses(&samples, 2, &centres);
        let expected = [3.0 / 7.0, 3.0 / 7.0, 1.0 / 7.0];
        for (m, e) in masses.iter().zip(expected) {
            assert!((m - e).abs() < 1e-15, "{masses:?}");
        }
        assert!((masses.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn masses_edge_cases() {
        let centres = vec![vec![-1.0], vec![1.0]];
        // A tie (0.0) goes to the first centre; NaN counts for none.
        let masses = mode_masses(&[0.0, 2.0, f64::NAN, 5.0], 1, &centres);
        assert_eq!(masses, vec![0.25, 0.5]);
        assert_eq!(mode_masses(&[], 1, &centres), vec![0.0, 0.0]);
        assert!(mode_masses(&[1.0, 2.0], 1, &[]).is_empty());
    }

    #[test]
    fn coverage_counts_exactly_the_modes_at_half_their_mass() {
        let truth = [0.2, 0.2, 0.2, 0.2, 0.2];
        // Exactly half counts; just below half does not.
        let model = [0.1, 0.0999, 0.5, 0.0, 0.3001];
        assert_eq!(mode_coverage(&model, &truth), 3.0 / 5.0);
        // Unequal true masses: the threshold is per mode.
        let truth = [0.844, 0.156];
        assert_eq!(mode_coverage(&[0.5, 0.5], &truth), 1.0);
        assert_eq!(mode_coverage(&[0.93, 0.07], &truth), 0.5);
        assert_eq!(mode_coverage(&[0.4, 0.6], &truth), 0.5);
        assert_eq!(mode_coverage(&[f64::NAN, 0.6], &truth), 0.5);
        assert!(mode_coverage(&[], &[]).is_nan());
    }

    #[test]
    fn coverage_of_masses_from_samples() {
        // 4 centres, samples only near two of them: half the modes are covered.
        let centres = vec![
            vec![-5.0, -5.0],
            vec![5.0, -5.0],
            vec![-5.0, 5.0],
            vec![5.0, 5.0],
        ];
        let samples = [-5.1, -4.8, 4.9, -5.2, -4.0, -6.0, 5.5, -5.0];
        let masses = mode_masses(&samples, 2, &centres);
        assert_eq!(masses, vec![0.5, 0.5, 0.0, 0.0]);
        assert_eq!(mode_coverage(&masses, &[0.25; 4]), 0.5);
    }
}
