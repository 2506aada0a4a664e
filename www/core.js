// @ts-check
// Loads the wasm core. scripts/build makes two modules from the same source with
// the same JavaScript glue: pkg/relaxed-simd/ uses f32x4.relaxed_madd (one fused multiply-add
// on FMA hardware) in the matrix kernels, pkg/ only simd128. The relaxed module is loaded
// where the engine validates a relaxed-SIMD instruction, the other everywhere else.

export const CORE_BUILDS = ["relaxed-simd", "simd128"];

// (module (func (param v128 v128 v128) (result v128)
//   local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd))
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128 ×3) → v128
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // code
]);

/** True where this engine accepts relaxed-SIMD instructions. */
export function engineHasRelaxedSimd() {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

/**
 * The core to load: `requested` ("relaxed-simd" or "simd128", e.g. from a `?core=` query
 * parameter) if the engine can run it, else the fastest it can. A request the engine cannot
 * honour, or an unknown one, is named in `warning`.
 */
export function chooseCoreBuild(requested) {
  const relaxed = engineHasRelaxedSimd();
  const best = relaxed ? "relaxed-simd" : "simd128";
  if (requested == null || requested === "") return { build: best, warning: null };
  if (!CORE_BUILDS.includes(requested)) {
    return { build: best, warning: `core=${requested} is not a core build (${CORE_BUILDS.join(" or ")}); loaded ${best}` };
  }
  if (requested === "relaxed-simd" && !relaxed) {
    return { build: best, warning: "core=relaxed-simd: this browser has no relaxed SIMD; loaded simd128" };
  }
  return { build: requested, warning: null };
}

/** The URL of a core build's wasm module. */
export function coreUrl(build) {
  const file = build === "relaxed-simd" ? "../pkg/relaxed-simd/boltzmann_playground_bg.wasm" : "../pkg/boltzmann_playground_bg.wasm";
  return new URL(file, import.meta.url);
}

let loading = null;
let loadedBuild = null;

/**
 * Instantiates the core once per realm (page or worker) and resolves to {build, warning}.
 * Later calls share the first call's module, whatever they request. If the relaxed-SIMD
 * module fails to load (say, a host copied only pkg/'s top level), the simd128 one is
 * loaded instead and `warning` says so.
 */
export function loadCore(requested) {
  if (!loading) {
    const { build, warning } = chooseCoreBuild(requested);
    if (warning) console.warn(`[boltzmann-playground] ${warning}`);
    loadedBuild = build;
    // The glue is imported here, not at the top, so that the choice above can be tested
    // without a build (tests/e2e/unit.test.mjs); the page's modules import it anyway.
    const init = (...args) => import("../pkg/boltzmann_playground.js").then((glue) => glue.default(...args));
    loading = init({ module_or_path: coreUrl(build) }).then(
      () => ({ build, warning }),
      (err) => {
        if (build !== "relaxed-simd") throw err;
        const note = `the relaxed-SIMD core did not load (${err && err.message ? err.message : err}); loaded simd128`;
        console.warn(`[boltzmann-playground] ${note}`);
        loadedBuild = "simd128";
        return init({ module_or_path: coreUrl("simd128") }).then(() => ({ build: "simd128", warning: note }));
      },
    );
  }
  return loading;
}

/** The build loadCore chose, or null before the first call. */
export function loadedCoreBuild() {
  return loadedBuild;
}
