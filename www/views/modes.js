// @ts-check
// Probability mass captured per mode by the model's samples, next to the true mass.

import { formatTick } from "./ticks.js";

/**
 * @param {import("../surface.js").Surface} surface
 * @param {import("../theme.js").Theme} theme
 * @param {{ model: ArrayLike<number> | null, truth: ArrayLike<number> | null }} data
 */
export function drawModeBars(surface, theme, data) {
  if (!surface.ready) return;
  const ctx = surface.begin();
  const w = surface.width;
  const h = surface.height;
  const model = data.model || [];
  const truth = data.truth || [];
  const count = Math.max(model.length, truth.length);
  ctx.font = `10.5px ${theme.font}`;
  if (count === 0) {
    ctx.fillStyle = theme.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText("no modes known for this target", w / 2, h / 2);
    return;
  }
  const pad = { left: 30, right: 4, top: 6, bottom: 16 };
  let top = 0;
  for (let m = 0; m < count; m++) top = Math.max(top, finite(model[m]), finite(truth[m]));
  top = top > 0 ? Math.min(1, niceCeil(top * 1.1)) : 1;
  const plotH = h - pad.top - pad.bottom;
  const py = (v) => pad.top + plotH * (1 - Math.min(1, v / top));

  // Gridlines at a few fractions.
  ctx.strokeStyle = theme.grid;
  ctx.fillStyle = theme.muted;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ctx.lineWidth = 1;
  for (const f of [0, 0.5, 1]) {
    const y = Math.round(py(top * f)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(pad.left, y);
    ctx.lineTo(w - pad.right, y);
    ctx.stroke();
    ctx.fillText(formatTick(Number((top * f).toPrecision(2))), pad.left - 4, y);
  }

  const slot = (w - pad.left - pad.right) / count;
  const bar = Math.max(1, Math.min(18, slot * 0.36));
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const labelEvery = Math.ceil(16 / slot);
  for (let m = 0; m < count; m++) {
    const centre = pad.left + slot * (m + 0.5);
    const t = finite(truth[m]);
    const v = finite(model[m]);
    ctx.fillStyle = theme.truth;
    ctx.globalAlpha = 0.28;
    ctx.fillRect(centre - bar - 0.5, py(t), bar, py(0) - py(t));
    ctx.globalAlpha = 1;
    ctx.fillStyle = theme.model;
    ctx.fillRect(centre + 0.5, py(v), bar, py(0) - py(v));
    if (m % labelEvery === 0) {
      ctx.fillStyle = theme.muted;
      ctx.fillText(String(m + 1), centre, h - pad.bottom + 3);
    }
  }
}

/** The smallest of 1, 2, 2.5, 5 × 10^k that is at least v. */
function niceCeil(v) {
  const power = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= v) return m * power;
  return 10 * power;
}

function finite(v) {
  return Number.isFinite(v) ? v : 0;
}
