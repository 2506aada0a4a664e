// @ts-check
// A dedicated Web Worker that simulates a share of a rollout's path blocks: it is
// given the coordinator's settings once (the bench's, or with kind "playground" a run's; again
// for each new run), then per iteration a copy of the parameters, X_0
// of its paths and its blocks' seeds (transferred typed arrays), and returns the final
// positions and Girsanov log-ratios. See www/workers.js.
import { RolloutShareWorker } from "../pkg/boltzmann_playground.js";
import { loadCore } from "./core.js";

let worker = null;
// The page names its core build in this script's URL, so that both simulate alike.
const ready = loadCore(new URLSearchParams(self.location.search).get("core"));

self.onmessage = async (event) => {
  const msg = event.data;
  try {
    await ready;
    if (msg.type === "init") {
      if (worker) worker.free();
      worker = null;
      worker = msg.kind === "playground" ? RolloutShareWorker.for_playground(msg.config) : new RolloutShareWorker(msg.config);
      self.postMessage({ id: msg.id });
    } else if (msg.type === "run") {
      worker.run(msg.params, msg.seeds, msg.x);
      const x = worker.x();
      const logRatio = worker.log_ratio();
      /** @type {any} */ (self).postMessage({ id: msg.id, x, logRatio }, [x.buffer, logRatio.buffer]);
    } else {
      throw new Error(`unknown message type ${JSON.stringify(msg.type)}`);
    }
  } catch (err) {
    self.postMessage({ id: msg.id, error: String(err && err.message ? err.message : err) });
  }
};
