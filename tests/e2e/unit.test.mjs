// Unit tests of the page's pure modules (no browser): the URL-hash state, contour lines and
// axis ticks, the choice of wasm core.   node --test unit.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { createState, decodeHash, encodeHash, parseSetting, setRegistry, EXAMPLE_MIXTURE } from "../../www/state.js";
import { Registry } from "../../www/registry.js";
import { contourSegments } from "../../www/views/contours.js";
import { niceTicks, formatTick } from "../../www/views/ticks.js";
import { configFromExport, configToExport, historyCsv } from "../../www/exchange.js";
import { isCommand } from "../../www/protocol.js";
import { SCENES, findScene } from "../../www/scenes.js";
import { Track, comparisonValue, encodeVersus, parseVersus, versusConfig } from "../../www/compare.js";
import { isFormulaEnergy, markColumn } from "../../www/formula.js";
import { chooseCoreBuild, coreUrl, engineHasRelaxedSimd } from "../../www/core.js";
import { spawnSync } from "node:child_process";

const CATALOG = ["seed-gmm", "well", "gmm9", "gmm25", "double-well", "manywell"];

/**
 * A registry of the shape the core's samplers(), settings() and catalog() give
 * (www/registry.js): the link's keys are checked against it.
 */
function fixtureRegistry(samplerNames = ["adjoint", "ddpm", "tb"]) {
  const setting = (key, kind, extra = {}) => ({ key, kind, label: key, help: "", ...extra });
  const settings = [
    setting("sampler", "enum", { values: samplerNames }),
    setting("energy", "energy"),
    setting("seed", "int", { min: 0 }),
    setting("preset", "enum", { values: ["browser", "seed", "paper"] }),
    setting("temperature", "number", { min: 0, positive: true }),
    setting("whiten", "bool"),
    setting("paths", "int", { min: 1, deprecated_keys: ["n_paths"] }),
    setting("lr", "number", { min: 0, positive: true }),
    setting("layers", "int", { min: 1 }),
    setting("activation", "enum", { values: ["gelu", "gelu-fast", "silu", "relu"] }),
    setting("sigma_min", "number", { min: 0, positive: true }),
    setting("source", "text"),
    setting("explore", "number", { min: 0 }),
    setting("local_search", "bool"),
    setting("langevin", "bool"),
    setting("learned_variance", "bool"),
    setting("t_scale", "number", { min: 0, positive: true }),
    setting("lr_log_z", "number", { min: 0, positive: true }),
    setting("ls_every", "int", { min: 2, max: 1000000, step: 2 }),
  ];
  const samplers = samplerNames.map((name) => ({
    name,
    label: name,
    description: name,
    explanation: name,
    family: name,
    dims: name === "ddpm" ? [1] : null,
    settings: settings.map((s) => s.key),
    keeps_progress: ["lr"],
    capabilities: { source: false, stages: false, shared_rollout: false, path_weights: true },
  }));
  const target = (name, sizes = null) => ({ name, description: name, dim: 2, projections: [[0, 1]], hint: null, sizes });
  const targets = CATALOG.map((name) => target(name, name === "manywell" ? { default: 32, min: 2, max: 512, even: true, listed: [target("manywell:4")] } : null));
  return new Registry({ samplers, settings, targets });
}
setRegistry(fixtureRegistry());

test("a state round-trips through the hash, custom mixture included", () => {
  const state = createState();
  state.budget = 12;
  state.config = {
    preset: "browser",
    sampler: "adjoint",
    energy: EXAMPLE_MIXTURE,
    seed: 7,
    temperature: 0.5,
    whiten: false,
    paths: 512,
    lr: 1e-4,
    activation: "silu",
    sigma_min: 0.001,
  };
  const hash = encodeHash(state);
  assert.ok(!hash.includes(" ") && !hash.includes('"'), `hash has raw spaces or quotes: ${hash}`);
  const back = decodeHash(`#${hash}`);
  assert.deepEqual(back.warnings, []);
  assert.equal(back.budget, 12);
  assert.deepEqual(back.config, state.config);
});

