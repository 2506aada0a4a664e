// @ts-check
// Axis ticks at "nice" numbers (1, 2, 5 × 10^k), and their labels.

/**
 * @param {number} lo
 * @param {number} hi
 * @param {number} count roughly how many ticks are wanted
 * @returns {number[]}
 */
export function niceTicks(lo, hi, count) {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  const raw = (hi - lo) / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const unit = raw / power;
  const step = (unit < 1.5 ? 1 : unit < 3 ? 2 : unit < 7 ? 5 : 10) * power;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return ticks;
}

/** Short label: integers plainly, otherwise up to 3 significant digits. */
export function formatTick(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace("e+", "e");
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(3)));
}

/** Numbers in the readout with fixed decimals; "–" for missing values, no "−0.00". */
export function formatNumber(v, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (Math.abs(v) >= 1e6) return v.toExponential(2).replace("-", "−");
  const text = v.toFixed(digits);
  return Number(text) === 0 ? (0).toFixed(digits) : text.replace("-", "−");
}

/** Numbers of any magnitude (a loss) to `significant` digits. */
export function formatSignificant(v, significant = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(significant - 1).replace(/-/g, "−");
  return String(Number(v.toPrecision(significant))).replace("-", "−");
}

/** Large counts with thin separators: 1 234 567. */
export function formatCount(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return Math.round(v).toLocaleString("en-US").replace(/,/g, "\u202f");
}
