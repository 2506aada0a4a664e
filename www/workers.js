// Both cores in the browser without SharedArrayBuffer (issue 5): a rollout's path blocks
// have independent random streams, so dedicated Web Workers can each simulate a share of
// them, given a copy of the weights per iteration in transferable buffers. The page needs
// no cross-origin isolation, so it still embeds anywhere.
//
//   const pool = await RolloutWorkers.create(count, settings);
//   await pool.rollout(coordinator);   // coordinator: a SharedBench (see src/web_workers.rs)

/** Workers to use by default: one per extra core, at most one per extra block. */
export function defaultWorkerCount(blocks) {
  const cores = Math.max(1, Math.floor(navigator.hardwareConcurrency || 1));
  return Math.max(0, Math.min(cores - 1, blocks - 1));
}

/** Contiguous ranges of blocks for `parties` parties (the coordinator is party 0). */
export function shareBlocks(blocks, parties) {
  const ranges = [];
  for (let p = 0; p < parties; p++) {
    const from = Math.floor((p * blocks) / parties);
    const to = Math.floor(((p + 1) * blocks) / parties);
    if (to > from) ranges.push([from, to]);
  }
  return ranges;
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

  /** Starts `count` workers, each set up with `settings` (the bench's configuration). */
  static async create(count, settings) {
    const url = new URL("./rollout-worker.js", import.meta.url);
    const workers = Array.from({ length: count }, () => new Worker(url, { type: "module" }));
    const pool = new RolloutWorkers(workers);
    await Promise.all(workers.map((w) => pool.request(w, { type: "init", config: settings })));
    return pool;
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
   * One rollout of `coordinator` (after its begin()): the coordinator advances the first
   * share itself (it holds block 0, whose paths are drawn as trajectories) while each
   * worker advances one of the others; the results are handed back with accept().
   */
  async rollout(coordinator) {
    const shares = shareBlocks(coordinator.blocks(), this.workers.length + 1);
    const remote = shares.slice(1).map(([from, to], i) => {
      const params = coordinator.params();
      const seeds = coordinator.seeds(from, to);
      const x = coordinator.x(from, to);
      return this.request(
        this.workers[i],
        { type: "run", params, seeds, x },
        [params.buffer, seeds.buffer, x.buffer],
      ).then((r) => ({ from, ...r }));
    });
    coordinator.advance(shares[0][0], shares[0][1]);
    for (const r of await Promise.all(remote)) coordinator.accept(r.from, r.x, r.logRatio);
    return shares.length;
  }

  terminate() {
    for (const w of this.workers) w.terminate();
    this.workers = [];
  }
}
