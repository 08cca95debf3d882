//! WGSL sources of the 3D-path kernels (f32).
//!
//! Kernels that take sizes at dispatch time read them from immediate data
//! (`var<immediate>`, Vulkan push constants), so a solver iteration records
//! its coefficients inline in the command buffer: no uniform buffer is
//! written, nothing is uploaded and nothing allocated per dispatch. The direct
//! solve bakes its line length and tile shape into the source instead (the
//! compiler then strength-reduces the index arithmetic); its pipelines are
//! cached per shape.
//!
//! # Why the kernels are in range (they run without runtime bounds checks)
//! For a grid of shape `[n0, n1, n2]` the host binds only vectors it has
//! checked to hold exactly `n0·n1·n2` elements of the same context (every
//! plan, operator and `VectorOps` method checks before it records; a
//! mismatch is an error and nothing is recorded) and passes that shape in
//! the immediates or bakes it into the source. Each kernel returns early for
//! threads outside the grid; every neighbour index comes from [`NB`], which
//! maps an out-of-range neighbour back into `[0, n)` (wrap, reflection, or
//! the centre itself with weight 0 for `Zero`), so every flat index formed is
//! `< n0·n1·n2`. Slot indices are checked on the host (a slot `≥ MIN_SLOTS`
//! is an error), partial-sum indices are `< partials` by the dispatch size.
//! Workgroup arrays are indexed by the local invocation id or by
//! `line < COLS`, `k < N`, both baked. Each pipeline's `SAFETY` comment (at
//! its `pipeline_unchecked` call) names the checks it relies on.

use super::direct::ContiguousLoad;

/// Threads per workgroup of the 1D kernels.
pub(crate) const WG: u32 = 256;

/// Neighbour along one axis, mapped into `[0, n)` by the boundary rule.
pub(crate) const NB: &str = r#"
struct Nb { idx: u32, w: f32 }
// Neighbour of i at offset d (-1, 0, 1) on an axis of length n >= 1.
// bc: 0 periodic (wrap), 1 zero (outside coefficients are 0), 2 mirror (whole-sample
// reflection, scipy 'mirror'). The index returned is always in [0, n).
fn nb(i: u32, d: i32, n: u32, bc: u32) -> Nb {
    let j = i32(i) + d;
    let ni = i32(n);
    if (j >= 0 && j < ni) { return Nb(u32(j), 1.0); }
    if (bc == 0u) { return Nb(u32((j + ni) % ni), 1.0); }
    if (bc == 2u) {
        if (n == 1u) { return Nb(0u, 1.0); }
        return Nb(u32(select(2 * (ni - 1) - j, -j, j < 0)), 1.0);
    }
    return Nb(i, 0.0);
}
"#;

/// Outputs per thread along axis 0 in [`stencil27`].
pub(crate) const MARCH: u32 = 16;

/// `y ← B x`, the 27-point stencil in one pass.
///
/// A thread owns a column `(i1, i2)` and [`MARCH`] consecutive outputs along
/// axis 0. Its axis-1/axis-2 neighbours and weights are computed once; it then
/// marches along axis 0 keeping the 9-point plane sums `s_q = Σ w_b w_c x[q, ·, ·]`
/// of the previous, current and next plane in registers, so each output costs
/// 9 loads (cached, shared with the neighbouring columns) instead of 27.
pub(crate) fn stencil27() -> String {
    let body = r#"
struct P { n0: u32, n1: u32, n2: u32, bc0: u32, bc1: u32, bc2: u32, sym: u32 }
var<immediate> p: P;
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(1) @binding(0) var<storage, read_write> y: array<f32>;
const L: u32 = @MARCH@u;

// Symmetrised mirror (sym): row i, column c weighted by s_i / s_c with s = 1/sqrt(2)
// at both ends of a mirror axis of length >= 2, 1 elsewhere.
fn sc(j: u32, n: u32, bc: u32, on: bool) -> f32 {
    if (on && bc == 2u && n >= 2u && (j == 0u || j == n - 1u)) { return 0.70710678118654752; }
    return 1.0;
}
fn sw(i: u32, e: Nb, n: u32, bc: u32, on: bool) -> f32 {
    return e.w * sc(i, n, bc, on) / sc(e.idx, n, bc, on);
}

// Σ_b Σ_c wb[b] wc[c] x[base + r[b] + c[c]]: the 9-point sum of one plane.
fn sum2(base: u32, r: vec3<u32>, c: vec3<u32>, wb: vec3<f32>, wc: vec3<f32>) -> f32 {
    let t0 = wc.x * x[base + r.x + c.x] + wc.y * x[base + r.x + c.y] + wc.z * x[base + r.x + c.z];
    let t1 = wc.x * x[base + r.y + c.x] + wc.y * x[base + r.y + c.y] + wc.z * x[base + r.y + c.z];
    let t2 = wc.x * x[base + r.z + c.x] + wc.y * x[base + r.z + c.y] + wc.z * x[base + r.z + c.z];
    return wb.x * t0 + wb.y * t1 + wb.z * t2;
}

@compute @workgroup_size(64, 4, 1)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
    let i2 = g.x; let i1 = g.y; let a = g.z * L;
    if (i2 >= p.n2 || i1 >= p.n1 || a >= p.n0) { return; }
    let w0 = @W0@; let w1 = @W1@; let w2 = @W2@;
    let s0 = (p.sym & 1u) != 0u; let s1 = (p.sym & 2u) != 0u; let s2 = (p.sym & 4u) != 0u;
    let b0 = nb(i1, -1, p.n1, p.bc1); let b2 = nb(i1, 1, p.n1, p.bc1);
    let c0 = nb(i2, -1, p.n2, p.bc2); let c2 = nb(i2, 1, p.n2, p.bc2);
    let r = vec3<u32>(b0.idx * p.n2, i1 * p.n2, b2.idx * p.n2);
    let c = vec3<u32>(c0.idx, i2, c2.idx);
    let wb = vec3<f32>(w0 * sw(i1, b0, p.n1, p.bc1, s1), w1, w2 * sw(i1, b2, p.n1, p.bc1, s1));
    let wc = vec3<f32>(w0 * sw(i2, c0, p.n2, p.bc2, s2), w1, w2 * sw(i2, c2, p.n2, p.bc2, s2));
    let plane = p.n1 * p.n2;
    let e = min(a + L, p.n0);
    var sp = sum2(nb(a, -1, p.n0, p.bc0).idx * plane, r, c, wb, wc);
    var sm = sum2(a * plane, r, c, wb, wc);
    for (var i0 = a; i0 < e; i0++) {
        let m = nb(i0, -1, p.n0, p.bc0);
        let q = nb(i0, 1, p.n0, p.bc0);
        let sn = sum2(q.idx * plane, r, c, wb, wc);
        y[i0 * plane + i1 * p.n2 + i2] =
            w0 * sw(i0, m, p.n0, p.bc0, s0) * sp + w1 * sm + w2 * sw(i0, q, p.n0, p.bc0, s0) * sn;
        sp = sm;
        sm = sn;
    }
}
"#;
    // The taps come from the one definition, `grid3::BSPLINE_TAPS`, as f32 literals.
    let [w0, w1, w2] = crate::grid3::BSPLINE_TAPS.map(|w| format!("{:?}", w as f32));
    let body = body
        .replace("@MARCH@", &MARCH.to_string())
        .replace("@W0@", &w0)
        .replace("@W1@", &w1)
        .replace("@W2@", &w2);
    format!("{NB}{body}")
}

