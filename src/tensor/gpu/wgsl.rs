//! WGSL generated per spline (evaluation) and per fit plan (the axis passes).
//!
//! Sizes, strides, table offsets and loop trip counts are baked into the
//! source, so the compiler strength-reduces the index arithmetic and unrolls
//! the fixed loops; the pipeline cache of the context keys on the source, so a
//! shape compiles once. Launch sizes (point count, grid width of the dispatch)
//! travel as immediate data.
//!
//! # Why the kernels are in range (they run without runtime bounds checks)
//! *Evaluation.* The knot table holds, for each axis `k`, its `n_k + 4` knots
//! at `ko_k`, then two scalars per uniform axis and one NaN: `NK` values, the
//! length of the bound buffer and of the workgroup copy. A span `s` is always
//! in `[3, n − 1]`: the uniform lookup clamps its integer guess into
//! `[0, n − 4]` after the conversion (whatever the conversion of a NaN or
//! huge value gives) and the correction moves it by one only inside
//! `[3, n − 1]`; the binary search counts at most the `n − 4` interior knots.
//! The basis reads knots `s − 2 ..= s + 3 ⊂ [1, n + 2]`. The coefficient block
//! starts at `Σ (s_k − 3)·S_k` and ends at `Σ (s_k)·S_k ≤ Σ (n_k − 1)·S_k`,
//! the last coefficient. Read as `L`-element vectors (`L = 2` or `4`), a row
//! starting at `o ≤ total − 4` spans the vectors `⌊o/L⌋ ..= ⌊o/L⌋ + 4/L`,
//! whose last element is below `o + 4 + L ≤ total + L`; the coefficient
//! buffer ([`super::DeviceArray`]) holds `total + 4` elements rounded up to a
//! multiple of four (the padding zeroed and never written), so those vectors
//! are in the bound array. The expanded table ([`expand`]) holds one `vec4`
//! per flat offset `j < total` (row `j` read at index `o ≤ total − 4`); it
//! is built from a coefficient buffer of at least `total + 3` elements, so
//! its reads `j ..= j + 3 ≤ total + 2` are in range too. Point `g` is read at `g·D + k` and written at
//! `g·M + m` only for `g < count`, and the host binds at least `count·D`
//! coordinates and `count·M` outputs.
//!
//! *Fit passes.* A thread's line `g < lines` starts at
//! `(g / S)·N·S + g % S` and its last element is below `(g / S + 1)·N·S ≤
//! total`; a tile of `nb ≤ G` blocks of `N·S` values starting at block
//! `b0 < blocks` covers `[b0·N·S, (b0 + nb)·N·S) ⊂ [0, total)` and the
//! workgroup array has `G·N·S` entries. Factor reads are below `5·N` past the
//! axis' offset in a table built with exactly those entries.

use std::collections::HashMap;
use std::fmt::Write;

/// Threads per workgroup of the evaluation kernel and of the expansion of
/// its rows (64 and 256 measured the same on an H200).
pub(crate) const EVAL_WG: u32 = 128;
/// Threads per workgroup of the fit passes.
pub(crate) const FIT_WG: u32 = 128;

/// What an evaluation kernel computes: the table layout and the outputs.
pub(crate) struct EvalSpec<'a> {
    /// `"f32"` or `"f64"`.
    pub ty: &'static str,
    /// Coefficients per axis.
    pub n: &'a [usize],
    /// Row-major strides.
    pub strides: &'a [usize],
    /// Offset of each axis' knots in the knot table.
    pub knot_off: &'a [usize],
    /// `(x0, 1/h)` offsets in the knot table, for uniform axes.
    pub uniform: &'a [Option<usize>],
    /// Offset of the NaN in the knot table.
    pub nan_at: usize,
    /// Length of the knot table.
    pub nk: usize,
    /// Copy the knot table to workgroup memory first.
    pub knots_in_workgroup: bool,
    /// Per axis: 0 polynomial, 1 clamp, 2 NaN outside the domain, 3 wrap
    /// (periodic).
    pub policy: &'a [u32],
    /// Components per coefficient (vector values, innermost in the
    /// table): the contraction runs once per component with the same
    /// weights; `lanes` is then 1 and `expanded` false.
    pub nc: usize,
    /// Derivative orders of each output (`D` each; above 3 gives 0).
    pub outputs: &'a [Vec<usize>],
    /// Unroll the contraction (straight-line code) instead of `for` loops.
    pub unroll: bool,
    /// Coefficients per load: 1 (scalar), 2 or 4 (`vec2`/`vec4` of the
    /// table bound as an array of vectors; see [`eval`]).
    pub lanes: usize,
    /// The table bound is the expanded one ([`expand`]): row `o` is the
    /// `vec4` at index `o`, one load (`lanes` is then unused).
    pub expanded: bool,
}

fn knot(k: usize, rel: i32) -> String {
    format!("q{k}_{}", rel + 2)
}

