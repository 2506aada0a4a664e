// @ts-check
// A small line chart over iterations: series, optional horizontal reference lines, linear
// or log y axis, nice ticks. It only draws what it is given.

import { niceTicks, formatTick } from "./ticks.js";

/**
 * @typedef {{ xs: ArrayLike<number>, ys: ArrayLike<number | null>, colour: string, width?: number }} Series
 * @typedef {{ y: number, colour: string, dash?: number[] }} RefLine
 * @param {import("../surface.js").Surface} surface
 * @param {import("../theme.js").Theme} theme
 * @param {{ series: Series[], refs?: RefLine[], logY?: boolean, yClip?: [number, number] | null,
 *           empty?: string, xTicks?: "any" }} spec
 *   `yClip` bounds the y range (points outside are drawn at the edge): early values of an
 *   estimate can be far off and would squash the interesting part.
 */
export function drawLineChart(surface, theme, spec) {
  if (!surface.ready) return;
  const ctx = surface.begin();
  const w = surface.width;
  const h = surface.height;
  const pad = { left: 40, right: 8, top: 6, bottom: 18 };
  const refs = spec.refs || [];
  const tf = spec.logY ? (v) => (v > 0 ? Math.log10(v) : NaN) : (v) => v;

  let xmin = Infinity;
  let xmax = -Infinity;
  let ymin = Infinity;
  let ymax = -Infinity;
  for (const s of spec.series) {
    for (let k = 0; k < s.ys.length; k++) {
      const y = s.ys[k] === null ? NaN : tf(s.ys[k]);
      if (!Number.isFinite(y)) continue;
      const x = s.xs[k];
      if (x < xmin) xmin = x;
      if (x > xmax) xmax = x;
      if (y < ymin) ymin = y;
      if (y > ymax) ymax = y;
    }
  }
  for (const r of refs) {
    if (!Number.isFinite(r.y)) continue;
    ymin = Math.min(ymin, tf(r.y));
    ymax = Math.max(ymax, tf(r.y));
  }
  ctx.font = `10.5px ${theme.font}`;
  if (!(xmax >= xmin) || !(ymax >= ymin)) {
    ctx.fillStyle = theme.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(spec.empty || "waiting for the first iteration…", w / 2, h / 2);
    return;
  }
  if (spec.yClip) {
    ymin = Math.max(ymin, spec.yClip[0]);
    ymax = Math.min(ymax, spec.yClip[1]);
  }
  if (ymax - ymin < 1e-9) {
    ymin -= 0.5;
    ymax += 0.5;
  }
  const margin = (ymax - ymin) * 0.08;
  ymin -= margin;
  ymax += margin;
  if (xmax === xmin) xmax = xmin + 1;

  const px = (x) => pad.left + ((x - xmin) / (xmax - xmin)) * (w - pad.left - pad.right);
  const py = (y) => {
    const c = Math.min(ymax, Math.max(ymin, y));
    return pad.top + (1 - (c - ymin) / (ymax - ymin)) * (h - pad.top - pad.bottom);
  };

  // Grid and tick labels.
  ctx.strokeStyle = theme.grid;
  ctx.fillStyle = theme.muted;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const yTicks = spec.logY ? logTicks(ymin, ymax) : niceTicks(ymin, ymax, Math.max(2, Math.round(h / 40)));
  for (const t of yTicks) {
    const y = Math.round(py(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(pad.left, y);
    ctx.lineTo(w - pad.right, y);
    ctx.stroke();
    ctx.fillText(spec.logY ? formatTick(Math.pow(10, t)) : formatTick(t), pad.left - 5, y);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  // Iteration axes get whole numbers only; `xTicks: "any"` allows fractions (an x axis).
  const xTicks = niceTicks(xmin, xmax, Math.max(2, Math.round(w / 70))).filter((t) => spec.xTicks === "any" || Number.isInteger(t));
  for (const t of xTicks) ctx.fillText(formatTick(t), px(t), h - pad.bottom + 4);

  for (const r of refs) {
    if (!Number.isFinite(r.y)) continue;
    ctx.strokeStyle = r.colour;
    ctx.lineWidth = 1.25;
    ctx.setLineDash(r.dash || [5, 4]);
    ctx.beginPath();
    ctx.moveTo(pad.left, py(tf(r.y)));
    ctx.lineTo(w - pad.right, py(tf(r.y)));
    ctx.stroke();
    ctx.setLineDash([]);
  }

  ctx.lineJoin = "round";
  for (const s of spec.series) {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = s.width || 1.6;
    ctx.beginPath();
    let pen = false;
    let drawn = 0;
    let lastX = 0;
    let lastY = 0;
    for (let k = 0; k < s.ys.length; k++) {
      const y = s.ys[k] === null ? NaN : tf(s.ys[k]);
      if (!Number.isFinite(y)) {
        pen = false;
        continue;
      }
      lastX = px(s.xs[k]);
      lastY = py(y);
      if (pen) ctx.lineTo(lastX, lastY);
      else ctx.moveTo(lastX, lastY);
      pen = true;
      drawn += 1;
    }
    ctx.stroke();
    // A dot on the newest value, so a single point is visible too.
    if (drawn > 0) {
      ctx.fillStyle = s.colour;
      ctx.beginPath();
      ctx.arc(lastX, lastY, 2.2, 0, Math.PI * 2);
      ctx.fill();
    }
  }
}

/** Ticks for a log10 axis (values are log10 of the data): whole decades, else 1-2-5 steps. */
function logTicks(lo, hi) {
  const decades = [];
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) decades.push(d);
  if (decades.length >= 2) return decades;
  // Less than a decade shown: nice linear ticks of the data, placed on the log axis.
  return niceTicks(Math.pow(10, lo), Math.pow(10, hi), 3)
    .filter((v) => v > 0)
    .map((v) => Math.log10(v));
}
