// Development helper: opens the served page at a hash, trains for a while, screenshots.
//   node peek.mjs URL OUT.png [seconds] [width] [dark]
import { chromium } from "playwright-core";
const [url, out, secs = "6", width = "1280", dark = ""] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const ctx = await browser.newContext({ viewport: { width: Number(width), height: 900 }, deviceScaleFactor: Number(width) < 500 ? 2 : 1, colorScheme: dark ? "dark" : "light" });
const page = await ctx.newPage();
page.on("console", (m) => { if (m.type() === "error") console.log("console error:", m.text()); });
page.on("pageerror", (e) => console.log("page error:", e.message));
await page.goto(url);
await page.waitForFunction(() => document.documentElement.dataset.ready === "true", null, { timeout: 30000 });
const playing = await page.evaluate(() => window.boltzmannPlayground.state.playing);
if (!playing) await page.click("#play");
await page.waitForTimeout(Number(secs) * 1000);
console.log(JSON.stringify(await page.evaluate(() => window.boltzmannPlayground.playground.metrics())));
console.log(await page.evaluate(() => document.getElementById("stage-line").textContent + " | " + document.getElementById("run-error").textContent+ " | " + document.getElementById("link-warnings").textContent));
await page.screenshot({ path: out, fullPage: process.env.FULL !== "0" });
await browser.close();
