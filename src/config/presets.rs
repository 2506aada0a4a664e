//! Presets as deltas: one base configuration (the `browser` preset's), what each preset
//! changes in it, and what each preset changes for particular samplers or families. A
//! configuration is base ← preset delta ← sampler deltas ← the settings given.
//!
//! Why the values are what they are is in docs/notes/presets.md (the measurements behind
//! the browser preset's choices) and docs/methods.md (the papers' and the original code's
//! settings).

use super::{Config, Preset};
use crate::energy::EnergySpec;
use crate::nn::Activation;
use crate::sampler::registry::{self, Family};
use serde_json::Value;

/// A setting's value in a delta.
#[derive(Clone, Copy, Debug)]
pub enum Lit {
    Int(u64),
    Num(f64),
    Bool(bool),
    Str(&'static str),
}

impl Lit {
    fn to_value(self) -> Value {
        match self {
            Lit::Int(v) => Value::from(v),
            Lit::Num(v) => Value::from(v),
            Lit::Bool(v) => Value::from(v),
            Lit::Str(v) => Value::from(v),
        }
    }
}

/// Settings a delta changes, as (key, value).
pub type Delta = &'static [(&'static str, Lit)];

use Lit::{Bool, Int, Num, Str};

/// What a preset changes in the base.
const PRESET_DELTAS: &[(Preset, Delta)] = &[
    (Preset::Browser, &[]),
    // The original toy repository's Adjoint Sampling (docs/methods.md §2).
    (
        Preset::Seed,
        &[
            ("paths", Int(1000)),
            ("steps", Int(125)),
            ("buffer_capacity", Int(1000)),
            ("hidden", Int(128)),
            ("layers", Int(4)),
            ("activation", Str("gelu")),
            ("stages", Int(10)),
            ("adjoint_iters", Int(200)),
            ("corrector_iters", Int(50)),
        ],
    ),
    // Sendera et al.'s GFlowNet experiments (docs/methods.md §5): T 100, batch 300, 25k
    // iterations, lr 1e-3 and 0.1 for log Z.
    (
        Preset::Paper,
        &[
            ("sampler", Str("tb")),
            ("energy", Str("gmm25")),
            ("whiten", Bool(false)),
            ("paths", Int(300)),
            ("inner_steps", Int(1)),
            ("batch", Int(300)),
            ("buffer_capacity", Int(600_000)),
            ("activation", Str("gelu")),
            ("iters", Int(25_000)),
            ("t_scale", Num(5.0)),
        ],
    ),
];

