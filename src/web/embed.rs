//! The facade's part for embedding and sharing (issue 6): saving and restoring a run with
//! its network's weights, checking a typed formula, and a cheap preview of a target for
//! the custom element's poster. Kept beside `web.rs` so that file stays the core's views.

use super::{to_js, Playground};
use crate::config::Config;
use crate::energy::{error_column, Formula, Target};
use crate::run::Run;
use crate::sampler::state::StateMap;
use serde::Serialize;
use wasm_bindgen::prelude::*;

fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| JsError::new(&format!("{what}: {e}")))
}

#[wasm_bindgen]
impl Playground {
    /// The run between its last two completed iterations, as a plain object
    /// `{entries}` of base64 arrays (see `sampler::state`): network weights, optimizer
    /// moments, replay buffers, generator states, the metric history. With `config()` it
    /// restores the run (`Playground.restore`).
    pub fn save_state(&self) -> Result<JsValue, JsError> {
        to_js(&self.run.save_state())
    }

    /// A run built from `config` (a full or partial configuration) and loaded with a
    /// `save_state()` object: it continues exactly as the saved run would have. Throws an
    /// Error naming what does not fit.
    pub fn restore(config: JsValue, state: JsValue) -> Result<Playground, JsError> {
        let partial: serde_json::Value = from_js(config, "config")?;
        let config = Config::from_partial(&partial).map_err(|e| JsError::new(&e))?;
        let state: StateMap = from_js(state, "saved state")?;
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
        Err(message) => to_js(&Problem {
            column: error_column(&message),
            message,
        }),
    }
}

/// What a poster draws of a target before its run starts: the display window
/// `[xlo, xhi(, ylo, yhi)]`, the grid size and the normalised log density on it (x
/// fastest), for 1-D a single row. `energy` is a catalog name or a custom JSON target;
/// throws an Error naming what is wrong with it.
#[wasm_bindgen]
pub fn target_preview(energy: JsValue, temperature: f64) -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Preview {
        dim: usize,
        window: Vec<f64>,
        nx: usize,
        ny: usize,
        log_density: Vec<f32>,
        modes: Vec<Vec<f64>>,
    }
    // Read as a configuration's energy, for its messages about a bad custom target.
    let energy: serde_json::Value = from_js(energy, "energy")?;
    let config = Config::from_partial(&serde_json::json!({ "energy": energy }))
        .map_err(|e| JsError::new(&e))?;
    let target = Target::new(&config.energy, temperature).map_err(|e| JsError::new(&e))?;
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
        modes: target.modes.clone(),
    })
}
