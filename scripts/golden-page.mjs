// The page-side companion of scripts/golden: the wasm core's `history()`, `metrics()` and a
// seeded `evaluate()` after a fixed number of `step_iteration`s of fully specified runs, in
// headless Chromium, one JSON line per run and core build (simd128 and relaxed SIMD).
//
//   scripts/build && node scripts/golden-page.mjs OUT.jsonl
//
// Compare two recordings with `scripts/golden compare A B` (same machine: the relaxed core's
// fused multiply-add depends on the hardware).
import { createServer } from "node:http";
import { readFile, writeFile } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = resolve(fileURLToPath(import.meta.url), "..", "..");
const require = createRequire(join(root, "tests", "e2e", "package.json"));
const { chromium } = require("playwright-core");
const out = process.argv[2];
if (!out) throw new Error("usage: node scripts/golden-page.mjs OUT.jsonl");

const cases = JSON.parse(await readFile(join(root, "scripts", "golden-cases.json"), "utf8"));
// A few of the command-line cases, each stepped a fixed number of iterations.
const PAGE_CASES = {
  "adjoint-weighted-seedgmm": 12,
  "asbs-showcase": 20,
  "ddpm": 4,
  "tb-expl-lp-ls-lv": 40,
  "pis-manywell4": 15,
  "mala-seedgmm": 20,
};
const runs = cases.filter((c) => c.name in PAGE_CASES).map((c) => ({ name: c.name, config: c.config, iterations: PAGE_CASES[c.name] }));

const dist = join(root, "dist");
const MIME = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };
const server = createServer(async (req, res) => {
  try {
    const path = join(dist, decodeURIComponent(new URL(req.url, "http://x").pathname));
    const body = await readFile(path.endsWith("/") ? join(path, "index.html") : path);
    res.writeHead(200, { "content-type": MIME[extname(path)] || "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const lines = [];
try {
  for (const build of ["simd128", "relaxed-simd"]) {
    const page = await browser.newPage();
    await page.goto(`${base}/www/bench.html`);
    const results = await page.evaluate(
      async ({ runs, build }) => {
        const glue = await import("/pkg/boltzmann_playground.js");
        await glue.default({ module_or_path: build === "simd128" ? "/pkg/boltzmann_playground_bg.wasm" : "/pkg/relaxed-simd/boltzmann_playground_bg.wasm" });
        const plain = (v) => JSON.parse(JSON.stringify(v, (_, x) => (x instanceof Map ? Object.fromEntries(x) : x)));
        const results = [];
        for (const run of runs) {
          const pg = new glue.Playground(run.config);
          for (let i = 0; i < run.iterations; i++) pg.step_iteration();
          const metrics = plain(pg.metrics());
          delete metrics.work_units;
          results.push({ case: run.name, build, history: plain(pg.history()), metrics, evaluation: plain(pg.evaluate(2000)) });
          pg.free();
        }
        return results;
      },
      { runs, build },
    );
    for (const r of results) lines.push(JSON.stringify(r));
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
await writeFile(out, lines.join("\n") + "\n");
console.error(`[golden-page] ${lines.length} runs → ${out}`);
