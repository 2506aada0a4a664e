#![cfg(not(target_arch = "wasm32"))]
//! Saving and restoring a run (docs/product.md, export with the network's weights): a run
//! restored from its saved state continues bit for bit as the original does, for every
//! sampler and its modifiers; a state saved under other settings is rejected by name.

use boltzmann_playground::config::Config;
use boltzmann_playground::run::Run;
use boltzmann_playground::state::StateMap;
use serde_json::json;

fn config(partial: serde_json::Value) -> Config {
    Config::from_partial(&partial).unwrap()
}

/// Everything observable that later iterations produce: the last rollout's samples and
/// log weights, the history, the energy evaluations, and a fresh evaluation draw.
fn fingerprint(run: &mut Run) -> (Vec<u32>, Vec<u64>, Vec<u64>, u64, Vec<u64>) {
    let rollout = run.sampler().observe().last_rollout.expect("a rollout");
    let samples = rollout.samples.iter().map(|v| v.to_bits()).collect();
    let weights = rollout
        .log_weights
        .as_ref()
        .map(|w| w.iter().map(|v| v.to_bits()).collect())
        .unwrap_or_default();
    let h = &run.history;
    let history = h
        .loss
        .iter()
        .chain(&h.log_z_elbo)
        .chain(&h.log_z_iw)
        .chain(&h.iteration)
        .map(|v| v.to_bits())
        .collect();
    let evals = run.energy_evals();
    let m = run.evaluate(64);
    let evaluation = [m.x_mean, m.x_std, m.log_z_iw.unwrap_or(0.0)]
        .iter()
        .map(|v| v.to_bits())
        .collect();
    (samples, weights, history, evals, evaluation)
}

/// Trains `before` iterations, saves (through JSON text, as the page's file does), trains
/// `after` more; restores a new run from the text and trains `after`: both must agree.
fn round_trip(partial: serde_json::Value, before: usize, after: usize) {
    let label = partial.to_string();
    let mut original = Run::new(config(partial.clone())).unwrap();
    original.run_iterations(before, |_| {}).unwrap();
    // A few units into the next iteration: the saved state is the last completed one.
    for _ in 0..3 {
        original.work().unwrap();
    }
    let text = serde_json::to_string(&original.save_state()).unwrap();
    let mut reference = Run::new(config(partial.clone())).unwrap();
    reference.run_iterations(before + after, |_| {}).unwrap();

    let state: StateMap = serde_json::from_str(&text).unwrap();
    let mut restored = Run::restore(config(partial), &state).unwrap();
    assert_eq!(restored.sampler().iteration(), before, "{label}");
    assert_eq!(restored.history.loss.len(), before, "{label}");
    assert!(
        restored.latest().is_some(),
        "{label}: metrics after restore"
    );
    restored.run_iterations(after, |_| {}).unwrap();
    assert_eq!(
        fingerprint(&mut restored),
        fingerprint(&mut reference),
        "{label}: the restored run diverged from the original"
    );
}

