#![cfg(not(target_arch = "wasm32"))]
//! The GFlowNet diffusion samplers (docs/methods.md §5): exact identities of the path weights,
//! loss gradients against finite differences, exploration, and seeded convergence.

use boltzmann_playground::energy::{Energy, EnergySpec, EvalCounter, Target};
use boltzmann_playground::rng::Rng;
use boltzmann_playground::run::Run;
use boltzmann_playground::sampler::gfn::{GfnSampler, Objective};
use boltzmann_playground::sampler::Sampler;
use serde_json::json;
use std::sync::Arc;

mod common;
use common::gfn_config as config;

fn energy(name: &str) -> Arc<dyn Energy> {
    Target::new(&EnergySpec::Named(name.into()), 1.0)
        .unwrap()
        .energy
}

const OBJECTIVES: [&str; 6] = ["tb", "vargrad", "db", "subtb", "fl-subtb", "pis"];

#[test]
fn zero_network_path_weights_are_log_r_minus_the_base_density() {
    // Zero output layer ⇒ μ = 0, ℓ = log σ²: p_F is the base walk and p_B its exact bridge,
    // so log R(x_T) + S_B − S_F = log R(x_T) − log N(x_T; 0, σ² I) per trajectory.
    for name in OBJECTIVES {
        for learned_variance in [false, true] {
            let c = config(json!({"sampler": name, "energy": "gmm25", "steps": 10,
                                  "batch": 16, "learned_variance": learned_variance}));
            let e = energy("gmm25");
            let sigma2 = c.t_scale;
            // The browser preset's σ² on 25GMM (config::browser_t_scale).
            assert_eq!(sigma2, 20.0);
            let mut s = GfnSampler::new(
                Objective::parse(&c.sampler).unwrap(),
                &c.settings(),
                e.clone(),
            )
            .unwrap();
            let check = |samples: &[f64], log_w: &[f64], tol: f64, what: &str| {
                for (x, &lw) in samples.chunks_exact(2).zip(log_w) {
                    let r2 = x[0] * x[0] + x[1] * x[1];
                    let log_base = -(2.0 * std::f64::consts::PI * sigma2).ln() - 0.5 * r2 / sigma2;
                    let want = -e.energy(x) - log_base;
                    assert!(
                        (lw - want).abs() < tol * (1.0 + want.abs()),
                        "{name} {what}: {lw} vs {want}"
                    );
                }
            };
            // Fresh draws: the identity up to the f32 rounding of the reported samples.
            let r = s.draw(200, &mut Rng::new(3));
            let x: Vec<f64> = r.samples.iter().map(|&v| v as f64).collect();
            check(&x, r.log_weights.as_ref().unwrap(), 1e-4, "draw");
            // The training rollout's weights against its f64 states: exact.
            s.rollout_and_gradients().unwrap();
            let (xs, ..) = s.batch_view();
            let x_t = &xs[10 * 16 * 2..];
            let r = s.observe().last_rollout.unwrap();
            check(x_t, r.log_weights.as_ref().unwrap(), 1e-12, "rollout");
        }
    }
}

/// A tiny sampler with every parameter random, so every gradient entry is exercised.
fn tiny(name: &str, extra: serde_json::Value) -> GfnSampler {
    let mut o = json!({"sampler": name, "energy": "gmm9", "steps": 4, "batch": 3,
                       "hidden": 6, "layers": 1, "seed": 5});
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    let c = config(o);
    let mut s = GfnSampler::new(
        Objective::parse(&c.sampler).unwrap(),
        &c.settings(),
        energy("gmm9"),
    )
    .unwrap();
    let mut rng = Rng::new(11);
    let mut randomize = |p: &mut [f32], scale: f64| {
        for v in p {
            *v = (scale * rng.normal()) as f32;
        }
    };
    randomize(s.policy_mut().net.params_mut(), 0.4);
    if let Some(nn2) = s.policy_mut().langevin.as_mut() {
        randomize(nn2.params_mut(), 0.4);
    }
    if let Some(f) = s.flow_mut() {
        randomize(f.params_mut(), 0.4);
    }
    s.set_log_z(0.3);
    s
}

fn assert_close(analytic: f64, fd: f64, what: &str) {
    assert!(
        (analytic - fd).abs() <= 3e-3 * (1.0 + fd.abs()),
        "{what}: analytic {analytic} vs finite difference {fd}"
    );
}

/// Central differences of `loss` in parameter `k` of the vector `params` picks.
fn central_difference(
    s: &mut GfnSampler,
    which: fn(&mut GfnSampler) -> &mut [f32],
    k: usize,
    loss: fn(&mut GfnSampler) -> f64,
) -> f64 {
    let h = 2e-3f32;
    let p0 = which(s)[k];
    which(s)[k] = p0 + h;
    let up = loss(s);
    which(s)[k] = p0 - h;
    let down = loss(s);
    which(s)[k] = p0;
    (up - down) / (((p0 + h) as f64) - ((p0 - h) as f64))
}

