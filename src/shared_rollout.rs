//! The one protocol for sharing an Adjoint Sampling or ASBS training rollout with Web
//! Workers, used alike by the playground page (`Playground`, one unit of work at a time
//! within its frames), the bench page (`SharedBench` in `web_workers.rs`, a whole rollout
//! per call) and the workers themselves ([`ShareSimulator`]). `www/workers.js` only carries
//! its messages.
//!
//! For each rollout, the coordinator (the side that owns the sampler and trains):
//! 1. calls [`RolloutSharing::before_work`] before the rollout's first unit of work: the
//!    path blocks are split by [`share_blocks`] into contiguous ranges, one per party, the
//!    first kept and each other marked away for one worker. This is the only place the split
//!    is computed; JavaScript receives it as [`Share`]s.
//! 2. runs that first unit (the restart draws X_0 and each block's stream seed), then hands
//!    the shares out once each ([`RolloutSharing::hand_out`]): id, block range, a copy of
//!    the network's parameters, X_0 of the range's paths and its blocks' seeds.
//! 3. advances its own blocks, unit by unit or at once ([`OpenRollout::advance`]), but never
//!    takes the rollout's last step while a block is away: `before_work` returns false and
//!    the coordinator waits. A worker restarts its blocks from the seeds, advances them
//!    through every step ([`ShareSimulator::run`]) and returns the final positions and
//!    Girsanov log-ratios, which [`RolloutSharing::accept`] puts back in place.
//!
//! Invariants:
//! - Ownership: the coordinator always keeps block 0 (its paths are the trajectories drawn)
//!   and the first range; an away block belongs to one worker until it is accepted or
//!   reclaimed, and is the coordinator's again after that.
//! - Stale results: those of another rollout (their id is not the one in flight: an
//!   earlier rollout, a run reset or replaced) or of blocks no longer away (reclaimed, or
//!   already accepted) are refused with Ok(false) and change nothing. Results that are not
//!   whole blocks of the rollout are an error.
//! - A failed worker (it did not load, threw, or did not answer): the coordinator calls
//!   [`RolloutSharing::reclaim`], which simulates every away block here from X_0 with its own
//!   seed up to the coordinator's step, so the rollout goes on unchanged and late results
//!   are stale. The page then trains on its own thread; the bench reports the error.
//! - Bit identity: every block draws from its own stream, so a share simulated elsewhere
//!   from the same parameters, X_0 and seeds has the same bits as here, and a run is the
//!   one-thread run bit for bit for any number of workers (tested below for the page's
//!   units, in `crate::bench` for the bench's whole rollouts, and in tests/web.rs in wasm).

use crate::bench::{BenchConfig, BenchSampler};
use crate::config::Config;
use crate::energy::Target;
use crate::run::Run;
use crate::sampler::asbs::AsbsSampler;
use crate::sampler::rollout::{OpenRollout, PathBatch};
use crate::sampler::{Phase, Sampler};
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

/// A share as it goes out to a worker: everything the worker needs to simulate it.
#[derive(Clone, Debug)]
pub struct ShareMessage {
    pub share: Share,
    /// A copy of the network's parameters.
    pub params: Vec<f32>,
    /// The stream seed of each of the share's blocks.
    pub seeds: Vec<u64>,
    /// X_0 of the share's paths (paths × d).
    pub x0: Vec<f32>,
}

/// What a shared rollout belongs to: the page's run or the bench's sampler.
pub trait RolloutOwner {
    fn phase(&self) -> Phase;
    fn open_rollout(&mut self) -> Option<OpenRollout<'_>>;
}

impl RolloutOwner for Run {
    fn phase(&self) -> Phase {
        self.sampler().phase()
    }
    fn open_rollout(&mut self) -> Option<OpenRollout<'_>> {
        Run::open_rollout(self)
    }
}

impl RolloutOwner for AsbsSampler {
    fn phase(&self) -> Phase {
        Sampler::phase(self)
    }
    fn open_rollout(&mut self) -> Option<OpenRollout<'_>> {
        Sampler::open_rollout(self)
    }
}

/// The shared rollout in flight.
struct InFlight {
    id: u32,
    /// Paths of the share simulated here (the first ones).
    home_paths: usize,
    /// The workers' shares not yet handed out.
    unsent: Vec<Share>,
}

/// The coordinator's side: with how many workers rollouts are shared, and the one in flight.
#[derive(Default)]
pub struct RolloutSharing {
    workers: usize,
    current: Option<InFlight>,
}

