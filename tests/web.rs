//! The wasm build in a real browser (wasm-pack test --headless --chrome).
#![cfg(target_arch = "wasm32")]

use boltzmann_playground::web::{catalog, Playground};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn config(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

fn field(v: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(v, &name.into()).unwrap()
}

#[wasm_bindgen_test]
fn catalog_lists_the_targets() {
    let list: js_sys::Array = catalog().unwrap().into();
    let names: Vec<String> = list
        .iter()
        .map(|e| field(&e, "name").as_string().unwrap())
        .collect();
    for want in ["seed-gmm", "well", "gmm9", "gmm25", "double-well"] {
        assert!(names.iter().any(|n| n == want), "{names:?}");
    }
}

#[wasm_bindgen_test]
fn trains_within_its_budget_and_reports_metrics() {
    let mut pg = Playground::new(config(
        r#"{"paths": 128, "steps": 20, "inner_steps": 4, "batch": 64}"#,
    ))
    .unwrap_or_else(|_| panic!("valid config"));
    assert_eq!(pg.dim(), 2);
    assert_eq!(pg.particles().length(), 256);
    assert_eq!(
        pg.density_grid().length() as usize,
        pg.grid_nx() * pg.grid_ny()
    );
    let mut units = 0;
    for _ in 0..200 {
        units += pg.train(5.0).unwrap_or_else(|_| panic!("no divergence"));
        if field(&pg.metrics().unwrap(), "iteration").as_f64().unwrap() >= 3.0 {
            break;
        }
    }
    assert!(units > 0);
    let m = pg.metrics().unwrap();
    assert!(field(&m, "iteration").as_f64().unwrap() >= 3.0);
    let log_z = field(&m, "log_z_iw").as_f64().unwrap();
    assert!(log_z.is_finite(), "log Z estimate {log_z}");
    assert_eq!(pg.samples().length(), 256);
    let bins = pg.marginal_bins() as u32;
    assert_eq!(pg.marginal_model(0).unwrap().length(), bins);
    let h = pg.history().unwrap();
    let losses: js_sys::Array = field(&h, "loss").into();
    assert!(losses.length() >= 3);
}

#[wasm_bindgen_test]
fn invalid_settings_are_rejected_with_a_message() {
    for (cfg, needle) in [
        (r#"{"paths": 0}"#, "paths"),
        (r#"{"energy": "nope"}"#, "nope"),
        (
            r#"{"energy": {"gmm": {"weights": [1], "means": [[0, 0]], "covs": [[[1, 2], [2, 1]]]}}}"#,
            "positive definite",
        ),
    ] {
        let err = match Playground::new(config(cfg)) {
            Ok(_) => panic!("{cfg} was accepted"),
            Err(e) => JsValue::from(e),
        };
        let msg = field(&err, "message").as_string().unwrap();
        assert!(msg.contains(needle), "{cfg}: {msg}");
    }
}

#[wasm_bindgen_test]
fn divergence_is_reported_and_rolled_back() {
    let mut pg = Playground::new(config(
        r#"{"paths": 64, "steps": 10, "inner_steps": 5, "batch": 32, "lr": 1e6}"#,
    ))
    .unwrap_or_else(|_| panic!("valid config"));
    let mut failed = None;
    for _ in 0..400 {
        if let Err(e) = pg.train(5.0) {
            failed = Some(field(&JsValue::from(e), "message").as_string().unwrap());
            break;
        }
    }
    let msg = failed.expect("a learning rate of 1e6 diverges");
    assert!(msg.contains("learning rate"), "{msg}");
    // The restored state is finite and can still be drawn.
    let p = pg.particles().to_vec();
    assert!(p.iter().all(|v| v.is_finite()));
}
