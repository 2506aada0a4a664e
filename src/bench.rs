//! The compute benchmark (docs/performance.md): one Adjoint Sampling outer iteration of the seed's
//! (or the browser's) size, the workload of shared/bench/torch_reference.py, run through
//! the sampler's own code paths and reported with that script's JSON field names.
//!
//! Same workload means: P paths × (S − 1) Euler–Maruyama updates through the MLP
//! (2 + 6) → H ×L → 2 with GELU, the whitened seed GMM's adjoint at X_1, then I Adam
//! steps of batch B. Our rollout also accumulates each path's Girsanov log-ratio, which
//! the reference does not; that is counted in our time, not in the FLOP count.

use crate::config::{Config, Preset};
use crate::energy::{Affine, Energy, Pulled, Target};
use crate::nn::Activation;
use crate::sampler::asbs::AsbsSampler;
use crate::sampler::{Phase, Sampler, Work};
use crate::shared_rollout::{RolloutSharing, ShareMessage};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// The reference script's settings, with its names (`steps` = time-grid points).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenchConfig {
    pub preset: String,
    pub paths: usize,
    pub steps: usize,
    pub hidden: usize,
    pub layers: usize,
    pub batch: usize,
    pub inner: usize,
    pub epochs: usize,
    pub warmup: usize,
    pub seed: u64,
    /// Not a reference flag. Each workload runs the activation of the playground preset it
    /// mirrors: the seed workload exact GELU (the original's, like the reference's
    /// `nn.GELU()`), the browser workload the page's fast GELU (Φ within 2.5e-7, f32
    /// rounding); `--activation gelu|gelu-fast` chooses.
    pub activation: Activation,
}

impl BenchConfig {
    /// The reference's presets: "default" (the seed's configuration; "seed" is accepted too)
    /// and "browser".
    pub fn preset(name: &str) -> Result<BenchConfig, String> {
        let (preset, paths, steps, hidden, layers, activation) = match name {
            "default" | "seed" => ("default", 1000, 125, 128, 4, Activation::Gelu),
            "browser" => ("browser", 512, 100, 64, 3, Activation::GeluFast),
            other => {
                return Err(format!(
                    "--preset: unknown \"{other}\"; known: default, browser"
                ))
            }
        };
        Ok(BenchConfig {
            preset: preset.into(),
            paths,
            steps,
            hidden,
            layers,
            batch: 256,
            inner: 10,
            epochs: 5,
            warmup: 1,
            seed: 22,
            activation,
        })
    }

    /// Sets one `--flag value` of the reference script.
    pub fn set(&mut self, flag: &str, value: &str) -> Result<(), String> {
        if flag == "activation" {
            self.activation =
                serde_json::from_value(json!(value.trim_matches('"'))).map_err(|_| {
                    format!("--activation: unknown \"{value}\"; known: gelu, gelu-fast, silu, relu")
                })?;
            return Ok(());
        }
        let n: u64 = value
            .parse()
            .map_err(|_| format!("--{flag} needs a non-negative integer, got \"{value}\""))?;
        let slot = match flag {
            "paths" => &mut self.paths,
            "steps" => &mut self.steps,
            "hidden" => &mut self.hidden,
            "layers" => &mut self.layers,
            "batch" => &mut self.batch,
            "inner" => &mut self.inner,
            "epochs" => &mut self.epochs,
            "warmup" => &mut self.warmup,
            "seed" => {
                self.seed = n;
                return Ok(());
            }
            other => return Err(format!("unknown flag --{other}")),
        };
        *slot = n as usize;
        Ok(())
    }

