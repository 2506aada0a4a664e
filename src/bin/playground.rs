//! The command line: the playground's core, headless.
//!
//!   playground train --sampler adjoint --energy seed-gmm --preset seed --seed 1
//!
//! Progress goes to stderr; the last line on stdout is one JSON object.

use boltzmann_playground::bench::BenchConfig;
use boltzmann_playground::config::{Config, SAMPLERS};
use boltzmann_playground::energy::{EnergySpec, CATALOG};
use boltzmann_playground::run::Run;
use serde_json::{Map, Value};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "\
usage:
  playground train --sampler adjoint|asbs|ddpm --energy NAME|JSON [--preset browser|seed]
                   [--iters N] [--seed S] [--samples N] [--SETTING VALUE ...]
                   [--source point|seed|normal:MEAN,STD] [--sigma geometric|constant:S]
  playground bench [--preset default|browser] [--paths N --steps S --hidden H --layers L
                   --batch B --inner I --epochs E --warmup W --seed S]
                                     one Adjoint Sampling iteration timed by phase, as
                                     shared/bench/torch_reference.py (JSON on stdout)
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
        Some("list") => {
            list();
            Ok(())
        }
        Some("--help") | Some("-h") | Some("help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command \"{other}\"\n\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

fn list() {
    println!("targets (--energy):");
    for (name, about) in CATALOG {
        println!("  {name:<14} {about}");
    }
    println!(
        "  {:<14} a Gaussian mixture given as JSON (see --help)",
        "{\"gmm\": …}"
    );
    println!("samplers (--sampler):");
    for (name, about) in SAMPLERS {
        println!("  {name:<14} {about}");
    }
    println!("presets (--preset) and their settings:");
    for preset in boltzmann_playground::config::Preset::ALL {
        for (sampler, _) in SAMPLERS {
            let c = Config::preset_for(preset, sampler);
            println!(
                "  {:<14} {}",
                format!("{} {sampler}", preset.name()),
                serde_json::to_string(&c).expect("serializable")
            );
        }
    }
}

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
