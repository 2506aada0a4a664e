//! Gaussian mixtures p(x) = Σ_k w_k N(x; m_k, Σ_k) at temperature τ: E(x) = −log p(x) / τ
//! (docs/methods.md §6: seed 2-mode GMM, 9GMM, 25GMM, custom GMM), and the mixture family of
//! the catalog: the named mixtures and a user's, as [`MixtureTarget`].

use std::sync::Arc;

use super::affine::symmetric_eigen;
use super::catalog::{ExactSampler, QuadratureSpec, TargetFamily};
use super::{cell_counts, Energy, GmmSpec, Window, DISPLAY_SIGMAS, QUADRATURE_SIGMAS};
use crate::rng::Rng;

/// Seed of the 40GMM means (our xoshiro [`Rng`]); fixed so "gmm40" is one target.
pub const GMM40_SEED: u64 = 40;
/// Half-width of the square the 40GMM means are drawn from.
pub const GMM40_HALF_WIDTH: f64 = 40.0;

/// A validated mixture with precomputed Cholesky factors, precision matrices and
/// log-normalisers, so that the energy is one log-sum-exp over components.
#[derive(Clone, Debug)]
pub struct Gmm {
    dim: usize,
    temperature: f64,
    /// Normalised to sum 1.
    weights: Vec<f64>,
    /// K×d.
    means: Vec<f64>,
    /// K×d×d, symmetrised.
    covs: Vec<f64>,
    /// K×d×d lower-triangular Cholesky factors L_k, Σ_k = L_k L_kᵀ.
    chol: Vec<f64>,
    /// K×d×d precision matrices Σ_k⁻¹.
    precisions: Vec<f64>,
    /// log w_k − ½ log det(2π Σ_k).
    log_coefs: Vec<f64>,
    /// For d = 2, each component packed as [m₀, m₁, P₀₀, P₀₁, P₁₁, log_coef] so the hot
    /// loop reads one contiguous array (quadrature evaluates E on ~300k points).
    planar: Vec<[f64; 6]>,
}

