#![cfg(not(target_arch = "wasm32"))]
//! Identities and seeded convergence tests of ASBS and of Adjoint Sampling from a source.

use boltzmann_playground::config::Config;
use boltzmann_playground::energy::{EnergySpec, EvalCounter, Target};
use boltzmann_playground::rng::Rng;
use boltzmann_playground::run::Run;
use boltzmann_playground::sampler::Stage;
use serde_json::{json, Value};

fn config(overrides: Value) -> Config {
    Config::from_partial(&overrides).unwrap()
}

fn target(config: &Config) -> Target {
    Target::new(&config.energy, config.temperature).unwrap()
}

#[test]
fn point_source_asbs_is_adjoint_sampling_bit_for_bit() {
    // With a point source the corrector target (0 − X_1)/ν_1 is a function of X_1, so ASBS
    // uses it exactly and is AS: same random numbers, same arithmetic (docs/methods.md §3).
    // Uniform replay of the same capacity for both (weighted replay is AS-only).
    let base = json!({"energy": "seed-gmm", "whiten": false, "paths": 64, "steps": 20,
                      "batch": 32, "inner_steps": 5, "hidden": 16, "layers": 2, "seed": 7,
                      "weighted_replay": false, "buffer_capacity": 2048});
    let with = |sampler: &str| {
        let mut v = base.clone();
        v["sampler"] = json!(sampler);
        v["source"] = json!("point");
        v["sigma"] = json!("geometric");
        config(v)
    };
    let (ca, cb) = (with("adjoint"), with("asbs"));
    let t = target(&ca);
    let mut a = ca.build_sampler(t.energy.clone()).unwrap();
    let mut b = cb.build_sampler(t.energy.clone()).unwrap();
    assert_eq!((a.name(), b.name()), ("adjoint", "asbs"));
    assert!(
        b.observe().stage.is_none(),
        "a point source has no corrector stages"
    );
    for unit in 0..6 * (20 + 5) {
        let (wa, wb) = (a.work().unwrap(), b.work().unwrap());
        assert_eq!(wa, wb, "unit {unit}");
        assert_eq!(a.observe().particles, b.observe().particles, "unit {unit}");
    }
    assert_eq!(a.iteration(), 6);
    let (ra, rb) = (
        a.observe().last_rollout.unwrap(),
        b.observe().last_rollout.unwrap(),
    );
    assert_eq!(ra.samples, rb.samples);
    for (x, y) in ra
        .log_weights
        .as_ref()
        .unwrap()
        .iter()
        .zip(rb.log_weights.as_ref().unwrap())
    {
        // The base density is summed per coordinate here and in closed form there.
        assert!((x - y).abs() < 1e-9, "{x} vs {y}");
    }
    let (da, db) = (a.draw(500, &mut Rng::new(1)), b.draw(500, &mut Rng::new(1)));
    assert_eq!(da.samples, db.samples);
}

