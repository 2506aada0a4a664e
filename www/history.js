// @ts-check
// The charts' copy of a run's metric history, kept up to date incrementally. Its own module
// (no import of the wasm glue) so that it is tested without a build.
/** The series of the core's metric history (`Playground.history`). */
const HISTORY_SERIES = /** @type {const} */ (["iteration", "loss", "log_z_elbo", "log_z_iw", "ess"]);

/**
 * A run's metric history, copied incrementally: each `update` appends only the entries the
 * core recorded since the last one (`history_since`), so a long run's charts do not make
 * the core serialize its whole history every iteration. A history that was replaced (a
 * reset, another run) is noticed by its last copied entry and copied afresh.
 */
export class HistoryCopy {
  constructor() {
    /** @type {import("../pkg/boltzmann_playground.js").Playground | null} */
    this.pg = null;
    /** @type {Record<(typeof HISTORY_SERIES)[number], number[]>} */
    this.series = { iteration: [], loss: [], log_z_elbo: [], log_z_iw: [], ess: [] };
  }

  clear() {
    this.pg = null;
    for (const key of HISTORY_SERIES) this.series[key] = [];
  }

  /**
   * The history of `pg`, brought up to date.
   * @param {import("../pkg/boltzmann_playground.js").Playground} pg
   */
  update(pg) {
    const len = pg.history_len();
    let have = this.series.iteration.length;
    if (pg !== this.pg || len < have) {
      this.clear();
      this.pg = pg;
      have = 0;
    }
    if (len === have) return this.series;
    // From the last copied entry, to check that it is still the core's.
    const part = pg.history_since(Math.max(0, have - 1));
    let from = 0;
    if (have > 0) {
      if (!Object.is(part.loss[0], this.series.loss[have - 1])) {
        this.clear();
        this.pg = pg;
        return this.update(pg);
      }
      from = 1;
    }
    for (const key of HISTORY_SERIES) {
      const values = part[key];
      for (let i = from; i < values.length; i++) this.series[key].push(values[i]);
    }
    return this.series;
  }
}
