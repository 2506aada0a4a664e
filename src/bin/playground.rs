//! The command line: the playground's core, headless.
//!
//!   playground train --sampler adjoint --energy seed-gmm --preset seed --seed 1
//!
//! Progress goes to stderr; the last line on stdout is one JSON object.

use boltzmann_playground::bench::BenchConfig;
use boltzmann_playground::config::schema::{Kind, SETTINGS};
use boltzmann_playground::config::Config;
use boltzmann_playground::energy::{EnergySpec, CATALOG};
use boltzmann_playground::run::Run;
use boltzmann_playground::sampler::registry;
use serde_json::{Map, Value};
use std::process::ExitCode;
use std::time::Instant;

/// The usage text; `{samplers}` stands for the registry's names.
const USAGE: &str = "\
usage:
  playground train --sampler {samplers}
                   --energy NAME|JSON [--preset browser|seed|paper]
                   [--explore EPS] [--langevin] [--local-search] [--learned-variance]
                   [--iters N] [--seed S] [--samples N] [--SETTING VALUE ...]
                   [--source point|seed|normal:MEAN,STD] [--sigma geometric|constant:S]
  playground bench [--preset default|browser] [--paths N --steps S --hidden H --layers L
                   --batch B --inner I --epochs E --warmup W --seed S --activation A]
                                     one Adjoint Sampling iteration timed by phase, as
                                     shared/bench/torch_reference.py (JSON on stdout)
  playground reproduce --table 1 --energy gmm25|manywell [--seeds N] [--iters N]
                   [--out FILE] [--SETTING VALUE ...]
                                     the rows of Sendera et al.'s Table 1 (docs/methods.md §8)
                                     over seeds 1..N (default 5), paper preset; --iters
                                     replaces the paper's 25k (10k with LP); a Markdown
                                     table of ours vs the paper's mean ± std
  playground list                    targets, samplers, presets and settings
  playground --help

Every configuration setting can be given as --setting value (dashes or underscores),
e.g. --paths 512 --steps 100 --lr 1e-3 --whiten false --temperature 2.
A custom energy is JSON, e.g.
  --energy '{\"gmm\": {\"weights\": [0.3, 0.7], \"means\": [[-3, 0], [3, 1]], \"covs\": [[[1, 0], [0, 1]], [[0.5, 0], [0, 2]]]}}'
or a formula E(x, y) (or E(x) with one window interval) on a window [lo, hi] per axis, e.g.
  --energy '{\"formula\": {\"energy\": \"(x^2-4)^2 + 0.5*y^2\", \"window\": [[-3, 3], [-3, 3]]}}'
