// @ts-check
// The bench page: runs the compute benchmark in the wasm core and shows its JSON.
// window.benchResult holds the result (or {error}) when done, for scripts/bench-browser.mjs.
// `?workers=N` shares each rollout with N dedicated Web Workers (default: one per extra
// core); `workers=0` runs everything on this thread.
import { bench, SharedBench, engine_peak_gflops, core_build } from "../pkg/boltzmann_playground.js";
import { loadCore } from "./core.js";
import { RolloutWorkers, defaultWorkerCount } from "./workers.js";

const FLAGS = ["paths", "steps", "hidden", "layers", "batch", "inner", "epochs", "warmup", "seed"];

/** Median of the gaps between requestAnimationFrame timestamps over `ms` milliseconds. */
function frameGaps(ms) {
  return new Promise((resolve) => {
    const stamps = [];
    const tick = (t) => {
      stamps.push(t);
      if (t - stamps[0] < ms) requestAnimationFrame(tick);
      else {
        const gaps = stamps.slice(1).map((s, i) => s - stamps[i]).sort((a, b) => a - b);
        resolve(gaps.length ? gaps[Math.floor(gaps.length / 2)] : null);
      }
    };
    requestAnimationFrame(tick);
  });
}

/** The benchmark with each rollout shared between this thread and Web Workers. */
async function sharedBench(config, workersParam) {
  const coordinator = new SharedBench(config);
  const wanted = workersParam === null ? defaultWorkerCount(coordinator.rollout_blocks()) : Number(workersParam);
  if (!Number.isInteger(wanted) || wanted < 0) throw new Error(`workers must be a whole number, got ${workersParam}`);
  const pool = await RolloutWorkers.create(wanted, config);
  coordinator.set_rollout_workers(wanted);
  try {
    let parties = 1;
    for (let i = 0; i < coordinator.iterations(); i++) {
      const t0 = performance.now();
      parties = await pool.rollout(coordinator);
      const rollout = (performance.now() - t0) / 1e3;
      coordinator.finish(rollout, i >= coordinator.warmup());
    }
    const result = coordinator.report(parties);
    result.workers = parties - 1;
    result.peak_gflops = engine_peak_gflops();
    result.core_build = core_build();
    return result;
  } finally {
    pool.terminate();
    coordinator.free();
  }
}

async function main() {
  const status = document.getElementById("status");
  const params = new URLSearchParams(location.search);
  const config = { preset: params.get("preset") || "default" };
  for (const f of FLAGS) {
    if (params.has(f)) config[f] = Number(params.get(f));
  }
  if (params.has("activation")) config.activation = params.get("activation");
  // `?core=simd128` measures the fallback core where relaxed SIMD would be chosen.
  const core = await loadCore(params.get("core"));
  if (core.warning) throw new Error(core.warning);
  status.textContent = `running ${JSON.stringify(config)} …`;
  // Let the status paint before the blocking run.
  await frameGaps(50);
  const result = params.has("workers") && Number(params.get("workers")) === 0
    ? bench(config)
    : await sharedBench(config, params.get("workers"));
  status.textContent = "done";
  document.getElementById("result").textContent = JSON.stringify(result, null, 2);
  /** @type {any} */ (window).benchResult = result;
}

main().catch((err) => {
  document.getElementById("status").textContent = `error: ${err && err.message ? err.message : err}`;
  /** @type {any} */ (window).benchResult = { error: String(err && err.message ? err.message : err) };
});