/// Workgroup shape of [`stencil27x4`]: `(quads along axis 2, rows along axis 1)`.
pub(crate) const QUAD_WG: (u32, u32) = (32, 8);

/// `y ← B x` as [`stencil27`], four adjacent outputs along the contiguous axis
/// per thread (axis 2 of a multiple of 4 points).
///
/// Per plane and row a thread loads the `vec4` of its own four columns and the
/// two `vec4`s holding the left neighbour of the first and the right neighbour
/// of the last column (their indices mapped into `[0, n2)` by the boundary
/// rule, so also a wrapped or reflected neighbour is one aligned load): 9
/// `vec4` loads per plane give four 9-point plane sums, against 9 scalar
/// loads per output in [`stencil27`]. The plane sums roll along axis 0 as
/// there, as `vec4`s; the output is one `vec4` store. Weights per column are
/// formed once per thread (a symmetrised mirror axis scales the weights of
/// columns next to its ends).
///
/// In range: `i2 + 3 < n2` (`n2` a multiple of 4, `i2 = 4·gx < n2`), every
/// neighbour index comes from `nb` (in `[0, n)`), so every `vec4` index is
/// `< n0·n1·n2 / 4`, the length of both bindings.
pub(crate) fn stencil27x4() -> String {
    let body = r#"
struct P { n0: u32, n1: u32, n2: u32, bc0: u32, bc1: u32, bc2: u32, sym: u32 }
var<immediate> p: P;
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(1) @binding(0) var<storage, read_write> y: array<vec4<f32>>;
const L: u32 = @MARCH@u;

fn sc(j: u32, n: u32, bc: u32, on: bool) -> f32 {
    if (on && bc == 2u && n >= 2u && (j == 0u || j == n - 1u)) { return 0.70710678118654752; }
    return 1.0;
}
fn sw(i: u32, e: Nb, n: u32, bc: u32, on: bool) -> f32 {
    return e.w * sc(i, n, bc, on) / sc(e.idx, n, bc, on);
}

// The weighted 3-point sums along axis 2 of the four columns of one row;
// `row` is the flat index of the row's first element, `q` that of the quad.
fn row3(row: u32, q: u32, cl: u32, cr: u32, wl: vec4<f32>, wr: vec4<f32>, w1: f32) -> vec4<f32> {
    let m = x[(row + q) / 4u];
    let lq = x[(row + cl) / 4u];
    let rq = x[(row + cr) / 4u];
    let left = vec4<f32>(lq[cl % 4u], m.x, m.y, m.z);
    let right = vec4<f32>(m.y, m.z, m.w, rq[cr % 4u]);
    return wl * left + w1 * m + wr * right;
}

@compute @workgroup_size(@WGX@, @WGY@, 1)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
    let i2 = 4u * g.x; let i1 = g.y; let a = g.z * L;
    if (i2 >= p.n2 || i1 >= p.n1 || a >= p.n0) { return; }
    let w0 = @W0@; let w1 = @W1@; let w2 = @W2@;
    let s0 = (p.sym & 1u) != 0u; let s1 = (p.sym & 2u) != 0u; let s2 = (p.sym & 4u) != 0u;
    let b0 = nb(i1, -1, p.n1, p.bc1); let b2 = nb(i1, 1, p.n1, p.bc1);
    let r = vec3<u32>(b0.idx * p.n2, i1 * p.n2, b2.idx * p.n2);
    let wb = vec3<f32>(w0 * sw(i1, b0, p.n1, p.bc1, s1), w1, w2 * sw(i1, b2, p.n1, p.bc1, s1));
    var wl = vec4<f32>();
    var wr = vec4<f32>();
    for (var u = 0u; u < 4u; u++) {
        let j = i2 + u;
        wl[u] = w0 * sw(j, nb(j, -1, p.n2, p.bc2), p.n2, p.bc2, s2);
        wr[u] = w2 * sw(j, nb(j, 1, p.n2, p.bc2), p.n2, p.bc2, s2);
    }
    let cl = nb(i2, -1, p.n2, p.bc2).idx;
    let cr = nb(i2 + 3u, 1, p.n2, p.bc2).idx;
    let plane = p.n1 * p.n2;
    let e = min(a + L, p.n0);
    var base = nb(a, -1, p.n0, p.bc0).idx * plane;
    var sp = wb.x * row3(base + r.x, i2, cl, cr, wl, wr, w1) + wb.y * row3(base + r.y, i2, cl, cr, wl, wr, w1)
        + wb.z * row3(base + r.z, i2, cl, cr, wl, wr, w1);
    base = a * plane;
    var sm = wb.x * row3(base + r.x, i2, cl, cr, wl, wr, w1) + wb.y * row3(base + r.y, i2, cl, cr, wl, wr, w1)
        + wb.z * row3(base + r.z, i2, cl, cr, wl, wr, w1);
    for (var i0 = a; i0 < e; i0++) {
        let m = nb(i0, -1, p.n0, p.bc0);
        let q = nb(i0, 1, p.n0, p.bc0);
        let nbase = q.idx * plane;
        let sn = wb.x * row3(nbase + r.x, i2, cl, cr, wl, wr, w1) + wb.y * row3(nbase + r.y, i2, cl, cr, wl, wr, w1)
            + wb.z * row3(nbase + r.z, i2, cl, cr, wl, wr, w1);
        y[(i0 * plane + i1 * p.n2 + i2) / 4u] =
            w0 * sw(i0, m, p.n0, p.bc0, s0) * sp + w1 * sm + w2 * sw(i0, q, p.n0, p.bc0, s0) * sn;
        sp = sm;
        sm = sn;
    }
}
"#;
    let [w0, w1, w2] = crate::grid3::BSPLINE_TAPS.map(|w| format!("{:?}", w as f32));
    let body = body
        .replace("@MARCH@", &MARCH.to_string())
        .replace("@WGX@", &QUAD_WG.0.to_string())
        .replace("@WGY@", &QUAD_WG.1.to_string())
        .replace("@W0@", &w0)
        .replace("@W1@", &w1)
        .replace("@W2@", &w2);
    format!("{NB}{body}")
}