/// The basis rows of one axis: values and derivatives of the orders in
/// `orders`, as `vec4` lets named `w{k}_{o}`.
///
/// Values by the Cox–de Boor triangle of [`crate::bspline::basis::basis`]
/// (same operations, same order: distances `x − t` in the numerators, knot
/// differences as denominators); the
/// `m`-th derivative of the degree-`q` functions `N_{s−q..=s, q}` by
/// `dᵐN_{j,q} = q·(dᵐ⁻¹N_{j,q−1}/(t_{j+q} − t_j) − dᵐ⁻¹N_{j+1,q−1}/(t_{j+q+1} − t_{j+1}))`,
/// applied `m` times down to the degree-`3−m` row of the same triangle.
/// Terms with a function outside `s − q + 1 ..= s` are zero and not formed;
/// every denominator formed contains the span `[t_s, t_{s+1}]`, so none is 0.
fn basis(src: &mut String, k: usize, ty: &str, orders: &[usize]) {
    let x = format!("x{k}");
    for rel in -2..=3 {
        let _ = writeln!(
            src,
            "    let {} = kt(KO{k} + sb{k} + {}u);",
            knot(k, rel),
            rel + 2
        );
    }
    let l = |j: i32| format!("({x} - {})", knot(k, 1 - j));
    let r = |j: i32| format!("({} - {x})", knot(k, j));
    // rows[q] = names of N_{s−q+r, q}, r = 0..=q
    let mut rows: Vec<Vec<String>> = vec![vec![format!("{ty}(1.0)")]];
    for j in 1..=3i32 {
        let mut row = Vec::new();
        let mut saved = String::new();
        for rr in 0..j {
            let prev = &rows[(j - 1) as usize][rr as usize];
            let tmp = format!("tp{k}_{j}_{rr}");
            let _ = writeln!(
                src,
                "    let {tmp} = {prev} / ({} - {});",
                knot(k, rr + 1),
                knot(k, 1 - j + rr)
            );
            let name = format!("n{k}_{j}_{rr}");
            let term = format!("{} * {tmp}", r(rr + 1));
            if saved.is_empty() {
                let _ = writeln!(src, "    let {name} = {term};");
            } else {
                let _ = writeln!(src, "    let {name} = {saved} + {term};");
            }
            row.push(name);
            saved = format!("{} * {tmp}", l(j - rr));
        }
        let name = format!("n{k}_{j}_{j}");
        let _ = writeln!(src, "    let {name} = {saved};");
        row.push(name);
        rows.push(row);
    }
    // Derivatives: memo[(q, m)] = names of dᵐ N_{s−q+r, q}.
    let mut memo: HashMap<(usize, usize), Vec<String>> = HashMap::new();
    fn deriv(
        src: &mut String,
        k: usize,
        ty: &str,
        rows: &[Vec<String>],
        memo: &mut HashMap<(usize, usize), Vec<String>>,
        q: usize,
        m: usize,
    ) -> Vec<String> {
        if m == 0 {
            return rows[q].clone();
        }
        if let Some(v) = memo.get(&(q, m)) {
            return v.clone();
        }
        let lower = deriv(src, k, ty, rows, memo, q - 1, m - 1);
        let mut out = Vec::new();
        for r in 0..=q {
            // function j = s − q + r
            let mut terms = Vec::new();
            if r >= 1 {
                // t[j+q] − t[j] = t[s+r] − t[s−q+r]
                terms.push(format!(
                    "{} / ({} - {})",
                    lower[r - 1],
                    knot(k, r as i32),
                    knot(k, r as i32 - q as i32)
                ));
            }
            if r < q {
                // t[j+q+1] − t[j+1] = t[s+r+1] − t[s−q+r+1]
                terms.push(format!(
                    "{} / ({} - {})",
                    lower[r],
                    knot(k, r as i32 + 1),
                    knot(k, r as i32 + 1 - q as i32)
                ));
            }
            let e = match terms.len() {
                2 => format!("({} - {})", terms[0], terms[1]),
                _ if r >= 1 => format!("({})", terms[0]),
                _ => format!("(-{})", terms[0]),
            };
            let name = format!("e{k}_{q}_{m}_{r}");
            let _ = writeln!(src, "    let {name} = {ty}({q}.0) * {e};");
            out.push(name);
        }
        memo.insert((q, m), out.clone());
        out
    }
    let mut done = Vec::new();
    for &o in orders {
        if done.contains(&o) {
            continue;
        }
        done.push(o);
        if o > 3 {
            let _ = writeln!(src, "    let w{k}_{o} = vec4<{ty}>({ty}(0.0));");
            continue;
        }
        let v = deriv(src, k, ty, &rows, &mut memo, 3, o);
        let _ = writeln!(
            src,
            "    let w{k}_{o} = vec4<{ty}>({}, {}, {}, {});",
            v[0], v[1], v[2], v[3]
        );
    }
}

/// Number of halving steps of a binary search over `m` sorted values.
fn search_steps(m: usize) -> u32 {
    usize::BITS - m.leading_zeros()
}