Each preset has per-sampler defaults (e.g. --sampler asbs --preset browser is the 1-D
showcase: gmm1d-demo, source normal:0,1, sigma constant:0.3). ASBS runs --stages K of
--adjoint-iters then --corrector-iters iterations; DDPM uses --steps as T and --sigma-q.
The last line of stdout is a JSON object with the run's metrics (log Z fields are null
for DDPM; w1 and tv are set for 1-D targets).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("train") => train(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("reproduce") => reproduce(&args[1..]),
        Some("list") => {
            list();
            Ok(())
        }
        Some("--help") | Some("-h") | Some("help") => {
            println!("{}", usage());
            Ok(())
        }
        Some(other) => Err(format!("unknown command \"{other}\"\n\n{}", usage())),
        None => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

fn usage() -> String {
    USAGE.replace(
        "{samplers}",
        &registry::names().collect::<Vec<_>>().join("|"),
    )
}

fn list() {
    println!("targets (--energy):");
    for row in CATALOG {
        println!("  {:<14} {}", row.name, row.description);
    }
    println!(
        "  {:<14} a Gaussian mixture given as JSON (see --help)",
        "{\"gmm\": …}"
    );
    println!("samplers (--sampler):");
    for info in registry::infos() {
        println!("  {:<14} {}", info.name, info.description);
        println!("  {:<14} reads: {}", "", info.settings.join(", "));
    }
    println!("settings (--setting value):");
    for s in SETTINGS {
        let range = match s.kind {
            Kind::Int { min, max, .. } => format!(" [{min}, {max}]"),
            Kind::Number { positive: true, .. } => " (> 0)".to_string(),
            Kind::Number { min, .. } => format!(" (≥ {min})"),
            Kind::Enum { values } if !values.is_empty() => format!(" ({})", values.join("|")),
            _ => String::new(),
        };
        println!("  {:<18} {}{range}: {}", s.key, s.label, s.help);
    }
    println!("presets (--preset) and their settings:");
    for preset in boltzmann_playground::config::Preset::ALL {
        for sampler in registry::names() {
            let c = Config::preset_for(preset, sampler);
            println!(
                "  {:<14} {}",
                format!("{} {sampler}", preset.name()),
                serde_json::to_string(&c).expect("serializable")
            );
        }
    }
}

/// Settings that may be given as a bare switch.
const BOOLEAN_FLAGS: &[&str] = &["langevin", "local_search", "learned_variance", "whiten"];

/// Reads `--key value` pairs into a partial configuration plus the command's own options.
fn parse_settings(args: &[String]) -> Result<(Map<String, Value>, usize), String> {
    let mut settings = Map::new();
    let mut samples = 20_000;
    let mut i = 0;
    while i < args.len() {
        let flag = &args[i];
        let Some(key) = flag.strip_prefix("--") else {
            return Err(format!("expected --setting, got \"{flag}\""));
        };
        let key_ = key.replace('-', "_");
        if BOOLEAN_FLAGS.contains(&key_.as_str())
            && args.get(i + 1).is_none_or(|v| v.starts_with("--"))
        {
            // A switch given alone: --langevin means --langevin true.
            settings.insert(key_, Value::Bool(true));
            i += 1;
            continue;
        }
        let value = args
            .get(i + 1)
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let key = key.replace('-', "_");
        match key.as_str() {
            "samples" => {
                samples = value.parse().ok().filter(|&n| n >= 100).ok_or_else(|| {
                    format!("--samples must be an integer ≥ 100, got \"{value}\"")
                })?;
            }
            "energy" => {
                let spec = EnergySpec::parse(value).map_err(|e| format!("--energy: {e}"))?;
                settings.insert(key, serde_json::to_value(spec).expect("serializable"));
            }
            _ => {
                // Numbers and booleans as JSON, anything else as a string; Config names
                // the setting if the type is wrong.
                let v = serde_json::from_str::<Value>(value)
                    .ok()
                    .filter(|v| v.is_number() || v.is_boolean())
                    .unwrap_or_else(|| Value::String(value.clone()));
                settings.insert(key, v);
            }
        }
        i += 2;
    }
    Ok((settings, samples))
}

/// The reference script's flags over its preset; `--threads` is accepted and ignored
/// (the rollout uses every core; PLAYGROUND_THREADS=1 forces one).
fn bench(args: &[String]) -> Result<(), String> {
    let mut preset = "default".to_string();
    let mut flags = Vec::new();
    for pair in args.chunks(2) {
        let flag = pair[0]
            .strip_prefix("--")
            .ok_or_else(|| format!("expected --flag, got \"{}\"", pair[0]))?;
        let value = pair
            .get(1)
            .ok_or_else(|| format!("--{flag} needs a value"))?;
        match flag {
            "preset" => preset = value.clone(),
            "threads" => {}
            _ => flags.push((flag.to_string(), value.clone())),
        }
    }
    let mut cfg = BenchConfig::preset(&preset)?;
    for (flag, value) in &flags {
        cfg.set(flag, value)?;
    }
    let start = Instant::now();
    let out = boltzmann_playground::bench::run(&cfg, &|| start.elapsed().as_secs_f64())?;
    println!("{out}");
    Ok(())
}

fn train(args: &[String]) -> Result<(), String> {
    let (settings, samples) = parse_settings(args)?;
    let config = Config::from_partial(&Value::Object(settings))?;
    let iters = config.iters;
    let start = Instant::now();
    let mut run = Run::new(config)?;
    eprintln!(
        "training {} on {} ({} preset, seed {}), {} iterations; log Z = {:.4}",
        run.config.sampler,
        run.config.energy.name(),
        run.config.preset.name(),
        run.config.seed,
        iters,
        run.log_z_true()
    );
    let every = (iters / 20).max(1);
    run.run_iterations(iters, |m| {
        if m.iteration % every == 0 || m.iteration == iters {
            let f = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.4}"));
            eprintln!(
                "iter {:>6}  loss {:>10.4}  log Ẑ {:>8}  log Ẑ_RW {:>8}  ESS {:>6}  x̄ {:+.3}  sd(x) {:.3}  {:>7.1} s",
                m.iteration,
                m.loss,
                f(m.log_z_elbo),
                f(m.log_z_iw),
                f(m.ess),
                m.x_mean,
                m.x_std,
                start.elapsed().as_secs_f64()
            );
        }
    })?;
    let train_seconds = start.elapsed().as_secs_f64();
    eprintln!("evaluating on {samples} samples …");
    let mut report = run.report(samples, 2000, 2000);
    report.seconds = train_seconds;
    println!(
        "{}",
        serde_json::to_string(&report).expect("the report serializes")
    );
    Ok(())
}