test("workers=N round-trips through the hash; absent is the default, a bad value is named", () => {
  const state = createState();
  state.config = { sampler: "adjoint", seed: 3 };
  assert.equal(state.workers, null);
  assert.ok(!encodeHash(state).includes("workers"));
  assert.equal(decodeHash(`#${encodeHash(state)}`).workers, null);
  for (const n of [0, 1, 3]) {
    state.workers = n;
    const back = decodeHash(`#${encodeHash(state)}`);
    assert.equal(back.workers, n);
    assert.deepEqual(back.warnings, []);
    assert.deepEqual(back.config, state.config);
  }
  for (const bad of ["-1", "1.5", "two", "17", ""]) {
    const link = decodeHash(`#seed=2&workers=${bad}`);
    assert.equal(link.workers, null, bad);
    assert.deepEqual(link.config, { seed: 2 });
    assert.equal(link.warnings.length, 1, bad);
    assert.ok(link.warnings[0].includes(`workers=${bad} `), link.warnings[0]);
  }
});

test("catalog names stay readable in the hash", () => {
  const state = createState();
  state.config = { sampler: "adjoint", energy: "gmm25", seed: 3 };
  assert.equal(encodeHash(state), `sampler=adjoint&energy=gmm25&seed=3&budget=${state.budget}`);
});

test("invalid and unknown link values are named, never replaced", () => {
  // A key the core's registry does not list is named at once (the core has no other keys).
  const link = decodeHash("#energy=nope&seed=-1&lr=abc&whiten=maybe&paths=2.5&budget=999&extra=4&energy2");
  assert.deepEqual(link.config, {});
  assert.equal(link.budget, null);
  const text = link.warnings.join("\n");
  for (const bad of ["nope", "seed=-1", "abc", "maybe", "2.5", "budget=999", '"extra"', "energy2"]) {
    assert.ok(text.includes(bad), `no warning names ${bad}:\n${text}`);
  }
  // The two unknown keys are named in one warning.
  assert.equal(link.warnings.length, 7);
  // A setting's old name, as the registry lists it, is read as the new one.
  assert.deepEqual(decodeHash("#n_paths=64").config, { paths: 64 });
});

test("the link's keys and kinds come from the core's registry: a new setting needs no page change", () => {
  const reg = fixtureRegistry();
  reg.settings.push({ key: "new_knob", kind: "int", min: 3, max: 9, label: "New knob", help: "" });
  setRegistry(new Registry(reg));
  try {
    assert.deepEqual(decodeHash("#new_knob=4").config, { new_knob: 4 });
    const bad = decodeHash("#new_knob=12&activation=gelu-fast");
    assert.deepEqual(bad.config, { activation: "gelu-fast" });
    assert.match(bad.warnings[0], /new_knob=12 .*at most 9/);
    const state = createState();
    state.config = { new_knob: 5, sampler: "tb" };
    assert.equal(encodeHash(state), `sampler=tb&new_knob=5&budget=${state.budget}`);
  } finally {
    setRegistry(fixtureRegistry());
  }
});

test("the view toggles are in the link; an unknown view is named", () => {
  const state = createState();
  state.config = { sampler: "tb" };
  assert.ok(!encodeHash(state).includes("views="), "the default views are left out");
  state.views = ["buffer-d"];
  const back = decodeHash(encodeHash(state));
  assert.deepEqual(back.views, ["buffer-d"]);
  assert.deepEqual(back.warnings, []);
  state.views = [];
  assert.deepEqual(decodeHash(encodeHash(state)).views, []);
  const bad = decodeHash("#views=residuals,heatmap");
  assert.deepEqual(bad.views, ["residuals"]);
  assert.match(bad.warnings[0], /views=heatmap .*names no view/);
});

test("settings parse by type", () => {
  assert.deepEqual(parseSetting("seed", "42"), { ok: true, value: 42 });
  assert.deepEqual(parseSetting("lr", "1e-3"), { ok: true, value: 0.001 });
  assert.deepEqual(parseSetting("whiten", "false"), { ok: true, value: false });
  assert.equal(parseSetting("lr", "0").ok, false);
  assert.match(parseSetting("ls_every", "7").message, /ls_every must be an even number/);
  assert.equal(parseSetting("layers", "0").ok, false);
  assert.equal(parseSetting("sampler", "magic").ok, false);
  assert.equal(parseSetting("energy", "{broken").ok, false);
  assert.deepEqual(parseSetting("energy", "well"), { ok: true, value: "well" });
  assert.deepEqual(parseSetting("activation", "gelu-fast"), { ok: true, value: "gelu-fast" });
  assert.equal(parseSetting("no_such_setting", "1").ok, false);
});