/// Contiguous ranges of `blocks` blocks for `parties` parties, the first party's first.
fn share_blocks(blocks: usize, parties: usize) -> Vec<Range<usize>> {
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

    /// Blocks a rollout of `owner` is shared in; 0 if it cannot be shared (samplers other
    /// than Adjoint Sampling and ASBS, fewer than two time steps).
    pub fn blocks(owner: &mut impl RolloutOwner) -> usize {
        owner
            .open_rollout()
            .filter(|o| o.steps() >= 2)
            .map_or(0, |o| o.blocks())
    }

    /// Call before each unit of work of `owner`. Starts a shared rollout when one is due (a
    /// rollout about to start, workers set, at least two blocks and two steps). Returns
    /// false when the unit must wait: the rollout is at its last step with shares still out.
    pub fn before_work(&mut self, owner: &mut impl RolloutOwner) -> bool {
        let rollout_phase = owner.phase() == Phase::Rollout;
        let Some(mut open) = owner.open_rollout() else {
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

    /// Call after each successful unit of work of `owner`: a finished rollout is forgotten.
    /// Returns whether shares wait to be handed out ([`RolloutSharing::hand_out`]).
    pub fn after_work(&mut self, owner: &impl RolloutOwner) -> bool {
        if owner.phase() != Phase::Rollout {
            self.current = None;
        }
        self.current.as_ref().is_some_and(|c| !c.unsent.is_empty())
    }

    /// The shares to hand out now, each once, with what their workers need; none before
    /// the rollout's first unit has drawn X_0 and the seeds.
    pub fn hand_out(&mut self, owner: &mut impl RolloutOwner) -> Vec<ShareMessage> {
        let Some(current) = self.current.as_mut() else {
            return Vec::new();
        };
        let Some(open) = owner.open_rollout().filter(|o| o.step() > 0) else {
            return Vec::new();
        };
        std::mem::take(&mut current.unsent)
            .into_iter()
            .map(|share| ShareMessage {
                params: open.net.params().to_vec(),
                seeds: open.seeds(share.from..share.to),
                x0: open.x(share.from..share.to).to_vec(),
                share,
            })
            .collect()
    }

    /// Whether the run waits for a share (its next unit would be the rollout's last step).
    pub fn waiting(&mut self, owner: &mut impl RolloutOwner) -> bool {
        self.current.is_some() && !self.before_work(owner)
    }

    /// Paths simulated here while a shared rollout is in flight (the first ones), else None.
    pub fn home_paths(&self) -> Option<usize> {
        self.current.as_ref().map(|c| c.home_paths)
    }

    /// Takes back a share's final positions and Girsanov log-ratios. Ok(false), changing
    /// nothing, for stale results: another rollout's (`id`), or blocks not away any more.
    pub fn accept(
        &mut self,
        owner: &mut impl RolloutOwner,
        id: u32,
        from: usize,
        x: &[f32],
        log_ratio: &[f64],
    ) -> Result<bool, String> {
        if self.current.as_ref().map(|c| c.id) != Some(id) {
            return Ok(false);
        }
        let mut open = owner
            .open_rollout()
            .ok_or("rollout share: no rollout to share")?;
        open.accept(from, x, log_ratio)
    }

    /// Simulates here whatever of the rollout in flight is still out (a step through the
    /// page, a worker that failed); results that arrive later are stale.
    pub fn reclaim(&mut self, owner: &mut impl RolloutOwner) {
        if self.current.take().is_some() {
            if let Some(mut open) = owner.open_rollout() {
                open.reclaim();
            }
        }
    }

    /// Forgets the rollout in flight: the owner's sampler was replaced (a reset, a
    /// divergence rolled back), so nothing of it is away any more.
    pub fn cancel(&mut self) {
        self.current = None;
    }
}

/// A worker's side: a sampler of the coordinator's configuration (network shape, time grid,
/// time features; its energy is never evaluated) and the paths of the last share it ran.
pub struct ShareSimulator {
    sampler: AsbsSampler,
    batch: Option<PathBatch>,
}

impl ShareSimulator {
    /// For shares of a run of `config` (the page's).
    pub fn new(config: &Config) -> Result<ShareSimulator, String> {
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
        let sampler =
            AsbsSampler::new(&config.settings(), target.energy.clone(), learned_corrector)?;
        Ok(ShareSimulator {
            sampler,
            batch: None,
        })
    }

    /// For shares of the bench workload `cfg`.
    pub fn for_bench(cfg: &BenchConfig) -> Result<ShareSimulator, String> {
        Ok(ShareSimulator {
            sampler: BenchSampler::new(cfg)?.sampler,
            batch: None,
        })
    }

    /// Simulates a share: X_0 of its paths (paths × d), its blocks' seeds and the
    /// coordinator's parameters, through every step.
    pub fn run(&mut self, params: &[f32], seeds: &[u64], x0: &[f32]) -> Result<(), String> {
        let d = self.sampler.dim();
        if !x0.len().is_multiple_of(d) {
            return Err("rollout share: x is not whole paths".into());
        }
        let paths = x0.len() / d;
        let batch = match &mut self.batch {
            Some(b) if b.log_ratio.len() == paths => b,
            slot => slot.insert(self.sampler.share_batch(paths)),
        };
        batch.x.copy_from_slice(x0);
        self.sampler.simulate_share(batch, params, seeds)
    }

    /// Final positions of the last share's paths (paths × d).
    pub fn x(&self) -> &[f32] {
        self.batch.as_ref().map_or(&[], |b| &b.x)
    }

    /// Girsanov log-ratios of the last share's paths.
    pub fn log_ratio(&self) -> &[f64] {
        self.batch.as_ref().map_or(&[], |b| &b.log_ratio)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `iterations` of a run of `config`, its rollouts shared with `workers` workers whose
    /// part `simulator` plays when the run waits for it; every `reclaim_every`-th rollout
    /// is instead reclaimed halfway (and the late results refused). Returns the history as
    /// JSON, the last rollout's samples and the shares taken back.
    fn shared_run(
        config: &Config,
        workers: usize,
        iterations: usize,
        reclaim_every: usize,
    ) -> (String, Vec<f32>, usize) {
        let mut run = Run::new(config.clone()).unwrap();
        let mut sharing = RolloutSharing::default();
        sharing.set_workers(workers);
        let mut simulator = ShareSimulator::new(config).unwrap();
        let mut out: Vec<ShareMessage> = Vec::new();
        let (mut shared, mut rollouts) = (0, 0);
        while run.sampler().iteration() < iterations {
            if !sharing.before_work(&mut run) {
                assert!(sharing.waiting(&mut run));
                rollouts += 1;
                let late: Vec<_> = out
                    .drain(..)
                    .map(|m| {
                        simulator.run(&m.params, &m.seeds, &m.x0).unwrap();
                        let (x, lr) = (simulator.x().to_vec(), simulator.log_ratio().to_vec());
                        (m.share, x, lr)
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
                out = sharing.hand_out(&mut run);
                assert!(!out.is_empty() && sharing.hand_out(&mut run).is_empty());
                // The shares are the blocks after the home share, contiguous, in order.
                let blocks = RolloutSharing::blocks(&mut run);
                assert_eq!(out.last().unwrap().share.to, blocks);
                for pair in out.windows(2) {
                    assert_eq!(pair[0].share.to, pair[1].share.from);
                }
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
        // 700 paths are 3 blocks (256, 256, 188); with 1, 2 and 5 workers.
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
        // Nothing goes out before the first unit has drawn X_0 and the seeds.
        assert!(sharing.hand_out(&mut run).is_empty());
        run.work().unwrap();
        assert!(sharing.after_work(&run));
        let m = sharing.hand_out(&mut run).remove(0);
        assert_eq!((m.share.from, m.share.to), (1, 3));
        assert_eq!((m.seeds.len(), m.x0.len()), (2, 2 * (600 - 256)));
        run.work().unwrap();
        // The last step waits for the share.
        assert!(!sharing.before_work(&mut run));
        let lr = vec![0.0; m.x0.len() / 2];
        let id = m.share.id;
        // Another rollout's id changes nothing; a share that is not whole blocks is an error.
        assert!(!sharing.accept(&mut run, id + 1, 1, &m.x0, &lr).unwrap());
        let err = sharing
            .accept(&mut run, id, 1, &m.x0[2..], &lr[1..])
            .unwrap_err();
        assert!(err.contains("whole blocks"), "{err}");
        // A worker given a misfit share says so.
        let mut simulator = ShareSimulator::new(&config(json!({"sampler": "adjoint"}))).unwrap();
        assert!(simulator.run(&m.params, &m.seeds[..1], &m.x0).is_err());
        assert!(simulator.run(&m.params[1..], &m.seeds, &m.x0).is_err());
        // A sampler that does not share: no rollout to open, nothing waits.
        let mut mala = Run::new(config(json!({"sampler": "mala"}))).unwrap();
        assert!(sharing.before_work(&mut mala));
        assert_eq!(RolloutSharing::blocks(&mut mala), 0);
        assert!(ShareSimulator::new(&config(json!({"sampler": "mala"}))).is_err());
    }
}
