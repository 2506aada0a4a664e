// The page, the custom element and the iframe page are three layouts of one run controller
// (www/controller.js): the same setting changes, made through each one's own means (the
// page's controls, the element's attributes and API, the iframe's postMessage), give the same
// run. The wasm core computes the same seeded numbers, so the metrics must agree bit for bit.
// Called by run.mjs with its helpers (E2E_ONLY=parity runs only this).

/**
 * The sequence: a change of one setting, or `step` (one training iteration, paused). It
 * covers each rule of the controller: a new run (seed, temperature, paths, sampler, target),
 * a preset change that keeps the temperature, learning-rate changes that keep the progress.
 */
export const SEQUENCE = [
  { seed: 5 },
  { temperature: 0.8 },
  { preset: "seed" },
  { paths: 64 },
  { steps: 20 },
  "step",
  "step",
  { lr: 0.0005 },
  "step",
  { sampler: "asbs" },
  { energy: "gmm9" },
  { paths: 64 },
  { steps: 20 },
  "step",
  "step",
  { lr: 0.002 },
  "step",
];

const START = { sampler: "adjoint", energy: "gmm25", seed: 3, preset: "browser" };
/** The element's attribute for a setting (the others go through its setState API). */
const ATTRIBUTES = { sampler: "sampler", energy: "target", seed: "seed", preset: "preset" };

/** What must agree: the metrics' numbers, the loss history, the configuration, the summary. */
const FIELDS = ["iteration", "loss", "log_z_elbo", "log_z_iw", "log_z_true", "ess", "energy_evals", "x_mean", "x_std"];

/**
 * @param {{ browser: import("playwright-core").Browser, base: string, check: Function,
 *           assert: Function, waitFor: Function, openPage: Function, watch: Function }} t
 */