/// The evaluation kernel.
pub(crate) fn eval(spec: &EvalSpec<'_>) -> String {
    let d = spec.n.len();
    let ty = spec.ty;
    let m_out = spec.outputs.len();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// bsfit tensor evaluation: D = {d}, {ty}, {m_out} outputs per point"
    );
    let _ = writeln!(s, "struct P {{ count: u32, gx: u32 }}");
    let _ = writeln!(s, "var<immediate> p: P;");
    let _ = writeln!(
        s,
        "@group(0) @binding(0) var<storage, read> knots: array<{ty}>;"
    );
    let lanes = spec.lanes;
    if spec.expanded {
        let _ = writeln!(
            s,
            "@group(1) @binding(0) var<storage, read> coefs: array<vec4<{ty}>>;"
        );
    } else if lanes == 1 {
        let _ = writeln!(
            s,
            "@group(1) @binding(0) var<storage, read> coefs: array<{ty}>;"
        );
        let _ = writeln!(s, "fn cf(i: u32) -> {ty} {{ return coefs[i]; }}");
    } else {
        let _ = writeln!(
            s,
            "@group(1) @binding(0) var<storage, read> coefs: array<vec{lanes}<{ty}>>;"
        );
        let _ = writeln!(
            s,
            "fn cf(i: u32) -> {ty} {{ return coefs[i / {lanes}u][i % {lanes}u]; }}"
        );
    }
    let _ = writeln!(
        s,
        "@group(2) @binding(0) var<storage, read> pts: array<{ty}>;"
    );
    let _ = writeln!(
        s,
        "@group(3) @binding(0) var<storage, read_write> outv: array<{ty}>;"
    );
    let _ = writeln!(s, "const NK: u32 = {}u;", spec.nk);
    let _ = writeln!(s, "const WG: u32 = {EVAL_WG}u;");
    for k in 0..d {
        let _ = writeln!(s, "const KO{k}: u32 = {}u;", spec.knot_off[k]);
    }
    if spec.knots_in_workgroup {
        let _ = writeln!(s, "var<workgroup> kw: array<{ty}, NK>;");
        let _ = writeln!(s, "fn kt(i: u32) -> {ty} {{ return kw[i]; }}");
    } else {
        let _ = writeln!(s, "fn kt(i: u32) -> {ty} {{ return knots[i]; }}");
    }
    // NaN test on the bits: compilers may fold `x != x` to false. An f64 is
    // narrowed first (NaN stays NaN, a large value becomes infinite).
    let _ = writeln!(
        s,
        "fn is_nan(x: {ty}) -> bool {{ return (bitcast<u32>(f32(x)) & 0x7fffffffu) > 0x7f800000u; }}"
    );
    let _ = writeln!(
        s,
        "fn is_inf(x: {ty}) -> bool {{ return (bitcast<u32>(f32(x)) & 0x7fffffffu) >= 0x7f800000u; }}"
    );
    let _ = writeln!(s, "@compute @workgroup_size(WG)");
    let _ = writeln!(
        s,
        "fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{"
    );
    if spec.knots_in_workgroup {
        let _ = writeln!(
            s,
            "    for (var i = lid; i < NK; i += WG) {{ kw[i] = knots[i]; }}"
        );
        let _ = writeln!(s, "    workgroupBarrier();");
    }
    let _ = writeln!(s, "    let g = (wid.y * p.gx + wid.x) * WG + lid;");
    let _ = writeln!(s, "    if (g >= p.count) {{ return; }}");
    let _ = writeln!(s, "    var inside = true;");
    let _ = writeln!(s, "    var isnan = false;");
    for k in 0..d {
        let n = spec.n[k];
        let _ = writeln!(s, "    var x{k} = pts[g * {d}u + {k}u];");
        let _ = writeln!(s, "    let nan{k} = is_nan(x{k});");
        let _ = writeln!(s, "    isnan = isnan | nan{k};");
        // The domain [t_3, t_n] (n coefficients, n + 4 knots).
        let lo = format!("kt(KO{k} + 3u)");
        let hi = format!("kt(KO{k} + {n}u)");
        match spec.policy[k] {
            3 => {
                // lo + (x − lo) mod (hi − lo), at most hi; an infinite
                // coordinate gives NaN, as on the CPU.
                let _ = writeln!(s, "    isnan = isnan | is_inf(x{k});");
                let _ = writeln!(s, "    let dw{k} = {hi} - {lo};");
                let _ = writeln!(s, "    let dx{k} = x{k} - {lo};");
                let _ = writeln!(
                    s,
                    "    x{k} = select(clamp({lo} + (dx{k} - floor(dx{k} / dw{k}) * dw{k}), {lo}, {hi}), x{k}, nan{k});"
                );
            }
            1 => {
                let _ = writeln!(
                    s,
                    "    x{k} = select(clamp(x{k}, {lo}, {hi}), x{k}, nan{k});"
                );
            }
            2 => {
                let _ = writeln!(s, "    inside = inside & (x{k} >= {lo}) & (x{k} <= {hi});");
            }
            _ => {}
        }
        match spec.uniform[k] {
            Some(u) => {
                let _ = writeln!(
                    s,
                    "    let g{k} = (x{k} - kt({u}u)) * kt({}u) - {ty}(1.0);",
                    u + 1
                );
                let _ = writeln!(
                    s,
                    "    var s{k} = 3u + min(u32(clamp(g{k}, {ty}(0.0), {ty}({}.0))), {}u);",
                    n - 4,
                    n - 4
                );
                let _ = writeln!(
                    s,
                    "    let up{k} = (s{k} < {}u) & (x{k} >= kt(KO{k} + s{k} + 1u));",
                    n - 1
                );
                let _ = writeln!(
                    s,
                    "    let dn{k} = !up{k} & (s{k} > 3u) & (x{k} < kt(KO{k} + s{k}));"
                );
                let _ = writeln!(
                    s,
                    "    s{k} = s{k} + select(0u, 1u, up{k}) - select(0u, 1u, dn{k});"
                );
            }
            None => {
                let m = n - 4;
                let _ = writeln!(s, "    var b{k} = 0u;");
                let _ = writeln!(s, "    var l{k} = {m}u;");
                for _ in 0..search_steps(m) {
                    let _ = writeln!(
                        s,
                        "    {{ let h = l{k} / 2u; let c = (l{k} > 0u) & (kt(KO{k} + 4u + b{k} + h) <= x{k}); \
                         b{k} = select(b{k}, b{k} + h + 1u, c); l{k} = select(h, l{k} - h - 1u, c); }}"
                    );
                }
                let _ = writeln!(s, "    let s{k} = 3u + b{k};");
            }
        }
        // s − 2 ≥ 1: the knot reads below start at s − 2.
        let _ = writeln!(s, "    let sb{k} = s{k} - 2u;");
        let orders: Vec<usize> = spec.outputs.iter().map(|o| o[k]).collect();
        basis(&mut s, k, ty, &orders);
    }
    let base: Vec<String> = (0..d)
        .map(|k| format!("(s{k} - 3u) * {}u", spec.strides[k]))
        .collect();
    let nc = spec.nc.max(1);
    if nc > 1 {
        let _ = writeln!(s, "    let base0 = {};", base.join(" + "));
        let _ = writeln!(s, "    for (var comp = 0u; comp < {nc}u; comp++) {{");
        let _ = writeln!(s, "    let base = base0 + comp;");
    } else {
        let _ = writeln!(s, "    let base = {};", base.join(" + "));
    }
    if spec.unroll && spec.lanes > 1 && !spec.expanded {
        shifted_weights(&mut s, spec);
    }
    for m in 0..m_out {
        let _ = writeln!(s, "    var acc{m} = {ty}(0.0);");
    }
    contract(&mut s, spec);
    // A NaN coordinate gives NaN (the third derivative does not depend on
    // x, so it would not propagate); an order above 3 gives 0 whatever the
    // point, except NaN outside the domain under the NaN policy (as on the CPU).
    let nan = format!("kt({}u)", spec.nan_at);
    for (m, o) in spec.outputs.iter().enumerate() {
        let v = match (o.iter().any(|&q| q > 3), spec.policy.contains(&2)) {
            (true, true) => format!("select({ty}(0.0), {nan}, !inside)"),
            (true, false) => format!("{ty}(0.0)"),
            (false, true) => format!("select(acc{m}, {nan}, isnan | !inside)"),
            (false, false) => format!("select(acc{m}, {nan}, isnan)"),
        };
        if nc > 1 {
            let _ = writeln!(s, "    outv[(g * {m_out}u + {m}u) * {nc}u + comp] = {v};");
        } else {
            let _ = writeln!(s, "    outv[g * {m_out}u + {m}u] = {v};");
        }
    }
    if nc > 1 {
        let _ = writeln!(s, "    }}");
    }
    let _ = writeln!(s, "}}");
    s
}

