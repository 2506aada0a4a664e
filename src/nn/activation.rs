//! Hidden-layer nonlinearities (docs/methods.md §1) and the f32 error function that
//! exact GELU needs.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// x·Φ(x) with the exact normal CDF (torch's default `nn.GELU()`).
    Gelu,
    /// GELU whose forward value takes Φ from a rational erf (`normal_cdf_fast`, abs error
    /// ≤ 2.5e-7, no exponential): ~3× cheaper, and as exact as f32 rounding (torch's own erf
    /// is ~1 ulp). The derivative is GELU's, which is the derivative of this forward within
    /// 1e-6 (4.3e-6 for 5.3 < |z| < 5.66; tested). The `browser` preset's, so the page's,
    /// default: its rollouts take ~40 % less time in wasm (docs/performance.md). The `seed`
    /// and `paper` presets keep exact GELU, as the original codes have it.
    #[serde(rename = "gelu-fast")]
    GeluFast,
    /// x·σ(x).
    Silu,
    /// max(0, x); derivative 0 at the kink (torch's convention).
    Relu,
}

impl Activation {
    #[inline(always)]
    pub fn apply(self, z: f32) -> f32 {
        match self {
            Activation::Gelu => z * normal_cdf_and_pdf(z).0,
            Activation::GeluFast => z * normal_cdf_fast(z),
            Activation::Silu => z * sigmoid(z),
            Activation::Relu => z.max(0.0),
        }
    }

