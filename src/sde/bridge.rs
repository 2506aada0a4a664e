//! The reciprocal (Brownian) bridge of the base process: X_t | X_0, X_1 (docs/methods.md §2–§3).
//!
//! With γ_t = ν_t/ν_1, X_t | X_0, X_1 ~ N((1 − γ_t)X_0 + γ_t X_1, ν_1 γ_t (1 − γ_t) I).
//! For a Dirac source at 0 this is N(γ_t X_1, ν_t(ν_1 − ν_t)/ν_1 I); for a constant σ it is
//! N((1 − t)X_0 + tX_1, σ² t(1 − t) I).

use super::NoiseSchedule;
use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BridgeSample {
    /// γ_t: weight of the endpoint X_1 in the bridge mean.
    pub gamma: f64,
    /// Per-coordinate variance ν_1 γ_t (1 − γ_t).
    pub variance: f64,
}

impl BridgeSample {
    pub fn at(schedule: &NoiseSchedule, t: f64) -> BridgeSample {
        let nu1 = schedule.nu1();
        let gamma = (schedule.nu(t) / nu1).clamp(0.0, 1.0);
        BridgeSample {
            gamma,
            variance: nu1 * gamma * (1.0 - gamma),
        }
    }

    /// Draws X_t given the endpoints (x0 = None for the Dirac source at 0).
    pub fn draw(&self, x0: Option<&[f32]>, x1: &[f32], xt: &mut [f32], rng: &mut Rng) {
        let sd = self.variance.sqrt();
        for (k, (out, &b)) in xt.iter_mut().zip(x1).enumerate() {
            let a = x0.map_or(0.0, |x0| x0[k] as f64);
            *out = ((1.0 - self.gamma) * a + self.gamma * b as f64 + sd * rng.normal()) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_of_the_base_terminal_law_gives_the_base_marginal() {
        // X_1 ~ N(0, ν₁) then X_t | X_1 from the bridge ⇒ X_t ~ N(0, ν_t): exact in law.
        let sched = NoiseSchedule::SEED;
        let mut rng = Rng::new(5);
        let n = 100_000;
        for &t in &[0.05, 0.3, 0.7, 0.95] {
            let b = BridgeSample::at(&sched, t);
            let mut sum2 = 0.0;
            let mut xt = [0f32];
            for _ in 0..n {
                let x1 = [(sched.nu1().sqrt() * rng.normal()) as f32];
                b.draw(None, &x1, &mut xt, &mut rng);
                sum2 += (xt[0] as f64).powi(2);
            }
            let var = sum2 / n as f64;
            let nu_t = sched.nu(t);
            assert!(
                (var - nu_t).abs() < 5.0 * nu_t * (2.0 / n as f64).sqrt(),
                "t={t}: var {var} vs ν_t {nu_t}"
            );
        }
    }

    #[test]
    fn bridge_moments_and_endpoints() {
        let sched = NoiseSchedule::Constant { sigma: 0.3 };
        let b = BridgeSample::at(&sched, 0.25);
        assert!((b.gamma - 0.25).abs() < 1e-12);
        assert!((b.variance - 0.09 * 0.25 * 0.75).abs() < 1e-12);
        let mut rng = Rng::new(9);
        let (x0, x1) = ([2.0f32, -1.0], [-2.0f32, 3.0]);
        let n = 100_000;
        let mut mean = [0f64; 2];
        let mut var = [0f64; 2];
        let mut xt = [0f32; 2];
        for _ in 0..n {
            b.draw(Some(&x0), &x1, &mut xt, &mut rng);
            for k in 0..2 {
                mean[k] += xt[k] as f64 / n as f64;
            }
        }
        for _ in 0..n {
            b.draw(Some(&x0), &x1, &mut xt, &mut rng);
            for k in 0..2 {
                var[k] += (xt[k] as f64 - mean[k]).powi(2) / n as f64;
            }
        }
        for k in 0..2 {
            let want = 0.75 * x0[k] as f64 + 0.25 * x1[k] as f64;
            assert!((mean[k] - want).abs() < 0.003, "mean {mean:?}");
            assert!(
                (var[k] - b.variance).abs() < 0.03 * b.variance,
                "var {var:?}"
            );
        }
        // The ends are pinned.
        let g = NoiseSchedule::SEED;
        assert_eq!(BridgeSample::at(&g, 0.0).variance, 0.0);
        assert!(BridgeSample::at(&g, 1.0).variance.abs() < 1e-15);
    }
}
