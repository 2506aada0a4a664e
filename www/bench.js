// The bench page: runs the compute benchmark in the wasm core and shows its JSON.
// window.benchResult holds the result (or {error}) when done, for scripts/bench-browser.mjs.
import init, { bench } from "../pkg/boltzmann_playground.js";

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

async function main() {
  const status = document.getElementById("status");
  const params = new URLSearchParams(location.search);
  const config = { preset: params.get("preset") || "default" };
  for (const f of FLAGS) {
    if (params.has(f)) config[f] = Number(params.get(f));
  }
  await init();
  status.textContent = `running ${JSON.stringify(config)} …`;
  // Let the status paint before the blocking run.
  await frameGaps(50);
  const result = bench(config);
  status.textContent = "done";
  document.getElementById("result").textContent = JSON.stringify(result, null, 2);
  window.benchResult = result;
}

main().catch((err) => {
  document.getElementById("status").textContent = `error: ${err && err.message ? err.message : err}`;
  window.benchResult = { error: String(err && err.message ? err.message : err) };
});