export async function parityChecks({ browser, base, check, assert, waitFor, openPage, watch }) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const hash = Object.entries(START)
    .map(([k, v]) => `${k}=${v}`)
    .join("&");

  /** The page, driven through its controls. */
  const pageRun = async () => {
    const page = await openPage(context, `${base}#${hash}`, "parity-page");
    await page.click("#pause");
    for (const item of SEQUENCE) {
      if (item === "step") {
        await page.click("#step");
        continue;
      }
      const [key, value] = Object.entries(item)[0];
      const id = key === "energy" ? "energy" : key;
      const tag = await page.locator(`#${id}`).evaluate((el) => el.tagName);
      if (tag === "SELECT") await page.selectOption(`#${id}`, String(value));
      else await page.locator(`#${id}`).evaluate((el, v) => {
        el.value = v;
        el.dispatchEvent(new Event("change", { bubbles: true }));
      }, String(value));
      const error = await page.locator(`#${id}-error`).evaluate((el) => (el.hidden ? "" : el.textContent));
      assert(error === "", `page: ${key} = ${value} was refused: ${error}`);
      if (key === "preset") {
        const kept = await page.evaluate(() => window.boltzmannPlayground.playground.config().temperature);
        assert(kept === 0.8, `the preset change did not keep the temperature 0.8: ${kept}`);
      }
    }
    const result = await page.evaluate(() => {
      const pg = window.boltzmannPlayground.playground;
      return { metrics: pg.metrics(), loss: Array.from(pg.history().loss), config: pg.config(), summary: document.getElementById("summary").textContent };
    });
    await page.close();
    return result;
  };

  /** A custom element on the example post, driven through its attributes and setState. */
  const elementRun = async () => {
    const page = await context.newPage();
    watch(page, "parity-element");
    await page.goto(`${base}embed-example.html`, { waitUntil: "load" });
    return page.evaluate(
      async ({ start, sequence, attributes }) => {
        const el = document.createElement("boltzmann-playground");
        for (const [key, value] of Object.entries(start)) el.setAttribute(attributes[key], String(value));
        document.querySelector("article").prepend(el);
        if (!(await el.start())) throw new Error(`element did not start: ${el.errorMessage}`);
        el.pause();
        for (const item of sequence) {
          if (item === "step") {
            el.shadowRoot.querySelector(".step").click();
            // The click's handler awaits the start promise (already settled) before stepping.
            await new Promise((r) => setTimeout(r, 0));
            continue;
          }
          const [key, value] = Object.entries(item)[0];
          if (attributes[key]) el.setAttribute(attributes[key], String(value));
          else {
            const result = await el.setState({ [key]: value });
            if (!result.ok) throw new Error(`element: ${key} = ${value} was refused: ${result.message}`);
          }
          if (el.dataset.error) throw new Error(`element: ${key} = ${value}: ${el.dataset.error}`);
        }
        const pg = el.pg;
        return { metrics: pg.metrics(), loss: Array.from(pg.history().loss), config: pg.config(), summary: el.shadowRoot.querySelector(".summary").textContent };
      },
      { start: START, sequence: SEQUENCE, attributes: ATTRIBUTES },
    ).finally(() => page.close());
  };

  /** The iframe page, driven by a host through postMessage. */
  const iframeRun = async () => {
    const host = await context.newPage();
    watch(host, "parity-iframe");
    await host.setContent(`<!doctype html><body>
      <iframe id="f" src="${base}embed.html#${hash}" style="width: 700px; height: 600px; border: 0" title="playground"></iframe>
      <script>
        window.received = [];
        window.addEventListener("message", (e) => window.received.push(e.data));
        window.send = (m) => document.getElementById("f").contentWindow.postMessage(m, "*");
      </script></body>`);
    const count = (type) => host.evaluate((ty) => window.received.filter((m) => m.type === ty).length, type);
    assert(await waitFor(async () => (await count("ready")) > 0, 30000), "iframe: no ready message");
    /** Sends a command and waits for the reply to a status request sent after it. */
    const send = async (message) => {
      const before = await count("status");
      await host.evaluate((m) => {
        window.send(m);
        window.send({ type: "status" });
      }, message);
      assert(await waitFor(async () => (await count("status")) > before, 10000, 20), `iframe: no status after ${JSON.stringify(message)}`);
    };
    await send({ type: "pause" });
    const errorsBefore = await count("error");
    for (const item of SEQUENCE) {
      await send(item === "step" ? { type: "step" } : { type: "set-state", state: item });
      assert((await count("error")) === errorsBefore, `iframe: ${JSON.stringify(item)} gave an error`);
    }
    const frame = host.frames().find((f) => f.url().includes("embed.html"));
    const result = await frame.evaluate(() => {
      const el = document.getElementById("playground");
      const pg = el.pg;
      return { metrics: pg.metrics(), loss: Array.from(pg.history().loss), config: pg.config(), summary: el.shadowRoot.querySelector(".summary").textContent };
    });
    await host.close();
    return result;
  };

  await check("parity: the page, the custom element and the iframe end the same change sequence with identical runs", async () => {
    const page = await pageRun();
    const element = await elementRun();
    const iframe = await iframeRun();
    const steps = SEQUENCE.filter((s) => s === "step").length;
    assert(page.metrics.iteration > 0 && page.metrics.iteration <= steps, `page iteration ${page.metrics.iteration} after ${steps} steps`);
    for (const [name, other] of [
      ["element", element],
      ["iframe", iframe],
    ]) {
      assert(JSON.stringify(other.config) === JSON.stringify(page.config), `${name} config differs: ${JSON.stringify(other.config)} vs ${JSON.stringify(page.config)}`);
      for (const f of FIELDS) {
        const a = page.metrics[f];
        const b = other.metrics[f];
        assert(Object.is(a, b), `${name} ${f} = ${b}, page ${a}`);
      }
      assert(JSON.stringify(other.loss) === JSON.stringify(page.loss), `${name} loss history differs`);
      assert(other.summary === page.summary, `${name} says "${other.summary}", the page "${page.summary}"`);
    }
    const m = page.metrics;
    return `iteration ${m.iteration}, loss ${m.loss}, log Ẑ ${m.log_z_elbo}, log Ẑ_RW ${m.log_z_iw} in all three`;
  });
  await context.close();

  await check("palette: the page and the custom element resolve every colour token alike, light and dark", async () => {
    const lines = [];
    for (const scheme of ["light", "dark"]) {
      const ctx = await browser.newContext({ viewport: { width: 1000, height: 800 }, colorScheme: scheme });
      /** Every --token of www/palette.css, resolved as a colour under `el`. */
      const resolve = (el) => {
        const names = [];
        for (const sheet of [...document.styleSheets, ...(el.getRootNode().adoptedStyleSheets ?? [])]) {
          if (sheet.href && !sheet.href.endsWith("palette.css")) continue;
          for (const rule of sheet.cssRules) {
            for (const name of rule.style ?? []) if (name.startsWith("--") && !name.includes("shadow") && !names.includes(name)) names.push(name);
          }
        }
        const probe = document.createElement("span");
        el.append(probe);
        const out = {};
        for (const name of names) {
          probe.style.color = `var(${name})`;
          out[name] = getComputedStyle(probe).color;
        }
        probe.remove();
        return out;
      };
      const page = await openPage(ctx, `${base}#seed=1`, `palette-page-${scheme}`);
      const onPage = await page.evaluate(`(${resolve})(document.body)`);
      await page.close();
      const host = await ctx.newPage();
      watch(host, `palette-element-${scheme}`);
      await host.goto(`${base}embed-example.html`, { waitUntil: "load" });
      // The element's tokens come from the palette its shadow root adopts once the core loads.
      const inElement = await host.evaluate(`(async () => {
        const el = document.getElementById("first");
        await el.start();
        return (${resolve})(el.shadowRoot.querySelector(".frame"));
      })()`);
      await ctx.close();
      const names = Object.keys(onPage);
      assert(names.length >= 40, `${names.length} tokens on the page`);
      const differ = names.filter((n) => onPage[n] !== inElement[n]);
      assert(differ.length === 0, `${scheme}: ${differ.map((n) => `${n} ${onPage[n]} vs ${inElement[n]}`).join("; ")}`);
      lines.push(`${scheme}: ${names.length} tokens equal (--c-particle ${onPage["--c-particle"]})`);
    }
    return lines.join("; ");
  });
}
