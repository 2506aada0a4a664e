//! An affine map y ≈ W x + c fitted by exact least squares from running sums, for ASBS's
//! corrector (src/sampler/asbs.rs, module doc): the corrector's large, nearly linear part
//! comes from here and the network learns only what is left.

/// Least squares over the rows added since the last `reset`: the normal equations'
/// sums Σ φφᵀ and Σ φyᵀ with φ = (x, 1), solved after every batch of rows.
#[derive(Clone, Debug, PartialEq)]
pub struct AffineFit {
    d: usize,
    /// Σ φφᵀ, (d+1) × (d+1) row-major.
    gram: Vec<f64>,
    /// Σ φyᵀ, (d+1) × d row-major.
    moments: Vec<f64>,
    rows: usize,
    /// The solution, (d+1) × d row-major: y_k = Σ_i coef[i][k] x_i + coef[d][k]. Zero until
    /// the sums determine it.
    coef: Vec<f32>,
}

impl AffineFit {
    pub fn new(d: usize) -> AffineFit {
        AffineFit {
            d,
            gram: vec![0.0; (d + 1) * (d + 1)],
            moments: vec![0.0; (d + 1) * d],
            rows: 0,
            coef: vec![0.0; (d + 1) * d],
        }
    }

    /// Forgets the rows; the current solution stays until `solve` replaces it.
    pub fn reset(&mut self) {
        self.gram.fill(0.0);
        self.moments.fill(0.0);
        self.rows = 0;
    }

    pub fn add(&mut self, x: &[f32], y: &[f64]) {
        let d = self.d;
        let phi = x.iter().map(|&v| v as f64).chain(std::iter::once(1.0));
        for (i, fi) in phi.clone().enumerate() {
            for (j, fj) in phi.clone().enumerate() {
                self.gram[i * (d + 1) + j] += fi * fj;
            }
            for (k, &yk) in y.iter().enumerate() {
                self.moments[i * d + k] += fi * yk;
            }
        }
        self.rows += 1;
    }

    /// Solves the normal equations by Cholesky. With fewer rows than unknowns per output, or
    /// rows that do not span the space, the previous solution stays and false is returned.
    pub fn solve(&mut self) -> bool {
        let n = self.d + 1;
        if self.rows < 2 * n {
            return false;
        }
        let mut l = vec![0f64; n * n];
        for i in 0..n {
            for j in 0..=i {
                let mut s = self.gram[i * n + j];
                for k in 0..j {
                    s -= l[i * n + k] * l[j * n + k];
                }
                if i == j {
                    // Relative to the diagonal, so that far-off data is judged alike.
                    if s <= 1e-10 * self.gram[i * n + i] {
                        return false;
                    }
                    l[i * n + i] = s.sqrt();
                } else {
                    l[i * n + j] = s / l[j * n + j];
                }
            }
        }
        for k in 0..self.d {
            // L z = b, then Lᵀ w = z.
            let mut z = vec![0f64; n];
            for i in 0..n {
                let mut s = self.moments[i * self.d + k];
                for j in 0..i {
                    s -= l[i * n + j] * z[j];
                }
                z[i] = s / l[i * n + i];
            }
            for i in (0..n).rev() {
                let mut s = z[i];
                for j in i + 1..n {
                    s -= l[j * n + i] * z[j];
                }
                z[i] = s / l[i * n + i];
            }
            for (i, &w) in z.iter().enumerate() {
                self.coef[i * self.d + k] = w as f32;
            }
        }
        true
    }

