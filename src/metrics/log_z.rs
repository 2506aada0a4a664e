//! log Z estimates and effective sample size from the log importance weights
//! log w_k of K trajectories (docs/methods.md §7).

use serde::Serialize;

/// The three numbers docs/methods.md §7 reports from K path weights.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LogZEstimate {
    /// log Ẑ (ELBO) = (1/K) Σ_k log w_k: a lower bound on log Z in expectation.
    pub elbo: f64,
    /// log Ẑ^RW = log((1/K) Σ_k w_k): unbiased in Z, so less biased in log Z; ≥ `elbo` (Jensen).
    pub iw: f64,
    /// ESS = (Σ w)² / (K Σ w²) as a fraction of K, in (0, 1].
    pub ess: f64,
}

/// Estimates log Z from the log weights `log_w` (docs/methods.md §7), computed around the
/// largest log weight so that log w ≈ ±1000 neither overflows nor underflows.
///
/// Non-finite entries: −inf is a weight of 0 (it still counts in K, and makes
/// `elbo` −inf); +inf weights dominate, so `iw` is +inf and `ess` is their share of
/// K; any NaN makes every field NaN. With no weights at all (K = 0) every field is
/// NaN; if every weight is 0, `iw` and `elbo` are −inf and `ess` is 0 (no effective
/// sample).
pub fn estimate_log_z(log_w: &[f64]) -> LogZEstimate {
    let k = log_w.len() as f64;
    if log_w.is_empty() || log_w.iter().any(|x| x.is_nan()) {
        return LogZEstimate {
            elbo: f64::NAN,
            iw: f64::NAN,
            ess: f64::NAN,
        };
    }
    // With +inf and −inf entries both present the mean is undefined, and this sum is NaN.
    let elbo = log_w.iter().sum::<f64>() / k;
    let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::INFINITY {
        let infinite = log_w.iter().filter(|&&x| x == f64::INFINITY).count() as f64;
        return LogZEstimate {
            elbo,
            iw: f64::INFINITY,
            ess: infinite / k,
        };
    }
    if max == f64::NEG_INFINITY {
        return LogZEstimate {
            elbo,
            iw: f64::NEG_INFINITY,
            ess: 0.0,
        };
    }
    // Scaled weights w_k / max_k w_k ∈ [0, 1]: the scale cancels in ESS and is added
    // back in log space for the log-mean-exp.
    let (sum_w, sum_w2) = log_w.iter().fold((0.0, 0.0), |(s1, s2), &x| {
        let w = (x - max).exp();
        (s1 + w, s2 + w * w)
    });
    LogZEstimate {
        elbo,
        iw: max + sum_w.ln() - k.ln(),
        ess: sum_w * sum_w / (k * sum_w2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn equal_weights_give_log_w_and_full_ess() {
        for &lw in &[-3.7, 0.0, 2.5, 812.0] {
            let est = estimate_log_z(&[lw; 50]);
            assert!(close(est.elbo, lw, 1e-12), "{est:?}");
            assert!(close(est.iw, lw, 1e-12), "{est:?}");
            assert!(close(est.ess, 1.0, 1e-12), "{est:?}");
        }
    }

    #[test]
    fn hand_example_two_weights() {
        // w = (1, 3): mean log w = ln3/2, log mean w = ln 2, ESS = 16 / (2·10) = 0.8.
        let est = estimate_log_z(&[0.0, 3f64.ln()]);
        assert!(close(est.elbo, 0.5 * 3f64.ln(), 1e-14));
        assert!(close(est.iw, 2f64.ln(), 1e-14));
        assert!(close(est.ess, 0.8, 1e-14));
    }

    #[test]
    fn hand_example_four_weights() {
        // w = (1, 2, 3, 6): Σw = 12, Σw² = 50, ESS = 144/200, log mean w = ln 3,
        // mean log w = ln(36)/4.
        let lw: Vec<f64> = [1.0f64, 2.0, 3.0, 6.0].iter().map(|w| w.ln()).collect();
        let est = estimate_log_z(&lw);
        assert!(close(est.elbo, 36f64.ln() / 4.0, 1e-14));
        assert!(close(est.iw, 3f64.ln(), 1e-14));
        assert!(close(est.ess, 0.72, 1e-14));
    }

    #[test]
    fn stable_for_huge_and_tiny_log_weights() {
        for &offset in &[1000.0, -1000.0, 1e5, -1e5] {
            let est = estimate_log_z(&[offset, offset + 3f64.ln()]);
            let tol = 1e-12 * (1.0 + f64::abs(offset));
            assert!(close(est.elbo, offset + 0.5 * 3f64.ln(), tol), "{est:?}");
            assert!(close(est.iw, offset + 2f64.ln(), tol), "{est:?}");
            assert!(close(est.ess, 0.8, 1e-12), "{est:?}");
        }
    }

    #[test]
    fn jensen_elbo_below_iw_and_ess_in_unit_interval() {
        let mut rng = Rng::new(11);
        for trial in 0..20 {
            let k = 2 + rng.index(500);
            let spread = 0.1 + 5.0 * rng.uniform();
            let lw: Vec<f64> = (0..k).map(|_| spread * rng.normal() - 40.0).collect();
            let est = estimate_log_z(&lw);
            assert!(est.elbo <= est.iw, "trial {trial}: {est:?}");
            assert!(est.ess > 0.0 && est.ess <= 1.0, "trial {trial}: {est:?}");
            // Direct evaluation agrees where it does not overflow (weights ~ e^-40).
            let w: Vec<f64> = lw.iter().map(|x| x.exp()).collect();
            let s1: f64 = w.iter().sum();
            let s2: f64 = w.iter().map(|x| x * x).sum();
            assert!(close(est.iw, (s1 / k as f64).ln(), 1e-10));
            assert!(close(est.ess, s1 * s1 / (k as f64 * s2), 1e-10));
        }
    }

    #[test]
    fn one_dominant_weight_gives_ess_one_over_k() {
        let k = 10;
        let mut lw = vec![-60.0; k];
        lw[3] = 0.0;
        let est = estimate_log_z(&lw);
        assert!(close(est.ess, 1.0 / k as f64, 1e-12), "{est:?}");
        assert!(close(est.iw, -(k as f64).ln(), 1e-12), "{est:?}");
        assert!(close(est.elbo, -60.0 * 9.0 / 10.0, 1e-12), "{est:?}");
    }

    #[test]
    fn non_finite_entries() {
        let ninf = f64::NEG_INFINITY;
        // A zero weight counts in K: w = (1, 0) → mean w = 1/2, ESS = 1/2.
        let est = estimate_log_z(&[0.0, ninf]);
        assert_eq!(est.elbo, ninf);
        assert!(close(est.iw, -(2f64.ln()), 1e-14));
        assert!(close(est.ess, 0.5, 1e-14));

        let est = estimate_log_z(&[ninf, ninf]);
        assert_eq!(est.iw, ninf);
        assert_eq!(est.ess, 0.0);

        let est = estimate_log_z(&[1.0, f64::INFINITY, 2.0, f64::INFINITY]);
        assert_eq!(est.iw, f64::INFINITY);
        assert_eq!(est.elbo, f64::INFINITY);
        assert!(close(est.ess, 0.5, 1e-14));

        for lw in [vec![0.0, f64::NAN, 1.0], vec![f64::NAN], vec![]] {
            let est = estimate_log_z(&lw);
            assert!(est.elbo.is_nan() && est.iw.is_nan() && est.ess.is_nan());
        }
    }
}