/// The expanded coefficient table: `rows[j] = (c[j], c[j+1], c[j+2], c[j+3])`
/// for every flat offset `j < count` (`count` the number of coefficients,
/// immediate data), so that the evaluation reads a row of the last axis as
/// one aligned `vec4`. Lanes past the last coefficient read the zeroed
/// padding of the coefficient array (see the module docs).
pub(crate) fn expand(ty: &str) -> String {
    format!(
        "// bsfit expanded coefficient rows, {ty}\n\
         struct P {{ count: u32, gx: u32 }}\n\
         var<immediate> p: P;\n\
         @group(0) @binding(0) var<storage, read> c: array<{ty}>;\n\
         @group(1) @binding(0) var<storage, read_write> rows: array<vec4<{ty}>>;\n\
         @compute @workgroup_size({EVAL_WG})\n\
         fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{\n\
         \x20   let j = (wid.y * p.gx + wid.x) * {EVAL_WG}u + lid;\n\
         \x20   if (j >= p.count) {{ return; }}\n\
         \x20   rows[j] = vec4<{ty}>(c[j], c[j + 1u], c[j + 2u], c[j + 3u]);\n\
         }}\n"
    )
}

/// Weights for rows loaded as aligned vectors of `L = spec.lanes`
/// coefficients.
///
/// A row of the last axis starts at flat offset `o = base + c` (`c` known
/// when the contraction is unrolled), so `o = L·q + a` with
/// `a = (base + c mod L) mod L`. Its four coefficients sit in the `4/L + 1`
/// vectors `v_t = coefs[q + t]`, lane `i` of `v_t` holding coefficient
/// `L·t + i − a` of the row, and
/// `Σ_e w_e·c_{o+e} = Σ_t dot(v_t, y_t)` with `y_t[i] = w_{L·t+i−a}` where
/// `0 ≤ L·t + i − a ≤ 3` and `0` elsewhere. `y{k}_{o}_{j}_{t}` is that `y_t`
/// for the rows of class `c mod L = j`, selected once per point from the `L`
/// possible shifts. Lanes outside the row meet an exact zero weight; they are
/// coefficients of the table or its zeroed padding, read in range (module
/// docs), so a finite table adds exact zeros.
fn shifted_weights(s: &mut String, spec: &EvalSpec<'_>) {
    let l = spec.lanes;
    let ty = spec.ty;
    let last = spec.n.len() - 1;
    let mut orders: Vec<usize> = Vec::new();
    for o in spec.outputs {
        if !orders.contains(&o[last]) {
            orders.push(o[last]);
        }
    }
    for j in 0..l {
        let _ = writeln!(s, "    let sh{j} = (base + {j}u) % {l}u;");
    }
    for &o in &orders {
        for j in 0..l {
            for t in 0..=4 / l {
                let cand: Vec<String> = (0..l)
                    .map(|a| {
                        let lanes: Vec<String> = (0..l)
                            .map(|i| {
                                let e = (l * t + i) as isize - a as isize;
                                if (0..4).contains(&e) {
                                    format!("w{last}_{o}[{e}]")
                                } else {
                                    format!("{ty}(0.0)")
                                }
                            })
                            .collect();
                        format!("vec{l}<{ty}>({})", lanes.join(", "))
                    })
                    .collect();
                let pick = match l {
                    2 => format!("select({}, {}, sh{j} == 1u)", cand[0], cand[1]),
                    _ => format!(
                        "select(select({}, {}, sh{j} == 1u), select({}, {}, sh{j} == 3u), sh{j} >= 2u)",
                        cand[0], cand[1], cand[2], cand[3]
                    ),
                };
                let _ = writeln!(s, "    let y{last}_{o}_{j}_{t} = {pick};");
            }
        }
    }
}

