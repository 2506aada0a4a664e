//! One typed configuration shared by the page, its URL hash and the command line.
//!
//! A configuration is given as a partial JSON object: `preset` (default `browser`) supplies
//! every field, and the given fields override it. Unknown fields and invalid values are
//! errors that name the field; nothing is silently replaced by a default.

pub mod presets;
pub mod schema;

use crate::energy::EnergySpec;
use crate::nn::Activation;
use crate::sampler::registry::{self, Family, SamplerInfo};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The page's defaults: small enough to train live in a browser tab.
    Browser,
    /// The original toy repository's settings (docs/methods.md §2).
    Seed,
    /// Sendera et al.'s settings for the GFlowNet samplers (docs/methods.md §5): T 100, batch 300,
    /// 25k iterations (10k with LP), hidden 64, lr 1e-3 and 0.1 for log Z.
    Paper,
}

impl Preset {
    pub const ALL: [Preset; 3] = [Preset::Browser, Preset::Seed, Preset::Paper];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Browser => "browser",
            Preset::Seed => "seed",
            Preset::Paper => "paper",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub preset: Preset,
    pub sampler: String,
    pub energy: EnergySpec,
    pub seed: u64,
    /// τ in ν ∝ exp(−E/τ).
    pub temperature: f64,
    /// Sample in PCA-whitened coordinates (the original does for its GMM); metrics and
    /// drawings stay in the original coordinates.
    pub whiten: bool,
    /// N: paths simulated per outer iteration.
    pub paths: usize,
    /// S: Euler–Maruyama steps from t = 0 to t = 1.
    pub steps: usize,
    /// L: gradient steps per outer iteration.
    pub inner_steps: usize,
    /// B: minibatch size of a gradient step.
    pub batch: usize,
    pub buffer_capacity: usize,
    /// Adjoint Sampling and ASBS: draw replay rows in proportion to their paths' importance
    /// weights instead of uniformly, which makes the regression target the optimal control
    /// itself and keeps mode masses right; for ASBS also averages each stage's iterates
    /// (src/sampler/asbs.rs). Not in the papers; the `seed` preset keeps it off.
    pub weighted_replay: bool,
    /// ASBS with weighted replay: paths started from each draw of the source. A path's
    /// weight is divided by its group's mean weight, so that replayed rows follow the
    /// stage's optimal process itself, starts included (src/sampler/asbs.rs). 1 elsewhere.
    pub paths_per_source: usize,
    pub lr: f64,
    pub hidden: usize,
    /// Hidden layers (the original's num_hidden).
    pub layers: usize,
    pub activation: Activation,
    /// c in the per-sample adjoint clip.
    pub clip: f64,
    pub sigma_min: f64,
    /// Also MALA's: the chains start from N(0, sigma_max² I) in the sampler's coordinates.
    pub sigma_max: f64,
    /// Base process σ_t: "geometric" (σ_min, σ_max above) or "constant:S" (docs/methods.md §3).
    pub sigma: String,
    /// Source μ of X_0 in the sampler's coordinates: "point" (Dirac at 0), "seed" (the
    /// original's N([2,−1], diag(1.5, 0.5)), 2-D) or "normal:MEAN,STD" (isotropic).
    pub source: String,
    /// ASBS: K stages of `adjoint_iters` adjoint-matching then `corrector_iters`
    /// corrector-matching iterations (docs/methods.md §3).
    pub stages: usize,
    pub adjoint_iters: usize,
    pub corrector_iters: usize,
    /// DDPM: σ_q of the forward process x_{t+Δt} = x_t + N(0, σ_q²Δt) (docs/methods.md §4);
    /// `steps` is its T.
    pub sigma_q: f64,
    /// Outer iterations of a command-line run.
    pub iters: usize,
    /// GFlowNet samplers (docs/methods.md §5): base variance σ² of the discretized process.
    pub t_scale: f64,
    /// Exploration ε_0 (0 = none): extra sampling variance ε² per step, decayed linearly
    /// to 0 over the first half of `iters`.
    pub explore: f64,
    /// Langevin parametrization μ = NN1(x, t) + NN2(t)·clip(∇log R(x)).
    pub langevin: bool,
    /// Local search with replay (rank-prioritized buffer, MALA, backward trajectories).
    pub local_search: bool,
    /// Learned forward-policy variance ℓ = 4·tanh(ℓ_raw) + log σ².
    pub learned_variance: bool,
    /// Learning rate of TB's scalar log Z.
    pub lr_log_z: f64,
    /// Local search runs on odd iterations with it % ls_every == 1 (the paper: 100).
    pub ls_every: usize,
}