impl Gmm {
    /// Validates and builds a mixture of any dimension d ≥ 1. Weights must be finite and > 0
    /// and are normalised to sum 1. Every mean has length d, every covariance is d×d,
    /// symmetric (to 1e-9 of its largest entry, then symmetrised) and positive definite.
    /// Errors name the component (0-based index, as in the JSON arrays) and the problem.
    pub fn new(
        weights: &[f64],
        means: &[Vec<f64>],
        covs: &[Vec<Vec<f64>>],
        temperature: f64,
    ) -> Result<Gmm, String> {
        let k_count = weights.len();
        if k_count == 0 {
            return Err("the mixture has no components (weights is empty)".into());
        }
        if means.len() != k_count {
            return Err(format!(
                "{k_count} weights but {} means: each component needs one weight, one mean and one covariance",
                means.len()
            ));
        }
        if covs.len() != k_count {
            return Err(format!(
                "{k_count} weights but {} covariances: each component needs one weight, one mean and one covariance",
                covs.len()
            ));
        }
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(format!(
                "temperature must be a positive finite number, got {temperature}"
            ));
        }
        let d = means[0].len();
        if d == 0 {
            return Err("component 0: mean is empty".into());
        }
        for (k, &w) in weights.iter().enumerate() {
            if !w.is_finite() {
                return Err(format!("component {k}: weight {w} is not a finite number"));
            }
            if w <= 0.0 {
                return Err(format!(
                    "component {k}: weight {w} is not positive (weights must be > 0)"
                ));
            }
        }
        let total: f64 = weights.iter().sum();
        let mut gmm = Gmm {
            dim: d,
            temperature,
            weights: weights.iter().map(|w| w / total).collect(),
            means: Vec::with_capacity(k_count * d),
            covs: Vec::with_capacity(k_count * d * d),
            chol: Vec::with_capacity(k_count * d * d),
            precisions: Vec::with_capacity(k_count * d * d),
            log_coefs: Vec::with_capacity(k_count),
            planar: Vec::new(),
        };
        for k in 0..k_count {
            let mean = &means[k];
            if mean.len() != d {
                return Err(format!(
                    "component {k}: mean has dimension {} but component 0 has dimension {d}",
                    mean.len()
                ));
            }
            if mean.iter().any(|m| !m.is_finite()) {
                return Err(format!("component {k}: mean contains a non-finite number"));
            }
            let cov = symmetric_matrix(k, &covs[k], d)?;
            let chol = cholesky(&cov, d)
                .ok_or_else(|| format!("component {k}: covariance is not positive definite"))?;
            let precision = inverse_from_cholesky(&chol, d);
            let log_det: f64 = (0..d).map(|i| 2.0 * chol[i * d + i].ln()).sum();
            let log_coef = gmm.weights[k].ln()
                - 0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + log_det);
            gmm.means.extend_from_slice(mean);
            gmm.covs.extend_from_slice(&cov);
            gmm.chol.extend_from_slice(&chol);
            gmm.precisions.extend_from_slice(&precision);
            gmm.log_coefs.push(log_coef);
            if d == 2 {
                gmm.planar.push([
                    mean[0],
                    mean[1],
                    precision[0],
                    precision[1],
                    precision[3],
                    log_coef,
                ]);
            }
        }
        Ok(gmm)
    }

    /// A user's mixture: as [`Gmm::new`], and additionally d must be 1 or 2.
    pub fn from_spec(spec: &GmmSpec, temperature: f64) -> Result<Gmm, String> {
        if let Some(first) = spec.means.first() {
            if !(1..=2).contains(&first.len()) {
                return Err(format!(
                    "component 0: mean has dimension {}; custom mixtures must be 1-D or 2-D",
                    first.len()
                ));
            }
        }
        Gmm::new(&spec.weights, &spec.means, &spec.covs, temperature)
    }

    /// A 1-D mixture Σ w_k N(m_k, s_k²) from (weight, mean, standard deviation) triples.
    pub fn mixture_1d(components: &[(f64, f64, f64)], temperature: f64) -> Result<Gmm, String> {
        let weights: Vec<f64> = components.iter().map(|c| c.0).collect();
        let means: Vec<Vec<f64>> = components.iter().map(|c| vec![c.1]).collect();
        let covs: Vec<Vec<Vec<f64>>> = components.iter().map(|c| vec![vec![c.2 * c.2]]).collect();
        Gmm::new(&weights, &means, &covs, temperature)
    }

    /// Equal-weight isotropic components of variance `variance` at every point of
    /// `coords`² (9GMM, 25GMM).
    pub fn square_grid(coords: &[f64], variance: f64, temperature: f64) -> Result<Gmm, String> {
        let means: Vec<Vec<f64>> = coords
            .iter()
            .flat_map(|&a| coords.iter().map(move |&b| vec![a, b]))
            .collect();
        let cov = vec![vec![variance, 0.0], vec![0.0, variance]];
        let covs = vec![cov; means.len()];
        Gmm::new(&vec![1.0; means.len()], &means, &covs, temperature)
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    pub fn n_components(&self) -> usize {
        self.weights.len()
    }

    /// Normalised weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    pub fn mean(&self, k: usize) -> &[f64] {
        &self.means[k * self.dim..(k + 1) * self.dim]
    }

    /// d×d row-major.
    pub fn cov(&self, k: usize) -> &[f64] {
        let dd = self.dim * self.dim;
        &self.covs[k * dd..(k + 1) * dd]
    }

    /// Mean and covariance (d×d row-major) of the mixture p itself (τ = 1):
    /// Σ w_k m_k and Σ w_k (Σ_k + m_k m_kᵀ) − mean meanᵀ.
    pub fn moments(&self) -> (Vec<f64>, Vec<f64>) {
        let d = self.dim;
        let mut mean = vec![0.0; d];
        let mut second = vec![0.0; d * d];
        for (k, w) in self.weights.iter().enumerate() {
            let (m, c) = (self.mean(k), self.cov(k));
            for i in 0..d {
                mean[i] += w * m[i];
                for j in 0..d {
                    second[i * d + j] += w * (c[i * d + j] + m[i] * m[j]);
                }
            }
        }
        for i in 0..d {
            for j in 0..d {
                second[i * d + j] -= mean[i] * mean[j];
            }
        }
        (mean, second)
    }

    /// Per axis i: min_k (m_ki − sigmas·sqrt(τ Σ_k,ii)) and max_k (m_ki + …). Far from the
    /// modes exp(−E) = p^{1/τ} behaves like the dominant component with covariance τΣ_k,
    /// so this box holds essentially all the mass for sigmas ≳ 4.
    pub fn extent(&self, sigmas: f64) -> (Vec<f64>, Vec<f64>) {
        let d = self.dim;
        let mut lo = vec![f64::INFINITY; d];
        let mut hi = vec![f64::NEG_INFINITY; d];
        for k in 0..self.n_components() {
            for i in 0..d {
                let half = sigmas * (self.temperature * self.cov(k)[i * d + i]).sqrt();
                lo[i] = lo[i].min(self.mean(k)[i] - half);
                hi[i] = hi[i].max(self.mean(k)[i] + half);
            }
        }
        (lo, hi)
    }

    /// The smallest standard deviation of any component in any direction, at temperature τ:
    /// min_k sqrt(τ λ_min(Σ_k)). Quadrature cells must be finer than this.
    pub fn smallest_scale(&self) -> f64 {
        let d = self.dim;
        let smallest_variance = (0..self.n_components())
            .map(|k| {
                let (values, _) = symmetric_eigen(self.cov(k), d);
                values.into_iter().fold(f64::INFINITY, f64::min)
            })
            .fold(f64::INFINITY, f64::min);
        (smallest_variance * self.temperature).sqrt()
    }

    /// n samples (row-major n×d) of the mixture p itself, i.e. of exp(−E) only at τ = 1:
    /// pick k with probability w_k, then m_k + L_k z with z ~ N(0, I).
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        let d = self.dim;
        let mut cumulative = Vec::with_capacity(self.weights.len());
        let mut acc = 0.0;
        for w in &self.weights {
            acc += w;
            cumulative.push(acc);
        }
        let last = self.weights.len() - 1;
        let mut out = vec![0.0; n * d];
        let mut z = vec![0.0; d];
        for x in out.chunks_exact_mut(d) {
            let u = rng.uniform() * acc;
            let k = cumulative.partition_point(|&c| c <= u).min(last);
            for zi in z.iter_mut() {
                *zi = rng.normal();
            }
            let (m, l) = (self.mean(k), &self.chol[k * d * d..(k + 1) * d * d]);
            for i in 0..d {
                x[i] = m[i] + (0..=i).map(|j| l[i * d + j] * z[j]).sum::<f64>();
            }
        }
        out
    }

    /// ℓ_k = log w_k + log N(x; m_k, Σ_k) = log_coef_k − ½ qᵀ P_k q with q = x − m_k,
    /// writing P_k q into `pq` (len d). Unrolled for d = 1, 2 (the quadrature's hot loop).
    #[inline]
    fn component_terms(&self, k: usize, x: &[f64], pq: &mut [f64]) -> f64 {
        let d = self.dim;
        let m = self.mean(k);
        let p = &self.precisions[k * d * d..(k + 1) * d * d];
        let quad = match d {
            1 => {
                let u = x[0] - m[0];
                pq[0] = p[0] * u;
                u * pq[0]
            }
            2 => {
                let (u, v) = (x[0] - m[0], x[1] - m[1]);
                pq[0] = p[0] * u + p[1] * v;
                pq[1] = p[2] * u + p[3] * v;
                u * pq[0] + v * pq[1]
            }
            _ => {
                let mut quad = 0.0;
                for i in 0..d {
                    pq[i] = (0..d).map(|j| p[i * d + j] * (x[j] - m[j])).sum();
                    quad += (x[i] - m[i]) * pq[i];
                }
                quad
            }
        };
        self.log_coefs[k] - 0.5 * quad
    }

    /// [`Energy::energy`] for d = 2 over the packed components.
    #[inline]
    fn energy_planar(&self, x0: f64, x1: f64) -> f64 {
        let mut max = f64::NEG_INFINITY;
        let mut sum = 0.0;
        for c in &self.planar {
            let (u, v) = (x0 - c[0], x1 - c[1]);
            let l = c[5] - 0.5 * (c[2] * u * u + 2.0 * c[3] * u * v + c[4] * v * v);
            if l > max {
                sum = sum * (max - l).exp() + 1.0;
                max = l;
            } else if l > max - NEGLIGIBLE_LOG_RATIO {
                sum += (l - max).exp();
            }
        }
        -(max + sum.ln()) / self.temperature
    }

    /// Runs `body` with a scratch vector of length d (on the stack for small d).
    #[inline]
    fn with_scratch<R>(&self, body: impl FnOnce(&mut [f64]) -> R) -> R {
        let d = self.dim;
        if d <= STACK_DIM {
            let mut stack = [0.0; STACK_DIM];
            body(&mut stack[..d])
        } else {
            body(&mut vec![0.0; d])
        }
    }
}