test("contours of a paraboloid are circles of the right radius", () => {
  // f(x, y) = −(x² + y²) on a grid of spacing 0.1; the level −r² is the circle of radius r.
  const nx = 81;
  const ny = 61;
  const h = 0.1;
  const values = new Float64Array(nx * ny);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) values[i + j * nx] = -(((i - 40) * h) ** 2 + ((j - 30) * h) ** 2);
  }
  for (const r of [0.55, 1, 2.5]) {
    const seg = contourSegments(values, nx, ny, -r * r);
    assert.ok(seg.length > 0);
    let worst = 0;
    let length = 0;
    for (let k = 0; k < seg.length; k += 4) {
      for (const o of [0, 2]) {
        const x = (seg[k + o] - 40) * h;
        const y = (seg[k + o + 1] - 30) * h;
        worst = Math.max(worst, Math.abs(Math.hypot(x, y) - r));
      }
      length += Math.hypot(seg[k + 2] - seg[k], seg[k + 3] - seg[k + 1]) * h;
    }
    // Linear interpolation of a quadratic: error O(h²/r).
    assert.ok(worst < 0.01, `radius ${r}: endpoint off the circle by ${worst}`);
    assert.ok(Math.abs(length - 2 * Math.PI * r) < 0.02 * 2 * Math.PI * r, `radius ${r}: length ${length}`);
  }
  assert.deepEqual(contourSegments(values, nx, ny, 1), [], "a level above the maximum has no contour");
});

test("a saddle cell gives two segments that do not cross", () => {
  // Corners 00 and 11 high, 10 and 01 low; the centre is low, so the high corners are cut off.
  const values = [1, -1, -1, 1];
  const seg = contourSegments(values, 2, 2, 0.5);
  assert.equal(seg.length, 8);
  // Segment near corner (0,0) and segment near corner (1,1).
  const near = (k, cx, cy) => Math.hypot((seg[k] + seg[k + 2]) / 2 - cx, (seg[k + 1] + seg[k + 3]) / 2 - cy) < 0.5;
  assert.ok((near(0, 0, 0) && near(4, 1, 1)) || (near(0, 1, 1) && near(4, 0, 0)), JSON.stringify(seg));
});

test("ticks are nice numbers inside the range", () => {
  const ticks = niceTicks(-7.3, 7.3, 5);
  assert.deepEqual(ticks, [-6, -4, -2, 0, 2, 4, 6]);
  const unit = niceTicks(0, 1, 4);
  assert.equal(unit.length, 6);
  unit.forEach((t, k) => assert.ok(Math.abs(t - 0.2 * k) < 1e-12, `tick ${k} is ${t}`));
  for (const t of niceTicks(0.013, 0.087, 4)) assert.ok(t >= 0.013 && t <= 0.087);
  assert.equal(formatTick(0.30000000000000004), "0.3");
  assert.equal(formatTick(-4), "-4");
});

test("readout numbers: fixed decimals without negative zero, losses by significant digits", async () => {
  const { formatNumber, formatSignificant, formatCount } = await import("../../www/views/ticks.js");
  assert.equal(formatNumber(-3.04e-17, 2), "0.00");
  assert.equal(formatNumber(-1.234, 2), "−1.23");
  assert.equal(formatNumber(null), "–");
  assert.equal(formatSignificant(123456.7, 5), "123460");
  assert.equal(formatSignificant(1234567, 3), "1.23e+6");
  assert.equal(formatSignificant(0.012345, 3), "0.0123");
  assert.equal(formatSignificant(2.5e-5, 2), "2.5e−5");
  assert.equal(formatCount(1234567), "1\u202f234\u202f567");
});

