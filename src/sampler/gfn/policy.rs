//! The discretized forward policy and the fixed Brownian-bridge backward policy of
//! docs/methods.md §5, with the derivatives the objectives need.
//!
//! p_F(x_{i+1} | x_i) = N(x_i + Δt·μ, Δt·e^ℓ I), μ and ℓ from the network output
//! o = [μ (d), ℓ_raw (d)] at (x_i, t_i); ℓ = log σ² (fixed variance) or
//! 4·tanh(ℓ_raw) + log σ² (learned). With the Langevin parametrization (LP)
//! μ = clip(NN1(x, t) + NN2(t)·clip(∇log R(x), ±100), ±10⁴).
//! p_B(x_i | x_{i+1}) = N(x_{i+1}·i/(i+1), σ²Δt·i/(i+1) I) for i ≥ 1; p_B(x_0 | x_1) = 1.

use crate::nn::{Activation, FourierFeatures, Mlp, Workspace};
use crate::rng::Rng;
use ndarray::Array2;

pub(crate) const LOG_2PI: f64 = 1.837_877_066_409_345_5;
/// LP's elementwise clip of the score ∇log R (docs/methods.md §5).
pub const SCORE_CLIP: f64 = 100.0;
/// LP's elementwise clip of the drift μ.
pub const DRIFT_CLIP: f64 = 1e4;
/// Range of the learned log-variance around log σ²: ℓ = 4·tanh(ℓ_raw) + log σ².
pub const LOG_VAR_RANGE: f64 = 4.0;
/// NN2's initial output: the last layer's bias (docs/methods.md §5).
pub const LANGEVIN_SCALE_INIT: f32 = 0.01;

/// log N(x; m, v I) in d dimensions, for a scalar variance v.
pub(crate) fn log_normal(x: &[f64], m: impl Fn(usize) -> f64, v: f64) -> f64 {
    let mut q = 0.0;
    for (k, &xk) in x.iter().enumerate() {
        let r = xk - m(k);
        q += r * r;
    }
    -0.5 * (x.len() as f64 * (LOG_2PI + v.ln()) + q / v)
}

/// The fixed backward policy: a Brownian bridge pinned at x_0 = 0 for the base process
/// of variance σ² per unit time on the grid t_i = iΔt.
#[derive(Clone, Copy, Debug)]
pub struct BackwardPolicy {
    pub sigma2: f64,
    pub dt: f64,
}

impl BackwardPolicy {
    /// Mean factor i/(i+1) and variance σ²Δt·i/(i+1) of p_B(x_i | x_{i+1}).
    fn coefficients(&self, i: usize) -> (f64, f64) {
        let c = i as f64 / (i + 1) as f64;
        (c, self.sigma2 * self.dt * c)
    }

    /// log p_B(x_i | x_{i+1}); 0 for i = 0 (x_0 = 0 is certain).
    pub fn log_prob(&self, i: usize, x_i: &[f64], x_next: &[f64]) -> f64 {
        if i == 0 {
            return 0.0;
        }
        let (c, v) = self.coefficients(i);
        log_normal(x_i, |k| c * x_next[k], v)
    }

    /// Draws x_i ~ p_B(· | x_{i+1}) into `x_i` (zeros for i = 0).
    pub fn sample(&self, i: usize, x_next: &[f64], x_i: &mut [f64], rng: &mut Rng) {
        if i == 0 {
            x_i.fill(0.0);
            return;
        }
        let (c, v) = self.coefficients(i);
        let s = v.sqrt();
        for (xi, &xn) in x_i.iter_mut().zip(x_next) {
            *xi = c * xn + s * rng.normal();
        }
    }

    /// Adds ∂log p_B(x_i | x_{i+1})/∂x_i · `scale` into `g_i` and ∂/∂x_{i+1} · `scale` into
    /// `g_next` (nothing for i = 0).
    pub fn add_gradients(
        &self,
        i: usize,
        x_i: &[f64],
        x_next: &[f64],
        scale: f64,
        g_i: Option<&mut [f64]>,
        g_next: Option<&mut [f64]>,
    ) {
        if i == 0 {
            return;
        }
        let (c, v) = self.coefficients(i);
        if let Some(g) = g_i {
            for k in 0..x_i.len() {
                g[k] -= scale * (x_i[k] - c * x_next[k]) / v;
            }
        }
        if let Some(g) = g_next {
            for k in 0..x_i.len() {
                g[k] += scale * c * (x_i[k] - c * x_next[k]) / v;
            }
        }
    }
}

