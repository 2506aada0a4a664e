// End-to-end checks of the playground's training rollouts shared with Web Workers:
// with a worker the run's history is the one-thread run's bit for bit, also when a reset, a
// step and a pause meet a share in flight (its result then stale or taken late), for Adjoint
// Sampling and ASBS; a worker that fails to load sends the run back to the page's thread with
// a visible note, and training goes on. Called by run.mjs with its helpers.

/** Iterations compared; paths=600 are 3 blocks of paths (256, 256, 88). */
const ITERATIONS = 6;
const RUNS = [
  ["Adjoint Sampling", "sampler=adjoint&energy=seed-gmm&preset=browser&seed=3&paths=600&steps=24"],
  ["ASBS", "sampler=asbs&preset=browser&seed=2&paths=600&steps=24&adjoint_iters=2&corrector_iters=1"],
];

/**
 * @param {{ browser: import("playwright-core").Browser, base: string, check: Function,
 *           assert: Function, waitFor: Function, sleep: Function, openPage: Function }} t
 */
export async function pageWorkerChecks(t) {
  const { browser, base, check, assert, waitFor, sleep, openPage } = t;
  // Reduced motion: the page starts paused, so only the test trains.
  const calm = await browser.newContext({ viewport: { width: 1280, height: 900 }, reducedMotion: "reduce" });

  /** The first ITERATIONS entries of the run's history, trained with `workers` workers. */
  const trainedHistory = async (link, workers) => {
    const p = await openPage(calm, `${base}#${link}&workers=${workers}`, `workers=${workers} ${link}`);
    const attached = await waitFor(() => p.evaluate((n) => window.boltzmannPlayground.playground.rollout_workers() === n, workers), 20000, 100);
    assert(attached, `the run did not take ${workers} worker(s): ${await p.locator("#readout dd[data-key=workers]").textContent()}`);
    const r = await p.evaluate(async (k) => {
      const { playground: pg, workers: pool } = window.boltzmannPlayground;
      const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
      const shareOut = async () => {
        const sent = pool.sentAt;
        for (let i = 0; i < 2000 && pool.sentAt === sent; i++) {
          pool.train(pg, 2);
          await sleep(0);
        }
        return pool.sentAt !== sent;
      };
      const flights = [];
      if (pg.rollout_workers() > 0) {
        // A reset with a share out (its result is stale), a step (the share is simulated
        // here; its result is stale) and a pause (the result is taken when it comes).
        flights.push(await shareOut());
        pg.reset();
        flights.push(await shareOut());
        pg.step_iteration();
        flights.push(await shareOut());
        await sleep(300);
      }
      while (pg.metrics().iteration < k) {
        pool.train(pg, 8);
        await sleep(0);
      }
      await sleep(300);
      return { history: pg.history(), flights, accepted: pool.accepted, stale: pool.stale, status: pool.status };
    }, ITERATIONS);
    await p.close();
    const first = Object.fromEntries(Object.entries(r.history).map(([key, series]) => [key, series.slice(0, ITERATIONS)]));
    return { ...r, history: first };
  };

  for (const [name, link] of RUNS) {
    await check(`${name}: rollouts shared with a Web Worker give the one-thread history bit for bit (reset, step and pause in flight)`, async () => {
      const one = await trainedHistory(link, 0);
      const shared = await trainedHistory(link, 1);
      assert(shared.flights.every(Boolean) && shared.flights.length === 3, `no share went out: ${shared.flights}`);
      assert(shared.stale >= 2, `${shared.stale} stale results (a reset and a step were in flight)`);
      assert(shared.accepted >= ITERATIONS - 2, `only ${shared.accepted} shares came back`);
      assert(one.history.loss.length === ITERATIONS, `${one.history.loss.length} iterations on one thread`);
      const [a, b] = [JSON.stringify(one.history), JSON.stringify(shared.history)];
      assert(a === b, `histories differ:\n one thread ${a.slice(0, 300)}\n with worker ${b.slice(0, 300)}`);
      return `${ITERATIONS} iterations equal; ${shared.accepted} shares back, ${shared.stale} stale; "${shared.status}"`;
    });
  }

  await check("a Web Worker that fails to load: the run goes back to the page's thread with a note and trains", async () => {
    const broken = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await broken.route("**/rollout-worker.js*", (route) => route.fulfill({ status: 404, body: "gone" }));
    // Not watched: the failed load is meant to be logged.
    const p = await broken.newPage();
    await p.goto(`${base}#sampler=adjoint&seed=1&workers=1`);
    await p.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
    const note = p.locator("#readout dd[data-key=workers]");
    const failed = await waitFor(async () => /worker failed/.test(await note.textContent()), 20000, 200);
    const text = await note.textContent();
    assert(failed, `no note of the failure: "${text}"`);
    assert(await note.isVisible(), "the note is not visible");
    if (!(await p.evaluate(() => window.boltzmannPlayground.state.playing))) await p.click("#play");
    const i0 = await p.evaluate(() => window.boltzmannPlayground.playground.metrics().iteration);
    const rose = await waitFor(async () => (await p.evaluate(() => window.boltzmannPlayground.playground.metrics().iteration)) >= i0 + 2, 30000);
    const workers = await p.evaluate(() => window.boltzmannPlayground.playground.rollout_workers());
    await broken.close();
    assert(rose, "training did not go on");
    assert(workers === 0, `the run still has ${workers} workers`);
    return `"${text}"`;
  });

  await check("the page at its defaults shares its rollouts with a Web Worker and keeps its frame rate (printed)", async () => {
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = await openPage(desktop, base, "workers-default");
    const cores = await p.evaluate(() => navigator.hardwareConcurrency);
    const blocks = await p.evaluate(() => window.boltzmannPlayground.playground.rollout_blocks());
    const want = Math.min(Math.max(0, cores - 1), blocks - 1);
    const attached = await waitFor(() => p.evaluate((n) => window.boltzmannPlayground.playground.rollout_workers() === n, want), 20000, 100);
    assert(attached, `defaults: ${cores} cores and ${blocks} blocks, but not ${want} workers`);
    if (!(await p.evaluate(() => window.boltzmannPlayground.state.playing))) await p.click("#play");
    await sleep(2000);
    const frames = await p.evaluate(
      () =>
        new Promise((done) => {
          const stamps = [];
          const tick = (t) => {
            stamps.push(t);
            if (t - stamps[0] < 5000) requestAnimationFrame(tick);
            else done(stamps.slice(1).map((s, i) => s - stamps[i]).sort((a, b) => a - b));
          };
          requestAnimationFrame(tick);
        }),
    );
    const readout = await p.evaluate(() =>
      Object.fromEntries(["steps_per_second", "fps", "workers"].map((k) => [k, document.querySelector(`#readout dd[data-key=${k}]`).textContent])),
    );
    await desktop.close();
    const median = frames[Math.floor(frames.length / 2)];
    console.log(`page defaults with ${want} worker(s): median frame ${median.toFixed(1)} ms over 5 s; readout ${JSON.stringify(readout)}`);
    assert(readout.fps !== "–" && readout.steps_per_second !== "–", `the readout lacks fps or steps/s: ${JSON.stringify(readout)}`);
    return `${want} worker(s) on ${cores} cores; median frame ${median.toFixed(1)} ms; ${readout.steps_per_second} steps/s`;
  });
  await calm.close();
}
