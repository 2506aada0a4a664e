// Runs www/bench.html of the built site (dist/) in headless Chromium and prints its JSON,
// plus the wasm file's gzipped size. Used by scripts/bench; reuses tests/e2e's playwright-core.
//
//   node scripts/bench-browser.mjs --preset browser --epochs 5
//   node scripts/bench-browser.mjs --page-speed 10 --reps 3 [--hash "preset=seed"]
// The second form instead measures the playground page's training speed (iterations/s and
// steps/s while it plays) with its rollouts shared with Web Workers (the default) and on one
// thread (workers=0), at the default budget and at the largest (40 ms per frame), the
// variants interleaved in each repetition so that the machine's load hits them alike, and
// the frames' median and longest gap while it plays. With `--against DIR` (another build of
// the site, e.g. of an earlier commit) every variant also runs on that site, interleaved,
// and the summary prints this build's medians as ratios of that one's.
// Environment: CHROMIUM (default /usr/bin/chromium), DIST (default dist/).

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "tests", "e2e", "package.json"));
const { chromium } = require("playwright-core");
const distDir = resolve(process.env.DIST || join(root, "dist"));
const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
};

function serve(dir = distDir) {
  const server = createServer(async (req, res) => {
    let path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path.endsWith("/")) path += "index.html";
    const file = resolve(join(dir, path));
    if (!file.startsWith(dir + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": MIME[extname(file)] || "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

const args = process.argv.slice(2);
const query = new URLSearchParams();
let frameSeconds = 0;
const page = { seconds: 0, reps: 3, hash: "", against: "" };
for (let i = 0; i + 1 < args.length; i += 2) {
  const key = args[i].replace(/^--/, "");
  if (key === "frames") frameSeconds = Number(args[i + 1]);
  else if (key === "page-speed") page.seconds = Number(args[i + 1]);
  else if (key === "reps") page.reps = Number(args[i + 1]);
  else if (key === "hash") page.hash = args[i + 1];
  else if (key === "against") page.against = resolve(args[i + 1]);
  else query.set(key, args[i + 1]);
}

const server = await serve();
const sites = [{ name: "this", server }];
if (page.against) sites.push({ name: "against", server: await serve(page.against) });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
/** Iterations and steps per second of the playground at `hash` over `seconds` of play. */
async function pageSpeed(hash, seconds, site = server) {
  const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await p.goto(`http://127.0.0.1:${site.address().port}/#${hash}`);
  await p.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
  // The workers are set up (or not) within a second or two; then warm up while playing.
  await p.waitForTimeout(2000);
  if (!(await p.evaluate(() => window.boltzmannPlayground.state.playing))) await p.click("#play");
  await p.waitForTimeout(2000);
  const r = await p.evaluate(async (ms) => {
    const { playground: pg, workers } = window.boltzmannPlayground;
    const read = () => ({ t: performance.now(), i: pg.metrics().iteration, u: pg.metrics().work_units });
    const stamps = [];
    let measuring = true;
    const tick = (t) => {
      stamps.push(t);
      if (measuring) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    const a = read();
    await new Promise((done) => setTimeout(done, ms));
    const b = read();
    measuring = false;
    const gaps = stamps.slice(1).map((v, i) => v - stamps[i]).sort((x, y) => x - y);
    const s = (b.t - a.t) / 1000;
    return {
      iterations_per_s: (b.i - a.i) / s,
      steps_per_s: (b.u - a.u) / s,
      frame_ms_median: gaps[Math.floor(gaps.length / 2)],
      frame_ms_max: gaps[gaps.length - 1],
      workers: pg.rollout_workers(),
      status: workers.status,
    };
  }, seconds * 1000);
  await p.close();
  return r;
}

try {
  if (page.seconds > 0) {
    const base = page.hash ? `${page.hash}&` : "";
    const variants = ["", "workers=0&", "budget=40&", "budget=40&workers=0&"].map((v) => `${base}${v}`.replace(/&$/, ""));
    const key = (site, v) => `${sites.length > 1 ? `${site.name}:` : ""}${v || "(defaults)"}`;
    const rows = {};
    for (let rep = 0; rep < page.reps; rep++) {
      for (const v of variants) {
        for (const site of sites) {
          const r = await pageSpeed(v, page.seconds, site.server);
          (rows[key(site, v)] ??= []).push(r);
          process.stderr.write(
            `rep ${rep + 1} ${key(site, v)}: ${r.iterations_per_s.toFixed(2)} it/s, ${r.steps_per_s.toFixed(0)} steps/s, frame ${r.frame_ms_median.toFixed(1)} ms (max ${r.frame_ms_max.toFixed(1)}), ${r.workers} workers\n`,
          );
        }
      }
    }
    const out = { chromium: browser.version(), seconds: page.seconds, rows };
    if (sites.length > 1) {
      // Ratios of medians over the repetitions: this build against the other.
      const median = (xs) => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)];
      out.ratios = {};
      for (const v of variants) {
        const [mine, theirs] = sites.map((site) => rows[key(site, v)]);
        const ratio = (f) => median(mine.map(f)) / median(theirs.map(f));
        out.ratios[v || "(defaults)"] = {
          steps_per_s: ratio((r) => r.steps_per_s),
          iterations_per_s: ratio((r) => r.iterations_per_s),
          frame_ms_median: ratio((r) => r.frame_ms_median),
          frame_ms_max: ratio((r) => r.frame_ms_max),
        };
      }
    }
    console.log(JSON.stringify(out));
  } else {
    await benchPage();
  }
} finally {
  await browser.close();
  for (const site of sites) site.server.close();
}

/** The bench page's JSON (and with --frames the page's frame times), printed. */
async function benchPage() {
  const page = await browser.newPage();
  page.on("console", (m) => process.stderr.write(`[page] ${m.text()}\n`));
  const url = `http://127.0.0.1:${server.address().port}/www/bench.html?${query}`;
  await page.goto(url);
  await page.waitForFunction(() => window.benchResult !== undefined, null, { timeout: 600000 });
  const result = await page.evaluate(() => window.benchResult);
  if (result.error) throw new Error(result.error);
  // The size of the core the page loaded (www/core.js: relaxed SIMD where Chromium has it).
  const file = result.core_build === "relaxed-simd" ? ["pkg", "relaxed-simd", "boltzmann_playground_bg.wasm"] : ["pkg", "boltzmann_playground_bg.wasm"];
  const wasm = await readFile(join(distDir, ...file));
  result.wasm_gzip_kb = Math.round((gzipSync(wasm, { level: 9 }).length / 1024) * 10) / 10;
  result.chromium = browser.version();
  if (frameSeconds > 0) {
    // The playground page at its defaults: median gap between requestAnimationFrame
    // timestamps while it trains.
    const main = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await main.goto(`http://127.0.0.1:${server.address().port}/`);
    // First frame: the page sets data-ready just before it asks for its first animation
    // frame; the timestamp of the next frame after that (from navigation start) bounds it
    // from above by the polling interval.
    await main.waitForFunction(() => document.documentElement.dataset.ready === "true", null, {
      polling: "raf",
      timeout: 30000,
    });
    result.first_frame_ms = await main.evaluate(
      () => new Promise((done) => requestAnimationFrame((t) => done(Math.round(t)))),
    );
    await main.waitForTimeout(2000);
    result.frame_ms_median = await main.evaluate(
      (ms) =>
        new Promise((done) => {
          const stamps = [];
          const tick = (t) => {
            stamps.push(t);
            if (t - stamps[0] < ms) requestAnimationFrame(tick);
            else {
              const gaps = stamps.slice(1).map((s, i) => s - stamps[i]).sort((a, b) => a - b);
              done(gaps[Math.floor(gaps.length / 2)]);
            }
          };
          requestAnimationFrame(tick);
        }),
      frameSeconds * 1000,
    );
  }
  console.log(JSON.stringify(result));
}