#[test]
fn path_weights_are_unbiased_from_a_gaussian_source_for_any_control() {
    // log w = −E(X_1) − log p₀¹(X_1) + log dP₀/dP_θ with p₀¹ = μ ⊛ N(0, ν_1): E[w] = Z = 1
    // for the normalised mixture, whatever the (partly trained) control is.
    let c = config(
        json!({"sampler": "asbs", "preset": "browser", "paths": 128, "steps": 30,
                          "source": "normal:-1,0.8", "adjoint_iters": 4, "corrector_iters": 2,
                          "sigma": "geometric", "lr": 3e-3,
                          "hidden": 32, "layers": 2}),
    );
    let t = target(&c);
    let mut s = c.build_sampler(t.energy.clone()).unwrap();
    // Untrained: u ≡ 0 and h ≡ 0 (zero-initialized outputs).
    let h = s.observe().corrector.unwrap().at(&[-1.0, 0.0, 2.5]);
    assert_eq!(h, vec![0.0, 0.0, 0.0]);
    while s.iteration() < 8 {
        s.work().unwrap();
    }
    let h = s.observe().corrector.unwrap().at(&[-1.0, 0.0, 2.5]);
    assert!(h.iter().any(|&v| v != 0.0), "the corrector trained: {h:?}");
    let r = s.draw(40_000, &mut Rng::new(3));
    let log_w = r.log_weights.unwrap();
    let w: Vec<f64> = log_w.iter().map(|l| l.exp()).collect();
    let n = w.len() as f64;
    let mean = w.iter().sum::<f64>() / n;
    let se = (w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n / n).sqrt();
    // The Girsanov part log dP₀/dP_θ = log w + E + log p₀¹ must be far from 0: the control
    // is not the base process.
    let var1 = 0.64 + c.schedule().nu1();
    let girsanov = r
        .samples
        .iter()
        .zip(&log_w)
        .map(|(&x, &lw)| {
            let x = x as f64;
            let log_p =
                -0.5 * (2.0 * std::f64::consts::PI * var1).ln() - 0.5 * (x + 1.0).powi(2) / var1;
            (lw + t.energy.energy(&[x]) + log_p).abs()
        })
        .sum::<f64>()
        / n;
    assert!(girsanov > 0.02, "mean |log dP₀/dP_θ| = {girsanov}");
    assert!(
        (mean - 1.0).abs() < 4.0 * se && se < 0.05,
        "E[w] = {mean} ± {se}"
    );
}

#[test]
fn stages_alternate_k_times_then_adjoint_matching_continues() {
    let c = config(
        json!({"sampler": "asbs", "preset": "browser", "paths": 16, "steps": 5,
                          "batch": 8, "inner_steps": 2, "hidden": 8, "layers": 1,
                          "stages": 2, "adjoint_iters": 2, "corrector_iters": 1}),
    );
    let t = target(&c);
    let evals = EvalCounter::new();
    let mut s = c.build_sampler(evals.wrap(t.energy.clone())).unwrap();
    let mut seen = vec![];
    while s.iteration() < 8 {
        if let Some(info) = s.observe().stage {
            let step = (s.iteration(), info.stage, info.k, info.iteration);
            if seen.last() != Some(&step) {
                seen.push(step);
            }
        }
        s.work().unwrap();
    }
    use Stage::{Adjoint as A, Corrector as C};
    assert_eq!(
        seen,
        vec![
            (0, A, 1, 0),
            (1, A, 1, 1),
            (2, C, 1, 0),
            (3, A, 2, 0),
            (4, A, 2, 1),
            (5, C, 2, 0),
            (6, A, 2, 2),
            (7, A, 2, 3),
        ]
    );
    // An AM iteration evaluates (E, ∇E) at its 16 endpoints; a CM iteration takes no
    // gradients, only the 16 energies of its rollout's path weights (the metrics').
    assert_eq!(evals.count(), 6 * 16 + 2 * 16);
}

#[test]
fn sources_and_schedules_are_checked_and_named() {
    let e = Config::from_partial(&json!({"source": "uniform"})).unwrap_err();
    assert!(e.contains("source"), "{e}");
    let e = Config::from_partial(&json!({"sigma": "constant:-1"})).unwrap_err();
    assert!(e.starts_with("sigma"), "{e}");
    let e = Config::from_partial(&json!({"sigma": "cosine"})).unwrap_err();
    assert!(e.contains("geometric"), "{e}");
    // The seed source is 2-D.
    let c = config(json!({"sampler": "asbs", "source": "seed", "energy": "gmm1d-demo"}));
    let err = Run::new(c).err().unwrap();
    assert!(err.contains("source"), "{err}");
    let c = config(json!({"sampler": "asbs", "preset": "seed"}));
    assert_eq!(c.source, "seed");
    assert_eq!(
        (c.stages, c.adjoint_iters, c.corrector_iters),
        (10, 200, 50)
    );
    assert_eq!(c.iters, 2500);
    assert_eq!(c.energy, EnergySpec::Named("seed-gmm".into()));
}