/// The `4^D` contraction: loops (or unrolled blocks) over the outer axes,
/// rows of four contiguous coefficients on the last, with the partial weight
/// products shared between outputs of equal order prefixes.
fn contract(s: &mut String, spec: &EvalSpec<'_>) {
    let d = spec.n.len();
    let last = d - 1;
    // prefix ids per level: distinct order tuples of axes 0..=k
    let mut prefix_id: Vec<Vec<usize>> = vec![vec![0; spec.outputs.len()]; d];
    let mut prefixes: Vec<Vec<Vec<usize>>> = vec![Vec::new(); d];
    for k in 0..last {
        for (m, o) in spec.outputs.iter().enumerate() {
            let p = o[..=k].to_vec();
            let id = match prefixes[k].iter().position(|q| *q == p) {
                Some(i) => i,
                None => {
                    prefixes[k].push(p);
                    prefixes[k].len() - 1
                }
            };
            prefix_id[k][m] = id;
        }
    }
    let mut last_orders: Vec<usize> = Vec::new();
    for o in spec.outputs {
        if !last_orders.contains(&o[last]) {
            last_orders.push(o[last]);
        }
    }
    #[allow(clippy::too_many_arguments)] // the recursion's state, passed down unchanged
    fn level(
        s: &mut String,
        spec: &EvalSpec<'_>,
        k: usize,
        prefixes: &[Vec<Vec<usize>>],
        prefix_id: &[Vec<usize>],
        last_orders: &[usize],
        indent: usize,
        cst: Option<usize>,
    ) {
        let d = spec.n.len();
        let last = d - 1;
        let ty = spec.ty;
        let pad = " ".repeat(indent);
        let prev_off = if k == 0 {
            "base".to_string()
        } else {
            format!("o{}", k - 1)
        };
        if k == last {
            match cst {
                _ if spec.expanded => {
                    // One aligned vector: the row starting at `prev_off`.
                    let _ = writeln!(s, "{pad}let c = coefs[{prev_off}];");
                    for &o in last_orders {
                        let _ = writeln!(s, "{pad}let i{o} = dot(c, w{last}_{o});");
                    }
                }
                Some(c) if spec.lanes > 1 => {
                    // The row `base + c ..` as `4/L + 1` aligned vectors from
                    // `(base + c) / L`, dotted with the weights shifted by
                    // `(base + c) % L` (class `c % L`, see `shifted_weights`).
                    let l = spec.lanes;
                    let _ = writeln!(s, "{pad}let cq = (base + {c}u) / {l}u;");
                    let loads = 4 / l + 1;
                    for t in 0..loads {
                        let _ = writeln!(s, "{pad}let cv{t} = coefs[cq + {t}u];");
                    }
                    for &o in last_orders {
                        let terms: Vec<String> = (0..loads)
                            .map(|t| format!("dot(cv{t}, y{last}_{o}_{}_{t})", c % l))
                            .collect();
                        let _ = writeln!(s, "{pad}let i{o} = {};", terms.join(" + "));
                    }
                }
                _ => {
                    let nc = spec.nc.max(1);
                    let _ = writeln!(
                        s,
                        "{pad}let c = vec4<{ty}>(cf({prev_off}), cf({prev_off} + {}u), cf({prev_off} + {}u), cf({prev_off} + {}u));",
                        nc,
                        2 * nc,
                        3 * nc
                    );
                    for &o in last_orders {
                        let _ = writeln!(s, "{pad}let i{o} = dot(c, w{last}_{o});");
                    }
                }
            }
            for (m, o) in spec.outputs.iter().enumerate() {
                if last == 0 {
                    let _ = writeln!(s, "{pad}acc{m} = i{};", o[last]);
                } else {
                    let _ = writeln!(
                        s,
                        "{pad}acc{m} = acc{m} + a{}_{} * i{};",
                        last - 1,
                        prefix_id[last - 1][m],
                        o[last]
                    );
                }
            }
            return;
        }
        let stride = spec.strides[k];
        let body = |s: &mut String, r: &str, indent: usize, cst: Option<usize>| {
            let pad = " ".repeat(indent);
            let _ = writeln!(s, "{pad}let o{k} = {prev_off} + {r} * {stride}u;");
            for (id, p) in prefixes[k].iter().enumerate() {
                let o = p[k];
                if k == 0 {
                    let _ = writeln!(s, "{pad}let a{k}_{id} = w{k}_{o}[{r}];");
                } else {
                    let parent = prefixes[k - 1]
                        .iter()
                        .position(|q| q[..] == p[..k])
                        .unwrap_or(0);
                    let _ = writeln!(
                        s,
                        "{pad}let a{k}_{id} = a{}_{parent} * w{k}_{o}[{r}];",
                        k - 1
                    );
                }
            }
            level(
                s,
                spec,
                k + 1,
                prefixes,
                prefix_id,
                last_orders,
                indent,
                cst,
            );
        };
        if spec.unroll {
            for r in 0..4 {
                let _ = writeln!(s, "{pad}{{");
                body(s, &format!("{r}u"), indent + 4, cst.map(|c| c + r * stride));
                let _ = writeln!(s, "{pad}}}");
            }
        } else {
            let _ = writeln!(s, "{pad}for (var r{k} = 0u; r{k} < 4u; r{k}++) {{");
            body(s, &format!("r{k}"), indent + 4, None);
            let _ = writeln!(s, "{pad}}}");
        }
    }
    let cst = spec.unroll.then_some(0);
    level(s, spec, 0, &prefixes, &prefix_id, &last_orders, 4, cst);
}

/// One axis pass of the fit, `T = L U` solved in place on every line.
pub(crate) struct PassSpec {
    /// `"f32"` or `"f64"`.
    pub ty: &'static str,
    /// Line length (sites on the axis).
    pub n: usize,
    /// Distance between consecutive elements of a line.
    pub stride: usize,
    /// Grid size.
    pub total: usize,
    /// Offset of the axis' factors (`2n` lower, then `3n` upper entries).
    pub fac_off: usize,
    /// Blocks of `n·stride` values per workgroup tile; 0: one line per
    /// thread straight from global memory.
    pub tile_blocks: usize,
    /// Elements a global-memory line loads before it runs the recurrence
    /// over them (loads in flight per thread); 1: one at a time.
    pub chunk: usize,
}

