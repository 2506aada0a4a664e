//! The compute benchmark in this engine (the bench page), and which core build runs.

use super::*;

/// The bench's settings from a JS object {preset?, paths?, steps?, …} (`bench` and the Web
/// Worker bench of `web_workers` take the same).
pub(crate) fn bench_config(config: JsValue) -> Result<crate::bench::BenchConfig, JsError> {
    let given: serde_json::Value = input::from_js(config, &input::SETTINGS)?;
    let obj = given.as_object().cloned().unwrap_or_default();
    let preset = obj
        .get("preset")
        .and_then(|v| v.as_str())
        .unwrap_or("default");
    let mut cfg = crate::bench::BenchConfig::preset(preset).map_err(|e| JsError::new(&e))?;
    for (k, v) in obj.iter().filter(|(k, _)| k.as_str() != "preset") {
        // Strings (the activation) as they are, numbers in their JSON form.
        let value = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        cfg.set(k, &value).map_err(|e| JsError::new(&e))?;
    }
    Ok(cfg)
}

/// Timed groups of the engine's peak loop, and its rounds per call (~3 ms at 33 GFLOP/s).
pub(crate) const PEAK_GROUPS: u32 = 8;
pub(crate) const PEAK_ITERS: u32 = 1_000_000;

/// The compute benchmark in this engine: `config` is {preset?, paths?, steps?,
/// hidden?, layers?, batch?, inner?, epochs?, warmup?, seed?} with the reference script's
/// meanings; returns its JSON plus `peak_gflops`, the engine's register-resident
/// multiply-add rate. Blocks the calling thread for the whole run.
#[wasm_bindgen]
pub fn bench(config: JsValue) -> Result<JsValue, JsError> {
    let cfg = bench_config(config)?;
    let mut out = crate::bench::run(&cfg, &now_seconds).map_err(|e| JsError::new(&e))?;
    out["engine"] = "wasm32".into();
    out["core_build"] = core_build().into();
    out["peak_gflops"] = crate::bench::peak_gflops(PEAK_GROUPS, PEAK_ITERS, &now_seconds)
        .map_err(|e| JsError::new(&e))?
        .into();
    to_js(&out)
}

/// Which of scripts/build's two wasm cores this is: "relaxed-simd" (f32x4.relaxed_madd in the
/// matrix kernels, chosen by www/core.js where the engine validates relaxed SIMD) or
/// "simd128" (the fallback).
#[wasm_bindgen]
pub fn core_build() -> String {
    if cfg!(target_feature = "relaxed-simd") {
        "relaxed-simd".into()
    } else {
        "simd128".into()
    }
}