test("oned: histograms are densities, smoothing keeps mass and adds variance, Tweedie matches a Gaussian", async () => {
  const { histogramDensity, smoothDensity, exactTimeMarginals, tweedieResidual, boxSmooth } = await import("../../www/oned.js");
  // A histogram of points inside the window integrates to 1; points outside are lost.
  const h = histogramDensity([0.1, 0.2, 0.7, 5], 0, 1, 4);
  assert.deepEqual(Array.from(h), [2, 0, 1, 0]);
  // A narrow Gaussian bump smoothed by N(0, v) has variance s² + v and the same mass.
  const bins = 400;
  const [lo, hi] = [-10, 10];
  const width = (hi - lo) / bins;
  const centre = (b) => lo + (b + 0.5) * width;
  const gauss = (x, v) => Math.exp((-0.5 * x * x) / v) / Math.sqrt(2 * Math.PI * v);
  const p = Float64Array.from({ length: bins }, (_, b) => gauss(centre(b), 0.25));
  const moments = (q) => {
    let m0 = 0;
    let m2 = 0;
    for (let b = 0; b < bins; b++) {
      m0 += q[b] * width;
      m2 += q[b] * width * centre(b) ** 2;
    }
    return [m0, m2 / m0];
  };
  const [mass, variance] = moments(smoothDensity(p, width, 1.5));
  assert.ok(Math.abs(mass - 1) < 1e-6, `mass ${mass}`);
  assert.ok(Math.abs(variance - 1.75) < 0.01, `variance ${variance}`);
  assert.deepEqual(Array.from(smoothDensity(p, width, 0)), Array.from(p));
  // Exact marginals: row 0 is p, row T has variance s² + σ_q².
  const ex = exactTimeMarginals(p, lo, hi, 2, 10);
  assert.equal(ex.times, 11);
  assert.ok(Math.abs(moments(ex.data.subarray(10 * bins, 11 * bins))[1] - 4.25) < 0.02);
  assert.ok(Math.abs(ex.norm[0] - Math.max(...p)) < 1e-12);
  // Tweedie for N(0, v): σ_q² Δt ∂ log p = −σ_q² Δt x / v.
  const r = tweedieResidual(p, width, 1, 0.01);
  const b = 230;
  assert.ok(Math.abs(r[b] - (-0.01 * centre(b)) / 0.25) < 1e-4, `${r[b]}`);
  // A box average of a constant is that constant, edges included.
  assert.deepEqual(Array.from(boxSmooth(new Float64Array(12).fill(3), 3, 4)), new Array(12).fill(3));
});

test("state: compare and the text settings round-trip through the hash", async () => {
  const state = createState();
  state.config = { sampler: "ddpm", source: "normal:0,1" };
  state.compare = true;
  const hash = encodeHash(state);
  assert.ok(hash.includes("compare=1") && hash.includes("source=normal:0,1"), hash);
  const back = decodeHash(hash, []);
  assert.equal(back.compare, true);
  assert.deepEqual(back.config, { sampler: "ddpm", source: "normal:0,1" });
  assert.deepEqual(back.warnings, []);
  const bad = decodeHash("#compare=maybe&sampler=nope", []);
  assert.equal(bad.compare, null);
  assert.equal(bad.warnings.length, 2);
  assert.ok(bad.warnings[0].includes("maybe") && bad.warnings[1].includes("nope"), bad.warnings.join(" | "));
});

test("scene and hide flags round-trip through the hash; unknown ones are named", () => {
  const names = SCENES.map((s) => s.name);
  const state = createState();
  state.config = { sampler: "adjoint", energy: "seed-gmm", seed: 1 };
  state.scene = "few-steps";
  state.hide = ["settings", "metrics"];
  const back = decodeHash(`#${encodeHash(state)}`, names);
  assert.deepEqual(back.warnings, []);
  assert.equal(back.scene, "few-steps");
  assert.deepEqual(back.hide, ["settings", "metrics"]);
  const bad = decodeHash("#scene=nope&hide=settings,bogus", names);
  assert.equal(bad.scene, null);
  assert.deepEqual(bad.hide, ["settings"]);
  assert.equal(bad.warnings.length, 2);
  assert.ok(bad.warnings[0].includes('"nope"') && bad.warnings[1].includes("bogus"), bad.warnings.join(" | "));
});