/// log p_F(x_{i+1} | x_i) for drift μ and log-variance ℓ (per coordinate).
pub(crate) fn forward_log_prob(
    x_i: &[f64],
    x_next: &[f64],
    mu: &[f64],
    ell: &[f64],
    dt: f64,
) -> f64 {
    let mut s = 0.0;
    for k in 0..x_i.len() {
        let v = dt * ell[k].exp();
        let r = x_next[k] - x_i[k] - dt * mu[k];
        s -= 0.5 * (LOG_2PI + v.ln() + r * r / v);
    }
    s
}

/// ∂log p_F/∂μ and ∂log p_F/∂ℓ (per coordinate), times `scale`, into `d_mu`, `d_ell`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_log_prob_gradients(
    x_i: &[f64],
    x_next: &[f64],
    mu: &[f64],
    ell: &[f64],
    dt: f64,
    scale: f64,
    d_mu: &mut [f64],
    d_ell: &mut [f64],
) {
    for k in 0..x_i.len() {
        let e = ell[k].exp();
        let r = x_next[k] - x_i[k] - dt * mu[k];
        // r/(Δt e^ℓ)·Δt and −½ + r²/(2Δt e^ℓ).
        d_mu[k] = scale * r / e;
        d_ell[k] = scale * (-0.5 + 0.5 * r * r / (dt * e));
    }
}

/// The forward policy's networks: NN1 on [x, time features] and, with LP, NN2 on the
/// time features alone.
#[derive(Clone)]
pub struct ForwardPolicy {
    pub net: Mlp,
    /// NN2(t) of the Langevin parametrization.
    pub langevin: Option<Mlp>,
    pub features: FourierFeatures,
    pub dim: usize,
    pub learned_variance: bool,
    /// log σ².
    pub log_sigma2: f64,
}

/// What the policy computed for a batch at one step.
pub(crate) struct StepOutputs<'a> {
    /// μ (n × d).
    pub mu: &'a mut [f64],
    /// ℓ (n × d).
    pub ell: &'a mut [f64],
    /// The network output o (n × out), kept for the derivative of tanh and the clip.
    pub raw: &'a mut [f32],
}