const STACK_DIM: usize = 4;

/// A component whose ℓ_k lies this far below the running maximum adds less than
/// e^{−40} ≈ 4e-18 to a sum that is ≥ 1: below rounding, so its exp is skipped
/// (most components, far from x, in the 25-mode mixture).
const NEGLIGIBLE_LOG_RATIO: f64 = 40.0;

impl Energy for Gmm {
    fn dim(&self) -> usize {
        self.dim
    }

    /// −log Σ_k exp(ℓ_k) / τ by a streaming log-sum-exp (stable far from all modes).
    fn energy(&self, x: &[f64]) -> f64 {
        if self.dim == 2 {
            return self.energy_planar(x[0], x[1]);
        }
        self.with_scratch(|pq| {
            let mut max = f64::NEG_INFINITY;
            let mut sum = 0.0;
            for k in 0..self.n_components() {
                let l = self.component_terms(k, x, pq);
                if l > max {
                    sum = sum * (max - l).exp() + 1.0;
                    max = l;
                } else if l > max - NEGLIGIBLE_LOG_RATIO {
                    sum += (l - max).exp();
                }
            }
            -(max + sum.ln()) / self.temperature
        })
    }

    /// ∇E = (1/τ) Σ_k r_k Σ_k⁻¹ (x − m_k), r_k = softmax_k(ℓ_k): accumulated in the same
    /// streaming log-sum-exp, rescaling the partial sums whenever the running maximum moves.
    fn energy_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let d = self.dim;
        grad[..d].fill(0.0);
        self.with_scratch(|pq| {
            let mut max = f64::NEG_INFINITY;
            let mut sum = 0.0;
            for k in 0..self.n_components() {
                let l = self.component_terms(k, x, pq);
                let weight = if l > max {
                    let rescale = (max - l).exp();
                    sum *= rescale;
                    grad[..d].iter_mut().for_each(|g| *g *= rescale);
                    max = l;
                    1.0
                } else if l > max - NEGLIGIBLE_LOG_RATIO {
                    (l - max).exp()
                } else {
                    continue;
                };
                sum += weight;
                for (g, v) in grad[..d].iter_mut().zip(pq.iter()) {
                    *g += weight * v;
                }
            }
            let scale = 1.0 / (sum * self.temperature);
            grad[..d].iter_mut().for_each(|g| *g *= scale);
            -(max + sum.ln()) / self.temperature
        })
    }
}