/// The recurrence on one line in global memory, `chunk` loads issued
/// together before the dependent arithmetic over them (the loads do not
/// depend on the recurrence, so a thread keeps `chunk` of them in flight:
/// with one line per thread the pass is otherwise bound by memory latency).
fn line_solve_chunked(s: &mut String, p: &PassSpec, pad: &str) {
    let ty = p.ty;
    let (n, st, fl, ch) = (p.n, p.stride, p.fac_off, p.chunk.max(1));
    let fu = fl + 2 * n;
    // One chunk of `len` rows starting at row expression `i0`, forward.
    let fwd = |s: &mut String, i0: &str, len: usize, pad: &str| {
        for j in 0..len {
            let _ = writeln!(s, "{pad}let a{j} = c[base + ({i0} + {j}u) * {st}u];");
        }
        for j in 0..len {
            let _ = writeln!(
                s,
                "{pad}let v{j} = a{j} - fac[{fl}u + 2u * ({i0} + {j}u) + 1u] * p1 - fac[{fl}u + 2u * ({i0} + {j}u)] * p2; p2 = p1; p1 = v{j};"
            );
        }
        for j in 0..len {
            let _ = writeln!(s, "{pad}c[base + ({i0} + {j}u) * {st}u] = v{j};");
        }
    };
    // Backward: rows i0, i0 − 1, …, i0 − len + 1.
    let bwd = |s: &mut String, i0: &str, len: usize, pad: &str| {
        for j in 0..len {
            let _ = writeln!(s, "{pad}let a{j} = c[base + ({i0} - {j}u) * {st}u];");
        }
        for j in 0..len {
            let _ = writeln!(
                s,
                "{pad}let u{j} = {fu}u + 3u * ({i0} - {j}u); let v{j} = (a{j} - fac[u{j} + 1u] * x1 - fac[u{j} + 2u] * x2) * fac[u{j}]; x2 = x1; x1 = v{j};"
            );
        }
        for j in 0..len {
            let _ = writeln!(s, "{pad}c[base + ({i0} - {j}u) * {st}u] = v{j};");
        }
    };
    let _ = writeln!(s, "{pad}var p2 = {ty}(0.0);");
    let _ = writeln!(s, "{pad}var p1 = c[base];");
    // Rows 1 ..= n − 1.
    let full = (n - 1) / ch;
    let rest = (n - 1) % ch;
    if full > 0 {
        let _ = writeln!(s, "{pad}for (var k = 0u; k < {full}u; k++) {{");
        let _ = writeln!(s, "{pad}    let i0 = 1u + k * {ch}u;");
        fwd(s, "i0", ch, &format!("{pad}    "));
        let _ = writeln!(s, "{pad}}}");
    }
    if rest > 0 {
        let _ = writeln!(s, "{pad}{{");
        fwd(
            s,
            &format!("{}u", 1 + full * ch),
            rest,
            &format!("{pad}    "),
        );
        let _ = writeln!(s, "{pad}}}");
    }
    let _ = writeln!(s, "{pad}var x1 = p1 * fac[{}u];", fu + 3 * (n - 1));
    let _ = writeln!(s, "{pad}c[base + {}u] = x1;", (n - 1) * st);
    let _ = writeln!(s, "{pad}var x2 = {ty}(0.0);");
    // Rows n − 2 down to 0.
    if full > 0 {
        let _ = writeln!(s, "{pad}for (var k = 0u; k < {full}u; k++) {{");
        let _ = writeln!(s, "{pad}    let i0 = {}u - k * {ch}u;", n - 2);
        bwd(s, "i0", ch, &format!("{pad}    "));
        let _ = writeln!(s, "{pad}}}");
    }
    if rest > 0 {
        let _ = writeln!(s, "{pad}{{");
        bwd(
            s,
            &format!("{}u", n - 2 - full * ch),
            rest,
            &format!("{pad}    "),
        );
        let _ = writeln!(s, "{pad}}}");
    }
}

/// The recurrence on one line held in `arr` at `base + i·S`.
fn line_solve(s: &mut String, arr: &str, p: &PassSpec, pad: &str) {
    let ty = p.ty;
    let (n, st, fl) = (p.n, p.stride, p.fac_off);
    let fu = fl + 2 * n;
    let _ = writeln!(s, "{pad}var p2 = {ty}(0.0);");
    let _ = writeln!(s, "{pad}var p1 = {arr}[base];");
    let _ = writeln!(s, "{pad}for (var i = 1u; i < {n}u; i++) {{");
    let _ = writeln!(s, "{pad}    let at = base + i * {st}u;");
    let _ = writeln!(
        s,
        "{pad}    let v = {arr}[at] - fac[{fl}u + 2u * i + 1u] * p1 - fac[{fl}u + 2u * i] * p2;"
    );
    let _ = writeln!(s, "{pad}    {arr}[at] = v; p2 = p1; p1 = v;");
    let _ = writeln!(s, "{pad}}}");
    let _ = writeln!(s, "{pad}var x1 = p1 * fac[{}u];", fu + 3 * (n - 1));
    let _ = writeln!(s, "{pad}{arr}[base + {}u] = x1;", (n - 1) * st);
    let _ = writeln!(s, "{pad}var x2 = {ty}(0.0);");
    let _ = writeln!(s, "{pad}for (var j = 1u; j < {n}u; j++) {{");
    let _ = writeln!(s, "{pad}    let i = {}u - j;", n - 1);
    let _ = writeln!(s, "{pad}    let at = base + i * {st}u;");
    let _ = writeln!(s, "{pad}    let u = {fu}u + 3u * i;");
    let _ = writeln!(
        s,
        "{pad}    let v = ({arr}[at] - fac[u + 1u] * x1 - fac[u + 2u] * x2) * fac[u];"
    );
    let _ = writeln!(s, "{pad}    {arr}[at] = v; x2 = x1; x1 = v;");
    let _ = writeln!(s, "{pad}}}");
}