#[test]
fn off_policy_loss_gradients_match_finite_differences() {
    // Trajectories are detached: the loss is a function of the parameters through log p_F
    // (μ, ℓ), log F and log Z on a fixed batch.
    let cases = [
        ("tb", json!({"learned_variance": true, "langevin": true})),
        ("tb", json!({})),
        ("vargrad", json!({"learned_variance": true})),
        ("db", json!({"learned_variance": true})),
        ("subtb", json!({"langevin": true})),
        ("fl-subtb", json!({"learned_variance": true})),
    ];
    for (name, extra) in cases {
        let mut s = tiny(name, extra.clone());
        s.rollout_and_gradients().unwrap();
        let loss = |s: &mut GfnSampler| s.loss_on_stored_batch().unwrap();
        let l0 = loss(&mut s);
        assert!(l0 > 1e-3, "{name}: a trivial loss {l0} tests nothing");
        let g = s.gradients();
        let (gp, gl, gf, gz) = (
            g.policy.to_vec(),
            g.langevin.map(|v| v.to_vec()),
            g.flow.map(|v| v.to_vec()),
            g.log_z,
        );
        assert!(gp.iter().any(|&v| v.abs() > 1e-4));
        for (k, &a) in gp.iter().enumerate() {
            let fd = central_difference(&mut s, |s| s.policy_mut().net.params_mut(), k, loss);
            assert_close(a as f64, fd, &format!("{name} {extra} policy θ{k}"));
        }
        if let Some(gl) = gl {
            for (k, &a) in gl.iter().enumerate() {
                let fd = central_difference(
                    &mut s,
                    |s| s.policy_mut().langevin.as_mut().unwrap().params_mut(),
                    k,
                    loss,
                );
                assert_close(a as f64, fd, &format!("{name} NN2 θ{k}"));
            }
        }
        if let Some(gf) = gf {
            for (k, &a) in gf.iter().enumerate() {
                let fd =
                    central_difference(&mut s, |s| s.flow_mut().unwrap().params_mut(), k, loss);
                assert_close(a as f64, fd, &format!("{name} flow θ{k}"));
            }
        }
        if name == "tb" {
            let z0 = s.log_z();
            let h = 1e-3;
            s.set_log_z(z0 + h);
            let up = loss(&mut s);
            s.set_log_z(z0 - h);
            let down = loss(&mut s);
            s.set_log_z(z0);
            let dz = (s.log_z() + h) as f32 as f64 - ((s.log_z() - h) as f32 as f64);
            assert_close(gz, (up - down) / dz, "TB log Z");
        } else {
            assert_eq!(gz, 0.0);
        }
    }
}

#[test]
fn pis_gradient_through_the_trajectory_matches_finite_differences() {
    // Reparameterized: the same noise with perturbed parameters moves the whole trajectory;
    // the loss (1/d)·mean(S_F − S_B − log R) changes through every state and log R(x_T).
    for extra in [json!({}), json!({"learned_variance": true})] {
        let base = tiny("pis", extra.clone());
        let mut s = base.clone();
        s.rollout_and_gradients().unwrap();
        // PIS scales by 1/(dB) in the Adam step; the accumulated gradient is of Σ_b J_b.
        let scale = 1.0 / 6.0;
        let g: Vec<f32> = s.gradients().policy.to_vec();
        assert!(g.iter().any(|&v| v.abs() > 1e-4));
        for (k, &a) in g.iter().enumerate() {
            let h = 2e-3f32;
            let loss_at = |delta: f32| {
                let mut c = base.clone();
                c.policy_mut().net.params_mut()[k] += delta;
                c.rollout_and_gradients().unwrap()
            };
            let p0 = base.policy().net.params()[k];
            let fd = (loss_at(h) - loss_at(-h)) / (((p0 + h) as f64) - ((p0 - h) as f64));
            assert_close(a as f64 * scale, fd, &format!("PIS {extra} θ{k}"));
        }
    }
}

#[test]
fn exploration_widens_the_paths_but_not_log_pf() {
    let mut wide = tiny("tb", json!({"explore": 1.0, "batch": 64, "steps": 10}));
    let mut plain = tiny("tb", json!({"batch": 64, "steps": 10}));
    assert_eq!(wide.exploration_at(0), 1.0);
    wide.rollout_and_gradients().unwrap();
    plain.rollout_and_gradients().unwrap();
    let spread = |s: &GfnSampler| {
        let (xs, ..) = s.batch_view();
        let n = 10 * 64 * 2;
        xs[n..].iter().map(|v| v * v).sum::<f64>() / (64 * 2) as f64
    };
    assert!(
        spread(&wide) > 1.5 * spread(&plain),
        "{} vs {}",
        spread(&wide),
        spread(&plain)
    );
    // log p_F stored by the exploring rollout is the policy's own density (without ε):
    // re-evaluating it on the same states gives the same numbers.
    let lf: Vec<f64> = wide.batch_view().1.to_vec();
    wide.loss_on_stored_batch().unwrap();
    assert_eq!(lf, wide.batch_view().1);
    // ε decays linearly to 0 over the first half of training.
    let half = config(json!({})).iters / 2;
    assert!((wide.exploration_at(half / 2) - 0.5).abs() < 1e-3);
    assert_eq!(wide.exploration_at(half), 0.0);
}

