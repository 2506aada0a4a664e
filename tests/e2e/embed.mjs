// End-to-end checks of embedding and sharing (docs/product.md): the custom element on the example
// post, the iframe page's postMessage protocol, copy link, hide flags, scenes, export and
// import, and screenshots of the example post. Called by run.mjs with its helpers.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * @param {{ browser: import("playwright-core").Browser, base: string, artifacts: string,
 *           check: Function, assert: Function, waitFor: Function, sleep: Function,
 *           watch: Function, openPage: Function }} t
 */
export async function embedChecks(t) {
  const { browser, base, artifacts, check, assert, waitFor, sleep, watch, openPage } = t;
  const exampleUrl = `${base}embed-example.html`;

  /** state and iteration of the elements on a page, by id. */
  const elements = (page) =>
    page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll("boltzmann-playground")].map((el) => [
          el.id,
          { state: el.dataset.state, iteration: el.pg ? el.pg.metrics().iteration : -1, error: el.dataset.error ?? "" },
        ]),
      ),
    );

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  watch(page, "example");
  await page.goto(exampleUrl, { waitUntil: "load" });

  await check("example post: the elements start lazily, a poster until they come near", async () => {
    await page.waitForFunction(() => document.getElementById("first").dataset.state === "paused", null, { timeout: 30000 });
    await sleep(500);
    let els = await elements(page);
    assert(els.second.state === "poster" && els.third.state === "poster", `below the fold already started: ${JSON.stringify(els)}`);
    const posterVisible = await page.locator("#second .poster").isVisible();
    assert(posterVisible, "the second element shows no poster");
    // The posters below draw their target's density (the core is loaded by the first).
    await page.waitForFunction(() => document.getElementById("third").dataset.preview === "drawn", null, { timeout: 15000 });
    const poster = await page.evaluate(() => {
      const el = document.getElementById("third");
      const canvas = el.shadowRoot.querySelector("canvas.main");
      const ctx = canvas.getContext("2d");
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      // Drawn pixels: opaque and not the first pixel's colour (the background).
      let drawn = 0;
      let sampled = 0;
      for (let k = 0; k < data.length; k += 4 * 7) {
        sampled += 1;
        if (data[k + 3] > 0 && (data[k] !== data[0] || data[k + 1] !== data[1] || data[k + 2] !== data[2])) drawn += 1;
      }
      return { state: el.dataset.state, drawn: drawn / sampled, width: canvas.width, png: canvas.toDataURL("image/png") };
    });
    assert(poster.state === "poster" && poster.width > 0 && poster.drawn > 0.005, `the third poster shows no density: ${poster.state}, ${(100 * poster.drawn).toFixed(2)} % drawn`);
    // Kept as an artifact without scrolling to it (which would start it).
    await writeFile(join(artifacts, "embed-poster.png"), Buffer.from(poster.png.split(",")[1], "base64"));
    // Just near enough: the second's top 50 px above the viewport's bottom edge.
    await page.evaluate(() => window.scrollTo(0, window.scrollY + document.getElementById("second").getBoundingClientRect().top - window.innerHeight + 50));
    const started = await waitFor(async () => (await elements(page)).second.state === "paused", 20000);
    assert(started, "the second element did not start when scrolled into view");
    assert(await page.locator("#second .poster").isHidden(), "the poster stays after the start");
    els = await elements(page);
    assert(els.third.state === "poster", `the third started too early: ${els.third.state}`);
    // A click on the poster starts (and plays) an element that is not near yet.
    return `first ${els.first.state}, second ${els.second.state}, third ${els.third.state}`;
  });

  await check("example post: two elements run independently", async () => {
    await page.locator("#first").scrollIntoViewIfNeeded();
    await page.click("#first .play");
    const rose = await waitFor(async () => (await elements(page)).first.iteration >= 3, 30000);
    assert(rose, "the first element does not train");
    await page.click("#first .play"); // pause
    const els = await elements(page);
    assert(els.first.state === "paused", `first is ${els.first.state} after Pause`);
    assert(els.second.iteration === 0, `the second trained along: iteration ${els.second.iteration}`);
    // The first is a comparison scene: its status line carries the compared run's W2 too.
    const status = await page.evaluate(() => document.getElementById("first").shadowRoot.querySelector(".status").textContent);
    // The compared run goes by the core's label for its sampler, as on the page.
    assert(/W2 [\d.]+ · Adjoint Sampling W2 [\d.]+ at iteration \d+/.test(status), `the first's status lacks the compared run: "${status}"`);
    await page.locator("#second").scrollIntoViewIfNeeded();
    await page.click("#second .step");
    const after = await elements(page);
    assert(after.second.iteration === 1, `Step on the second gave iteration ${after.second.iteration}`);
    assert(after.first.iteration === els.first.iteration, "stepping the second moved the first");
    return `first at ${after.first.iteration}, second at ${after.second.iteration}`;
  });

  await check("example post: keyboard shortcuts inside a focused element", async () => {
    await page.focus("#second");
    const i0 = (await elements(page)).second.iteration;
    await page.keyboard.press(".");
    const i1 = (await elements(page)).second.iteration;
    assert(i1 === i0 + 1, `'.' stepped ${i0} → ${i1}`);
    await page.keyboard.press(" ");
    assert(await waitFor(async () => (await elements(page)).second.state === "playing", 3000), "space did not play");
    await page.keyboard.press(" ");
    assert((await elements(page)).second.state === "paused", "space did not pause");
    await page.keyboard.press("r");
    assert((await elements(page)).second.iteration === 0, "r did not reset");
    const labelled = await page.evaluate(() => {
      const root = document.getElementById("second").shadowRoot;
      const live = root.querySelector("[aria-live=polite]");
      const buttons = [...root.querySelectorAll(".bar button")].filter((b) => !b.hidden);
      return { live: live ? live.textContent : null, names: buttons.map((b) => b.textContent.trim()) };
    });
    assert(labelled.live && labelled.live.length > 0, "no live summary text");
    assert(labelled.names.every((n) => n.length > 0), `unlabelled buttons: ${JSON.stringify(labelled.names)}`);
    return `summary "${labelled.live.slice(0, 60)}"`;
  });

  await check("example post: an element pauses when scrolled away and when the tab is hidden", async () => {
    await page.locator("#first").scrollIntoViewIfNeeded();
    await page.click("#first .play");
    assert(await waitFor(async () => (await elements(page)).first.state === "playing", 3000), "did not play");
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    assert(await waitFor(async () => (await elements(page)).first.state === "paused", 5000), "still playing out of view");
    const i0 = (await elements(page)).first.iteration;
    await sleep(800);
    const i1 = (await elements(page)).first.iteration;
    assert(i1 === i0, `trained out of view: ${i0} → ${i1}`);
    await page.locator("#first").scrollIntoViewIfNeeded();
    assert(await waitFor(async () => (await elements(page)).first.state === "playing", 5000), "did not resume in view");
    // A hidden tab: the visibility API as a browser reports it when the tab goes to the background.
    await page.evaluate(() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    assert((await elements(page)).first.state === "paused", "still playing in a hidden tab");
    await page.evaluate(() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    assert(await waitFor(async () => (await elements(page)).first.state === "playing", 3000), "did not resume when visible");
    await page.click("#first .play");
  });

  await check("example post: a bad attribute value is named in the element, and fixing it starts the run", async () => {
    const result = await page.evaluate(async () => {
      const el = document.createElement("boltzmann-playground");
      el.id = "added";
      el.setAttribute("sampler", "adjoint");
      el.setAttribute("target", "no-such-target");
      document.querySelector("article").prepend(el);
      window.scrollTo(0, 0);
      const until = async (fn) => {
        for (let k = 0; k < 100 && !fn(); k++) await new Promise((r) => setTimeout(r, 100));
        return fn();
      };
      await until(() => el.dataset.state === "error");
      const shown = el.shadowRoot.querySelector(".error");
      const message = shown.hidden ? "" : shown.textContent;
      el.setAttribute("target", "gmm9");
      await until(() => el.dataset.state === "paused");
      const state = el.dataset.state;
      const energy = el.pg ? el.pg.config().energy : null;
      el.remove();
      return { message, state, energy };
    });
    assert(result.message.includes("no-such-target"), `message: ${result.message}`);
    assert(result.state === "paused" && result.energy === "gmm9", `after the fix: ${JSON.stringify(result)}`);
    return `"${result.message.slice(0, 80)}"`;
  });

  for (const [name, options] of [
    ["desktop", { viewport: { width: 1280, height: 900 } }],
    ["360", { viewport: { width: 360, height: 800 }, deviceScaleFactor: 2 }],
    ["dark", { viewport: { width: 1280, height: 900 }, colorScheme: "dark" }],
  ]) {
    await check(`screenshot of the example post (${name})`, async () => {
      const ctx = await browser.newContext(options);
      const p = await ctx.newPage();
      watch(p, `example-${name}`);
      await p.goto(exampleUrl, { waitUntil: "load" });
      await p.waitForFunction(() => document.getElementById("first").dataset.state === "paused", null, { timeout: 30000 });
      await p.click("#first .play");
      await waitFor(() => p.evaluate(() => document.getElementById("first").pg.metrics().iteration >= 20), 30000);
      await p.click("#first .play");
      await p.locator("#first").scrollIntoViewIfNeeded();
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      await p.screenshot({ path: join(artifacts, `embed-example-${name}.png`) });
      await ctx.close();
      assert(overflow <= 0, `horizontal overflow of ${overflow} px`);
      return `artifacts/embed-example-${name}.png`;
    });
  }
  await context.close();

  await iframeChecks(t);
  await pageChecks(t);
}

/** The iframe page driven by a host page through postMessage. */
async function iframeChecks({ browser, base, check, assert, waitFor, sleep, watch }) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const host = await context.newPage();
  watch(host, "iframe-host");
  const src = `${base}embed.html#sampler=adjoint&energy=gmm9&seed=3&controls=play,step,reset`;
  // The host is another origin (about:blank's opaque one), as on a blog.
  await host.setContent(`<!doctype html><body>
    <iframe id="f" src="${src}" style="width: 700px; height: 600px; border: 0" title="playground"></iframe>
    <script>
      window.received = [];
      window.addEventListener("message", (e) => {
        if (e.source === document.getElementById("f").contentWindow) window.received.push(e.data);
      });
      window.send = (m) => document.getElementById("f").contentWindow.postMessage(m, "*");
    </script></body>`);
  const received = () => host.evaluate(() => window.received);
  const lastOf = async (type) => (await received()).filter((m) => m.type === type).at(-1);
  const send = (m) => host.evaluate((msg) => window.send(msg), m);
  const frame = () => host.frames().find((f) => f.url().includes("embed.html"));
  const iterationIn = async () => frame().evaluate(() => document.getElementById("playground").pg.metrics().iteration);

  await check("iframe: reports ready and its height", async () => {
    assert(await waitFor(async () => (await lastOf("ready")) !== undefined, 30000), "no ready message");
    assert(await waitFor(async () => (await lastOf("height")) !== undefined, 5000), "no height message");
    const ready = await lastOf("ready");
    const height = (await lastOf("height")).height;
    assert(ready.state.config.energy === "gmm9" && ready.state.config.seed === 3, `ready state ${JSON.stringify(ready.state.config)}`);
    assert(height > 200 && height < 2000, `height ${height}`);
    return `height ${height}`;
  });

  await check("iframe: play, metrics, pause, step, reset by postMessage", async () => {
    await send({ type: "play" });
    assert(await waitFor(async () => (await lastOf("state"))?.state.playing === true, 5000), "no state {playing: true}");
    assert(await waitFor(async () => (await lastOf("metrics"))?.metrics.iteration >= 2, 30000), "no metrics with iteration ≥ 2");
    const metricsCount = (await received()).filter((m) => m.type === "metrics").length;
    await send({ type: "pause" });
    assert(await waitFor(async () => (await lastOf("state"))?.state.playing === false, 5000), "no state {playing: false}");
    const i0 = await iterationIn();
    await send({ type: "step" });
    assert(await waitFor(async () => (await iterationIn()) === i0 + 1, 5000), "step did not add one iteration");
    await send({ type: "reset" });
    assert(await waitFor(async () => (await iterationIn()) === 0, 5000), "reset did not go back to iteration 0");
    return `${metricsCount} metrics messages (throttled), paused at ${i0}`;
  });

  await check("iframe: set-state starts a new run, speed alone keeps the progress", async () => {
    await send({ type: "step" });
    await send({ type: "step" });
    assert(await waitFor(async () => (await iterationIn()) === 2, 5000), "steps did not land");
    await send({ type: "set-state", state: { budget: 4 } });
    await sleep(300);
    assert((await iterationIn()) === 2, "a speed change lost the progress");
    await send({ type: "set-state", state: { seed: 5, energy: "gmm25" } });
    assert(await waitFor(async () => (await lastOf("state"))?.state.config.seed === 5, 5000), "no state with seed 5");
    const s = (await lastOf("state")).state;
    assert(s.config.energy === "gmm25" && s.iteration === 0 && s.budget === 4, `state ${JSON.stringify({ e: s.config.energy, i: s.iteration, b: s.budget })}`);
    const hash = await frame().evaluate(() => location.hash);
    assert(hash.includes("seed=5") && hash.includes("energy=gmm25"), `the iframe's hash does not follow: ${hash}`);
    await send({ type: "set-state", state: { paths: -3 } });
    assert(await waitFor(async () => (await lastOf("error")) !== undefined, 5000), "an invalid set-state gave no error message");
    const err = await lastOf("error");
    assert(/paths/.test(err.message), `the error does not name the setting: ${err.message}`);
    assert((await lastOf("state")).state.config.paths !== -3, "the invalid value was applied");
    return `error "${err.message.slice(0, 80)}"`;
  });

  await check("iframe: malformed messages are counted and ignored", async () => {
    const before = await iterationIn();
    for (const m of ["play", { type: "explode" }, { type: "play", extra: 1 }, { type: "set-state", state: 3 }, null, [1, 2], { kind: "play" }]) {
      await send(m);
    }
    await send({ type: "status" });
    assert(await waitFor(async () => (await lastOf("status")) !== undefined, 5000), "no status reply");
    const status = await lastOf("status");
    const attr = await frame().evaluate(() => document.documentElement.dataset.ignoredMessages);
    await sleep(500);
    const after = await iterationIn();
    assert(status.ignored === 7 && attr === "7", `ignored ${status.ignored}, attribute ${attr}`);
    assert(status.state.playing === false && after === before, `a malformed message acted: playing ${status.state.playing}, ${before} → ${after}`);
    return `${status.ignored} ignored`;
  });

  await check("iframe: divergence (learning rate 1e3) stops with a message naming the setting, Reset recovers", async () => {
    await send({ type: "set-state", state: { lr: 1000, energy: "seed-gmm" } });
    assert(await waitFor(async () => (await lastOf("state"))?.state.config.lr === 1000, 5000), "lr 1000 not applied");
    const errorsBefore = (await received()).filter((m) => m.type === "error").length;
    await send({ type: "play" });
    const diverged = await waitFor(async () => (await received()).filter((m) => m.type === "error").length > errorsBefore, 60000);
    assert(diverged, "no error message within 60 s at lr 1e3");
    const err = await lastOf("error");
    assert(/learning rate/.test(err.message), `no suggestion: ${err.message}`);
    const shown = await frame().evaluate(() => document.getElementById("playground").shadowRoot.querySelector(".error").textContent);
    assert(shown.includes("Training stopped"), `not shown in the page: ${shown}`);
    const st = (await lastOf("state")).state;
    assert(st.playing === false, "still playing after divergence");
    const m = await frame().evaluate(() => document.getElementById("playground").pg.metrics());
    assert(m.loss === null || Number.isFinite(m.loss), `the state shown is not the last good one: loss ${m.loss}`);
    // A learning-rate change keeps the run's (diverged) progress, as on the page: the message's
    // advice is a smaller rate, then Reset.
    await send({ type: "set-state", state: { lr: 0.001 } });
    await send({ type: "reset" });
    await send({ type: "play" });
    assert(await waitFor(async () => (await iterationIn()) >= 2, 30000), "training did not resume after lowering lr");
    await send({ type: "pause" });
    return `"${err.message.slice(0, 90)}"`;
  });
  await context.close();

  await check("iframe: prefers-reduced-motion starts paused despite autoplay", async () => {
    const calm = await browser.newContext({ viewport: { width: 800, height: 800 }, reducedMotion: "reduce" });
    const p = await calm.newPage();
    watch(p, "iframe-reduced");
    await p.goto(`${base}embed.html#sampler=adjoint&energy=gmm9&autoplay=1`);
    await p.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
    await sleep(800);
    const calmState = await p.evaluate(() => document.getElementById("playground").dataset.state);
    await calm.close();
    const lively = await browser.newContext({ viewport: { width: 800, height: 800 } });
    const q = await lively.newPage();
    watch(q, "iframe-autoplay");
    await q.goto(`${base}embed.html#sampler=adjoint&energy=gmm9&autoplay=1`);
    await q.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
    const played = await waitFor(() => q.evaluate(() => document.getElementById("playground").dataset.state === "playing"), 5000);
    await lively.close();
    assert(calmState === "paused", `reduced motion: ${calmState}`);
    assert(played, "autoplay did not play without reduced motion");
  });

  await check("iframe: invalid values in its link are named in the element while the rest runs", async () => {
    const ctx = await browser.newContext({ viewport: { width: 800, height: 800 } });
    const p = await ctx.newPage();
    watch(p, "iframe-bad-link");
    await p.goto(`${base}embed.html#sampler=adjoint&energy=gmm9&seed=8&paths=abc&theme=purple&controls=play,fly`);
    await p.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
    const got = await p.evaluate(() => {
      const el = document.getElementById("playground");
      const warn = el.shadowRoot.querySelector(".warn");
      return { text: warn.textContent, visible: !warn.hidden, state: el.dataset.state, config: el.pg.config() };
    });
    await ctx.close();
    assert(got.visible, "no warning shown");
    for (const word of ["paths=abc", "purple", "fly"]) assert(got.text.includes(word), `the warning does not name ${word}: ${got.text}`);
    assert(got.state === "paused" && got.config.seed === 8 && got.config.energy === "gmm9", `the rest did not run: ${got.state}`);
    return `"${got.text.slice(0, 100)}"`;
  });

  await check("iframe: a compared run's settings (vs={…} or a scene's) survive embedding and the hash, and a bad vs is named", async () => {
    const ctx = await browser.newContext({ viewport: { width: 800, height: 800 } });
    const runs = async (hash, label) => {
      const p = await ctx.newPage();
      watch(p, label);
      await p.goto(`${base}embed.html#${hash}`);
      await p.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
      const got = await p.evaluate(() => {
        const el = document.getElementById("playground");
        return {
          main: el.pg ? el.pg.config() : null,
          other: el.comparePg ? el.comparePg.config() : null,
          error: el.dataset.error ?? "",
          warning: el.shadowRoot.querySelector(".warn").hidden ? "" : el.shadowRoot.querySelector(".warn").textContent,
          hash: decodeURIComponent(window.location.hash),
        };
      });
      await p.close();
      return got;
    };
    const vs = encodeURIComponent('{"sampler":"tb","explore":0.2}');
    const linked = await runs(`sampler=tb&energy=gmm25&preset=browser&explore=0&seed=2&compare=1&vs=${vs}`, "iframe-vs");
    const scene = await runs("scene=gfn-exploration", "iframe-vs-scene");
    const bad = await runs(`sampler=tb&energy=gmm25&compare=1&vs=${encodeURIComponent('{"sampler":"nope"}')}`, "iframe-vs-bad");
    await ctx.close();
    for (const [name, got] of [["vs={…}", linked], ["scene", scene]]) {
      assert(got.main && got.other, `${name}: no compared run (${got.error})`);
      assert(got.main.explore === 0 && got.other.sampler === "tb" && got.other.explore === 0.2, `${name}: explore ${got.main.explore} beside ${got.other.sampler} explore ${got.other.explore}`);
      assert(got.hash.includes('vs={"sampler":"tb","explore":0.2}'), `${name}: the hash lost vs: ${got.hash}`);
    }
    assert(bad.warning.includes("nope"), `a bad vs is not named: warning "${bad.warning}", error "${bad.error}"`);
    return `compared explore ${linked.other.explore}; bad vs: "${bad.warning.slice(0, 90)}"`;
  });

  await check("iframe: theme=dark in the link darkens the element on a light page", async () => {
    const ctx = await browser.newContext({ viewport: { width: 800, height: 800 }, colorScheme: "light" });
    const p = await ctx.newPage();
    watch(p, "iframe-theme");
    const background = async (hash) => {
      await p.goto(`${base}embed.html#${hash}`);
      await p.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
      return p.evaluate(() => getComputedStyle(document.getElementById("playground").shadowRoot.querySelector(".frame")).backgroundColor);
    };
    const light = await background("sampler=adjoint&energy=gmm9");
    const dark = await background("sampler=adjoint&energy=gmm9&theme=dark");
    await ctx.close();
    const luminance = (c) => c.match(/\d+/g).slice(0, 3).reduce((a, v) => a + Number(v), 0);
    assert(luminance(light) > 600 && luminance(dark) < 200, `light ${light}, dark ${dark}`);
    return `${light} → ${dark}`;
  });
}