/// `y ← M_a x`: one axis of a separable stencil given by rows `(column, weight)`.
///
/// `table[off + i·2w + t]` is the column (an exact integer in f32, `< n_axis`,
/// built on the host from the boundary fold) and `table[off + i·2w + w + t]` its
/// weight, for `t < w` (unused entries have weight 0 and column `i`).
pub(crate) fn band_axis() -> String {
    r#"
struct P { n0: u32, n1: u32, n2: u32, axis: u32, w: u32, off: u32 }
var<immediate> p: P;
@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(1) @binding(0) var<storage, read> x: array<f32>;
@group(2) @binding(0) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64, 4, 1)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
    let i2 = g.x; let i1 = g.y; let i0 = g.z;
    if (i2 >= p.n2 || i1 >= p.n1 || i0 >= p.n0) { return; }
    let o = (i0 * p.n1 + i1) * p.n2 + i2;
    var i = i2; var stride = 1u;
    if (p.axis == 0u) { i = i0; stride = p.n1 * p.n2; }
    if (p.axis == 1u) { i = i1; stride = p.n2; }
    let line = o - i * stride;
    let base = p.off + i * 2u * p.w;
    var acc = 0.0;
    for (var t = 0u; t < p.w; t++) {
        acc += table[base + p.w + t] * x[line + u32(table[base + t]) * stride];
    }
    y[o] = acc;
}
"#
    .to_owned()
}

/// `y ← x` as `vec4` loads and stores over `len4` vec4s: the bandwidth a
/// compute shader reaches (the roofline of the kernels here; a transfer
/// command may use a copy engine instead of the multiprocessors).
pub(crate) fn copy4() -> String {
    r#"
struct P { len4: u32 }
var<immediate> p: P;
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(1) @binding(0) var<storage, read_write> y: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.y * nw.x + wid.x) * 256u + lid;
    if (i < p.len4) { y[i] = x[i]; }
}
"#
    .to_owned()
}

/// Coefficient evaluation shared by the vector updates.
const COEF: &str = r#"
@group(0) @binding(0) var<storage, read_write> slots: array<f32>;
// kind: 0 constant c, 1 slots[s0], 2 slots[s0] / slots[s1], 3 -slots[s0] / slots[s1].
fn coef(kind: u32, c: f32, s0: u32, s1: u32) -> f32 {
    switch kind {
        case 1u: { return slots[s0]; }
        case 2u: { return slots[s0] / slots[s1]; }
        case 3u: { return -slots[s0] / slots[s1]; }
        default: { return c; }
    }
}
"#;

/// `y ← a x + b y` with `a`, `b` evaluated from the slots on the device.
pub(crate) fn axpby() -> String {
    let body = r#"
struct P { total: u32, ka: u32, sa0: u32, sa1: u32, ca: f32, kb: u32, sb0: u32, sb1: u32, cb: f32 }
var<immediate> p: P;
@group(1) @binding(0) var<storage, read> x: array<f32>;
@group(2) @binding(0) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.y * nw.x + wid.x) * 256u + lid;
    if (i >= p.total) { return; }
    let a = coef(p.ka, p.ca, p.sa0, p.sa1);
    if (p.kb == 0u && p.cb == 0.0) {
        y[i] = a * x[i];
    } else {
        let b = coef(p.kb, p.cb, p.sb0, p.sb1);
        y[i] = a * x[i] + b * y[i];
    }
}
"#;
    format!("{COEF}{body}")
}

/// First stage of `xᵀy`: `PARTS` workgroups each write one compensated partial sum.
pub(crate) fn dot_stage1() -> String {
    r#"
struct P { total: u32 }
var<immediate> p: P;
@group(0) @binding(0) var<storage, read_write> partials: array<f32>;
@group(1) @binding(0) var<storage, read> x: array<f32>;
@group(2) @binding(0) var<storage, read> y: array<f32>;
var<workgroup> sh: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // Kahan summation over a grid-stride loop keeps the f32 partial accurate for
    // long strides (each thread sums total / (parts * 256) terms).
    var s = 0.0;
    var c = 0.0;
    let stride = nw.x * 256u;
    for (var i = wid.x * 256u + lid; i < p.total; i += stride) {
        let t = x[i] * y[i] - c;
        let u = s + t;
        c = (u - s) - t;
        s = u;
    }
    sh[lid] = s;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (lid < k) { sh[lid] += sh[lid + k]; }
        workgroupBarrier();
    }
    if (lid == 0u) { partials[wid.x] = sh[0]; }
}
"#
    .to_owned()
}