/// Trains on the 1-D showcase (gmm1d-demo, source N(0, 1), σ = 0.3) and reports.
fn showcase(sampler: &str) -> boltzmann_playground::run::Report {
    let c = config(json!({"sampler": "asbs", "preset": "browser"}));
    let mut c = c;
    c.sampler = sampler.into();
    let mut run = Run::new(c.clone()).unwrap();
    run.run_iterations(c.iters, |_| {}).unwrap();
    run.report(4000, 2000, 2000)
}

#[test]
fn asbs_removes_the_bias_of_adjoint_sampling_from_a_source() {
    // docs/methods.md §3 showcase: AS from N(0, 1) with AS's terminal cost is biased; ASBS's
    // corrector removes the bias. Same settings, same seed, same budget of iterations.
    let (r_as, r_asbs) = (showcase("adjoint"), showcase("asbs"));
    eprintln!(
        "AS W2 {:.3} masses {:?}; ASBS W2 {:.3} masses {:?}; floor {:.3}",
        r_as.w2, r_as.mode_masses, r_asbs.w2, r_asbs.mode_masses, r_asbs.w2_floor
    );
    assert!(r_as.w2 > 0.5, "AS should be visibly biased: W2 {}", r_as.w2);
    assert!(
        r_asbs.w2 < r_as.w2 / 3.0,
        "ASBS W2 {} vs AS {}",
        r_asbs.w2,
        r_as.w2
    );
    // AS puts ≈ 0.71 on the left mode against 0.49; ASBS lands within a few hundredths.
    for (a, b) in r_asbs.mode_masses.iter().zip(&r_asbs.true_mode_masses) {
        assert!((a - b).abs() < 0.08, "{:?}", r_asbs.mode_masses);
    }
}

/// The seed-gmm settings of docs/methods.md §3: the original's target and source
/// (whitened, geometric base), the page's network and path budget as 64 source draws × 8 paths, weighted replay
/// from 32768 rows, 8 stages of 100 AM + 20 CM iterations and the last stage's AM
/// continued to 1440 iterations (README).
fn seed_gmm_settings(seed: u64) -> Config {
    config(json!({"sampler": "asbs", "preset": "seed", "seed": seed,
                  "paths": 512, "steps": 100, "hidden": 64, "layers": 3,
                  "stages": 8, "adjoint_iters": 100, "corrector_iters": 20, "iters": 1440,
                  "weighted_replay": true, "buffer_capacity": 32768, "paths_per_source": 8}))
}

#[test]
fn asbs_samples_seed_gmm_from_the_original_source() {
    // The tolerances of docs/methods.md §7: x-marginal mean and std within 0.08 of theory
    // (−1.000, 3.240) and mode masses within 0.05 of 0.5, on 100,000 fresh samples (x̄'s
    // standard error 0.010). x̄ is the tightest criterion; the numbers over seeds and
    // without weighted replay are in docs/notes/asbs-weighted-replay.md.
    let c = seed_gmm_settings(1);
    assert_eq!(c.source, "seed");
    assert!(c.whiten);
    let mut run = Run::new(c.clone()).unwrap();
    run.run_iterations(c.iters, |_| {}).unwrap();
    let r = run.report(100_000, 2000, 2000);
    let m = &r.marginal;
    eprintln!(
        "x̄ {:.3} (true {:.3}), sd {:.3} (true {:.3}), masses {:?}, W2 {:.3} (floor {:.3})",
        m.x_mean, m.true_x_mean, m.x_std, m.true_x_std, r.mode_masses, r.w2, r.w2_floor
    );
    assert!((m.true_x_mean + 1.0).abs() < 1e-6 && (m.true_x_std - 3.240).abs() < 1e-3);
    assert!((m.x_mean - m.true_x_mean).abs() < 0.08, "x̄ {}", m.x_mean);
    assert!((m.x_std - m.true_x_std).abs() < 0.08, "sd {}", m.x_std);
    for mass in &r.mode_masses {
        assert!((mass - 0.5).abs() < 0.05, "masses {:?}", r.mode_masses);
    }
    assert!(
        r.w2 < 2.0 * r.w2_floor,
        "W2 {} vs floor {}",
        r.w2,
        r.w2_floor
    );
}
