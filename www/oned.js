// @ts-check
// Pure helpers of the 1-D views (no DOM): histograms as densities, the exact DDPM time
// marginals by Gaussian smoothing of the true density, and Tweedie's denoiser from them.

/**
 * Histogram of `xs` over `bins` equal bins of [lo, hi] as a density: count / (n · width),
 * n counting every sample (mass outside the window is lost, as for the true density there).
 * @returns {Float64Array}
 */
export function histogramDensity(xs, lo, hi, bins) {
  const out = new Float64Array(bins);
  const n = xs.length;
  if (n === 0 || !(hi > lo)) return out;
  const width = (hi - lo) / bins;
  for (let k = 0; k < n; k++) {
    const b = Math.floor((xs[k] - lo) / width);
    if (b >= 0 && b < bins) out[b] += 1;
  }
  for (let b = 0; b < bins; b++) out[b] /= n * width;
  return out;
}

/**
 * The density p convolved with N(0, variance), on the same bins (bin width `width`): a
 * discrete Gaussian kernel normalised to sum 1, so the mass is kept and variance 0 is the
 * identity. The forward process x_t = x_0 + N(0, σ_q² t) gives p_t = p_0 * N(0, σ_q² t)
 * (docs/methods.md §4).
 * @returns {Float64Array}
 */
export function smoothDensity(p, width, variance) {
  const bins = p.length;
  const out = new Float64Array(bins);
  const s2 = variance / (width * width); // kernel variance in bins
  if (!(s2 > 1e-6)) {
    for (let b = 0; b < bins; b++) out[b] = p[b];
    return out;
  }
  const reach = Math.min(bins - 1, Math.ceil(6 * Math.sqrt(s2)));
  const kernel = new Float64Array(2 * reach + 1);
  let sum = 0;
  for (let k = -reach; k <= reach; k++) {
    kernel[k + reach] = Math.exp((-0.5 * k * k) / s2);
    sum += kernel[k + reach];
  }
  for (let k = 0; k < kernel.length; k++) kernel[k] /= sum;
  for (let c = 0; c < bins; c++) {
    const v = p[c];
    if (!(v > 0)) continue;
    const from = Math.max(0, c - reach);
    const to = Math.min(bins - 1, c + reach);
    for (let b = from; b <= to; b++) out[b] += v * kernel[b - c + reach];
  }
  return out;
}

/**
 * Exact time marginals p_t for t = j/T, j = 0..T, from the true density `p0` on `bins` bins of
 * [lo, hi]: rows of `bins` values, and each row's maximum (for per-column shading).
 * @returns {{ data: Float64Array, norm: Float64Array, times: number, bins: number }}
 */
export function exactTimeMarginals(p0, lo, hi, sigmaQ, steps) {
  const bins = p0.length;
  const times = steps + 1;
  const width = (hi - lo) / bins;
  const data = new Float64Array(times * bins);
  const norm = new Float64Array(times);
  for (let j = 0; j < times; j++) {
    const row = smoothDensity(p0, width, (sigmaQ * sigmaQ * j) / steps);
    data.set(row, j * bins);
    norm[j] = Math.max(...row);
  }
  return { data, norm, times, bins };
}

/**
 * Tweedie's formula for one reverse step: E[x_{t−Δt} | x_t = x] − x = σ_q² Δt · ∂ₓ log p_t(x),
 * at the bin centres of a density row (central differences; NaN where p_t is ~0).
 * @returns {Float64Array}
 */
export function tweedieResidual(row, width, sigmaQ, dt) {
  const bins = row.length;
  const out = new Float64Array(bins).fill(NaN);
  const peak = Math.max(...row);
  for (let b = 1; b + 1 < bins; b++) {
    const [a, c] = [row[b - 1], row[b + 1]];
    if (!(a > 1e-4 * peak && c > 1e-4 * peak)) continue;
    out[b] = (sigmaQ * sigmaQ * dt * (Math.log(c) - Math.log(a))) / (2 * width);
  }
  return out;
}

/**
 * A box average over ±`dt` rows and ±`db` bins of a times × bins array (edges average over
 * what exists): the learned p_t from a thousand particles per row is too grainy to read.
 * @returns {Float64Array}
 */
export function boxSmooth(data, times, bins, dt = 2, db = 1) {
  const out = new Float64Array(times * bins);
  for (let j = 0; j < times; j++) {
    for (let b = 0; b < bins; b++) {
      let sum = 0;
      let n = 0;
      for (let jj = Math.max(0, j - dt); jj <= Math.min(times - 1, j + dt); jj++) {
        for (let bb = Math.max(0, b - db); bb <= Math.min(bins - 1, b + db); bb++) {
          sum += data[jj * bins + bb];
          n += 1;
        }
      }
      out[j * bins + b] = sum / n;
    }
  }
  return out;
}
