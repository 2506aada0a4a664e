//! A run's training rollouts shared with Web Workers, as the page drives them.
//!
//! When a rollout is about to start, its path blocks are split into contiguous shares: the
//! first stays here (it holds the paths drawn as trajectories) and each other is handed to a
//! worker with a copy of the network's parameters, X_0 of its paths and its blocks' stream
//! seeds. The run's own units of work then advance the first share one step at a time, within
//! the page's frames, and hold before the rollout's last step until every share is back (or
//! has been simulated here after all, [`RolloutSharing::reclaim`]). Blocks have independent
//! random streams, so the run is bit for bit the one simulated on one thread (tested below
//! with the workers' part played by [`share_simulator`] in turn).

use crate::config::Config;
use crate::energy::Target;
use crate::run::Run;
use crate::sampler::asbs::AsbsSampler;
use crate::sampler::Phase;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};

/// Ids of shared rollouts, unique in the process, so that results meant for an earlier
/// rollout or an earlier run are recognised as stale.
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// A share of a rollout for a worker: blocks [from, to) of rollout `id`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Share {
    pub id: u32,
    pub from: usize,
    pub to: usize,
}

/// The shared rollout in flight.
struct InFlight {
    id: u32,
    /// Paths of the share simulated here (the first ones).
    home_paths: usize,
    /// The workers' shares not yet handed out.
    unsent: Vec<Share>,
}

/// How a run's rollouts are shared: with how many workers, and the rollout in flight.
#[derive(Default)]
pub struct RolloutSharing {
    workers: usize,
    current: Option<InFlight>,
}

/// Contiguous ranges of `blocks` blocks for `parties` parties, the first party's first.
pub fn share_blocks(blocks: usize, parties: usize) -> Vec<Range<usize>> {
    (0..parties)
        .map(|p| p * blocks / parties..(p + 1) * blocks / parties)
        .filter(|r| !r.is_empty())
        .collect()
}