    /// Adds W x + c at each row of `x` (n × d) to `out` (n × d).
    pub fn add_to(&self, x: &[f32], out: &mut [f32]) {
        let d = self.d;
        for (xp, op) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            for (k, o) in op.iter_mut().enumerate() {
                let mut v = self.coef[d * d + k];
                for (i, &xi) in xp.iter().enumerate() {
                    v += self.coef[i * d + k] * xi;
                }
                *o += v;
            }
        }
    }

    /// Adds the map's input VJP Wᵀc (the same at every x) for each row c of `cotangent`
    /// (n × d) to `out` (n × d).
    pub fn add_vjp_to(&self, cotangent: &[f32], out: &mut [f32]) {
        let d = self.d;
        for (cp, op) in cotangent.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            for (i, o) in op.iter_mut().enumerate() {
                *o += (0..d).map(|k| self.coef[i * d + k] * cp[k]).sum::<f32>();
            }
        }
    }

    /// The solution (d+1) × d, for saving.
    pub fn coefficients(&self) -> &[f32] {
        &self.coef
    }

    /// The running sums and row count, for saving: gram, then moments, then rows.
    pub fn sums(&self) -> Vec<f64> {
        let mut v = self.gram.clone();
        v.extend_from_slice(&self.moments);
        v.push(self.rows as f64);
        v
    }

    /// Restores what `coefficients` and `sums` saved.
    pub fn restore(&mut self, coef: &[f32], sums: &[f64]) -> Result<(), String> {
        let (g, m) = (self.gram.len(), self.moments.len());
        if coef.len() != self.coef.len() || sums.len() != g + m + 1 {
            return Err(format!(
                "corrector's affine part: expected {} coefficients and {} sums, got {} and {}",
                self.coef.len(),
                g + m + 1,
                coef.len(),
                sums.len()
            ));
        }
        self.coef.copy_from_slice(coef);
        self.gram.copy_from_slice(&sums[..g]);
        self.moments.copy_from_slice(&sums[g..g + m]);
        self.rows = sums[g + m] as usize;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    #[allow(clippy::needless_range_loop)] // matrix indices read best as indices
    fn recovers_an_affine_map_exactly_and_is_the_least_squares_fit_with_noise() {
        let (d, n) = (2, 400);
        let truth = [[1.5f64, -0.5], [0.25, 2.0]];
        let offset = [-3.0f64, 0.7];
        let mut rng = Rng::new(5);
        let mut exact = AffineFit::new(d);
        let mut noisy = AffineFit::new(d);
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let x = [2.0 + rng.normal() as f32, -1.0 + 0.5 * rng.normal() as f32];
            let y: Vec<f64> = (0..d)
                .map(|k| offset[k] + (0..d).map(|i| truth[k][i] * x[i] as f64).sum::<f64>())
                .collect();
            exact.add(&x, &y);
            let y_noisy: Vec<f64> = y.iter().map(|v| v + 3.0 * rng.normal()).collect();
            noisy.add(&x, &y_noisy);
            xs.push(x);
            ys.push(y_noisy);
        }
        assert!(exact.solve() && noisy.solve());
        for k in 0..d {
            for i in 0..d {
                let got = exact.coefficients()[i * d + k] as f64;
                assert!((got - truth[k][i]).abs() < 1e-4, "W[{k}][{i}] {got}");
            }
            let got = exact.coefficients()[d * d + k] as f64;
            assert!((got - offset[k]).abs() < 1e-4, "c[{k}] {got}");
        }
        // The least-squares solution's residual is orthogonal to the features (x, 1).
        let mut fitted = vec![0f32; n * d];
        let flat: Vec<f32> = xs.iter().flatten().copied().collect();
        noisy.add_to(&flat, &mut fitted);
        for feature in 0..=d {
            for k in 0..d {
                let dot: f64 = (0..n)
                    .map(|p| {
                        let f = if feature < d {
                            xs[p][feature] as f64
                        } else {
                            1.0
                        };
                        f * (ys[p][k] - fitted[p * d + k] as f64)
                    })
                    .sum();
                assert!(
                    dot.abs() < 1e-2 * n as f64,
                    "residual · feature {feature}: {dot}"
                );
            }
        }
    }

    #[test]
    fn too_few_or_degenerate_rows_keep_the_previous_solution() {
        let mut fit = AffineFit::new(2);
        fit.add(&[1.0, 2.0], &[1.0, 1.0]);
        assert!(!fit.solve(), "one row determines nothing");
        for t in 0..10 {
            // Every row on one line: the 3 × 3 Gram matrix is singular.
            let s = t as f32;
            fit.add(&[s, 2.0 * s], &[s as f64, 0.0]);
        }
        assert!(!fit.solve());
        assert!(fit.coefficients().iter().all(|&c| c == 0.0));
    }

    #[test]
    fn vjp_is_the_transposed_jacobian_and_state_round_trips() {
        let mut fit = AffineFit::new(2);
        let mut rng = Rng::new(2);
        for _ in 0..50 {
            let x = [rng.normal() as f32, rng.normal() as f32];
            fit.add(&x, &[(2.0 * x[0] - x[1]) as f64 + 1.0, (0.5 * x[1]) as f64]);
        }
        assert!(fit.solve());
        let (x, c) = ([0.3f32, -0.8], [0.7f32, -1.1]);
        let mut vjp = [0f32; 2];
        fit.add_vjp_to(&c, &mut vjp);
        // By central differences of c · (W x + b).
        for i in 0..2 {
            let eps = 1e-2f32;
            let (mut xp, mut xm) = (x, x);
            xp[i] += eps;
            xm[i] -= eps;
            let (mut fp, mut fm) = ([0f32; 2], [0f32; 2]);
            fit.add_to(&xp, &mut fp);
            fit.add_to(&xm, &mut fm);
            let fd = (c[0] * (fp[0] - fm[0]) + c[1] * (fp[1] - fm[1])) / (2.0 * eps);
            assert!(
                (fd - vjp[i]).abs() < 1e-3,
                "coordinate {i}: {fd} vs {}",
                vjp[i]
            );
        }
        let mut copy = AffineFit::new(2);
        copy.restore(fit.coefficients(), &fit.sums()).unwrap();
        assert_eq!(copy, fit);
        assert!(copy.restore(&[0.0; 3], &fit.sums()).is_err());
    }
}
