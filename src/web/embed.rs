//! The facade's part for embedding and sharing (docs/product.md): saving and restoring a run with
//! its network's weights, checking a typed formula, and a cheap preview of a target for
//! the custom element's poster.

use super::{input, to_js, Playground};
use crate::config::Config;
use crate::energy::{Formula, Target};
use crate::run::Run;
use crate::state::StateMap;
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Playground {
    /// The run between its last two completed iterations, as a plain object
    /// `{entries}` of base64 arrays (see `crate::state`): network weights, optimizer
    /// moments, replay buffers, generator states, the metric history. With `config()` it
    /// restores the run (`Playground.restore`).
    pub fn save_state(&self) -> Result<JsValue, JsError> {
        to_js(&self.run.save_state())
    }

    /// A run built from `config` (a full or partial configuration) and loaded with a
    /// `save_state()` object: it continues exactly as the saved run would have. Throws an
    /// Error naming what does not fit.
    pub fn restore(config: JsValue, state: JsValue) -> Result<Playground, JsError> {
        let partial: serde_json::Value = input::from_js(config, &input::SETTINGS)?;
        let config = Config::from_partial(&partial).map_err(|e| JsError::new(&e))?;
        let state: StateMap = input::from_js(state, &input::SAVED_STATE)?;
        let run = Run::restore(config, &state).map_err(|e| JsError::new(&e))?;
        Ok(Playground::from_run(run))
    }
}

/// Checks a formula typed by the user in `dim` (1 or 2) variables: null when it parses, else
/// `{message, column}` with the 1-based character column it names (null for errors about
/// the whole formula).
#[wasm_bindgen]
pub fn check_formula(text: &str, dim: usize) -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Problem {
        message: String,
        column: Option<usize>,
    }
    if !(1..=2).contains(&dim) {
        return Err(JsError::new("check_formula: dim must be 1 or 2"));
    }
    match Formula::parse(text, dim) {
        Ok(_) => Ok(JsValue::NULL),
        Err(e) => to_js(&Problem {
            message: e.message,
            column: e.column,
        }),
    }
}

/// What a poster draws of a run's target before the run starts: the display window
/// `[xlo, xhi(, ylo, yhi)]`, the density grid (x fastest; the page's own) and in 1-D the
/// true density at the marginal's bin centres. `config` is a partial configuration (its
/// preset supplies the target when none is named); no sampler or network is built. Throws
/// an Error naming what is wrong.
#[wasm_bindgen]
pub fn target_preview(config: JsValue) -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Preview {
        dim: usize,
        window: Vec<f64>,
        nx: usize,
        ny: usize,
        log_density: Vec<f32>,
        modes: Vec<f32>,
        marginal: Vec<f32>,
    }
    let partial: serde_json::Value = input::from_js(config, &input::SETTINGS)?;
    let config = Config::from_partial(&partial).map_err(|e| JsError::new(&e))?;
    let target = Target::new(&config.energy, config.temperature).map_err(|e| JsError::new(&e))?;
    let truth = target.ground_truth();
    let g = &truth.grid;
    let window = target
        .window
        .lo
        .iter()
        .zip(&target.window.hi)
        .flat_map(|(&lo, &hi)| [lo, hi])
        .collect();
    to_js(&Preview {
        dim: target.display_dim(),
        window,
        nx: g.nx,
        ny: g.ny,
        log_density: g.log_density.iter().map(|&v| v as f32).collect(),
        modes: target.modes.iter().flatten().map(|&v| v as f32).collect(),
        marginal: truth.marginals[0]
            .density
            .iter()
            .map(|&v| v as f32)
            .collect(),
    })
}
