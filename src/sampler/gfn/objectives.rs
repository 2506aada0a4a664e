//! The off-policy losses of docs/methods.md §5 on a batch of detached trajectories, with their
//! gradients in the per-step forward log-probabilities log p_F, the state flows log F and
//! log Z. The network gradients follow by the chain rule through log p_F (policy.rs).
//!
//! Layout: `lf[i·B + b]` = log p_F(x_{i+1} | x_i) and `lb[i·B + b]` = log p_B(x_i | x_{i+1})
//! of trajectory b at step i (i < T); `log_f[i·B + b]` = log F(x_i, t_i) for i ≤ T with
//! `log_f[T·B + b]` = log R(x_T) (the flow's boundary condition at t = 1).

/// Which loss trains the sampler (registry names in parentheses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// Trajectory balance with a learned scalar log Z (`tb`).
    Tb,
    /// Log-variance / VarGrad: TB with log Z replaced by the batch mean (`vargrad`).
    VarGrad,
    /// Detailed balance with a learned state flow (`db`).
    Db,
    /// Subtrajectory balance, λ = 2, with a learned state flow (`subtb`).
    SubTb,
    /// SubTB with the forward-looking flow parametrization (`fl-subtb`).
    FlSubTb,
    /// Path integral sampler: on-policy, reparameterized (`pis`).
    Pis,
}

