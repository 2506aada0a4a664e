// The npm package of the embeddable element (scripts/package): installed from its tarball
// into a scratch folder with npm, as a blog author's build or a CDN would, then embedded by a
// page with one script tag and one element. Called by run.mjs with its helpers.

import { mkdtemp, readFile, writeFile, readdir } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, resolve, sep } from "node:path";

const MIME = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };

/** @param {{ browser: import("playwright-core").Browser, root: string, check: Function, assert: Function, waitFor: Function, watch: Function }} t */
export async function packageChecks(t) {
  const { browser, root, check, assert, waitFor, watch } = t;
  let scratch = "";
  await check("npm package: scripts/package packs a tarball that npm installs", async () => {
    const packed = spawnSync(join(root, "scripts", "package"), { cwd: root, encoding: "utf8" });
    assert(packed.status === 0, `scripts/package failed: ${packed.stderr}`);
    const tarball = packed.stdout.trim().split("\n").pop();
    scratch = await mkdtemp(join(tmpdir(), "bp-embed-"));
    await writeFile(join(scratch, "package.json"), JSON.stringify({ name: "a-blog", private: true, version: "1.0.0" }));
    const installed = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--offline", tarball], { cwd: scratch, encoding: "utf8" });
    assert(installed.status === 0, `npm install of the tarball failed: ${installed.stderr}`);
    const pkg = JSON.parse(await readFile(join(scratch, "node_modules", "boltzmann-playground", "package.json"), "utf8"));
    assert(pkg.exports["."] === "./www/element.js" && pkg.jsdelivr === "www/element.js", `entry points ${JSON.stringify(pkg.exports)}`);
    const files = await readdir(join(scratch, "node_modules", "boltzmann-playground", "pkg"));
    assert(files.includes("boltzmann_playground_bg.wasm"), `pkg/ holds ${files}`);
    return `${tarball.split("/").pop()} → node_modules/boltzmann-playground (${pkg.version})`;
  });
  if (!scratch) return;
  // The blog post: one script tag, one element, nothing else from the project.
  await writeFile(
    join(scratch, "index.html"),
    `<!doctype html><meta charset="utf-8"><title>A blog post</title><link rel="icon" href="data:,">
<script type="module" src="./node_modules/boltzmann-playground/www/element.js"></script>
<p>Watch MALA sample a mixture:</p>
<boltzmann-playground id="fig" sampler="mala" target="gmm9" seed="3" controls="play,step" autoplay></boltzmann-playground>`,
  );
  const dir = resolve(scratch);
  const server = createServer(async (req, res) => {
    let path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path.endsWith("/")) path += "index.html";
    const file = resolve(join(dir, path));
    if (!file.startsWith(dir + sep)) return void res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": MIME[extname(file)] || "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  try {
    await check("npm package: one script tag from the installed package embeds a training element", async () => {
      const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
      watch(page, "npm package");
      await page.goto(`http://127.0.0.1:${server.address().port}/`, { waitUntil: "load" });
      const iteration = await waitFor(
        () => page.evaluate(() => {
          const el = /** @type {any} */ (document.getElementById("fig"));
          return el && el.pg && el.pg.metrics().iteration >= 3 ? el.pg.metrics().iteration : 0;
        }),
        30000,
      );
      assert(iteration >= 3, "the element did not train from the installed package");
      const sampler = await page.evaluate(() => /** @type {any} */ (document.getElementById("fig")).pg.config().sampler);
      assert(sampler === "mala", `sampler ${sampler}`);
      await page.close();
      return `iteration ${iteration}`;
    });
  } finally {
    server.close();
  }
}