impl RolloutSharing {
    /// Shares each rollout that starts from now on with `workers` workers (0: none), at most
    /// one share per block.
    pub fn set_workers(&mut self, workers: usize) {
        self.workers = workers;
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Call before each unit of work of `run`. Starts a shared rollout when one is due (a
    /// rollout about to start, workers set, at least two blocks and two steps). Returns
    /// false when the unit must wait: the rollout is at its last step with shares still out.
    pub fn before_work(&mut self, run: &mut Run) -> bool {
        let rollout_phase = run.sampler().phase() == Phase::Rollout;
        let Some(mut open) = run.open_rollout() else {
            return true;
        };
        if self.current.is_some() {
            return !(open.any_away() && open.step() + 1 >= open.steps());
        }
        if self.workers == 0 || !rollout_phase || open.step() != 0 || open.steps() < 2 {
            return true;
        }
        let shares = share_blocks(open.blocks(), (self.workers + 1).min(open.blocks()));
        if shares.len() < 2 {
            return true;
        }
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut unsent = Vec::with_capacity(shares.len() - 1);
        for r in &shares[1..] {
            open.send_away(r.clone())
                .expect("a rollout at step 0 sends blocks after the first away");
            unsent.push(Share {
                id,
                from: r.start,
                to: r.end,
            });
        }
        let home_paths = open.x(shares[0].clone()).len() / open.dim;
        self.current = Some(InFlight {
            id,
            home_paths,
            unsent,
        });
        true
    }

    /// Call after each successful unit of work of `run`: a finished rollout is forgotten.
    /// Returns whether shares wait to be handed out ([`RolloutSharing::take_unsent`]).
    pub fn after_work(&mut self, run: &Run) -> bool {
        if run.sampler().phase() != Phase::Rollout {
            self.current = None;
        }
        self.current.as_ref().is_some_and(|c| !c.unsent.is_empty())
    }

    /// The shares to hand out now (each once).
    pub fn take_unsent(&mut self) -> Vec<Share> {
        self.current
            .as_mut()
            .map_or_else(Vec::new, |c| std::mem::take(&mut c.unsent))
    }

    /// Whether the run waits for a share (its next unit would be the rollout's last step).
    pub fn waiting(&mut self, run: &mut Run) -> bool {
        self.current.is_some() && !self.before_work(run)
    }

    /// Paths simulated here while a shared rollout is in flight (the first ones), else None.
    pub fn home_paths(&self) -> Option<usize> {
        self.current.as_ref().map(|c| c.home_paths)
    }

    /// A copy of the network's parameters for the shares.
    pub fn params(run: &mut Run) -> Vec<f32> {
        run.open_rollout()
            .map_or_else(Vec::new, |o| o.net.params().to_vec())
    }

    /// The stream seeds of blocks [from, to).
    pub fn seeds(run: &mut Run, from: usize, to: usize) -> Result<Vec<u64>, String> {
        let open = run
            .open_rollout()
            .ok_or("rollout share: no rollout to share")?;
        check_range(from, to, open.blocks())?;
        Ok(open.seeds(from..to))
    }

    /// X_0 of the paths of blocks [from, to) (while they are away).
    pub fn x0(run: &mut Run, from: usize, to: usize) -> Result<Vec<f32>, String> {
        let open = run
            .open_rollout()
            .ok_or("rollout share: no rollout to share")?;
        check_range(from, to, open.blocks())?;
        Ok(open.x(from..to).to_vec())
    }

    /// Takes back a share's final positions and Girsanov log-ratios. Ok(false), changing
    /// nothing, for stale results: another rollout's (`id`), or a share simulated here since.
    pub fn accept(
        &mut self,
        run: &mut Run,
        id: u32,
        from: usize,
        x: &[f32],
        log_ratio: &[f64],
    ) -> Result<bool, String> {
        if self.current.as_ref().map(|c| c.id) != Some(id) {
            return Ok(false);
        }
        let mut open = run
            .open_rollout()
            .ok_or("rollout share: no rollout to share")?;
        open.accept(from, x, log_ratio)
    }

    /// Simulates here whatever of the rollout in flight is still out (a step through the
    /// page, a worker that failed); results that arrive later are stale.
    pub fn reclaim(&mut self, run: &mut Run) {
        if self.current.take().is_some() {
            if let Some(mut open) = run.open_rollout() {
                open.reclaim();
            }
        }
    }

    /// Forgets the rollout in flight: the run's sampler was replaced (a reset, a divergence
    /// rolled back), so nothing of it is away any more.
    pub fn cancel(&mut self) {
        self.current = None;
    }
}

fn check_range(from: usize, to: usize, blocks: usize) -> Result<(), String> {
    if from < to && to <= blocks {
        Ok(())
    } else {
        Err(format!(
            "rollout share: blocks {from}..{to} are not in the rollout's {blocks}"
        ))
    }
}

/// What a worker simulates shares of `config`'s rollouts with: a sampler of the same
/// configuration (network shape, time grid, time features). Its energy is never evaluated.
pub fn share_simulator(config: &Config) -> Result<AsbsSampler, String> {
    config.validate()?;
    let info = config.sampler_info();
    if !info.capabilities.shared_rollout {
        return Err(format!(
            "rollout share: {} does not share its rollout with workers",
            info.name
        ));
    }
    let learned_corrector = info.name == crate::sampler::asbs::ASBS.name;
    let target = Target::new(&config.energy, config.temperature)?;
    AsbsSampler::new(&config.settings(), target.energy.clone(), learned_corrector)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::Sampler;
    use serde_json::json;

    /// `iterations` of a run of `config`, its rollouts shared with `workers` workers whose
    /// part `simulator` plays when the run waits for it; every `reclaim_every`-th rollout
    /// is instead reclaimed halfway (and the late results refused). Returns the history as
    /// JSON and the last rollout's samples.
    fn shared_run(
        config: &Config,
        workers: usize,
        iterations: usize,
        reclaim_every: usize,
    ) -> (String, Vec<f32>, usize) {
        let mut run = Run::new(config.clone()).unwrap();
        let mut sharing = RolloutSharing::default();
        sharing.set_workers(workers);
        let mut simulator = share_simulator(config).unwrap();
        let mut out: Vec<Share> = Vec::new();
        let (mut shared, mut rollouts) = (0, 0);
        while run.sampler().iteration() < iterations {
            if !sharing.before_work(&mut run) {
                assert!(sharing.waiting(&mut run));
                rollouts += 1;
                let params = RolloutSharing::params(&mut run);
                let late: Vec<_> = out
                    .drain(..)
                    .map(|s| {
                        let seeds = RolloutSharing::seeds(&mut run, s.from, s.to).unwrap();
                        let x0 = RolloutSharing::x0(&mut run, s.from, s.to).unwrap();
                        let mut batch = simulator.share_batch(x0.len() / simulator.dim());
                        batch.x.copy_from_slice(&x0);
                        simulator
                            .simulate_share(&mut batch, &params, &seeds)
                            .unwrap();
                        (s, batch.x.clone(), batch.log_ratio.clone())
                    })
                    .collect();
                // A reclaimed rollout takes its first share back first, then simulates the
                // others here and refuses their late results.
                let reclaimed = reclaim_every > 0 && rollouts % reclaim_every == 0;
                for (k, (s, x, lr)) in late.iter().enumerate() {
                    if reclaimed && k == 1 {
                        sharing.reclaim(&mut run);
                    }
                    let taken = sharing.accept(&mut run, s.id, s.from, x, lr).unwrap();
                    assert_eq!(taken, !reclaimed || k == 0);
                    shared += taken as usize;
                }
                if reclaimed && late.len() == 1 {
                    sharing.reclaim(&mut run);
                }
                // Nothing is accepted twice.
                if let Some((s, x, lr)) = late.first() {
                    assert!(!sharing.accept(&mut run, s.id, s.from, x, lr).unwrap());
                }
                continue;
            }
            run.work().unwrap();
            if sharing.after_work(&run) {
                let home = sharing.home_paths().unwrap();
                let particles = run.sampler().observe().particles;
                assert!(home * run.dim() < particles.len());
                out = sharing.take_unsent();
                assert!(!out.is_empty() && sharing.take_unsent().is_empty());
            }
        }
        let last = run
            .sampler()
            .observe()
            .last_rollout
            .unwrap()
            .samples
            .clone();
        (serde_json::to_string(&run.history).unwrap(), last, shared)
    }

    fn config(partial: serde_json::Value) -> Config {
        Config::from_partial(&partial).unwrap()
    }

    #[test]
    fn shares_are_contiguous_and_cover_every_block() {
        assert_eq!(share_blocks(5, 2), vec![0..2, 2..5]);
        assert_eq!(share_blocks(2, 3), vec![0..1, 1..2]);
        assert_eq!(share_blocks(3, 3), vec![0..1, 1..2, 2..3]);
    }

    #[test]
    fn adjoint_sampling_with_shares_equals_one_thread_bit_for_bit() {
        // 700 paths are 3 blocks (256, 256, 188); with 1 and 2 workers.
        let cfg = config(json!({"sampler": "adjoint", "paths": 700, "steps": 7,
            "inner_steps": 2, "batch": 64, "seed": 3}));
        let (want, want_last, _) = shared_run(&cfg, 0, 4, 0);
        for workers in [1, 2, 5] {
            let (got, last, shared) = shared_run(&cfg, workers, 4, 0);
            assert_eq!(got, want, "{workers} workers");
            assert_eq!(last, want_last, "{workers} workers");
            assert_eq!(shared, 4 * workers.min(2), "{workers} workers");
        }
        // Rollouts reclaimed with one share back and one still out (a step through the
        // page, a failed worker), and with nothing out.
        for workers in [1, 2] {
            let (got, last, _) = shared_run(&cfg, workers, 4, 2);
            assert_eq!((&got, &last), (&want, &want_last), "{workers} workers");
        }
    }

    #[test]
    fn asbs_with_shares_equals_one_thread_bit_for_bit_across_stages() {
        // A normal source and stages of 2 AM + 1 CM iterations: both stages' rollouts are
        // shared, and the stage changes happen in shared rollouts' first units.
        let cfg = config(
            json!({"sampler": "asbs", "energy": "seed-gmm", "source": "normal:0,1",
            "paths": 600, "steps": 5, "inner_steps": 2, "batch": 32, "stages": 3,
            "adjoint_iters": 2, "corrector_iters": 1, "weighted_replay": true, "seed": 4}),
        );
        let (want, want_last, _) = shared_run(&cfg, 0, 8, 0);
        let (got, last, shared) = shared_run(&cfg, 1, 8, 0);
        assert_eq!(shared, 8);
        assert_eq!((got, last), (want, want_last));
    }

    #[test]
    fn stale_and_misfit_results_are_refused() {
        let cfg = config(json!({"sampler": "adjoint", "paths": 600, "steps": 3, "seed": 1}));
        let mut run = Run::new(cfg).unwrap();
        let mut sharing = RolloutSharing::default();
        sharing.set_workers(1);
        assert!(sharing.before_work(&mut run));
        run.work().unwrap();
        assert!(sharing.after_work(&run));
        let share = sharing.take_unsent().remove(0);
        assert_eq!((share.from, share.to), (1, 3));
        run.work().unwrap();
        // The last step waits for the share.
        assert!(!sharing.before_work(&mut run));
        let x = RolloutSharing::x0(&mut run, 1, 3).unwrap();
        let lr = vec![0.0; x.len() / 2];
        // Another rollout's id changes nothing; a share that is not whole blocks is an error.
        assert!(!sharing.accept(&mut run, share.id + 1, 1, &x, &lr).unwrap());
        let err = sharing
            .accept(&mut run, share.id, 1, &x[2..], &lr[1..])
            .unwrap_err();
        assert!(err.contains("whole blocks"), "{err}");
        assert!(RolloutSharing::seeds(&mut run, 2, 4).is_err());
        // A sampler that does not share: no rollout to open, nothing waits.
        let mut mala = Run::new(config(json!({"sampler": "mala"}))).unwrap();
        assert!(sharing.before_work(&mut mala));
        assert!(share_simulator(&config(json!({"sampler": "mala"}))).is_err());
    }
}
