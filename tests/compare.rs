#![cfg(not(target_arch = "wasm32"))]
//! Common random numbers between compared samplers (docs/product.md; www/compare.js
//! documents these): two runs with the same seed whose samplers consume the generator
//! alike see the same numbers until their updates differ.

use boltzmann_playground::config::Config;
use boltzmann_playground::run::Run;
use serde_json::json;

fn first_rollout(partial: serde_json::Value) -> Vec<u32> {
    let mut run = Run::new(Config::from_partial(&partial).unwrap()).unwrap();
    run.run_iterations(1, |_| {}).unwrap();
    let r = run.sampler().observe().last_rollout.unwrap();
    r.samples.iter().map(|v| v.to_bits()).collect()
}

/// As the page builds the compared run: the main run's resolved configuration with the
/// sampler replaced.
fn with(base: &serde_json::Value, sampler: &str) -> serde_json::Value {
    let resolved = Config::from_partial(base).unwrap();
    let mut c = serde_json::to_value(&resolved).unwrap();
    c["sampler"] = json!(sampler);
    c
}

#[test]
fn adjoint_sampling_and_asbs_share_their_first_rollout_from_a_point_source_only() {
    let point = json!({"preset": "browser", "sampler": "asbs", "energy": "gmm9", "paths": 64,
                       "steps": 20, "inner_steps": 4, "batch": 32, "seed": 9,
                       "source": "point"});
    assert_eq!(
        first_rollout(with(&point, "adjoint")),
        first_rollout(with(&point, "asbs"))
    );
    let mut normal = point.clone();
    normal["source"] = json!("normal:0,1");
    assert_ne!(
        first_rollout(with(&normal, "adjoint")),
        first_rollout(with(&normal, "asbs"))
    );
}

#[test]
fn gflownet_objectives_without_a_flow_network_share_their_first_batch() {
    let base = json!({"preset": "browser", "sampler": "tb", "energy": "gmm25", "steps": 8, "batch": 32,
                      "hidden": 16, "layers": 2, "seed": 10});
    let tb = first_rollout(with(&base, "tb"));
    assert_eq!(tb, first_rollout(with(&base, "vargrad")));
    assert_eq!(tb, first_rollout(with(&base, "pis")));
    // A flow network's initialization draws from the generator before the first batch.
    assert_ne!(tb, first_rollout(with(&base, "subtb")));
}
