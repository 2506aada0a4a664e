//! The matrix products of the MLP (docs/methods.md §1), written for its shapes: a few hundred
//! rows, 2–128 columns. No packing buffers and no allocation: B is read in place (its rows
//! must be contiguous), A through two strides, so Aᵀ costs nothing.
//!
//! The register tile is MR rows × NR columns of C held in a local array over the whole k
//! loop; LLVM turns it into vector registers (AVX2/AVX-512 with FMA natively, chosen at run
//! time; simd128 in wasm). Optional epilogue: bias added at the start (fused) and the
//! activation written next to the pre-activation at the end.

use super::Activation;

/// A row-major matrix view read through strides: element (i, k) is `data[i·rs + k·cs]`.
#[derive(Clone, Copy, Debug)]
pub struct Strided<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

/// What to do besides C = A·B.
#[derive(Clone, Copy, Debug)]
pub struct Epilogue<'a> {
    /// Adds this row vector (len n) to every row of C.
    pub bias: Option<&'a [f32]>,
    /// Adds the product to C's previous contents instead of overwriting them.
    pub accumulate: bool,
}

impl Epilogue<'_> {
    pub const OVERWRITE: Epilogue<'static> = Epilogue {
        bias: None,
        accumulate: false,
    };
}

/// C (m × n, row stride ldc) = A (m × k, strided) · B (k × n, row stride ldb) with the
/// epilogue; and if `post` is Some((act, out)), out (same layout as C) = act(C).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: Strided,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    epi: Epilogue,
    post: Option<(Activation, &mut [f32])>,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(ldb >= n && ldc >= n, "gemm: leading dimensions");
    assert!(k == 0 || b.len() >= (k - 1) * ldb + n, "gemm: B too short");
    assert!(c.len() >= (m - 1) * ldc + n, "gemm: C too short");
    assert!(
        k == 0 || a.data.len() > (m - 1) * a.rs + (k - 1) * a.cs,
        "gemm: A too short"
    );
    if let Some(bias) = epi.bias {
        assert_eq!(bias.len(), n, "gemm: bias length");
    }
    if let Some((_, out)) = &post {
        assert!(out.len() >= (m - 1) * ldc + n, "gemm: post too short");
    }
    let p = Problem {
        m,
        n,
        k,
        a,
        b,
        ldb,
        ldc,
        epi,
    };
    dispatch(&p, c, post);
}

struct Problem<'a> {
    m: usize,
    n: usize,
    k: usize,
    a: Strided<'a>,
    b: &'a [f32],
    ldb: usize,
    ldc: usize,
    epi: Epilogue<'a>,
}

/// The widest vector unit this x86 CPU has: 2 AVX-512 with FMA, 1 AVX2 with FMA, 0 neither.
#[cfg(target_arch = "x86_64")]
fn level() -> u8 {
    use std::sync::OnceLock;
    static LEVEL: OnceLock<u8> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
            2
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            1
        } else {
            0
        }
    })
}

#[cfg(target_arch = "x86_64")]
fn dispatch(p: &Problem, c: &mut [f32], post: Option<(Activation, &mut [f32])>) {
    // SAFETY: each branch runs only where the CPU reported the features it was compiled for.
    unsafe {
        match level() {
            2 => gemm_avx512(p, c, post),
            1 => gemm_avx2(p, c, post),
            _ => blocked::<4, 8, Separate>(p, c, post, None),
        }
    }
}

