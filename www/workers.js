// @ts-check
// Both cores in the browser without SharedArrayBuffer: a rollout's path blocks
// have independent random streams, so dedicated Web Workers can each simulate a share of
// them, given a copy of the weights per iteration in transferable buffers. The page needs
// no cross-origin isolation, so it still embeds anywhere.
//
// The protocol is the core's (src/shared_rollout.rs), the same for the bench page and the
// playground page: the coordinator (a SharedBench or a Playground, src/web_workers.rs) says
// which blocks go out as share messages {id, from, to, params, seeds, x}; this module only
// carries each message to a worker and its results {x, logRatio} back to
// `accept_rollout_share(id, from, x, logRatio)`. It never splits the blocks itself.
//
//   const pool = await RolloutWorkers.create(count, settings);
//   await pool.rollout(coordinator);   // the bench: one whole rollout of a SharedBench
//
// The playground page shares its training rollouts through `PageRolloutWorkers` below,
// handing the shares out as soon as the core starts a rollout within the page's frames.

import { loadedCoreBuild } from "./core.js";

/** Workers to use by default: one per extra core, at most one per extra block. */
export function defaultWorkerCount(blocks) {
  const cores = Math.max(1, Math.floor(navigator.hardwareConcurrency || 1));
  return Math.max(0, Math.min(cores - 1, blocks - 1));
}

export class RolloutWorkers {
  constructor(workers) {
    this.workers = workers;
    this.nextId = 1;
    this.pending = new Map();
    for (const w of workers) {
      w.onmessage = (event) => this.settle(event.data);
      w.onerror = (event) => {
        const message = event.message || "a rollout worker failed to load";
        for (const { reject } of this.pending.values()) reject(new Error(message));
        this.pending.clear();
      };
    }
  }

  /**
   * Starts `count` workers, each set up with `settings` (the bench's configuration, or with
   * `kind` "playground" a playground's resolved one).
   */
  static async create(count, settings, kind = "bench") {
    const url = new URL("./rollout-worker.js", import.meta.url);
    url.searchParams.set("core", loadedCoreBuild() ?? "");
    const workers = Array.from({ length: count }, () => new Worker(url, { type: "module" }));
    const pool = new RolloutWorkers(workers);
    await pool.configure(settings, kind);
    return pool;
  }

  /** Sets every worker up (again) for rollouts of `settings` (see `create`). */
  configure(settings, kind = "bench") {
    return Promise.all(this.workers.map((w) => this.request(w, { type: "init", kind, config: settings })));
  }

  request(worker, msg, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id }, transfer);
    });
  }

  settle(msg) {
    const entry = this.pending.get(msg.id);
    if (!entry) return;
    this.pending.delete(msg.id);
    if (msg.error) entry.reject(new Error(msg.error));
    else entry.resolve(msg);
  }

  /**
   * One rollout of a SharedBench `coordinator` with its shares on the workers: the
   * coordinator starts it and says what goes out, advances the blocks it keeps (block 0,
   * whose paths are drawn as trajectories) while the workers run theirs, and takes their
   * results back. Returns the number of parties (this thread and the workers used).
   */
  async rollout(coordinator) {
    const shares = coordinator.begin();
    const results = this.send(shares);
    coordinator.advance();
    for (const r of await Promise.all(results)) {
      if (!coordinator.accept_rollout_share(r.id, r.from, r.x, r.logRatio)) throw new Error(`rollout share ${r.id} came back stale`);
    }
    return shares.length + 1;
  }

  /**
   * Hands each share message (from the coordinator, see the top of this file) to a worker
   * of its own, its arrays transferred; returns a promise per share of {id, from, x, logRatio}.
   */
  send(shares) {
    if (shares.length > this.workers.length) throw new Error(`${shares.length} shares for ${this.workers.length} workers`);
    return shares.map(({ id, from, params, seeds, x }, i) =>
      this.request(this.workers[i], { type: "run", params, seeds, x }, [params.buffer, seeds.buffer, x.buffer]).then((r) => ({
        id,
        from,
        x: r.x,
        logRatio: r.logRatio,
      })),
    );
  }

  terminate() {
    for (const w of this.workers) w.terminate();
    this.workers = [];
  }
}

/** How long the page waits for a worker's share before it simulates the share itself. */
const SHARE_PATIENCE_MS = 20000;

