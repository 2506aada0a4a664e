// Colours for the canvases, read from the CSS custom properties so that light and dark
// themes are defined in one place (style.css).

const NAMES = [
  "text", "muted", "border", "grid", "panel", "particle", "sample", "traj", "truth", "model",
  "elbo", "iw", "loss", "contour", "ramp-0", "ramp-1", "ramp-2", "ramp-3", "ramp-4",
  "source", "compare", "oracle", "corrector", "heat", "buffer-d", "buffer-ls", "res-neg", "res-mid", "res-pos",
];

/** @typedef {Record<string, string> & { ramp: number[][], font: string }} Theme */

/**
 * @param {Element} [root] the element whose custom properties hold the colours (an embedded
 *   element's shadow root wrapper; the page's root by default)
 * @returns {Theme}
 */
export function readTheme(root = document.documentElement) {
  const style = getComputedStyle(root);
  const theme = /** @type {Theme} */ ({});
  for (const name of NAMES) theme[name] = style.getPropertyValue(`--c-${name}`).trim() || "#888";
  theme.ramp = [0, 1, 2, 3, 4].map((i) => parseColor(theme[`ramp-${i}`]));
  theme.font = style.getPropertyValue("--font-ui").trim() || "system-ui, sans-serif";
  return theme;
}

/** "#rrggbb" or "rgb(r, g, b)" → [r, g, b]. */
function parseColor(text) {
  const hex = /^#([0-9a-f]{6})$/i.exec(text);
  if (hex) {
    const v = parseInt(hex[1], 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }
  const rgb = /rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)/i.exec(text);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  return [128, 128, 128];
}

/** Calls `onChange` when the colour scheme flips (the page redraws its caches). */
export function watchTheme(onChange) {
  const query = window.matchMedia("(prefers-color-scheme: dark)");
  query.addEventListener("change", () => onChange());
}
