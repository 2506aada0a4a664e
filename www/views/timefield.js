// @ts-check
// The 1-D main view: x up, time t across (0 at the left). Optional heat shading of the
// time marginals p_t (DDPM), the source density as a profile at t = 0 (ASBS), a few whole
// paths, the particles in flight at their time, and a scrubbed time as a vertical line.

import { niceTicks, formatTick } from "./ticks.js";

/** More paths than this turn into a tangle. */
const MAX_TRAJECTORIES = 12;
/** Widest the source profile gets, as a fraction of the plot width. */
const SOURCE_WIDTH = 0.14;

export class TimeFieldView {
  /** @param {import("../surface.js").Surface} surface */
  constructor(surface) {
    this.surface = surface;
    this.heatCanvas = document.createElement("canvas");
    this.heatKey = null;
  }

  /**
   * @param {import("../theme.js").Theme} theme
   * @param {{ lo: number, hi: number, reversed?: boolean,
   *           heat?: { data: ArrayLike<number>, times: number, bins: number, norm: ArrayLike<number>, key: unknown } | null,
   *           source?: Iterable<number> & ArrayLike<number> | null,
   *           trajectories?: () => Float32Array, trajectoryCount?: number, trajectoryPoints?: number,
   *           particles?: () => Float32Array, particleT?: number, scrubT?: number | null, axes?: boolean }} f
   *   heat: densities, `times` rows (row j at t = j/(times − 1)) × `bins` over [lo, hi], shaded
   *   per column against `norm[j]`; source: a density over `bins` equal bins of [lo, hi].
   */
  draw(theme, f) {
    const surface = this.surface;
    if (!surface.ready) return;
    const ctx = surface.begin();
    const w = surface.width;
    const h = surface.height;
    const { lo, hi } = f;
    const px = (t) => t * w;
    const py = (x) => h - ((x - lo) / (hi - lo)) * h;

    ctx.fillStyle = theme["ramp-0"];
    ctx.fillRect(0, 0, w, h);
    if (f.heat) this.drawHeat(ctx, theme, f.heat, w, h);

    // Grid: x ticks as horizontal lines, labelled on the left.
    ctx.font = `10.5px ${theme.font}`;
    ctx.strokeStyle = theme.grid;
    ctx.lineWidth = 1;
    ctx.globalAlpha = f.heat ? 0.35 : 1;
    const xTicks = niceTicks(lo, hi, Math.max(3, Math.round(h / 50)));
    for (const x of xTicks) {
      const y = Math.round(py(x)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(0, y);
      ctx.lineTo(w, y);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;

    if (f.source) {
      const bins = f.source.length;
      let top = 0;
      for (const v of f.source) if (Number.isFinite(v) && v > top) top = v;
      if (top > 0) {
        const room = w * SOURCE_WIDTH;
        ctx.fillStyle = theme.source;
        ctx.beginPath();
        ctx.moveTo(0, h);
        for (let b = 0; b < bins; b++) {
          const x = lo + ((b + 0.5) * (hi - lo)) / bins;
          ctx.lineTo((Math.max(0, f.source[b]) / top) * room, py(x));
        }
        ctx.lineTo(0, 0);
        ctx.closePath();
        ctx.fill();
      }
    }

    const count = Math.min(MAX_TRAJECTORIES, f.trajectoryCount || 0);
    const points = f.trajectoryPoints || 0;
    if (count > 0 && points > 1 && f.trajectories) {
      const data = f.trajectories();
      ctx.strokeStyle = theme.traj;
      ctx.lineWidth = 1;
      ctx.lineJoin = "round";
      ctx.globalAlpha = 0.75;
      for (let k = 0; k < count; k++) {
        ctx.beginPath();
        for (let p = 0; p < points; p++) {
          const s = p / (points - 1);
          const t = f.reversed ? 1 - s : s;
          const v = data[k * points + p];
          if (p === 0) ctx.moveTo(px(t), py(v));
          else ctx.lineTo(px(t), py(v));
        }
        ctx.stroke();
      }
      ctx.globalAlpha = 1;
    }

    if (f.particles && Number.isFinite(f.particleT)) {
      const xs = f.particles();
      const x0 = px(f.particleT);
      ctx.fillStyle = theme.particle;
      ctx.globalAlpha = 0.55;
      ctx.beginPath();
      for (let k = 0; k < xs.length; k++) ctx.rect(x0 - 1.5, py(xs[k]) - 1, 3, 2);
      ctx.fill();
      ctx.globalAlpha = 1;
    }

    if (f.scrubT !== null && f.scrubT !== undefined && Number.isFinite(f.scrubT)) {
      const x = Math.round(px(f.scrubT)) + 0.5;
      ctx.strokeStyle = theme.text;
      ctx.lineWidth = 1.25;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, h);
      ctx.stroke();
      ctx.setLineDash([]);
    }

    if (f.axes !== false) {
      ctx.fillStyle = theme.muted;
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      for (const x of xTicks) {
        const y = py(x);
        if (y < 8 || y > h - 18) continue;
        ctx.fillText(formatTick(x), 4, y);
      }
      ctx.textBaseline = "bottom";
      for (const t of w < 360 ? [0, 0.5, 1] : [0, 0.25, 0.5, 0.75, 1]) {
        ctx.textAlign = t === 0 ? "left" : t === 1 ? "right" : "center";
        ctx.fillText(t === 0 ? "t = 0" : formatTick(t), px(t) + (t === 0 ? 22 : t === 1 ? -3 : 0), h - 3);
      }
    }
  }

  /** The heat image is rebuilt only when its key (iteration, theme, size) changes. */
  drawHeat(ctx, theme, heat, w, h) {
    const key = `${String(heat.key)}|${theme["ramp-4"]}|${heat.times}x${heat.bins}`;
    if (key !== this.heatKey) {
      this.heatKey = key;
      const { data, times, bins, norm } = heat;
      const image = new ImageData(times, bins);
      for (let j = 0; j < times; j++) {
        const scale = norm[j] > 0 ? 1 / norm[j] : 0;
        for (let b = 0; b < bins; b++) {
          const v = Math.max(0, Math.min(1, data[j * bins + b] * scale));
          const [r, g, bl] = ramp(theme.ramp, Math.sqrt(v));
          const o = (j + (bins - 1 - b) * times) * 4;
          image.data[o] = r;
          image.data[o + 1] = g;
          image.data[o + 2] = bl;
          image.data[o + 3] = 255;
        }
      }
      this.heatCanvas.width = times;
      this.heatCanvas.height = bins;
      this.heatCanvas.getContext("2d").putImageData(image, 0, 0);
    }
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(this.heatCanvas, 0, 0, w, h);
  }
}

/** Piecewise-linear colour ramp through evenly spaced stops; t in [0, 1]. */
function ramp(stops, t) {
  const x = t * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(x));
  const f = x - k;
  const a = stops[k];
  const b = stops[k + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}
