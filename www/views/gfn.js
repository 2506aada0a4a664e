// @ts-check
// The GFlowNet samplers' views (docs/methods.md §5): trajectories coloured by their balance
// residual log Z + S_F − S_B − log R, the local-search buffers D and D_LS as point layers,
// and the residual colour legend. Pure functions of what the core hands out; main.js owns
// the toggles.

/** Buffers hold up to tens of thousands of states: draw at most this many, evenly strided. */
export const MAX_BUFFER_POINTS = 4000;

/** At least this half-width of the residual colour scale (nats), so noise near 0 stays grey. */
const MIN_RESIDUAL_SCALE = 0.5;

/**
 * The half-width R of the symmetric residual scale [−R, R]: the 80th percentile of
 * |residual| (a few far-off paths would wash out the rest; they are drawn at the ends'
 * colours), rounded up to a readable value (0.5, 1, 1.5, 2, 3, 5, 7.5, 10, …) so the legend
 * does not flicker.
 * @param {ArrayLike<number>} residuals
 */
export function residualScale(residuals) {
  const sizes = Array.from(residuals, Math.abs)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const q = sizes.length > 0 ? sizes[Math.min(sizes.length - 1, Math.floor(0.8 * sizes.length))] : 0;
  const top = Math.max(MIN_RESIDUAL_SCALE, q);
  const decade = 10 ** Math.floor(Math.log10(top));
  for (const m of [1, 1.5, 2, 3, 5, 7.5, 10]) if (top <= m * decade * (1 + 1e-12)) return m * decade;
  return 10 * decade;
}

/**
 * Colour of residual r on [−R, R]: negative (the path is more likely under p_B·R/Z than
 * under p_F, i.e. the sampler under-visits it) toward `neg`, positive (over-visited) toward
 * `pos`, 0 at `mid`. Colours are [r, g, b].
 */
export function residualColour(r, scale, neg, mid, pos) {
  if (!Number.isFinite(r)) return `rgb(${mid.join(",")})`;
  const t = Math.max(-1, Math.min(1, r / scale));
  const end = t < 0 ? neg : pos;
  const f = Math.abs(t);
  const c = mid.map((m, i) => Math.round(m + (end[i] - m) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Every k-th point of a flat 2-D array so that at most `max` remain (a copy only when strided). */
export function stridePoints(xy, max = MAX_BUFFER_POINTS) {
  const n = Math.floor(xy.length / 2);
  if (n <= max) return xy;
  const stride = Math.ceil(n / max);
  const out = new Float32Array(2 * Math.ceil(n / stride));
  let o = 0;
  for (let k = 0; k < n; k += stride) {
    out[o++] = xy[2 * k];
    out[o++] = xy[2 * k + 1];
  }
  return out.subarray(0, o);
}

/** "#rrggbb" or "rgb(r, g, b)" → [r, g, b]; grey when unreadable. */
export function parseRgb(text) {
  const hex = /^#([0-9a-f]{6})$/i.exec(String(text).trim());
  if (hex) {
    const v = parseInt(hex[1], 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }
  const rgb = /rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)/i.exec(String(text));
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  return [128, 128, 128];
}

/**
 * The field view's per-trajectory colour function for these residuals.
 * @param {import("../theme.js").Theme} theme
 * @param {ArrayLike<number>} residuals
 * @returns {{ colourOf: (k: number) => string, scale: number }}
 */
export function residualColours(theme, residuals) {
  const scale = residualScale(residuals);
  const neg = parseRgb(theme["res-neg"]);
  const mid = parseRgb(theme["res-mid"]);
  const pos = parseRgb(theme["res-pos"]);
  const colours = Array.from(residuals, (r) => residualColour(r, scale, neg, mid, pos));
  return { colourOf: (k) => colours[k] ?? `rgb(${mid.join(",")})`, scale };
}

/**
 * Fills the legend element: a gradient bar from −R to +R and what the residual is.
 * @param {HTMLElement} el
 * @param {number} scale R
 * @param {string} reference what log Z the residual takes ("log Z", "log F(x₀)", "batch mean")
 * @param {boolean} backward whether the shown paths were drawn backward from D_LS
 */
export function updateResidualLegend(el, scale, reference, backward) {
  const key = `${scale}|${reference}|${backward}`;
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  const lo = el.querySelector("[data-end=lo]");
  const hi = el.querySelector("[data-end=hi]");
  const what = el.querySelector("[data-what]");
  lo.textContent = `−${formatScale(scale)}`;
  hi.textContent = `+${formatScale(scale)}`;
  // VarGrad and PIS learn no log Z: their residuals are centred on the batch's mean log weight.
  const ref = reference === "batch mean" ? "mean log w" : reference;
  what.textContent = `${ref} + S_F − S_B − log R per path (nats), ${backward ? "backward from D_LS" : "forward"}`;
}

function formatScale(v) {
  return String(Number(v.toPrecision(2)));
}
