#![cfg(not(target_arch = "wasm32"))]
//! Seeded convergence and identity tests of Adjoint Sampling, through `Run` as the page and
//! the command line use it.

use boltzmann_playground::config::Config;
use boltzmann_playground::energy::EnergySpec;
use boltzmann_playground::rng::Rng;
use boltzmann_playground::run::Run;
use boltzmann_playground::sampler::Sampler;
use serde_json::json;
use std::sync::Arc;

/// The `browser` preset of Adjoint Sampling with some settings changed.
fn browser(overrides: serde_json::Value) -> Config {
    let mut given = overrides;
    given["preset"] = json!("browser");
    Config::from_partial(&given).unwrap()
}

#[test]
fn untrained_sampler_is_the_base_process() {
    // Zero-initialised output layer ⇒ v ≡ 0 ⇒ X_1 ~ N(0, ν₁ I) and log dP₀/dP_θ = 0, so
    // log w = −E(X_1) − log N(X_1; 0, ν₁ I) exactly (docs/methods.md §1, §7).
    let config = browser(json!({"energy": "well", "whiten": false, "steps": 40}));
    let run = Run::new(config.clone()).unwrap();
    let mut s = config.build_sampler(run.target.energy.clone()).unwrap();
    let mut rng = Rng::new(4);
    let r = s.draw(20_000, &mut rng);
    let nu1 = config.schedule().nu1();
    let var = r.samples.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / r.samples.len() as f64;
    assert!((var - nu1).abs() < 0.03, "variance {var} vs ν₁ {nu1}");
    for (p, &lw) in r
        .samples
        .chunks_exact(2)
        .zip(r.log_weights.as_ref().unwrap())
        .take(100)
    {
        let x = [p[0] as f64, p[1] as f64];
        let e = run.target.energy.energy(&x);
        let r2 = x[0] * x[0] + x[1] * x[1];
        let log_base = -(2.0 * std::f64::consts::PI * nu1).ln() - 0.5 * r2 / nu1;
        assert!(
            (lw - (-e - log_base)).abs() < 1e-9,
            "{lw} vs {}",
            -e - log_base
        );
    }
}

#[test]
fn learns_a_harmonic_well_at_another_temperature_and_its_log_z() {
    // τ = 2.5 ≠ ν₁, so the control must be learned: X_1 should be N(0, τ I), log Z = log(2πτ).
    // The untrained sampler gives std 1 and log Ẑ_RW ≈ 1.84. Adjoint Sampling learns the
    // outward push only slowly (its optimal control is singular at t = 0, ∝ x/ν_t), so after
    // 200 iterations the std is ≈ 1.36 of 1.58: the test asserts that progress, and log Ẑ.
    let config = browser(
        json!({"energy": "well", "temperature": 2.5, "whiten": false,
                                "paths": 256, "steps": 50, "seed": 1}),
    );
    let mut run = Run::new(config).unwrap();
    run.run_iterations(200, |_| {}).unwrap();
    let r = run.report(20_000, 2000, 500);
    let (log_z_iw, log_z_elbo, ess) = (r.log_z_iw.unwrap(), r.log_z_elbo.unwrap(), r.ess.unwrap());
    let sd = 2.5f64.sqrt();
    assert!(
        r.marginal.x_std > 1.25 && r.marginal.x_std < sd + 0.05,
        "std {} vs {sd}",
        r.marginal.x_std
    );
    // The mean's spread is the training run's, not the 20 000 draws' (0.01): over seeds 1–8
    // with exact and fast GELU (16 runs) |mean| ≤ 0.052, sd 0.026, so 0.05 failed one run in
    // ~16 (it failed fast GELU at seed 1). 0.1 is 4 sd; the std and log Ẑ checks catch a
    // sampler that does not learn (a sign-flipped regression target fails them).
    assert!(r.marginal.x_mean.abs() < 0.1, "mean {}", r.marginal.x_mean);
    let truth = (2.0 * std::f64::consts::PI * 2.5).ln();
    assert!((r.log_z_true.unwrap() - truth).abs() < 1e-6);
    assert!(
        (r.log_z_iw.unwrap() - truth).abs() < 0.05,
        "log Ẑ_RW {} vs {truth}",
        r.log_z_iw.unwrap()
    );
    assert!(log_z_elbo <= log_z_iw + 1e-9);
    assert!(ess > 0.5, "ESS {ess}");
}

/// The `browser` preset with `overrides`, 200 iterations from each of `seeds`, averaged.
/// One 200-iteration run of Adjoint Sampling moves mass between modes by ±0.04 (its W2 by
/// ±0.5) from seed to seed, with exact and fast GELU alike: a single run's outcome flips with
/// any change of rounding. The tests assert the average over six seeds, and per run only what
/// every run has (every mode visited, log Ẑ^RW).
struct SeedAverage {
    x_mean_error: f64,
    x_std_error: f64,
    mode_masses: Vec<f64>,
    true_mode_masses: Vec<f64>,
    w2_above_floor: f64,
}

