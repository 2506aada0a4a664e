//! Affine changes of coordinates x = A·y + b between the sampler's coordinates y and the
//! target's original coordinates x, and the energy pulled back to sampler coordinates.
//! The seed whitens its 2-mode GMM this way (docs/methods.md §2, "Seed whitening").

use std::sync::Arc;

use super::Energy;

/// x = A·y + b maps sampler coordinates y to original coordinates x.
#[derive(Clone, Debug, PartialEq)]
pub struct Affine {
    pub dim: usize,
    /// d×d, row-major.
    pub a: Vec<f64>,
    pub b: Vec<f64>,
}

impl Affine {
    pub fn identity(dim: usize) -> Affine {
        let mut a = vec![0.0; dim * dim];
        for i in 0..dim {
            a[i * dim + i] = 1.0;
        }
        Affine {
            dim,
            a,
            b: vec![0.0; dim],
        }
    }

    /// PCA whitening as the seed's `AffineSystem` does: W = diag(λ^{-1/2}) Eᵀ from the
    /// eigen-decomposition cov = E diag(λ) Eᵀ, and y = W(x − mean); hence
    /// A = W⁻¹ = E diag(λ^{1/2}) and b = mean. `cov` is d×d row-major.
    ///
    /// Panics if `cov` is not symmetric positive definite (callers pass the covariance of a
    /// validated target, which always is).
    pub fn whitening(mean: &[f64], cov: &[f64]) -> Affine {
        let d = mean.len();
        assert_eq!(cov.len(), d * d, "whitening: covariance must be d×d");
        let (values, vectors) = symmetric_eigen(cov, d);
        assert!(
            values.iter().all(|&l| l.is_finite() && l > 0.0),
            "whitening: covariance is not positive definite (eigenvalues {values:?})"
        );
        let mut a = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                // Column j of E scaled by sqrt(λ_j).
                a[i * d + j] = vectors[i * d + j] * values[j].sqrt();
            }
        }
        Affine {
            dim: d,
            a,
            b: mean.to_vec(),
        }
    }

    /// x = A·y + b.
    pub fn to_original(&self, y: &[f64], x: &mut [f64]) {
        let d = self.dim;
        for i in 0..d {
            let row = &self.a[i * d..(i + 1) * d];
            x[i] = self.b[i] + row.iter().zip(y).map(|(a, y)| a * y).sum::<f64>();
        }
    }

    /// y = A⁻¹(x − b).
    pub fn to_sampler(&self, x: &[f64], y: &mut [f64]) {
        let d = self.dim;
        match d {
            1 => y[0] = (x[0] - self.b[0]) / self.a[0],
            2 => {
                let [a, b, c, e] = [self.a[0], self.a[1], self.a[2], self.a[3]];
                let det = a * e - b * c;
                let (u, v) = (x[0] - self.b[0], x[1] - self.b[1]);
                y[0] = (e * u - b * v) / det;
                y[1] = (a * v - c * u) / det;
            }
            _ => {
                let lu = Lu::new(&self.a, d);
                for i in 0..d {
                    y[i] = x[i] - self.b[i];
                }
                lu.solve_in_place(y);
            }
        }
    }

    /// Maps a row-major batch (n×d) of sampler points to original coordinates.
    pub fn to_original_batch(&self, ys: &[f64], xs: &mut [f64]) {
        let d = self.dim;
        for (y, x) in ys.chunks_exact(d).zip(xs.chunks_exact_mut(d)) {
            self.to_original(y, x);
        }
    }

    /// Maps a row-major batch (n×d) of original points to sampler coordinates
    /// (factorizes A once).
    pub fn to_sampler_batch(&self, xs: &[f64], ys: &mut [f64]) {
        let d = self.dim;
        if d <= 2 {
            for (x, y) in xs.chunks_exact(d).zip(ys.chunks_exact_mut(d)) {
                self.to_sampler(x, y);
            }
            return;
        }
        let lu = Lu::new(&self.a, d);
        for (x, y) in xs.chunks_exact(d).zip(ys.chunks_exact_mut(d)) {
            for i in 0..d {
                y[i] = x[i] - self.b[i];
            }
            lu.solve_in_place(y);
        }
    }

    /// log|det A|: log Z in original coordinates = log Z in sampler coordinates + log|det A|
    /// (change of variables x = A y + b in ∫exp(−E(x))dx).
    pub fn log_abs_det(&self) -> f64 {
        let d = self.dim;
        match d {
            0 => 0.0,
            1 => self.a[0].abs().ln(),
            2 => (self.a[0] * self.a[3] - self.a[1] * self.a[2]).abs().ln(),
            _ => Lu::new(&self.a, d).log_abs_det(),
        }
    }

    pub fn is_identity(&self) -> bool {
        let d = self.dim;
        self.b.iter().all(|&b| b == 0.0)
            && (0..d).all(|i| (0..d).all(|j| self.a[i * d + j] == if i == j { 1.0 } else { 0.0 }))
    }

    /// ∇_y = Aᵀ ∇_x (chain rule through x = A y + b).
    fn pull_gradient(&self, grad_x: &[f64], grad_y: &mut [f64]) {
        let d = self.dim;
        for (j, g) in grad_y.iter_mut().enumerate().take(d) {
            *g = (0..d).map(|i| self.a[i * d + j] * grad_x[i]).sum();
        }
    }
}