/// Second stage: `slots[slot] ← Σ partials[0..count]` in one workgroup.
pub(crate) fn dot_stage2() -> String {
    r#"
struct P { count: u32, slot: u32 }
var<immediate> p: P;
@group(0) @binding(0) var<storage, read_write> partials: array<f32>;
@group(1) @binding(0) var<storage, read_write> slots: array<f32>;
var<workgroup> sh: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var s = 0.0;
    for (var i = lid; i < p.count; i += 256u) { s += partials[i]; }
    sh[lid] = s;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (lid < k) { sh[lid] += sh[lid + k]; }
        workgroupBarrier();
    }
    if (lid == 0u) { slots[p.slot] = sh[0]; }
}
"#
    .to_owned()
}

/// `slots[slot] ← value`.
pub(crate) fn set_slot() -> String {
    r#"
struct P { slot: u32, value: f32 }
var<immediate> p: P;
@group(0) @binding(0) var<storage, read_write> slots: array<f32>;
@compute @workgroup_size(1)
fn main() { slots[p.slot] = p.value; }
"#
    .to_owned()
}

/// Overlap (in points) of the segmented sweeps of [`direct_axis`]: a segment's
/// recurrence starts this far before it from a zero state. Every step multiplies
/// the dropped history by a factor of modulus ≤ 0.27 (`l_k` forward,
/// `e_k/u_k` backward; only the single boundary rows of a mirror axis reach 0.5),
/// so the truncation is ≤ 0.27²⁰·2 ≈ 10⁻¹¹ relative, far below f32 rounding.
pub(crate) const OVERLAP: u32 = 20;

/// Segment length of the segmented sweeps.
pub(crate) const SEG: u32 = 32;