test("every scene has a caption paragraph and a configuration naming its sampler", () => {
  assert.ok(SCENES.length >= 4);
  for (const scene of SCENES) {
    assert.equal(findScene(scene.name), scene);
    assert.ok(scene.caption.length > 200 && !scene.caption.includes("\n"), scene.name);
    assert.equal(typeof scene.config.sampler, "string", scene.name);
  }
  assert.equal(new Set(SCENES.map((s) => s.name)).size, SCENES.length);
});

test("a run's JSON export imports back to the same configuration; bad documents are named", () => {
  const state = { config: { sampler: "asbs", energy: EXAMPLE_MIXTURE, seed: 4, lr: 0.002 }, compare: true, budget: 12 };
  const doc = JSON.parse(JSON.stringify(configToExport(state)));
  const back = configFromExport(doc);
  assert.equal(back.ok, true);
  assert.deepEqual(back.config, state.config);
  assert.equal(back.compare, true);
  assert.equal(back.budget, 12);
  assert.equal(back.run, null);
  // With the saved run state (version 2), and a version 1 file without one.
  const saved = { iteration: 3, state: { "sampler.net": { f32: "AACAPw==" } } };
  const full = configFromExport(JSON.parse(JSON.stringify(configToExport(state, saved))));
  assert.equal(full.ok, true);
  assert.deepEqual(full.run, { ...saved, compare: null });
  // With a comparison: the compared run's state comes back too.
  const both = { ...saved, compare: { iteration: 5, state: { "sampler.policy": { f32: "AAAAAA==" } } } };
  const withCompare = configFromExport(JSON.parse(JSON.stringify(configToExport(state, both))));
  assert.equal(withCompare.ok, true);
  assert.deepEqual(withCompare.run, both);
  const versus = { sampler: "tb", settings: { explore: 0.2 } };
  const withVersus = configFromExport(JSON.parse(JSON.stringify(configToExport({ ...state, versus }))));
  assert.deepEqual(withVersus.versus, versus);
  assert.equal(configFromExport({ ...doc, versus: { sampler: 3 } }).ok, false);
  const v1 = configFromExport({ format: doc.format, version: 1, config: state.config });
  assert.equal(v1.ok, true);
  assert.equal(v1.run, null);
  for (const [broken, word] of [
    [null, "object"],
    [[], "object"],
    [{ ...doc, format: "other" }, "format"],
    [{ ...doc, version: 9 }, "version"],
    [{ ...doc, config: [1] }, "config"],
    [{ ...doc, compare: "yes" }, "compare"],
    [{ ...doc, budget: 1000 }, "budget"],
    [{ ...doc, run: [] }, "run"],
    [{ ...doc, run: { iteration: -1, state: {} } }, "run.iteration"],
    [{ ...doc, run: { iteration: 2, state: "x" } }, "run.state"],
    [{ ...doc, run: { iteration: 2, state: {}, compare: [] } }, "run.compare"],
    [{ ...doc, run: { iteration: 2, state: {}, compare: { iteration: 1.5, state: {} } } }, "run.compare.iteration"],
    [{ ...doc, run: { iteration: 2, state: {}, compare: { iteration: 1, state: null } } }, "run.compare.state"],
  ]) {
    const r = configFromExport(broken);
    assert.equal(r.ok, false, JSON.stringify(broken));
    assert.ok(r.message.includes(word), r.message);
  }
});

test("the metric history as CSV: header, one row per iteration, NaN and null as empty cells", () => {
  const csv = historyCsv({ iteration: [1, 2], loss: [0.5, 0.25], log_z_elbo: [NaN, -1.5], ess: [null, 0.9] });
  assert.equal(csv, "iteration,loss,log_z_elbo,ess\n1,0.5,,\n2,0.25,-1.5,0.9\n");
});

test("only the protocol's exact messages are commands", () => {
  for (const ok of [{ type: "play" }, { type: "pause" }, { type: "step" }, { type: "reset" }, { type: "status" }, { type: "set-state", state: { seed: 2 } }]) {
    assert.equal(isCommand(ok), true, JSON.stringify(ok));
  }
  for (const bad of ["play", null, undefined, 3, [], { type: "explode" }, { type: "play", extra: 1 }, { type: "set-state" }, { type: "set-state", state: 3 }, { type: "set-state", state: [1] }, { type: "set-state", state: null }, { kind: "play" }, { type: 1 }]) {
    assert.equal(isCommand(bad), false, JSON.stringify(bad));
  }
});