/// The kernel of one axis pass.
pub(crate) fn pass(p: &PassSpec) -> String {
    let ty = p.ty;
    let (n, st) = (p.n, p.stride);
    let blk = n * st;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// bsfit fit pass: n = {n}, stride = {st}, total = {}, tile = {} blocks, {ty}",
        p.total, p.tile_blocks
    );
    let _ = writeln!(s, "struct P {{ gx: u32 }}");
    let _ = writeln!(s, "var<immediate> p: P;");
    let _ = writeln!(
        s,
        "@group(0) @binding(0) var<storage, read> fac: array<{ty}>;"
    );
    let _ = writeln!(
        s,
        "@group(1) @binding(0) var<storage, read_write> c: array<{ty}>;"
    );
    let _ = writeln!(s, "const WG: u32 = {FIT_WG}u;");
    if p.tile_blocks == 0 {
        let lines = p.total / n;
        let _ = writeln!(s, "@compute @workgroup_size({FIT_WG})");
        let _ = writeln!(
            s,
            "fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{"
        );
        let _ = writeln!(s, "    let g = (wid.y * p.gx + wid.x) * WG + lid;");
        let _ = writeln!(s, "    if (g >= {lines}u) {{ return; }}");
        let _ = writeln!(s, "    let base = (g / {st}u) * {blk}u + g % {st}u;");
        line_solve_chunked(&mut s, p, "    ");
        let _ = writeln!(s, "}}");
        return s;
    }
    let g = p.tile_blocks;
    let blocks = p.total / blk;
    let tiles = blocks.div_ceil(g);
    let _ = writeln!(s, "var<workgroup> sh: array<{ty}, {}>;", g * blk);
    let _ = writeln!(s, "@compute @workgroup_size({FIT_WG})");
    let _ = writeln!(
        s,
        "fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{"
    );
    let _ = writeln!(s, "    let tile = wid.y * p.gx + wid.x;");
    let _ = writeln!(s, "    if (tile >= {tiles}u) {{ return; }}");
    let _ = writeln!(s, "    let b0 = tile * {g}u;");
    let _ = writeln!(s, "    let nb = min({g}u, {blocks}u - b0);");
    let _ = writeln!(s, "    let cnt = nb * {blk}u;");
    let _ = writeln!(s, "    let g0 = b0 * {blk}u;");
    let _ = writeln!(
        s,
        "    for (var e = lid; e < cnt; e += WG) {{ sh[e] = c[g0 + e]; }}"
    );
    let _ = writeln!(s, "    workgroupBarrier();");
    let _ = writeln!(s, "    for (var l = lid; l < nb * {st}u; l += WG) {{");
    let _ = writeln!(s, "        let base = (l / {st}u) * {blk}u + l % {st}u;");
    line_solve(&mut s, "sh", p, "        ");
    let _ = writeln!(s, "    }}");
    let _ = writeln!(s, "    workgroupBarrier();");
    let _ = writeln!(
        s,
        "    for (var e = lid; e < cnt; e += WG) {{ c[g0 + e] = sh[e]; }}"
    );
    let _ = writeln!(s, "}}");
    s
}

/// One step that turns the banded solution of a line into its
/// coefficients (the device form of the boundary module's `FixOp`): rows
/// count from the first coefficient row of the line; `a`, `b` are offsets
/// of the factors in the factor table.
pub(crate) enum FixStep {
    /// `row[to] = row[from]`.
    Copy { to: usize, from: usize },
    /// `row[to] = fac[a]·row[i] + fac[b]·row[j]`.
    Comb {
        to: usize,
        i: usize,
        a: usize,
        j: usize,
        b: usize,
    },
}

/// One axis pass of the fit for an axis whose coefficients are not the
/// banded solution itself (natural, clamped, explicit ends: `n + 2`
/// coefficients from `n` solution rows; periodic: `n − 1` rows, a
/// Sherman–Morrison correction, `n + 2` coefficients). Out of place: the
/// array `[outer, n_in, inner]` is read, `[outer, n_out, inner]` written.
pub(crate) struct PostSpec {
    /// `"f32"` or `"f64"`.
    pub ty: &'static str,
    /// Rows of the banded system (values read per line).
    pub n_sys: usize,
    /// Sites on the axis (rows of a source line).
    pub n_in: usize,
    /// Coefficients on the axis (rows of a destination line).
    pub n_out: usize,
    /// Elements between consecutive rows of a line.
    pub inner: usize,
    /// Lines (`outer · inner`).
    pub lines: usize,
    /// Offset of the axis' factors (`2·n_sys` lower, then `3·n_sys` upper).
    pub fac_off: usize,
    /// Offsets of `z` (`n_sys` values) and of `(g_0, g_1)` of the periodic
    /// correction.
    pub correction: Option<(usize, usize)>,
    /// The row steps after the solve.
    pub fix: Vec<FixStep>,
}