/// One axis of the exact separable solve, with the line length and tile baked in.
///
/// A workgroup of 256 threads owns `COLS` lines of length `N`. It loads them
/// into workgroup memory with coalesced reads (for the contiguous axis the
/// `COLS` lines are one contiguous run; for the other axes consecutive threads
/// read consecutive columns of one plane), solves them there and stores them
/// back: one global read and one global write per element per axis.
///
/// The solve is the LU-factored tridiagonal solve with the factors of `table`
/// (`l`, `1/u`, `e`, the Sherman–Morrison vector `q`, then `kq`, `bg`, at `OFF`):
/// forward `y_k = 6 f_k − l_k y_{k−1}`, backward `c_k = (y_k − e_k c_{k+1})/u_k`,
/// then `c_k − s q_k` with `s = kq (c_0 + bg c_{N−1})` on the way out (`kq = 0`
/// unless the axis is periodic with `N ≥ 3`). So that all 256 threads work, each
/// line is cut into `P` segments of `SEG` points, one per thread; a segment's
/// sweep first runs [`OVERLAP`] steps over its neighbour's points from a zero
/// state (a warm-up whose error decays geometrically, see [`OVERLAP`]), except
/// the segments at the line ends, which start from the exact end conditions.
/// The tile is `COLS × S` with `S` odd; threads are numbered line-fastest, so a
/// warp's strided accesses fall in distinct banks.
pub(crate) fn direct_axis(
    n: u32,
    cols: u32,
    contiguous: bool,
    inner: u32,
    tiles_per_outer: u32,
    tiles: u32,
    off: u32,
) -> String {
    let s = n | 1;
    let (seg, p) = if n <= 2 * SEG {
        (n, 1)
    } else {
        (SEG, n.div_ceil(SEG))
    };
    let src = r#"
const N: u32 = @N@u;
const S: u32 = @S@u;
const COLS: u32 = @COLS@u;
const INNER: u32 = @INNER@u;
const TPO: u32 = @TPO@u;
const TILES: u32 = @TILES@u;
const OFF: u32 = @OFF@u;
const SEG: u32 = @SEG@u;
const TASKS: u32 = @TASKS@u;
const W: u32 = @W@u;
const UNROLL: u32 = @UNROLL@u;
@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(1) @binding(0) var<storage, read_write> v: array<@ELEM@>;
var<workgroup> sm: array<f32, @SM@>;
var<workgroup> carry: array<f32, @TASKS@>;

// Global index of element k of tile-local line `line`: < N * (lines of the grid).
fn gidx(tile: u32, line: u32, k: u32) -> u32 {
    if (@CONTIG@) {
        return (tile * COLS + line) * N + k;
    }
    let o = tile / TPO;
    let m = (tile % TPO) * COLS + line;
    return o * N * INNER + k * INNER + m;
}

fn count_of(tile: u32) -> u32 {
    if (@CONTIG@) {
        return min(COLS, INNER - tile * COLS);
    }
    return min(COLS, INNER - (tile % TPO) * COLS);
}

// Tile element x (< COLS * N) as (line, k).
fn split(x: u32) -> vec2<u32> {
    if (@CONTIG@) { return vec2<u32>(x / N, x % N); }
    return vec2<u32>(x % COLS, x / COLS);
}

// Coefficient after the rank-one correction: c_k - s(line) q_k.
fn out(line: u32, k: u32, kq: f32, bg: f32) -> f32 {
    let o = line * S;
    return sm[o + k] - (sm[o] + bg * sm[o + N - 1u]) * kq * table[OFF + 3u * N + k];
}

fn l(k: u32) -> f32 { return table[OFF + k]; }
fn iu(k: u32) -> f32 { return table[OFF + N + k]; }
fn e(k: u32) -> f32 { return table[OFF + 2u * N + k]; }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let tile = wid.y * nw.x + wid.x;
    if (tile >= TILES) { return; }
    let count = count_of(tile);
    // Loads in batches of UNROLL independent reads per thread (memory-level
    // parallelism: one outstanding 4-byte read per thread would cap the bandwidth).
@LOADBLOCK@
    workgroupBarrier();
    // Forward warm-up: y just before the segment (exact when the warm-up reaches k = 0).
    for (var t = lid; t < TASKS; t += 256u) {
        let line = t % COLS; let start = (t / COLS) * SEG; let o = line * S;
        if (line < count && start > 0u) {
            var y = 0.0;
            var k = 0u;
            if (start > W) { k = start - W; } else { y = 6.0 * sm[o]; k = 1u; }
            for (; k < start; k++) { y = 6.0 * sm[o + k] - l(k) * y; }
            carry[t] = y;
        }
    }
    workgroupBarrier();
    for (var t = lid; t < TASKS; t += 256u) {
        let line = t % COLS; let start = (t / COLS) * SEG; let o = line * S;
        if (line < count) {
            let end = min(start + SEG, N);
            var y = 0.0;
            var k = start;
            if (start == 0u) { y = 6.0 * sm[o]; sm[o] = y; k = 1u; } else { y = carry[t]; }
            for (; k < end; k++) { y = 6.0 * sm[o + k] - l(k) * y; sm[o + k] = y; }
        }
    }
    workgroupBarrier();
    // Backward warm-up: c just after the segment (exact when the warm-up reaches N - 1).
    for (var t = lid; t < TASKS; t += 256u) {
        let line = t % COLS; let end = min((t / COLS) * SEG + SEG, N); let o = line * S;
        if (line < count && end < N) {
            var c = 0.0;
            var k = N - 1u;
            if (end + W < N) { k = end + W; } else { c = sm[o + k] * iu(k); }
            for (; k > end; k--) { c = (sm[o + k - 1u] - e(k - 1u) * c) * iu(k - 1u); }
            carry[t] = c;
        }
    }
    workgroupBarrier();
    for (var t = lid; t < TASKS; t += 256u) {
        let line = t % COLS; let start = (t / COLS) * SEG; let o = line * S;
        if (line < count) {
            let end = min(start + SEG, N);
            var c = 0.0;
            var k = end;
            if (end == N) { k = N - 1u; c = sm[o + k] * iu(k); sm[o + k] = c; } else { c = carry[t]; }
            for (; k > start; k--) { c = (sm[o + k - 1u] - e(k - 1u) * c) * iu(k - 1u); sm[o + k - 1u] = c; }
        }
    }
    workgroupBarrier();
    let kq = table[OFF + 4u * N];
    let bg = table[OFF + 4u * N + 1u];
@STOREBLOCK@
}
"#;
    const UNROLL: u32 = 8;
    // vec4 global accesses when every tile run is 4-aligned: whole lines of a
    // multiple-of-4 length (contiguous axis) or 4-aligned column blocks.
    let vec4 = if contiguous {
        n.is_multiple_of(4)
    } else {
        inner.is_multiple_of(4) && cols.is_multiple_of(4)
    };
    let (q, elem) = if vec4 {
        ("4u", "vec4<f32>")
    } else {
        ("1u", "f32")
    };
    let mut load = format!("    for (var x0 = lid; x0 < COLS * N / {q}; x0 += 256u * UNROLL) {{\n");
    for u in 0..UNROLL {
        load.push_str(&format!(
            "        let x{u} = x0 + {u}u * 256u; let p{u} = split({q} * x{u}); var v{u} = {elem}();\n        \
             if (x{u} < COLS * N / {q} && p{u}.x < count) {{ v{u} = v[gidx(tile, p{u}.x, p{u}.y) / {q}]; }}\n"
        ));
    }
    for u in 0..UNROLL {
        let put = if !vec4 {
            format!("sm[p{u}.x * S + p{u}.y] = v{u};")
        } else if contiguous {
            format!(
                "let o{u} = p{u}.x * S + p{u}.y; sm[o{u}] = v{u}.x; sm[o{u} + 1u] = v{u}.y; \
                 sm[o{u} + 2u] = v{u}.z; sm[o{u} + 3u] = v{u}.w;"
            )
        } else {
            format!(
                "let o{u} = p{u}.x * S + p{u}.y; sm[o{u}] = v{u}.x; sm[o{u} + S] = v{u}.y; \
                 sm[o{u} + 2u * S] = v{u}.z; sm[o{u} + 3u * S] = v{u}.w;"
            )
        };
        load.push_str(&format!(
            "        if (x{u} < COLS * N / {q} && p{u}.x < count) {{ {put} }}\n"
        ));
    }
    load.push_str("    }");
    let get = if !vec4 {
        "out(pp.x, pp.y, kq, bg)"
    } else if contiguous {
        "vec4<f32>(out(pp.x, pp.y, kq, bg), out(pp.x, pp.y + 1u, kq, bg), \
         out(pp.x, pp.y + 2u, kq, bg), out(pp.x, pp.y + 3u, kq, bg))"
    } else {
        "vec4<f32>(out(pp.x, pp.y, kq, bg), out(pp.x + 1u, pp.y, kq, bg), \
         out(pp.x + 2u, pp.y, kq, bg), out(pp.x + 3u, pp.y, kq, bg))"
    };
    let store = format!(
        "    for (var x = lid; x < COLS * N / {q}; x += 256u) {{\n        \
         let pp = split({q} * x);\n        \
         if (pp.x < count) {{ v[gidx(tile, pp.x, pp.y) / {q}] = {get}; }}\n    }}"
    );
    src.replace("@LOADBLOCK@", &load)
        .replace("@STOREBLOCK@", &store)
        .replace("@ELEM@", elem)
        .replace("@UNROLL@", &UNROLL.to_string())
        .replace("@N@", &n.to_string())
        .replace("@S@", &s.to_string())
        .replace("@COLS@", &cols.to_string())
        .replace("@INNER@", &inner.to_string())
        .replace("@TPO@", &tiles_per_outer.max(1).to_string())
        .replace("@TILES@", &tiles.to_string())
        .replace("@OFF@", &off.to_string())
        .replace("@SM@", &(cols * s).to_string())
        .replace("@SEG@", &seg.to_string())
        .replace("@TASKS@", &(cols * p).to_string())
        .replace("@W@", &OVERLAP.to_string())
        .replace("@CONTIG@", if contiguous { "true" } else { "false" })
}

