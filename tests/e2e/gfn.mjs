// End-to-end checks of the GFlowNet samplers in the page: the modifiers' controls
// and their round trip through the URL hash, an invalid modifier named where it was entered
// while the run keeps going, the residual-coloured paths and the local-search buffers, the
// chosen projection of Manywell, screenshots, and the browser preset's time to cover 20 of
// the 25 modes of 25GMM with TB + Expl + LS. Called by run.mjs with its helpers.

import { join } from "node:path";

/** TB + Expl + LS on 25GMM with the browser preset (ε₀ 0.1 with local search, docs/methods.md §5). */
const TB_EXPL_LS = "sampler=tb&preset=browser&energy=gmm25&seed=1&explore=0.1&local_search=true";
/** Fresh samples behind each coverage evaluation (a mode's mass has s.e. ≈ 0.002 there). */
const EVAL_SAMPLES = 8000;
/** Coverage that means at least 20 of 25 modes (docs/methods.md §7). */
const COVERAGE_GOAL = 20 / 25;

/**
 * @param {{ browser: import("playwright-core").Browser, base: string, artifacts: string,
 *           check: Function, assert: Function, waitFor: Function, sleep: Function,
 *           watch: Function, openPage: Function }} t
 */
export async function gfnChecks(t) {
  const { browser, base, artifacts, check, assert, waitFor, sleep, openPage } = t;
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const configOf = (p) => p.evaluate(() => window.boltzmannPlayground.playground.config());
  const iterationOf = (p) => p.evaluate(() => window.boltzmannPlayground.playground.metrics().iteration);
  const hashOf = (p) => p.evaluate(() => window.location.hash);

  await check("GFlowNet modifiers: a link sets every one, the controls show them, the hash keeps them", async () => {
    const link = "sampler=tb&preset=browser&seed=3&explore=0.2&local_search=true&langevin=true&learned_variance=false&t_scale=7&lr_log_z=0.05&ls_every=40&iters=3000&batch=32&steps=12&buffer_capacity=900&lr=0.002";
    const p = await openPage(desktop, `${base}#${link}`, "gfn-link");
    const c = await configOf(p);
    const want = { sampler: "tb", explore: 0.2, local_search: true, langevin: true, learned_variance: false, t_scale: 7, lr_log_z: 0.05, ls_every: 40, iters: 3000, batch: 32, steps: 12, buffer_capacity: 900, lr: 0.002 };
    for (const [k, v] of Object.entries(want)) assert(c[k] === v, `config ${k} = ${c[k]}, wanted ${v}`);
    const controls = await p.evaluate(() => ({
      explore: document.getElementById("explore").value,
      t_scale: document.getElementById("t_scale").value,
      lr_log_z: document.getElementById("lr_log_z").value,
      ls_every: document.getElementById("ls_every").value,
      local_search: document.getElementById("local_search").checked,
      langevin: document.getElementById("langevin").checked,
      learned_variance: document.getElementById("learned_variance").checked,
      gfnVisible: !document.getElementById("explore").closest("fieldset").hidden,
      warnings: document.getElementById("link-warnings").hidden,
    }));
    assert(controls.gfnVisible, "the GFlowNet fieldset is hidden for tb");
    assert(controls.warnings, "a valid link shows warnings");
    assert(controls.explore === "0.2" && controls.t_scale === "7" && controls.lr_log_z === "0.05" && controls.ls_every === "40", `inputs ${JSON.stringify(controls)}`);
    assert(controls.local_search && controls.langevin && !controls.learned_variance, `checkboxes ${JSON.stringify(controls)}`);
    let hash = await hashOf(p);
    for (const [k, v] of Object.entries(want)) assert(hash.includes(`${k}=${v}`), `hash lacks ${k}=${v}: ${hash}`);
    // A control changes the run and the hash; the new hash reproduces it in a fresh page.
    await p.uncheck("#langevin");
    await p.waitForFunction(() => window.boltzmannPlayground.playground.config().langevin === false, null, { timeout: 10000 });
    await p.fill("#explore", "0.15");
    await p.locator("#explore").press("Enter");
    await p.waitForFunction(() => window.boltzmannPlayground.playground.config().explore === 0.15, null, { timeout: 10000 });
    hash = await hashOf(p);
    assert(hash.includes("langevin=false") && hash.includes("explore=0.15") && hash.includes("ls_every=40"), `hash after edits: ${hash}`);
    const again = await openPage(desktop, `${base}${hash}`, "gfn-link-again");
    const c2 = await configOf(again);
    const c1 = await configOf(p);
    assert(JSON.stringify(c1) === JSON.stringify(c2), `round trip: ${JSON.stringify(c1)} vs ${JSON.stringify(c2)}`);
    await again.close();
    await p.close();
    return hash.slice(0, 120);
  });

  await check("an invalid modifier is named where it was entered while the run keeps going", async () => {
    const p = await openPage(desktop, `${base}#${TB_EXPL_LS}`, "gfn-invalid");
    await p.evaluate(() => {
      if (!window.boltzmannPlayground.state.playing) document.getElementById("play").click();
    });
    const before = await configOf(p);
    await p.fill("#explore", "-0.3");
    await p.locator("#explore").press("Enter");
    const msg = await p.locator("#explore-error").textContent();
    assert(await p.locator("#explore-error").isVisible(), "no message beside ε₀");
    assert(/explore/.test(msg) && /0 or positive/.test(msg), `message "${msg}"`);
    // The core's own rule: an odd search period.
    await p.fill("#ls_every", "7");
    await p.locator("#ls_every").press("Enter");
    const msg2 = await p.locator("#ls_every-error").textContent();
    assert(/ls_every/.test(msg2) && /even/.test(msg2), `ls_every message "${msg2}"`);
    const i0 = await iterationOf(p);
    await sleep(1500);
    const i1 = await iterationOf(p);
    assert(i1 > i0, `the run stopped: iteration ${i0} → ${i1}`);
    const after = await configOf(p);
    assert(after.explore === before.explore && after.ls_every === before.ls_every, `the run changed: ${JSON.stringify(after)}`);
    // A bad modifier in a link is named in the link's warnings.
    const q = await openPage(desktop, `${base}#sampler=tb&explore=lots&langevin=maybe&energy=manywell:8&axes=1,2`, "gfn-bad-link");
    const warnings = await q.locator("#link-warnings").textContent();
    assert(/explore=lots/.test(warnings) && /langevin=maybe/.test(warnings) && /axes=1,2/.test(warnings), `warnings "${warnings}"`);
    await q.close();
    await p.close();
    return `"${msg}" · "${msg2}" · iterations ${i0} → ${i1}`;
  });

  await check("TB + Expl + LS: paths coloured by residual with a legend, D and D_LS drawn, ESS chart", async () => {
    const p = await openPage(desktop, `${base}#${TB_EXPL_LS}`, "gfn-views");
    await p.evaluate(() => {
      if (!window.boltzmannPlayground.state.playing) document.getElementById("play").click();
    });
    await waitFor(async () => (await iterationOf(p)) > 300, 60000);
    await p.check("#show-buffer-d");
    const got = await p.evaluate(() => {
      const pg = window.boltzmannPlayground.playground;
      const res = Array.from(pg.trajectory_residuals());
      return {
        count: pg.trajectory_count(),
        residuals: res,
        d: pg.buffer_d().length / 2,
        ls: pg.buffer_ls().length / 2,
        state: pg.gfn_state(),
        legend: document.getElementById("residual-legend").textContent,
        legendVisible: !document.getElementById("residual-legend").hidden,
        dShown: !document.querySelector('[data-show="buffer-d"]').hidden,
        essHidden: document.getElementById("ess-chart").closest("article").hidden,
      };
    });
    assert(got.residuals.length === got.count && got.count > 0, `residuals ${got.residuals.length} for ${got.count} paths`);
    assert(got.residuals.every(Number.isFinite), "a residual is not finite");
    assert(got.d > 0 && got.ls > 0 && got.state.buffer_d === got.d && got.state.buffer_ls === got.ls, `buffers ${JSON.stringify(got.state)} vs ${got.d}, ${got.ls}`);
    assert(got.legendVisible && /S_F − S_B − log R/.test(got.legend) && /log Z/.test(got.legend), `legend "${got.legend}"`);
    assert(got.dShown && !got.essHidden, "legend entry of D or the ESS chart hidden");
    await sleep(400);
    await p.screenshot({ path: join(artifacts, "gfn-tb-expl-ls.png") });
    await p.close();
    const spread = Math.max(...got.residuals.map(Math.abs));
    return `${got.count} paths, |residual| ≤ ${spread.toFixed(2)}, |D| ${got.d}, |D_LS| ${got.ls}, legend "${got.legend.trim()}"`;
  });

  await check("Manywell: the chosen pair is shown, judged and kept in the hash; a refused pair is named", async () => {
    // TB + Expl + LP + LS, the paper's best on Manywell (docs/methods.md §8).
    const p = await openPage(desktop, `${base}#sampler=tb&energy=manywell&preset=browser&seed=2&explore=0.1&local_search=true&langevin=true&axes=4,5`, "gfn-manywell");
    const axes = await p.evaluate(() => Array.from(window.boltzmannPlayground.playground.display_axes()));
    assert(axes.join() === "4,5", `axes ${axes}`);
    assert((await p.locator("#axes").inputValue()) === "4,5", "the projection select does not show 4,5");
    assert((await hashOf(p)).includes("axes=4,5"), "hash lost axes");
    const options = await p.locator("#axes option").count();
    assert(options === 16, `${options} pairs offered for d = 32`);
    await p.selectOption("#axes", "10,11");
    await p.waitForFunction(() => window.location.hash.includes("axes=10,11"), null, { timeout: 5000 });
    await p.evaluate(() => {
      if (!window.boltzmannPlayground.state.playing) document.getElementById("play").click();
    });
    await waitFor(async () => (await iterationOf(p)) > 400, 90000);
    await sleep(300);
    await p.screenshot({ path: join(artifacts, "gfn-manywell-pair.png") });
    const m = await p.evaluate(() => window.boltzmannPlayground.playground.metrics());
    assert(m.mode_masses.length === 2, `modes ${m.mode_masses.length}`);
    await p.close();
    return `pair (x10, x11): masses ${m.mode_masses.map((v) => v.toFixed(2))} vs ${m.true_mode_masses.map((v) => v.toFixed(2))}`;
  });

  await check("every GFlowNet objective, MALA and funnel:2 train in the page; PIS refuses local search by name", async () => {
    const seen = [];
    for (const [sampler, extra] of [
      ["vargrad", "&explore=0.1"],
      ["db", ""],
      ["subtb", ""],
      ["fl-subtb", ""],
      ["pis", ""],
      ["mala", ""],
      ["tb", "&energy=funnel:2"],
      ["tb", "&energy=gmm40&langevin=true"],
    ]) {
      const p = await openPage(desktop, `${base}#sampler=${sampler}&preset=browser&seed=1${extra}`, `gfn-${sampler}`);
      await p.evaluate(() => {
        if (!window.boltzmannPlayground.state.playing) document.getElementById("play").click();
      });
      const ok = await waitFor(async () => (await iterationOf(p)) >= 3, 60000);
      assert(ok, `${sampler}${extra}: no iterations`);
      const info = await p.evaluate(() => ({
        error: document.getElementById("run-error").hidden ? "" : document.getElementById("run-error").textContent,
        warnings: document.getElementById("link-warnings").hidden ? "" : document.getElementById("link-warnings").textContent,
        energy: document.getElementById("energy").value,
        dim: window.boltzmannPlayground.playground.target_dim(),
      }));
      assert(info.error === "" && info.warnings === "", `${sampler}${extra}: ${info.error}${info.warnings}`);
      if (extra.includes("funnel:2")) assert(info.energy === "funnel:2" && info.dim === 2, `funnel:2 shows ${info.energy}, d = ${info.dim}`);
      seen.push(`${sampler}${extra.replace(/&/g, " ")}`);
      await p.close();
    }
    const p = await openPage(desktop, `${base}#sampler=pis&preset=browser`, "gfn-pis-ls");
    const visible = await p.locator("#local_search").isVisible();
    assert(!visible, "PIS offers local search");
    await p.close();
    const q = await openPage(desktop, `${base}#sampler=pis&local_search=true`, "gfn-pis-ls-link");
    const warnings = await q.locator("#link-warnings").textContent();
    assert(/local_search=true/.test(warnings) && /off-policy/.test(warnings), `warnings "${warnings}"`);
    await q.close();
    return seen.join(" · ");
  });

  await check("screenshots of TB + Expl + LS at 360 px and in dark mode", async () => {
    for (const [label, options] of [
      ["phone", { viewport: { width: 360, height: 800 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }],
      ["dark", { viewport: { width: 1280, height: 1000 }, colorScheme: "dark" }],
    ]) {
      const context = await browser.newContext(options);
      const p = await openPage(context, `${base}#${TB_EXPL_LS}`, `gfn-${label}`);
      await p.evaluate(() => {
        if (!window.boltzmannPlayground.state.playing) document.getElementById("play").click();
      });
      await waitFor(async () => (await iterationOf(p)) > 400, 60000);
      const width = await p.evaluate(() => document.documentElement.scrollWidth);
      assert(width <= options.viewport.width + 1, `${label}: page is ${width} px wide`);
      await p.screenshot({ path: join(artifacts, `gfn-${label}.png`) });
      await context.close();
    }
  });

  await check("browser preset: time to cover 20 of the 25 modes of 25GMM with TB + Expl + LS", async () => {
    const calm = await browser.newContext({ viewport: { width: 1280, height: 900 }, reducedMotion: "reduce" });
    const p = await openPage(calm, `${base}#${TB_EXPL_LS}`, "gfn-coverage");
    const preset = await configOf(p);
    const budget = await p.evaluate(() => window.boltzmannPlayground.state.budget);
    await p.click("#play");
    // Every ~2 s: coverage of fresh samples (the evaluation's own time is not counted).
    const start = Date.now();
    let evalMs = 0;
    let reached = null;
    let last = null;
    const limitIters = preset.iters + 2000;
    while (Date.now() - start < 300000) {
      await sleep(2000);
      const e = await p.evaluate((n) => {
        const t0 = performance.now();
        const m = window.boltzmannPlayground.playground.evaluate(n);
        const it = window.boltzmannPlayground.playground.metrics().iteration;
        return { coverage: m.mode_coverage, iteration: it, ms: performance.now() - t0 };
      }, EVAL_SAMPLES);
      evalMs += e.ms;
      last = e;
      if (e.coverage >= COVERAGE_GOAL - 1e-9) {
        reached = { seconds: (Date.now() - start - evalMs) / 1000, wall: (Date.now() - start) / 1000, iteration: e.iteration, coverage: e.coverage };
        await p.click("#pause");
        await sleep(300);
        await p.screenshot({ path: join(artifacts, "gfn-covered.png") });
        break;
      }
      if (e.iteration > limitIters) break;
    }
    await calm.close();
    assert(reached, `not reached: coverage ${last && last.coverage} at iteration ${last && last.iteration}`);
    console.log(
      `time-to-coverage (TB + Expl + LS, browser preset, 25GMM, seed 1, default speed ${budget} ms/frame): ${reached.seconds.toFixed(1)} s of training ` +
        `(${reached.wall.toFixed(1)} s wall-clock with the evaluations), iteration ${reached.iteration}, coverage ${reached.coverage.toFixed(2)} on ${EVAL_SAMPLES} fresh samples`,
    );
    return `${reached.seconds.toFixed(1)} s, iteration ${reached.iteration}, ${Math.round(reached.coverage * 25)} of 25 modes`;
  });

  await desktop.close();
}
