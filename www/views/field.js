// @ts-check
// The main view: the target's density filled and contoured, terminal samples, a few
// trajectories and the particles in flight. Plot coordinates have y up.
//
// The density grid changes only with the target, so its fill and contour lines are drawn
// once into an offscreen canvas and copied each frame.

import { contourSegments } from "./contours.js";
import { niceTicks, formatTick } from "./ticks.js";

/** Contour levels are spaced evenly in log density (i.e. in energy) over at most this many nats. */
const MAX_SPAN = 12;
const LEVELS = 8;
/** More paths than this turn into a tangle that hides the particles. */
const MAX_TRAJECTORIES = 6;

export class FieldView {
  /** @param {import("../surface.js").Surface} surface */
  constructor(surface) {
    this.surface = surface;
    this.target = null;
    this.cache = document.createElement("canvas");
    this.cacheKey = "";
  }

  /**
   * A new target (copied: the caller's arrays are views into wasm memory).
   * @param {{ window: number[], nx: number, ny: number, density: Float32Array, modes: Float32Array }} target
   */
  setTarget(target) {
    this.target = target;
    this.cacheKey = "";
  }

  /** Forces the cached background to be redrawn (theme change). */
  invalidate() {
    this.cacheKey = "";
  }

  /**
   * @param {import("../theme.js").Theme} theme
   * @param {{ particles: () => Float32Array, samples: () => Float32Array,
   *           trajectories: () => Float32Array, trajectoryCount: number, trajectoryPoints: number,
   *           source?: ArrayLike<number> | null, compare?: (() => Float32Array) | null,
   *           arrows?: { points: ArrayLike<number>, vectors: ArrayLike<number>, scale: number } | null,
   *           layers?: { points: () => ArrayLike<number>, colour: string, size: number }[],
   *           trajectoryColour?: ((k: number) => string) | null, maxTrajectories?: number }} frame
   *   The arrays come as getters: each is a view into wasm memory, fetched right before use.
   *   `layers` are point sets drawn under the samples (GFlowNet replay buffers);
   *   `trajectoryColour` colours path k (its residual), drawn opaque and up to `maxTrajectories`.
   */
  draw(theme, frame) {
    const surface = this.surface;
    if (!surface.ready || !this.target) return;
    const key = `${surface.version}`;
    if (key !== this.cacheKey) {
      this.renderBackground(theme);
      this.cacheKey = key;
    }
    const ctx = surface.begin();
    ctx.drawImage(this.cache, 0, 0, surface.width, surface.height);
    const map = this.mapper();
    const [xlo, xhi, ylo, yhi] = this.target.window;
    const scale = { xlo, ylo, sx: surface.width / (xhi - xlo), sy: surface.height / (yhi - ylo), h: surface.height };

    if (frame.source) drawPoints(ctx, frame.source, scale, theme.source, 2.2);
    for (const layer of frame.layers || []) drawPoints(ctx, layer.points(), scale, layer.colour, layer.size);
    drawPoints(ctx, frame.samples(), scale, theme.sample, 1.8);
    if (frame.compare) drawPoints(ctx, frame.compare(), scale, theme.compare, 1.6);
    if (frame.trajectoryCount > 0 && frame.trajectoryPoints > 1) {
      ctx.strokeStyle = theme.traj;
      ctx.lineWidth = 1;
      ctx.lineJoin = "round";
      const colourOf = frame.trajectoryColour || null;
      ctx.globalAlpha = colourOf ? 0.9 : 0.7;
      if (colourOf) ctx.lineWidth = 1.4;
      const points = frame.trajectoryPoints;
      const data = frame.trajectories();
      const count = Math.min(frame.maxTrajectories ?? MAX_TRAJECTORIES, frame.trajectoryCount);
      for (let k = 0; k < count; k++) {
        if (colourOf) ctx.strokeStyle = colourOf(k);
        ctx.beginPath();
        for (let p = 0; p < points; p++) {
          const o = (k * points + p) * 2;
          const [px, py] = map(data[o], data[o + 1]);
          if (p === 0) ctx.moveTo(px, py);
          else ctx.lineTo(px, py);
        }
        ctx.stroke();
      }
      ctx.globalAlpha = 1;
    }
    drawPoints(ctx, frame.particles(), scale, theme.particle, 2.6);
    if (frame.arrows) drawArrows(ctx, frame.arrows, map, theme.corrector);
  }

  /** (x, y) in plot coordinates → CSS pixels, y up. */
  mapper() {
    const [xlo, xhi, ylo, yhi] = this.target.window;
    const sx = this.surface.width / (xhi - xlo);
    const sy = this.surface.height / (yhi - ylo);
    const h = this.surface.height;
    return (x, y) => [(x - xlo) * sx, h - (y - ylo) * sy];
  }

