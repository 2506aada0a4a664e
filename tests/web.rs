//! The wasm build in a real browser (wasm-pack test --headless --chrome).
#![cfg(target_arch = "wasm32")]

use boltzmann_playground::web::{
    bench, catalog, check_formula, samplers, settings, target_preview, Playground,
};
use boltzmann_playground::web_workers::{RolloutShareWorker, SharedBench};
use js_sys::Float64Array;
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

#[wasm_bindgen_test]
fn samplers_and_targets_carry_their_dimensions() {
    let list: js_sys::Array = samplers().unwrap().into();
    // None: any dimension.
    let dims = |name: &str| -> Option<Vec<f64>> {
        let e = list
            .iter()
            .find(|e| field(e, "name").as_string().unwrap() == name)
            .unwrap_or_else(|| panic!("{name} not listed"));
        let dims = field(&e, "dims");
        (!dims.is_null()).then(|| {
            js_sys::Array::from(&dims)
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
    };
    assert_eq!(dims("ddpm"), Some(vec![1.0]));
    assert_eq!(dims("asbs"), None);
    assert_eq!(dims("adjoint"), None);
    let targets: js_sys::Array = catalog().unwrap().into();
    for e in targets.iter() {
        let name = field(&e, "name").as_string().unwrap();
        let d = field(&e, "dim").as_f64().unwrap();
        assert_eq!(
            d == 1.0,
            name.ends_with("1d") || name.contains("1d-"),
            "{name}: {d}"
        );
    }
}

fn train_iterations(pg: &mut Playground, n: f64) {
    for _ in 0..2000 {
        pg.train(5.0).unwrap_or_else(|_| panic!("no divergence"));
        if field(&pg.metrics().unwrap(), "iteration").as_f64().unwrap() >= n {
            return;
        }
    }
    panic!("fewer than {n} iterations");
}

#[wasm_bindgen_test]
fn ddpm_views_have_their_data() {
    let mut pg = Playground::new(config(
        r#"{"sampler": "ddpm", "paths": 200, "steps": 20, "inner_steps": 10}"#,
    ))
    .unwrap_or_else(|_| panic!("valid config"));
    assert!(pg.time_reversed());
    assert_eq!(pg.ddpm_steps(), 20);
    assert!(pg.ddpm_time_histograms().is_empty());
    train_iterations(&mut pg, 2.0);
    let bins = pg.marginal_bins();
    let h = pg.ddpm_time_histograms();
    assert_eq!(h.len(), 21 * bins);
    // Row T (t = 1) is the start p_1: a density over the window, most of its mass inside.
    let (lo, hi) = (pg.window().get_index(0), pg.window().get_index(1));
    let width = (hi - lo) / bins as f64;
    let mass: f64 = h[20 * bins..].iter().map(|&v| v as f64 * width).sum();
    assert!(mass > 0.8 && mass <= 1.0 + 1e-6, "{mass}");
    let m = pg.metrics().unwrap();
    for key in ["w1", "w2", "tv"] {
        assert!(field(&m, key).as_f64().unwrap().is_finite(), "{key}");
    }
    let e = pg.evaluate(500).unwrap();
    assert_eq!(field(&e, "samples").as_f64(), Some(500.0));
    assert!(field(&e, "w1").as_f64().unwrap() > 0.0);
    let oracle = pg.oracle_samples(300).expect("gmm1d-demo is a mixture");
    assert_eq!(oracle.len(), 300);
    let curves = pg.ddpm_curves(0.5, vec![-1.0, 0.0, 2.0]).unwrap();
    assert!(!field(&curves, "oracle").is_null());
}

#[wasm_bindgen_test]
fn asbs_reports_its_stage_source_and_corrector() {
    let mut pg = Playground::new(config(
        r#"{"sampler": "asbs", "paths": 64, "steps": 10, "inner_steps": 4, "adjoint_iters": 2, "corrector_iters": 1}"#,
    ))
    .unwrap_or_else(|_| panic!("valid config"));
    assert_eq!(pg.dim(), 1);
    assert!(!pg.time_reversed());
    assert_eq!(pg.source_samples(50).len(), 50);
    let s0 = pg.stage().unwrap();
    assert_eq!(field(&s0, "stage").as_string().as_deref(), Some("adjoint"));
    // Exactly two iterations: a time budget can overshoot into the next stage's adjoint
    // iteration on a fast machine (stages here are 2 + 1 iterations).
    for _ in 0..2 {
        pg.step_iteration().unwrap_or_else(|_| panic!("trains"));
    }
    let s1 = pg.stage().unwrap();
    assert_eq!(
        field(&s1, "stage").as_string().as_deref(),
        Some("corrector")
    );
    assert_eq!(pg.corrector_field(vec![0.0, 1.0]).map(|h| h.len()), Some(2));
    assert!(pg.oracle_samples(10).is_none());
}

#[wasm_bindgen_test]
fn gfn_views_are_typed_arrays_of_the_shown_paths_and_buffers() {
    // TB + Expl + LS with a search every 2 iterations: after 4 iterations D holds two
    // forward batches and D_LS the accepted MALA proposals; one residual per shown path.
    let mut pg = Playground::new(config(
        r#"{"sampler": "tb", "steps": 6, "batch": 16, "paths": 16, "hidden": 16,
            "explore": 0.1, "local_search": true, "ls_every": 2}"#,
    ))
    .unwrap_or_else(|_| panic!("valid config"));
    for _ in 0..4 {
        pg.step_iteration().unwrap_or_else(|_| panic!("trains"));
    }
    let count = pg.trajectory_count();
    let residuals = pg.trajectory_residuals().to_vec();
    assert!(
        count > 0 && residuals.len() == count,
        "{} residuals for {count} paths",
        residuals.len()
    );
    assert!(residuals.iter().all(|r| r.is_finite()));
    assert_eq!(pg.buffer_d().length(), 2 * 16 * 2);
    let ls = pg.buffer_ls().length();
    assert!(ls > 0 && ls.is_multiple_of(2), "D_LS holds {ls} values");
    let state = pg.gfn_state().unwrap_or_else(|_| panic!("state"));
    assert_eq!(field(&state, "buffer_d").as_f64(), Some(32.0));
    assert!(field(&state, "log_z_learned").as_f64().unwrap().is_finite());
    // A projection gmm25 does not have is refused by name; other samplers have no views.
    assert!(pg.set_display_axes(vec![1, 0]).is_err());
    assert_eq!(pg.display_axes(), vec![0, 1]);
    let mut other = Playground::new(config(r#"{"paths": 32, "steps": 5}"#))
        .unwrap_or_else(|_| panic!("valid config"));
    assert_eq!(other.trajectory_residuals().length(), 0);
    assert!(other
        .gfn_state()
        .unwrap_or_else(|_| panic!("null"))
        .is_null());
    let mut manywell = Playground::new(config(
        r#"{"sampler": "tb", "energy": "manywell:6", "steps": 4, "batch": 8}"#,
    ))
    .unwrap_or_else(|_| panic!("valid config"));
    manywell
        .set_display_axes(vec![4, 5])
        .unwrap_or_else(|_| panic!("pair (4, 5)"));
    assert_eq!(manywell.display_axes(), vec![4, 5]);
    assert_eq!(manywell.particles().length(), 16);
}

#[wasm_bindgen_test]
fn check_formula_names_the_column_of_a_parse_error() {
    assert!(check_formula("(x^2 - 1)^2 + y^2", 2).unwrap().is_null());
    let problem = check_formula("x + * y", 2).unwrap();
    assert_eq!(field(&problem, "column").as_f64(), Some(5.0));
    let message = field(&problem, "message").as_string().unwrap();
    assert!(message.contains("column 5"), "{message}");
    let whole = check_formula("", 2).unwrap();
    assert!(field(&whole, "column").is_null());
}

#[wasm_bindgen_test]
fn a_saved_state_restores_through_json_text_and_continues_identically() {
    let json = r#"{"sampler": "adjoint", "energy": "gmm9", "paths": 64, "steps": 10,
                   "inner_steps": 4, "batch": 32, "seed": 5}"#;
    let mut original = Playground::new(config(json)).unwrap_or_else(|_| panic!("valid config"));
    original
        .step_iteration()
        .unwrap_or_else(|_| panic!("trains"));
    original
        .step_iteration()
        .unwrap_or_else(|_| panic!("trains"));
    // Through text, as the page's exported file carries it.
    let saved = original.save_state().unwrap_or_else(|_| panic!("saves"));
    let text = js_sys::JSON::stringify(&saved).unwrap();
    let state = js_sys::JSON::parse(&text.as_string().unwrap()).unwrap();
    let mut restored = Playground::restore(
        original.config().unwrap_or_else(|_| panic!("config")),
        state,
    )
    .unwrap_or_else(|_| panic!("restores"));
    assert_eq!(
        js_sys::JSON::stringify(&restored.history().unwrap_or_else(|_| panic!("history"))).unwrap(),
        js_sys::JSON::stringify(&original.history().unwrap_or_else(|_| panic!("history"))).unwrap()
    );
    original
        .step_iteration()
        .unwrap_or_else(|_| panic!("trains"));
    restored
        .step_iteration()
        .unwrap_or_else(|_| panic!("trains"));
    let a: Vec<f32> = original.samples().to_vec();
    let b: Vec<f32> = restored.samples().to_vec();
    assert_eq!(a, b);
    // A state saved under other settings is refused with a message.
    let other = config(
        r#"{"sampler": "adjoint", "energy": "gmm9", "paths": 32, "steps": 10,
                          "inner_steps": 4, "batch": 32, "seed": 5}"#,
    );
    let saved = original.save_state().unwrap_or_else(|_| panic!("saves"));
    assert!(Playground::restore(other, saved).is_err());
}

#[wasm_bindgen_test]
fn target_preview_draws_a_target_without_a_run() {
    let p = target_preview(config(r#"{"sampler": "ddpm", "energy": "gmm1d-demo"}"#)).unwrap();
    assert_eq!(field(&p, "dim").as_f64(), Some(1.0));
    let marginal: js_sys::Array = field(&p, "marginal").into();
    assert!(marginal.length() > 10);
    let p = target_preview(config(r#"{"energy": "gmm9"}"#)).unwrap();
    let nx = field(&p, "nx").as_f64().unwrap() as u32;
    let ny = field(&p, "ny").as_f64().unwrap() as u32;
    let grid: js_sys::Array = field(&p, "log_density").into();
    assert_eq!(grid.length(), nx * ny);
    assert!(target_preview(config(r#"{"energy": "nothing"}"#)).is_err());
}

/// The catalog's projections and sizes, and the run's `projections()`, which
/// `set_display_axes` accepts one by one.
#[wasm_bindgen_test]
fn catalog_and_run_name_the_projections_the_run_accepts() {
    let list: js_sys::Array = catalog().unwrap().into();
    let entry = |name: &str| {
        list.iter()
            .find(|e| field(e, "name").as_string().as_deref() == Some(name))
            .unwrap()
    };
    let pairs = |v: JsValue| -> Vec<Vec<u32>> {
        js_sys::Array::from(&v)
            .iter()
            .map(|p| {
                js_sys::Array::from(&p)
                    .iter()
                    .map(|a| a.as_f64().unwrap() as u32)
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        pairs(field(&entry("gmm25"), "projections")),
        vec![vec![0, 1]]
    );
    assert_eq!(
        pairs(field(&entry("normal1d"), "projections")),
        vec![vec![0]]
    );
    assert!(field(&entry("gmm25"), "sizes").is_null());
    let funnel = entry("funnel");
    assert_eq!(pairs(field(&funnel, "projections")).len(), 9);
    assert!(field(&funnel, "hint").as_string().is_some());
    let sizes = field(&funnel, "sizes");
    assert_eq!(field(&sizes, "default").as_f64(), Some(10.0));
    assert_eq!(field(&sizes, "even").as_bool(), Some(false));
    let listed = js_sys::Array::from(&field(&sizes, "listed"));
    assert_eq!(
        field(&listed.get(0), "name").as_string().unwrap(),
        "funnel:2"
    );
    assert_eq!(field(&listed.get(0), "dim").as_f64(), Some(2.0));
    let manywell = field(&entry("manywell"), "sizes");
    assert_eq!(field(&manywell, "even").as_bool(), Some(true));

    let mut pg = Playground::new(config(
        r#"{"sampler": "tb", "energy": "manywell:6", "steps": 4, "batch": 8}"#,
    ))
    .unwrap_or_else(|_| panic!("valid config"));
    let shown = pairs(pg.projections());
    assert_eq!(shown, vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
    for p in shown {
        pg.set_display_axes(p.clone())
            .unwrap_or_else(|_| panic!("{p:?}"));
        assert_eq!(pg.display_axes(), p);
    }
}

#[wasm_bindgen_test]
fn history_since_appends_what_is_new_and_agrees_with_the_whole_history() {
    let mut pg = Playground::new(config(
        r#"{"sampler": "mala", "paths": 32, "steps": 2, "energy": "gmm9"}"#,
    ))
    .unwrap_or_else(|_| panic!("valid config"));
    let mut copy: Vec<f64> = Vec::new();
    for _ in 0..5 {
        pg.step_iteration()
            .unwrap_or_else(|_| panic!("no divergence"));
        let part = pg
            .history_since(copy.len())
            .unwrap_or_else(|_| panic!("history"));
        assert_eq!(field(&part, "from").as_f64().unwrap() as usize, copy.len());
        let new: Float64Array = field(&part, "iteration").into();
        assert_eq!(new.length(), 1, "one iteration each time");
        copy.extend(new.to_vec());
    }
    assert_eq!(pg.history_len(), 5);
    let whole: js_sys::Array = field(&pg.history().unwrap(), "iteration").into();
    let whole: Vec<f64> = whole.iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(copy, whole);
    let past_end = pg.history_since(99).unwrap_or_else(|_| panic!("history"));
    assert_eq!(Float64Array::from(field(&past_end, "loss")).length(), 0);
}

#[wasm_bindgen_test]
fn the_facade_hands_the_registry_and_the_schema_to_the_page() {
    let list: js_sys::Array = samplers().unwrap_or_else(|_| panic!("samplers")).into();
    let names: Vec<String> = list
        .iter()
        .map(|s| field(&s, "name").as_string().unwrap())
        .collect();
    assert!(names.iter().any(|n| n == "asbs") && names.iter().any(|n| n == "mala"));
    for s in list.iter() {
        let settings: js_sys::Array = field(&s, "settings").into();
        assert!(settings.length() > 3);
        assert!(field(&s, "explanation").as_string().unwrap().len() > 40);
    }
    let schema: js_sys::Array = settings().unwrap_or_else(|_| panic!("settings")).into();
    let sampler = schema
        .iter()
        .find(|row| field(row, "key").as_string().as_deref() == Some("sampler"))
        .unwrap();
    let values: js_sys::Array = field(&sampler, "values").into();
    assert_eq!(values.length() as usize, names.len());
    let activation = schema
        .iter()
        .find(|row| field(row, "key").as_string().as_deref() == Some("activation"))
        .unwrap();
    let values: Vec<String> = js_sys::Array::from(&field(&activation, "values"))
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect();
    assert!(values.contains(&"gelu-fast".to_string()), "{values:?}");
}

#[wasm_bindgen_test]
fn a_deeply_nested_or_huge_value_is_refused_by_name_and_the_core_goes_on() {
    // {"energy": {"x": {"x": … }}} 100,000 levels deep: read recursively it would overflow
    // the wasm stack.
    let mut inner = JsValue::from_f64(1.0);
    for _ in 0..100_000 {
        let o = js_sys::Object::new();
        js_sys::Reflect::set(&o, &"x".into(), &inner).unwrap();
        inner = o.into();
    }
    let deep = js_sys::Object::new();
    js_sys::Reflect::set(&deep, &"energy".into(), &inner).unwrap();
    let msg = match Playground::new(deep.into()) {
        Ok(_) => panic!("a 100,000-level value was accepted"),
        Err(e) => field(&JsValue::from(e), "message").as_string().unwrap(),
    };
    assert!(msg.contains("nested more than 12 levels"), "{msg}");
    // Many parts.
    let wide = js_sys::Array::new();
    for i in 0..300_000 {
        wide.push(&JsValue::from_f64(i as f64));
    }
    let cfg = js_sys::Object::new();
    js_sys::Reflect::set(&cfg, &"energy".into(), &wide).unwrap();
    let msg = match Playground::new(cfg.into()) {
        Ok(_) => panic!("a 300,000-element value was accepted"),
        Err(e) => field(&JsValue::from(e), "message").as_string().unwrap(),
    };
    assert!(msg.contains("more than 200000 parts"), "{msg}");
    // The module is fine: a valid run still trains.
    let mut pg = Playground::new(config(r#"{"sampler": "mala", "paths": 16, "steps": 2}"#))
        .unwrap_or_else(|_| panic!("valid config"));
    pg.step_iteration()
        .unwrap_or_else(|_| panic!("no divergence"));
}

/// A worker's results for each share message a coordinator handed out: (id, from, x,
/// log-ratios), simulated in turn by `worker` as the page's Web Workers would.
fn simulate_shares(
    messages: &JsValue,
    worker: &mut RolloutShareWorker,
) -> Vec<(u32, u32, Vec<f32>, Vec<f64>)> {
    let messages: js_sys::Array = messages.clone().into();
    messages
        .iter()
        .map(|m| {
            let f32s = |k| js_sys::Float32Array::from(field(&m, k)).to_vec();
            let seeds = js_sys::Uint32Array::from(field(&m, "seeds")).to_vec();
            worker
                .run(&f32s("params"), &seeds, &f32s("x"))
                .unwrap_or_else(|_| panic!("the share runs"));
            let id = field(&m, "id").as_f64().unwrap() as u32;
            let from = field(&m, "from").as_f64().unwrap() as u32;
            (id, from, worker.x(), worker.log_ratio())
        })
        .collect()
}

/// The page's history after `iterations`, its rollouts shared with `workers` workers
/// whose part one in-process worker plays when the run waits.
fn page_history(json: &str, workers: u32, iterations: f64) -> (String, usize) {
    let mut pg = Playground::new(config(json)).unwrap_or_else(|_| panic!("valid config"));
    pg.set_rollout_workers(workers);
    let mut worker =
        RolloutShareWorker::for_playground(pg.config().unwrap_or_else(|_| panic!("config")))
            .unwrap_or_else(|_| panic!("a worker for the run"));
    let (mut out, mut accepted) = (Vec::new(), 0);
    while field(&pg.metrics().unwrap(), "iteration").as_f64().unwrap() < iterations {
        pg.train(5.0).unwrap_or_else(|_| panic!("no divergence"));
        let shares = pg
            .pending_rollout_shares()
            .unwrap_or_else(|_| panic!("shares"));
        if js_sys::Array::from(&shares).length() > 0 {
            out = simulate_shares(&shares, &mut worker);
        }
        if pg.rollout_waiting() {
            for (id, from, x, lr) in out.drain(..) {
                let taken = pg.accept_rollout_share(id, from, &x, &lr);
                assert!(taken.unwrap_or_else(|_| panic!("fits")));
                accepted += 1;
            }
        }
    }
    // The first `iterations` entries: a 5 ms budget may finish one more iteration without
    // workers (nothing makes it wait), which the runs with workers need not reach.
    let h = pg.history().unwrap_or_else(|_| panic!("history"));
    let first = js_sys::Object::new();
    for key in ["iteration", "loss", "log_z_elbo", "log_z_iw", "ess"] {
        let series = js_sys::Array::from(&field(&h, key)).slice(0, iterations as u32);
        js_sys::Reflect::set(&first, &key.into(), &series).unwrap();
    }
    let h = js_sys::JSON::stringify(&first).unwrap();
    (h.as_string().unwrap(), accepted)
}

#[wasm_bindgen_test]
fn page_rollouts_shared_with_workers_equal_one_thread_bit_for_bit() {
    // 600 paths are 3 blocks: with 2 workers each takes one, with 5 still one each.
    for json in [
        r#"{"sampler": "adjoint", "paths": 600, "steps": 6, "inner_steps": 2, "batch": 32, "seed": 3}"#,
        r#"{"sampler": "asbs", "paths": 600, "steps": 6, "inner_steps": 2, "batch": 32,
            "adjoint_iters": 2, "corrector_iters": 1, "seed": 2}"#,
    ] {
        let (want, _) = page_history(json, 0, 3.0);
        for workers in [1, 2, 5] {
            let (got, accepted) = page_history(json, workers, 3.0);
            assert_eq!(got, want, "{workers} workers: {json}");
            assert_eq!(
                accepted,
                3 * workers.min(2) as usize,
                "{workers} workers: {json}"
            );
        }
    }
}

#[wasm_bindgen_test]
fn bench_rollouts_shared_with_workers_equal_one_thread_bit_for_bit() {
    let json =
        r#"{"preset": "browser", "paths": 600, "steps": 6, "inner": 2, "epochs": 2, "warmup": 0}"#;
    let want = field(
        &bench(config(json)).unwrap_or_else(|_| panic!("runs")),
        "last_train_loss",
    );
    for workers in [0, 1, 2, 5] {
        let mut coordinator = SharedBench::new(config(json)).unwrap_or_else(|_| panic!("valid"));
        coordinator.set_rollout_workers(workers);
        let mut worker = RolloutShareWorker::new(config(json)).unwrap_or_else(|_| panic!("valid"));
        let mut loss = f64::NAN;
        for _ in 0..coordinator.iterations() {
            let shares = coordinator.begin().unwrap_or_else(|_| panic!("starts"));
            assert_eq!(js_sys::Array::from(&shares).length(), workers.min(2));
            coordinator.advance();
            for (id, from, x, lr) in simulate_shares(&shares, &mut worker) {
                let taken = coordinator.accept_rollout_share(id, from, &x, &lr);
                assert!(taken.unwrap_or_else(|_| panic!("fits")));
            }
            loss = coordinator
                .finish(0.0, true)
                .unwrap_or_else(|_| panic!("trains"));
        }
        assert_eq!(Some(loss), want.as_f64(), "{workers} workers");
    }
}
