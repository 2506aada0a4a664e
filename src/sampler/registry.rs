//! The sampler registry: every sampler's identity, written once beside its code (each
//! module's `INFO` constants) and listed here one line each. The command line, the page
//! (through the facade's `samplers()`), the configuration's checks and the tests all read
//! it, so a sampler added here appears everywhere with its settings and explanation.
//!
//! A sampler reads its typed settings (its module's `…Settings` struct, [`FromFlat`]) out
//! of the flat configuration map: a struct takes exactly the keys it names and ignores the
//! rest. (Read by hand rather than by serde's derive: the derived deserializers cost the
//! wasm core about 40 KB.) `settings` in [`SamplerInfo`] lists the keys that change a seeded run of the
//! sampler; tests/registry.rs checks that every other key leaves the run unchanged bit for
//! bit, and that every listed key is one its settings struct requires.

use super::{asbs, ddpm, gfn, mala, Sampler};
use crate::energy::Energy;
use crate::energy::EnergySpec;
use crate::nn::Activation;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// Which kind of algorithm a sampler is; samplers of one family share their settings'
/// meaning (e.g. `steps` is the SDE's Euler–Maruyama steps for the adjoint family, the
/// number of time steps T for the GFlowNet family and MALA steps per iteration for MCMC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Adjoint Sampling and ASBS: a controlled SDE regressed by adjoint matching.
    Adjoint,
    /// DDPM: a denoiser trained on target samples.
    Ddpm,
    /// Diffusion samplers trained as GFlowNets (TB, VarGrad, DB, SubTB, FL-SubTB) and PIS.
    Gflownet,
    /// Markov chain Monte Carlo without a network.
    Mcmc,
}

/// What a sampler can do, for the views and the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Starts its paths from a source μ that can be drawn (`Run::source_samples`).
    pub source: bool,
    /// Trains in stages (`Observation::stage`).
    pub stages: bool,
    /// Its training rollout can be shared with Web Workers (`Sampler::open_rollout`).
    pub shared_rollout: bool,
    /// Its paths carry importance weights, so log Ẑ, log Ẑ^RW and ESS exist.
    pub path_weights: bool,
}

/// A sampler's identity.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SamplerInfo {
    /// The configuration's `sampler` value.
    pub name: &'static str,
    /// A short name for menus.
    pub label: &'static str,
    /// One line with the method's source.
    pub description: &'static str,
    /// One paragraph: what an iteration does, in the page's words.
    pub explanation: &'static str,
    pub family: Family,
    /// Target dimensions it accepts; None: any.
    pub dims: Option<&'static [usize]>,
    /// The configuration keys that change its seeded run (the page shows exactly these,
    /// besides the choice of preset and sampler).
    pub settings: &'static [&'static str],
    /// The subset of `settings` whose change keeps the trained state: a state saved before
    /// the change loads into the sampler built after it.
    pub keeps_progress: &'static [&'static str],
    /// Labels that differ from the settings schema's for this sampler, as (key, label).
    pub labels: &'static [(&'static str, &'static str)],
    pub capabilities: Capabilities,
}

/// Builds a sampler from the flat configuration map (a JSON object of every setting).
pub type Build = fn(&Value, Arc<dyn Energy>) -> Result<Box<dyn Sampler>, String>;

/// One registry row.
pub struct Entry {
    pub info: &'static SamplerInfo,
    pub build: Build,
}

