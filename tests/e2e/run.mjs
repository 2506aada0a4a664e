// End-to-end test of the built page (dist/) in headless Chromium, driven by playwright-core.
//
//   scripts/build && (cd tests/e2e && npm ci && node run.mjs)
//
// Serves dist/ itself on a free localhost port, then checks that the page loads without
// console errors, trains, draws, keeps its state in the URL hash, reports bad input where it
// was entered, and saves screenshots to tests/e2e/artifacts/. Finally measures how long the
// seed-gmm browser preset takes to match the true marginal and mode masses.
// Environment: CHROMIUM (browser binary, default /usr/bin/chromium), DIST (site folder),
// E2E_SKIP_TOLERANCE=1 skips the time-to-tolerance run; E2E_ONLY=embed runs only the
// embedding checks (the custom element, the iframe protocol, sharing, export; embed.mjs),
// E2E_ONLY=package only the npm package's embed (package.mjs), E2E_ONLY=gfn only the GFlowNet checks (modifiers, views, time-to-coverage; gfn.mjs),
// E2E_ONLY=bench only the bench page's Web Worker check, E2E_ONLY=workers only the
// playground's Web Worker checks (pageworkers.mjs), E2E_ONLY=parity only the check that the
// page, the custom element and the iframe page end a change sequence with identical runs
// (parity.mjs), E2E_ONLY=registry only the checks of the controls against the core's
// registry (registry.mjs).

import { createServer } from "node:http";
import { readFile, mkdir, stat } from "node:fs/promises";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { embedChecks } from "./embed.mjs";
import { packageChecks } from "./package.mjs";
import { gfnChecks } from "./gfn.mjs";
import { pageWorkerChecks } from "./pageworkers.mjs";
import { parityChecks } from "./parity.mjs";
import { registryChecks } from "./registry.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const distDir = resolve(process.env.DIST || join(here, "..", "..", "dist"));
const artifacts = join(here, "artifacts");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const TRAINED_LIMIT_S = 400;
const TOLERANCE_LIMIT_S = 240;

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

let passed = 0;
let failed = 0;

function report(ok, name, detail) {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? "PASS" : "FAIL"} ${name}${detail ? ` — ${detail}` : ""}`);
}

/** Runs one check; an exception fails it with its message. Returns the check's value. */
async function check(name, fn) {
  try {
    const detail = await fn();
    report(true, name, typeof detail === "string" ? detail : "");
    return true;
  } catch (err) {
    report(false, name, err && err.message ? err.message.split("\n")[0] : String(err));
    return false;
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function serve(root) {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://localhost");
      let path = decodeURIComponent(url.pathname);
      if (path.endsWith("/")) path += "index.html";
      const file = resolve(root, `.${path}`);
      if (file !== root && !file.startsWith(root + sep)) {
        res.writeHead(403).end("forbidden");
        return;
      }
      const body = await readFile(file);
      res.writeHead(200, {
        "Content-Type": MIME[extname(file).toLowerCase()] || "application/octet-stream",
        "Cache-Control": "no-store",
      });
      res.end(body);
    } catch {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
    }
  });
  return new Promise((resolveServer) => {
    server.listen(0, "127.0.0.1", () => resolveServer(server));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` (in node) until it returns a truthy value or `timeoutMs` passes. */
async function waitFor(fn, timeoutMs, intervalMs = 250) {
  const start = Date.now();
  let last;
  while (Date.now() - start < timeoutMs) {
    last = await fn();
    if (last) return last;
    await sleep(intervalMs);
  }
  return last;
}

/** Console errors and uncaught exceptions of every page, with the page's label. */
const pageErrors = [];

function watch(page, label) {
  page.on("console", (msg) => {
    if (msg.type() === "error") pageErrors.push(`${label}: console error: ${msg.text()}`);
  });
  page.on("pageerror", (err) => pageErrors.push(`${label}: page error: ${err.message}`));
  page.on("requestfailed", (req) => pageErrors.push(`${label}: request failed: ${req.url()} ${req.failure()?.errorText ?? ""}`));
}

const metricsOf = (page) => page.evaluate(() => window.boltzmannPlayground.playground.metrics());
const configOf = (page) => page.evaluate(() => window.boltzmannPlayground.playground.config());

async function openPage(context, url, label) {
  const page = await context.newPage();
  watch(page, label);
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
  return page;
}

/** Makes sure the page trains: autoplay, or a click on Play. */
async function ensurePlaying(page) {
  const playing = await page.evaluate(() => window.boltzmannPlayground.state.playing);
  if (!playing) await page.click("#play");
}

