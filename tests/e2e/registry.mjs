// The page's controls follow the core's registry (www/registry.js): for every sampler, the
// setting controls shown are exactly the settings that sampler reads, and the explanation is
// the core's. Called by run.mjs with its helpers (E2E_ONLY=registry runs only this).

/** Controls shown for every sampler: they pick the run rather than tune the sampler. */
const ALWAYS = ["sampler", "preset", "seed", "energy"];

/**
 * @param {{ browser: import("playwright-core").Browser, base: string, check: Function,
 *           assert: Function, openPage: Function }} t
 */
export async function registryChecks({ browser, base, check, assert, openPage }) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });

  await check("registry: every sampler shows exactly the setting controls it reads, and the core's explanation", async () => {
    const page = await openPage(context, `${base}#sampler=adjoint&preset=browser&seed=1`, "registry");
    await page.click("#pause");
    // The "More" settings are folded away, not hidden: unfold them to see every control.
    await page.evaluate(() => {
      for (const d of document.querySelectorAll("#settings details")) d.open = true;
    });
    const samplers = await page.evaluate(() => window.boltzmannPlayground.controller.registry.samplers.map((s) => ({ name: s.name, settings: s.settings, explanation: s.explanation })));
    assert(samplers.length >= 2, `${samplers.length} samplers in the registry`);
    const lines = [];
    for (const s of samplers) {
      await page.selectOption("#sampler", s.name);
      const shown = await page.evaluate(() => {
        const keys = [...document.querySelectorAll("[data-setting]")].filter((el) => el.checkVisibility()).map((el) => el.dataset.setting);
        if (document.getElementById("energy").checkVisibility()) keys.push("energy");
        return { keys, sampler: window.boltzmannPlayground.playground.config().sampler, explain: document.getElementById("explain").textContent };
      });
      assert(shown.sampler === s.name, `choosing ${s.name} runs ${shown.sampler}`);
      const expected = new Set([...s.settings, ...ALWAYS]);
      const extra = shown.keys.filter((k) => !expected.has(k));
      const missing = [...expected].filter((k) => !shown.keys.includes(k));
      assert(extra.length === 0, `${s.name} shows controls for settings it does not read: ${extra.join(", ")}`);
      assert(missing.length === 0, `${s.name} hides controls for settings it reads: ${missing.join(", ")}`);
      assert(shown.explain === s.explanation && s.explanation.length > 0, `${s.name}: the explanation is not the core's`);
      lines.push(`${s.name} ${shown.keys.length}`);
    }
    await page.close();
    return lines.join(", ");
  });

  await check("view toggles: which views are on is in the link and comes back from it", async () => {
    const page = await openPage(context, `${base}#sampler=tb&energy=gmm25&preset=browser&seed=1&local_search=true&views=buffer-d`, "views");
    const boxes = () => page.evaluate(() => ["show-residuals", "show-buffer-d", "show-buffer-ls"].map((id) => document.getElementById(id).checked));
    const first = await boxes();
    assert(first.join() === "false,true,false", `views=buffer-d shows ${first}`);
    await page.check("#show-residuals");
    const hash = await page.evaluate(() => window.location.hash);
    assert(hash.includes("views=residuals,buffer-d"), `the hash lacks the views: ${hash}`);
    await page.reload({ waitUntil: "load" });
    await page.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
    const back = await boxes();
    await page.close();
    assert(back.join() === "true,true,false", `after reload ${back}`);
    return hash.slice(hash.indexOf("views="));
  });
  await context.close();
}