fn seed_average(overrides: serde_json::Value, seeds: std::ops::RangeInclusive<u64>) -> SeedAverage {
    let mut avg: Option<SeedAverage> = None;
    let n = seeds.clone().count() as f64;
    for seed in seeds {
        let mut given = overrides.clone();
        given["seed"] = json!(seed);
        let mut run = Run::new(browser(given)).unwrap();
        run.run_iterations(200, |_| {}).unwrap();
        let r = run.report(20_000, 2000, 1000);
        assert_eq!(
            r.mode_coverage, 1.0,
            "seed {seed}: a mode was never visited"
        );
        let log_z_error = r.log_z_iw.unwrap() - r.log_z_true.unwrap();
        assert!(
            log_z_error.abs() < 0.05,
            "seed {seed}: log Ẑ^RW off by {log_z_error}"
        );
        let a = avg.get_or_insert_with(|| SeedAverage {
            x_mean_error: 0.0,
            x_std_error: 0.0,
            mode_masses: vec![0.0; r.mode_masses.len()],
            true_mode_masses: r.true_mode_masses.clone(),
            w2_above_floor: 0.0,
        });
        a.x_mean_error += (r.marginal.x_mean - r.marginal.true_x_mean) / n;
        a.x_std_error += (r.marginal.x_std - r.marginal.true_x_std) / n;
        for (m, got) in a.mode_masses.iter_mut().zip(&r.mode_masses) {
            *m += got / n;
        }
        a.w2_above_floor += (r.w2 - r.w2_floor) / n;
    }
    avg.unwrap()
}

#[test]
fn learns_the_seed_mixture_with_the_browser_preset() {
    // Seeds 1–6, 200 iterations, measured: average x-mean error +0.026 (exact GELU +0.037),
    // x-std error +0.039 (+0.034), masses 0.498 (0.502) of 0.498, W2 0.014 (0.089) above its
    // floor. Untrained (the whitened base) the masses are 0.5 as well, but W2 is 1.09 above.
    let a = seed_average(json!({}), 1..=6);
    assert!(
        a.x_mean_error.abs() < 0.12,
        "x mean off by {}",
        a.x_mean_error
    );
    assert!(a.x_std_error.abs() < 0.08, "x std off by {}", a.x_std_error);
    for (got, want) in a.mode_masses.iter().zip(&a.true_mode_masses) {
        assert!(
            (got - want).abs() < 0.03,
            "mode masses {:?} vs {:?}",
            a.mode_masses,
            a.true_mode_masses
        );
    }
    assert!(
        a.w2_above_floor < 0.35,
        "W2 {} above the floor",
        a.w2_above_floor
    );
}

#[test]
fn custom_mixture_with_unequal_weights() {
    let energy = json!({"gmm": {"weights": [0.3, 0.7], "means": [[-3, 0], [3, 1]],
                                "covs": [[[1, 0], [0, 1]], [[0.5, 0], [0, 2]]]}});
    // Seeds 1–6, 200 iterations, measured: the lighter mode's mass 0.245 (exact GELU 0.255)
    // of 0.3: Adjoint Sampling first over-fills the heavier mode and is still returning mass
    // after 200 iterations (0.266 after 600). W2 0.46 (0.37) above its floor, against 1.05
    // untrained. Equal masses (a sampler blind to the weights) miss by 0.2.
    let a = seed_average(json!({"energy": energy}), 1..=6);
    for (got, want) in a.mode_masses.iter().zip(&a.true_mode_masses) {
        assert!(
            (got - want).abs() < 0.08,
            "mode masses {:?} vs {:?}",
            a.mode_masses,
            a.true_mode_masses
        );
    }
    // The x-marginal follows the masses: 0.05 of mass moves its mean by 6 × 0.05 = 0.3.
    assert!(
        a.x_mean_error.abs() < 0.45,
        "x mean off by {}",
        a.x_mean_error
    );
    assert!(a.x_std_error.abs() < 0.2, "x std off by {}", a.x_std_error);
    assert!(
        a.w2_above_floor < 0.75,
        "W2 {} above the floor",
        a.w2_above_floor
    );
}

#[test]
fn same_seed_same_run() {
    let config = browser(json!({"paths": 64, "steps": 10, "inner_steps": 3, "batch": 32}));
    let mut a = Run::new(config.clone()).unwrap();
    let mut b = Run::new(config).unwrap();
    a.run_iterations(3, |_| {}).unwrap();
    b.run_iterations(3, |_| {}).unwrap();
    assert_eq!(a.history.loss, b.history.loss);
    assert_eq!(
        a.sampler().observe().last_rollout.unwrap().samples,
        b.sampler().observe().last_rollout.unwrap().samples
    );
}

#[test]
fn divergence_rolls_back_to_the_last_good_iteration() {
    let config =
        browser(json!({"paths": 64, "steps": 10, "inner_steps": 5, "batch": 32, "lr": 1e6}));
    let mut run = Run::new(config).unwrap();
    let err = run.run_iterations(500, |_| {}).unwrap_err();
    assert!(err.contains("learning rate"), "{err}");
    let x = run.sampler().observe().particles;
    assert!(x.iter().all(|v| v.is_finite()));
    // The count goes back with the state: 64 endpoint gradients per completed iteration.
    assert_eq!(run.energy_evals(), 64 * run.sampler().iteration() as u64);
}

#[test]
fn energy_spec_round_trip_used_by_the_command_line() {
    let spec = EnergySpec::parse("gmm25").unwrap();
    assert_eq!(spec.name(), "gmm25");
    let target_energy = boltzmann_playground::energy::Target::new(&spec, 1.0)
        .unwrap()
        .energy;
    let config = browser(json!({"energy": "gmm25"}));
    let s: Box<dyn Sampler> = config.build_sampler(Arc::clone(&target_energy)).unwrap();
    assert_eq!(s.dim(), 2);
}