async function main() {
  try {
    await stat(join(distDir, "index.html"));
  } catch {
    console.log(`FAIL setup — no built site at ${distDir} (run scripts/build first)`);
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
  await mkdir(artifacts, { recursive: true });
  const server = await serve(distDir);
  const base = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({
    executablePath,
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
  console.log(`serving ${distDir} at ${base} · ${executablePath} ${browser.version()}`);

  try {
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    let page;
    // E2E_ONLY=embed runs only the embedding checks (tests/e2e/embed.mjs).
    existing: {
      if (process.env.E2E_ONLY) break existing;

      const loaded = await check("page loads and the wasm core starts", async () => {
        page = await openPage(desktop, base, "desktop");
        const title = await page.title();
        assert(/Boltzmann/.test(title), `unexpected title "${title}"`);
        const cfg = await configOf(page);
        return `target ${JSON.stringify(cfg.energy)}, sampler ${cfg.sampler}, preset ${cfg.preset}`;
      });
      if (!loaded) throw new Error("the page did not start; later checks would only repeat that");

      await check("training starts and the iteration count rises", async () => {
        await ensurePlaying(page);
        const first = await metricsOf(page);
        const m = await waitFor(async () => {
          const now = await metricsOf(page);
          return now.iteration >= Math.max(2, first.iteration + 1) ? now : null;
        }, 20000);
        assert(m, "the iteration count did not rise within 20 s");
        return `iteration ${first.iteration} → ${m.iteration}, ${m.energy_evals} energy evaluations`;
      });

      await check("loss history has entries and log Ẑ is finite", async () => {
        const ok = await waitFor(async () => {
          const [h, m] = await page.evaluate(() => {
            const pg = window.boltzmannPlayground.playground;
            return [pg.history(), pg.metrics()];
          });
          return h.loss.length > 0 && Number.isFinite(m.log_z_elbo) ? { n: h.loss.length, m } : null;
        }, 20000);
        assert(ok, "no loss history or non-finite log Ẑ after 20 s");
        return `${ok.n} loss entries, log Ẑ = ${ok.m.log_z_elbo.toFixed(3)}, log Ẑ^RW = ${ok.m.log_z_iw?.toFixed(3)}, true ${ok.m.log_z_true}`;
      });

      await check("the views draw (density, particles, charts)", async () => {
        const spread = await page.evaluate(() => {
          const stats = {};
          for (const id of ["field", "marg-x", "marg-y", "loss-chart", "logz-chart", "modes-chart"]) {
            const c = document.getElementById(id);
            const ctx = c.getContext("2d");
            const d = ctx.getImageData(0, 0, c.width, c.height).data;
            const seen = new Set();
            for (let i = 0; i < d.length; i += 4 * 37) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2] | (d[i + 3] << 24));
            stats[id] = { colours: seen.size, width: c.width, height: c.height };
          }
          return stats;
        });
        for (const [id, s] of Object.entries(spread)) {
          assert(s.width > 10 && s.height > 10, `${id} has no size`);
          assert(s.colours > 2, `${id} looks blank (${s.colours} colours)`);
        }
        return Object.entries(spread)
          .map(([id, s]) => `${id} ${s.colours}`)
          .join(", ");
      });

      await check("keyboard: space pauses and resumes, '.' steps, 'r' resets", async () => {
        await page.locator("body").click({ position: { x: 5, y: 5 } });
        await page.keyboard.press("Space");
        assert((await page.evaluate(() => window.boltzmannPlayground.state.playing)) === false, "space did not pause");
        const before = (await metricsOf(page)).iteration;
        await page.keyboard.press(".");
        const after = (await metricsOf(page)).iteration;
        assert(after === before + 1, `'.' went from iteration ${before} to ${after}`);
        await page.keyboard.press("Space");
        assert((await page.evaluate(() => window.boltzmannPlayground.state.playing)) === true, "space did not resume");
        await page.keyboard.press("r");
        const reset = (await metricsOf(page)).iteration;
        assert(reset <= 1, `'r' did not reset (iteration ${reset})`);
      });

      await check("divergence stops training with a visible message, Play resumes", async () => {
        // Make the core's train() throw as it does on NaN/Inf; the page must stop and say so.
        await page.evaluate(() => {
          window.boltzmannPlayground.playground.train = () => {
            throw new Error("non-finite loss at iteration 3 (injected by the test)");
          };
        });
        const banner = page.locator("#run-error");
        await banner.waitFor({ state: "visible", timeout: 5000 });
        const text = await banner.textContent();
        assert(text.includes("non-finite loss"), `the message does not carry the core's reason: ${text}`);
        assert((await page.evaluate(() => window.boltzmannPlayground.state.playing)) === false, "training did not stop");
        await page.evaluate(() => {
          delete window.boltzmannPlayground.playground.train;
        });
        await page.click("#play");
        assert(await banner.isHidden(), "the message stays after Play");
        const i0 = (await metricsOf(page)).iteration;
        assert(await waitFor(async () => (await metricsOf(page)).iteration > i0, 15000), "training did not resume");
        return `"${text.trim().slice(0, 100)}"`;
      });

      await check("a learning-rate change keeps the run's progress; a network change starts anew", async () => {
        await ensurePlaying(page);
        assert(await waitFor(async () => (await metricsOf(page)).iteration >= 3, 60000), "no iterations to keep");
        const setField = (id, value) =>
          page.evaluate(([id, value]) => {
            const input = document.getElementById(id);
            input.value = value;
            input.dispatchEvent(new Event("change", { bubbles: true }));
          }, [id, value]);
        // Paused, so the counts below are the run's own, not a race with the next frame.
        await page.click("#pause");
        const before = (await metricsOf(page)).iteration;
        const lr = (await configOf(page)).lr * 0.5;
        await setField("lr", String(lr));
        const cfg = await configOf(page);
        const kept = (await metricsOf(page)).iteration;
        assert(cfg.lr === lr, `lr not applied: ${cfg.lr}`);
        // The carried-over run resumes from its last completed iteration.
        assert(kept === before, `iteration went from ${before} to ${kept} on an lr change`);
        await setField("hidden", String((await configOf(page)).hidden + 8));
        const fresh = (await metricsOf(page)).iteration;
        assert(fresh === 0, `a new network width kept iteration ${fresh}`);
        await page.click("#play");
        return `lr change: iteration ${before} → ${kept}; width change: → ${fresh}`;
      });

      await check("the URL hash holds the state and a reload restores it", async () => {
        await page.selectOption("#energy", "gmm9");
        await page.fill("#seed", "7");
        await page.locator("#seed").press("Enter");
        await page.locator("#seed").evaluate((el) => el.blur());
        const cfg = await configOf(page);
        assert(cfg.energy === "gmm9" && cfg.seed === 7, `settings not applied: ${JSON.stringify(cfg)}`);
        const hash = await page.evaluate(() => window.location.hash);
        for (const key of ["sampler=", "energy=gmm9", "seed=7", "preset=", "lr="]) assert(hash.includes(key), `hash lacks ${key}: ${hash}`);
        await page.reload({ waitUntil: "load" });
        await page.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
        const restored = await configOf(page);
        assert(JSON.stringify(restored) === JSON.stringify(cfg), `reload gave ${JSON.stringify(restored)}, expected ${JSON.stringify(cfg)}`);
        assert((await page.inputValue("#energy")) === "gmm9", "the target select does not show gmm9 after reload");
        assert((await page.inputValue("#seed")) === "7", "the seed field does not show 7 after reload");
        await ensurePlaying(page);
        return hash.length > 90 ? `${hash.slice(0, 90)}…` : hash;
      });

      await check("an invalid custom mixture is reported at the textarea while training continues", async () => {
        await page.selectOption("#energy", "custom");
        await page.waitForSelector("#custom-json", { state: "visible" });
        await waitFor(async () => (await configOf(page)).energy?.gmm !== undefined, 5000);
        const running = await configOf(page);
        assert(typeof running.energy === "object", "choosing a custom mixture did not start the example mixture");
        const bad = '{"gmm": {"weights": [0.5, 0.5], "means": [[-2, 0], [2, 0]], "covs": [[[1, 0], [0, 1]], [[1, 2], [2, 1]]]}}';
        await page.fill("#custom-json", bad);
        await page.click("#custom-apply");
        const message = await page.locator("#custom-error");
        await message.waitFor({ state: "visible", timeout: 5000 });
        const text = (await message.textContent()).trim();
        assert(text.length > 0, "the error under the textarea is empty");
        const [box, area] = [await message.boundingBox(), await page.locator("#custom-json").boundingBox()];
        assert(box && area && box.y >= area.y + area.height - 2 && box.y - (area.y + area.height) < 60, "the error is not right under the textarea");
        const after = await configOf(page);
        assert(JSON.stringify(after) === JSON.stringify(running), "the running config changed after invalid input");
        const i0 = (await metricsOf(page)).iteration;
        const rose = await waitFor(async () => (await metricsOf(page)).iteration > i0, 15000);
        assert(rose, "training did not continue after the invalid input");
        await page.fill("#custom-json", "{ not json");
        const syntax = (await message.textContent()).trim();
        assert(/JSON/i.test(syntax), `a syntax error is not reported while typing: "${syntax}"`);
        return `"${text}"`;
      });

      await check("invalid values in the link are named in a visible warning", async () => {
        const p = await openPage(desktop, `${base}#energy=no-such-target&lr=abc&seed=3`, "bad-link");
        const banner = p.locator("#link-warnings");
        await banner.waitFor({ state: "visible", timeout: 5000 });
        const text = await banner.textContent();
        assert(text.includes("no-such-target") && text.includes("abc"), `the warning does not name the bad values: ${text}`);
        const cfg = await configOf(p);
        assert(cfg.seed === 3, "the valid seed=3 of the link was not kept");
        await p.close();
        return text.replace(/\s+/g, " ").slice(0, 120);
      });

      await check("screenshot 1280×900", async () => {
        await page.selectOption("#energy", "seed-gmm");
        await ensurePlaying(page);
        await waitFor(async () => (await metricsOf(page)).iteration >= 3, 30000);
        await page.screenshot({ path: join(artifacts, "desktop.png") });
        return "artifacts/desktop.png";
      });

      await check("screenshot 360×800, no horizontal overflow", async () => {
        const mobile = await browser.newContext({ viewport: { width: 360, height: 800 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
        const p = await openPage(mobile, base, "mobile");
        await ensurePlaying(p);
        await waitFor(async () => (await metricsOf(p)).iteration >= 2, 30000);
        const width = await p.evaluate(() => document.documentElement.scrollWidth);
        await p.screenshot({ path: join(artifacts, "mobile.png") });
        await p.screenshot({ path: join(artifacts, "mobile-full.png"), fullPage: true });
        await mobile.close();
        assert(width <= 360, `page is ${width}px wide at a 360px viewport`);
        return "artifacts/mobile.png, artifacts/mobile-full.png";
      });

      await check("prefers-reduced-motion: no autoplay, Play starts", async () => {
        const calm = await browser.newContext({ viewport: { width: 1280, height: 900 }, reducedMotion: "reduce" });
        const p = await openPage(calm, base, "reduced-motion");
        await sleep(500);
        const playing = await p.evaluate(() => window.boltzmannPlayground.state.playing);
        const iteration = (await metricsOf(p)).iteration;
        await p.click("#play");
        const rose = await waitFor(async () => (await metricsOf(p)).iteration > 0, 20000);
        await calm.close();
        assert(playing === false && iteration === 0, `autoplayed (playing ${playing}, iteration ${iteration})`);
        assert(rose, "Play did not start training");
      });

      await check("screenshot in dark mode", async () => {
        const dark = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "dark" });
        const p = await openPage(dark, base, "dark");
        await ensurePlaying(p);
        await waitFor(async () => (await metricsOf(p)).iteration >= 3, 30000);
        const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
        await p.screenshot({ path: join(artifacts, "dark.png") });
        await dark.close();
        const [r, g, b] = bg.match(/\d+/g).map(Number);
        assert(r + g + b < 150, `dark mode background is ${bg}`);
        return "artifacts/dark.png";
      });
      await page.close();

      // ---- ASBS and DDPM views ----

      /** A canvas's pixels as a short fingerprint and its count of distinct colours. */
      const canvasPrint = (p, id) =>
        p.evaluate((id) => {
          const c = document.getElementById(id);
          const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
          const seen = new Set();
          let hash = 0;
          for (let i = 0; i < d.length; i += 4 * 13) {
            const v = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
            seen.add(v);
            hash = (hash * 31 + v) | 0;
          }
          return { colours: seen.size, hash, width: c.width, height: c.height };
        }, id);
      const stageText = (p) => p.locator("#stage-line").textContent();
      const notBlank = async (p, ids) => {
        for (const id of ids) {
          const s = await canvasPrint(p, id);
          assert(s.width > 10 && s.height > 10, `${id} has no size`);
          assert(s.colours > 2, `${id} looks blank (${s.colours} colours)`);
        }
      };

      await check("ASBS 1-D showcase: trains, W1 moves, the stage indicator changes", async () => {
        const p = await openPage(desktop, `${base}#sampler=asbs&seed=1`, "asbs-1d");
        await ensurePlaying(p);
        const cfg = await configOf(p);
        assert(cfg.energy === "gmm1d-demo" && cfg.source === "normal:0,1" && cfg.sigma === "constant:0.3", `not the showcase preset: ${JSON.stringify(cfg)}`);
        assert(await p.locator("#stage-indicator").isVisible(), "no stage indicator");
        const first = await stageText(p);
        const seen = new Set([first]);
        const kinds = new Set();
        const m = await waitFor(async () => {
          const t = await stageText(p);
          seen.add(t);
          kinds.add(t.startsWith("corrector") ? "corrector" : "adjoint");
          const m = await metricsOf(p);
          return m.iteration >= 24 && kinds.size === 2 ? m : null;
        }, 90000, 200);
        assert(m, `stage indicator showed only ${[...seen].slice(0, 3).join(" / ")}`);
        assert(Number.isFinite(m.w1) && Number.isFinite(m.w2) && Number.isFinite(m.tv), `1-D metrics missing: ${JSON.stringify(m)}`);
        const w1Series = [];
        await waitFor(async () => {
          const now = await metricsOf(p);
          if (w1Series.length === 0 || w1Series[w1Series.length - 1].iteration !== now.iteration) w1Series.push(now);
          return w1Series.length >= 3;
        }, 30000, 200);
        assert(new Set(w1Series.map((x) => x.w1)).size > 1, "W1 does not move");
        await notBlank(p, ["field", "marg-y", "hist1d", "corrector", "loss-chart", "modes-chart"]);
        assert((await p.locator("#readout dd[data-key=w1]").textContent()) !== "–", "W1 not shown");
        await p.screenshot({ path: join(artifacts, "asbs-1d.png") });
        await p.close();
        return `"${first}" → ${seen.size} distinct stage lines; iteration ${m.iteration}, W1 ${w1Series.map((x) => x.w1.toFixed(3)).join(" → ")}`;
      });

      await check("ASBS compare toggle trains Adjoint Sampling beside it and keeps it in the hash", async () => {
        const p = await openPage(desktop, `${base}#sampler=asbs&seed=1`, "asbs-compare");
        await ensurePlaying(p);
        await p.check("#compare");
        const hash = await p.evaluate(() => window.location.hash);
        assert(hash.includes("compare=1"), `hash lacks compare=1: ${hash}`);
        const ok = await waitFor(
          () => p.evaluate(() => {
            const c = window.boltzmannPlayground.compare;
            return c && c.config().sampler === "adjoint" && c.metrics().iteration >= 30 ? c.metrics() : null;
          }),
          120000,
          500,
        );
        assert(ok, "the Adjoint Sampling run did not train");
        const text = await p.locator("#readout dd[data-key=compare]").textContent();
        assert(/W1/.test(text), `compare readout: ${text}`);
        await p.screenshot({ path: join(artifacts, "asbs-compare.png") });
        await p.reload({ waitUntil: "load" });
        await p.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
        const restored = await p.evaluate(() => window.boltzmannPlayground.compare !== null && document.getElementById("compare").checked);
        await p.close();
        assert(restored, "compare=1 was not restored from the link");
        return `AS beside ASBS: ${text}`;
      });

      await check("ASBS 2-D on seed-gmm with the seed source: source points, stages, corrector arrows", async () => {
        const url = `${base}#sampler=asbs&energy=seed-gmm&source=seed&sigma=geometric&whiten=true&adjoint_iters=4&corrector_iters=2&seed=1`;
        const p = await openPage(desktop, url, "asbs-2d");
        await ensurePlaying(p);
        const cfg = await configOf(p);
        assert(cfg.source === "seed" && cfg.energy === "seed-gmm", JSON.stringify(cfg));
        const kinds = new Set();
        const m = await waitFor(async () => {
          kinds.add((await stageText(p)).split(" ")[0]);
          const m = await metricsOf(p);
          return m.iteration >= 14 && kinds.size === 2 ? m : null;
        }, 90000, 200);
        assert(m, `stages seen: ${[...kinds]}`);
        const legend = await p.evaluate(() => ["source", "arrows2d"].map((k) => !document.querySelector(`.legend [data-show=${k}]`).hidden));
        assert(legend.every(Boolean), `source / corrector legend hidden: ${legend}`);
        const h = await p.evaluate(() => window.boltzmannPlayground.playground.corrector_field(new Float32Array([0, 0, -4, -4])));
        assert(h && h.length === 4 && Array.from(h).some((v) => v !== 0), `corrector h is ${h && Array.from(h)}`);
        await notBlank(p, ["field", "marg-x", "marg-y"]);
        await p.screenshot({ path: join(artifacts, "asbs-2d.png") });
        await p.close();
        return `iteration ${m.iteration}, x mean ${m.x_mean.toFixed(2)} vs ${m.true_x_mean.toFixed(2)}, h(0,0) = (${h[0].toFixed(2)}, ${h[1].toFixed(2)})`;
      });

      await check("DDPM: histograms and p_t strips draw, metrics move, the scrubber changes the f plot", async () => {
        const p = await openPage(desktop, `${base}#sampler=ddpm&seed=1`, "ddpm");
        await ensurePlaying(p);
        const cfg = await configOf(p);
        assert(cfg.energy === "gmm1d-demo" && cfg.steps >= 100, `not the DDPM preset: ${JSON.stringify(cfg)}`);
        const series = [];
        const m = await waitFor(async () => {
          const now = await metricsOf(p);
          if (now.iteration > 0 && (series.length === 0 || series[series.length - 1].iteration !== now.iteration)) series.push(now);
          return series.length >= 3 ? now : null;
        }, 60000, 200);
        assert(m, "DDPM did not complete three iterations in 60 s");
        assert(new Set(series.map((x) => x.w1)).size > 1, "W1 does not move");
        assert(m.log_z_iw === null && m.energy_evals === 0, "DDPM reports path weights or energy evaluations");
        await notBlank(p, ["field", "hist1d", "pt-learned", "pt-exact", "fplot", "loss-chart", "modes-chart"]);
        await p.click("#pause");
        await sleep(300);
        const before = await canvasPrint(p, "fplot");
        const label0 = await p.locator("#f-t").textContent();
        await p.locator("#scrub").fill("0.1");
        await sleep(300);
        const after = await canvasPrint(p, "fplot");
        const label1 = await p.locator("#f-t").textContent();
        assert(before.hash !== after.hash, "the f plot did not change with the scrubber");
        assert(label0 !== label1 && label1 === "0.10", `the f plot's t label went ${label0} → ${label1}`);
        const strip = await canvasPrint(p, "pt-exact");
        await p.locator("#scrub").fill("0.8");
        await sleep(300);
        assert((await canvasPrint(p, "pt-exact")).hash !== strip.hash, "the scrubbed t is not marked on the p_t strip");
        await p.click("#play");
        await waitFor(async () => (await metricsOf(p)).iteration >= 8, 60000);
        await p.screenshot({ path: join(artifacts, "ddpm.png") });
        await p.close();
        return `W1 ${series.map((x) => x.w1.toFixed(3)).join(" → ")}; f plot t ${label0} → ${label1}`;
      });

      await check("switching sampler applies its preset and filters the targets", async () => {
        const p = await openPage(desktop, `${base}#sampler=adjoint&energy=seed-gmm`, "switch");
        await p.selectOption("#sampler", "ddpm");
        const cfg = await configOf(p);
        assert(cfg.sampler === "ddpm" && cfg.energy === "gmm1d-demo" && cfg.steps === 100, JSON.stringify(cfg));
        const disabled = await p.evaluate(() => [...document.querySelectorAll("#energy option")].filter((o) => o.disabled).map((o) => o.value));
        assert(disabled.includes("seed-gmm") && !disabled.includes("gmm1d-far"), `disabled targets: ${disabled}`);
        await p.selectOption("#sampler", "asbs");
        const asbs = await configOf(p);
        assert(asbs.source === "normal:0,1" && asbs.energy === "gmm1d-demo", JSON.stringify(asbs));
        const disabledAsbs = await p.evaluate(() => [...document.querySelectorAll("#energy option")].filter((o) => o.disabled).length);
        assert(disabledAsbs === 0, `${disabledAsbs} targets disabled for ASBS`);
        await p.close();
        return `ddpm disables ${disabled.join(", ")}`;
      });

      await check("bad sampler values in the link are named in a visible warning", async () => {
        const msgs = [];
        for (const [hash, needle] of [
          ["#sampler=nope", "nope"],
          ["#sampler=ddpm&energy=seed-gmm", "seed-gmm"],
          ["#sampler=asbs&source=normal:0", "normal:0"],
        ]) {
          const p = await openPage(desktop, `${base}${hash}`, `bad-${needle}`);
          const banner = p.locator("#link-warnings");
          await banner.waitFor({ state: "visible", timeout: 5000 });
          const text = (await banner.textContent()).replace(/\s+/g, " ");
          assert(text.includes(needle), `${hash}: the warning does not name ${needle}: ${text}`);
          msgs.push(text.slice(0, 90));
          await p.close();
        }
        return msgs.join(" | ");
      });

      await check("ASBS and DDPM views at 360 px (no overflow) and in dark mode", async () => {
        const shots = [];
        const mobile = await browser.newContext({ viewport: { width: 360, height: 800 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
        const dark = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "dark" });
        for (const [ctx, tag] of [
          [mobile, "mobile"],
          [dark, "dark"],
        ]) {
          for (const [sampler, hash] of [
            ["asbs", "#sampler=asbs&seed=1"],
            ["ddpm", "#sampler=ddpm&seed=1"],
          ]) {
            const p = await openPage(ctx, `${base}${hash}`, `${sampler}-${tag}`);
            await ensurePlaying(p);
            await waitFor(async () => (await metricsOf(p)).iteration >= (sampler === "ddpm" ? 4 : 20), 90000);
            if (tag === "mobile") {
              const width = await p.evaluate(() => document.documentElement.scrollWidth);
              assert(width <= 360, `${sampler}: page is ${width}px wide at a 360px viewport`);
              await p.screenshot({ path: join(artifacts, `${sampler}-mobile.png`), fullPage: true });
            } else {
              const bg = await p.evaluate(() => getComputedStyle(document.querySelector(".card")).backgroundColor);
              const [r, g, b] = bg.match(/\d+/g).map(Number);
              assert(r + g + b < 150, `${sampler}: dark card background is ${bg}`);
              await p.screenshot({ path: join(artifacts, `${sampler}-dark.png`), fullPage: true });
            }
            shots.push(`${sampler}-${tag}.png`);
            await p.close();
          }
        }
        await mobile.close();
        await dark.close();
        return shots.join(", ");
      });

      if (process.env.E2E_SKIP_TOLERANCE === "1") {
        console.log("SKIP DDPM time-to-tolerance (E2E_SKIP_TOLERANCE=1)");
      } else {
        await check("DDPM time to tolerance on every 1-D target, browser preset", async () => {
          // Tall enough that the screenshot of the trained run shows every DDPM view.
          const calm = await browser.newContext({ viewport: { width: 1280, height: 1180 }, reducedMotion: "reduce" });
          const rows = [];
          const custom = JSON.stringify({ gmm: { weights: [0.3, 0.7], means: [[-1.5], [1.5]], covs: [[[0.25]], [[0.5]]] } });
          for (const energy of ["normal1d", "gmm1d-demo", "gmm1d-unequal", "gmm1d-far", "double-well1d", custom]) {
            const label = energy.startsWith("{") ? "custom mixture" : energy;
            const p = await openPage(calm, `${base}#sampler=ddpm&preset=browser&seed=1&energy=${encodeURIComponent(energy)}`, `ddpm-tol-${label}`);
            const row = await p.evaluate(
              async ({ cap, every, samples }) => {
                const pg = window.boltzmannPlayground.playground;
                let trainMs = 0;
                let last = null;
                while (pg.metrics().iteration < cap) {
                  const t0 = performance.now();
                  for (let k = 0; k < every; k++) pg.step_iteration();
                  trainMs += performance.now() - t0;
                  const e = pg.evaluate(samples);
                  const sd = e.true_x_std;
                  const massErr = Math.max(0, ...e.mode_masses.map((v, k) => Math.abs(v - e.true_mode_masses[k])));
                  last = {
                    iteration: e.iteration,
                    seconds: trainMs / 1000,
                    meanErr: Math.abs(e.x_mean - e.true_x_mean) / sd,
                    stdErr: Math.abs(e.x_std - sd) / sd,
                    massErr,
                    w1: e.w1,
                    w2: e.w2,
                    tv: e.tv,
                  };
                  last.ok = last.meanErr < 0.05 && last.stdErr < 0.05 && massErr < 0.03;
                  if (last.ok) return last;
                  // Yield to the page between chunks.
                  await new Promise((r) => setTimeout(r, 0));
                }
                return last;
              },
              { cap: 300, every: 5, samples: 4000 },
            );
            rows.push({ label, ...row });
            if (energy === "gmm1d-demo") {
              // One more step through the page ('.') so it draws the trained state.
              await p.locator("body").click({ position: { x: 5, y: 5 } });
              await p.keyboard.press(".");
              await sleep(500);
              await p.screenshot({ path: join(artifacts, "ddpm-trained.png") });
            }
            await p.close();
          }
          await calm.close();
          const pad = (v, n) => String(v).padEnd(n);
          console.log("DDPM time-to-tolerance in headless Chromium (browser preset, seed 1; evaluated on 4000 fresh samples every 5 iterations;");
          console.log("  tolerance: |mean − truth| and |std − truth| < 5% of the true std, per-mode mass within 0.03; seconds = training compute only)");
          console.log(`  ${pad("target", 16)}${pad("iteration", 11)}${pad("seconds", 9)}${pad("mean err", 10)}${pad("std err", 9)}${pad("mass err", 10)}${pad("W1", 8)}${pad("W2", 8)}TV`);
          for (const r of rows) {
            console.log(
              `  ${pad(r.label, 16)}${pad(r.ok ? r.iteration : `>${r.iteration}`, 11)}${pad(r.seconds.toFixed(1), 9)}${pad((100 * r.meanErr).toFixed(1) + "%", 10)}${pad((100 * r.stdErr).toFixed(1) + "%", 9)}${pad(r.massErr.toFixed(3), 10)}${pad(r.w1.toFixed(3), 8)}${pad(r.w2.toFixed(3), 8)}${r.tv.toFixed(3)}`,
            );
          }
          const missed = rows.filter((r) => !r.ok).map((r) => r.label);
          assert(missed.length === 0, `not within tolerance by iteration 300: ${missed.join(", ")}`);
          return `${rows.length} targets, slowest ${Math.max(...rows.map((r) => r.seconds)).toFixed(1)} s`;
        });
      }

      if (process.env.E2E_SKIP_TOLERANCE !== "1") {
        await check("ASBS beats Adjoint Sampling on the showcase after the browser preset's stages (in the page)", async () => {
          const calm = await browser.newContext({ viewport: { width: 1280, height: 960 }, reducedMotion: "reduce" });
          const p = await openPage(calm, `${base}#sampler=asbs&preset=browser&seed=1&compare=1`, "asbs-vs-as");
          const r = await p.evaluate(async () => {
            const { playground: pg, compare: as } = window.boltzmannPlayground;
            const iters = pg.config().iters;
            const t0 = performance.now();
            while (pg.metrics().iteration < iters) {
              for (let k = 0; k < 15; k++) {
                pg.step_iteration();
                as.step_iteration();
              }
              await new Promise((r) => setTimeout(r, 0));
            }
            const seconds = (performance.now() - t0) / 1000;
            return { iters, seconds, asbs: pg.evaluate(4000), as: as.evaluate(4000) };
          });
          await p.locator("body").click({ position: { x: 5, y: 5 } });
          await p.keyboard.press(".");
          await sleep(800);
          await p.screenshot({ path: join(artifacts, "asbs-trained.png") });
          await calm.close();
          const line = `after ${r.iters} iterations (${r.seconds.toFixed(1)} s for both): ASBS W2 ${r.asbs.w2.toFixed(3)}, W1 ${r.asbs.w1.toFixed(3)}, masses ${r.asbs.mode_masses.map((v) => v.toFixed(3))}; AS W2 ${r.as.w2.toFixed(3)}, W1 ${r.as.w1.toFixed(3)}, masses ${r.as.mode_masses.map((v) => v.toFixed(3))}`;
          console.log(`ASBS vs AS on gmm1d-demo in Chromium: ${line}`);
          // The native test (tests/asbs.rs) holds ASBS to a third of AS's W2 on the same seed;
          // the wasm build's f32 arithmetic takes another path through training, so here the
          // bar is half, with the numbers printed.
          assert(r.asbs.w2 <= r.as.w2 / 2, `ASBS's W2 is not half of AS's: ${line}`);
          assert(Math.abs(r.asbs.mode_masses[0] - 0.5) < Math.abs(r.as.mode_masses[0] - 0.5), `ASBS's mode masses are no better: ${line}`);
          return line;
        });
      }

      if (process.env.E2E_SKIP_TOLERANCE === "1") {
        console.log("SKIP time-to-tolerance (E2E_SKIP_TOLERANCE=1)");
      } else {
        await check("time to tolerance on seed-gmm, browser preset", async () => {
          const p = await openPage(desktop, `${base}#sampler=adjoint&energy=seed-gmm&preset=browser&seed=1`, "tolerance");
          await ensurePlaying(p);
          const start = Date.now();
          let last = null;
          const hit = await waitFor(async () => {
            const m = await metricsOf(p);
            last = m;
            if (![m.x_mean, m.x_std, m.true_x_mean, m.true_x_std].every(Number.isFinite)) return null;
            const masses = m.mode_masses || [];
            const truth = m.true_mode_masses || [];
            const massesOk = truth.length > 0 && masses.length === truth.length && truth.every((t, k) => Math.abs(masses[k] - t) < 0.05);
            const ok = Math.abs(m.x_mean - m.true_x_mean) < 0.08 && Math.abs(m.x_std - m.true_x_std) < 0.08 && massesOk;
            return ok ? m : null;
          }, TOLERANCE_LIMIT_S * 1000, 250);
          const seconds = (Date.now() - start) / 1000;
          await p.screenshot({ path: join(artifacts, "tolerance.png") });
          await p.close();
          const describe = (m) =>
            m
              ? `iteration ${m.iteration}, x mean ${m.x_mean?.toFixed(3)} vs ${m.true_x_mean?.toFixed(3)}, x std ${m.x_std?.toFixed(3)} vs ${m.true_x_std?.toFixed(3)}, masses ${JSON.stringify(
                  (m.mode_masses || []).map((v) => Number(v.toFixed(3))),
                )} vs ${JSON.stringify((m.true_mode_masses || []).map((v) => Number(v.toFixed(3))))}`
              : "no metrics";
          assert(hit, `not within tolerance after ${TOLERANCE_LIMIT_S} s: ${describe(last)}`);
          console.log(`time-to-tolerance: ${seconds.toFixed(1)} s at iteration ${hit.iteration}`);
          if (hit.iteration <= 1) {
            console.log("  note: met after at most one iteration, so the criterion says little about training here");
          }
          return `${seconds.toFixed(1)} s (${describe(hit)})`;
        });

        // The whitened base already matches those moments, so also time the page to the state
        // the native test checks (browser preset, seed 2, 200 iterations: W2 0.38 natively).
        await check("browser preset trains 200 iterations in the page", async () => {
          const p = await openPage(desktop, `${base}#sampler=adjoint&energy=seed-gmm&preset=browser&seed=2`, "trained");
          await ensurePlaying(p);
          const start = Date.now();
          const m = await waitFor(async () => {
            const m = await metricsOf(p);
            return m.iteration >= 200 ? m : null;
          }, TRAINED_LIMIT_S * 1000, 500);
          const seconds = (Date.now() - start) / 1000;
          assert(m, `fewer than 200 iterations after ${TRAINED_LIMIT_S} s`);
          await p.screenshot({ path: join(artifacts, "trained.png") });
          // The tolerance of docs/methods.md §7 on fresh samples of the trained sampler (8000: a
          // mode mass has a standard error of 0.006 there, the x mean 0.04).
          const e = await p.evaluate(() => window.boltzmannPlayground.playground.evaluate(8000));
          await p.close();
          const fresh = `iteration ${e.iteration}: x mean ${e.x_mean.toFixed(3)} vs ${e.true_x_mean.toFixed(3)}, x std ${e.x_std.toFixed(3)} vs ${e.true_x_std.toFixed(3)}, masses ${JSON.stringify(e.mode_masses.map((v) => Number(v.toFixed(3))))}`;
          console.log(`after 200 iterations in Chromium, 8000 fresh samples: ${fresh}`);
          assert(e.mode_masses.every((v, k) => Math.abs(v - e.true_mode_masses[k]) < 0.05), `fresh samples: ${fresh}`);
          assert(Math.abs(e.x_std - e.true_x_std) < 0.08, `fresh samples: ${fresh}`);
          const masses = m.mode_masses.map((v) => Number(v.toFixed(3)));
          // The page's metrics come from one rollout of 512 paths: a mode mass has a standard
          // error of about 0.022 there.
          assert(m.mode_masses.every((v, k) => Math.abs(v - m.true_mode_masses[k]) < 0.1), `masses ${masses}`);
          assert(Math.abs(m.log_z_iw - m.log_z_true) < 0.15, `log Ẑ_RW ${m.log_z_iw}`);
          console.log(`time-to-200-iterations: ${seconds.toFixed(1)} s`);
          return `${seconds.toFixed(1)} s: x mean ${m.x_mean.toFixed(3)}, x std ${m.x_std.toFixed(3)}, masses ${JSON.stringify(masses)}, log Ẑ_RW ${m.log_z_iw.toFixed(3)}, ESS ${m.ess.toFixed(2)}`;
        });
      }
    }

    const only = process.env.E2E_ONLY;
    /** The bench page's result for a query string. */
    const benchResult = async (query) => {
      const p = await desktop.newPage();
      watch(p, `bench ${query}`);
      await p.goto(`${base}www/bench.html?${query}`);
      await p.waitForFunction(() => window.benchResult !== undefined, null, { timeout: 60000 });
      const result = await p.evaluate(() => window.benchResult);
      await p.close();
      return result;
    };
    if (!only || only === "bench") {
      await check("bench page: a Web Worker's share of the rollout gives the one-thread result bit for bit", async () => {
        // 300 paths are 2 blocks: block 0 on the page's thread, block 1 in the worker.
        const query = "preset=browser&paths=300&steps=6&inner=2&epochs=2&warmup=0";
        const one = await benchResult(`${query}&workers=0`);
        const shared = await benchResult(`${query}&workers=1`);
        assert(!one.error && !shared.error, `${one.error || shared.error}`);
        assert(one.threads === 1 && shared.threads === 2 && shared.workers === 1, `threads ${one.threads} and ${shared.threads}`);
        assert(
          Number.isFinite(one.last_train_loss) && one.last_train_loss === shared.last_train_loss,
          `last loss ${one.last_train_loss} on one thread vs ${shared.last_train_loss} shared`,
        );
        for (const k of ["rollout", "target", "train", "total"]) assert(shared.s_per_epoch_median[k] >= 0, k);
        assert(shared.peak_gflops > 0 && one.peak_gflops > 0, "engine peak");
        return `last loss ${one.last_train_loss} both ways; engine peak ${shared.peak_gflops.toFixed(1)} GFLOP/s`;
      });

      await check("wasm core: relaxed SIMD where Chromium validates it, simd128 on request, both train alike", async () => {
        const query = "preset=browser&paths=300&steps=6&inner=2&epochs=2&warmup=0&workers=0";
        const relaxed = await benchResult(query);
        const simd128 = await benchResult(`${query}&core=simd128`);
        assert(!relaxed.error && !simd128.error, `${relaxed.error || simd128.error}`);
        assert(relaxed.core_build === "relaxed-simd", `Chromium ${await browser.version()} loaded ${relaxed.core_build}`);
        assert(simd128.core_build === "simd128", `core=simd128 loaded ${simd128.core_build}`);
        // Fused and separate multiply-adds round differently; the runs agree to rounding.
        const gap = Math.abs(relaxed.last_train_loss - simd128.last_train_loss) / Math.abs(simd128.last_train_loss);
        assert(Number.isFinite(gap) && gap < 1e-3, `last loss ${relaxed.last_train_loss} vs ${simd128.last_train_loss}`);
        const p = await openPage(desktop, `${base}?core=avx512#seed=3`, "bad-core");
        const banner = p.locator("#link-warnings");
        await banner.waitFor({ state: "visible", timeout: 5000 });
        const text = await banner.textContent();
        assert(text.includes("core=avx512"), `the warning does not name core=avx512: ${text}`);
        const shown = await p.locator('#readout dd[data-key="core"]').textContent();
        assert(/relaxed SIMD/.test(shown), `the readout says "${shown}"`);
        await p.close();
        // A host without pkg/relaxed-simd/: the page loads simd128, says so, and trains.
        const partial = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        await partial.route("**/relaxed-simd/*.wasm", (route) => route.fulfill({ status: 404, body: "gone" }));
        const q = await partial.newPage();
        await q.goto(`${base}#seed=3`);
        await q.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
        const fellBack = await q.locator('#readout dd[data-key="core"]').textContent();
        const note = await q.locator("#link-warnings").textContent();
        if (!(await q.evaluate(() => window.boltzmannPlayground.state.playing))) await q.click("#play");
        const trained = await waitFor(() => q.evaluate(() => window.boltzmannPlayground.playground.metrics().iteration >= 2), 30000);
        await partial.close();
        assert(fellBack === "simd128", `without the relaxed core the readout says "${fellBack}"`);
        assert(/relaxed-SIMD core did not load/.test(note), `no note of the fallback: "${note}"`);
        assert(trained, "the fallback core did not train");
        return `last loss ${relaxed.last_train_loss} (relaxed) vs ${simd128.last_train_loss}; peak ${relaxed.peak_gflops.toFixed(1)} vs ${simd128.peak_gflops.toFixed(1)} GFLOP/s`;
      });
    }

    if (!only || only === "parity") await parityChecks({ browser, base, check, assert, waitFor, openPage, watch });
    if (!only || only === "registry") await registryChecks({ browser, base, check, assert, openPage });
    if (!only || only === "workers") await pageWorkerChecks({ browser, base, check, assert, waitFor, sleep, openPage });
    if (!only || only === "embed") await embedChecks({ browser, base, artifacts, check, assert, waitFor, sleep, watch, openPage });
    if (!only || only === "package") await packageChecks({ browser, root: join(here, "..", ".."), check, assert, waitFor, watch });
    if (!only || only === "gfn") await gfnChecks({ browser, base, artifacts, check, assert, waitFor, sleep, watch, openPage });

    await check("no console errors or page errors", async () => {
      assert(pageErrors.length === 0, `${pageErrors.length}: ${pageErrors.slice(0, 3).join(" | ")}`);
    });
  } catch (err) {
    report(false, "run aborted", err.message);
  } finally {
    await browser.close();
    server.close();
  }
  if (pageErrors.length > 0) for (const e of pageErrors) console.log(`  ${e}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((err) => {
  console.log(`FAIL run crashed — ${err && err.stack ? err.stack : err}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