#[test]
fn adjoint_sampling_and_asbs_continue_identically() {
    round_trip(
        json!({"preset": "browser", "sampler": "adjoint", "energy": "seed-gmm",
               "paths": 64, "steps": 20, "inner_steps": 8, "batch": 32,
               "buffer_capacity": 256, "seed": 3}),
        3,
        2,
    );
    // Weighted replay (its index is rebuilt from the restored buffer).
    round_trip(
        json!({"preset": "browser", "sampler": "adjoint", "energy": "gmm9",
               "paths": 64, "steps": 20, "inner_steps": 8, "batch": 32,
               "buffer_capacity": 100, "weighted_replay": true, "seed": 4}),
        3,
        2,
    );
    // ASBS from a normal source, saved across a stage boundary (learned corrector).
    round_trip(
        json!({"preset": "browser", "sampler": "asbs", "energy": "gmm1d-demo",
               "source": "normal:0,1", "paths": 64, "steps": 20, "inner_steps": 8,
               "batch": 32, "buffer_capacity": 256, "stages": 3, "adjoint_iters": 2,
               "corrector_iters": 2, "seed": 5}),
        3,
        4,
    );
    // ASBS with weighted replay: averaged iterates and ψ's reference point restored.
    round_trip(
        json!({"preset": "browser", "sampler": "asbs", "energy": "seed-gmm",
               "whiten": true, "source": "seed", "sigma": "geometric", "paths": 64,
               "steps": 20, "inner_steps": 8, "batch": 32, "buffer_capacity": 256,
               "stages": 3, "adjoint_iters": 4, "corrector_iters": 2,
               "weighted_replay": true, "seed": 6}),
        9,
        6,
    );
    // With paths per source draw (weights normalized within each draw's group).
    round_trip(
        json!({"preset": "browser", "sampler": "asbs", "energy": "seed-gmm",
               "whiten": true, "source": "seed", "sigma": "geometric", "paths": 64,
               "steps": 20, "inner_steps": 8, "batch": 32, "buffer_capacity": 256,
               "stages": 3, "adjoint_iters": 4, "corrector_iters": 2,
               "weighted_replay": true, "paths_per_source": 8, "seed": 6}),
        5,
        4,
    );
}

#[test]
fn ddpm_and_mala_continue_identically() {
    round_trip(
        json!({"preset": "browser", "sampler": "ddpm", "energy": "gmm1d-demo",
               "paths": 64, "steps": 10, "inner_steps": 8, "batch": 32, "seed": 6}),
        3,
        2,
    );
    round_trip(
        json!({"preset": "browser", "sampler": "mala", "energy": "gmm25",
               "paths": 32, "steps": 5, "seed": 7}),
        3,
        2,
    );
}

