//! The settings schema: every configuration key once, with its kind, its accepted range, its
//! label and a line of help. The configuration's checks, the page's controls and its link
//! parser (through the facade's `settings()`) and the command line's `list` all read it, so
//! a range is written in one place.
//!
//! Which sampler reads which key is the sampler registry's business
//! ([`crate::sampler::registry`]); this table says what a key means and which values it takes.

use serde::Serialize;
use serde_json::Value;

/// What a key holds and which values are accepted.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Kind {
    /// A whole number in [min, max] that is a multiple of `step` (1: any).
    Int {
        min: u64,
        max: u64,
        step: u64,
    },
    /// A finite number ≥ `min` (`positive`: > 0).
    Number {
        min: f64,
        positive: bool,
    },
    Bool,
    /// One of `values`.
    Enum {
        values: &'static [&'static str],
    },
    /// A catalog name, a sized catalog name ("manywell:8") or a custom energy's JSON.
    Energy,
    /// Free text with its own grammar (`sigma`, `source`), checked where it is parsed.
    Text,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Setting {
    pub key: &'static str,
    #[serde(flatten)]
    pub kind: Kind,
    pub label: &'static str,
    pub help: &'static str,
}

const fn int(
    key: &'static str,
    min: u64,
    max: u64,
    label: &'static str,
    help: &'static str,
) -> Setting {
    Setting {
        key,
        kind: Kind::Int { min, max, step: 1 },
        label,
        help,
    }
}

const fn positive(key: &'static str, label: &'static str, help: &'static str) -> Setting {
    Setting {
        key,
        kind: Kind::Number {
            min: 0.0,
            positive: true,
        },
        label,
        help,
    }
}

const fn flag(key: &'static str, label: &'static str, help: &'static str) -> Setting {
    Setting {
        key,
        kind: Kind::Bool,
        label,
        help,
    }
}

/// Every key of [`super::Config`], in the link's order.
#[rustfmt::skip]
pub const SETTINGS: &[Setting] = &[
    Setting { key: "sampler", kind: Kind::Enum { values: &[] }, label: "Method", help: "the sampler (see `playground list`)" },
    Setting { key: "energy", kind: Kind::Energy, label: "Distribution", help: "a catalog target, a sized one such as manywell:8, or a custom mixture or formula as JSON" },
    int("seed", 0, u64::MAX, "Seed", "seeds every random draw of the run"),
    Setting { key: "preset", kind: Kind::Enum { values: &["browser", "seed", "paper"] }, label: "Preset", help: "the defaults every setting not given takes" },
    positive("temperature", "Temperature τ", "τ in ν ∝ exp(−E/τ)"),
    flag("whiten", "Whiten", "sample in PCA-whitened coordinates (metrics stay in the original ones)"),
    int("paths", 1, 200_000, "Paths N", "paths (or chains) simulated per outer iteration"),
    int("steps", 1, 10_000, "SDE steps S", "time steps from t = 0 to t = 1"),
    int("inner_steps", 1, 100_000, "Gradient steps / iter L", "gradient steps per outer iteration"),
    int("batch", 1, 100_000, "Batch B", "rows (or trajectories) of a gradient step"),
    int("buffer_capacity", 1, 10_000_000, "Replay buffer", "rows the replay buffer keeps; GFlowNet local search: the capacity of D and of D_LS"),
    flag("weighted_replay", "Weighted replay", "draw replay rows in proportion to their paths' importance weights (not in the papers)"),
    int("paths_per_source", 1, 1024, "Paths per source draw", "ASBS with weighted replay: paths started from each source draw, weights normalized within the group"),
    positive("lr", "Learning rate", "Adam's learning rate"),
    int("hidden", 1, 2048, "Width", "units per hidden layer"),
    int("layers", 1, 16, "Depth", "hidden layers"),
    Setting { key: "activation", kind: Kind::Enum { values: &["gelu", "gelu-fast", "silu", "relu"] }, label: "Activation", help: "hidden-layer nonlinearity; gelu-fast is GELU with a rational erf" },
    positive("clip", "Adjoint clip c", "per-sample clip of the adjoint's energy gradient"),
    positive("sigma_min", "σ_min", "the geometric base process's smallest noise scale"),
    positive("sigma_max", "σ_max", "the geometric base process's largest noise scale"),
    Setting { key: "sigma", kind: Kind::Text, label: "Base σ", help: "geometric or constant:S" },
    Setting { key: "source", kind: Kind::Text, label: "Source μ", help: "point, seed or normal:MEAN,STD" },
    int("stages", 1, 10_000, "Stages K", "ASBS: alternations of adjoint and corrector matching"),
    int("adjoint_iters", 1, 1_000_000, "Adjoint iters", "ASBS: adjoint-matching iterations per stage"),
    int("corrector_iters", 1, 1_000_000, "Corrector iters", "ASBS: corrector-matching iterations per stage"),
    positive("sigma_q", "σ_q", "DDPM: noise scale of the forward process"),
    int("iters", 1, 10_000_000, "Iterations", "outer iterations of a command-line run; GFlowNet exploration decays to 0 over the first half"),
    positive("t_scale", "Base variance σ²", "GFlowNet samplers: variance of the discretized base process"),
    Setting { key: "explore", kind: Kind::Number { min: 0.0, positive: false }, label: "Exploration ε₀", help: "extra sampling noise, decayed linearly to 0 over the first half of the iterations" },
    flag("langevin", "Langevin parametrization (LP)", "μ = NN₁(x, t) + NN₂(t)·clip(∇log R(x))"),
    flag("local_search", "Local search (LS)", "rank-prioritized replay buffer D, MALA, backward paths from the accepted proposals D_LS"),
    flag("learned_variance", "Learned variance", "ℓ = 4·tanh(ℓ_raw) + log σ²"),
    positive("lr_log_z", "lr of log Z", "TB: learning rate of the scalar log Z"),
    Setting { key: "ls_every", kind: Kind::Int { min: 2, max: 1_000_000, step: 2 }, label: "LS every", help: "a local search starts on odd iterations it with it % ls_every = 1" },
];