/// One row of Table 1: a label, its sampler and modifiers, and the paper's
/// (Δlog Z, Δlog Z^RW, W2) as (mean, std).
struct PaperRow {
    label: &'static str,
    sampler: &'static str,
    explore: f64,
    local_search: bool,
    langevin: bool,
    paper: [(f64, f64); 3],
}

const fn row(
    label: &'static str,
    sampler: &'static str,
    explore: f64,
    local_search: bool,
    langevin: bool,
    paper: [(f64, f64); 3],
) -> PaperRow {
    PaperRow {
        label,
        sampler,
        explore,
        local_search,
        langevin,
        paper,
    }
}

/// Table 1's rows (docs/methods.md §8); Expl is ε_0 = 0.2, or 0.1 with local search (§5).
const GMM25_ROWS: &[PaperRow] = &[
    row(
        "TB",
        "tb",
        0.0,
        false,
        false,
        [(1.176, 0.109), (1.071, 0.112), (4.83, 0.45)],
    ),
    row(
        "TB + Expl",
        "tb",
        0.2,
        false,
        false,
        [(0.560, 0.302), (0.422, 0.320), (3.61, 1.41)],
    ),
    row(
        "VarGrad + Expl",
        "vargrad",
        0.2,
        false,
        false,
        [(0.615, 0.241), (0.487, 0.250), (3.89, 0.85)],
    ),
    row(
        "FL-SubTB",
        "fl-subtb",
        0.0,
        false,
        false,
        [(1.127, 0.010), (1.020, 0.010), (4.64, 0.09)],
    ),
    row(
        "PIS",
        "pis",
        0.0,
        false,
        false,
        [(1.769, 0.104), (1.274, 0.218), (6.37, 0.65)],
    ),
    row(
        "TB + Expl + LS",
        "tb",
        0.1,
        true,
        false,
        [(0.171, 0.013), (0.004, 0.011), (1.25, 0.18)],
    ),
    row(
        "TB + Expl + LP",
        "tb",
        0.2,
        false,
        true,
        [(0.206, 0.018), (0.011, 0.010), (1.29, 0.07)],
    ),
    row(
        "TB + Expl + LP + LS",
        "tb",
        0.1,
        true,
        true,
        [(0.190, 0.013), (0.007, 0.011), (1.31, 0.07)],
    ),
];