impl Objective {
    pub fn parse(name: &str) -> Option<Objective> {
        Some(match name {
            "tb" => Objective::Tb,
            "vargrad" => Objective::VarGrad,
            "db" => Objective::Db,
            "subtb" => Objective::SubTb,
            "fl-subtb" => Objective::FlSubTb,
            "pis" => Objective::Pis,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Objective::Tb => "tb",
            Objective::VarGrad => "vargrad",
            Objective::Db => "db",
            Objective::SubTb => "subtb",
            Objective::FlSubTb => "fl-subtb",
            Objective::Pis => "pis",
        }
    }

    /// Whether the objective learns a state flow log F(x, t).
    pub fn has_flow(self) -> bool {
        matches!(self, Objective::Db | Objective::SubTb | Objective::FlSubTb)
    }

    /// Whether intermediate states need log R (the forward-looking flow).
    pub fn needs_intermediate_log_r(self) -> bool {
        self == Objective::FlSubTb
    }
}

/// S_F − S_B − log R of trajectory b (the TB residual without log Z).
pub(crate) fn path_residual(lf: &[f64], lb: &[f64], log_r: f64, b: usize, batch: usize) -> f64 {
    let mut s = -log_r;
    for i in 0..lf.len() / batch {
        s += lf[i * batch + b] - lb[i * batch + b];
    }
    s
}

/// TB: (1/B) Σ_b ½(log Z + S_F − S_B − log R)². Writes dL/dlf into `d_lf` and returns
/// (loss, dL/dlog Z).
pub(crate) fn trajectory_balance(
    lf: &[f64],
    lb: &[f64],
    log_r: &[f64],
    log_z: f64,
    d_lf: &mut [f64],
) -> (f64, f64) {
    let batch = log_r.len();
    let steps = lf.len() / batch;
    let (mut loss, mut d_log_z) = (0.0, 0.0);
    for b in 0..batch {
        let delta = log_z + path_residual(lf, lb, log_r[b], b, batch);
        loss += 0.5 * delta * delta / batch as f64;
        d_log_z += delta / batch as f64;
        for i in 0..steps {
            d_lf[i * batch + b] = delta / batch as f64;
        }
    }
    (loss, d_log_z)
}

/// VarGrad: ½·Var_batch(S_F − S_B − log R) with the population variance (1/B). Writes
/// dL/dlf into `d_lf`; returns the loss. The batch mean plays log Z's part, so dL/du_b =
/// (u_b − ū)/B (the mean's own derivative sums to zero).
pub(crate) fn vargrad(lf: &[f64], lb: &[f64], log_r: &[f64], d_lf: &mut [f64]) -> f64 {
    let batch = log_r.len();
    let steps = lf.len() / batch;
    let u: Vec<f64> = (0..batch)
        .map(|b| path_residual(lf, lb, log_r[b], b, batch))
        .collect();
    let mean = u.iter().sum::<f64>() / batch as f64;
    let mut loss = 0.0;
    for b in 0..batch {
        let c = u[b] - mean;
        loss += 0.5 * c * c / batch as f64;
        for i in 0..steps {
            d_lf[i * batch + b] = c / batch as f64;
        }
    }
    loss
}

/// Weights of subtrajectories by length L = j − i (index L, 0 unused): SubTB's λ^L normalized
/// over all T(T+1)/2 pairs (docs/methods.md §5), or DB's 1/T on the T transitions.
pub(crate) fn subtrajectory_weights(objective: Objective, steps: usize, lambda: f64) -> Vec<f64> {
    let mut w = vec![0.0; steps + 1];
    if objective == Objective::Db {
        w[1] = 1.0 / steps as f64;
        return w;
    }
    // λ^(L − T) rather than λ^L: the same ratios without overflow at large T.
    let mut total = 0.0;
    for (len, wl) in w.iter_mut().enumerate().skip(1) {
        *wl = lambda.powi(len as i32 - steps as i32);
        total += (steps - len + 1) as f64 * *wl;
    }
    for wl in &mut w {
        *wl /= total;
    }
    w
}

/// SubTB / DB: (1/B) Σ_b Σ_{i<j} w_{j−i} ½ r_ij², r_ij = log F_i + Σ_{i≤k<j}(lf_k − lb_k) −
/// log F_j. Writes dL/dlf (`d_lf`, T·B) and dL/dlog F (`d_log_f`, (T+1)·B; its row T is the
/// fixed boundary log R, written anyway) and returns the loss.
pub(crate) fn subtrajectory_balance(
    lf: &[f64],
    lb: &[f64],
    log_f: &[f64],
    weights: &[f64],
    d_lf: &mut [f64],
    d_log_f: &mut [f64],
) -> f64 {
    let steps = weights.len() - 1;
    let batch = lf.len() / steps;
    // Prefix sums C_i = Σ_{k<i}(lf_k − lb_k): r_ij = (log F_i − C_i) − (log F_j − C_j).
    let mut c = vec![0.0; steps + 1];
    let mut d_c = vec![0.0; steps + 1];
    let mut loss = 0.0;
    let inv_b = 1.0 / batch as f64;
    for b in 0..batch {
        for i in 0..steps {
            c[i + 1] = c[i] + lf[i * batch + b] - lb[i * batch + b];
        }
        d_c.fill(0.0);
        for i in 0..=steps {
            d_log_f[i * batch + b] = 0.0;
        }
        for (len, &w) in weights.iter().enumerate().skip(1) {
            if w == 0.0 {
                continue;
            }
            for i in 0..=steps - len {
                let j = i + len;
                let r = log_f[i * batch + b] + c[j] - c[i] - log_f[j * batch + b];
                loss += 0.5 * w * r * r * inv_b;
                let g = w * r * inv_b;
                d_log_f[i * batch + b] += g;
                d_log_f[j * batch + b] -= g;
                d_c[j] += g;
                d_c[i] -= g;
            }
        }
        // lf_k enters C_j for every j > k.
        let mut acc = 0.0;
        for k in (0..steps).rev() {
            acc += d_c[k + 1];
            d_lf[k * batch + b] = acc;
        }
    }
    loss
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random(n: usize, rng: &mut Rng) -> Vec<f64> {
        (0..n).map(|_| rng.normal()).collect()
    }

    /// Central differences of `loss` in every entry of `v` against `grad`.
    fn check(v: &mut [f64], grad: &[f64], loss: &mut dyn FnMut(&[f64]) -> f64, what: &str) {
        let h = 1e-6;
        for k in 0..v.len() {
            let v0 = v[k];
            v[k] = v0 + h;
            let up = loss(v);
            v[k] = v0 - h;
            let down = loss(v);
            v[k] = v0;
            let fd = (up - down) / (2.0 * h);
            assert!(
                (fd - grad[k]).abs() < 1e-6 * (1.0 + fd.abs()),
                "{what}[{k}]: analytic {} vs finite difference {fd}",
                grad[k]
            );
        }
    }

    #[test]
    fn loss_gradients_match_finite_differences() {
        let (steps, batch) = (5, 3);
        let mut rng = Rng::new(1);
        let mut lf = random(steps * batch, &mut rng);
        let lb = random(steps * batch, &mut rng);
        let log_r = random(batch, &mut rng);
        let mut log_f = random((steps + 1) * batch, &mut rng);
        let mut d_lf = vec![0.0; steps * batch];
        let mut d_log_f = vec![0.0; (steps + 1) * batch];
        let mut scratch = d_lf.clone();

        let (_, d_log_z) = trajectory_balance(&lf, &lb, &log_r, 0.7, &mut d_lf);
        check(
            &mut lf,
            &d_lf,
            &mut |v| trajectory_balance(v, &lb, &log_r, 0.7, &mut scratch.clone()).0,
            "TB lf",
        );
        let mut z = [0.7];
        check(
            &mut z,
            &[d_log_z],
            &mut |v| trajectory_balance(&lf, &lb, &log_r, v[0], &mut scratch.clone()).0,
            "TB log Z",
        );

        vargrad(&lf, &lb, &log_r, &mut d_lf);
        check(
            &mut lf,
            &d_lf,
            &mut |v| vargrad(v, &lb, &log_r, &mut scratch),
            "VarGrad lf",
        );

        for objective in [Objective::Db, Objective::SubTb] {
            let w = subtrajectory_weights(objective, steps, 2.0);
            subtrajectory_balance(&lf, &lb, &log_f, &w, &mut d_lf, &mut d_log_f);
            let mut df_scratch = d_log_f.clone();
            let lf_fixed = lf.clone();
            check(
                &mut lf,
                &d_lf,
                &mut |v| subtrajectory_balance(v, &lb, &log_f, &w, &mut scratch, &mut df_scratch),
                &format!("{objective:?} lf"),
            );
            let mut scratch2 = scratch.clone();
            check(
                &mut log_f,
                &d_log_f,
                &mut |v| {
                    subtrajectory_balance(&lf_fixed, &lb, v, &w, &mut scratch2, &mut df_scratch)
                },
                &format!("{objective:?} log F"),
            );
        }
    }

    #[test]
    fn subtb_weights_are_normalized_powers_of_lambda_and_db_is_transitions() {
        let steps = 100;
        let w = subtrajectory_weights(Objective::SubTb, steps, 2.0);
        let total: f64 = (1..=steps).map(|l| (steps - l + 1) as f64 * w[l]).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!((w[7] / w[6] - 2.0).abs() < 1e-12);
        // Σ_L (T−L+1)·2^(L−T) → 4 as T grows: the whole trajectory has weight ≈ 1/4.
        assert!((w[steps] - 0.25).abs() < 1e-3, "{}", w[steps]);
        let db = subtrajectory_weights(Objective::Db, steps, 2.0);
        assert_eq!(db[1], 0.01);
        assert!(db[2..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn balanced_trajectories_have_zero_loss() {
        // log F_i = C_i + const makes every subtrajectory residual zero.
        let (steps, batch) = (4, 2);
        let mut rng = Rng::new(3);
        let lf = random(steps * batch, &mut rng);
        let lb = random(steps * batch, &mut rng);
        let mut log_f = vec![0.0; (steps + 1) * batch];
        for b in 0..batch {
            let mut c = 0.0;
            for i in 0..=steps {
                log_f[i * batch + b] = c + 1.5;
                if i < steps {
                    c += lf[i * batch + b] - lb[i * batch + b];
                }
            }
        }
        let w = subtrajectory_weights(Objective::SubTb, steps, 2.0);
        let mut d = vec![0.0; steps * batch];
        let mut df = vec![0.0; (steps + 1) * batch];
        let loss = subtrajectory_balance(&lf, &lb, &log_f, &w, &mut d, &mut df);
        assert!(loss < 1e-20, "{loss}");
    }
}
