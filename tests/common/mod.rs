//! Helpers shared by the GFlowNet test files (`mod common;` in each).

use boltzmann_playground::config::Config;
use serde_json::json;

/// TB in the `browser` preset with `overrides` (a JSON object of settings) on top.
pub fn gfn_config(overrides: serde_json::Value) -> Config {
    let mut base = json!({"preset": "browser", "sampler": "tb"});
    for (k, v) in overrides.as_object().unwrap() {
        base[k] = v.clone();
    }
    Config::from_partial(&base).unwrap()
}