    #[inline(always)]
    pub fn derivative(self, z: f32) -> f32 {
        match self {
            // d/dz z·Φ(z) = Φ(z) + z·φ(z). φ bottoms out at φ(0)·e^−80 (exp_f32's clamp), so
            // z is clamped in the product: else z·φ(z) grows again (720 at z = 1e38, ∞ at ∞);
            // for |z| ≥ 16 the true z·φ(z) < 1e-54 is 0 in f32 either way.
            Activation::Gelu | Activation::GeluFast => {
                let (cdf, pdf) = normal_cdf_and_pdf(z);
                cdf + z.clamp(-16.0, 16.0) * pdf
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

    /// out[i] = apply(z[i]). The match sits outside the loop and the scalar
    /// functions are branch-free, so the compiler can vectorise each arm.
    #[inline(always)]
    pub fn apply_slice(self, z: &[f32], out: &mut [f32]) {
        assert_eq!(
            z.len(),
            out.len(),
            "Activation::apply_slice: lengths differ"
        );
        match self {
            Activation::Gelu => map_into(z, out, |z| Activation::Gelu.apply(z)),
            Activation::GeluFast => map_into(z, out, |z| Activation::GeluFast.apply(z)),
            Activation::Silu => map_into(z, out, |z| Activation::Silu.apply(z)),
            Activation::Relu => map_into(z, out, |z| Activation::Relu.apply(z)),
        }
    }

    /// g[i] *= derivative(z[i]): the backward step through the activation.
    #[inline(always)]
    pub fn scale_by_derivative(self, z: &[f32], g: &mut [f32]) {
        assert_eq!(
            z.len(),
            g.len(),
            "Activation::scale_by_derivative: lengths differ"
        );
        match self {
            Activation::Gelu | Activation::GeluFast => {
                scale_by(z, g, |z| Activation::Gelu.derivative(z))
            }
            Activation::Silu => scale_by(z, g, |z| Activation::Silu.derivative(z)),
            Activation::Relu => scale_by(z, g, |z| Activation::Relu.derivative(z)),
        }
    }
}

#[inline(always)]
fn map_into(z: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
    for (o, &z) in out.iter_mut().zip(z) {
        *o = f(z);
    }
}

#[inline(always)]
fn scale_by(z: &[f32], g: &mut [f32], f: impl Fn(f32) -> f32) {
    for (g, &z) in g.iter_mut().zip(z) {
        *g *= f(z);
    }
}

/// e^x in f32 without branches or library calls (so activation loops vectorise,
/// natively and in wasm). x = k·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2,
/// so k·LN2_HI is exact), e^r by its degree-7 Taylor polynomial (truncation
/// ≤ 5e-9 relative), then scaled by 2^k built in the exponent bits. The input is
/// clamped to [−80, 80]: e^x for x < −80 returns e^−80 ≈ 1.8e-35 rather than a
/// denormal or 0, so it and its products with O(1) numbers stay normal floats
/// (denormal arithmetic is ~100× slower on x86), and x > 80 returns e^80.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln2 with its 12 low mantissa bits cleared (0.693115234375, so k·LN2_HI is
    // exact for |k| ≤ 2¹²), and the remainder.
    const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
    const LN2_LO: f32 = (std::f64::consts::LN_2 - LN2_HI as f64) as f32;
    // Adding 1.5·2²³ rounds to an integer held in the low mantissa bits.
    const ROUNDER: f32 = 12_582_912.0;
    let x = x.clamp(-80.0, 80.0);
    let shifted = x * LOG2_E + ROUNDER;
    let k = shifted - ROUNDER;
    let k_int = shifted.to_bits().wrapping_sub(ROUNDER.to_bits()) as i32;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    let two_to_k = f32::from_bits((k_int.wrapping_add(127) as u32) << 23);
    p * two_to_k
}

#[inline(always)]
fn sigmoid(z: f32) -> f32 {
    // For z → −∞, exp(−z) saturates at e^80 and σ ≈ 1.8e-35, not exactly 0.
    1.0 / (1.0 + exp_f32(-z))
}

const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// (Φ(z), φ(z)) of the standard normal, branch-free. Sharing exp(−z²/2) between
/// both makes the GELU derivative cost one exponential; for |z|/√2 ≥ 1, Φ comes
/// from erfc directly so the lower tail keeps its relative accuracy.
#[inline(always)]
fn normal_cdf_and_pdf(z: f32) -> (f32, f32) {
    let gauss = exp_f32(-0.5 * z * z);
    let pdf = FRAC_1_SQRT_2PI * gauss;
    let u = z.abs() * std::f32::consts::FRAC_1_SQRT_2;
    // Both branches are evaluated on clamped arguments and one is selected.
    let central = 0.5 + 0.5 * erf_small((z * std::f32::consts::FRAC_1_SQRT_2).clamp(-1.0, 1.0));
    // erfc(u) = exp(−u²)·Q(u) and u² = z²/2, so exp(−u²) is `gauss`.
    let upper = 0.5 * gauss * erfc_scaled_mid(u.clamp(1.0, ERF_SATURATION));
    let upper = if u < ERF_SATURATION { upper } else { 0.0 };
    let tail = if z < 0.0 { upper } else { 1.0 - upper };
    let cdf = if u < 1.0 { central } else { tail };
    (cdf, pdf)
}

/// Φ(z) = ½(1 + erf(z/√2)) with erf(u) ≈ u·P(u²)/Q(u²) on u clamped to [−4, 4]: one
/// division and no exponential, so GELU's forward value costs ~15 vector operations instead
/// of ~50 (it was half of a seed forward pass). P (degree 6) and Q (degree 4, Q(0) = 1,
/// positive on [0, 16]) were fitted for this crate by iteratively reweighted least squares
/// (max error 5.5e-8 in f64; 2.5e-7 after f32 rounding, tested below). The absolute error
/// is what the network sees; like torch's own f32 `0.5·z·(1 + erf(z/√2))`, the far lower
/// tail (z < −4) is not relatively accurate, which `derivative` does not rely on.
#[inline(always)]
fn normal_cdf_fast(z: f32) -> f32 {
    const P: [f32; 7] = FAST_ERF_P;
    const Q: [f32; 5] = FAST_ERF_Q;
    let u = (z * std::f32::consts::FRAC_1_SQRT_2).clamp(-ERF_SATURATION, ERF_SATURATION);
    let s = u * u;
    let mut p = P[6];
    for &c in P[..6].iter().rev() {
        p = p * s + c;
    }
    let mut q = Q[4];
    for &c in Q[..4].iter().rev() {
        q = q * s + c;
    }
    // At the clamp the rounded ratio is 1 + 1 ulp, which made Φ(z) = −6e-8 for z < −5.66 and
    // GELU(z) = +6e-8·|z| (GELU(−1e6) = 0.06, GELU(−∞) = +∞). Clamping keeps Φ in [0, 1].
    0.5 + 0.5 * (u * p / q).clamp(-1.0, 1.0)
}

/// Numerator (in u², from u²⁰) and denominator of `normal_cdf_fast`'s rational erf.
const FAST_ERF_P: [f32; 7] = [
    1.128_378_6,
    0.213_981_7,
    0.052_438_51,
    0.004_294_656,
    0.000_155_576_64,
    -1.990_490_5e-6,
    1.921_662_3e-8,
];
const FAST_ERF_Q: [f32; 5] = [1.0, 0.522_964, 0.120_815_05, 0.015_554_329, 0.001_098_431];

/// Beyond this, 1 − erf(x) < 1.6e-8, below half an f32 ulp of 1.
const ERF_SATURATION: f32 = 4.0;

/// erf(x) for |x| < 1 as x·P(x²): P interpolates erf(x)/x at Chebyshev nodes
/// of x² ∈ [0, 1] (degree 6, truncation error 1.3e-9, fitted for this crate).
// P[0] is the fitted value, one f32 ulp below 2/√π: the fit trades it against the
// other coefficients, so it is not the constant.
#[allow(clippy::approx_constant)]
#[inline(always)]
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
#[inline(always)]
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
        let r = 1.0 - exp_f32(-a * a) * erfc_scaled_mid(a);
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
    fn exp_f32_relative_error_within_three_ulp() {
        let mut worst = (0.0f64, 0.0f32);
        let n = 400_000;
        for i in 0..=n {
            let x = -80.0 + 160.0 * i as f32 / n as f32;
            let err = (exp_f32(x) as f64 / (x as f64).exp() - 1.0).abs();
            if err > worst.0 {
                worst = (err, x);
            }
        }
        // One f32 ulp is 2^-23 ≈ 1.19e-7 relative at worst.
        assert!(
            worst.0 < 3.6e-7,
            "max relative error {} at {}",
            worst.0,
            worst.1
        );
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-1000.0), exp_f32(-80.0));
        assert_eq!(exp_f32(1000.0), exp_f32(80.0));
        assert!(exp_f32(-80.0) > f32::MIN_POSITIVE * 1e3);
    }

    #[test]
    fn slice_forms_match_scalar_forms() {
        let z: Vec<f32> = (0..1000).map(|i| -12.0 + 0.024 * i as f32).collect();
        for act in [
            Activation::Gelu,
            Activation::GeluFast,
            Activation::Silu,
            Activation::Relu,
        ] {
            let mut out = vec![f32::NAN; z.len()];
            act.apply_slice(&z, &mut out);
            let mut g: Vec<f32> = (0..z.len()).map(|i| 1.0 + i as f32).collect();
            act.scale_by_derivative(&z, &mut g);
            for i in 0..z.len() {
                assert_eq!(out[i], act.apply(z[i]), "{act:?}");
                assert_eq!(g[i], (1.0 + i as f32) * act.derivative(z[i]), "{act:?}");
            }
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
    fn fast_gelu_is_within_its_bound_of_the_exact_one() {
        // |GeluFast(z) − z·Φ(z)| = |z|·|Φ error| ≤ 2.5e-7·|z| plus the final rounding, and
        // past |z| = 6 Φ is exactly 0 or 1 (its error < 1e-9), so the error must not keep
        // growing with |z| (it did, +6e-8·|z|, before the erf clamp).
        let n = 200_000;
        for i in 0..=n {
            let z = -50.0 + 100.0 * i as f32 / n as f32;
            let exact = z as f64 * normal_cdf_f64(z as f64);
            let err = (Activation::GeluFast.apply(z) as f64 - exact).abs();
            assert!(
                err <= 2.5e-7 * (z.abs().min(6.0) as f64) + 6e-8 * exact.abs(),
                "GeluFast({z}) off by {err}"
            );
            assert_eq!(
                Activation::GeluFast.derivative(z),
                Activation::Gelu.derivative(z)
            );
        }
        assert_eq!(
            serde_json::from_str::<Activation>("\"gelu-fast\"").unwrap(),
            Activation::GeluFast
        );
    }

    /// The same rational Φ as `normal_cdf_fast`, in f64 (same coefficients), to differentiate.
    fn normal_cdf_fast_f64(z: f64) -> f64 {
        let u = (z / std::f64::consts::SQRT_2).clamp(-4.0, 4.0);
        let s = u * u;
        let p = FAST_ERF_P
            .iter()
            .rev()
            .fold(0.0, |acc, &c| acc * s + c as f64);
        let q = FAST_ERF_Q
            .iter()
            .rev()
            .fold(0.0, |acc, &c| acc * s + c as f64);
        0.5 + 0.5 * (u * p / q).clamp(-1.0, 1.0)
    }

    #[test]
    fn fast_gelu_backward_is_the_derivative_of_its_forward() {
        // Backward uses exact GELU's derivative Φ + zφ for both forms. It must match the
        // derivative of GeluFast's own forward z·Φ̃(z): by an f64 central difference of the
        // same rational Φ̃ (h = 1e-4, truncation ~1e-9), and by a central difference of the
        // f32 forward itself (h = 1/64: truncation h²/6·|f‴| ≤ 3.3e-5, rounding of both
        // values ≲ 2.4e-7·|z|·2/(2h) = 6e-6·|z|). Measured: 7.7e-7 for |z| < 5.3; up to 4.3e-6
        // on 5.3–5.66, where the rational's slope (not fitted) wiggles before its clamp at
        // u = 4. Relative to an O(1) derivative, far below minibatch gradient noise.
        let (mut worst_f64, mut worst_f64_edge, mut worst_f32) = (0.0f64, 0.0f64, 0.0f64);
        let n = 40_000;
        for i in 0..=n {
            let z = -20.0 + 40.0 * i as f64 / n as f64;
            let backward = Activation::GeluFast.derivative(z as f32) as f64;
            let zf = z as f32 as f64;
            let g = |z: f64| z * normal_cdf_fast_f64(z);
            let h = 1e-4;
            let e64 = (backward - (g(zf + h) - g(zf - h)) / (2.0 * h)).abs();
            if zf.abs() < 5.3 {
                worst_f64 = worst_f64.max(e64);
            } else {
                worst_f64_edge = worst_f64_edge.max(e64);
            }
            let h = 1.0 / 64.0;
            let f = |z: f64| Activation::GeluFast.apply(z as f32) as f64;
            let e32 = (backward - (f(zf + h) - f(zf - h)) / (2.0 * h)).abs();
            worst_f32 = worst_f32.max(e32 / (4e-5 + 6e-6 * zf.abs()));
        }
        println!("worst {worst_f64:e} {worst_f64_edge:e} {worst_f32:e}");
        assert!(
            worst_f64 < 1e-6,
            "backward vs d/dz of the f64 forward: {worst_f64}"
        );
        assert!(
            worst_f64_edge < 5e-6,
            "same for 5.3 ≤ |z|: {worst_f64_edge}"
        );
        assert!(
            worst_f32 < 1.0,
            "backward vs d/dz of the f32 forward: {worst_f32}× bound"
        );
    }

    #[test]
    fn gelu_forms_stay_sane_at_huge_and_non_finite_inputs() {
        for act in [Activation::Gelu, Activation::GeluFast] {
            for z in [-1e38f32, -1e30, -1e6, -100.0, -20.0] {
                assert_eq!(act.apply(z), 0.0, "{act:?}({z})");
                let d = act.derivative(z);
                assert!((-1e-32..=0.0).contains(&d), "{act:?}'({z}) = {d}");
            }
            for z in [20.0f32, 1e6, 1e30, 1e38] {
                assert_eq!(act.apply(z), z, "{act:?}({z})");
                assert_eq!(act.derivative(z), 1.0, "{act:?}'({z})");
            }
            assert_eq!(act.apply(f32::INFINITY), f32::INFINITY);
            assert_eq!(act.derivative(f32::INFINITY), 1.0);
            assert!(act.derivative(f32::NEG_INFINITY).abs() < 1e-32);
            // −∞·Φ(−∞) = −∞·0, as in torch's f32 GELU.
            assert!(act.apply(f32::NEG_INFINITY).is_nan());
            assert!(act.apply(f32::NAN).is_nan());
            assert!(act.derivative(f32::NAN).is_nan());
        }
        // Φ̃ is a probability everywhere (it was −6e-8 below z = −5.66 before the clamp).
        for i in 0..=100_000 {
            let z = -1e3 + 2e3 * i as f32 / 100_000.0;
            let p = normal_cdf_fast(z);
            assert!((0.0..=1.0).contains(&p), "Φ̃({z}) = {p}");
        }
    }

    #[test]
    fn fast_normal_cdf_max_abs_error_below_2_5e7() {
        // The rational erf behind GELU's forward value, on a dense grid past its clamp.
        let mut worst = (0.0f64, 0.0f32);
        let n = 1_000_000;
        for i in 0..=n {
            let z = -9.0 + 18.0 * i as f32 / n as f32;
            let err = (normal_cdf_fast(z) as f64 - normal_cdf_f64(z as f64)).abs();
            if err > worst.0 {
                worst = (err, z);
            }
        }
        assert!(
            worst.0 <= 2.5e-7,
            "max |Φ error| {} at {}",
            worst.0,
            worst.1
        );
        assert_eq!(normal_cdf_fast(0.0), 0.5);
        assert_eq!(normal_cdf_fast(f32::INFINITY), 1.0);
    }

    #[test]
    fn derivatives_match_central_differences_for_every_activation() {
        for act in [
            Activation::Gelu,
            Activation::GeluFast,
            Activation::Silu,
            Activation::Relu,
        ] {
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
        assert!(Activation::Silu.apply(-200.0).abs() < 1e-32);
        assert!(Activation::Silu.derivative(-200.0).abs() < 1e-32);
        assert_eq!(Activation::Silu.apply(200.0), 200.0);
        assert_eq!(Activation::Silu.derivative(200.0), 1.0);
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