/// Checks shape, finiteness and symmetry of component k's covariance; returns it flat and
/// symmetrised.
fn symmetric_matrix(k: usize, rows: &[Vec<f64>], d: usize) -> Result<Vec<f64>, String> {
    if rows.len() != d {
        return Err(format!(
            "component {k}: covariance must be {d}×{d} (the mean's dimension), got {} rows",
            rows.len()
        ));
    }
    for (i, row) in rows.iter().enumerate() {
        if row.len() != d {
            return Err(format!(
                "component {k}: covariance row {i} has {} entries, expected {d}",
                row.len()
            ));
        }
    }
    if rows.iter().flatten().any(|c| !c.is_finite()) {
        return Err(format!(
            "component {k}: covariance contains a non-finite number"
        ));
    }
    let scale = rows.iter().flatten().fold(0.0f64, |s, c| s.max(c.abs()));
    let mut flat = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            let (a, b) = (rows[i][j], rows[j][i]);
            if (a - b).abs() > 1e-9 * scale {
                return Err(format!(
                    "component {k}: covariance is not symmetric (entry [{i}][{j}] = {a}, entry [{j}][{i}] = {b})"
                ));
            }
            flat[i * d + j] = 0.5 * (a + b);
        }
    }
    Ok(flat)
}

/// Lower Cholesky factor of a symmetric d×d matrix, or None unless it is positive definite
/// (a pivot that is not positive, or negligible against the matrix scale, counts as
/// singular: such a component would be a point mass no grid can resolve).
fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let scale = a.iter().fold(0.0f64, |s, x| s.max(x.abs()));
    let mut l = vec![0.0; d * d];
    for j in 0..d {
        let pivot = a[j * d + j] - (0..j).map(|k| l[j * d + k] * l[j * d + k]).sum::<f64>();
        if pivot.is_nan() || pivot <= 1e-14 * scale {
            return None;
        }
        let ljj = pivot.sqrt();
        l[j * d + j] = ljj;
        for i in (j + 1)..d {
            let s = a[i * d + j] - (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum::<f64>();
            l[i * d + j] = s / ljj;
        }
    }
    Some(l)
}