/**
 * The playground page's training rollouts shared with dedicated Web Workers. A run (a
 * Playground) is attached with the workers the link asks for (null: `defaultWorkerCount`);
 * `train` replaces `Playground.train` in the frame loop: it hands out a rollout's shares as
 * soon as the core starts one, and each worker's results go back by the rollout's id, so
 * results meant for an earlier rollout or run are discarded by the core. A worker that fails
 * to load, throws, or does not answer within SHARE_PATIENCE_MS sends every run back to the
 * page's thread for the rest of the page's life, and `status` says why.
 */
export class PageRolloutWorkers {
  /** `onChange()` is called when `status` changes. */
  constructor(onChange = () => {}) {
    this.onChange = onChange;
    this.pool = null;
    this.pg = null;
    this.generation = 0;
    this.sentAt = 0;
    this.failure = null;
    this.status = "–";
    /** Shares taken back, and results discarded as stale (for the end-to-end test). */
    this.accepted = 0;
    this.stale = 0;
  }

  /** Makes `pg` the run whose rollouts are shared, with `wanted` workers (null: the default). */
  async attach(pg, wanted) {
    const generation = ++this.generation;
    this.pg = pg;
    const blocks = pg.rollout_blocks();
    const count = Math.min(wanted === null ? defaultWorkerCount(blocks) : wanted, Math.max(0, blocks - 1));
    if (this.failure) return this.setStatus(`this thread (${this.failure})`);
    if (count === 0) {
      const why = blocks === 0 ? "this sampler's rollout is not shared" : blocks < 2 ? "one block of paths" : wanted === 0 ? "workers=0" : "one core";
      return this.setStatus(`this thread (${why})`);
    }
    this.setStatus(`starting ${count} worker${count > 1 ? "s" : ""}…`);
    try {
      if (!this.pool || this.pool.workers.length !== count) {
        if (this.pool) this.pool.terminate();
        this.pool = null;
        this.pool = await RolloutWorkers.create(count, pg.config(), "playground");
      } else {
        await this.pool.configure(pg.config(), "playground");
      }
      if (generation !== this.generation) return;
      pg.set_rollout_workers(count);
      this.setStatus(`this thread + ${count} Web Worker${count > 1 ? "s" : ""}`);
    } catch (err) {
      if (generation === this.generation) this.fail(err);
    }
  }

  /** Trains `pg` for `budgetMs` (as Playground.train), handing out shares as rollouts start. */
  train(pg, budgetMs) {
    const start = performance.now();
    let units = pg.train(budgetMs);
    while (this.dispatch(pg)) {
      const left = budgetMs - (performance.now() - start);
      if (left <= 0) break;
      units += pg.train(left);
    }
    if (pg === this.pg && this.pool && performance.now() - this.sentAt > SHARE_PATIENCE_MS && pg.rollout_waiting()) {
      this.fail(new Error(`a worker did not answer within ${SHARE_PATIENCE_MS / 1000} s`));
    }
    return units;
  }

  /** Hands out the shares of a rollout `pg` just started; whether there were any. */
  dispatch(pg) {
    if (pg !== this.pg || !this.pool) return false;
    const shares = pg.pending_rollout_shares();
    if (shares.length === 0) return false;
    if (shares.length > this.pool.workers.length) {
      // Shares decided before the pool shrank: the core simulates them itself.
      pg.reclaim_rollout();
      return false;
    }
    this.sentAt = performance.now();
    const results = this.pool.send(shares);
    results.forEach((result) =>
      result.then(
        (r) => {
          // A result for a run that is gone is dropped here; the core refuses stale rollouts'.
          if (pg !== this.pg) return;
          try {
            if (pg.accept_rollout_share(r.id, r.from, r.x, r.logRatio)) this.accepted += 1;
            else this.stale += 1;
          } catch (err) {
            this.fail(err);
          }
        },
        (err) => {
          if (pg === this.pg) this.fail(err);
        },
      ),
    );
    return true;
  }

  /** Back to the page's thread for good: the rollout in flight is simulated here. */
  fail(err) {
    this.failure = `a worker failed: ${err && err.message ? err.message : err}`;
    this.generation += 1;
    if (this.pool) this.pool.terminate();
    this.pool = null;
    if (this.pg) {
      this.pg.set_rollout_workers(0);
      this.pg.reclaim_rollout();
    }
    this.setStatus(`this thread (${this.failure})`);
  }

  setStatus(text) {
    this.status = text;
    this.onChange();
  }
}