/// The energy in sampler coordinates: E_y(y) = E(A y + b), ∇_y E_y = Aᵀ ∇_x E.
/// Its normalizer is Z_y = Z_x / |det A|.
pub struct Pulled {
    pub inner: Arc<dyn Energy>,
    pub map: Affine,
}

/// Points up to this dimension are mapped through stack buffers (no allocation per call).
const STACK_DIM: usize = 8;

impl Pulled {
    pub fn new(inner: Arc<dyn Energy>, map: Affine) -> Pulled {
        assert_eq!(
            inner.dim(),
            map.dim,
            "Pulled: map and energy dimensions differ"
        );
        Pulled { inner, map }
    }
}

impl Energy for Pulled {
    fn dim(&self) -> usize {
        self.map.dim
    }

    fn energy(&self, y: &[f64]) -> f64 {
        let d = self.map.dim;
        if d <= STACK_DIM {
            let mut x = [0.0; STACK_DIM];
            self.map.to_original(y, &mut x[..d]);
            self.inner.energy(&x[..d])
        } else {
            let mut x = vec![0.0; d];
            self.map.to_original(y, &mut x);
            self.inner.energy(&x)
        }
    }

    fn energy_grad(&self, y: &[f64], grad: &mut [f64]) -> f64 {
        let d = self.map.dim;
        if d <= STACK_DIM {
            let mut x = [0.0; STACK_DIM];
            let mut gx = [0.0; STACK_DIM];
            self.map.to_original(y, &mut x[..d]);
            let e = self.inner.energy_grad(&x[..d], &mut gx[..d]);
            self.map.pull_gradient(&gx[..d], grad);
            e
        } else {
            let mut x = vec![0.0; d];
            let mut gx = vec![0.0; d];
            self.map.to_original(y, &mut x);
            let e = self.inner.energy_grad(&x, &mut gx);
            self.map.pull_gradient(&gx, grad);
            e
        }
    }
}

/// Eigen-decomposition of a symmetric d×d matrix (row-major) by cyclic Jacobi rotations:
/// returns (eigenvalues, eigenvectors as the columns of a row-major d×d matrix), in the
/// order the rotations leave them. For d = 2 one rotation is exact (the closed form).
pub(crate) fn symmetric_eigen(m: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = m.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let scale = a.iter().fold(0.0f64, |s, x| s.max(x.abs()));
    for _sweep in 0..64 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j] * a[i * d + j])
            .sum();
        if off.sqrt() <= 1e-15 * scale || scale == 0.0 {
            break;
        }
        for p in 0..d {
            for q in (p + 1)..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                // Rotation angle that zeroes a_pq: tan(2θ) = 2a_pq / (a_qq − a_pp).
                let theta = 0.5 * (2.0 * apq).atan2(a[q * d + q] - a[p * d + p]);
                let (s, c) = theta.sin_cos();
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let values = (0..d).map(|i| a[i * d + i]).collect();
    (values, v)
}

/// LU factorization with partial pivoting of a d×d row-major matrix, for d > 2.
struct Lu {
    d: usize,
    lu: Vec<f64>,
    perm: Vec<usize>,
}

impl Lu {
    fn new(a: &[f64], d: usize) -> Lu {
        let mut lu = a.to_vec();
        let mut perm: Vec<usize> = (0..d).collect();
        for k in 0..d {
            let pivot = (k..d)
                .max_by(|&i, &j| lu[i * d + k].abs().total_cmp(&lu[j * d + k].abs()))
                .unwrap_or(k);
            if pivot != k {
                for j in 0..d {
                    lu.swap(k * d + j, pivot * d + j);
                }
                perm.swap(k, pivot);
            }
            let diag = lu[k * d + k];
            for i in (k + 1)..d {
                let f = lu[i * d + k] / diag;
                lu[i * d + k] = f;
                for j in (k + 1)..d {
                    lu[i * d + j] -= f * lu[k * d + j];
                }
            }
        }
        Lu { d, lu, perm }
    }

    fn solve_in_place(&self, rhs: &mut [f64]) {
        let d = self.d;
        let permuted: Vec<f64> = self.perm.iter().map(|&p| rhs[p]).collect();
        rhs[..d].copy_from_slice(&permuted);
        for i in 0..d {
            let s: f64 = (0..i).map(|j| self.lu[i * d + j] * rhs[j]).sum();
            rhs[i] -= s;
        }
        for i in (0..d).rev() {
            let s: f64 = ((i + 1)..d).map(|j| self.lu[i * d + j] * rhs[j]).sum();
            rhs[i] = (rhs[i] - s) / self.lu[i * d + i];
        }
    }