test("GFlowNet modifiers and the projection round-trip through the hash; bad values are named", async () => {
  const { parseAxes } = await import("../../www/state.js");
  const state = createState();
  state.config = { sampler: "tb", energy: "manywell:8", explore: 0.1, local_search: true, langevin: false, learned_variance: true, t_scale: 20, lr_log_z: 0.1, ls_every: 20 };
  state.axes = [2, 3];
  const back = decodeHash(encodeHash(state));
  assert.deepEqual(back.config, state.config);
  assert.deepEqual(back.axes, [2, 3]);
  assert.deepEqual(back.warnings, []);
  const bad = decodeHash("#sampler=tb&explore=-0.5&local_search=maybe&ls_every=0&axes=2&energy=gmm7:3");
  assert.equal(bad.warnings.length, 5, bad.warnings.join("\n"));
  assert.match(bad.warnings[0], /explore.*0 or positive/);
  assert.match(bad.warnings[1], /local_search.*true or false/);
  assert.match(bad.warnings[2], /ls_every.*at least 2/);
  assert.match(bad.warnings[3], /axes.*two coordinate numbers/);
  assert.match(bad.warnings[4], /unknown target "gmm7:3"/);
  assert.deepEqual(bad.config, { sampler: "tb" });
  assert.deepEqual(parseAxes("0, 7"), { ok: true, value: [0, 7] });
  assert.equal(parseAxes("1,2,3").ok, false);
});

test("residual colours: a symmetric readable scale, grey at 0, the ends at ±R; buffers strided", async () => {
  const { residualScale, residualColour, stridePoints, parseRgb } = await import("../../www/views/gfn.js");
  assert.equal(residualScale([0.1, -0.2]), 0.5);
  assert.equal(residualScale([0.3, -1.7]), 2);
  assert.equal(residualScale([12]), 15);
  assert.equal(residualScale([5]), 5);
  // The 80th percentile: one far-off path of ten does not set the scale.
  assert.equal(residualScale([0.2, -0.4, 0.1, 0.3, -0.2, 0.5, 0.6, -0.9, 0.7, 40]), 1);
  const [neg, mid, pos] = [[0, 0, 255], [128, 128, 128], [255, 0, 0]];
  assert.equal(residualColour(0, 2, neg, mid, pos), "rgb(128,128,128)");
  assert.equal(residualColour(-2, 2, neg, mid, pos), "rgb(0,0,255)");
  assert.equal(residualColour(9, 2, neg, mid, pos), "rgb(255,0,0)");
  assert.equal(residualColour(1, 2, neg, mid, pos), "rgb(192,64,64)");
  assert.equal(residualColour(NaN, 2, neg, mid, pos), "rgb(128,128,128)");
  assert.deepEqual(parseRgb("#1d4ed8"), [29, 78, 216]);
  const xy = Float32Array.from({ length: 20 }, (_, k) => k);
  assert.equal(stridePoints(xy, 10), xy);
  assert.deepEqual(Array.from(stridePoints(xy, 4)), [0, 1, 6, 7, 12, 13, 18, 19]);
});

test("the compared run: its sampler and changed settings round-trip through the hash", () => {
  const state = createState();
  state.config = { sampler: "tb", energy: "gmm25", seed: 1, explore: 0 };
  state.compare = true;
  state.versus = { sampler: "tb", settings: { explore: 0.2 } };
  const back = decodeHash(`#${encodeHash(state)}`);
  assert.deepEqual(back.warnings, []);
  assert.equal(back.compare, true);
  assert.deepEqual(back.versus, state.versus);
  assert.deepEqual(versusConfig(state.config, state.versus), { sampler: "tb", energy: "gmm25", seed: 1, explore: 0.2 });
  assert.equal(encodeVersus({ sampler: "adjoint", settings: {} }), "adjoint");
  const bad = decodeHash("#compare=1&vs=nope");
  assert.equal(bad.versus, null);
  assert.ok(bad.warnings.some((w) => w.includes("vs=nope") && w.includes("unknown sampler")), bad.warnings.join(" | "));
  assert.equal(parseVersus("{not json", ["tb"]).ok, false);
  assert.equal(parseVersus('{"explore": 1}', ["tb"]).ok, false);
});