/// The paper's base variance σ² per target (docs/methods.md §5): 5 for the Gaussian grids
/// (25GMM; 9GMM's modes are as far apart), 1 for Funnel, Manywell and everything else.
pub fn default_t_scale(energy: &EnergySpec) -> f64 {
    match energy {
        EnergySpec::Named(n) if n == "gmm25" || n == "gmm9" => 5.0,
        _ => 1.0,
    }
}

/// The `browser` preset's σ²: 20 on 25GMM, whose few-thousand-iteration runs need a base
/// that reaches the outer modes (see [`Config::preset_for`]); the paper's elsewhere.
pub fn browser_t_scale(energy: &EnergySpec) -> f64 {
    match energy {
        EnergySpec::Named(n) if n == "gmm25" => 20.0,
        _ => default_t_scale(energy),
    }
}

impl Config {
    /// The preset's settings (see [`presets`]).
    pub fn preset(preset: Preset) -> Config {
        presets::preset(preset)
    }

    /// The preset's settings for one sampler (see [`presets`]).
    pub fn preset_for(preset: Preset, sampler: &str) -> Config {
        presets::preset_for(preset, sampler)
    }

    /// Every setting as one flat JSON object: the form the samplers read their typed
    /// settings from, and the link's and the command line's keys.
    pub fn flat(&self) -> Value {
        serde_json::to_value(self).expect("a Config serializes")
    }

    /// A sampler's typed settings (e.g. `AsbsSettings`) out of this configuration.
    pub fn settings<S: registry::FromFlat>(&self) -> S {
        registry::settings(&self.flat()).expect("a Config holds every sampler's settings")
    }

    /// The configured sampler on `energy` (the target in the sampler's coordinates).
    pub fn build_sampler(
        &self,
        energy: std::sync::Arc<dyn crate::energy::Energy>,
    ) -> Result<Box<dyn crate::sampler::Sampler>, String> {
        crate::sampler::build(&self.sampler, &self.flat(), energy)
    }