  /** Fill, contour lines, mode markers and axis ticks, at device resolution. */
  renderBackground(theme) {
    const { surface, target } = this;
    const { nx, ny, density } = target;
    this.cache.width = surface.canvas.width;
    this.cache.height = surface.canvas.height;
    const ctx = this.cache.getContext("2d");
    ctx.setTransform(surface.dpr, 0, 0, surface.dpr, 0, 0);
    const w = surface.width;
    const h = surface.height;

    let vmax = -Infinity;
    let vmin = Infinity;
    for (const v of density) {
      if (!Number.isFinite(v)) continue;
      if (v > vmax) vmax = v;
      if (v < vmin) vmin = v;
    }
    if (!(vmax > -Infinity)) return;
    const span = Math.max(1e-9, Math.min(MAX_SPAN, vmax - vmin));

    // Fill: one pixel per grid point, scaled up smoothly. Row 0 of the grid is the bottom.
    const image = new ImageData(nx, ny);
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const v = density[i + j * nx];
        const t = Number.isFinite(v) ? Math.max(0, Math.min(1, 1 + (v - vmax) / span)) : 0;
        const [r, g, b] = ramp(theme.ramp, t * t);
        const o = (i + (ny - 1 - j) * nx) * 4;
        image.data[o] = r;
        image.data[o + 1] = g;
        image.data[o + 2] = b;
        image.data[o + 3] = 255;
      }
    }
    const small = document.createElement("canvas");
    small.width = nx;
    small.height = ny;
    small.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    // Grid values sit at cell centres: the image's pixel centres land on them.
    ctx.drawImage(small, 0, 0, w, h);

    // Contours in grid-index coordinates; index i is at x = (i + 0.5) * w / nx.
    const gx = (i) => ((i + 0.5) * w) / nx;
    const gy = (j) => h - ((j + 0.5) * h) / ny;
    ctx.strokeStyle = theme.contour;
    ctx.lineWidth = 1;
    for (let k = 1; k < LEVELS; k++) {
      const level = vmax - (span * k) / LEVELS;
      const seg = contourSegments(density, nx, ny, level);
      ctx.globalAlpha = 0.35 + 0.35 * (1 - k / LEVELS);
      ctx.beginPath();
      for (let s = 0; s < seg.length; s += 4) {
        ctx.moveTo(gx(seg[s]), gy(seg[s + 1]));
        ctx.lineTo(gx(seg[s + 2]), gy(seg[s + 3]));
      }
      ctx.stroke();
    }
    ctx.globalAlpha = 1;

    // Mode centres: small crosses, numbered when few enough to stay readable.
    const map = this.mapper();
    const modes = target.modes;
    const count = modes.length / 2;
    ctx.strokeStyle = theme.text;
    ctx.fillStyle = theme.text;
    ctx.lineWidth = 1.2;
    ctx.font = `600 11px ${theme.font}`;
    ctx.textBaseline = "bottom";
    ctx.globalAlpha = 0.7;
    for (let m = 0; m < count; m++) {
      const [px, py] = map(modes[2 * m], modes[2 * m + 1]);
      ctx.beginPath();
      ctx.moveTo(px - 4, py);
      ctx.lineTo(px + 4, py);
      ctx.moveTo(px, py - 4);
      ctx.lineTo(px, py + 4);
      ctx.stroke();
      if (count <= 9) ctx.fillText(String(m + 1), px + 4, py - 3);
    }
    ctx.globalAlpha = 1;

    // Axis ticks along the bottom and left edges, inside the plot.
    const [xlo, xhi, ylo, yhi] = target.window;
    ctx.font = `10.5px ${theme.font}`;
    ctx.fillStyle = theme.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    for (const x of niceTicks(xlo, xhi, Math.max(3, Math.round(w / 80)))) {
      const [px] = map(x, ylo);
      if (px < 22 || px > w - 12) continue;
      ctx.fillText(formatTick(x), px, h - 3);
    }
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    for (const y of niceTicks(ylo, yhi, Math.max(3, Math.round(h / 80)))) {
      const [, py] = map(xlo, y);
      if (py < 10 || py > h - 20) continue;
      ctx.fillText(formatTick(y), 4, py);
    }
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

/** Square dots, one path for all points (a draw call per point would be far slower). */
function drawPoints(ctx, xy, frame, colour, size) {
  const { xlo, ylo, sx, sy, h } = frame;
  const half = size / 2;
  ctx.fillStyle = colour;
  ctx.beginPath();
  for (let k = 0; k + 1 < xy.length; k += 2) {
    ctx.rect((xy[k] - xlo) * sx - half, h - (xy[k + 1] - ylo) * sy - half, size, size);
  }
  ctx.fill();
}

/**
 * Vectors (e.g. ASBS's corrector h) as arrows from their points, lengths multiplied by
 * `scale` (plot units per unit of the vector).
 */
function drawArrows(ctx, arrows, map, colour) {
  const { points, vectors, scale } = arrows;
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = 1.2;
  ctx.globalAlpha = 0.85;
  ctx.beginPath();
  for (let k = 0; k + 1 < points.length; k += 2) {
    const [x0, y0] = map(points[k], points[k + 1]);
    const [x1, y1] = map(points[k] + scale * vectors[k], points[k + 1] + scale * vectors[k + 1]);
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (!(len > 1.5)) continue;
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    // Head: two short strokes back from the tip.
    const ux = (x1 - x0) / len;
    const uy = (y1 - y0) / len;
    const head = Math.min(5, len * 0.4);
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - head * (ux + 0.5 * uy), y1 - head * (uy - 0.5 * ux));
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - head * (ux - 0.5 * uy), y1 - head * (uy + 0.5 * ux));
  }
  ctx.stroke();
  ctx.globalAlpha = 1;
}