/// Σ⁻¹ = L⁻ᵀ L⁻¹ by forward and back substitution on the columns of the identity.
fn inverse_from_cholesky(l: &[f64], d: usize) -> Vec<f64> {
    let mut inv = vec![0.0; d * d];
    let mut col = vec![0.0; d];
    for c in 0..d {
        // L z = e_c.
        for i in 0..d {
            let rhs = if i == c { 1.0 } else { 0.0 };
            col[i] = (rhs - (0..i).map(|k| l[i * d + k] * col[k]).sum::<f64>()) / l[i * d + i];
        }
        // Lᵀ w = z.
        for i in (0..d).rev() {
            col[i] =
                (col[i] - ((i + 1)..d).map(|k| l[k * d + i] * col[k]).sum::<f64>()) / l[i * d + i];
        }
        for i in 0..d {
            inv[i * d + c] = col[i];
        }
    }
    // Symmetrise away rounding.
    for i in 0..d {
        for j in (i + 1)..d {
            let s = 0.5 * (inv[i * d + j] + inv[j * d + i]);
            inv[i * d + j] = s;
            inv[j * d + i] = s;
        }
    }
    inv
}

impl ExactSampler for Gmm {
    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        Gmm::sample(self, n, rng)
    }
}

/// The seed's two-mode mixture (docs/methods.md §6).
pub fn seed_gmm(temperature: f64) -> Result<Gmm, String> {
    Gmm::new(
        &[0.5, 0.5],
        &[vec![2.0, 2.0], vec![-4.0, -4.0]],
        &[
            vec![vec![2.0, 0.0], vec![0.0, 3.0]],
            vec![vec![1.0, 0.0], vec![0.0, 2.0]],
        ],
        temperature,
    )
}

/// The 9GMM (docs/methods.md §6).
pub fn gmm9(temperature: f64) -> Result<Gmm, String> {
    Gmm::square_grid(&[-5.0, 0.0, 5.0], 0.3, temperature)
}

/// The 25GMM (docs/methods.md §6).
pub fn gmm25(temperature: f64) -> Result<Gmm, String> {
    Gmm::square_grid(&[-10.0, -5.0, 0.0, 5.0, 10.0], 0.3, temperature)
}

/// The 40GMM (docs/methods.md §6): equal weights, unit covariances, means uniform in
/// [−40, 40]² drawn from [`GMM40_SEED`].
pub fn gmm40(temperature: f64) -> Result<Gmm, String> {
    let mut rng = Rng::new(GMM40_SEED);
    let means: Vec<Vec<f64>> = (0..40)
        .map(|_| {
            (0..2)
                .map(|_| GMM40_HALF_WIDTH * (2.0 * rng.uniform() - 1.0))
                .collect()
        })
        .collect();
    let identity = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
    Gmm::new(&[1.0; 40], &means, &vec![identity; 40], temperature)
}

/// Any mixture as a catalog target: windows from the components' extents, a mode at every
/// mean, and at τ = 1 (where exp(−E) is the mixture itself) log Z = 0 and exact samples.
pub struct MixtureTarget {
    gmm: Arc<Gmm>,
    window: Window,
    modes: Vec<Vec<f64>>,
    quadrature: QuadratureSpec,
}