    /// The playground configuration running this workload: the seed preset's sampler and
    /// target (whitened seed GMM), with the sizes replaced. The reference's S grid points are
    /// S − 1 updates; its replay buffer holds exactly the last rollout.
    pub fn playground_config(&self) -> Result<Config, String> {
        if self.steps < 2 || self.paths == 0 || self.epochs == 0 {
            return Err("bench needs --steps ≥ 2, --paths ≥ 1 and --epochs ≥ 1".into());
        }
        let mut c = Config::preset(Preset::Seed);
        c.seed = self.seed;
        c.paths = self.paths;
        c.steps = self.steps - 1;
        c.hidden = self.hidden;
        c.layers = self.layers;
        c.batch = self.batch;
        c.inner_steps = self.inner;
        c.buffer_capacity = self.paths;
        c.activation = self.activation;
        c.validate()?;
        Ok(c)
    }
}

/// Multiply-adds of one forward and one backward pass for one sample, counted as the
/// reference counts them (the backward pass skips the first layer's input gradient).
pub fn mlp_macs(in_dim: usize, hidden: usize, out_dim: usize, layers: usize) -> (u64, u64) {
    let mut dims = vec![in_dim];
    dims.extend(std::iter::repeat_n(hidden, layers));
    dims.push(out_dim);
    let per_layer: Vec<u64> = dims.windows(2).map(|w| (w[0] * w[1]) as u64).collect();
    let fwd: u64 = per_layer.iter().sum();
    (fwd, 2 * fwd - per_layer[0])
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The sampler running a bench workload, with the sizes its report needs.
pub struct BenchSampler {
    pub sampler: AsbsSampler,
    in_dim: usize,
    out_dim: usize,
    params: usize,
}

impl BenchSampler {
    /// The seed preset's Adjoint Sampling on the whitened seed GMM, at `cfg`'s sizes.
    pub fn new(cfg: &BenchConfig) -> Result<BenchSampler, String> {
        let config = cfg.playground_config()?;
        let target = Target::new(&config.energy, config.temperature)?;
        let truth = target.ground_truth();
        let map = Affine::whitening(&truth.mean, &truth.cov);
        let energy: Arc<dyn Energy> = Arc::new(Pulled::new(target.energy.clone(), map));
        let out_dim = energy.dim();
        let sampler = AsbsSampler::new(&config.settings(), energy, false)?;
        Ok(BenchSampler {
            in_dim: sampler.network().input_dim(),
            params: sampler.network().n_params(),
            sampler,
            out_dim,
        })
    }
}

/// Seconds of the measured iterations per phase: rollout, target, train, total.
#[derive(Default)]
pub struct BenchRecord {
    phases: [Vec<f64>; 4],
    last_loss: f64,
}

impl BenchRecord {
    /// Records one measured iteration.
    pub fn push(&mut self, rollout: f64, target: f64, train: f64, loss: f64) {
        for (r, t) in self.phases.iter_mut().zip([rollout, target, train]) {
            r.push(t);
        }
        self.phases[3].push(rollout + target + train);
        self.last_loss = loss;
    }
}

impl BenchSampler {
    /// Starts an outer iteration: its rollout's first unit of work (the restart draws X_0
    /// and the blocks' seeds, then one step), the rollout shared as `sharing` says
    /// (`crate::shared_rollout`). Returns the shares to hand to workers.
    pub fn begin_rollout(
        &mut self,
        sharing: &mut RolloutSharing,
    ) -> Result<Vec<ShareMessage>, String> {
        if self.sampler.phase() != Phase::Rollout || sharing.home_paths().is_some() {
            return Err("bench: an iteration is already under way".into());
        }
        sharing.before_work(&mut self.sampler);
        self.sampler.work()?;
        sharing.after_work(&self.sampler);
        Ok(sharing.hand_out(&mut self.sampler))
    }

    /// Advances the blocks kept here through the rollout's other steps in one call, so that
    /// its threads meet once per iteration rather than once per step.
    pub fn advance_home(&mut self) {
        if let Some(mut open) = Sampler::open_rollout(&mut self.sampler) {
            open.advance(usize::MAX);
        }
    }

    /// After every share is back: finishes the rollout (the adjoint at X_1, the replay
    /// buffer) and runs the inner Adam steps, timed by `now`. Returns (target seconds, train
    /// seconds, loss).
    pub fn finish_iteration(
        &mut self,
        sharing: &mut RolloutSharing,
        now: &dyn Fn() -> f64,
    ) -> Result<(f64, f64, f64), String> {
        if sharing.waiting(&mut self.sampler) {
            return Err("bench: shares of the rollout are still out".into());
        }
        let t1 = now();
        // The home blocks are at t = 1 (`advance_home`): this unit finishes the rollout.
        while self.sampler.phase() == Phase::Rollout {
            self.sampler.work()?;
            sharing.after_work(&self.sampler);
        }
        let t2 = now();
        let loss = loop {
            if let Work::IterationDone { loss } = self.sampler.work()? {
                break loss;
            }
        };
        Ok((t2 - t1, now() - t2, loss))
    }

    /// One whole outer iteration timed by phase (rollout, target, train), its rollout on
    /// this process's threads. Returns the phases' seconds and the loss.
    pub fn timed_iteration(&mut self, now: &dyn Fn() -> f64) -> Result<([f64; 3], f64), String> {
        let mut alone = RolloutSharing::default();
        let t0 = now();
        self.begin_rollout(&mut alone)?;
        self.advance_home();
        let rollout = now() - t0;
        let (target, train, loss) = self.finish_iteration(&mut alone, now)?;
        Ok(([rollout, target, train], loss))
    }
}

/// Runs the workload: `warmup` unmeasured then `epochs` measured outer iterations, timed
/// by `now` (seconds). Returns the reference's JSON object with `"bench": "playground"`.
pub fn run(cfg: &BenchConfig, now: &dyn Fn() -> f64) -> Result<Value, String> {
    let mut bench = BenchSampler::new(cfg)?;
    let mut rec = BenchRecord::default();
    for epoch in 0..cfg.warmup + cfg.epochs {
        let (phases, loss) = bench.timed_iteration(now)?;
        if epoch >= cfg.warmup {
            rec.push(phases[0], phases[1], phases[2], loss);
        }
    }
    Ok(report(cfg, &bench, &rec, threads()))
}

/// The reference's JSON object for measured iterations `rec` of `bench`.
pub fn report(cfg: &BenchConfig, bench: &BenchSampler, rec: &BenchRecord, threads: usize) -> Value {
    let rec_phases = &rec.phases;
    let names = ["rollout", "target", "train", "total"];
    let med: Vec<f64> = rec_phases.iter().map(|r| median(r)).collect();
    let min: Vec<f64> = rec_phases
        .iter()
        .map(|r| r.iter().copied().fold(f64::INFINITY, f64::min))
        .collect();
    let obj = |v: &[f64]| -> Value {
        names
            .iter()
            .zip(v)
            .map(|(n, &x)| (n.to_string(), json!(round6(x))))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let (fwd, bwd) = mlp_macs(bench.in_dim, cfg.hidden, bench.out_dim, cfg.layers);
    let roll_flop = 2.0 * fwd as f64 * cfg.paths as f64 * (cfg.steps - 1) as f64;
    let train_flop = 2.0 * (fwd + bwd) as f64 * cfg.batch as f64 * cfg.inner as f64;
    json!({
        "bench": "playground",
        "preset": cfg.preset,
        "config": {
            "paths": cfg.paths, "steps": cfg.steps, "hidden": cfg.hidden, "layers": cfg.layers,
            "batch": cfg.batch, "inner": cfg.inner, "em_updates": cfg.steps - 1,
            "dt": 1.0 / cfg.steps as f64, "in_dim": bench.in_dim, "params": bench.params,
            "activation": cfg.activation,
        },
        "threads": threads,
        "target_arch": std::env::consts::ARCH,
        "epochs_measured": cfg.epochs,
        "warmup": cfg.warmup,
        "s_per_epoch_median": obj(&med),
        "s_per_epoch_min": obj(&min),
        "mlp_macs_per_sample": {"forward": fwd, "backward": bwd},
        "gflop_per_epoch": {
            "rollout": roll_flop / 1e9, "train": train_flop / 1e9,
            "total": (roll_flop + train_flop) / 1e9,
        },
        "gflops_achieved": {
            "rollout": roll_flop / med[0] / 1e9,
            "train": train_flop / med[2] / 1e9,
            "total": (roll_flop + train_flop) / med[3] / 1e9,
        },
        "last_train_loss": rec.last_loss,
    })
}

/// Threads the rollout uses (1 in the browser).
pub fn threads() -> usize {
    crate::sampler::rollout::rollout_threads()
}

/// Accumulators of the peak loop: independent chains of 4-wide vectors. One chain step is
/// a multiply then a dependent add (simd128 has no fused multiply-add), ≈ 8 cycles of
/// latency on x86; with 2 vector ports, 8 chains just cover it, so 12 leave slack (and with
/// the two constants still fit V8's 15 allocatable xmm registers).
const PEAK_CHAINS: usize = 12;

/// Untimed calls of the peak loop before the timed groups (V8 swaps in its optimizing
/// compiler's code only at a call boundary).
const PEAK_WARMUP_CALLS: u32 = 5;
/// Shortest timed group of peak-loop calls, in seconds: browsers coarsen `performance.now()`
/// (to 0.1 ms or more, with jitter), which a single ~3 ms call would turn into a bias of
/// several per cent, upward for the best of many.
const PEAK_GROUP_SECONDS: f64 = 0.02;
/// A group gives up after this many calls (a clock that does not advance).
const PEAK_MAX_GROUP_CALLS: u64 = 1000;

/// The engine's register-resident multiply-add rate in GFLOP/s: rounds of acc ← acc·m + c on
/// PEAK_CHAINS × 4 lanes (2 flops per lane and round), `iters` rounds per call. Many short
/// calls, because V8 swaps in its optimizing compiler's code only at a function's next call
/// (a single long call would measure its baseline compiler): after a warm-up, `groups`
/// groups of calls, each timed as a whole over at least PEAK_GROUP_SECONDS on `now`
/// (seconds); the best group's rate. An error when `now` does not advance.
pub fn peak_gflops(groups: u32, iters: u32, now: &dyn Fn() -> f64) -> Result<f64, String> {
    let call = || {
        std::hint::black_box(peak_loop(
            iters,
            std::hint::black_box(0.999_999),
            std::hint::black_box(1e-7),
        ));
    };
    for _ in 0..PEAK_WARMUP_CALLS {
        call();
    }
    let flops_per_call = 2.0 * 4.0 * PEAK_CHAINS as f64 * iters as f64;
    let mut best: Option<f64> = None;
    for _ in 0..groups {
        let start = now();
        let mut calls = 0u64;
        let seconds = loop {
            call();
            calls += 1;
            let elapsed = now() - start;
            if elapsed >= PEAK_GROUP_SECONDS || calls >= PEAK_MAX_GROUP_CALLS {
                break elapsed;
            }
        };
        if !(seconds > 0.0 && seconds.is_finite()) {
            return Err(format!(
                "peak GFLOP/s: the clock did not advance over {calls} calls ({seconds} s)"
            ));
        }
        let rate = flops_per_call * calls as f64 / seconds / 1e9;
        best = Some(best.map_or(rate, |b: f64| b.max(rate)));
    }
    best.ok_or_else(|| "peak GFLOP/s: no group was timed (groups = 0)".to_string())
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(never)]
fn peak_loop(iters: u32, m: f32, c: f32) -> f32 {
    use core::arch::wasm32::*;
    let (mv, cv) = (f32x4_splat(m), f32x4_splat(c));
    let mut acc = [f32x4_splat(1.0); PEAK_CHAINS];
    for _ in 0..iters {
        for a in &mut acc {
            *a = crate::nn::gemm::wasm::mul_add(*a, mv, cv);
        }
    }
    acc.iter()
        .map(|&a| f32x4_extract_lane::<0>(a) + f32x4_extract_lane::<3>(a))
        .sum()
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(never)]
fn peak_loop(iters: u32, m: f32, c: f32) -> f32 {
    let mut acc = [[1.0f32; 4]; PEAK_CHAINS];
    for _ in 0..iters {
        for a in &mut acc {
            for v in a.iter_mut() {
                *v = *v * m + c;
            }
        }
    }
    acc.iter().map(|a| a[0] + a[3]).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_loop_computes_the_affine_recurrence() {
        // acc_n = m^n + c·(1 − m^n)/(1 − m); two lanes of each chain are summed.
        let (m, c, n) = (0.5f32, 0.25f32, 30u32);
        let exact = 0.5f64.powi(30) + 0.25 * (1.0 - 0.5f64.powi(30)) / 0.5;
        let got = peak_loop(n, m, c) as f64;
        assert!(
            (got - 2.0 * PEAK_CHAINS as f64 * exact).abs() < 1e-5,
            "{got} vs {}",
            2.0 * PEAK_CHAINS as f64 * exact
        );
        let start = std::time::Instant::now();
        assert!(peak_gflops(3, 100_000, &|| start.elapsed().as_secs_f64()).unwrap() > 0.0);
    }

    #[test]
    fn peak_gflops_times_whole_groups_and_refuses_a_stopped_clock() {
        // A clock that advances 6 ms per reading: a group of 4 calls spans 4 readings past
        // its start, 24 ms ≥ 20 ms, so every group is 4 calls in 24 ms.
        let ticks = std::cell::Cell::new(0u32);
        let clock = || {
            ticks.set(ticks.get() + 1);
            0.006 * ticks.get() as f64
        };
        let iters = 1000;
        let got = peak_gflops(3, iters, &clock).unwrap();
        let expected = 2.0 * 4.0 * PEAK_CHAINS as f64 * iters as f64 * 4.0 / 0.024 / 1e9;
        assert!(
            (got - expected).abs() < 1e-9 * expected,
            "{got} vs {expected}"
        );
        assert_eq!(ticks.get(), 3 * 5);
        let err = peak_gflops(2, iters, &|| 1.0).unwrap_err();
        assert!(err.contains("did not advance"), "{err}");
        assert!(peak_gflops(0, iters, &clock).is_err());
    }

    /// `iterations` of the bench workload `cfg`, its rollouts shared with `workers` workers
    /// whose part one `ShareSimulator` plays; with `fail`, every second rollout's last share
    /// is lost (a failed worker) and reclaimed. Returns each iteration's loss, the network
    /// and the trajectories.
    fn bench_iterations(
        cfg: &BenchConfig,
        workers: usize,
        iterations: usize,
        fail: bool,
    ) -> (Vec<u64>, Vec<f32>, Vec<f32>) {
        let start = std::time::Instant::now();
        let now = || start.elapsed().as_secs_f64();
        let mut bench = BenchSampler::new(cfg).unwrap();
        let mut sharing = RolloutSharing::default();
        sharing.set_workers(workers);
        let mut worker = crate::shared_rollout::ShareSimulator::for_bench(cfg).unwrap();
        let mut losses = Vec::new();
        for i in 0..iterations {
            let out = bench.begin_rollout(&mut sharing).unwrap();
            assert_eq!(
                out.len(),
                workers.min(RolloutSharing::blocks(&mut bench.sampler) - 1)
            );
            bench.advance_home();
            let lost = usize::from(fail && i % 2 == 1 && !out.is_empty());
            for m in &out[..out.len() - lost] {
                worker.run(&m.params, &m.seeds, &m.x0).unwrap();
                let (id, from) = (m.share.id, m.share.from);
                let (x, lr) = (worker.x(), worker.log_ratio());
                assert!(sharing.accept(&mut bench.sampler, id, from, x, lr).unwrap());
            }
            if lost > 0 {
                // The iteration cannot finish with a share out; reclaimed, it can.
                assert!(bench.finish_iteration(&mut sharing, &now).is_err());
                sharing.reclaim(&mut bench.sampler);
            }
            let (_, _, loss) = bench.finish_iteration(&mut sharing, &now).unwrap();
            losses.push(loss.to_bits());
        }
        let net = bench.sampler.network().params().to_vec();
        (
            losses,
            net,
            Sampler::observe(&bench.sampler)
                .trajectories
                .values
                .to_vec(),
        )
    }

    #[test]
    fn iterations_with_the_rollout_shared_out_equal_whole_ones_bit_for_bit() {
        // What the bench page does with its Web Workers, against `timed_iteration`.
        let mut cfg = BenchConfig::preset("browser").unwrap();
        for (f, v) in [("paths", "600"), ("steps", "12"), ("inner", "2")] {
            cfg.set(f, v).unwrap();
        }
        let start = std::time::Instant::now();
        let now = || start.elapsed().as_secs_f64();
        let mut whole = BenchSampler::new(&cfg).unwrap();
        let losses: Vec<u64> = (0..4)
            .map(|_| whole.timed_iteration(&now).unwrap().1.to_bits())
            .collect();
        let want = (
            losses,
            whole.sampler.network().params().to_vec(),
            Sampler::observe(&whole.sampler)
                .trajectories
                .values
                .to_vec(),
        );
        assert_eq!(bench_iterations(&cfg, 0, 4, false), want);
        for workers in [1, 2, 5] {
            assert_eq!(bench_iterations(&cfg, workers, 4, false), want, "{workers}");
            assert_eq!(bench_iterations(&cfg, workers, 4, true), want, "{workers}");
        }
    }

    #[test]
    fn macs_match_the_reference_counts() {
        // Seed: 8·128 + 3·128² + 128·2 = 50432 forward; backward 2·fwd − 8·128.
        assert_eq!(mlp_macs(8, 128, 2, 4), (50_432, 99_840));
        // Browser: 8·64 + 2·64² + 64·2 = 8832.
        assert_eq!(mlp_macs(8, 64, 2, 3), (8_832, 17_152));
    }

    #[test]
    fn a_tiny_workload_runs_and_reports_every_field() {
        let mut cfg = BenchConfig::preset("browser").unwrap();
        for (f, v) in [
            ("paths", "16"),
            ("steps", "5"),
            ("inner", "2"),
            ("epochs", "3"),
        ] {
            cfg.set(f, v).unwrap();
        }
        let start = std::time::Instant::now();
        let out = run(&cfg, &|| start.elapsed().as_secs_f64()).unwrap();
        for k in ["rollout", "target", "train", "total"] {
            let t = out["s_per_epoch_median"][k].as_f64().unwrap();
            assert!(t >= 0.0, "{k}");
        }
        assert_eq!(out["config"]["em_updates"], 4);
        assert!(out["last_train_loss"].as_f64().unwrap().is_finite());
        assert!(cfg.set("nonsense", "1").is_err());
        // The browser workload runs the page's fast GELU, the seed workload exact GELU.
        assert_eq!(
            cfg.playground_config().unwrap().activation,
            Activation::GeluFast
        );
        let seed = BenchConfig::preset("seed").unwrap();
        assert_eq!(
            seed.playground_config().unwrap().activation,
            Activation::Gelu
        );
        cfg.set("activation", "gelu").unwrap();
        assert_eq!(
            cfg.playground_config().unwrap().activation,
            Activation::Gelu
        );
        assert!(cfg.set("activation", "tanh").is_err());
        assert!(BenchConfig::preset("huge").is_err());
    }
}
