// @ts-check
// The poster frame of a lazily started element: the target's density as the run will show
// it, drawn from the core's `target_preview` (the target and its quadrature only; no sampler,
// no network, no training), so a figure further down a post shows its picture, not a blank.

import { FieldView } from "./views/field.js";
import { drawDensity1d } from "./views/density1d.js";

const NONE = new Float32Array(0);

/**
 * Draws a preview on `surface` (which must be ready).
 * @param {import("./surface.js").Surface} surface
 * @param {import("./theme.js").Theme} theme
 * @param {{ dim: number, window: number[], nx: number, ny: number, log_density: ArrayLike<number>,
 *           modes: ArrayLike<number>, marginal: ArrayLike<number> }} preview
 */
export function drawPoster(surface, theme, preview) {
  if (preview.dim === 2) {
    const view = new FieldView(surface);
    view.setTarget({
      window: preview.window,
      nx: preview.nx,
      ny: preview.ny,
      density: Float32Array.from(preview.log_density),
      modes: Float32Array.from(preview.modes),
    });
    view.draw(theme, {
      particles: () => NONE,
      samples: () => NONE,
      trajectories: () => NONE,
      trajectoryCount: 0,
      trajectoryPoints: 0,
      source: null,
      compare: null,
      arrows: null,
    });
  } else {
    drawDensity1d(surface, theme, {
      lo: preview.window[0],
      hi: preview.window[1],
      bars: null,
      lines: [{ values: Float32Array.from(preview.marginal), colour: theme.truth }],
    });
  }
}

/** The plot's width/height for a preview, as the run's view will use it. */
export function posterAspect(preview) {
  const w = preview.window;
  return preview.dim === 2 ? (w[1] - w[0]) / (w[3] - w[2]) : 1.8;
}