impl MixtureTarget {
    pub fn new(gmm: Gmm) -> MixtureTarget {
        let (lo, hi) = gmm.extent(DISPLAY_SIGMAS);
        let (qlo, qhi) = gmm.extent(QUADRATURE_SIGMAS);
        let window = Window { lo: qlo, hi: qhi };
        let scales = vec![gmm.smallest_scale(); gmm.dim()];
        let quadrature = QuadratureSpec {
            cells: cell_counts(&window, &scales),
            window,
        };
        let modes = (0..gmm.n_components())
            .map(|k| gmm.mean(k).to_vec())
            .collect();
        MixtureTarget {
            gmm: Arc::new(gmm),
            window: Window { lo, hi },
            modes,
            quadrature,
        }
    }

    /// p^{1/τ} is a mixture only at τ = 1.
    fn at_unit_temperature(&self) -> bool {
        self.gmm.temperature() == 1.0
    }
}

impl TargetFamily for MixtureTarget {
    fn energy(&self) -> Arc<dyn Energy> {
        self.gmm.clone()
    }

    fn window(&self) -> &Window {
        &self.window
    }

    fn modes(&self) -> &[Vec<f64>] {
        &self.modes
    }

    fn quadrature(&self) -> &QuadratureSpec {
        &self.quadrature
    }

    /// A normalised mixture has Z = 1 at τ = 1; p^{1/τ} has no closed form.
    fn log_z(&self) -> Option<f64> {
        self.at_unit_temperature().then_some(0.0)
    }

    fn moments(&self) -> Option<(Vec<f64>, Vec<f64>)> {
        self.at_unit_temperature().then(|| self.gmm.moments())
    }

    fn exact_sampler(&self) -> Option<&dyn ExactSampler> {
        self.at_unit_temperature()
            .then_some(&*self.gmm as &dyn ExactSampler)
    }

