//! Metropolis-adjusted Langevin chains (methods.md §5, local search), run in parallel.
//!
//! The proposal is one Euler–Maruyama step of the Langevin diffusion towards ν ∝ R = exp(−E),
//! x' = x + η∇log R(x) + sqrt(2η)ξ, so q(x'|x) = N(x'; x + η∇log R(x), 2ηI), and the
//! Metropolis–Hastings ratio
//! α = min(1, R(x')q(x|x') / (R(x)q(x'|x)))
//! makes ν exactly invariant whatever η is.

use crate::energy::Energy;
use crate::rng::Rng;

/// Parallel Metropolis-adjusted Langevin chains on ν ∝ exp(−E) (E has τ folded in; log R = −E).
#[derive(Clone, Debug)]
pub struct MalaChains {
    dim: usize,
    /// η.
    step: f64,
    /// Current states, n × d row-major.
    states: Vec<f64>,
    /// log R at the states.
    log_r: Vec<f64>,
    /// ∇log R at the states, n × d.
    grad_log_r: Vec<f64>,
    /// Per-chain acceptance of the last step.
    accepted: Vec<bool>,
    energy_evals: u64,
    // Scratch for proposals, kept to avoid allocating every step.
    proposal: Vec<f64>,
    proposal_grad: Vec<f64>,
    proposal_log_r: Vec<f64>,
}

/// log q(to | from) up to the constant shared by both directions:
/// −‖to − from − η∇log R(from)‖² / (4η).
fn log_proposal(to: &[f64], from: &[f64], grad_from: &[f64], step: f64) -> f64 {
    let mut sq = 0.0;
    for i in 0..to.len() {
        let r = to[i] - from[i] - step * grad_from[i];
        sq += r * r;
    }
    -sq / (4.0 * step)
}

impl MalaChains {
    /// Chains started at the rows of `x0` (n×d); evaluates log R and ∇log R there.
    pub fn new(energy: &dyn Energy, x0: &[f64], step: f64) -> MalaChains {
        let dim = energy.dim();
        assert!(dim > 0 && x0.len().is_multiple_of(dim), "x0 must be n × d");
        assert!(step > 0.0 && step.is_finite(), "MALA step must be positive");
        let n = x0.len() / dim;
        let mut grad_log_r = vec![0.0; n * dim];
        let mut log_r = vec![0.0; n];
        energy.energy_grad_batch(x0, &mut grad_log_r, &mut log_r);
        // The energy gives E and ∇E; log R = −E.
        for v in log_r.iter_mut().chain(grad_log_r.iter_mut()) {
            *v = -*v;
        }
        MalaChains {
            dim,
            step,
            states: x0.to_vec(),
            log_r,
            grad_log_r,
            accepted: vec![false; n],
            energy_evals: n as u64,
            proposal: vec![0.0; n * dim],
            proposal_grad: vec![0.0; n * dim],
            proposal_log_r: vec![0.0; n],
        }
    }

