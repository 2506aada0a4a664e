// @ts-check
// Contour lines of a scalar grid by marching squares.
//
// values[i + j * nx] is the grid value at column i, row j. The result is a flat list of
// segments x0, y0, x1, y1 in grid-index coordinates (i, j as floats), which the caller maps
// to pixels. Saddle cells are resolved with the cell's mean value.

/**
 * @param {ArrayLike<number>} values
 * @param {number} nx
 * @param {number} ny
 * @param {number} level
 * @returns {number[]}
 */
export function contourSegments(values, nx, ny, level) {
  const out = [];
  const at = (i, j) => {
    const v = values[i + j * nx];
    // -Infinity or NaN (zero density) counts as far below any level.
    return Number.isFinite(v) ? v : -1e300;
  };
  // Crossing point on the edge from corner a to corner b, as a fraction from a.
  const frac = (va, vb) => {
    const d = vb - va;
    return d === 0 ? 0.5 : Math.min(1, Math.max(0, (level - va) / d));
  };
  for (let j = 0; j + 1 < ny; j++) {
    for (let i = 0; i + 1 < nx; i++) {
      const v00 = at(i, j);
      const v10 = at(i + 1, j);
      const v11 = at(i + 1, j + 1);
      const v01 = at(i, j + 1);
      const b00 = v00 > level;
      const b10 = v10 > level;
      const b11 = v11 > level;
      const b01 = v01 > level;
      if (b00 === b10 && b10 === b11 && b11 === b01) continue;
      // Edge crossings, in grid coordinates; undefined where the edge is not crossed.
      const bottom = b00 !== b10 ? [i + frac(v00, v10), j] : undefined;
      const right = b10 !== b11 ? [i + 1, j + frac(v10, v11)] : undefined;
      const top = b01 !== b11 ? [i + frac(v01, v11), j + 1] : undefined;
      const left = b00 !== b01 ? [i, j + frac(v00, v01)] : undefined;
      const crossed = [bottom, right, top, left].filter((p) => p !== undefined);
      if (crossed.length === 2) {
        out.push(crossed[0][0], crossed[0][1], crossed[1][0], crossed[1][1]);
        continue;
      }
      // Saddle: all four edges crossed. Decide which pair of opposite corners is joined.
      const centreHigh = (v00 + v10 + v11 + v01) / 4 > level;
      // "Isolate 10 and 01": segments (bottom, right) and (top, left).
      const isolate1001 = b00 ? centreHigh : !centreHigh;
      if (isolate1001) {
        out.push(bottom[0], bottom[1], right[0], right[1], top[0], top[1], left[0], left[1]);
      } else {
        out.push(bottom[0], bottom[1], left[0], left[1], right[0], right[1], top[0], top[1]);
      }
    }
  }
  return out;
}