/// The registry: one line per sampler.
#[rustfmt::skip]
pub const REGISTRY: &[Entry] = &[
    Entry { info: &asbs::ADJOINT, build: |s, e| asbs::build(s, e, false) },
    Entry { info: &asbs::ASBS, build: |s, e| asbs::build(s, e, true) },
    Entry { info: &ddpm::INFO, build: |s, e| Ok(Box::new(ddpm::DdpmSampler::new(&settings(s)?, e)?)) },
    Entry { info: &gfn::TB, build: |s, e| gfn::build(gfn::Objective::Tb, s, e) },
    Entry { info: &gfn::VARGRAD, build: |s, e| gfn::build(gfn::Objective::VarGrad, s, e) },
    Entry { info: &gfn::DB, build: |s, e| gfn::build(gfn::Objective::Db, s, e) },
    Entry { info: &gfn::SUBTB, build: |s, e| gfn::build(gfn::Objective::SubTb, s, e) },
    Entry { info: &gfn::FL_SUBTB, build: |s, e| gfn::build(gfn::Objective::FlSubTb, s, e) },
    Entry { info: &gfn::PIS, build: |s, e| gfn::build(gfn::Objective::Pis, s, e) },
    Entry { info: &mala::INFO, build: |s, e| Ok(Box::new(mala::MalaSampler::new(&settings(s)?, e)?)) },
];

/// The registry row named `name`; the error lists the known names.
pub fn find(name: &str) -> Result<&'static Entry, String> {
    REGISTRY
        .iter()
        .find(|e| e.info.name == name)
        .ok_or_else(|| {
            format!(
                "sampler: unknown \"{name}\"; known: {}",
                names().collect::<Vec<_>>().join(", ")
            )
        })
}

/// The registered names, in the registry's order.
pub fn names() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|e| e.info.name)
}

/// Every sampler's identity, in the registry's order.
pub fn infos() -> impl Iterator<Item = &'static SamplerInfo> {
    REGISTRY.iter().map(|e| e.info)
}

/// Typed settings read out of the flat configuration map.
pub trait FromFlat: Sized {
    fn from_flat(flat: &Flat) -> Result<Self, String>;
}

/// A sampler's typed settings out of the flat configuration map.
pub fn settings<S: FromFlat>(flat: &Value) -> Result<S, String> {
    S::from_flat(&Flat::new(flat)?)
}

/// The flat configuration map, read key by key; a missing key or a value of another type
/// is an error naming the key.
pub struct Flat<'a>(&'a serde_json::Map<String, Value>);

impl<'a> Flat<'a> {
    pub fn new(flat: &'a Value) -> Result<Flat<'a>, String> {
        flat.as_object()
            .map(Flat)
            .ok_or_else(|| "settings: expected an object of settings".to_string())
    }

    fn get(&self, key: &str) -> Result<&'a Value, String> {
        self.0
            .get(key)
            .ok_or_else(|| format!("settings: \"{key}\" is missing"))
    }

    fn wrong(key: &str, what: &str) -> String {
        format!("settings: \"{key}\" must be {what}")
    }

    pub fn u64(&self, key: &str) -> Result<u64, String> {
        self.get(key)?
            .as_u64()
            .ok_or_else(|| Self::wrong(key, "a whole number"))
    }

    pub fn usize(&self, key: &str) -> Result<usize, String> {
        usize::try_from(self.u64(key)?).map_err(|_| Self::wrong(key, "smaller"))
    }

    pub fn f64(&self, key: &str) -> Result<f64, String> {
        self.get(key)?
            .as_f64()
            .ok_or_else(|| Self::wrong(key, "a number"))
    }

    pub fn bool(&self, key: &str) -> Result<bool, String> {
        self.get(key)?
            .as_bool()
            .ok_or_else(|| Self::wrong(key, "true or false"))
    }

    pub fn string(&self, key: &str) -> Result<String, String> {
        self.get(key)?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Self::wrong(key, "text"))
    }

    pub fn activation(&self, key: &str) -> Result<Activation, String> {
        serde_json::from_value(self.get(key)?.clone())
            .map_err(|_| Self::wrong(key, "an activation's name"))
    }

    pub fn energy(&self, key: &str) -> Result<EnergySpec, String> {
        serde_json::from_value(self.get(key)?.clone())
            .map_err(|_| Self::wrong(key, "a target's name or JSON"))
    }
}
