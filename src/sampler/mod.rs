//! The samplers, behind one trait so the page, the command line and the tests treat them
//! alike. Adding a sampler is its module (its settings struct, its `SamplerInfo` and its
//! [`Sampler`] implementation) and one line in [`registry::REGISTRY`].
//!
//! Training is cut into small bounded units of work — one Euler–Maruyama step of every
//! path, or one gradient step — so the page can run as many as fit in a frame.
//!
//! A sampler evaluates the energy it was built with and counts nothing itself: `Run` gives
//! it a counting energy ([`crate::energy::counted`]). What it offers to look at is one
//! [`Observation`] ([`Sampler::observe`]); views never reach its concrete type.

pub mod affine_fit;
pub mod asbs;
pub mod clipper;
pub mod ddpm;
pub mod gfn;
pub mod line_integral;
pub mod mala;
pub mod observation;
pub mod oracle;
#[cfg(not(target_arch = "wasm32"))]
mod pool;
pub mod registry;
pub mod replay_buffer;
pub mod rollout;
pub mod source;

pub use observation::{DdpmObservation, GfnObservation, Observation, Trajectories};

use crate::energy::Energy;
use crate::rng::Rng;
use crate::state::StateMap;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Simulating paths with the current network (no gradients).
    Rollout,
    /// Taking gradient steps on the replay buffer.
    Train,
}

/// What one unit of work did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Work {
    RolloutStep,
    GradientStep {
        loss: f64,
    },
    /// The unit that finished an outer iteration (its last gradient step).
    IterationDone {
        loss: f64,
    },
}

/// A finished batch of paths, in the sampler's coordinates.
#[derive(Clone, Debug, Default)]
pub struct Rollout {
    /// Terminal states, n × d row-major.
    pub samples: Vec<f32>,
    /// log w = log R(X_1) + log dP₀/dP_θ − log p₀(X_1): importance weights of the paths
    /// against the target path measure; log mean w estimates log Z (docs/methods.md §7). None
    /// where the sampler has no path density (DDPM's learned reverse chain).
    pub log_weights: Option<Vec<f64>>,
}

/// ASBS's alternating stages (docs/methods.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Adjoint matching: trains the control.
    Adjoint,
    /// Corrector matching: trains h.
    Corrector,
}

/// Where a staged sampler is: stage `k` of `stages` (1-based), iteration `iteration`
/// (0-based) of that stage's `iterations`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StageInfo {
    pub stage: Stage,
    pub k: usize,
    pub stages: usize,
    pub iteration: usize,
    pub iterations: usize,
}

pub trait Sampler: Send {
    fn name(&self) -> &'static str;
    fn dim(&self) -> usize;
    /// One bounded unit of work. An error means divergence (NaN or Inf), with a message.
    fn work(&mut self) -> Result<Work, String>;
    /// Completed outer iterations.
    fn iteration(&self) -> usize;
    fn phase(&self) -> Phase;
    /// A fresh rollout of n paths with the current network, for evaluation; trains nothing,
    /// and `Run` does not count its energy evaluations as training's.
    fn draw(&mut self, n: usize, rng: &mut Rng) -> Rollout;
    /// What the sampler offers to look at now (see [`Observation`]).
    fn observe(&self) -> Observation<'_>;
    /// The training rollout opened for sharing its path blocks with Web Workers
    /// ([`rollout::OpenRollout`]), for samplers whose rollout is a `PathBatch` advanced by
    /// one network (Adjoint Sampling and ASBS); None for the others.
    fn open_rollout(&mut self) -> Option<rollout::OpenRollout<'_>> {
        None
    }
    /// What persists between outer iterations (weights, optimizer moments, buffers,
    /// generator states, counters, the last rollout), saved between two iterations (see
    /// [`crate::state`]). Called only there: `Run` keeps the last one to roll a divergence back to.
    fn save_state(&self) -> StateMap;
    /// Loads [`Sampler::save_state`]'s map into a sampler freshly built from the same
    /// configuration, which then continues exactly as the saved one would have. An error
    /// names what does not fit (a map saved with other settings).
    fn load_state(&mut self, state: &StateMap) -> Result<(), String>;
}

impl Rollout {
    /// Saves the rollout under `prefix`: its samples and log weights, each only if there is
    /// one (presence is the flag; files that also hold the former "present" and "weighted"
    /// flags load the same, as those agree with presence).
    pub fn save_state(rollout: Option<&Rollout>, out: &mut StateMap, prefix: &str) {
        if let Some(r) = rollout {
            out.put_f32(&format!("{prefix}samples"), &r.samples);
            if let Some(w) = &r.log_weights {
                out.put_f64(&format!("{prefix}log_weights"), w);
            }
        }
    }

    /// Loads a rollout of `rows` samples in dimension `dim` saved by
    /// [`Rollout::save_state`]; another size is an error naming the array (a state saved
    /// with other settings).
    pub fn load_state(
        from: &StateMap,
        prefix: &str,
        rows: usize,
        dim: usize,
    ) -> Result<Option<Rollout>, String> {
        let samples_key = format!("{prefix}samples");
        if !from.contains(&samples_key) {
            return Ok(None);
        }
        let samples = from.f32s_of_len(&samples_key, rows * dim)?;
        let key = format!("{prefix}log_weights");
        let log_weights = if from.contains(&key) {
            Some(from.f64s_of_len(&key, rows)?)
        } else {
            None
        };
        Ok(Some(Rollout {
            samples,
            log_weights,
        }))
    }
}

/// Builds the sampler `name` from the flat configuration map (see [`registry`]).
pub fn build(
    name: &str,
    flat: &serde_json::Value,
    energy: Arc<dyn Energy>,
) -> Result<Box<dyn Sampler>, String> {
    (registry::find(name)?.build)(flat, energy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollout_round_trips_with_presence_as_its_flags() {
        let weighted = Rollout {
            samples: vec![1.0, -2.0, 0.5, 3.0],
            log_weights: Some(vec![-0.25, 0.75]),
        };
        let plain = Rollout {
            samples: vec![4.0, 5.0],
            log_weights: None,
        };
        // (rollout, rows, dimension)
        for (rollout, rows, dim) in [(Some(&weighted), 2, 2), (Some(&plain), 2, 1), (None, 2, 1)] {
            let mut map = StateMap::new();
            Rollout::save_state(rollout, &mut map, "last.");
            let expected_keys = rollout.map_or(0, |r| 1 + r.log_weights.is_some() as usize);
            assert_eq!(map.0.len(), expected_keys);
            let back = Rollout::load_state(&map, "last.", rows, dim).unwrap();
            assert_eq!(
                back.as_ref().map(|r| &r.samples),
                rollout.map(|r| &r.samples)
            );
            assert_eq!(
                back.as_ref().map(|r| &r.log_weights),
                rollout.map(|r| &r.log_weights)
            );
            // The former format's flags agree with presence and change nothing.
            let mut legacy = map.clone();
            legacy.put_bool("last.present", rollout.is_some());
            if let Some(r) = rollout {
                legacy.put_bool("last.weighted", r.log_weights.is_some());
            }
            let again = Rollout::load_state(&legacy, "last.", rows, dim).unwrap();
            assert_eq!(again.map(|r| r.samples), rollout.map(|r| r.samples.clone()));
        }
        // A rollout of another size is refused by name.
        let mut map = StateMap::new();
        Rollout::save_state(Some(&weighted), &mut map, "last.");
        let err = Rollout::load_state(&map, "last.", 3, 2).unwrap_err();
        assert!(err.contains("last.samples"), "{err}");
    }
}
