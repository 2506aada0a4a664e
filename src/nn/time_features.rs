//! Fourier time features of the seed (docs/methods.md §1), concatenated with x as
//! the network input.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FourierFeatures {
    /// K: features are cos(kπt), sin(kπt) for k = 1..K.
    pub frequencies: usize,
}

impl FourierFeatures {
    pub fn new(frequencies: usize) -> Self {
        FourierFeatures { frequencies }
    }

    /// Number of features, 2K.
    pub fn dim(&self) -> usize {
        2 * self.frequencies
    }

    /// Writes (cos πt, sin πt, cos 2πt, sin 2πt, …) into `out` (len 2K; panics otherwise).
    /// Angles are formed in f64 so features at t near 1 carry no f32 phase error.
    pub fn write(&self, t: f64, out: &mut [f32]) {
        assert_eq!(
            out.len(),
            self.dim(),
            "FourierFeatures::write: out has the wrong length"
        );
        for (k, pair) in out.chunks_exact_mut(2).enumerate() {
            let angle = (k + 1) as f64 * std::f64::consts::PI * t;
            let (s, c) = angle.sin_cos();
            pair[0] = c as f32;
            pair[1] = s as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(t: f64) -> Vec<f32> {
        let ff = FourierFeatures::new(3);
        let mut out = vec![f32::NAN; ff.dim()];
        ff.write(t, &mut out);
        out
    }

    fn assert_close(got: &[f32], want: &[f32]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-7, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn values_at_zero_half_and_one() {
        assert_eq!(FourierFeatures::new(3).dim(), 6);
        assert_close(&features(0.0), &[1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
        // k = 1, 2, 3 at t = 1/2: angles π/2, π, 3π/2.
        assert_close(&features(0.5), &[0.0, 1.0, -1.0, 0.0, 0.0, -1.0]);
        assert_close(&features(1.0), &[-1.0, 0.0, 1.0, 0.0, -1.0, 0.0]);
        // A generic t, interleaving order checked against the formula.
        let t = 0.3;
        let f = features(t);
        for k in 1..=3 {
            let a = k as f64 * std::f64::consts::PI * t;
            assert_close(&f[2 * k - 2..2 * k], &[a.cos() as f32, a.sin() as f32]);
        }
    }

    #[test]
    #[should_panic]
    fn wrong_output_length_panics() {
        FourierFeatures::new(2).write(0.1, &mut [0.0; 3]);
    }
}