    fn log_abs_det(&self) -> f64 {
        (0..self.d)
            .map(|i| self.lu[i * self.d + i].abs().ln())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::tests::assert_gradient_matches;
    use crate::energy::{EnergySpec, Target};
    use crate::rng::Rng;

    fn matmul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
        let mut c = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                c[i * d + j] = (0..d).map(|k| a[i * d + k] * b[k * d + j]).sum();
            }
        }
        c
    }

    fn transpose(a: &[f64], d: usize) -> Vec<f64> {
        (0..d * d).map(|k| a[(k % d) * d + k / d]).collect()
    }

    #[test]
    fn whitening_factor_reproduces_covariance() {
        // A Aᵀ = E diag(λ) Eᵀ = cov, for 1-D, 2-D (incl. diagonal and strongly
        // correlated) and a 3-D matrix (Jacobi with several sweeps).
        let cases: Vec<(usize, Vec<f64>)> = vec![
            (1, vec![2.5]),
            (2, vec![2.0, 0.0, 0.0, 3.0]),
            (2, vec![10.5, 9.0, 9.0, 12.0]),
            (2, vec![1.0, -0.999, -0.999, 1.0]),
            (3, vec![4.0, 1.0, 0.5, 1.0, 3.0, -0.7, 0.5, -0.7, 2.0]),
        ];
        for (d, cov) in cases {
            let mean: Vec<f64> = (0..d).map(|i| i as f64 - 0.5).collect();
            let map = Affine::whitening(&mean, &cov);
            let aat = matmul(&map.a, &transpose(&map.a, d), d);
            for k in 0..d * d {
                assert!(
                    (aat[k] - cov[k]).abs() < 1e-12 * 12.0,
                    "d={d} {aat:?} vs {cov:?}"
                );
            }
            // log|det A| = ½ log det cov.
            let expected = match d {
                1 => 0.5 * cov[0].ln(),
                2 => 0.5 * (cov[0] * cov[3] - cov[1] * cov[2]).ln(),
                _ => {
                    let c = &cov;
                    let det = c[0] * (c[4] * c[8] - c[5] * c[7])
                        - c[1] * (c[3] * c[8] - c[5] * c[6])
                        + c[2] * (c[3] * c[7] - c[4] * c[6]);
                    0.5 * det.ln()
                }
            };
            assert!((map.log_abs_det() - expected).abs() < 1e-12, "d={d}");
            assert!(!map.is_identity());
        }
    }

    #[test]
    fn maps_round_trip_and_identity_is_identity() {
        let mut rng = Rng::new(3);
        for (d, cov) in [
            (2usize, vec![10.5, 9.0, 9.0, 12.0]),
            (3, vec![4.0, 1.0, 0.5, 1.0, 3.0, -0.7, 0.5, -0.7, 2.0]),
        ] {
            let mean: Vec<f64> = (0..d).map(|i| 1.0 + i as f64).collect();
            let map = Affine::whitening(&mean, &cov);
            let ys: Vec<f64> = (0..5 * d).map(|_| rng.normal()).collect();
            let mut xs = vec![0.0; ys.len()];
            let mut back = vec![0.0; ys.len()];
            map.to_original_batch(&ys, &mut xs);
            map.to_sampler_batch(&xs, &mut back);
            for (a, b) in ys.iter().zip(&back) {
                assert!((a - b).abs() < 1e-12, "d={d}");
            }
            let mut single = vec![0.0; d];
            map.to_sampler(&xs[..d], &mut single);
            assert!((single[0] - ys[0]).abs() < 1e-12);
        }
        let id = Affine::identity(2);
        assert!(id.is_identity());
        assert_eq!(id.log_abs_det(), 0.0);
        let mut x = [0.0; 2];
        id.to_original(&[1.5, -2.0], &mut x);
        assert_eq!(x, [1.5, -2.0]);
    }

    #[test]
    fn pulled_gradient_matches_finite_differences() {
        let target = Target::new(&EnergySpec::parse("seed-gmm").unwrap(), 1.0).unwrap();
        let gt = target.ground_truth();
        let pulled = Pulled::new(target.energy.clone(), Affine::whitening(&gt.mean, &gt.cov));
        for y in [
            [0.0, 0.0],
            [0.9, -0.3],
            [-1.2, 2.0],
            [6.0, -8.0],
            [30.0, 25.0],
        ] {
            assert_gradient_matches(&pulled, &y);
            let mut x = [0.0; 2];
            pulled.map.to_original(&y, &mut x);
            assert!((pulled.energy(&y) - target.energy.energy(&x)).abs() < 1e-12);
        }
    }
}
