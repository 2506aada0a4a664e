// @ts-check
// A 1-D density plot: x across, histogram bars of samples and density curves over the same
// window, with x ticks. Each series is a density at the bin centres of its own equal bins.

import { niceTicks, formatTick } from "./ticks.js";

/**
 * @param {import("../surface.js").Surface} surface
 * @param {import("../theme.js").Theme} theme
 * @param {{ lo: number, hi: number, bars?: Iterable<number> & ArrayLike<number> | null,
 *           lines?: { values: Iterable<number> & ArrayLike<number>, colour: string, dash?: number[], width?: number, step?: boolean }[],
 *           empty?: string }} spec
 *   `step` draws a line as a histogram outline (a sample histogram rather than a density).
 */
export function drawDensity1d(surface, theme, spec) {
  if (!surface.ready) return;
  const ctx = surface.begin();
  const w = surface.width;
  const h = surface.height;
  const pad = { left: 6, right: 6, top: 6, bottom: 18 };
  const { lo, hi } = spec;
  const lines = spec.lines || [];
  let top = 0;
  for (const arr of [spec.bars, ...lines.map((l) => l.values)]) {
    if (!arr) continue;
    for (const v of arr) if (Number.isFinite(v) && v > top) top = v;
  }
  ctx.font = `10.5px ${theme.font}`;
  const px = (x) => pad.left + ((x - lo) / (hi - lo)) * (w - pad.left - pad.right);
  const base = h - pad.bottom;
  ctx.fillStyle = theme.muted;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const x of niceTicks(lo, hi, Math.max(3, Math.round(w / 60)))) ctx.fillText(formatTick(x), px(x), base + 4);
  ctx.strokeStyle = theme.border;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(pad.left, base + 0.5);
  ctx.lineTo(w - pad.right, base + 0.5);
  ctx.stroke();
  if (!(top > 0)) {
    ctx.textBaseline = "middle";
    ctx.fillText(spec.empty || "waiting for the first samples…", w / 2, h / 2);
    return;
  }
  top *= 1.1;
  const py = (v) => base - (Math.max(0, Math.min(top, v)) / top) * (base - pad.top);

  if (spec.bars) {
    const bins = spec.bars.length;
    const bw = (w - pad.left - pad.right) / bins;
    const group = Math.max(1, Math.ceil(3 / bw));
    ctx.fillStyle = theme.model;
    ctx.globalAlpha = 0.55;
    for (let k0 = 0; k0 < bins; k0 += group) {
      const k1 = Math.min(bins, k0 + group);
      let sum = 0;
      for (let k = k0; k < k1; k++) sum += Number.isFinite(spec.bars[k]) ? spec.bars[k] : 0;
      const v = sum / (k1 - k0);
      if (!(v > 0)) continue;
      const x0 = pad.left + k0 * bw;
      ctx.fillRect(x0 + 0.5, py(v), (k1 - k0) * bw - 1, base - py(v));
    }
    ctx.globalAlpha = 1;
  }

  for (const line of lines) {
    const bins = line.values.length;
    if (bins === 0) continue;
    const bw = (hi - lo) / bins;
    ctx.strokeStyle = line.colour;
    ctx.lineWidth = line.width || 1.6;
    ctx.lineJoin = "round";
    ctx.setLineDash(line.dash || []);
    ctx.beginPath();
    for (let k = 0; k < bins; k++) {
      const v = Number.isFinite(line.values[k]) ? line.values[k] : 0;
      if (line.step) {
        const [a, b] = [px(lo + k * bw), px(lo + (k + 1) * bw)];
        if (k === 0) ctx.moveTo(a, py(v));
        else ctx.lineTo(a, py(v));
        ctx.lineTo(b, py(v));
      } else {
        const x = px(lo + (k + 0.5) * bw);
        if (k === 0) ctx.moveTo(x, py(v));
        else ctx.lineTo(x, py(v));
      }
    }
    ctx.stroke();
    ctx.setLineDash([]);
  }
}