test("the comparison value: W2 in 1-D, the mode-mass total variation in 2-D; one point per iteration", () => {
  assert.equal(comparisonValue({ w2: 0.25 }, 1), 0.25);
  assert.equal(comparisonValue({ w2: null }, 1), null);
  assert.ok(Math.abs(comparisonValue({ mode_masses: [0.7, 0.3], true_mode_masses: [0.5, 0.5] }, 2) - 0.2) < 1e-12);
  assert.equal(comparisonValue({ mode_masses: null, true_mode_masses: [1] }, 2), null);
  const track = new Track();
  track.ms = 1500;
  track.record({ iteration: 0, energy_evals: 0, w2: 1 }, 1);
  track.record({ iteration: 1, energy_evals: 64, w2: 0.5 }, 1);
  track.record({ iteration: 1, energy_evals: 64, w2: 0.5 }, 1);
  assert.deepEqual([track.evals, track.seconds, track.values], [[64], [1.5], [0.5]]);
});

test("sized catalog targets such as manywell:4 are read from links, within the catalog's sizes", () => {
  assert.equal(decodeHash("#energy=manywell:4").config.energy, "manywell:4");
  assert.equal(decodeHash("#energy=manywell:8").config.energy, "manywell:8");
  for (const [bad, words] of [
    ["nothing:4", /unknown target "nothing:4"/],
    ["manywell:5", /even D from 2 to 512, got 5/],
    ["gmm25:4", /gmm25 takes no size/],
  ]) {
    const link = decodeHash(`#energy=${bad}`);
    assert.equal(link.warnings.length, 1, bad);
    assert.match(link.warnings[0], words);
  }
});

test("formula energies are recognized and a parse error's column is marked", () => {
  assert.equal(isFormulaEnergy({ formula: { energy: "x^2", window: [[-1, 1]] } }), true);
  assert.equal(isFormulaEnergy({ gmm: {} }), false);
  assert.equal(isFormulaEnergy("gmm9"), false);
  assert.deepEqual(markColumn("x + * y", 5), { before: "x + ", at: "*", after: " y" });
  assert.deepEqual(markColumn("x +", 4), { before: "x +", at: " ", after: "" });
  assert.deepEqual(markColumn("ü + $", 5), { before: "ü + ", at: "$", after: "" });
  const long = markColumn(`${"a".repeat(50)}$${"b".repeat(50)}`, 51, 5);
  assert.deepEqual(long, { before: "…aaaaa", at: "$", after: "bbbbb…" });
});

test("the core build: relaxed SIMD only where the engine validates it; bad requests are named", () => {
  // This Node has relaxed SIMD off by default; with the flag on, the probe module validates,
  // so the probe's bytes are a well-formed relaxed-SIMD module and nothing else.
  const probe = (flags) =>
    spawnSync(process.execPath, [...flags, "--input-type=module", "-e",
      `import { engineHasRelaxedSimd } from ${JSON.stringify(new URL("../../www/core.js", import.meta.url).href)};
       process.stdout.write(String(engineHasRelaxedSimd()));`], { encoding: "utf8" }).stdout;
  assert.equal(probe(["--experimental-wasm-relaxed-simd"]), "true");
  const relaxed = engineHasRelaxedSimd();
  assert.equal(probe([]), String(relaxed));
  const best = relaxed ? "relaxed-simd" : "simd128";
  assert.deepEqual(chooseCoreBuild(null), { build: best, warning: null });
  assert.deepEqual(chooseCoreBuild("simd128"), { build: "simd128", warning: null });
  const unknown = chooseCoreBuild("avx512");
  assert.equal(unknown.build, best);
  assert.match(unknown.warning, /core=avx512 is not a core build/);
  if (!relaxed) {
    const refused = chooseCoreBuild("relaxed-simd");
    assert.equal(refused.build, "simd128");
    assert.match(refused.warning, /no relaxed SIMD/);
  }
  assert.match(coreUrl("relaxed-simd").pathname, /\/pkg\/relaxed-simd\/boltzmann_playground_bg\.wasm$/);
  assert.match(coreUrl("simd128").pathname, /\/pkg\/boltzmann_playground_bg\.wasm$/);
});