/// Segments per line up to which [`direct_axis_seg`] unrolls its carry scans.
const UNROLL_SCAN: u32 = 64;

/// Shape of one axis pass of [`direct_axis_seg`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct SegSpec {
    /// Line length.
    pub n: u32,
    /// Points per thread (the segment length).
    pub seg: u32,
    /// Lines per workgroup.
    pub cols: u32,
    /// Lines along the contiguous axis (staged through workgroup memory).
    pub contiguous: bool,
    /// Number of lines (contiguous) or the stride of the axis (otherwise).
    pub inner: u32,
    /// Tiles per outer index (strided axes).
    pub tiles_per_outer: u32,
    /// Number of tiles.
    pub tiles: u32,
    /// Offset of the axis factors in the table.
    pub off: u32,
    /// Offset of the segment carry factors `g`, `h` (each `n`) in the table.
    pub goff: u32,
    /// Periodic with `n ≥ 3`: apply the Sherman–Morrison correction.
    pub cyclic: bool,
    /// Contiguous axis: how lines reach the registers (`None` on strided axes;
    /// the `vec4` forms only where `n` and `seg` are multiples of 4).
    pub load: Option<ContiguousLoad>,
    /// Number the tiles from the end of the grid (workgroup `w` solves tile
    /// `TILES − 1 − w`), so that a pass following one that ran forward starts
    /// where that pass ended, on data it left in the L2 cache.
    pub reverse: bool,
}

