#![cfg(not(target_arch = "wasm32"))]
//! The sampler registry tells the truth: a sampler's `settings` are the keys that change its
//! seeded run (every other key leaves it identical bit for bit, and every listed key moves
//! it), its `keeps_progress` keys let a saved state carry over, and the schema and the
//! registry agree with each other.

use boltzmann_playground::config::schema::{self, Kind, SETTINGS};
use boltzmann_playground::config::Config;
use boltzmann_playground::run::Run;
use boltzmann_playground::sampler::registry::{self, infos};
use serde_json::{json, Value};

/// Keys that choose the run rather than configure it.
const CHOOSERS: &[&str] = &["sampler", "preset"];

/// A small, fast configuration of `sampler` in which every key it reads has an effect
/// within [`ITERATIONS`] iterations (local search every 2 iterations, ASBS stages of one
/// iteration, a geometric schedule, …).
fn base(sampler: &str) -> Value {
    let family = registry::find(sampler).unwrap().info.family;
    let mut c = json!({"sampler": sampler, "seed": 3});
    let extra = match (sampler, family) {
        ("ddpm", _) => {
            json!({"paths": 64, "steps": 12, "inner_steps": 3, "batch": 32, "hidden": 16, "layers": 2})
        }
        ("mala", _) => json!({"paths": 32, "steps": 3, "energy": "gmm9", "whiten": true}),
        ("adjoint", _) => json!({"paths": 48, "steps": 12, "inner_steps": 3, "batch": 32,
            "hidden": 16, "layers": 2, "buffer_capacity": 60, "energy": "gmm9", "whiten": true,
            "source": "normal:0,1", "clip": 1.0}),
        ("asbs", _) => json!({"paths": 48, "steps": 12, "inner_steps": 3, "batch": 32,
            "hidden": 16, "layers": 2, "buffer_capacity": 40, "energy": "gmm9", "whiten": true,
            "source": "normal:0,1", "sigma": "geometric", "stages": 1, "adjoint_iters": 1,
            "corrector_iters": 1, "weighted_replay": true, "clip": 1.0}),
        ("pis", _) => json!({"batch": 24, "steps": 6, "hidden": 16, "layers": 2, "energy": "gmm9",
            "whiten": true}),
        (_, registry::Family::Gflownet) => json!({"batch": 24, "steps": 6, "hidden": 16,
            "layers": 2, "energy": "gmm9", "whiten": true, "local_search": true, "ls_every": 2,
            "explore": 0.2, "iters": 8, "langevin": true, "buffer_capacity": 40}),
        _ => panic!("no test configuration for {sampler}"),
    };
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

const ITERATIONS: usize = 4;

/// Another valid value of `key` (the first of a few candidates that the configuration
/// accepts), or None.
fn perturbed(config: &Value, key: &str) -> Option<Value> {
    let flat = Config::from_partial(config).unwrap().flat();
    let now = &flat[key];
    let setting = schema::setting(key).unwrap();
    let candidates: Vec<Value> = match setting.kind {
        Kind::Int { .. } => {
            let v = now.as_u64().unwrap();
            vec![
                json!(v + 2),
                json!(v * 2),
                json!(v.saturating_sub(2).max(2)),
            ]
        }
        Kind::Number { .. } => {
            let v = now.as_f64().unwrap();
            vec![json!(v * 1.5 + 0.05), json!(v * 0.5)]
        }
        Kind::Bool => vec![json!(!now.as_bool().unwrap())],
        Kind::Enum { values } => values.iter().map(|v| json!(v)).collect(),
        Kind::Energy => vec![json!("gmm25"), json!("seed-gmm"), json!("gmm1d-far")],
        Kind::Text => match key {
            "sigma" => vec![json!("constant:0.7"), json!("geometric")],
            "source" => vec![json!("normal:0.5,2"), json!("point")],
            _ => panic!("no candidates for {key}"),
        },
    };
    candidates.into_iter().find(|c| {
        if c == now {
            return false;
        }
        let mut changed = config.clone();
        changed[key] = c.clone();
        Config::from_partial(&changed).is_ok_and(|cfg| Run::new(cfg).is_ok())
    })
}

/// The bits of everything a run reports after [`ITERATIONS`] iterations.
fn fingerprint(config: &Value) -> Vec<u64> {
    let mut run = Run::new(Config::from_partial(config).unwrap()).unwrap();
    run.run_iterations(ITERATIONS, |_| {}).unwrap();
    let h = &run.history;
    let mut bits: Vec<u64> = h
        .loss
        .iter()
        .chain(&h.log_z_elbo)
        .chain(&h.log_z_iw)
        .chain(&h.ess)
        .map(|v| v.to_bits())
        .collect();
    let rollout = run.sampler().observe().last_rollout.expect("a rollout");
    bits.extend(rollout.samples.iter().map(|v| v.to_bits() as u64));
    bits.push(run.energy_evals());
    bits
}

#[test]
fn schema_and_registry_agree() {
    let keys: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
    let flat = Config::preset(boltzmann_playground::config::Preset::Browser).flat();
    let config_keys: Vec<&str> = flat
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    let mut config_sorted = config_keys.clone();
    config_sorted.sort_unstable();
    assert_eq!(
        sorted, config_sorted,
        "the schema lists every Config key once"
    );
    for info in infos() {
        for key in info.settings {
            assert!(keys.contains(key), "{}: unknown setting {key}", info.name);
            assert!(!CHOOSERS.contains(key), "{}: {key}", info.name);
        }
        for key in info.keeps_progress {
            assert!(
                info.settings.contains(key),
                "{}: keeps {key} it does not read",
                info.name
            );
        }
        for (key, _) in info.labels {
            assert!(
                info.settings.contains(key),
                "{}: labels {key} it does not read",
                info.name
            );
        }
    }
    let mut names: Vec<&str> = registry::names().collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "a sampler name appears twice");
}