    pub fn n_chains(&self) -> usize {
        self.log_r.len()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// One MH step of every chain: x' = x + η∇log R(x) + sqrt(2η)ξ, accept with the exact MALA ratio
    /// (both proposal densities). Returns per-chain accepted flags of this step.
    pub fn step(&mut self, energy: &dyn Energy, rng: &mut Rng) -> &[bool] {
        let (d, eta) = (self.dim, self.step);
        let noise = (2.0 * eta).sqrt();
        for ((p, x), g) in self
            .proposal
            .iter_mut()
            .zip(&self.states)
            .zip(&self.grad_log_r)
        {
            *p = x + eta * g + noise * rng.normal();
        }
        energy.energy_grad_batch(
            &self.proposal,
            &mut self.proposal_grad,
            &mut self.proposal_log_r,
        );
        for v in self
            .proposal_log_r
            .iter_mut()
            .chain(self.proposal_grad.iter_mut())
        {
            *v = -*v;
        }
        self.energy_evals += self.n_chains() as u64;
        for c in 0..self.n_chains() {
            let rows = c * d..(c + 1) * d;
            let (x, gx) = (&self.states[rows.clone()], &self.grad_log_r[rows.clone()]);
            let (y, gy) = (
                &self.proposal[rows.clone()],
                &self.proposal_grad[rows.clone()],
            );
            let log_alpha = self.proposal_log_r[c] - self.log_r[c] + log_proposal(x, y, gy, eta)
                - log_proposal(y, x, gx, eta);
            // A non-finite proposal (overflowing energy) is rejected: NaN compares false.
            let accept = rng.uniform().ln() < log_alpha;
            self.accepted[c] = accept;
            if accept {
                self.states[rows.clone()].copy_from_slice(&self.proposal[rows.clone()]);
                self.grad_log_r[rows.clone()].copy_from_slice(&self.proposal_grad[rows]);
                self.log_r[c] = self.proposal_log_r[c];
            }
        }
        &self.accepted
    }

    /// η ← η·1.1 if `acceptance` > target else η·0.9 (methods.md §5; target 0.574).
    pub fn adapt(&mut self, acceptance: f64, target: f64) {
        if acceptance > target {
            self.step *= 1.1;
        } else {
            self.step *= 0.9;
        }
    }

    /// Fraction of chains that accepted in the last step.
    pub fn last_acceptance(&self) -> f64 {
        let n = self.accepted.len().max(1);
        self.accepted.iter().filter(|&&a| a).count() as f64 / n as f64
    }

    pub fn states(&self) -> &[f64] {
        &self.states
    }

    pub fn log_r(&self) -> &[f64] {
        &self.log_r
    }

    pub fn step_size(&self) -> f64 {
        self.step
    }

    /// Gradient evaluations so far (one per chain at the start and per step).
    pub fn energy_evals(&self) -> u64 {
        self.energy_evals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::wells::HarmonicWell;
    use crate::energy::Gmm;

    /// Mean and variance per coordinate of an n×d batch.
    fn moments(xs: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
        let n = (xs.len() / d) as f64;
        let mut mean = vec![0.0; d];
        for x in xs.chunks_exact(d) {
            for i in 0..d {
                mean[i] += x[i] / n;
            }
        }
        let mut var = vec![0.0; d];
        for x in xs.chunks_exact(d) {
            for i in 0..d {
                var[i] += (x[i] - mean[i]).powi(2) / n;
            }
        }
        (mean, var)
    }

    #[test]
    fn exact_samples_stay_distributed_as_the_harmonic_well() {
        // N(0, τI) with τ = 2 in d = 3, started exactly; after 200 steps at a large η (where
        // an unadjusted Langevin chain is visibly biased, see below) the moments still match.
        let (d, n, tau) = (3, 20_000, 2.0);
        let well = HarmonicWell::new(d, tau);
        let mut rng = Rng::new(3);
        let x0 = well.sample(n, &mut rng);
        let eta = 1.5;
        let mut chains = MalaChains::new(&well, &x0, eta);
        let mut accepted = 0usize;
        for _ in 0..200 {
            accepted += chains.step(&well, &mut rng).iter().filter(|&&a| a).count();
        }
        let (mean, var) = moments(chains.states(), d);
        // se of a mean: sqrt(τ/n) = 0.01; of a variance: τ sqrt(2/n) = 0.02.
        for i in 0..d {
            assert!(mean[i].abs() < 0.04, "mean {mean:?}");
            assert!((var[i] - tau).abs() < 0.08, "var {var:?}");
        }
        let rate = accepted as f64 / (200 * n) as f64;
        eprintln!("harmonic well, η = {eta}: acceptance {rate:.3}, var {var:?}");
        assert!(rate > 0.05 && rate < 0.95, "{rate}");
        // The same η without the MH correction (ULA) has stationary variance
        // τ/(1 − η/(2τ)) = 3.2 for the Gaussian: the test above would catch it.
        let mut x = x0.clone();
        let mut g = vec![0.0; d];
        for row in x.chunks_exact_mut(d) {
            for _ in 0..200 {
                well.energy_grad(row, &mut g);
                for i in 0..d {
                    row[i] += -eta * g[i] + (2.0 * eta).sqrt() * rng.normal();
                }
            }
        }
        let (_, ula_var) = moments(&x, d);
        assert!((ula_var[0] - tau).abs() > 0.5, "ULA var {ula_var:?}");
    }

    #[test]
    fn exact_samples_stay_distributed_as_a_two_mode_mixture() {
        // Two unequal, anisotropic components close enough for MALA to move between them.
        let gmm = Gmm::new(
            &[0.3, 0.7],
            &[vec![-1.5, 0.0], vec![1.5, 1.0]],
            &[
                vec![vec![1.0, 0.3], vec![0.3, 0.5]],
                vec![vec![0.6, 0.0], vec![0.0, 1.2]],
            ],
            1.0,
        )
        .unwrap();
        let n = 20_000;
        let mut rng = Rng::new(8);
        let x0 = gmm.sample(n, &mut rng);
        let (m0, v0) = moments(&x0, 2);
        let mut chains = MalaChains::new(&gmm, &x0, 0.8);
        for _ in 0..100 {
            chains.step(&gmm, &mut rng);
        }
        let (m, v) = moments(chains.states(), 2);
        // Against the starting set's own moments (both are samples of ν; chains are
        // correlated with their start, so the difference has at most twice the variance).
        for i in 0..2 {
            let se_mean = (v0[i] / n as f64).sqrt();
            assert!((m[i] - m0[i]).abs() < 6.0 * se_mean, "mean {m:?} vs {m0:?}");
            assert!((v[i] - v0[i]).abs() < 0.06 * v0[i], "var {v:?} vs {v0:?}");
        }
        // Exact mixture moments: mean = Σ w m_k.
        let want = [0.3 * -1.5 + 0.7 * 1.5, 0.7];
        for i in 0..2 {
            assert!((m[i] - want[i]).abs() < 0.05, "mean {m:?} vs {want:?}");
        }
        // log R kept in step with the states.
        for (x, &lr) in chains.states().chunks_exact(2).zip(chains.log_r()).take(50) {
            assert!((lr + gmm.energy(x)).abs() < 1e-9);
        }
    }

    #[test]
    fn acceptance_tends_to_one_as_the_step_shrinks() {
        let gmm = Gmm::square_grid(&[-5.0, 0.0, 5.0], 0.3, 1.0).unwrap();
        let mut rng = Rng::new(4);
        let x0 = gmm.sample(2000, &mut rng);
        let mut rates = Vec::new();
        for eta in [1e-1, 1e-2, 1e-3, 1e-4] {
            let mut chains = MalaChains::new(&gmm, &x0, eta);
            let mut acc = 0.0;
            for _ in 0..10 {
                chains.step(&gmm, &mut rng);
                acc += chains.last_acceptance() / 10.0;
            }
            rates.push(acc);
        }
        eprintln!("acceptance at η = 1e-1..1e-4: {rates:?}");
        // 1 − acceptance = O(η^{3/2}) for MALA.
        assert!(rates.windows(2).all(|w| w[1] >= w[0]), "{rates:?}");
        assert!(rates[3] > 0.999, "{rates:?}");
        assert!(rates[0] < 0.99, "{rates:?}");
    }

    #[test]
    fn adaptation_moves_acceptance_to_the_target() {
        let (d, n) = (10, 500);
        let well = HarmonicWell::new(d, 1.0);
        let mut rng = Rng::new(6);
        let x0 = well.sample(n, &mut rng);
        for eta0 in [1e-4, 5.0] {
            let mut chains = MalaChains::new(&well, &x0, eta0);
            let mut last = Vec::new();
            for k in 0..300 {
                chains.step(&well, &mut rng);
                let a = chains.last_acceptance();
                chains.adapt(a, 0.574);
                if k >= 200 {
                    last.push(a);
                }
            }
            let mean = last.iter().sum::<f64>() / last.len() as f64;
            eprintln!(
                "η₀ = {eta0}: η → {:.3}, acceptance {mean:.3}",
                chains.step_size()
            );
            assert!((mean - 0.574).abs() < 0.06, "η₀ {eta0}: {mean}");
        }
        let mut chains = MalaChains::new(&well, &x0, 1.0);
        chains.adapt(0.9, 0.574);
        assert!((chains.step_size() - 1.1).abs() < 1e-12);
        chains.adapt(0.1, 0.574);
        assert!((chains.step_size() - 0.99).abs() < 1e-12);
        assert_eq!(chains.energy_evals(), n as u64);
    }
}