/// One axis of the exact separable solve with line segments held in registers.
///
/// A line is cut into `P = ⌈N/SEG⌉` segments; thread `(line, s)` (line fastest,
/// so a warp's global accesses along a strided axis are consecutive columns)
/// loads its `SEG` points into registers. Along the contiguous axis the lines
/// come through a workgroup-memory tile loaded and stored with coalesced `vec4`
/// accesses ([`ContiguousLoad`]): an `f32` tile of odd row stride `S`, or a
/// `vec4` tile of odd row stride `S4` (in `vec4`s) that each thread reads and
/// writes as whole `vec4`s, or no tile (each thread's segment as `vec4`s).
/// The two sweeps of the LU solve (see [`direct_axis`]) are linear recurrences,
/// so each segment runs them from a zero state and is then corrected exactly
/// (no warm-up, no truncation): forward, `y_k = ŷ_k + g_k Y_{s−1}` with
/// `g_k = Π_{j=a..k} (−l_j)` over the segment `[a, b)` and `Y_{s−1}` the true
/// value at `a − 1`, obtained by the carry scan `Y_s = ŷ_{b−1} + g_{b−1} Y_{s−1}`
/// over the segments' end values; backward, `c_k = ĉ_k + h_k C_{s+1}` with
/// `h_k = Π_{j=k..b−1} (−e_j/u_j)` and `C_s = ĉ_a + h_a C_{s+1}`. `g`, `h` are
/// computed on the host in f64 (see [`super::direct::seg_factors`]). The
/// periodic rank-one correction reads `c_0`, `c_{N−1}` of the line through
/// workgroup memory. Global traffic: one read and one write per element.
///
/// In range: `line < COLS`, `s < P`, `a + j < N` (guarded where the last
/// segment is short), tiles `< TILES` (also numbered from the end:
/// `TILES − 1 − wg` for a workgroup `wg < TILES`), so global indices are
/// `< N · (lines of the grid)` as in [`direct_axis`]; table indices are below
/// `GOFF + 2N`, which the host sizes (the unrolled scans read `g` at segment
/// ends `< (P − 1)·SEG` and `h` at segment starts `< N`). The `vec4` tile is
/// indexed by `(x / N4)·S4 + x % N4` with `x < count·N4`, `count ≤ COLS`, and
/// by `line·S4 + a/4 + i` with `a + 4i < N`: both `< COLS·S4`.
pub(crate) fn direct_axis_seg(sp: &SegSpec) -> String {
    let n = sp.n;
    let seg = sp.seg;
    let p = n.div_ceil(seg);
    let s = n | 1;
    let threads = sp.cols * p;
    let last_len = n - (p - 1) * seg;
    let mut src = format!(
        "const N: u32 = {n}u;\nconst S: u32 = {s}u;\nconst SEG: u32 = {seg}u;\nconst P: u32 = {p}u;\n\
         const COLS: u32 = {cols}u;\nconst INNER: u32 = {inner}u;\nconst TPO: u32 = {tpo}u;\n\
         const TILES: u32 = {tiles}u;\nconst OFF: u32 = {off}u;\nconst GOFF: u32 = {goff}u;\n\
         const THREADS: u32 = {threads}u;\n",
        cols = sp.cols,
        inner = sp.inner,
        tpo = sp.tiles_per_outer.max(1),
        tiles = sp.tiles,
        off = sp.off,
        goff = sp.goff,
    );
    let aligned = n.is_multiple_of(4) && seg.is_multiple_of(4);
    let load = match sp.load {
        Some(l) if sp.contiguous && aligned => Some(l),
        _ if sp.contiguous => Some(ContiguousLoad::Tile),
        _ => None,
    };
    let vec4 = sp.contiguous && n.is_multiple_of(4);
    let staged = load == Some(ContiguousLoad::Tile);
    let tile4 = load == Some(ContiguousLoad::Vec4Tile);
    let elem = if vec4 { "vec4<f32>" } else { "f32" };
    src.push_str(&format!(
        "@group(0) @binding(0) var<storage, read> table: array<f32>;\n\
         @group(1) @binding(0) var<storage, read_write> v: array<{elem}>;\n\
         var<workgroup> cf: array<f32, {cp}>;\nvar<workgroup> cb: array<f32, {cp}>;\n",
        cp = sp.cols * p
    ));
    if sp.cyclic {
        src.push_str(&format!(
            "var<workgroup> en: array<f32, {}>;\n",
            2 * sp.cols
        ));
    }
    if staged {
        src.push_str(&format!(
            "var<workgroup> sm: array<f32, {}>;\n",
            sp.cols * s
        ));
    }
    if tile4 {
        // Row stride S4 (in vec4s) odd: lines l..l+7 at the same offset fall in
        // eight distinct 16-byte bank groups.
        src.push_str(&format!(
            "const N4: u32 = {}u;\nconst S4: u32 = {}u;\nvar<workgroup> sm4: array<vec4<f32>, {}>;\n",
            n / 4,
            (n / 4) | 1,
            sp.cols * ((n / 4) | 1)
        ));
    }
    src.push_str(
        r#"
fn l(k: u32) -> f32 { return table[OFF + k]; }
fn iu(k: u32) -> f32 { return table[OFF + N + k]; }
fn e(k: u32) -> f32 { return table[OFF + 2u * N + k]; }
fn qv(k: u32) -> f32 { return table[OFF + 3u * N + k]; }
fn g(k: u32) -> f32 { return table[GOFF + k]; }
fn h(k: u32) -> f32 { return table[GOFF + N + k]; }
"#,
    );
    src.push_str(&format!(
        "\n@compute @workgroup_size({threads})\n\
         fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,\n        \
         @builtin(local_invocation_index) lid: u32) {{\n    \
         let wg = wid.y * nw.x + wid.x;\n    \
         if (wg >= TILES) {{ return; }}\n    \
         let tile = {tile};\n    \
         let line = lid % COLS; let s = lid / COLS; let a = s * SEG;\n",
        tile = if sp.reverse { "TILES - 1u - wg" } else { "wg" }
    ));
    // Lines of this tile and the global index of (line, k).
    if sp.contiguous {
        src.push_str("    let count = min(COLS, INNER - tile * COLS);\n");
        src.push_str("    let base = tile * COLS * N;\n");
    } else {
        src.push_str("    let m0 = (tile % TPO) * COLS;\n");
        src.push_str("    let count = min(COLS, INNER - m0);\n");
        src.push_str("    let base = (tile / TPO) * N * INNER + m0 + line;\n");
    }
    src.push_str("    let live = line < count;\n");
    let guard = |j: u32| j >= last_len;
    let regs: Vec<String> = (0..seg).map(|j| format!("r{j}")).collect();
    for r in &regs {
        src.push_str(&format!("    var {r} = 0.0;\n"));
    }
    // Load.
    let q = if vec4 { 4 } else { 1 };
    // Tile element x (of count·N/q) → workgroup-memory offset o.
    let tile_at = format!("let li = ({q}u * x) / N; let k = ({q}u * x) % N; let o = li * S + k;");
    if tile4 {
        // All global reads of a thread first, then the tile stores (whole vec4s).
        let iters = (sp.cols * n / 4).div_ceil(threads);
        src.push_str("    let lim = count * N4;\n");
        for i in 0..iters {
            src.push_str(&format!(
                "    let x{i} = lid + {i}u * THREADS; var w{i} = vec4<f32>();\n    \
                 if (x{i} < lim) {{ w{i} = v[base / 4u + x{i}]; }}\n"
            ));
        }
        for i in 0..iters {
            src.push_str(&format!(
                "    if (x{i} < lim) {{ sm4[(x{i} / N4) * S4 + x{i} % N4] = w{i}; }}\n"
            ));
        }
        src.push_str(
            "    workgroupBarrier();\n    let row = line * S4 + a / 4u;\n    if (live) {\n",
        );
        for i in 0..seg / 4 {
            let j = 4 * i;
            let body = format!(
                "let t{i} = sm4[row + {i}u]; r{j} = t{i}.x; r{} = t{i}.y; r{} = t{i}.z; r{} = t{i}.w;",
                j + 1,
                j + 2,
                j + 3
            );
            push_guarded(&mut src, guard(j), j, &body);
        }
        src.push_str("    }\n");
    } else if staged {
        // All loads of a thread first (independent reads in flight), then the stores.
        let iters = (sp.cols * n / q).div_ceil(threads);
        src.push_str(&format!("    let lim = count * N / {q}u;\n"));
        for i in 0..iters {
            src.push_str(&format!(
                "    let x{i} = lid + {i}u * THREADS; var w{i} = {elem}();\n    \
                 if (x{i} < lim) {{ w{i} = v[base / {q}u + x{i}]; }}\n"
            ));
        }
        for i in 0..iters {
            let put = if vec4 {
                format!(
                    "sm[o] = w{i}.x; sm[o + 1u] = w{i}.y; sm[o + 2u] = w{i}.z; sm[o + 3u] = w{i}.w;"
                )
            } else {
                format!("sm[o] = w{i};")
            };
            src.push_str(&format!(
                "    if (x{i} < lim) {{ let x = x{i}; {tile_at} {put} }}\n"
            ));
        }
        src.push_str("    workgroupBarrier();\n    if (live) {\n");
        for j in 0..seg {
            let body = format!("r{j} = sm[line * S + a + {j}u];");
            push_guarded(&mut src, guard(j), j, &body);
        }
        src.push_str("    }\n");
    } else if sp.contiguous {
        src.push_str("    let own = (base + line * N + a) / 4u;\n    if (live) {\n");
        for i in 0..seg / 4 {
            let j = 4 * i;
            let body = format!(
                "let w{i} = v[own + {i}u]; r{j} = w{i}.x; r{} = w{i}.y; r{} = w{i}.z; r{} = w{i}.w;",
                j + 1,
                j + 2,
                j + 3
            );
            push_guarded(&mut src, guard(j), j, &body);
        }
        src.push_str("    }\n");
    } else {
        src.push_str("    if (live) {\n");
        for j in 0..seg {
            let body = format!("r{j} = v[base + (a + {j}u) * INNER];");
            push_guarded(&mut src, guard(j), j, &body);
        }
        src.push_str("    }\n");
    }
    // Forward sweep from a zero state, end value to cf.
    src.push_str("    var y = 0.0;\n    if (live) {\n");
    for j in 0..seg {
        let body = format!("r{j} = 6.0 * r{j} - l(a + {j}u) * y; y = r{j};");
        push_guarded(&mut src, guard(j), j, &body);
    }
    src.push_str("        cf[s * COLS + line] = y;\n    }\n    workgroupBarrier();\n");
    // Carry scan and correction; backward sweep from a zero state, start value to cb.
    // The carry scans: unrolled for up to UNROLL_SCAN segments (all reads
    // issued at once, then a chain of multiply-adds), else a loop.
    src.push_str("    if (live) {\n        var cy = 0.0;\n");
    if p <= UNROLL_SCAN {
        for t in 0..p.saturating_sub(1) {
            src.push_str(&format!(
                "        let f{t} = cf[{t}u * COLS + line]; let gf{t} = g({}u);\n",
                (t + 1) * seg - 1
            ));
        }
        for t in 0..p.saturating_sub(1) {
            src.push_str(&format!(
                "        cy = select(cy, f{t} + gf{t} * cy, {t}u < s);\n"
            ));
        }
    } else {
        src.push_str(
            "        for (var t = 0u; t < s; t++) { cy = cf[t * COLS + line] + g((t + 1u) * SEG - 1u) * cy; }\n",
        );
    }
    for j in 0..seg {
        let body = format!("r{j} += g(a + {j}u) * cy;");
        push_guarded(&mut src, guard(j), j, &body);
    }
    src.push_str("        var c = 0.0;\n");
    for j in (0..seg).rev() {
        let body = format!("r{j} = (r{j} - e(a + {j}u) * c) * iu(a + {j}u); c = r{j};");
        push_guarded(&mut src, guard(j), j, &body);
    }
    src.push_str("        cb[s * COLS + line] = c;\n    }\n    workgroupBarrier();\n");
    src.push_str("    if (live) {\n        var cc = 0.0;\n");
    if p <= UNROLL_SCAN {
        for t in (1..p).rev() {
            src.push_str(&format!(
                "        let b{t} = cb[{t}u * COLS + line]; let hb{t} = h({}u);\n",
                t * seg
            ));
        }
        for t in (1..p).rev() {
            src.push_str(&format!(
                "        cc = select(cc, b{t} + hb{t} * cc, {t}u > s);\n"
            ));
        }
    } else {
        src.push_str(
            "        for (var t = P - 1u; t > s; t--) { cc = cb[t * COLS + line] + h(t * SEG) * cc; }\n",
        );
    }
    for j in 0..seg {
        let body = format!("r{j} += h(a + {j}u) * cc;");
        push_guarded(&mut src, guard(j), j, &body);
    }
    src.push_str("    }\n");
    if sp.cyclic {
        // Sherman–Morrison: c_k − kq (c_0 + bg c_{N−1}) q_k.
        src.push_str(&format!(
            "    if (live && s == 0u) {{ en[2u * line] = r0; }}\n    \
             if (live && s == P - 1u) {{ en[2u * line + 1u] = r{}; }}\n    \
             workgroupBarrier();\n    if (live) {{\n        \
             let sc = table[OFF + 4u * N] * (en[2u * line] + table[OFF + 4u * N + 1u] * en[2u * line + 1u]);\n",
            last_len - 1
        ));
        for j in 0..seg {
            let body = format!("r{j} -= sc * qv(a + {j}u);");
            push_guarded(&mut src, guard(j), j, &body);
        }
        src.push_str("    }\n");
    }
    // Store.
    if tile4 {
        src.push_str("    if (live) {\n");
        for i in 0..seg / 4 {
            let j = 4 * i;
            let body = format!(
                "sm4[row + {i}u] = vec4<f32>(r{j}, r{}, r{}, r{});",
                j + 1,
                j + 2,
                j + 3
            );
            push_guarded(&mut src, guard(j), j, &body);
        }
        src.push_str("    }\n    workgroupBarrier();\n");
        src.push_str(
            "    for (var x = lid; x < count * N4; x += THREADS) {\n        \
             v[base / 4u + x] = sm4[(x / N4) * S4 + x % N4];\n    }\n",
        );
    } else if staged {
        src.push_str("    if (live) {\n");
        for j in 0..seg {
            let body = format!("sm[line * S + a + {j}u] = r{j};");
            push_guarded(&mut src, guard(j), j, &body);
        }
        src.push_str("    }\n    workgroupBarrier();\n");
        src.push_str(&format!(
            "    for (var x = lid; x < count * N / {q}u; x += THREADS) {{\n        {tile_at}\n"
        ));
        if vec4 {
            src.push_str(
                "        v[base / 4u + x] = vec4<f32>(sm[o], sm[o + 1u], sm[o + 2u], sm[o + 3u]);\n",
            );
        } else {
            src.push_str("        v[base + x] = sm[o];\n");
        }
        src.push_str("    }\n");
    } else if sp.contiguous {
        src.push_str("    if (live) {\n");
        for i in 0..seg / 4 {
            let j = 4 * i;
            let body = format!(
                "v[own + {i}u] = vec4<f32>(r{j}, r{}, r{}, r{});",
                j + 1,
                j + 2,
                j + 3
            );
            push_guarded(&mut src, guard(j), j, &body);
        }
        src.push_str("    }\n");
    } else {
        src.push_str("    if (live) {\n");
        for j in 0..seg {
            let body = format!("v[base + (a + {j}u) * INNER] = r{j};");
            push_guarded(&mut src, guard(j), j, &body);
        }
        src.push_str("    }\n");
    }
    src.push_str("}\n");
    src
}

/// Appends `body` (one statement line), under `a + j < N` when `guarded`.
fn push_guarded(src: &mut String, guarded: bool, j: u32, body: &str) {
    if guarded {
        src.push_str(&format!("        if (a + {j}u < N) {{ {body} }}\n"));
    } else {
        src.push_str(&format!("        {body}\n"));
    }
}