const MANYWELL_ROWS: &[PaperRow] = &[
    row(
        "TB",
        "tb",
        0.0,
        false,
        false,
        [(4.01, 0.04), (2.67, 0.02), (6.14, 0.02)],
    ),
    row(
        "TB + Expl + LS",
        "tb",
        0.1,
        true,
        false,
        [(4.57, 2.13), (0.19, 0.29), (5.66, 0.05)],
    ),
    row(
        "TB + Expl + LP + LS",
        "tb",
        0.1,
        true,
        true,
        [(4.68, 0.49), (0.07, 0.17), (5.33, 0.03)],
    ),
    row(
        "VarGrad + Expl + LP + LS",
        "vargrad",
        0.1,
        true,
        true,
        [(4.11, 0.45), (0.02, 0.21), (5.30, 0.02)],
    ),
];

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, var.sqrt())
}

/// `playground reproduce --table 1 --energy gmm25`: the paper's rows over seeds.
fn reproduce(args: &[String]) -> Result<(), String> {
    let (mut settings, _) = parse_settings(args)?;
    let mut take = |key: &str| settings.remove(key);
    let table = take("table").map_or("1".to_string(), |v| v.to_string());
    if table.trim_matches('"') != "1" {
        return Err(format!("--table: only Table 1 is known, got {table}"));
    }
    let energy = take("energy").ok_or("--energy is required (gmm25 or manywell)")?;
    let energy_name = energy.as_str().unwrap_or_default().to_string();
    let rows = match energy_name.as_str() {
        "gmm25" => GMM25_ROWS,
        "manywell" | "manywell:32" => MANYWELL_ROWS,
        other => {
            return Err(format!(
                "--energy: Table 1 rows exist for gmm25 and manywell, got \"{other}\""
            ))
        }
    };
    let seeds = match take("seeds") {
        None => 5,
        Some(v) => {
            v.as_u64()
                .filter(|&n| n >= 1)
                .ok_or(format!("--seeds must be a positive integer, got {v}"))? as usize
        }
    };
    let iters = match take("iters") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|&n| n >= 1)
                .ok_or(format!("--iters must be a positive integer, got {v}"))?
                as usize,
        ),
    };
    let out = take("out").map(|v| v.as_str().unwrap_or_default().to_string());
    let extra = settings;
    let lines: Vec<String> = Vec::new();
    let per_iteration: Vec<f64> = Vec::new();
    let write = |lines: &[String], per_iteration: &[f64], last: bool| -> Result<(), String> {
        let iters_text = match iters {
            Some(n) => format!("{n} iterations per run (the paper: 25,000, or 10,000 with LP)"),
            None => "the paper's 25,000 iterations per run (10,000 with LP)".into(),
        };
        let extra_text = if extra.is_empty() {
            String::new()
        } else {
            format!("; overrides {}", Value::Object(extra.clone()))
        };
        let (spi, _) = mean_std(per_iteration);
        let mut text = format!(
            "# Table 1 of Sendera et al. (2024) on {energy_name}: ours vs the paper\n\n\
             Command: `playground reproduce {}`. Paper preset (T 100, batch 300, hidden 64 × 3 \
             GELU, Adam 1e-3 and 0.1 for log Z, σ² per target, ε 0.2 or 0.1 with local search) \
             with {iters_text}{extra_text}; seeds 1..{seeds}, mean ± sample std. Δlog Z = log Z − \
             log Ẑ and Δlog Z^RW = log Z − log Ẑ^RW from 2000 fresh trajectories without \
             exploration; W2 exact OT on 2000 vs 2000 points (two perfect sets give ≈ 1.09 on \
             25GMM). Seconds are wall-clock per run on this machine (2 cores shared), \
             {spi:.3} s per iteration on average.\n\n\
             | Method | Δlog Z (ours) | Δlog Z (paper) | Δlog Z^RW (ours) | Δlog Z^RW (paper) | W2 (ours) | W2 (paper) | s / run |\n\
             |---|---|---|---|---|---|---|---|\n",
            args.join(" ")
        );
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        match &out {
            Some(path) => std::fs::write(path, &text).map_err(|e| format!("--out {path}: {e}")),
            None if last => {
                print!("{text}");
                Ok(())
            }
            None => Ok(()),
        }
    };
    // Runs go to `workers` threads (PLAYGROUND_THREADS, else the cores), one run each at a
    // time; a row's line is written once all its seeds are done.
    let jobs: Vec<(usize, u64)> = (0..rows.len())
        .flat_map(|r| (1..=seeds as u64).map(move |s| (r, s)))
        .collect();
    let workers = std::env::var("PLAYGROUND_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, jobs.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![Vec::<[f64; 4]>::new(); rows.len()]);
    let progress = std::sync::Mutex::new((lines, per_iteration, vec![false; rows.len()]));
    let run_one = |r: &PaperRow, seed: u64| -> Result<([f64; 4], usize), String> {
        let mut partial = Map::new();
        partial.insert("preset".into(), Value::String("paper".into()));
        partial.insert("sampler".into(), Value::String(r.sampler.into()));
        partial.insert("energy".into(), energy.clone());
        partial.insert("seed".into(), seed.into());
        partial.insert("explore".into(), r.explore.into());
        partial.insert("local_search".into(), r.local_search.into());
        partial.insert("langevin".into(), r.langevin.into());
        if let Some(n) = iters {
            partial.insert("iters".into(), n.into());
        }
        for (k, v) in &extra {
            partial.insert(k.clone(), v.clone());
        }
        let config = Config::from_partial(&Value::Object(partial))?;
        let n = config.iters;
        let start = Instant::now();
        let mut run = Run::new(config)?;
        run.run_iterations(n, |_| {})?;
        let seconds = start.elapsed().as_secs_f64();
        let rep = run.report(2000, 2000, 2000);
        let truth = rep.log_z_true.unwrap_or(f64::NAN);
        let d_elbo = truth - rep.log_z_elbo.unwrap_or(f64::NAN);
        let d_rw = truth - rep.log_z_iw.unwrap_or(f64::NAN);
        eprintln!(
            "{:<26} seed {seed}: {n} iterations in {seconds:.1} s; Δlog Z {d_elbo:.3}, Δlog Z^RW {d_rw:.3}, W2 {:.3} (floor {:.3}), modes {:.2}",
            r.label, rep.w2, rep.w2_floor, rep.mode_coverage
        );
        Ok(([d_elbo, d_rw, rep.w2, seconds], n))
    };
    let fmt = |(m, s): (f64, f64)| format!("{m:.3} ± {s:.3}");
    let outcome: Result<(), String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> Result<(), String> {
                    loop {
                        let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&(ri, seed)) = jobs.get(j) else {
                            return Ok(());
                        };
                        let (res, n) = run_one(&rows[ri], seed)?;
                        let mut all = results.lock().expect("results");
                        all[ri].push(res);
                        let mut p = progress.lock().expect("progress");
                        p.1.push(res[3] / n as f64);
                        if all[ri].len() == seeds {
                            p.2[ri] = true;
                            // Lines in table order, for the rows finished so far.
                            let mut lines = Vec::new();
                            for (k, r) in rows.iter().enumerate() {
                                if !p.2[k] {
                                    continue;
                                }
                                let col = |c: usize| {
                                    mean_std(&all[k].iter().map(|x| x[c]).collect::<Vec<_>>())
                                };
                                lines.push(format!(
                                    "| {} | {} | {} | {} | {} | {} | {} | {:.0} |",
                                    r.label,
                                    fmt(col(0)),
                                    fmt(r.paper[0]),
                                    fmt(col(1)),
                                    fmt(r.paper[1]),
                                    fmt(col(2)),
                                    fmt(r.paper[2]),
                                    col(3).0
                                ));
                            }
                            p.0 = lines;
                            write(&p.0, &p.1, false)?;
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("a reproduction worker panicked")?;
        }
        Ok(())
    });
    outcome?;
    let (lines, per_iteration, _) = progress.into_inner().expect("progress");
    write(&lines, &per_iteration, true)
}