/// g[i] *= act'(z[i]) (the backward step through the activation), in the widest vectors
/// the CPU has.
pub fn scale_by_derivative(act: Activation, z: &[f32], g: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn wide(act: Activation, z: &[f32], g: &mut [f32]) {
            act.scale_by_derivative(z, g)
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn medium(act: Activation, z: &[f32], g: &mut [f32]) {
            act.scale_by_derivative(z, g)
        }
        // SAFETY: as in `dispatch`.
        unsafe {
            match level() {
                2 => wide(act, z, g),
                1 => medium(act, z, g),
                _ => act.scale_by_derivative(z, g),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    act.scale_by_derivative(z, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn gemm_avx512(p: &Problem, c: &mut [f32], post: Option<(Activation, &mut [f32])>) {
    // 8 × 32 tile: 16 zmm accumulators of 32.
    blocked::<8, 32, Fused>(p, c, post, Some(x86::tile_8x32_avx512))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gemm_avx2(p: &Problem, c: &mut [f32], post: Option<(Activation, &mut [f32])>) {
    // 4 × 16 tile: 8 ymm accumulators of 16.
    blocked::<4, 16, Fused>(p, c, post, Some(x86::tile_4x16_avx2))
}

#[cfg(not(target_arch = "x86_64"))]
fn dispatch(p: &Problem, c: &mut [f32], post: Option<(Activation, &mut [f32])>) {
    // wasm simd128: 4 × 8 tile = 8 v128 accumulators (V8 has 16 xmm registers).
    blocked::<4, 8, Separate>(p, c, post, FULL_TILE)
}

/// A kernel for one whole MR × NR tile at (i, j), with the bias and accumulate epilogue
/// (the activation is applied by the caller).
type FullTile = unsafe fn(&Problem, usize, usize, &mut [f32]);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const FULL_TILE: Option<FullTile> = Some(wasm::tile_4x8_simd128);
#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
const FULL_TILE: Option<FullTile> = None;

/// Register tiles written with intrinsics: R rows × V vectors of C stay in registers over
/// the whole k loop; each k step broadcasts R values of A and loads V vectors of B.
macro_rules! register_tile {
    ($name:ident, $feature:literal, $R:literal, $V:literal, $W:literal,
     $vec:ty, $zero:path, $splat:path, $load:path, $store:path, $fma:path, $add:path) => {
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn $name(p: &Problem, i0: usize, j0: usize, c: &mut [f32]) {
            let mut acc: [[$vec; $V]; $R] = [[$zero(); $V]; $R];
            let bias = p.epi.bias.map(|b| b.as_ptr().add(j0));
            if let Some(bp) = bias {
                for v in 0..$V {
                    let bv = $load(bp.add(v * $W));
                    for r in 0..$R {
                        acc[r][v] = bv;
                    }
                }
            }
            let a = p.a.data.as_ptr();
            let b = p.b.as_ptr().add(j0);
            for kk in 0..p.k {
                let brow = b.add(kk * p.ldb);
                let mut bv = [$zero(); $V];
                for v in 0..$V {
                    bv[v] = $load(brow.add(v * $W));
                }
                let arow = a.add(i0 * p.a.rs + kk * p.a.cs);
                for r in 0..$R {
                    let av = $splat(*arow.add(r * p.a.rs));
                    for v in 0..$V {
                        acc[r][v] = $fma(av, bv[v], acc[r][v]);
                    }
                }
            }
            let cp = c.as_mut_ptr();
            for r in 0..$R {
                let crow = cp.add((i0 + r) * p.ldc + j0);
                for v in 0..$V {
                    let mut out = acc[r][v];
                    if p.epi.accumulate {
                        out = $add(out, $load(crow.add(v * $W)));
                    }
                    $store(crow.add(v * $W), out);
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Problem;
    use std::arch::x86_64::*;

    register_tile!(
        tile_8x32_avx512,
        "avx512f",
        8,
        2,
        16,
        __m512,
        _mm512_setzero_ps,
        _mm512_set1_ps,
        _mm512_loadu_ps,
        _mm512_storeu_ps,
        _mm512_fmadd_ps,
        _mm512_add_ps
    );
    register_tile!(
        tile_4x16_avx2,
        "avx2,fma",
        4,
        2,
        8,
        __m256,
        _mm256_setzero_ps,
        _mm256_set1_ps,
        _mm256_loadu_ps,
        _mm256_storeu_ps,
        _mm256_fmadd_ps,
        _mm256_add_ps
    );
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) mod wasm {
    use super::Problem;
    use core::arch::wasm32::*;

    #[inline(always)]
    unsafe fn load(p: *const f32) -> v128 {
        v128_load(p as *const v128)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: v128) {
        v128_store(p as *mut v128, v)
    }
    #[inline(always)]
    fn zero() -> v128 {
        f32x4_splat(0.0)
    }
    /// a·b + c on four lanes. The relaxed-SIMD core (scripts/build's second module, loaded
    /// where the engine validates relaxed SIMD: www/core.js) uses f32x4.relaxed_madd, one
    /// fused instruction on FMA hardware; plain simd128 has no multiply-add: multiply, add.
    #[inline(always)]
    pub(crate) fn mul_add(a: v128, b: v128, c: v128) -> v128 {
        #[cfg(target_feature = "relaxed-simd")]
        {
            f32x4_relaxed_madd(a, b, c)
        }
        #[cfg(not(target_feature = "relaxed-simd"))]
        {
            f32x4_add(f32x4_mul(a, b), c)
        }
    }

    register_tile!(
        tile_4x8_simd128,
        "simd128",
        4,
        2,
        4,
        v128,
        zero,
        f32x4_splat,
        load,
        store,
        mul_add,
        f32x4_add
    );
}

/// Tiles C into MR × NR blocks; the last row block runs one row at a time, the last column
/// block through a zero-padded copy of B's columns.
#[inline(always)]
fn blocked<const MR: usize, const NR: usize, F: MulAdd>(
    p: &Problem,
    c: &mut [f32],
    post: Option<(Activation, &mut [f32])>,
    full: Option<FullTile>,
) {
    // With C contiguous (ldc = n, as in every layer of the MLP), the activation runs once
    // over all of C after the tiles: one long vectorised loop rather than one of NR values
    // per tile row, which in wasm (NR = 8) is shorter than the vectorised loop's step and
    // so ran in its scalar remainder. C is still in cache then.
    let (mut post, whole) = match post {
        Some((act, out)) if p.ldc == p.n => (None, Some((act, out))),
        other => (other, None),
    };
    let mut j = 0;
    while j < p.n {
        let nr = NR.min(p.n - j);
        let mut i = 0;
        while i + MR <= p.m {
            match full {
                Some(f) if nr == NR => {
                    // SAFETY: `full` is only passed where the CPU has its features; the
                    // tile lies inside A, B and C (checked in `gemm`).
                    unsafe { f(p, i, j, c) };
                    if let Some((act, out)) = post.as_mut() {
                        for r in i..i + MR {
                            let at = r * p.ldc + j;
                            act.apply_slice(&c[at..at + NR], &mut out[at..at + NR]);
                        }
                    }
                }
                _ => tile::<MR, NR, F>(p, i, j, nr, c, &mut post),
            }
            i += MR;
        }
        while i < p.m {
            tile::<1, NR, F>(p, i, j, nr, c, &mut post);
            i += 1;
        }
        j += NR;
    }
    if let Some((act, out)) = whole {
        let len = p.m * p.n;
        act.apply_slice(&c[..len], &mut out[..len]);
    }
}

/// One R × NR tile of C at (i0, j0), of which nr ≤ NR columns are real.
#[inline(always)]
fn tile<const R: usize, const NR: usize, F: MulAdd>(
    p: &Problem,
    i0: usize,
    j0: usize,
    nr: usize,
    c: &mut [f32],
    post: &mut Option<(Activation, &mut [f32])>,
) {
    let mut acc = [[0f32; NR]; R];
    if let Some(bias) = p.epi.bias {
        let mut row = [0f32; NR];
        row[..nr].copy_from_slice(&bias[j0..j0 + nr]);
        acc = [row; R];
    }
    let a = p.a;
    if nr == NR {
        for kk in 0..p.k {
            let brow: &[f32; NR] = p.b[kk * p.ldb + j0..kk * p.ldb + j0 + NR]
                .try_into()
                .expect("NR columns");
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let av = a.data[(i0 + r) * a.rs + kk * a.cs];
                for (cv, &bv) in acc_r.iter_mut().zip(brow) {
                    *cv = F::mul_add(av, bv, *cv);
                }
            }
        }
    } else {
        for kk in 0..p.k {
            let mut brow = [0f32; NR];
            brow[..nr].copy_from_slice(&p.b[kk * p.ldb + j0..kk * p.ldb + j0 + nr]);
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let av = a.data[(i0 + r) * a.rs + kk * a.cs];
                for (cv, &bv) in acc_r.iter_mut().zip(&brow) {
                    *cv = F::mul_add(av, bv, *cv);
                }
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let at = (i0 + r) * p.ldc + j0;
        let out = &mut c[at..at + nr];
        if p.epi.accumulate {
            for (o, &v) in out.iter_mut().zip(acc_r) {
                *o += v;
            }
        } else {
            out.copy_from_slice(&acc_r[..nr]);
        }
        if let Some((act, post)) = post.as_mut() {
            act.apply_slice(&c[at..at + nr], &mut post[at..at + nr]);
        }
    }
}

/// How a tile accumulates a·b + c: one fused instruction where the kernel is compiled
/// with FMA, else multiply then add (f32::mul_add without FMA hardware is a libm call).
trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Fused;
struct Separate;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// C (m × n) = A (m × k) · B (n × k)ᵀ with A, B row-major and contiguous along k, by dot
/// products: the layout for outputs narrower than a register tile (the output layer).
#[allow(clippy::too_many_arguments)]
pub fn gemm_nt_narrow(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    bias: Option<&[f32]>,
) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    for (arow, crow) in a.chunks_exact(k).zip(c.chunks_exact_mut(n)).take(m) {
        for (j, (cv, brow)) in crow.iter_mut().zip(b.chunks_exact(k)).enumerate() {
            *cv = dot(arow, brow) + bias.map_or(0.0, |bias| bias[j]);
        }
    }
}

/// Σ aᵢbᵢ with 16 independent partial sums so it vectorises without reassociation rules.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ac, at) = a.split_at(a.len() / 16 * 16);
    let (bc, bt) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(16).zip(bc.chunks_exact(16)) {
        for l in 0..16 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = 0.0;
    for (x, y) in at.iter().zip(bt) {
        s += x * y;
    }
    acc.iter().sum::<f32>() + s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.normal() as f32).collect()
    }

    /// f64 reference of C = A·B (+ bias) with A read through strides.
    fn naive(m: usize, n: usize, k: usize, a: Strided, b: &[f32], ldb: usize) -> Vec<f64> {
        let mut c = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|kk| a.data[i * a.rs + kk * a.cs] as f64 * b[kk * ldb + j] as f64)
                    .sum();
            }
        }
        c
    }

    // Also run in Chromium by scripts/test on both wasm cores (`wasm-pack test --lib`):
    // the simd128 and relaxed-SIMD kernels exist only there.
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn gemm_matches_naive_on_odd_shapes_strides_and_epilogues() {
        let mut rng = Rng::new(11);
        let shapes = [
            (1, 1, 1),
            (3, 5, 7),
            (7, 33, 9),
            (13, 17, 130),
            (256, 128, 8),
            (9, 2, 128),
            (2, 128, 256),
            (8, 32, 0),
            (17, 65, 3),
        ];
        for &(m, n, k) in &shapes {
            for transposed in [false, true] {
                // A as m × k, or as the transpose of a stored k × m matrix.
                let stored = random(&mut rng, m * k.max(1));
                let a = if transposed {
                    Strided {
                        data: &stored,
                        rs: 1,
                        cs: m,
                    }
                } else {
                    Strided {
                        data: &stored,
                        rs: k,
                        cs: 1,
                    }
                };
                let ldb = n + 3;
                let b = random(&mut rng, k.max(1) * ldb);
                let bias = random(&mut rng, n);
                let ldc = n + 1;
                let c0 = random(&mut rng, m * ldc);
                let want = naive(m, n, k, a, &b, ldb);
                for mode in 0..3 {
                    let mut c = c0.clone();
                    let mut post = vec![f32::NAN; m * ldc];
                    let epi = Epilogue {
                        bias: (mode == 1).then_some(&bias[..]),
                        accumulate: mode == 2,
                    };
                    let act = (mode == 1).then_some((Activation::Gelu, &mut post[..]));
                    gemm(m, n, k, a, &b, ldb, &mut c, ldc, epi, act);
                    for i in 0..m {
                        for j in 0..n {
                            let base = match mode {
                                1 => bias[j] as f64,
                                2 => c0[i * ldc + j] as f64,
                                _ => 0.0,
                            };
                            let w = want[i * n + j] + base;
                            let got = c[i * ldc + j] as f64;
                            // f32 accumulation of k products of N(0,1) terms: ~√k·ulp.
                            let tol = 1e-5 * (1.0 + (k as f64).sqrt() * 4.0);
                            assert!(
                                (got - w).abs() < tol * (1.0 + w.abs()),
                                "{m}×{n}×{k} t={transposed} mode {mode} ({i},{j}): {got} vs {w}"
                            );
                            if mode == 1 {
                                assert_eq!(
                                    post[i * ldc + j],
                                    Activation::Gelu.apply(c[i * ldc + j])
                                );
                            }
                        }
                        // Padding columns of C untouched.
                        assert_eq!(c[i * ldc + n], c0[i * ldc + n]);
                    }
                }
            }
        }
    }

    #[test]
    fn narrow_product_matches_naive() {
        let mut rng = Rng::new(12);
        for &(m, n, k) in &[(5, 2, 128), (3, 1, 17), (4, 3, 5), (256, 2, 64)] {
            let a = random(&mut rng, m * k);
            let b = random(&mut rng, n * k);
            let bias = random(&mut rng, n);
            let mut c = vec![0f32; m * n];
            gemm_nt_narrow(m, n, k, &a, &b, &mut c, Some(&bias));
            for i in 0..m {
                for j in 0..n {
                    let w: f64 = (0..k)
                        .map(|kk| a[i * k + kk] as f64 * b[j * k + kk] as f64)
                        .sum::<f64>()
                        + bias[j] as f64;
                    let tol = 1e-5 * (1.0 + 4.0 * (k as f64).sqrt());
                    assert!((c[i * n + j] as f64 - w).abs() < tol * (1.0 + w.abs()));
                }
            }
        }
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    #[test]
    #[ignore = "timing, run by hand"]
    fn time_forward_shape() {
        let (m, n, k) = (256, 128, 128);
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut c = vec![0f32; m * n];
        let reps = 2000;
        let t = std::time::Instant::now();
        for _ in 0..reps {
            gemm(
                m,
                n,
                k,
                Strided {
                    data: &a,
                    rs: k,
                    cs: 1,
                },
                &b,
                n,
                &mut c,
                n,
                Epilogue::OVERWRITE,
                None,
            );
        }
        let s = t.elapsed().as_secs_f64();
        eprintln!(
            "gemm {m}x{n}x{k}: {:.1} GFLOP/s",
            2.0 * (m * n * k * reps) as f64 / s / 1e9
        );
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod mlp_timing {
    use crate::nn::{Activation, Mlp, Workspace};
    use crate::rng::Rng;

    #[test]
    #[ignore = "timing, run by hand"]
    fn time_seed_network_forward_and_activation() {
        for act in [Activation::Gelu, Activation::GeluFast] {
            let mut rng = Rng::new(1);
            let mlp = Mlp::new(&[8, 128, 128, 128, 128, 2], act, &mut rng);
            let x = ndarray::Array2::from_shape_fn((256, 8), |_| rng.normal() as f32);
            let mut ws = Workspace::new();
            let reps = 300;
            let t = std::time::Instant::now();
            for _ in 0..reps {
                std::hint::black_box(mlp.forward(x.view(), &mut ws));
            }
            let s = t.elapsed().as_secs_f64();
            let flop = 2.0 * mlp.forward_macs() as f64 * 256.0 * reps as f64;
            eprintln!(
                "forward 256 rows, {act:?}: {:.1} GFLOP/s, {:.1} µs",
                flop / s / 1e9,
                s / reps as f64 * 1e6
            );
        }
        let z: Vec<f32> = (0..256 * 128 * 4)
            .map(|i| (i % 1000) as f32 * 0.01 - 5.0)
            .collect();
        let mut out = vec![0f32; z.len()];
        let t = std::time::Instant::now();
        for _ in 0..20 {
            Activation::Gelu.apply_slice(&z, &mut out);
            std::hint::black_box(&out);
        }
        let s = t.elapsed().as_secs_f64() / 20.0;
        eprintln!("GELU of 3·256·128 (×4/3) values: {:.1} µs", s * 1e6 * 0.75);
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn wide(z: &[f32], out: &mut [f32]) {
            Activation::Gelu.apply_slice(z, out)
        }
        let t = std::time::Instant::now();
        for _ in 0..20 {
            unsafe { wide(&z, &mut out) };
            std::hint::black_box(&out);
        }
        let s = t.elapsed().as_secs_f64() / 20.0;
        eprintln!("GELU avx512 same: {:.1} µs", s * 1e6 * 0.75);
    }
}