/** The main page: copy link, hide flags, scenes, export and import. */
async function pageChecks({ browser, base, artifacts, check, assert, waitFor, watch, openPage }) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    permissions: ["clipboard-read", "clipboard-write"],
    acceptDownloads: true,
  });

  await check("formula box: a parse error points at its column while the run keeps going; a valid formula runs and round-trips through the hash", async () => {
    const page = await openPage(context, `${base}#sampler=adjoint&energy=gmm9&seed=3&paths=128`, "formula");
    const pg = () => page.evaluate(() => ({ config: window.boltzmannPlayground.playground.config(), iteration: window.boltzmannPlayground.playground.metrics().iteration, playing: window.boltzmannPlayground.state.playing }));
    await page.selectOption("#energy", "formula");
    const example = await pg();
    assert(example.config.energy.formula && example.config.energy.formula.window.length === 2, `the example formula runs: ${JSON.stringify(example.config.energy)}`);
    if (!example.playing) await page.click("#play");
    // A parse error: named at the box with its column marked, the example keeps training.
    await page.fill("#formula-text", "x^2 + * y");
    await page.locator("#formula-error").waitFor({ state: "visible", timeout: 3000 });
    const message = await page.textContent("#formula-error");
    const marked = await page.textContent(".formula-mark mark");
    const before = await pg();
    await page.press("#formula-text", "Enter");
    const selected = await page.evaluate(() => {
      const t = document.getElementById("formula-text");
      return t.value.slice(t.selectionStart, t.selectionEnd);
    });
    await waitFor(async () => (await pg()).iteration > before.iteration + 1, 15000);
    const during = await pg();
    assert(/column 7/.test(message) && marked === "*" && selected === "*", `error ${message}, marked "${marked}", selected "${selected}"`);
    assert(JSON.stringify(during.config.energy) === JSON.stringify(example.config.energy), "a bad formula replaced the run");
    assert(during.iteration > before.iteration, `the previous run stopped: ${before.iteration} → ${during.iteration}`);
    assert((await page.getAttribute("#formula-text", "aria-invalid")) === "true", "the box is not marked invalid");
    // A valid formula starts a run on it; the link holds it, and a reload restores it.
    const text = "(x^2 - 1)^2 + y^2 / 2";
    await page.fill("#formula-text", text);
    await page.press("#formula-text", "Enter");
    await waitFor(async () => (await pg()).config.energy.formula?.energy === text, 5000);
    const running = await pg();
    assert(await page.locator("#formula-error").isHidden(), "the error stays after a valid formula");
    const hash = await page.evaluate(() => window.location.hash);
    assert(decodeURIComponent(hash).includes(text), `hash ${hash}`);
    await page.reload({ waitUntil: "load" });
    await page.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
    const reloaded = await pg();
    const shown = await page.inputValue("#formula-text");
    const choice = await page.inputValue("#energy");
    await page.close();
    assert(JSON.stringify(reloaded.config) === JSON.stringify(running.config), `after reload: ${JSON.stringify(reloaded.config.energy)}`);
    assert(shown === text && choice === "formula", `the box shows "${shown}", the select ${choice}`);
    return `${message}`;
  });

  await check("comparison: a scene's second run with other settings, any sampler chosen beside it, both plotted against evaluations and time", async () => {
    const page = await openPage(context, `${base}#scene=gfn-exploration`, "compare");
    const info = () =>
      page.evaluate(() => {
        const bp = window.boltzmannPlayground;
        const blank = (id) => {
          const c = document.getElementById(id);
          const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let k = 0; k < d.length; k += 4 * 5) if (d[k + 3] > 0 && (d[k] !== d[0] || d[k + 1] !== d[1] || d[k + 2] !== d[2])) n += 1;
          return n;
        };
        return {
          main: bp.playground.config(),
          other: bp.compare ? bp.compare.config() : null,
          otherIteration: bp.compare ? bp.compare.metrics().iteration : -1,
          card: !document.getElementById("compare-card").hidden,
          drawnEvals: blank("compare-evals"),
          drawnTime: blank("compare-time"),
          hash: decodeURIComponent(window.location.hash),
          legend: document.querySelector(".compare-name").textContent,
        };
      });
    if (!(await page.evaluate(() => window.boltzmannPlayground.state.playing))) await page.click("#play");
    await waitFor(async () => (await info()).otherIteration >= 3, 30000);
    const first = await info();
    assert(first.main.sampler === "tb" && first.main.explore === 0 && first.other && first.other.sampler === "tb" && first.other.explore === 0.2, `runs: ${JSON.stringify([first.main.explore, first.other?.explore])}`);
    assert(first.card && first.drawnEvals > 20 && first.drawnTime > 20, `comparison charts: ${JSON.stringify(first)}`);
    assert(first.main.seed === first.other.seed && first.main.energy === first.other.energy, "the runs differ in seed or target");
    // Another sampler beside it, by the select: in the link, and trained.
    await page.selectOption("#compare-with", "vargrad");
    await waitFor(async () => (await info()).otherIteration >= 2, 30000);
    const second = await info();
    await page.close();
    assert(second.other.sampler === "vargrad" && second.hash.includes("vs=vargrad") && second.hash.includes("compare=1"), `after choosing vargrad: ${second.other.sampler}, ${second.hash}`);
    assert(second.legend !== first.legend && !/explore/.test(second.legend), `legend ${first.legend} → ${second.legend}`);
    return `${first.legend} then ${second.legend}`;
  });

  await check("mixture editor: add, remove, edit with the core's messages while the run keeps going, drag a mean; the link keeps it", async () => {
    const mixture = { gmm: { weights: [0.3, 0.7], means: [[-3, 0], [3, 1]], covs: [[[1, 0], [0, 1]], [[0.5, 0], [0, 2]]] } };
    const page = await openPage(context, `${base}#sampler=adjoint&seed=4&paths=128&energy=${encodeURIComponent(JSON.stringify(mixture))}`, "mixture");
    const gmm = () => page.evaluate(() => window.boltzmannPlayground.playground.config().energy.gmm);
    const iteration = () => page.evaluate(() => window.boltzmannPlayground.playground.metrics().iteration);
    if (!(await page.evaluate(() => window.boltzmannPlayground.state.playing))) await page.click("#play");
    assert((await page.locator(".mean-handle").count()) === 2, "two mean handles");
    // A non-positive weight and a covariance that is not positive definite: named, run kept.
    const edit = async (component, key, value) => {
      const input = page.locator(`#mixture-editor input[data-component="${component}"][data-key="${key}"]`);
      await input.fill(String(value));
      await input.dispatchEvent("change");
    };
    await edit(0, "w", -1);
    const weightMessage = await page.textContent("#custom-error");
    const before = await iteration();
    await waitFor(async () => (await iteration()) > before + 1, 15000);
    assert(/weight/i.test(weightMessage) && /positive/i.test(weightMessage), `weight message: ${weightMessage}`);
    assert((await iteration()) > before, "the run stopped after a rejected weight");
    assert(JSON.stringify(await gmm()) === JSON.stringify(mixture.gmm), "a rejected edit replaced the run");
    await edit(0, "w", 0.3);
    await edit(1, "sxy", 5);
    const covMessage = await page.textContent("#custom-error");
    assert(/definite/i.test(covMessage), `covariance message: ${covMessage}`);
    assert(JSON.stringify(await gmm()) === JSON.stringify(mixture.gmm), "a rejected covariance replaced the run");
    // Fix it, add a component, remove it again.
    await edit(1, "sxy", 0.2);
    await waitFor(async () => (await gmm()).covs[1][0][1] === 0.2, 5000);
    await page.click("#mixture-editor button:text('Add component')");
    await waitFor(async () => (await gmm()).weights.length === 3, 5000);
    assert((await page.locator(".mean-handle").count()) === 3, "three handles after adding");
    await page.click("#mixture-editor button[aria-label='Remove component 2']");
    await waitFor(async () => (await gmm()).weights.length === 2, 5000);
    // Drag the first mean to the middle of the plot.
    // The plot's window (it follows the mixture, so read it before the drag changes it).
    const win = await page.evaluate(() => Array.from(window.boltzmannPlayground.playground.window()));
    const handle = page.locator(".mean-handle").first();
    const box = await handle.boundingBox();
    const plot = await page.locator("#field-plot").boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(plot.x + plot.width / 2, plot.y + plot.height / 2, { steps: 8 });
    await page.mouse.up();
    await waitFor(async () => (await gmm()).means[0][0] !== -3, 5000);
    const dragged = await gmm();
    const centre = [(win[0] + win[1]) / 2, (win[2] + win[3]) / 2];
    assert(Math.abs(dragged.means[0][0] - centre[0]) < 0.3 && Math.abs(dragged.means[0][1] - centre[1]) < 0.3, `dragged to ${dragged.means[0]}, centre ${centre}`);
    await page.reload({ waitUntil: "load" });
    await page.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
    const reloaded = await gmm();
    await page.screenshot({ path: join(artifacts, "mixture-editor.png") });
    await page.close();
    assert(JSON.stringify(reloaded) === JSON.stringify(dragged), "the link lost the edited mixture");
    return `${weightMessage} / ${covMessage}`;
  });

  await check("a link edited to hold an invalid value names it while the run keeps its progress", async () => {
    const page = await openPage(context, `${base}#sampler=adjoint&energy=gmm9&seed=12&paths=128`, "bad-hash-edit");
    const iteration = () => page.evaluate(() => window.boltzmannPlayground.playground.metrics().iteration);
    if (!(await page.evaluate(() => window.boltzmannPlayground.state.playing))) await page.click("#play");
    await waitFor(async () => (await iteration()) >= 3, 20000);
    const config = await page.evaluate(() => window.boltzmannPlayground.playground.config());
    await page.evaluate(() => {
      window.location.hash = `${window.location.hash}&lr=abc`;
    });
    const banner = page.locator("#link-warnings");
    await banner.waitFor({ state: "visible", timeout: 5000 });
    const text = (await banner.textContent()).replace(/\s+/g, " ");
    const at = await iteration();
    await waitFor(async () => (await iteration()) > at + 1, 15000);
    const after = await iteration();
    const same = await page.evaluate(() => window.boltzmannPlayground.playground.config());
    const hash = await page.evaluate(() => window.location.hash);
    await page.close();
    assert(/lr=abc/.test(text), `the warning does not name lr=abc: ${text}`);
    assert(at >= 3 && after > at, `the run lost its progress: ${at} → ${after}`);
    assert(JSON.stringify(same) === JSON.stringify(config) && !hash.includes("abc"), `config or hash changed: ${hash}`);
    return text.slice(0, 100);
  });

  await check("copy link: the clipboard gets the address, with a visible confirmation and a fallback", async () => {
    const page = await openPage(context, `${base}#sampler=adjoint&energy=gmm9&seed=11`, "copy-link");
    await page.click("#copy-link");
    await page.locator("#copy-status").filter({ hasText: "Link copied" }).waitFor({ timeout: 3000 });
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    const href = await page.evaluate(() => location.href);
    assert(copied === href && copied.includes("seed=11"), `clipboard ${copied}`);
    await page.evaluate(() => {
      navigator.clipboard.writeText = () => Promise.reject(new Error("denied"));
    });
    await page.click("#copy-link");
    await page.locator("#copy-fallback").waitFor({ state: "visible", timeout: 3000 });
    const fallback = await page.inputValue("#copy-fallback");
    const selected = await page.evaluate(() => {
      const el = document.getElementById("copy-fallback");
      return el.selectionEnd - el.selectionStart === el.value.length && document.activeElement === el;
    });
    await page.close();
    assert(fallback === href && selected, `fallback ${fallback}, selected ${selected}`);
  });

  await check("hide flags hide the named regions and an unknown flag is named", async () => {
    const page = await openPage(context, `${base}#sampler=adjoint&energy=gmm9&hide=settings,metrics,nonsense`, "hide");
    const shown = await page.evaluate(() => ({
      settings: !document.getElementById("settings").hidden && document.getElementById("settings").offsetParent !== null,
      metrics: document.querySelector(".metrics-col").offsetParent !== null,
      transport: document.querySelector(".transport").offsetParent !== null,
      hash: location.hash,
      warning: document.getElementById("link-warnings").textContent,
    }));
    await page.close();
    assert(!shown.settings && !shown.metrics && shown.transport, `visibility ${JSON.stringify(shown)}`);
    assert(shown.hash.includes("hide=settings,metrics"), `hash ${shown.hash}`);
    assert(shown.warning.includes("nonsense"), `warning: ${shown.warning}`);
  });

  const { SCENES } = await import("../../www/scenes.js");
  await check("scenes load by link with their captions, and the page lists them", async () => {
    const page = await openPage(context, `${base}#sampler=adjoint`, "scenes");
    const listed = await page.locator("#scene-list a").count();
    assert(listed === SCENES.length, `${listed} scenes listed`);
    const seen = [];
    for (const scene of SCENES) {
      await page.evaluate((name) => {
        location.hash = `scene=${name}`;
      }, scene.name);
      await waitFor(() => page.evaluate((n) => location.hash.startsWith(`#scene=${n}&`), scene.name), 10000);
      const got = await page.evaluate(() => ({
        title: document.getElementById("scene-title").textContent,
        text: document.getElementById("scene-text").textContent,
        visible: !document.getElementById("scene-caption").hidden,
        config: window.boltzmannPlayground.playground.config(),
        compare: window.boltzmannPlayground.compare !== null,
      }));
      assert(got.visible && got.title === scene.title && got.text === scene.caption, `${scene.name}: caption ${got.title}`);
      for (const [k, v] of Object.entries(scene.config)) assert(got.config[k] === v, `${scene.name}: ${k} = ${got.config[k]}, not ${v}`);
      assert(got.compare === Boolean(scene.compare), `${scene.name}: compare ${got.compare}`);
      seen.push(scene.name);
    }
    // A changed setting makes the run the user's own: the caption goes.
    await page.fill("#seed", "4");
    await page.locator("#seed").dispatchEvent("change");
    const after = await page.evaluate(() => ({ hidden: document.getElementById("scene-caption").hidden, hash: location.hash }));
    await page.close();
    assert(after.hidden && !after.hash.includes("scene="), `after a change: ${JSON.stringify(after)}`);
    return seen.join(", ");
  });

  await check("export: PNG, CSV and JSON with the network's weights; JSON import restores the run where it was and rejects bad files", async () => {
    const page = await openPage(context, `${base}#sampler=adjoint&energy=gmm9&seed=21&paths=128&lr=0.002`, "export");
    await page.click("#pause");
    await page.click("#step");
    await page.click("#step");
    const rows = await page.evaluate(() => window.boltzmannPlayground.playground.history().iteration.length);
    const grab = async (button) => {
      const [download] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
      const path = join(artifacts, download.suggestedFilename());
      await download.saveAs(path);
      return { name: download.suggestedFilename(), body: await readFile(path) };
    };
    const png = await grab("#export-png");
    assert(png.name.endsWith(".png") && png.body.subarray(1, 4).toString() === "PNG" && png.body.length > 2000, `png ${png.name} ${png.body.length} B`);
    const csv = await grab("#export-csv");
    const lines = csv.body.toString().trim().split("\n");
    assert(lines[0].startsWith("iteration,loss") && rows >= 2 && lines.length === rows + 1, `csv ${lines.length} lines, header ${lines[0]}`);
    const json = await grab("#export-json");
    const doc = JSON.parse(json.body.toString());
    assert(doc.format === "boltzmann-playground" && doc.config.seed === 21 && doc.config.paths === 128, `json ${json.body.toString().slice(0, 120)}`);
    assert(doc.run && doc.run.iteration === rows && typeof doc.run.state["sampler.net"].f32 === "string", "the JSON holds the network's weights");
    // What the original does next: one more iteration.
    await page.click("#step");
    const next = await page.evaluate(() => window.boltzmannPlayground.playground.history());

    // Change the run, then import: the exported configuration and the trained state come
    // back, and the restored run's next iteration is the original's, to the bit.
    await page.fill("#seed", "99");
    await page.locator("#seed").dispatchEvent("change");
    await page.setInputFiles("#import-json", { name: "run.json", mimeType: "application/json", buffer: json.body });
    await waitFor(() => page.evaluate(() => window.boltzmannPlayground.playground.config().seed === 21), 5000);
    const restored = await page.evaluate(() => window.boltzmannPlayground.playground.config());
    assert(JSON.stringify(restored) === JSON.stringify(doc.config), "the imported configuration differs from the exported one");
    const resumed = await page.evaluate(() => window.boltzmannPlayground.playground.metrics().iteration);
    assert(resumed === rows, `the import resumes at iteration ${resumed}, not ${rows}`);
    await page.click("#step");
    const again = await page.evaluate(() => window.boltzmannPlayground.playground.history());
    assert(JSON.stringify(again) === JSON.stringify(next), `after import and a step the history differs: ${JSON.stringify(again.loss)} vs ${JSON.stringify(next.loss)}`);

    const bad = { ...doc, config: { ...doc.config, lr: -1 } };
    await page.setInputFiles("#import-json", { name: "bad.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(bad)) });
    await page.locator("#import-error").waitFor({ state: "visible", timeout: 3000 });
    const message = await page.textContent("#import-error");
    await page.setInputFiles("#import-json", { name: "other.json", mimeType: "application/json", buffer: Buffer.from('{"hello": 1}') });
    // The file is read asynchronously: wait for the second message to replace the first.
    await waitFor(() => page.evaluate((first) => document.getElementById("import-error").textContent !== first, message), 3000);
    const message2 = await page.textContent("#import-error");
    const still = await page.evaluate(() => window.boltzmannPlayground.playground.config());
    await page.close();
    assert(/lr/.test(message), `bad lr: ${message}`);
    assert(/format/.test(message2), `wrong format: ${message2}`);
    assert(still.lr === doc.config.lr, "a rejected import changed the run");
    return `${png.name}, ${csv.name} (${lines.length - 1} rows), ${json.name}`;
  });

  await check("export with a comparison: the JSON holds both runs and import resumes both; a file without the compared run's state says so", async () => {
    const page = await openPage(context, `${base}#sampler=adjoint&energy=gmm9&seed=22&paths=64&compare=1&vs=mala`, "export-compare");
    await page.click("#pause");
    await page.click("#step");
    await page.click("#step");
    const histories = () =>
      page.evaluate(() => {
        const bp = window.boltzmannPlayground;
        return { main: bp.playground.history(), other: bp.compare ? bp.compare.history() : null, otherIteration: bp.compare ? bp.compare.metrics().iteration : -1 };
      });
    const saved = await histories();
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-json")]);
    const path = join(artifacts, `compare-${download.suggestedFilename()}`);
    await download.saveAs(path);
    const body = await readFile(path);
    const doc = JSON.parse(body.toString());
    assert(doc.run && doc.run.compare && doc.run.compare.iteration === saved.otherIteration && saved.otherIteration >= 2 && doc.run.compare.state["sampler.rng"], `the JSON lacks the compared run: ${JSON.stringify(doc.run?.compare?.iteration)}`);
    await page.click("#step");
    const next = await histories();
    await page.fill("#seed", "98");
    await page.locator("#seed").dispatchEvent("change");
    await page.setInputFiles("#import-json", { name: "both.json", mimeType: "application/json", buffer: body });
    await waitFor(() => page.evaluate(() => window.boltzmannPlayground.playground.config().seed === 22), 5000);
    const resumed = await histories();
    await page.click("#step");
    const again = await histories();
    assert(resumed.otherIteration === saved.otherIteration, `the compared run resumes at iteration ${resumed.otherIteration}, not ${saved.otherIteration}`);
    assert(JSON.stringify(again) === JSON.stringify(next), "after import and a step the compared run's history differs from the original's");
    // A file of the earlier form (no run.compare): the comparison stays off, visibly.
    const older = { ...doc, run: { iteration: doc.run.iteration, state: doc.run.state } };
    await page.setInputFiles("#import-json", { name: "older.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(older)) });
    await page.locator("#compare-error").waitFor({ state: "visible", timeout: 3000 });
    const message = await page.textContent("#compare-error");
    const after = await page.evaluate(() => ({ compare: window.boltzmannPlayground.compare !== null, checked: document.getElementById("compare").checked }));
    await page.close();
    assert(!after.compare && !after.checked, `the comparison resumed afresh: ${JSON.stringify(after)}`);
    assert(/compared run/.test(message), `no visible note: "${message}"`);
    return `"${message.slice(0, 90)}"`;
  });
  await context.close();
}