    fn as_mixture(&self) -> Option<Arc<Gmm>> {
        self.at_unit_temperature().then(|| self.gmm.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::tests::{
        assert_gradient_matches, assert_moments_match, assert_samples_match, target,
    };
    use crate::energy::{quadrature, EnergySpec, Target};

    fn full_cov_mixture(temperature: f64) -> Gmm {
        Gmm::new(
            &[0.2, 0.5, 0.3],
            &[vec![-3.0, 0.5], vec![2.0, 1.0], vec![0.5, -2.5]],
            &[
                vec![vec![1.0, 0.6], vec![0.6, 0.8]],
                vec![vec![0.5, -0.3], vec![-0.3, 2.0]],
                vec![vec![0.3, 0.0], vec![0.0, 0.4]],
            ],
            temperature,
        )
        .unwrap()
    }

    #[test]
    fn energy_matches_direct_density() {
        // E = −log Σ w_k N(x; m_k, Σ_k) / τ computed directly with 2×2 inverses.
        for tau in [1.0, 0.7] {
            let g = full_cov_mixture(tau);
            for x in [[0.0, 0.0], [1.0, -1.0], [-2.5, 1.5]] {
                let mut p = 0.0;
                for k in 0..3 {
                    let (m, c) = (g.mean(k), g.cov(k));
                    let det = c[0] * c[3] - c[1] * c[2];
                    let (u, v) = (x[0] - m[0], x[1] - m[1]);
                    let q = (c[3] * u * u - 2.0 * c[1] * u * v + c[0] * v * v) / det;
                    p += g.weights()[k] * (-0.5 * q).exp()
                        / (2.0 * std::f64::consts::PI * det.sqrt());
                }
                let e = g.energy(&x);
                assert!((e + p.ln() / tau).abs() < 1e-12, "x={x:?} tau={tau}");
            }
        }
    }

    #[test]
    fn gradient_matches_finite_differences_near_and_far() {
        let g = full_cov_mixture(1.0);
        let hot = full_cov_mixture(2.5);
        let points = [
            [0.0, 0.0],
            [-3.0, 0.5],
            [1.3, -0.7],
            [-0.5, -1.2],
            [40.0, -35.0],
            [-200.0, 150.0],
        ];
        for x in points {
            assert_gradient_matches(&g, &x);
            assert_gradient_matches(&hot, &x);
        }
        // Far from all modes the energy is finite and grows quadratically (no underflow).
        let far = g.energy(&[-200.0, 150.0]);
        assert!(far.is_finite() && far > 1e4, "{far}");
    }

    #[test]
    fn one_dimensional_mixture_energy_and_gradient() {
        let g = Gmm::new(
            &[1.0, 1.0],
            &[vec![-1.0], vec![2.0]],
            &[vec![vec![0.49]], vec![vec![0.16]]],
            1.0,
        )
        .unwrap();
        assert_eq!(g.weights(), &[0.5, 0.5]);
        for x in [-3.0, -1.0, 0.4, 2.0, 25.0] {
            assert_gradient_matches(&g, &[x]);
            let n = |m: f64, s: f64| {
                (-(x - m) * (x - m) / (2.0 * s * s)).exp()
                    / (s * (2.0 * std::f64::consts::PI).sqrt())
            };
            let p = 0.5 * n(-1.0, 0.7) + 0.5 * n(2.0, 0.4);
            if p > 1e-300 {
                assert!((g.energy(&[x]) + p.ln()).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn mixture_moments_match_seed_values() {
        let g = Gmm::new(
            &[0.5, 0.5],
            &[vec![2.0, 2.0], vec![-4.0, -4.0]],
            &[
                vec![vec![2.0, 0.0], vec![0.0, 3.0]],
                vec![vec![1.0, 0.0], vec![0.0, 2.0]],
            ],
            1.0,
        )
        .unwrap();
        let (mean, cov) = g.moments();
        assert_eq!(mean, vec![-1.0, -1.0]);
        assert_eq!(cov, vec![10.5, 9.0, 9.0, 11.5]);
        assert!((g.smallest_scale() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn seed_gmm_moments_and_marginals() {
        let gt = target("seed-gmm", 1.0).ground_truth();
        let x = &gt.marginals[0];
        assert!((x.mean + 1.0).abs() < 1e-6, "x mean {}", x.mean);
        assert!((x.std - 10.5f64.sqrt()).abs() < 1e-6, "x std {}", x.std);
        let expected_cov = [10.5, 9.0, 9.0, 11.5];
        for k in 0..4 {
            assert!((gt.cov[k] - expected_cov[k]).abs() < 1e-6, "{:?}", gt.cov);
        }
        assert!((gt.mean[1] + 1.0).abs() < 1e-6);
        // The binned marginal: integrates to 1 over the window, and at a bin centre equals
        // the closed-form mixture marginal 0.5·N(2, 2) + 0.5·N(−4, 1) (up to the window's
        // renormalisation, < 1e-4).
        let width = (x.hi - x.lo) / x.density.len() as f64;
        assert_eq!(x.density.len(), quadrature::MARGINAL_BINS);
        assert!((x.density.iter().sum::<f64>() * width - 1.0).abs() < 1e-12);
        let normal = |t: f64, m: f64, v: f64| {
            (-(t - m) * (t - m) / (2.0 * v)).exp() / (2.0 * std::f64::consts::PI * v).sqrt()
        };
        for b in [10, 35, 50, 77] {
            let t = x.lo + (b as f64 + 0.5) * width;
            let exact = 0.5 * normal(t, 2.0, 2.0) + 0.5 * normal(t, -4.0, 1.0);
            assert!(
                (x.density[b] - exact).abs() < 1e-4 * exact.max(1e-3),
                "bin {b}"
            );
        }
        // Density grid: normalised log density at cell centres.
        let g = &gt.grid;
        assert_eq!(
            (g.nx, g.ny),
            (
                quadrature::DENSITY_GRID_CELLS,
                quadrature::DENSITY_GRID_CELLS
            )
        );
        let (hx, hy) = (
            (g.hi[0] - g.lo[0]) / g.nx as f64,
            (g.hi[1] - g.lo[1]) / g.ny as f64,
        );
        let mass: f64 = g.log_density.iter().map(|l| l.exp()).sum::<f64>() * hx * hy;
        assert!((mass - 1.0).abs() < 1e-3, "display-window mass {mass}");
        let (ix, iy) = (40, 90);
        let p = [
            g.lo[0] + (ix as f64 + 0.5) * hx,
            g.lo[1] + (iy as f64 + 0.5) * hy,
        ];
        let t = target("seed-gmm", 1.0);
        assert!((g.log_density[iy * g.nx + ix] + t.energy.energy(&p)).abs() < 1e-12);
    }

    #[test]
    fn one_dimensional_custom_mixture() {
        let spec = EnergySpec::parse(
            r#"{"gmm": {"weights": [1, 1], "means": [[-1], [2]], "covs": [[[0.49]], [[0.16]]]}}"#,
        )
        .unwrap();
        let t = Target::new(&spec, 1.0).unwrap();
        assert_eq!(t.dim(), 1);
        let gt = t.ground_truth();
        assert!(gt.log_z.abs() < 1e-9, "{}", gt.log_z);
        assert!((gt.mean[0] - 0.5).abs() < 1e-9);
        // Var = Σ w (s² + m²) − mean² = 0.5(0.49 + 1) + 0.5(0.16 + 4) − 0.25.
        assert!((gt.cov[0] - (0.5 * 1.49 + 0.5 * 4.16 - 0.25)).abs() < 1e-9);
        assert_eq!(gt.grid.ny, 1);
        assert_eq!(gt.marginals.len(), 1);
        let n = 100_000;
        let xs = t.exact_samples(n, &mut Rng::new(2)).unwrap();
        assert_samples_match(&xs, &gt, "1-D mixture");
        // Nearest-centre cells split at 0.5: the left cell loses the wide component's right
        // tail, ½Φ(1.5/0.7) + ½Φ(−1.5/0.4) = 0.4920131 (Φ via erf, computed offline); the
        // samples' split agrees within 4 binomial standard errors. (The cell holding the
        // border is assigned whole: an error of order h·density there ≈ 1e-5.)
        let m = gt.mode_masses[0];
        assert!((m - 0.4920131).abs() < 3e-5, "{m}");
        let left = xs.iter().filter(|&&x| x < 0.5).count() as f64 / n as f64;
        assert!(
            (left - m).abs() < 4.0 * (m * (1.0 - m) / n as f64).sqrt(),
            "{left}"
        );
    }

    #[test]
    fn gmm40_is_a_fixed_normalised_mixture_with_an_exact_sampler() {
        let t = target("gmm40", 1.0);
        assert_eq!((t.dim(), t.modes.len()), (2, 40));
        assert_eq!(t.log_z, Some(0.0));
        // Fixed: the same means every time, all inside the square, not all alike.
        assert_eq!(target("gmm40", 1.0).modes, t.modes);
        assert!(t
            .modes
            .iter()
            .flatten()
            .all(|v| v.abs() <= GMM40_HALF_WIDTH));
        let spread = t
            .modes
            .iter()
            .map(|m| m[0])
            .fold(f64::NEG_INFINITY, f64::max)
            - t.modes.iter().map(|m| m[0]).fold(f64::INFINITY, f64::min);
        assert!(spread > 50.0, "{spread}");
        let gt = t.ground_truth();
        assert!(gt.log_z.abs() < 1e-6, "{}", gt.log_z);
        let xs = t.exact_samples(100_000, &mut Rng::new(40)).unwrap();
        assert_samples_match(&xs, &gt, "gmm40");
        for x in [[0.0, 0.0], [13.0, -27.5], [-39.0, 39.0], [70.0, -80.0]] {
            assert_gradient_matches(&*t.energy, &x);
        }
    }

    #[test]
    fn mixture_family_states_moments_samples_and_log_z_at_unit_temperature_only() {
        let t = MixtureTarget::new(seed_gmm(1.0).unwrap());
        assert_eq!(t.log_z(), Some(0.0));
        let (mean, cov) = t.moments().unwrap();
        assert_eq!(
            (mean.clone(), cov.clone()),
            seed_gmm(1.0).unwrap().moments()
        );
        let xs = t
            .exact_sampler()
            .unwrap()
            .sample(100_000, &mut Rng::new(12));
        assert_moments_match(&xs, &mean, &cov, "seed-gmm family");
        assert_eq!(t.as_mixture().unwrap().n_components(), 2);
        assert_eq!(t.projections(), vec![vec![0, 1]]);
        assert_eq!(t.modes().len(), 2);
        // p^{1/τ} is no longer the mixture: nothing is stated, quadrature judges.
        let hot = MixtureTarget::new(seed_gmm(2.0).unwrap());
        assert!(hot.log_z().is_none() && hot.moments().is_none());
        assert!(hot.exact_sampler().is_none() && hot.as_mixture().is_none());
        assert!(hot.ground_truth().log_z.is_finite());
    }
}
