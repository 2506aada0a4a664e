#![cfg(not(target_arch = "wasm32"))]
//! What the page's GFlowNet views read: trajectory balance residuals of the shown
//! trajectories, the local-search cadence, the 2-D projections of d > 2 targets, and the
//! `browser` preset's mode discovery on 25GMM (docs/methods.md §5, §7).

use boltzmann_playground::config::Config;
use boltzmann_playground::energy::{EvalCounter, Target};
use boltzmann_playground::metrics::modes::mode_masses;
use boltzmann_playground::rng::Rng;
use boltzmann_playground::run::Run;
use boltzmann_playground::sampler::gfn::{GfnSampler, Objective};
use boltzmann_playground::sampler::{Sampler, Trajectories};
use serde_json::json;

mod common;
use common::gfn_config as config;

#[test]
fn shown_residuals_are_log_z_plus_the_zero_network_path_terms() {
    // Zero output layer ⇒ p_F is the base walk, p_B its exact bridge, so per trajectory
    // S_F − S_B = log N(x_T; 0, σ²I) (docs/methods.md §5) and the TB residual is
    // log Z + log N(x_T; 0, σ²I) − log R(x_T). VarGrad's reference is the batch mean of
    // S_B + log R − S_F, so its residuals sum to 0 over the batch; shown are the first 16.
    let (t, b) = (10, 16);
    for name in ["tb", "vargrad", "db"] {
        let c = config(json!({"sampler": name, "energy": "gmm25", "steps": t, "batch": b}));
        let target = Target::new(&c.energy, 1.0).unwrap();
        let e = target.energy.clone();
        let mut s = GfnSampler::new(
            Objective::parse(&c.sampler).unwrap(),
            &c.settings(),
            e.clone(),
        )
        .unwrap();
        if name == "tb" {
            s.set_log_z(1.25);
        }
        s.rollout_and_gradients().unwrap();
        let (xs, ..) = s.batch_view();
        let res = s.trajectory_residuals();
        let Trajectories {
            values: traj,
            count,
            points,
        } = s.observe().trajectories;
        assert_eq!((count, points, res.len()), (16, t + 1, 16));
        let sigma2 = c.t_scale;
        let mut mean_gap = 0.0;
        let mut gaps = Vec::new();
        for p in 0..b {
            let x = &xs[(t * b + p) * 2..(t * b + p + 1) * 2];
            // The shown path ends where the batch's trajectory p does.
            assert_eq!(traj[(p * points + t) * 2], x[0] as f32);
            let r2 = x[0] * x[0] + x[1] * x[1];
            let log_base = -(2.0 * std::f64::consts::PI * sigma2).ln() - 0.5 * r2 / sigma2;
            let gap = log_base + e.energy(x);
            mean_gap += gap / b as f64;
            gaps.push(gap);
        }
        for p in 0..b {
            let want = match name {
                "tb" => 1.25 + gaps[p],
                "vargrad" => gaps[p] - mean_gap,
                // The flow's output layer starts at zero: log F(x₀, 0) = 0.
                _ => gaps[p],
            };
            let got = res[p] as f64;
            assert!(
                (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                "{name} trajectory {p}: residual {got} vs {want}"
            );
        }
    }
}

#[test]
fn local_search_runs_at_the_configured_cadence() {
    // ls_every 4: searches start at iterations 1, 5, 9 (odd, it % 4 == 1); each adds
    // 200 MALA steps of B chains to the energy evaluations.
    let c = config(
        json!({"energy": "gmm9", "steps": 4, "batch": 8, "hidden": 8,
                          "explore": 0.1, "local_search": true, "ls_every": 4}),
    );
    let evals = EvalCounter::new();
    let e = evals.wrap(Target::new(&c.energy, 1.0).unwrap().energy);
    let mut s = GfnSampler::new(Objective::parse(&c.sampler).unwrap(), &c.settings(), e).unwrap();
    let mut per_iteration = Vec::new();
    let mut last = 0;
    while s.iteration() < 10 {
        s.work().unwrap();
        if s.iteration() > per_iteration.len() {
            per_iteration.push(evals.count() - last);
            last = evals.count();
        }
    }
    let searched: Vec<usize> = (0..10).filter(|&i| per_iteration[i] >= 8 * 200).collect();
    assert_eq!(
        searched,
        vec![1, 5, 9],
        "evaluations per iteration {per_iteration:?}"
    );
    for bad in [0, 3, 7] {
        let e = Config::from_partial(&json!({"sampler": "tb", "ls_every": bad})).unwrap_err();
        assert!(e.starts_with("ls_every") && e.contains("even"), "{e}");
    }
}

#[test]
fn projections_of_manywell_and_funnel_are_judged_by_the_same_truth() {
    // Manywell's pairs are independent copies of one double well: the exact samples'
    // mode masses on pair (x4, x5) match the truth computed for the first pair.
    let mut run = Run::new(config(json!({"energy": "manywell:8"}))).unwrap();
    assert_eq!(run.display_axes(), &[0, 1]);
    run.set_display_axes(&[4, 5]).unwrap();
    let mut rng = Rng::new(9);
    let x = run.target.exact_samples(40_000, &mut rng).unwrap();
    let shown = run.project(&x);
    assert_eq!(shown.len(), 80_000);
    assert_eq!((shown[0], shown[1]), (x[4], x[5]));
    let masses = mode_masses(&shown, 2, &run.target.modes);
    for (m, t) in masses.iter().zip(&run.truth.mode_masses) {
        assert!(
            (m - t).abs() < 0.01,
            "pair (4, 5): {masses:?} vs {:?}",
            run.truth.mode_masses
        );
    }
    for bad in [vec![1, 2], vec![4, 6], vec![8, 9], vec![0]] {
        let e = run.set_display_axes(&bad).unwrap_err();
        assert!(e.starts_with("axes") && e.contains("2k"), "{bad:?}: {e}");
    }
    assert_eq!(
        run.display_axes(),
        &[4, 5],
        "a rejected projection changes nothing"
    );

    let mut run = Run::new(config(json!({"energy": "funnel"}))).unwrap();
    run.set_display_axes(&[0, 7]).unwrap();
    let e = run.set_display_axes(&[1, 2]).unwrap_err();
    assert!(e.contains("0,i"), "{e}");
    let e = run.set_display_axes(&[0, 10]).unwrap_err();
    assert!(e.contains("0,i"), "{e}");

    let mut run = Run::new(config(json!({"energy": "gmm25"}))).unwrap();
    let e = run.set_display_axes(&[1, 0]).unwrap_err();
    assert!(e.contains("only x0, x1"), "{e}");
}

/// The mode coverage (docs/methods.md §7) of 8000 fresh samples after `iters` iterations of the
/// browser preset with TB + Expl + LS on 25GMM.
fn browser_coverage(seed: u64, iters: usize) -> (f64, Vec<f64>) {
    let c = config(json!({"explore": 0.1, "local_search": true, "seed": seed}));
    assert_eq!(
        c.energy,
        boltzmann_playground::energy::EnergySpec::Named("gmm25".into())
    );
    let mut run = Run::new(c).unwrap();
    run.run_iterations(iters, |_| {}).unwrap();
    let m = run.evaluate(8000);
    (m.mode_coverage, m.mode_masses)
}

#[test]
fn browser_preset_discovers_20_of_the_25_modes_with_tb_expl_ls() {
    // docs/methods.md §7: in the page's browser preset TB + Expl + LS covers at least 20 of 25
    // modes (each holding at least half of its true mass 0.04). The untrained sampler is
    // the base N(0, σ²I), which leaves the corner modes short: it must fail the same bar.
    let (untrained, _) = browser_coverage(1, 0);
    assert!(untrained < 0.8, "untrained coverage {untrained}");
    let iters = Config::preset_for(boltzmann_playground::config::Preset::Browser, "tb").iters;
    let (coverage, masses) = browser_coverage(1, iters);
    eprintln!("untrained {untrained:.2}, after {iters} iterations {coverage:.2}: {masses:.3?}");
    assert!(coverage >= 0.8, "coverage {coverage}: {masses:.3?}");
}