test("one palette: no file of the site but www/palette.css defines a colour; each token is defined once", async () => {
  const { readFile, readdir } = await import("node:fs/promises");
  const { join, relative } = await import("node:path");
  const root = join(import.meta.dirname, "..", "..");
  const files = ["index.html", "embed.html"];
  const walk = async (dir) => {
    for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.(css|js|html)$/.test(entry.name)) files.push(path);
    }
  };
  await walk("www");
  // Hex colours, rgb()/hsl() with literal numbers, and colour names as CSS values. (The example
  // blog post, embed-example.html, stands for another site and keeps its own colours.)
  const literal = /#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?)\(\s*[\d.]|:\s*(?:white|black|red|green|blue|gr[ae]y|orange|purple|yellow|silver)\s*[;!}]/;
  const offenders = [];
  for (const file of files) {
    if (file === join("www", "palette.css")) continue;
    const lines = (await readFile(join(root, file), "utf8")).split("\n");
    lines.forEach((line, k) => {
      if (literal.test(line)) offenders.push(`${relative(root, join(root, file))}:${k + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, []);
  const palette = await readFile(join(root, "www", "palette.css"), "utf8");
  const tokens = [...palette.matchAll(/^\s*(--[\w-]+)\s*:/gm)].map((m) => m[1]);
  assert.equal(new Set(tokens).size, tokens.length, `a token defined twice: ${tokens.join(" ")}`);
  for (const name of ["text", "particle", "loss", "ramp-0", "ramp-4", "compare", "res-pos"]) assert.ok(tokens.includes(`--c-${name}`), name);
});

test("HistoryCopy appends what is new and starts over when the history was replaced", async () => {
  const { HistoryCopy } = await import("../../www/history.js");
  /** A stand-in for Playground's history: series of the given losses. */
  const fake = (losses) => ({
    losses,
    history_len() {
      return this.losses.length;
    },
    history_since(from) {
      const part = (f) => Float64Array.from(this.losses.slice(from).map(f));
      return { from, iteration: part((_, i) => from + i + 1), loss: part((v) => v), log_z_elbo: part(() => NaN), log_z_iw: part(() => NaN), ess: part(() => 1) };
    },
  });
  const copy = new HistoryCopy();
  const pg = fake([5, 4]);
  assert.deepEqual(copy.update(pg).loss, [5, 4]);
  pg.losses.push(3, 2);
  let reads = 0;
  const since = pg.history_since.bind(pg);
  pg.history_since = (from) => {
    reads += 1;
    assert.equal(from, 1, "reads from the last copied entry on");
    return since(from);
  };
  assert.deepEqual(copy.update(pg).loss, [5, 4, 3, 2]);
  assert.deepEqual(copy.update(pg).iteration, [1, 2, 3, 4]);
  assert.equal(reads, 1, "nothing new: nothing read");
  // A reset that trained past the old length: the last copied entry differs.
  pg.history_since = since;
  pg.losses = [9, 8, 7, 6, 5];
  assert.deepEqual(copy.update(pg).loss, [9, 8, 7, 6, 5]);
  // Another run.
  assert.deepEqual(copy.update(fake([1])).loss, [1]);
});

test("a link with many unknown or repeated keys gives one short warning", () => {
  setRegistry(fixtureRegistry());
  const many = Array.from({ length: 5000 }, (_, i) => `junk${i}=1`).join("&");
  const link = decodeHash(`#seed=2&${many}&${"k".repeat(3000)}=1&paths=oops&paths=oops`);
  assert.equal(link.config.seed, 2);
  const unknown = link.warnings.filter((w) => w.startsWith("Unknown"));
  assert.equal(unknown.length, 1, JSON.stringify(link.warnings.slice(0, 3)));
  assert.match(unknown[0], /"junk0", "junk1", "junk2", "junk3", "junk4" and 4996 more/);
  assert.ok(unknown[0].length < 200, unknown[0]);
  assert.equal(link.warnings.filter((w) => w.startsWith("paths=")).length, 1, "the repeated bad value is told once");
  assert.ok(link.warnings.every((w) => w.length < 300));
});