/// The schema row of `key`.
pub fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

impl Setting {
    /// Checks a value of this key against its range; the message names the key. Kinds
    /// with their own grammar (energy, text, enum) are checked where they are parsed.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        let key = self.key;
        match self.kind {
            Kind::Int { min, max, step } => {
                let v = value.as_u64().unwrap_or(0);
                if v < min || v > max || !v.is_multiple_of(step) {
                    return Err(if step == 1 {
                        format!("{key} must be between {min} and {max}, got {value}")
                    } else {
                        // Only ls_every has a step: local search starts on odd iterations
                        // with it % ls_every == 1, which recurs regularly for an even period.
                        format!("{key} must be an even number between {min} and {max}, got {value}")
                    });
                }
            }
            Kind::Number { min, positive } => {
                let v = value.as_f64().unwrap_or(f64::NAN);
                let ok = v.is_finite() && if positive { v > min } else { v >= min };
                if !ok {
                    return Err(if positive {
                        format!("{key} must be a positive number, got {v}")
                    } else {
                        format!("{key} must be {min} or more, got {v}")
                    });
                }
            }
            Kind::Bool | Kind::Enum { .. } | Kind::Energy | Kind::Text => {}
        }
        Ok(())
    }
}

/// The schema as JSON for the page: each row with its kind's fields inline, and the
/// sampler key's values filled from the registry.
pub fn to_json() -> Value {
    let rows = SETTINGS
        .iter()
        .map(|s| {
            let mut row = serde_json::to_value(s).expect("a setting serializes");
            if s.key == "sampler" {
                row["values"] = crate::sampler::registry::names().collect();
            }
            // A JavaScript number holds whole numbers exactly up to 2^53 − 1, and the facade's
            // serializer refuses larger ones (the seed's u64::MAX made settings() throw).
            const JS_MAX: u64 = (1 << 53) - 1;
            if row
                .get("max")
                .and_then(Value::as_u64)
                .is_some_and(|max| max > JS_MAX)
            {
                row["max"] = JS_MAX.into();
            }
            row
        })
        .collect();
    Value::Array(rows)
}