impl ForwardPolicy {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dim: usize,
        hidden: usize,
        layers: usize,
        activation: Activation,
        learned_variance: bool,
        langevin: bool,
        sigma2: f64,
        rng: &mut Rng,
    ) -> ForwardPolicy {
        let features = FourierFeatures::new(3);
        let mut sizes = vec![dim + features.dim()];
        sizes.extend(std::iter::repeat_n(hidden, layers));
        sizes.push(if learned_variance { 2 * dim } else { dim });
        let net = Mlp::new(&sizes, activation, rng);
        let langevin = langevin.then(|| {
            let mut nn2 = Mlp::new(&[features.dim(), hidden, hidden, 1], activation, rng);
            // Last layer: zero weights (Mlp::new) and bias 0.01, so μ starts as 0.01·∇log R.
            let n = nn2.n_params();
            nn2.params_mut()[n - 1] = LANGEVIN_SCALE_INIT;
            nn2
        });
        ForwardPolicy {
            net,
            langevin,
            features,
            dim,
            learned_variance,
            log_sigma2: sigma2.ln(),
        }
    }

    pub fn out_dim(&self) -> usize {
        self.net.output_dim()
    }

    pub fn in_dim(&self) -> usize {
        self.net.input_dim()
    }

    /// Writes [x, features(t)] into the rows of `inputs`.
    pub(crate) fn fill_inputs(&self, x: &[f64], t: f64, inputs: &mut Array2<f32>) {
        let d = self.dim;
        let mut tf = [0f32; 16];
        let tf = &mut tf[..self.features.dim()];
        self.features.write(t, tf);
        for (mut row, xp) in inputs.rows_mut().into_iter().zip(x.chunks_exact(d)) {
            let row = row.as_slice_mut().expect("standard layout");
            for k in 0..d {
                row[k] = xp[k] as f32;
            }
            row[d..].copy_from_slice(tf);
        }
    }

    /// NN2(t) (forward pass into `ws`), or 0 without LP.
    pub(crate) fn langevin_scale(&self, t: f64, ws: &mut Workspace) -> f64 {
        let Some(nn2) = &self.langevin else {
            return 0.0;
        };
        let mut tf = [0f32; 16];
        let tf = &mut tf[..self.features.dim()];
        self.features.write(t, tf);
        let input = ndarray::ArrayView2::from_shape((1, tf.len()), &*tf).expect("1 × features");
        nn2.forward(input, ws)[[0, 0]] as f64
    }

    /// μ, ℓ at the rows of `x` (n × d) at time t: the network's forward pass into `ws`
    /// (`inputs` must have n rows). `score` is the clipped ∇log R at x (LP only) and
    /// `scale` NN2(t).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn outputs(
        &self,
        x: &[f64],
        t: f64,
        score: Option<&[f64]>,
        scale: f64,
        inputs: &mut Array2<f32>,
        ws: &mut Workspace,
        out: StepOutputs,
    ) {
        let d = self.dim;
        self.fill_inputs(x, t, inputs);
        let o = self.net.forward(inputs.view(), ws);
        let o = o.as_slice().expect("contiguous output");
        out.raw.copy_from_slice(o);
        let w = self.out_dim();
        for (p, row) in o.chunks_exact(w).enumerate() {
            for k in 0..d {
                let nn1 = row[k] as f64;
                out.mu[p * d + k] = match score {
                    Some(s) => (nn1 + scale * s[p * d + k]).clamp(-DRIFT_CLIP, DRIFT_CLIP),
                    None => nn1,
                };
                out.ell[p * d + k] = if self.learned_variance {
                    LOG_VAR_RANGE * (row[d + k] as f64).tanh() + self.log_sigma2
                } else {
                    self.log_sigma2
                };
            }
        }
    }

    /// The network's output gradient from dL/dμ and dL/dℓ (n × d) at a step whose outputs
    /// were `raw`; returns dL/dNN2(t) (0 without LP).
    pub(crate) fn output_gradient(
        &self,
        raw: &[f32],
        score: Option<&[f64]>,
        scale: f64,
        d_mu: &[f64],
        d_ell: &[f64],
        grad_out: &mut Array2<f32>,
    ) -> f64 {
        let d = self.dim;
        let w = self.out_dim();
        let mut d_scale = 0.0;
        for (p, (row, mut g)) in raw.chunks_exact(w).zip(grad_out.rows_mut()).enumerate() {
            for k in 0..d {
                let mut dm = d_mu[p * d + k];
                if let Some(s) = score {
                    // The clip at ±10⁴ has zero derivative where it is active.
                    let pre = row[k] as f64 + scale * s[p * d + k];
                    if pre.abs() > DRIFT_CLIP {
                        dm = 0.0;
                    }
                    d_scale += dm * s[p * d + k];
                }
                g[k] = dm as f32;
                if self.learned_variance {
                    let th = (row[d + k] as f64).tanh();
                    g[d + k] = (d_ell[p * d + k] * LOG_VAR_RANGE * (1.0 - th * th)) as f32;
                }
            }
        }
        d_scale
    }
}

