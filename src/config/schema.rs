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
    // 2^53 − 1: the largest whole number a link's JavaScript holds exactly.
    int("seed", 0, (1 << 53) - 1, "Seed", "seeds every random draw of the run"),
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

/// The message for a key the schema does not have: the key (shortened) and the nearest
/// known one when it looks like a typo, not the whole list (`playground list` has it).
pub fn unknown_key(key: &str) -> String {
    let shown = shorten(&Value::from(key));
    let nearest = SETTINGS
        .iter()
        .map(|s| (edit_distance(key, s.key), s.key))
        .min()
        .filter(|&(d, _)| d <= 2);
    match nearest {
        Some((_, known)) => format!("unknown setting {shown}; did you mean \"{known}\"?"),
        None => format!("unknown setting {shown}"),
    }
}

/// Levenshtein distance, in characters (keys are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// The schema row of `key`.
pub fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// A value as the user wrote it, cut to 40 characters so a long one does not fill a message.
pub fn shorten(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

impl Setting {
    /// What this key takes, in words, for a value of the wrong type.
    pub fn expected(&self, value: &Value) -> String {
        let key = self.key;
        let got = shorten(value);
        match self.kind {
            Kind::Int { min, max, step: 2 } => {
                format!("{key} must be an even number between {min} and {max}, got {got}")
            }
            Kind::Int { min, max, .. } => {
                format!("{key} must be a whole number between {min} and {max}, got {got}")
            }
            Kind::Number { positive: true, .. } => {
                format!("{key} must be a positive number, got {got}")
            }
            Kind::Number { min, .. } => {
                format!("{key} must be a number of at least {min}, got {got}")
            }
            Kind::Bool => format!("{key} must be true or false, got {got}"),
            Kind::Enum { values } if !values.is_empty() => {
                format!("{key} must be one of {}, got {got}", values.join(", "))
            }
            Kind::Enum { .. } | Kind::Text => format!("{key} must be a name or text, got {got}"),
            Kind::Energy => format!("{key} must be a target's name or a JSON object, got {got}"),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_speak_of_the_setting_not_of_serde() {
        let paths = setting("paths").unwrap();
        assert_eq!(
            paths.expected(&json!(-3)),
            "paths must be a whole number between 1 and 200000, got -3"
        );
        assert_eq!(
            setting("whiten").unwrap().expected(&json!("yes")),
            "whiten must be true or false, got \"yes\""
        );
        assert!(setting("activation")
            .unwrap()
            .expected(&json!(1))
            .contains("gelu-fast"));
        let long = "x".repeat(500);
        let msg = setting("lr").unwrap().expected(&json!(long));
        assert!(msg.len() < 100, "{msg}");
    }

    #[test]
    fn an_unknown_key_names_the_nearest_known_one_and_is_shortened() {
        assert_eq!(
            unknown_key("pathz"),
            "unknown setting \"pathz\"; did you mean \"paths\"?"
        );
        assert_eq!(unknown_key("colour"), "unknown setting \"colour\"");
        let msg = unknown_key(&"k".repeat(10_000));
        assert!(msg.chars().count() < 70, "{msg}");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }

    #[test]
    fn every_int_range_is_checked_at_both_ends() {
        for s in SETTINGS {
            if let Kind::Int { min, max, step } = s.kind {
                assert!(s.check(&json!(min)).is_ok(), "{}", s.key);
                assert!(s.check(&json!(max - max % step)).is_ok(), "{}", s.key);
                if min > 0 {
                    assert!(s.check(&json!(min - 1)).is_err(), "{}", s.key);
                }
                if max < u64::MAX {
                    assert!(s.check(&json!(max + 1)).is_err(), "{}", s.key);
                }
            }
        }
    }
}