#[test]
fn gflownet_samplers_continue_identically_with_every_modifier() {
    let small = |extra: serde_json::Value| {
        let mut c = json!({"preset": "browser", "energy": "gmm25", "steps": 8, "batch": 16,
                           "hidden": 16, "layers": 2, "seed": 8});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    for sampler in ["tb", "vargrad", "db", "subtb", "fl-subtb", "pis"] {
        round_trip(small(json!({ "sampler": sampler })), 2, 2);
    }
    // Exploration, Langevin parametrization, learned variance and local search (its
    // buffers D and D_LS and its adapted step size carry over: searches run at iterations
    // 1 and 101, one on each side of the save).
    round_trip(
        small(json!({"sampler": "tb", "explore": 0.2, "langevin": true,
                     "learned_variance": true, "local_search": true,
                     "buffer_capacity": 64})),
        2,
        100,
    );
    round_trip(
        small(json!({"sampler": "subtb", "local_search": true, "buffer_capacity": 64})),
        3,
        3,
    );
}

#[test]
fn a_state_saved_under_other_settings_is_rejected_by_name() {
    let partial = json!({"preset": "browser", "sampler": "adjoint", "energy": "seed-gmm",
                         "paths": 64, "steps": 20, "inner_steps": 4, "batch": 32,
                         "buffer_capacity": 256, "seed": 3});
    let mut run = Run::new(config(partial.clone())).unwrap();
    run.run_iterations(1, |_| {}).unwrap();
    let state = run.save_state();
    let mut wider = partial.clone();
    wider["hidden"] = json!(run.config.hidden + 8);
    let err = Run::restore(config(wider), &state).err().expect("rejected");
    assert!(err.contains("\"net\"") && err.contains("values"), "{err}");
    let mut other = partial;
    other["paths"] = json!(32);
    let err = Run::restore(config(other), &state).err().expect("rejected");
    assert!(err.contains("particles"), "{err}");
    let mut broken = state.clone();
    broken.0.remove("eval_rng");
    let err = Run::restore(run.config.clone(), &broken)
        .err()
        .expect("rejected");
    assert!(err.contains("eval_rng") && err.contains("missing"), "{err}");
}

/// A state whose arrays do not fit the configuration is refused with the array's name,
/// never restored at the file's length (sampler/mod.rs: `Sampler::load_state`).
#[test]
fn a_mismatched_state_is_refused_naming_what_differs() {
    let gfn = json!({"preset": "browser", "sampler": "tb", "energy": "gmm25", "steps": 8,
                     "batch": 16, "hidden": 16, "layers": 2, "seed": 8});
    let mut run = Run::new(config(gfn.clone())).unwrap();
    run.run_iterations(2, |_| {}).unwrap();
    let state = run.save_state();
    let mut other = gfn.clone();
    other["batch"] = json!(24);
    let err = Run::restore(config(other), &state).err().expect("rejected");
    assert!(err.contains("batch"), "{err}");
    // The run keeps the energy evaluations; a state of the earlier format kept them in the
    // sampler's map, and restores them from there.
    let evals = state.u64("energy_evals").unwrap();
    assert_eq!(evals, run.energy_evals());
    let mut earlier = state.clone();
    earlier.0.remove("energy_evals");
    earlier.put_u64("sampler.energy_evals", &[evals]);
    let restored = Run::restore(config(gfn.clone()), &earlier).unwrap();
    assert_eq!(restored.energy_evals(), evals);

    let ddpm = json!({"preset": "browser", "sampler": "ddpm", "energy": "gmm1d-demo",
                      "paths": 64, "steps": 10, "inner_steps": 8, "batch": 32, "seed": 6});
    let mala = json!({"preset": "browser", "sampler": "mala", "energy": "gmm25",
                      "paths": 32, "steps": 5, "seed": 7});
    for (partial, key) in [
        (gfn.clone(), "sampler.particles"),
        (gfn.clone(), "sampler.trajectories"),
        (gfn, "sampler.last.samples"),
        (ddpm.clone(), "sampler.last_chain"),
        (ddpm, "sampler.last.samples"),
        (mala.clone(), "sampler.last_paths"),
        (mala, "sampler.last.samples"),
    ] {
        let mut run = Run::new(config(partial.clone())).unwrap();
        run.run_iterations(2, |_| {}).unwrap();
        let mut state = run.save_state();
        let mut values = state.f32s(key).unwrap();
        assert!(!values.is_empty(), "{key}");
        values.truncate(values.len() - 1);
        state.put_f32(key, &values);
        let err = Run::restore(config(partial), &state)
            .err()
            .unwrap_or_else(|| panic!("{key} one value short was accepted"));
        let name = key.rsplit('.').next().unwrap();
        assert!(err.contains(name) && err.contains("values"), "{key}: {err}");
    }
}

#[test]
fn network_weights_that_are_not_finite_are_refused_at_import() {
    for (partial, key) in [
        (
            json!({"sampler": "adjoint", "paths": 32, "steps": 8, "batch": 16}),
            "sampler.net",
        ),
        (
            json!({"sampler": "tb", "batch": 16, "steps": 4}),
            "sampler.policy",
        ),
        (
            json!({"sampler": "ddpm", "paths": 32, "steps": 8, "inner_steps": 2}),
            "sampler.net",
        ),
    ] {
        let mut run = Run::new(config(partial.clone())).unwrap();
        run.run_iterations(1, |_| {}).unwrap();
        let mut state = run.save_state();
        assert!(Run::restore(config(partial.clone()), &state).is_ok());
        let mut weights = state.f32s(key).unwrap();
        weights[3] = f32::NAN;
        state.put_f32(key, &weights);
        let err = Run::restore(config(partial.clone()), &state)
            .err()
            .expect("refused");
        let name = key.trim_start_matches("sampler.");
        assert!(
            err.contains("not a finite number") && err.contains(name),
            "{err}"
        );
        weights[3] = f32::INFINITY;
        state.put_f32(key, &weights);
        assert!(Run::restore(config(partial), &state).is_err());
    }
}
