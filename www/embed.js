// @ts-check
// The iframe page (embed.html): one <boltzmann-playground> configured by the URL hash and
// driven by its host with postMessage, for hosts that allow iframes but no scripts.
//
// Host → page: {type: "play"} | {type: "pause"} | {type: "step"} | {type: "reset"}
//              | {type: "set-state", state: {...}} | {type: "status"}
// Page → host: {type: "ready", state} | {type: "height", height} | {type: "state", state}
//              | {type: "metrics", metrics} (at most once a second) | {type: "error", message}
//              | {type: "status", state, ignored} (the answer to "status")
// set-state applies its settings by the run controller's rules, as the main page's controls do
// (www/controller.js: which keep the progress, what a preset or sampler change keeps).
// A message of any other shape is ignored and counted: the count is in the reply to "status"
// and in <html data-ignored-messages>. Only messages from the parent window are read.

import { loadCore } from "./element.js";
import { decodeHash, encodeHash, shorten } from "./state.js";
import { sceneVersus } from "./compare.js";
import { findScene, SCENES } from "./scenes.js";
import { isCommand } from "./protocol.js";

const METRICS_EVERY = 1000;
/** Hash keys of the embedded element itself, not of the run. */
const ELEMENT_KEYS = ["controls", "theme", "autoplay", "scene"];
const THEMES = ["auto", "light", "dark"];

const root = document.documentElement;
const el = /** @type {import("./element.js").BoltzmannPlayground} */ (document.getElementById("playground"));
let ignored = 0;
let lastMetrics = 0;
let metricsTimer = 0;
let pendingMetrics = null;
root.dataset.ignoredMessages = "0";

function post(message) {
  // Replies carry no secrets: what the page shows anyway. The host's origin is unknown to a
  // page that any site may embed, hence "*".
  if (window.parent !== window) window.parent.postMessage(message, "*");
}

/** Splits the element's own keys off the hash; the rest is the run's state. */
function readHash() {
  const warnings = [];
  const rest = [];
  const own = {};
  for (const part of window.location.hash.replace(/^#/, "").split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    if (ELEMENT_KEYS.includes(key)) {
      let value = "";
      try {
        value = decodeURIComponent(eq < 0 ? "" : part.slice(eq + 1));
      } catch {
        warnings.push(`Could not read "${shorten(part)}" in the link (bad %-encoding); it was ignored.`);
        continue;
      }
      own[key] = value;
    } else {
      rest.push(part);
    }
  }
  return { own, rest: rest.join("&"), warnings };
}

async function main() {
  await loadCore();
  const { own, rest, warnings } = readHash();
  const link = decodeHash(rest);
  warnings.push(...link.warnings);
  if (own.theme !== undefined) {
    if (THEMES.includes(own.theme)) el.setAttribute("theme", own.theme);
    else warnings.push(`theme=${shorten(own.theme)} in the link is not one of ${THEMES.join(", ")}; it was ignored.`);
  }
  if (own.controls !== undefined) el.setAttribute("controls", own.controls);
  if (own.autoplay !== undefined) {
    if (own.autoplay === "1" || own.autoplay === "true" || own.autoplay === "") el.setAttribute("autoplay", "");
    else if (own.autoplay !== "0" && own.autoplay !== "false") warnings.push(`autoplay=${shorten(own.autoplay)} in the link is not 1 or 0; it was ignored.`);
  }
  let config = link.config;
  let compare = link.compare ?? false;
  let versus = link.versus;
  if (own.scene !== undefined) {
    const scene = findScene(own.scene);
    if (scene) {
      el.setAttribute("scene", scene.name);
      config = { ...scene.config, ...link.config };
      if (link.compare === null && scene.compare) compare = true;
      versus = versus ?? sceneVersus(scene);
    } else {
      warnings.push(`unknown scene "${shorten(own.scene)}" in the link (known: ${SCENES.map((s) => s.name).join(", ")}); it was ignored.`);
    }
  }
  if (link.budget !== null) el.setBudget(link.budget);
  if (link.workers !== null) warnings.push(`workers=${link.workers} in the link is not used here: the embedded playground trains on the page's thread; it was ignored.`);
  // The main page's layout keys: the embedded element has no such parts.
  for (const key of /** @type {const} */ (["axes", "hide", "views"])) {
    if (link[key] !== null) warnings.push(`${key} in the link is not used here: the embedded playground shows one plot; it was ignored.`);
  }
  el.configOverride = { config, compare, versus };
  el.showWarnings(warnings);

  el.addEventListener("bp-state", (/** @type {CustomEvent} */ e) => {
    writeHash(e.detail);
    post({ type: "state", state: e.detail });
  });
  el.addEventListener("bp-metrics", (/** @type {CustomEvent} */ e) => queueMetrics(e.detail));
  el.addEventListener("bp-error", (/** @type {CustomEvent} */ e) => post({ type: "error", message: e.detail.message }));
  window.addEventListener("message", onMessage);
  // A host that changes the iframe's src hash gets the run the new hash describes (the page's
  // own updates use replaceState, which fires no hashchange).
  window.addEventListener("hashchange", () => window.location.reload());
  new ResizeObserver(() => post({ type: "height", height: Math.ceil(root.scrollHeight) })).observe(document.body);

  if (!(await el.start())) {
    // The link's run could not start: say so, and keep the protocol answering.
    post({ type: "error", message: el.errorMessage });
  }
  root.dataset.ready = "true";
  post({ type: "ready", state: el.state });
}

function writeHash(state) {
  if (!state.config) return;
  const parts = [encodeHash({ config: state.config, compare: state.compare, versus: state.versus, budget: state.budget })];
  for (const key of ["controls", "theme"]) if (el.hasAttribute(key)) parts.push(`${key}=${encodeURIComponent(el.getAttribute(key))}`);
  if (el.hasAttribute("scene")) parts.push(`scene=${encodeURIComponent(el.getAttribute("scene"))}`);
  const hash = `#${parts.join("&")}`;
  if (window.location.hash !== hash) window.history.replaceState(null, "", hash);
}

/** Metrics at most once a second; the latest wins. */
function queueMetrics(metrics) {
  pendingMetrics = metrics;
  if (metricsTimer) return;
  const wait = Math.max(0, lastMetrics + METRICS_EVERY - performance.now());
  metricsTimer = setTimeout(() => {
    metricsTimer = 0;
    lastMetrics = performance.now();
    post({ type: "metrics", metrics: pendingMetrics });
  }, wait);
}

async function onMessage(event) {
  if (event.source !== window.parent || window.parent === window || !isCommand(event.data)) {
    ignored += 1;
    root.dataset.ignoredMessages = String(ignored);
    return;
  }
  const msg = event.data;
  switch (msg.type) {
    case "play":
      await el.play();
      break;
    case "pause":
      el.pause();
      break;
    case "step":
      await el.step();
      post({ type: "state", state: el.state });
      break;
    case "reset":
      await el.reset();
      break;
    case "set-state": {
      const result = await el.setState(msg.state);
      if (!result.ok) post({ type: "error", message: result.message });
      break;
    }
    case "status":
      post({ type: "status", state: el.state, ignored });
      break;
  }
}

main().catch((err) => {
  root.dataset.ready = "error";
  post({ type: "error", message: String(err && err.message ? err.message : err) });
});
