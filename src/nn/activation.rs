//! Hidden-layer nonlinearities (methods.md §1) and the f32 error function that
//! exact GELU needs.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// x·Φ(x) with the exact normal CDF (torch's default `nn.GELU()`).
    Gelu,
    /// x·σ(x).
    Silu,
    /// max(0, x); derivative 0 at the kink (torch's convention).
    Relu,
}

impl Activation {
    #[inline]
    pub fn apply(self, z: f32) -> f32 {
        match self {
            Activation::Gelu => z * normal_cdf_and_pdf(z).0,
            Activation::Silu => z * sigmoid(z),
            Activation::Relu => z.max(0.0),
        }
    }

    #[inline]
    pub fn derivative(self, z: f32) -> f32 {
        match self {
            // d/dz z·Φ(z) = Φ(z) + z·φ(z)
            Activation::Gelu => {
                let (cdf, pdf) = normal_cdf_and_pdf(z);
                cdf + z * pdf
            }
            // d/dz z·σ(z) = σ(z)·(1 + z·(1 − σ(z)))
            Activation::Silu => {
                let s = sigmoid(z);
                s * (1.0 + z * (1.0 - s))
            }
            Activation::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

#[inline]
fn sigmoid(z: f32) -> f32 {
    // For z → −∞, exp(−z) overflows to +∞ and the quotient is the correct 0.
    1.0 / (1.0 + (-z).exp())
}

const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// (Φ(z), φ(z)) of the standard normal. Sharing exp(−z²/2) between both halves
/// makes the GELU derivative cost one exponential; for z < 0, Φ comes from
/// erfc directly so the lower tail keeps its relative accuracy.
#[inline]
fn normal_cdf_and_pdf(z: f32) -> (f32, f32) {
    let gauss = (-0.5 * z * z).exp();
    let pdf = FRAC_1_SQRT_2PI * gauss;
    let u = z.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let cdf = if u < 1.0 {
        0.5 + 0.5 * erf_small(z * std::f32::consts::FRAC_1_SQRT_2)
    } else {
        // erfc(u) = exp(−u²)·Q(u) and u² = z²/2, so exp(−u²) is `gauss`.
        let upper = if u < ERF_SATURATION {
            0.5 * gauss * erfc_scaled_mid(u)
        } else {
            0.0
        };
        if z < 0.0 {
            upper
        } else {
            1.0 - upper
        }
    };
    (cdf, pdf)
}

/// Beyond this, 1 − erf(x) < 1.6e-8, below half an f32 ulp of 1.
const ERF_SATURATION: f32 = 4.0;

/// erf(x) for |x| < 1 as x·P(x²): P interpolates erf(x)/x at Chebyshev nodes
/// of x² ∈ [0, 1] (degree 6, truncation error 1.3e-9, fitted for this crate).
// P[0] is the fitted value, one f32 ulp below 2/√π: the fit trades it against the
// other coefficients, so it is not the constant.
#[allow(clippy::approx_constant)]
#[inline]
fn erf_small(x: f32) -> f32 {
    const P: [f32; 7] = [
        1.128_379_1,
        -0.376_126_26,
        0.112_835_94,
        -0.026_854_211,
        0.005_189_087_2,
        -0.000_801_686_43,
        7.875_875e-5,
    ];
    let s = x * x;
    let mut p = P[6];
    for &c in P[..6].iter().rev() {
        p = p * s + c;
    }
    x * p
}

/// Q(x) = exp(x²)·erfc(x) for 1 ≤ x < 4, a polynomial in w = (x − 2.5)/1.5
/// interpolating at Chebyshev nodes (degree 11, truncation error 1e-8 in Q,
/// at most 4e-9 in erfc after the factor exp(−x²) ≤ e⁻¹).
#[inline]
fn erfc_scaled_mid(x: f32) -> f32 {
    const Q: [f32; 12] = [
        0.210_806_35,
        -0.111_521_02,
        0.056_110_95,
        -0.027_005_458,
        0.012_484_123,
        -0.005_568_837_7,
        0.002_425_639,
        -0.001_013_662_5,
        0.000_368_151_1,
        -0.000_147_416_14,
        9.629_12e-5,
        -3.566_418e-5,
    ];
    let w = (x - 2.5) * (1.0 / 1.5);
    let mut q = Q[11];
    for &c in Q[..11].iter().rev() {
        q = q * w + c;
    }
    q
}

/// The error function in f32, max abs error below 2e-7 on the reals (tested on
/// a dense grid against an f64 reference). NaN propagates.
#[inline]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    if a < 1.0 {
        erf_small(x)
    } else if a < ERF_SATURATION {
        let r = 1.0 - (-a * a).exp() * erfc_scaled_mid(a);
        r.copysign(x)
    } else if a.is_nan() {
        x
    } else {
        1.0f32.copysign(x)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// erf in f64 to ~1e-15: the positive-term series
    /// erf(x) = 2/√π·e^{−x²}·Σ 2ⁿx^{2n+1}/(1·3···(2n+1)) (no cancellation) for |x| < 3,
    /// and the continued fraction erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
    /// for |x| ≥ 3.
    pub(crate) fn erf_f64(x: f64) -> f64 {
        let a = x.abs();
        let r = if a < 3.0 {
            erf_series(a)
        } else {
            1.0 - erfc_continued_fraction(a)
        };
        r.copysign(x)
    }

    fn erf_series(a: f64) -> f64 {
        let mut term = a;
        let mut sum = a;
        let mut n = 0.0;
        while term > 1e-17 * sum {
            n += 1.0;
            term *= 2.0 * a * a / (2.0 * n + 1.0);
            sum += term;
        }
        2.0 / std::f64::consts::PI.sqrt() * (-a * a).exp() * sum
    }

    fn erfc_continued_fraction(a: f64) -> f64 {
        // Evaluated backwards from a deep fixed depth: partial numerators k/2.
        let mut tail = a;
        for k in (1..200).rev() {
            tail = a + (k as f64 / 2.0) / tail;
        }
        (-a * a).exp() / std::f64::consts::PI.sqrt() / tail
    }

    pub(crate) fn normal_cdf_f64(z: f64) -> f64 {
        let u = z / std::f64::consts::SQRT_2;
        if u < -3.0 {
            0.5 * erfc_continued_fraction(-u)
        } else {
            0.5 * (1.0 + erf_f64(u))
        }
    }

    #[test]
    fn reference_erf_matches_known_values_and_branches_agree() {
        // Tabulated values (Abramowitz & Stegun Table 7.1 / high-precision).
        let known = [
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (-1.5, -0.966_105_146_475_310_7),
        ];
        for (x, e) in known {
            assert!((erf_f64(x) - e).abs() < 1e-15, "erf({x})");
        }
        assert!((erfc_continued_fraction(3.0) / 2.209_049_699_858_544e-5 - 1.0).abs() < 1e-13);
        // The two methods agree where they meet, to the few ulps of erf ≈ 1 that
        // the series' ~50 rounded terms cost.
        for x in [2.5, 3.0, 3.5, 4.0] {
            let s = 1.0 - erf_series(x);
            let c = erfc_continued_fraction(x);
            assert!((s - c).abs() < 5e-15, "x = {x}: {s} vs {c}");
        }
    }

    #[test]
    fn erf_f32_max_abs_error_below_2e7_on_dense_grid() {
        let mut worst = (0.0f64, 0.0f32);
        let n = 600_000;
        for i in 0..=n {
            let x = -6.0 + 12.0 * i as f32 / n as f32;
            let err = (erf(x) as f64 - erf_f64(x as f64)).abs();
            if err > worst.0 {
                worst = (err, x);
            }
        }
        assert!(
            worst.0 <= 2e-7,
            "max |erf error| {} at {}",
            worst.0,
            worst.1
        );
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(f32::INFINITY), 1.0);
        assert_eq!(erf(f32::NEG_INFINITY), -1.0);
        assert!(erf(f32::NAN).is_nan());
        // Odd symmetry holds exactly by construction.
        for x in [0.3f32, 1.0, 2.7, 3.99] {
            assert_eq!(erf(-x), -erf(x));
        }
    }

    #[test]
    fn gelu_value_and_derivative_match_f64_reference() {
        let (mut worst_v, mut worst_d) = (0.0f64, 0.0f64);
        let n = 200_000;
        for i in 0..=n {
            let z = -10.0 + 20.0 * i as f32 / n as f32;
            let zd = z as f64;
            let cdf = normal_cdf_f64(zd);
            let pdf = (-0.5 * zd * zd).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let v = (Activation::Gelu.apply(z) as f64 - zd * cdf).abs() / zd.abs().max(1.0);
            let d = (Activation::Gelu.derivative(z) as f64 - (cdf + zd * pdf)).abs();
            worst_v = worst_v.max(v);
            worst_d = worst_d.max(d);
        }
        assert!(worst_v < 3e-7, "GELU value error {worst_v}");
        assert!(worst_d < 5e-7, "GELU derivative error {worst_d}");
        // Lower tail keeps relative accuracy (Φ(−5) ≈ 2.87e-7).
        let tail = Activation::Gelu.apply(-5.0) as f64;
        assert!(
            (tail / (-5.0 * normal_cdf_f64(-5.0)) - 1.0).abs() < 1e-5,
            "{tail}"
        );
    }

    #[test]
    fn derivatives_match_central_differences_for_every_activation() {
        for act in [Activation::Gelu, Activation::Silu, Activation::Relu] {
            for i in 0..400 {
                // Avoid the ReLU kink at 0 itself: grid offset by 0.0125.
                let z = -5.0125 + 0.025 * i as f64;
                let h = 1e-3;
                let f = |z: f64| act.apply(z as f32) as f64;
                let fd = (f(z + h) - f(z - h)) / (2.0 * h);
                let an = act.derivative(z as f32) as f64;
                assert!((fd - an).abs() < 1e-3, "{act:?} at {z}: fd {fd} vs {an}");
            }
        }
        assert_eq!(Activation::Relu.derivative(0.0), 0.0);
        assert_eq!(Activation::Relu.apply(-2.0), 0.0);
        assert_eq!(Activation::Silu.apply(-200.0), 0.0);
        assert_eq!(Activation::Silu.derivative(-200.0), 0.0);
    }

    #[test]
    fn activation_serializes_lowercase() {
        assert_eq!(
            serde_json::to_string(&Activation::Gelu).unwrap(),
            "\"gelu\""
        );
        let a: Activation = serde_json::from_str("\"silu\"").unwrap();
        assert_eq!(a, Activation::Silu);
    }
}