#[test]
fn a_setting_a_sampler_does_not_list_leaves_its_run_unchanged() {
    for info in infos() {
        let base = base(info.name);
        let reference = fingerprint(&base);
        for setting in SETTINGS {
            let key = setting.key;
            if info.settings.contains(&key) || CHOOSERS.contains(&key) {
                continue;
            }
            let Some(value) = perturbed(&base, key) else {
                continue;
            };
            let mut changed = base.clone();
            changed[key] = value.clone();
            assert!(
                fingerprint(&changed) == reference,
                "{}: {key} = {value} changed the run, so the sampler reads it; list it in its settings",
                info.name
            );
        }
    }
}

#[test]
fn a_setting_a_sampler_lists_changes_its_run() {
    let mut unread = Vec::new();
    for info in infos() {
        let base = base(info.name);
        let reference = fingerprint(&base);
        for &key in info.settings {
            let value = perturbed(&base, key)
                .unwrap_or_else(|| panic!("{}: no other valid value of {key}", info.name));
            let mut changed = base.clone();
            changed[key] = value.clone();
            if fingerprint(&changed) == reference {
                unread.push(format!("{}: {key} = {value}", info.name));
            }
        }
    }
    assert!(
        unread.is_empty(),
        "listed settings that left the run unchanged: {unread:?}"
    );
}

#[test]
fn a_keeps_progress_change_carries_the_saved_state_over() {
    for info in infos() {
        let base = base(info.name);
        let mut run = Run::new(Config::from_partial(&base).unwrap()).unwrap();
        run.run_iterations(2, |_| {}).unwrap();
        let state = run.save_state();
        for &key in info.keeps_progress {
            let value = perturbed(&base, key).unwrap();
            let mut changed = base.clone();
            changed[key] = value.clone();
            let restored = Run::restore(Config::from_partial(&changed).unwrap(), &state);
            assert!(
                restored.is_ok(),
                "{}: {key} = {value} does not keep progress: {}",
                info.name,
                restored.err().unwrap_or_default()
            );
        }
    }
}
