//! The rollout's time grid and its Euler–Maruyama update with exact-variance noise.
//!
//! For dX = σ_t u(t, X) dt + σ_t dW (docs/methods.md §2), step i draws
//! X_{i+1} = X_i + Σ_i·u(t_i, X_i) + √Δν_i·ξ with Σ_i = ∫σ_s ds and Δν_i = ν_{t_{i+1}} − ν_{t_i}
//! over the step: the noise has the exact variance of the base process, so with u = 0 the
//! discrete chain has exactly the base marginals (ν_1 at t = 1, for any number of steps), and
//! the drift integrates σ exactly rather than taking a left-point σ_{t_i}Δt.

use super::NoiseSchedule;
use crate::rng::Rng;

#[derive(Clone, Debug)]
pub struct TimeGrid {
    /// t_i = i/S, i = 0..=S.
    pub times: Vec<f64>,
    /// Δν_i = ν_{t_{i+1}} − ν_{t_i}, i = 0..S.
    pub dnu: Vec<f64>,
    /// Σ_i = ∫_{t_i}^{t_{i+1}} σ_s ds, i = 0..S.
    pub sigma_dt: Vec<f64>,
    pub nu1: f64,
}

impl TimeGrid {
    pub fn new(schedule: &NoiseSchedule, steps: usize) -> TimeGrid {
        assert!(steps > 0, "a time grid needs at least one step");
        let times: Vec<f64> = (0..=steps).map(|i| i as f64 / steps as f64).collect();
        let dnu = times
            .windows(2)
            .map(|w| schedule.nu(w[1]) - schedule.nu(w[0]))
            .collect();
        let sigma_dt = times
            .windows(2)
            .map(|w| schedule.sigma_integral(w[0], w[1]))
            .collect();
        TimeGrid {
            times,
            dnu,
            sigma_dt,
            nu1: schedule.nu1(),
        }
    }

    pub fn steps(&self) -> usize {
        self.dnu.len()
    }

    /// One update of every path (rows of `x`, `u`: n × d), in place. Adds to `log_ratio[p]`
    /// the log density ratio log p₀(x_{i+1}|x_i) − log p_u(x_{i+1}|x_i) of the base chain to
    /// the controlled chain for the step taken; summed over the path it is log dP₀/dP_u, the
    /// discrete Girsanov weight (docs/methods.md §7). With drift m = Σ·u and noise n = √Δν·ξ it is
    /// (|n|² − |m + n|²)/(2Δν) = −(m·ξ)/√Δν − |m|²/(2Δν).
    pub fn step(
        &self,
        i: usize,
        x: &mut [f32],
        u: &[f32],
        log_ratio: &mut [f64],
        d: usize,
        rng: &mut Rng,
    ) {
        let (dnu, sigma_dt) = (self.dnu[i], self.sigma_dt[i]);
        let sd = dnu.sqrt();
        for ((xp, up), lr) in x
            .chunks_exact_mut(d)
            .zip(u.chunks_exact(d))
            .zip(log_ratio.iter_mut())
        {
            let mut acc = 0.0;
            for (xk, &uk) in xp.iter_mut().zip(up) {
                let xi = rng.normal();
                let m = sigma_dt * uk as f64;
                *xk = (*xk as f64 + m + sd * xi) as f32;
                acc -= m * xi / sd + 0.5 * m * m / dnu;
            }
            *lr += acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_control_hits_the_base_marginal_exactly_for_any_step_count() {
        for steps in [1, 5, 100] {
            let sched = NoiseSchedule::SEED;
            let grid = TimeGrid::new(&sched, steps);
            let (n, d) = (40_000, 2);
            let mut x = vec![0f32; n * d];
            let u = vec![0f32; n * d];
            let mut lr = vec![0f64; n];
            let mut rng = Rng::new(3);
            for i in 0..steps {
                grid.step(i, &mut x, &u, &mut lr, d, &mut rng);
            }
            let var = x.iter().map(|&a| (a as f64).powi(2)).sum::<f64>() / (n * d) as f64;
            // Standard error of the variance estimate: ν₁·√(2/(nd)) ≈ 0.005.
            assert!((var - sched.nu1()).abs() < 0.02, "S={steps}: var {var}");
            assert!(lr.iter().all(|&l| l == 0.0));
        }
    }

    #[test]
    fn girsanov_weights_have_unit_mean_under_the_controlled_chain() {
        // E_{P_v}[dP₀/dP_v] = 1 for any control: an exact identity of the discrete chain.
        let sched = NoiseSchedule::SEED;
        let steps = 50;
        let grid = TimeGrid::new(&sched, steps);
        let (n, d) = (100_000, 2);
        let mut x = vec![0f32; n * d];
        let mut v = vec![0f32; n * d];
        let mut lr = vec![0f64; n];
        let mut rng = Rng::new(11);
        for i in 0..steps {
            // A smooth state-dependent control pulling towards (1, −0.5).
            for (vp, xp) in v.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
                vp[0] = 0.8 * (1.0 - xp[0]);
                vp[1] = 0.8 * (-0.5 - xp[1]);
            }
            grid.step(i, &mut x, &v, &mut lr, d, &mut rng);
        }
        let mean_w = lr.iter().map(|l| l.exp()).sum::<f64>() / n as f64;
        let mean_x = x.chunks_exact(d).map(|p| p[0] as f64).sum::<f64>() / n as f64;
        assert!(
            mean_x > 0.2,
            "the control must move the paths (mean x {mean_x})"
        );
        assert!((mean_w - 1.0).abs() < 0.02, "E[w] = {mean_w}");
    }
}
