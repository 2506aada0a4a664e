#![cfg(not(target_arch = "wasm32"))]
//! Seeded convergence tests of DDPM in 1-D through `Run`, as the command line uses it.

use boltzmann_playground::config::Config;
use boltzmann_playground::run::Run;
use serde_json::json;

fn trained(energy: &str, iters: usize) -> boltzmann_playground::run::Report {
    let config = Config::from_partial(&json!({"sampler": "ddpm", "energy": energy,
                                              "paths": 256, "seed": 2}))
    .unwrap();
    let mut run = Run::new(config).unwrap();
    run.run_iterations(iters, |_| {}).unwrap();
    run.report(10_000, 2000, 1000)
}

#[test]
fn ddpm_learns_the_showcase_mixture() {
    let r = trained("gmm1d-demo", 100);
    let m = &r.marginal;
    let tol = 0.05 * m.true_x_std;
    assert!((m.x_mean - m.true_x_mean).abs() < tol, "{m:?}");
    assert!((m.x_std - m.true_x_std).abs() < tol, "{m:?}");
    for (a, b) in r.mode_masses.iter().zip(&r.true_mode_masses) {
        assert!(
            (a - b).abs() < 0.03,
            "{:?} vs {:?}",
            r.mode_masses,
            r.true_mode_masses
        );
    }
    assert!(r.w1.unwrap() < 0.1, "W1 {:?}", r.w1);
    assert!(r.tv.unwrap() < 0.1, "TV {:?}", r.tv);
    // No path weights: reported as null, not invented.
    assert!(r.log_z_iw.is_none() && r.ess.is_none() && r.log_z_elbo.is_none());
    assert_eq!(r.energy_evals, 0);
}

#[test]
fn ddpm_learns_unequal_weights() {
    let r = trained("gmm1d-unequal", 100);
    for (a, b) in r.mode_masses.iter().zip(&r.true_mode_masses) {
        assert!(
            (a - b).abs() < 0.03,
            "{:?} vs {:?}",
            r.mode_masses,
            r.true_mode_masses
        );
    }
}

#[test]
fn untrained_ddpm_is_visibly_wrong() {
    // The identity denoiser only adds noise: the test above must not pass by construction.
    let r = trained("gmm1d-demo", 0);
    assert!(r.w1.unwrap() > 0.3, "W1 {:?}", r.w1);
}

#[test]
fn ddpm_refuses_2d_targets() {
    let config = Config::from_partial(&json!({"sampler": "ddpm", "energy": "gmm9"})).unwrap();
    let e = Run::new(config).err().unwrap();
    assert!(e.contains("1-D"), "{e}");
}