/// The kernel of a [`PostSpec`] pass: one line per thread, straight from
/// global memory (neighbouring threads hold neighbouring lines, so every
/// access is coalesced when `inner > 1`). The solution of line `g` is
/// written to rows `1 ..= n_sys` of its destination line and swept there,
/// then corrected and finished by the row steps, in the operations and
/// order of the CPU (`AxisSystem::finish_in_place`).
///
/// In range: `g < lines = outer·inner`; a source line starts at
/// `(g / inner)·n_in·inner + g % inner` and its rows `< n_sys ≤ n_in` stay
/// below `outer·n_in·inner`, the source's length; a destination row is
/// below `n_out` (`fix` rows are `< n_out` by construction), so below
/// `outer·n_out·inner`, the destination's length; factor reads are below
/// the offsets of the table built with those entries.
pub(crate) fn post_pass(p: &PostSpec) -> String {
    let ty = p.ty;
    let (ns, inner) = (p.n_sys, p.inner);
    let fl = p.fac_off;
    let fu = fl + 2 * ns;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// bsfit fit pass with end rows: n_sys = {ns}, n_in = {}, n_out = {}, inner = {inner}, {ty}",
        p.n_in, p.n_out
    );
    let _ = writeln!(s, "struct P {{ gx: u32 }}");
    let _ = writeln!(s, "var<immediate> p: P;");
    let _ = writeln!(
        s,
        "@group(0) @binding(0) var<storage, read> fac: array<{ty}>;"
    );
    let _ = writeln!(
        s,
        "@group(1) @binding(0) var<storage, read> src: array<{ty}>;"
    );
    let _ = writeln!(
        s,
        "@group(2) @binding(0) var<storage, read_write> c: array<{ty}>;"
    );
    let _ = writeln!(s, "const WG: u32 = {FIT_WG}u;");
    let _ = writeln!(s, "@compute @workgroup_size({FIT_WG})");
    let _ = writeln!(
        s,
        "fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{"
    );
    let _ = writeln!(s, "    let g = (wid.y * p.gx + wid.x) * WG + lid;");
    let _ = writeln!(s, "    if (g >= {}u) {{ return; }}", p.lines);
    let _ = writeln!(
        s,
        "    let sb = (g / {inner}u) * {}u + g % {inner}u;",
        p.n_in * inner
    );
    let _ = writeln!(
        s,
        "    let rb = (g / {inner}u) * {}u + g % {inner}u;",
        p.n_out * inner
    );
    // The solution rows: destination rows 1 ..= n_sys.
    let _ = writeln!(s, "    let db = rb + {inner}u;");
    let _ = writeln!(s, "    var p2 = {ty}(0.0);");
    let _ = writeln!(s, "    var p1 = src[sb];");
    let _ = writeln!(s, "    c[db] = p1;");
    let _ = writeln!(s, "    for (var i = 1u; i < {ns}u; i++) {{");
    let _ = writeln!(
        s,
        "        let v = src[sb + i * {inner}u] - fac[{fl}u + 2u * i + 1u] * p1 - fac[{fl}u + 2u * i] * p2;"
    );
    let _ = writeln!(s, "        c[db + i * {inner}u] = v; p2 = p1; p1 = v;");
    let _ = writeln!(s, "    }}");
    let _ = writeln!(s, "    var x1 = p1 * fac[{}u];", fu + 3 * (ns - 1));
    let _ = writeln!(s, "    c[db + {}u] = x1;", (ns - 1) * inner);
    let _ = writeln!(s, "    var x2 = {ty}(0.0);");
    let _ = writeln!(s, "    for (var j = 1u; j < {ns}u; j++) {{");
    let _ = writeln!(s, "        let i = {}u - j;", ns - 1);
    let _ = writeln!(s, "        let at = db + i * {inner}u;");
    let _ = writeln!(s, "        let u = {fu}u + 3u * i;");
    let _ = writeln!(
        s,
        "        let v = (c[at] - fac[u + 1u] * x1 - fac[u + 2u] * x2) * fac[u];"
    );
    let _ = writeln!(s, "        c[at] = v; x2 = x1; x1 = v;");
    let _ = writeln!(s, "    }}");
    if let Some((z, g)) = p.correction {
        let _ = writeln!(
            s,
            "    let f = fac[{g}u] * c[db] + fac[{}u] * c[db + {}u];",
            g + 1,
            (ns - 1) * inner
        );
        let _ = writeln!(s, "    for (var i = 0u; i < {ns}u; i++) {{");
        let _ = writeln!(s, "        let at = db + i * {inner}u;");
        let _ = writeln!(s, "        c[at] = c[at] - fac[{z}u + i] * f;");
        let _ = writeln!(s, "    }}");
    }
    for step in &p.fix {
        match *step {
            FixStep::Copy { to, from } => {
                let _ = writeln!(
                    s,
                    "    c[rb + {}u] = c[rb + {}u];",
                    to * inner,
                    from * inner
                );
            }
            FixStep::Comb { to, i, a, j, b } => {
                let _ = writeln!(
                    s,
                    "    c[rb + {}u] = fac[{a}u] * c[rb + {}u] + fac[{b}u] * c[rb + {}u];",
                    to * inner,
                    i * inner,
                    j * inner
                );
            }
        }
    }
    let _ = writeln!(s, "}}");
    s
}

/// What the explicit end values add to the coefficients:
/// `c[o, r, i] += ρ_l[r]·G_l[o, i]`, then `+= ρ_r[r]·G_r[o, i]`, over the
/// array `[outer, nk, inner]` (`nk` the coefficients of the axis).
pub(crate) struct EndsSpec {
    /// `"f32"` or `"f64"`.
    pub ty: &'static str,
    /// Coefficients along the axis.
    pub nk: usize,
    /// Elements after the axis (components included).
    pub inner: usize,
    /// Coefficients in all (`outer · nk · inner`).
    pub total: usize,
    /// Per end, the offset of `ρ_e` in the factor table and of `G_e` in
    /// the end array (`None` for an end without values).
    pub ends: [Option<(usize, usize)>; 2],
}

/// The kernel of an [`EndsSpec`]: one coefficient per thread.
///
/// In range: `e < total`; `r < nk` indexes `ρ_e` (`nk` entries at its
/// offset), `o·inner + i < outer·inner`, the length of each `G_e` at its
/// offset in the end array.
pub(crate) fn ends(p: &EndsSpec) -> String {
    let ty = p.ty;
    let (nk, inner) = (p.nk, p.inner);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// bsfit explicit end values: nk = {nk}, inner = {inner}, {ty}"
    );
    let _ = writeln!(s, "struct P {{ gx: u32 }}");
    let _ = writeln!(s, "var<immediate> p: P;");
    let _ = writeln!(
        s,
        "@group(0) @binding(0) var<storage, read> fac: array<{ty}>;"
    );
    let _ = writeln!(
        s,
        "@group(1) @binding(0) var<storage, read> ge: array<{ty}>;"
    );
    let _ = writeln!(
        s,
        "@group(2) @binding(0) var<storage, read_write> c: array<{ty}>;"
    );
    let _ = writeln!(s, "@compute @workgroup_size({FIT_WG})");
    let _ = writeln!(
        s,
        "fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{"
    );
    let _ = writeln!(s, "    let e = (wid.y * p.gx + wid.x) * {FIT_WG}u + lid;");
    let _ = writeln!(s, "    if (e >= {}u) {{ return; }}", p.total);
    let _ = writeln!(s, "    let o = e / {}u;", nk * inner);
    let _ = writeln!(s, "    let r = (e / {inner}u) % {nk}u;");
    let _ = writeln!(s, "    let gi = o * {inner}u + e % {inner}u;");
    let _ = writeln!(s, "    var v = c[e];");
    for (rho, g) in p.ends.iter().flatten() {
        let _ = writeln!(s, "    v = v + fac[{rho}u + r] * ge[{g}u + gi];");
    }
    let _ = writeln!(s, "    c[e] = v;");
    let _ = writeln!(s, "}}");
    s
}
