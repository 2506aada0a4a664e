// @ts-check
// Marginal histograms of the samples (bars) against the true marginal density (line).
// The x marginal sits under the main view with bars growing up; the y marginal sits at its
// right with bars growing right, y up so that it lines up with the main view.

/**
 * @param {import("../surface.js").Surface} surface
 * @param {import("../theme.js").Theme} theme
 * @param {{ axis: 0 | 1, model: Float32Array | null, truth: Float32Array | null }} data
 *   densities at the bin centres of the plot window along the axis
 */
export function drawMarginal(surface, theme, data) {
  if (!surface.ready) return;
  const ctx = surface.begin();
  const { model, truth, axis } = data;
  const bins = Math.max(model ? model.length : 0, truth ? truth.length : 0);
  if (bins === 0) return;
  let top = 0;
  for (const arr of [model, truth]) {
    if (!arr) continue;
    for (const v of arr) if (Number.isFinite(v) && v > top) top = v;
  }
  if (!(top > 0)) return;
  top *= 1.1;

  const along = axis === 0 ? surface.width : surface.height; // length of the axis in pixels
  const across = axis === 0 ? surface.height : surface.width; // room for the bars
  const room = across - 3;
  const binSize = along / bins;
  // Position along the axis of bin k's start; y runs upward, so invert for the y marginal.
  const start = (k) => (axis === 0 ? k * binSize : surface.height - (k + 1) * binSize);

  if (model) {
    // Merge neighbouring bins until a bar is a few pixels wide: thinner bars read as noise.
    const group = Math.max(1, Math.ceil(4 / binSize));
    const gap = binSize * group >= 5 ? 1 : 0;
    ctx.fillStyle = theme.model;
    ctx.globalAlpha = 0.6;
    for (let k0 = 0; k0 < model.length; k0 += group) {
      const k1 = Math.min(model.length, k0 + group);
      let sum = 0;
      for (let k = k0; k < k1; k++) sum += Number.isFinite(model[k]) ? model[k] : 0;
      const v = sum / (k1 - k0);
      if (!(v > 0)) continue;
      const len = Math.min(room, (v / top) * room);
      const size = (k1 - k0) * binSize;
      const from = axis === 0 ? start(k0) : start(k1 - 1);
      if (axis === 0) ctx.fillRect(from + gap / 2, across - len, size - gap, len);
      else ctx.fillRect(0, from + gap / 2, len, size - gap);
    }
    ctx.globalAlpha = 1;
  }

  if (truth) {
    ctx.strokeStyle = theme.truth;
    ctx.lineWidth = 1.5;
    ctx.lineJoin = "round";
    ctx.beginPath();
    for (let k = 0; k < truth.length; k++) {
      const v = Number.isFinite(truth[k]) ? truth[k] : 0;
      const len = Math.min(room, (v / top) * room);
      const mid = start(k) + binSize / 2;
      const [px, py] = axis === 0 ? [mid, across - len] : [len, mid];
      if (k === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    }
    ctx.stroke();
  }

  // Baseline.
  ctx.strokeStyle = theme.border;
  ctx.lineWidth = 1;
  ctx.beginPath();
  if (axis === 0) {
    ctx.moveTo(0, across - 0.5);
    ctx.lineTo(along, across - 0.5);
  } else {
    ctx.moveTo(0.5, 0);
    ctx.lineTo(0.5, along);
  }
  ctx.stroke();
}