/// ∇log R clipped elementwise at ±100 (LP), from ∇E: score = clip(−∇E).
pub(crate) fn clipped_score(grad_e: &[f64], score: &mut [f64]) {
    for (s, &g) in score.iter_mut().zip(grad_e) {
        *s = (-g).clamp(-SCORE_CLIP, SCORE_CLIP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backward_policy_moments_are_the_brownian_bridge() {
        // x_i | x_{i+1} for the base walk x_i ~ N(0, σ² iΔt): mean x_{i+1}·i/(i+1),
        // variance σ²Δt·i/(i+1).
        let p = BackwardPolicy {
            sigma2: 5.0,
            dt: 0.01,
        };
        let mut rng = Rng::new(7);
        let (i, n) = (30, 200_000);
        let x_next = [2.0, -1.0];
        let mut x = [0.0; 2];
        let (mut m, mut v) = ([0.0; 2], [0.0; 2]);
        for _ in 0..n {
            p.sample(i, &x_next, &mut x, &mut rng);
            for k in 0..2 {
                m[k] += x[k] / n as f64;
                v[k] += x[k] * x[k] / n as f64;
            }
        }
        let c = 30.0 / 31.0;
        let var = 5.0 * 0.01 * c;
        for k in 0..2 {
            let vk = v[k] - m[k] * m[k];
            // sd of the mean ≈ √(var/n) = 4.9e-4; of the variance ≈ var·√(2/n) = 1.5e-4.
            assert!((m[k] - c * x_next[k]).abs() < 2.5e-3, "mean {}", m[k]);
            assert!((vk / var - 1.0).abs() < 0.015, "variance {vk} vs {var}");
        }
        // Joint check: base marginals are reproduced backwards. x_T ~ N(0, σ²), then
        // bridging down to step 10 gives N(0, σ²·10Δt).
        let steps = 100;
        let mut acc = 0.0;
        let m_paths = 20_000;
        let mut cur = [0.0];
        let mut prev = [0.0];
        for _ in 0..m_paths {
            cur[0] = 5f64.sqrt() * rng.normal();
            for j in (10..steps).rev() {
                p.sample(j, &cur, &mut prev, &mut rng);
                cur = prev;
            }
            acc += cur[0] * cur[0];
        }
        let var10 = acc / m_paths as f64;
        assert!((var10 / 0.5 - 1.0).abs() < 0.04, "{var10} vs 0.5");
        assert_eq!(p.log_prob(0, &[0.3], &[1.0]), 0.0);
    }

    #[test]
    fn log_prob_gradients_match_finite_differences() {
        let p = BackwardPolicy {
            sigma2: 2.0,
            dt: 0.1,
        };
        let xi = [0.4, -0.7];
        let xn = [1.1, 0.2];
        let (mut gi, mut gn) = ([0.0; 2], [0.0; 2]);
        p.add_gradients(3, &xi, &xn, 1.0, Some(&mut gi), Some(&mut gn));
        let h = 1e-6;
        for k in 0..2 {
            let (mut a, mut b) = (xi, xi);
            a[k] += h;
            b[k] -= h;
            let fd = (p.log_prob(3, &a, &xn) - p.log_prob(3, &b, &xn)) / (2.0 * h);
            assert!((fd - gi[k]).abs() < 1e-6, "{fd} vs {}", gi[k]);
            let (mut a, mut b) = (xn, xn);
            a[k] += h;
            b[k] -= h;
            let fd = (p.log_prob(3, &xi, &a) - p.log_prob(3, &xi, &b)) / (2.0 * h);
            assert!((fd - gn[k]).abs() < 1e-6, "{fd} vs {}", gn[k]);
        }
        let mu = [0.3, -2.0];
        let ell = [0.2, -0.5];
        let (mut dm, mut de) = ([0.0; 2], [0.0; 2]);
        forward_log_prob_gradients(&xi, &xn, &mu, &ell, 0.1, 1.0, &mut dm, &mut de);
        for k in 0..2 {
            let (mut a, mut b) = (mu, mu);
            a[k] += h;
            b[k] -= h;
            let fd = (forward_log_prob(&xi, &xn, &a, &ell, 0.1)
                - forward_log_prob(&xi, &xn, &b, &ell, 0.1))
                / (2.0 * h);
            assert!((fd - dm[k]).abs() < 1e-5, "{fd} vs {}", dm[k]);
            let (mut a, mut b) = (ell, ell);
            a[k] += h;
            b[k] -= h;
            let fd = (forward_log_prob(&xi, &xn, &mu, &a, 0.1)
                - forward_log_prob(&xi, &xn, &mu, &b, 0.1))
                / (2.0 * h);
            assert!((fd - de[k]).abs() < 1e-5, "{fd} vs {}", de[k]);
        }
    }

    #[test]
    fn langevin_parametrization_starts_at_a_hundredth_of_the_score() {
        // NN1 = 0 (zero output layer) and NN2 = its bias 0.01 ⇒ μ = 0.01·clip(∇log R).
        let mut rng = Rng::new(2);
        let policy = ForwardPolicy::new(2, 16, 2, Activation::Gelu, false, true, 1.0, &mut rng);
        let mut ws2 = Workspace::new();
        let scale = policy.langevin_scale(0.37, &mut ws2);
        assert!((scale - 0.01).abs() < 1e-9, "{scale}");
        let x = [1.0, -2.0, 3.0, 0.5];
        let grad_e = [3.0, -4.0, 500.0, -0.25];
        let mut score = [0.0; 4];
        clipped_score(&grad_e, &mut score);
        assert_eq!(score, [-3.0, 4.0, -100.0, 0.25]);
        let (mut mu, mut ell, mut raw) = ([0.0; 4], [0.0; 4], [0f32; 4]);
        let mut inputs = Array2::zeros((2, policy.in_dim()));
        policy.outputs(
            &x,
            0.37,
            Some(&score),
            scale,
            &mut inputs,
            &mut Workspace::new(),
            StepOutputs {
                mu: &mut mu,
                ell: &mut ell,
                raw: &mut raw,
            },
        );
        for k in 0..4 {
            assert!((mu[k] - 0.01 * score[k]).abs() < 1e-7, "{mu:?}");
            assert_eq!(ell[k], 0.0);
        }
    }
}