fn train(overrides: serde_json::Value, iters: usize) -> boltzmann_playground::run::Report {
    let mut run = Run::new(config(overrides)).unwrap();
    run.run_iterations(iters, |_| {}).unwrap();
    run.report(2000, 2000, 500)
}

/// A 2-D harmonic well at τ = 3 with σ² = 1: the target N(0, 3I) is wider than the base
/// N(0, I), so the drift must be learned. Untrained: Δlog Z ≈ 0.43 (the KL of the base to
/// the target), ESS ≈ 0.12, sd(x) ≈ 1.
fn wide_well(sampler: &str, iters: usize) -> boltzmann_playground::run::Report {
    train(
        json!({"sampler": sampler, "energy": "well", "temperature": 3.0, "t_scale": 1.0,
               "steps": 10, "batch": 64, "iters": iters, "seed": 2}),
        iters,
    )
}

#[test]
fn tb_and_pis_learn_a_wide_well_and_its_log_z() {
    for sampler in ["tb", "pis"] {
        let r = wide_well(sampler, 200);
        let truth = r.log_z_true.unwrap();
        let (d_elbo, d_rw) = (truth - r.log_z_elbo.unwrap(), truth - r.log_z_iw.unwrap());
        eprintln!(
            "{sampler}: Δlog Z {d_elbo:.3}, Δlog Z^RW {d_rw:.3}, ESS {:.3}, sd {:.3}",
            r.ess.unwrap(),
            r.marginal.x_std
        );
        assert!((truth - (2.0 * std::f64::consts::PI * 3.0).ln()).abs() < 1e-6);
        assert!(d_elbo > 0.0 && d_elbo < 0.15, "{sampler}: Δlog Z {d_elbo}");
        assert!(d_rw.abs() < 0.05, "{sampler}: Δlog Z^RW {d_rw}");
        assert!(r.ess.unwrap() > 0.6, "{sampler}: ESS {}", r.ess.unwrap());
        assert!(
            r.marginal.x_std > 1.45,
            "{sampler}: sd {}",
            r.marginal.x_std
        );
    }
}

#[test]
fn local_search_fills_d_ls_with_target_samples_and_trains_on_them() {
    // Iteration 0: forward trajectories of the untrained sampler (N(0, 5I) on 25GMM) go to
    // D. Iteration 1 (1 % 100 == 1): 200 MALA steps from rank-prioritized states of D;
    // accepted proposals after step 100 go to D_LS, and the batch is backward trajectories
    // from D_LS. MALA samples sit on the modes (variance 0.3): within 1.5 of a centre with
    // probability 1 − e^(−3.75) ≈ 0.98, against ≈ 0.3 for the base samples in D.
    let c = config(
        json!({"sampler": "tb", "energy": "gmm25", "steps": 10, "batch": 64,
                          "explore": 0.1, "local_search": true, "seed": 4}),
    );
    let evals = EvalCounter::new();
    let mut s = GfnSampler::new(
        Objective::parse(&c.sampler).unwrap(),
        &c.settings(),
        evals.wrap(energy("gmm25")),
    )
    .unwrap();
    let near_mode = |x: &[f64]| {
        let r = |v: f64| (v / 5.0).round().clamp(-2.0, 2.0) * 5.0;
        (x[0] - r(x[0])).powi(2) + (x[1] - r(x[1])).powi(2) < 2.25
    };
    let fraction = |xs: &[f64]| {
        xs.chunks_exact(2).filter(|x| near_mode(x)).count() as f64 / (xs.len() / 2) as f64
    };
    while s.iteration() < 2 {
        s.work().unwrap();
    }
    let (d, d_ls) = s.local_search_buffers().unwrap();
    assert_eq!(d.len(), 64 * 2, "one forward batch in D");
    assert!(
        d_ls.len() >= 64 * 2 * 20,
        "accepted proposals: {}",
        d_ls.len() / 2
    );
    let (fd, fls) = (fraction(d), fraction(d_ls));
    eprintln!("near a mode: D {fd:.3}, D_LS {fls:.3}");
    assert!(fd < 0.5, "D {fd}");
    assert!(fls > 0.9, "D_LS {fls}");
    // The batch of iteration 1 was backward trajectories from D_LS states, pinned at x_0 = 0.
    let (xs, ..) = s.batch_view();
    let t = 10;
    assert!(xs[..64 * 2].iter().all(|&v| v == 0.0));
    for x in xs[t * 64 * 2..].chunks_exact(2) {
        assert!(
            d_ls.chunks_exact(2).any(|y| y == x),
            "x_T {x:?} is not in D_LS"
        );
    }
    // The forward batch's log R, then the search: its chains' start and 200 steps.
    assert!(
        evals.count() >= 64 * (1 + 1 + 200),
        "MALA's evaluations are counted: {}",
        evals.count()
    );
}