    /// The registry row of the configured sampler.
    pub fn sampler_info(&self) -> &'static SamplerInfo {
        registry::find(&self.sampler)
            .expect("a validated configuration names a registered sampler")
            .info
    }

    /// Builds a configuration from a partial JSON object over its preset.
    pub fn from_partial(partial: &Value) -> Result<Config, String> {
        let given = match partial {
            Value::Object(m) => m.clone(),
            Value::Null => Map::new(),
            other => return Err(format!("a configuration is a JSON object, got {other}")),
        };
        let preset = match given.get("preset") {
            None => Preset::Browser,
            Some(v) => serde_json::from_value::<Preset>(v.clone()).map_err(|_| {
                format!(
                    "preset: unknown value {v}; known: {}",
                    Preset::ALL.map(Preset::name).join(", ")
                )
            })?,
        };
        let sampler = match given.get("sampler") {
            None => Config::preset(preset).sampler,
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(format!("sampler: expected a name, got {other}")),
        };
        let base = Config::preset_for(preset, &sampler);
        let mut merged = match serde_json::to_value(&base) {
            Ok(Value::Object(m)) => m,
            _ => unreachable!("a Config serializes to an object"),
        };
        for (key, value) in &given {
            let Some(slot) = merged.get_mut(key) else {
                return Err(schema::unknown_key(key));
            };
            if key == "energy" {
                // Through EnergySpec::parse's rules, whose messages say what is wrong with a
                // mixture (serde's untagged enum would only say "did not match any variant").
                let spec = match value {
                    Value::String(name) => EnergySpec::parse(name),
                    Value::Object(_) => EnergySpec::parse(&value.to_string()),
                    other => Err(format!("expected a name or a JSON object, got {other}")),
                }
                .map_err(|e| format!("energy: {e}"))?;
                *slot = serde_json::to_value(spec).expect("serializable");
                continue;
            }
            *slot = value.clone();
        }
        let config: Config = serde_json::from_value(Value::Object(merged)).map_err(|e| {
            // Name the offending field: try each given value alone over the preset.
            let base = serde_json::to_value(&base).expect("serializable");
            for (key, value) in &given {
                let mut one = base.clone();
                one[key] = value.clone();
                if serde_json::from_value::<Config>(one).is_err() {
                    return schema::setting(key).map_or_else(
                        || format!("{key}: invalid value {}", schema::shorten(value)),
                        |s| s.expected(value),
                    );
                }
            }
            format!("invalid configuration: {e}")
        })?;
        let mut config = config;
        if registry::find(&config.sampler).is_ok_and(|e| e.info.family == Family::Gflownet) {
            // σ² follows the target unless given (docs/methods.md §5); the paper trains 10k
            // iterations with LP instead of 25k.
            if !given.contains_key("t_scale") {
                config.t_scale = if preset == Preset::Browser {
                    browser_t_scale(&config.energy)
                } else {
                    default_t_scale(&config.energy)
                };
            }
            if preset == Preset::Paper && config.langevin && !given.contains_key("iters") {
                config.iters = 10_000;
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Parses a configuration from JSON text (see [`Config::from_partial`]).
    pub fn from_json(text: &str) -> Result<Config, String> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| format!("configuration is not JSON: {e}"))?;
        Config::from_partial(&v)
    }

    /// The base process named by `sigma`.
    pub fn schedule(&self) -> crate::sde::NoiseSchedule {
        self.parse_schedule()
            .expect("a validated configuration names a valid schedule")
    }

    fn parse_schedule(&self) -> Result<crate::sde::NoiseSchedule, String> {
        crate::sde::NoiseSchedule::parse(&self.sigma, self.sigma_min, self.sigma_max)
    }

    /// Checks every setting; the message names the offending one. Ranges come from the
    /// settings schema; what follows them are the rules that tie settings together.
    pub fn validate(&self) -> Result<(), String> {
        registry::find(&self.sampler)?;
        let flat = self.flat();
        for setting in schema::SETTINGS {
            setting.check(&flat[setting.key])?;
        }
        if self.paths_per_source > 1 {
            if self.sampler != "asbs" || !self.weighted_replay || self.source == "point" {
                return Err(format!(
                    "paths_per_source {} needs the asbs sampler from a non-point source with \
                     weighted_replay true (only its path weights are normalized per source draw)",
                    self.paths_per_source
                ));
            }
            if !self.paths.is_multiple_of(self.paths_per_source) {
                return Err(format!(
                    "paths ({}) must be a multiple of paths_per_source ({})",
                    self.paths, self.paths_per_source
                ));
            }
        }
        self.parse_schedule()?
            .validate()
            .map_err(|e| format!("sigma: {e}"))?;
        crate::sampler::source::Source::parse(&self.source)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_config_overrides_its_preset() {
        let c = Config::from_partial(&json!({"preset": "seed", "paths": 64, "energy": "gmm9"}))
            .unwrap();
        assert_eq!(c.paths, 64);
        assert_eq!(c.steps, 125);
        assert_eq!(c.energy, EnergySpec::Named("gmm9".into()));
        let b = Config::from_partial(&json!({})).unwrap();
        assert_eq!(b, Config::preset_for(Preset::Browser, "adjoint"));
    }

    #[test]
    fn round_trips_through_json() {
        let c = Config::preset(Preset::Seed);
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(Config::from_json(&text).unwrap(), c);
    }

    #[test]
    fn bad_settings_are_named() {
        let e = Config::from_partial(&json!({"pathz": 3})).unwrap_err();
        assert!(e.contains("pathz"), "{e}");
        let e = Config::from_partial(&json!({"paths": -3})).unwrap_err();
        assert!(e.starts_with("paths"), "{e}");
        let e = Config::from_partial(&json!({"lr": 0})).unwrap_err();
        assert!(e.contains("lr"), "{e}");
        let e = Config::from_partial(&json!({"preset": "fast"})).unwrap_err();
        assert!(e.contains("preset") && e.contains("browser"), "{e}");
        let e = Config::from_partial(&json!({"sampler": "magic"})).unwrap_err();
        assert!(e.contains("magic") && e.contains("adjoint"), "{e}");
        let e = Config::from_partial(&json!({"sigma_min": 2.0})).unwrap_err();
        assert!(e.contains("sigma_max"), "{e}");
        let e = Config::from_partial(&json!({"energy": "gmm7"})).unwrap_err();
        assert!(e.starts_with("energy") && e.contains("gmm25"), "{e}");
        let e = Config::from_partial(&json!({"energy": {"gmm": {"weights": [1]}}})).unwrap_err();
        assert!(e.starts_with("energy") && e.contains("means"), "{e}");
        let e = Config::from_partial(&json!({"activation": "tanh"})).unwrap_err();
        assert!(e.starts_with("activation"), "{e}");
    }
}
