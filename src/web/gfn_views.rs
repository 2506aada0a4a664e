//! What the page's GFlowNet views read (docs/methods.md §5): each shown trajectory's balance
//! residual, the replay buffers D and D_LS of local search, and the learned log Z, plus the
//! choice of the 2-D projection of a d > 2 target. Arrays are zero-copy views of buffers
//! the facade owns and refills in place (the rules at the top of `web/mod.rs` hold).

use super::{to_js, Playground};
use js_sys::Float32Array;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// The buffers behind the views, refilled when the sampler has moved on.
#[derive(Default)]
pub(super) struct GfnViews {
    residuals: Vec<f32>,
    buffer_d: Vec<f32>,
    buffer_ls: Vec<f32>,
    /// (iteration, energy evaluations) the buffers were filled at; MALA steps of a local
    /// search change D_LS within an iteration, and each counts energy evaluations.
    filled_at: Option<(usize, u64)>,
}

impl GfnViews {
    /// Forgets what was filled (a reset or a new projection).
    pub(super) fn invalidate(&mut self) {
        self.filled_at = None;
    }
}

/// The scalar state of a GFlowNet sampler, for the readout.
#[derive(Serialize)]
struct GfnState {
    /// TB's learned log Z (in the sampler's coordinates plus the whitening shift), else null.
    log_z_learned: Option<f64>,
    /// The exploration ε of the current iteration (0 once decayed).
    exploration: f64,
    /// States in D and D_LS (null without local search).
    buffer_d: Option<usize>,
    buffer_ls: Option<usize>,
    /// Whether the shown trajectories were drawn backward from D_LS.
    backward: bool,
    /// The name of the residual's log Z: "log Z" (TB), "log F(x₀)" (DB, SubTB, FL-SubTB)
    /// or "batch mean" (VarGrad, PIS).
    residual_reference: &'static str,
}

#[wasm_bindgen]
impl Playground {
    fn refresh_gfn(&mut self) {
        let Some(gfn) = self.run.sampler().observe().gfn else {
            self.gfn.residuals.clear();
            self.gfn.buffer_d.clear();
            self.gfn.buffer_ls.clear();
            return;
        };
        let key = (self.run.sampler().iteration(), self.run.energy_evals());
        if self.gfn.filled_at == Some(key) {
            return;
        }
        let views = &mut self.gfn;
        views.residuals.clear();
        views.residuals.extend_from_slice(gfn.residuals);
        match gfn.buffers {
            Some((d, ls)) => {
                let to_f32 = |xs: &[f64]| xs.iter().map(|&v| v as f32).collect::<Vec<f32>>();
                let (d32, ls32) = (to_f32(d), to_f32(ls));
                self.run.to_display_f32(&d32, &mut views.buffer_d);
                self.run.to_display_f32(&ls32, &mut views.buffer_ls);
            }
            None => {
                views.buffer_d.clear();
                views.buffer_ls.clear();
            }
        }
        views.filled_at = Some(key);
    }

    /// GFlowNet samplers: log Z_ref + S_F − S_B − log R of each trajectory that
    /// `trajectories()` shows, in the same order (view; empty for other samplers). A
    /// perfectly trained sampler has every residual 0 (trajectory balance, docs/methods.md §5).
    pub fn trajectory_residuals(&mut self) -> Float32Array {
        self.refresh_gfn();
        // SAFETY: a view of a buffer this object owns (see the top of web/mod.rs).
        unsafe { Float32Array::view(&self.gfn.residuals) }
    }

    /// Local search's buffer D (terminal states of forward trajectories), original
    /// coordinates on the displayed axes, n × dim() (view; empty without local search).
    pub fn buffer_d(&mut self) -> Float32Array {
        self.refresh_gfn();
        unsafe { Float32Array::view(&self.gfn.buffer_d) }
    }

    /// Local search's buffer D_LS (accepted MALA proposals), as `buffer_d` (view).
    pub fn buffer_ls(&mut self) -> Float32Array {
        self.refresh_gfn();
        unsafe { Float32Array::view(&self.gfn.buffer_ls) }
    }

    /// {log_z_learned, exploration, buffer_d, buffer_ls, backward, residual_reference} for
    /// GFlowNet samplers, null for others.
    pub fn gfn_state(&self) -> Result<JsValue, JsError> {
        let Some(gfn) = self.run.sampler().observe().gfn else {
            return Ok(JsValue::NULL);
        };
        let d = self.run.dim();
        to_js(&GfnState {
            log_z_learned: gfn.learned_log_z.map(|z| z + self.run.log_z_shift()),
            exploration: gfn.exploration,
            buffer_d: gfn.buffers.map(|(b, _)| b.len() / d),
            buffer_ls: gfn.buffers.map(|(_, b)| b.len() / d),
            backward: gfn.backward,
            residual_reference: gfn.residual_reference,
        })
    }

    /// The displayed coordinates: [0, 1] unless another projection was chosen.
    pub fn display_axes(&self) -> Vec<u32> {
        self.run.display_axes().iter().map(|&a| a as u32).collect()
    }

    /// Shows another 2-D projection of a d > 2 target: a Manywell pair (x_2k, x_2k+1) or a
    /// Funnel pair (x₀, x_i), whose truth is the first pair's. Throws a message naming the
    /// allowed pairs; the run goes on either way.
    pub fn set_display_axes(&mut self, axes: Vec<u32>) -> Result<(), JsError> {
        let axes: Vec<usize> = axes.into_iter().map(|a| a as usize).collect();
        self.run
            .set_display_axes(&axes)
            .map_err(|e| JsError::new(&e))?;
        self.shown_iteration = None;
        self.gfn.invalidate();
        Ok(())
    }
}
