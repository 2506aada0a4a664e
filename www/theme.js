// @ts-check
// Colours for the canvases: the --c-* tokens of www/palette.css (one definition for the page,
// the custom element and the iframe page), resolved for the colour scheme in use.

const NAMES = [
  "text", "muted", "border", "grid", "panel", "particle", "sample", "traj", "truth", "model",
  "elbo", "iw", "loss", "contour", "ramp-0", "ramp-1", "ramp-2", "ramp-3", "ramp-4",
  "source", "compare", "oracle", "corrector", "heat", "buffer-d", "buffer-ls", "res-neg", "res-mid", "res-pos",
];

/** @typedef {Record<string, string> & { ramp: number[][], font: string }} Theme */

/**
 * @param {Element} [root] the element under which the tokens apply (an embedded element's
 *   frame inside its shadow root; the page's root by default)
 * @returns {Theme}
 */
export function readTheme(root = document.documentElement) {
  // A token is light-dark(light, dark): a probe's computed colour is the one in use there.
  const probe = document.createElement("span");
  probe.hidden = true;
  (root === document.documentElement ? document.body ?? root : root).append(probe);
  const theme = /** @type {Theme} */ ({});
  try {
    for (const name of NAMES) {
      probe.style.color = "";
      probe.style.color = `var(--c-${name})`;
      theme[name] = getComputedStyle(probe).color;
    }
  } finally {
    probe.remove();
  }
  theme.ramp = [0, 1, 2, 3, 4].map((i) => parseColor(theme[`ramp-${i}`]));
  theme.font = getComputedStyle(root).getPropertyValue("--font-ui").trim() || "system-ui, sans-serif";
  return theme;
}

/** "#rrggbb" or "rgb(r, g, b)" → [r, g, b]. */
function parseColor(/** @type {string} */ text) {
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
export function watchTheme(/** @type {() => void} */ onChange) {
  const query = window.matchMedia("(prefers-color-scheme: dark)");
  query.addEventListener("change", () => onChange());
}