/// Which samplers a sampler delta applies to.
#[derive(Clone, Copy, Debug)]
enum Applies {
    Sampler(&'static str),
    Family(Family),
}

/// What a preset (None: every preset) changes for some samplers, after the preset's delta.
const SAMPLER_DELTAS: &[(Applies, Option<Preset>, Delta)] = &[
    // ASBS from the original's source; `iters` covers its K stages: 10 × (200 + 50).
    (
        Applies::Sampler("asbs"),
        Some(Preset::Seed),
        &[("source", Str("seed")), ("iters", Int(2500))],
    ),
    // The 1-D showcase: many short stages (docs/notes/presets.md); 40 × (10 + 5) iterations.
    (
        Applies::Sampler("asbs"),
        Some(Preset::Browser),
        &[
            ("energy", Str("gmm1d-demo")),
            ("whiten", Bool(false)),
            ("source", Str("normal:0,1")),
            ("sigma", Str("constant:0.3")),
            ("stages", Int(40)),
            ("adjoint_iters", Int(10)),
            ("corrector_iters", Int(5)),
            ("inner_steps", Int(20)),
            ("paths", Int(256)),
            ("steps", Int(40)),
            ("iters", Int(600)),
        ],
    ),
    (
        Applies::Sampler("adjoint"),
        Some(Preset::Browser),
        &[
            ("weighted_replay", Bool(true)),
            ("buffer_capacity", Int(8192)),
        ],
    ),
    // Small enough for a browser frame budget, tuned for mode discovery on 25GMM
    // (docs/notes/presets.md).
    (
        Applies::Family(Family::Gflownet),
        Some(Preset::Browser),
        &[
            ("energy", Str("gmm25")),
            ("whiten", Bool(false)),
            ("steps", Int(10)),
            ("batch", Int(64)),
            ("paths", Int(64)),
            ("inner_steps", Int(1)),
            ("hidden", Int(64)),
            ("layers", Int(2)),
            ("lr", Num(2e-3)),
            ("t_scale", Num(20.0)),
            ("learned_variance", Bool(true)),
            ("ls_every", Int(20)),
            ("buffer_capacity", Int(5000)),
            ("iters", Int(4000)),
        ],
    ),
    (
        Applies::Family(Family::Gflownet),
        Some(Preset::Seed),
        &[
            ("energy", Str("gmm25")),
            ("whiten", Bool(false)),
            ("t_scale", Num(5.0)),
        ],
    ),
    // DDPM trains on a 1-D target with T = 100 and more gradient steps per iteration.
    (
        Applies::Sampler("ddpm"),
        None,
        &[
            ("energy", Str("gmm1d-demo")),
            ("whiten", Bool(false)),
            ("steps", Int(100)),
            ("inner_steps", Int(100)),
            ("paths", Int(1000)),
            ("iters", Int(100)),
        ],
    ),
];

/// The base of every preset: the `browser` preset's settings for Adjoint Sampling.
fn base() -> Config {
    Config {
        preset: Preset::Browser,
        sampler: "adjoint".into(),
        energy: EnergySpec::Named("seed-gmm".into()),
        seed: 1,
        temperature: 1.0,
        whiten: true,
        paths: 512,
        steps: 100,
        inner_steps: 10,
        batch: 256,
        buffer_capacity: 2048,
        weighted_replay: false,
        paths_per_source: 1,
        lr: 1e-3,
        hidden: 64,
        layers: 3,
        activation: Activation::GeluFast,
        clip: 50.0,
        sigma_min: 1e-3,
        sigma_max: 1.0,
        sigma: "geometric".into(),
        source: "point".into(),
        stages: 5,
        adjoint_iters: 40,
        corrector_iters: 20,
        sigma_q: 1.0,
        iters: 200,
        t_scale: 1.0,
        explore: 0.0,
        langevin: false,
        local_search: false,
        learned_variance: false,
        lr_log_z: 0.1,
        ls_every: 100,
    }
}

/// `config` with `delta` applied.
fn apply(config: Config, delta: Delta) -> Config {
    if delta.is_empty() {
        return config;
    }
    let mut map = config.flat();
    for &(key, value) in delta {
        assert!(map.get(key).is_some(), "a delta names an unknown key {key}");
        map[key] = value.to_value();
    }
    serde_json::from_value(map).expect("a preset delta holds valid settings")
}

/// The preset's settings (its default sampler's, before sampler deltas).
pub fn preset(preset: Preset) -> Config {
    let mut config = base();
    config.preset = preset;
    let delta = PRESET_DELTAS
        .iter()
        .find(|(p, _)| *p == preset)
        .map_or(&[][..], |d| d.1);
    apply(config, delta)
}

/// The preset's settings for `sampler`: its delta, then the deltas that apply to the sampler.
pub fn preset_for(preset_name: Preset, sampler: &str) -> Config {
    let mut config = preset(preset_name);
    config.sampler = sampler.to_string();
    let family = registry::find(sampler).ok().map(|e| e.info.family);
    for (applies, when, delta) in SAMPLER_DELTAS {
        let matches = match applies {
            Applies::Sampler(name) => *name == sampler,
            Applies::Family(f) => Some(*f) == family,
        };
        if matches && when.is_none_or(|p| p == preset_name) {
            config = apply(config, delta);
        }
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_delta_names_a_known_key_with_a_value_of_its_type() {
        for &(_, delta) in PRESET_DELTAS {
            apply(base(), delta);
        }
        for &(_, _, delta) in SAMPLER_DELTAS {
            apply(base(), delta);
        }
        for &(applies, _, _) in SAMPLER_DELTAS {
            if let Applies::Sampler(name) = applies {
                assert!(registry::find(name).is_ok(), "{name}");
            }
        }
    }
}
