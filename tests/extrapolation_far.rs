//! Polynomial extrapolation far outside the domain. The splines here are
//! built from exact parts: dyadic knots and the B-spline coefficients of a
//! cubic polynomial by Marsden's identity (the blossom of the polynomial at
//! the three knots `t_{i+1}, t_{i+2}, t_{i+3}`), all exactly representable,
//! so each spline *is* the polynomial and the oracle is the polynomial
//! itself: values and derivatives to 1e-12 relative however far outside the
//! domain, up to where the polynomial overflows `f64` — there `±inf`, never
//! NaN. Each polynomial is one of `u = (x − x0)/w` with the knots `u_j` on
//! `[0, 4]`, so that the B-spline form is well conditioned on every domain
//! (the relative error of any evaluation of a B-spline form is at most a few
//! ulps times `Σ|c_r B_r(x)| / |Σ c_r B_r(x)|`, which far outside tends to
//! the constant `Σ|c_r a_r| / |Σ c_r a_r|` of the boundary piece's leading
//! coefficients `a_r`: bounded, however far out).

use bsfit::{Isa, TensorSpline};

/// `p(x) = 2 + 3x − 3x² + x³` and its derivatives.
fn p(x: f64) -> f64 {
    2.0 + 3.0 * x - 3.0 * x * x + x * x * x
}
fn dp(x: f64) -> f64 {
    3.0 - 6.0 * x + 3.0 * x * x
}
fn d2p(x: f64) -> f64 {
    -6.0 + 6.0 * x
}
/// `p(x) / 2^66`, finite wherever `p(x)·2^-66` is: with `x' = x/2^22`,
/// `x'³ − 3x'²·2^-22 + 3x'·2^-44 + 2·2^-66`.
fn p_scaled(x: f64) -> f64 {
    let u = x / 4194304.0;
    let e = 1.0 / 4194304.0;
    u * u * u - 3.0 * u * u * e + 3.0 * u * e * e + 2.0 * e * e * e
}

/// `v · 2^k` for `k ≥ 0` (overflowing to `±inf`).
fn scale(v: f64, k: i32) -> f64 {
    (0..k).fold(v, |a, _| a * 2.0)
}

/// `q(y) = 1 − 3y + y³`.
fn q(y: f64) -> f64 {
    1.0 - 3.0 * y + y * y * y
}
fn dq(y: f64) -> f64 {
    -3.0 + 3.0 * y * y
}

/// Clamped knot vector with the given interior breakpoints (dyadic).
fn knots(lo: f64, inner: &[f64], hi: f64) -> Vec<f64> {
    let mut t = vec![lo; 4];
    t.extend_from_slice(inner);
    t.extend_from_slice(&[hi; 4]);
    t
}

/// The knot vector `x0 + w·u` of a knot vector `u` (dyadic `x0`, `w`: exact).
fn mapped(u: &[f64], x0: f64, w: f64) -> Vec<f64> {
    u.iter().map(|&v| x0 + w * v).collect()
}

/// B-spline coefficients of `a0 + a1 x + a2 x² + a3 x³` with `a1`, `a2`
/// multiples of 3 (exact for dyadic knots with few bits): by Marsden's
/// identity `c_i = a0 + a1 σ1/3 + a2 σ2/3 + a3 σ3` over `t_{i+1..=i+3}`.
fn coefs(t: &[f64], a: [f64; 4]) -> Vec<f64> {
    (0..t.len() - 4)
        .map(|i| {
            let (u, v, w) = (t[i + 1], t[i + 2], t[i + 3]);
            let s1 = u + v + w;
            let s2 = u * v + u * w + v * w;
            let s3 = u * v * w;
            a[0] + a[1] / 3.0 * s1 + a[2] / 3.0 * s2 + a[3] * s3
        })
        .collect()
}

const P: [f64; 4] = [2.0, 3.0, -3.0, 1.0];
const Q: [f64; 4] = [1.0, -3.0, 0.0, 1.0];

/// Tensor product of per-axis coefficient vectors (row-major).
fn outer(parts: &[Vec<f64>]) -> Vec<f64> {
    parts.iter().fold(vec![1.0], |acc, c| {
        acc.iter()
            .flat_map(|a| c.iter().map(move |b| a * b))
            .collect()
    })
}

fn close(got: f64, want: f64, tol: f64) -> bool {
    if want.is_infinite() {
        return got == want;
    }
    (got - want).abs() <= tol * want.abs().max(f64::MIN_POSITIVE)
}

/// Distances from 1e2 to beyond the overflow of x³, on both sides.
fn far_points() -> Vec<f64> {
    let mut v = Vec::new();
    for e in [2, 5, 10, 16, 17, 30, 60, 100, 102] {
        for m in [1.0, 3.7, 5.5, 6.0] {
            let x = m * 10f64.powi(e);
            v.push(x);
            v.push(-x);
        }
    }
    v
}

#[test]
fn one_axis_cubic_to_overflow() {
    let u = knots(0.0, &[0.5, 1.25, 2.0, 3.5], 4.0);
    let c = coefs(&u, P);
    // Domains from tiny to shifted far from 0: the weights of the boundary
    // piece overflow long before the polynomial does.
    for (x0, w) in [
        (0.0, 1.0),
        (-0.0078125, 0.00390625),
        (1024.0, 0.125),
        (-3.0, 64.0),
    ] {
        let t = mapped(&u, x0, w);
        for isa in Isa::available() {
            let s = TensorSpline::from_parts([t.clone()], c.clone())
                .unwrap()
                .with_isa(isa)
                .unwrap();
            for &uf in &far_points() {
                let xf = x0 + w * uf;
                // Values in u; derivatives in x carry 1/w per order.
                let (want, dwant, d2want) = (p(uf), dp(uf) / w, d2p(uf) / (w * w));
                let got = s.eval([xf]);
                assert!(!got.is_nan(), "{isa:?} ({x0}, {w}) x = {xf}: NaN");
                assert!(
                    close(got, want, 1e-12),
                    "{isa:?} ({x0}, {w}) x = {xf}: {got} vs {want}"
                );
                let d = s.eval_deriv([xf], [1]);
                assert!(close(d, dwant, 1e-12), "{isa:?} x = {xf}: d {d} vs {dwant}");
                let d2 = s.eval_deriv([xf], [2]);
                assert!(
                    close(d2, d2want, 1e-12),
                    "{isa:?} x = {xf}: d2 {d2} vs {d2want}"
                );
                let d3 = s.eval_deriv([xf], [3]);
                assert!(
                    close(d3, 6.0 / (w * w * w), 1e-9),
                    "{isa:?} x = {xf}: d3 {d3}"
                );
                let g = s.eval_grad([xf])[0];
                assert!(close(g, dwant, 1e-12), "{isa:?} x = {xf}: grad {g}");
                let h = s.eval_hessian([xf])[0][0];
                assert!(close(h, d2want, 1e-12), "{isa:?} x = {xf}: hess {h}");
                let m = s.eval_many(&[[xf]])[0];
                assert!(close(m, want, 1e-12), "{isa:?} x = {xf}: many {m}");
            }
        }
    }
}

#[test]
fn two_axes_outside_together() {
    let tx = knots(0.0, &[0.5, 1.25, 2.0, 3.5], 4.0);
    let ty = knots(0.0, &[1.0, 1.5, 2.5], 4.0);
    let c = outer(&[coefs(&tx, P), coefs(&ty, Q)]);
    for isa in Isa::available() {
        let s = TensorSpline::from_parts([tx.clone(), ty.clone()], c.clone())
            .unwrap()
            .with_isa(isa)
            .unwrap();
        for &a in &far_points() {
            for b in [0.7, -3e5, 2e40, -1e80] {
                // p(a)·q(b) without the intermediate overflow of p(a).
                let want = scale(p_scaled(a) * q(b), 66);
                let got = s.eval([a, b]);
                assert!(!got.is_nan(), "{isa:?} ({a}, {b})");
                assert!(
                    close(got, want, 1e-12),
                    "{isa:?} ({a}, {b}): {got} vs {want}"
                );
                let g = s.eval_grad([a, b]);
                if want.is_infinite() {
                    continue;
                }
                assert!(close(g[0], dp(a) * q(b), 1e-12), "{isa:?} ({a}, {b})");
                assert!(close(g[1], p(a) * dq(b), 1e-12), "{isa:?} ({a}, {b})");
                let mixed = s.eval_deriv([a, b], [1, 1]);
                assert!(close(mixed, dp(a) * dq(b), 1e-12), "{isa:?} ({a}, {b})");
            }
        }
    }
}

#[test]
fn four_axes_far_outside() {
    let t: [Vec<f64>; 4] = [
        knots(0.0, &[1.0, 2.0], 4.0),
        knots(-2.0, &[-1.0, 0.5, 1.0], 2.0),
        knots(0.0, &[1.5, 2.5], 4.0),
        knots(0.0, &[1.0, 2.5, 3.0], 4.0),
    ];
    // Cubic on every axis: along an axis where the boundary piece has a
    // lower degree, the rounding of its vanishing leading coefficient grows
    // like |x|^(3 − degree) in any evaluation from the coefficients.
    let c = outer(&[
        coefs(&t[0], P),
        coefs(&t[1], Q),
        coefs(&t[2], P),
        coefs(&t[3], Q),
    ]);
    let f = |x: [f64; 4]| p(x[0]) * q(x[1]) * p(x[2]) * q(x[3]);
    for isa in Isa::available() {
        let s = TensorSpline::from_parts(t.clone(), c.clone())
            .unwrap()
            .with_isa(isa)
            .unwrap();
        for pt in [
            [1e20, 0.3, 10.2, 1.0],
            [-1e30, 1e20, -1e15, 3e10],
            [0.5, -1e60, 1e40, -1e50],
            [3e60, 2e50, 1e40, 1e40],
        ] {
            let want = f(pt);
            let got = s.eval(pt);
            assert!(!got.is_nan(), "{isa:?} {pt:?}");
            assert!(close(got, want, 1e-12), "{isa:?} {pt:?}: {got} vs {want}");
        }
    }
}

#[test]
fn grid_evaluation_far_outside() {
    let tx = knots(0.0, &[0.5, 1.25, 2.0, 3.5], 4.0);
    let ty = knots(0.0, &[1.0, 1.5, 2.5], 4.0);
    let c = outer(&[coefs(&tx, P), coefs(&ty, Q)]);
    let xs = far_points();
    let ys = [0.7, -3e5, 2e40, -1e80, f64::NAN];
    for isa in Isa::available() {
        let s = TensorSpline::from_parts([tx.clone(), ty.clone()], c.clone())
            .unwrap()
            .with_isa(isa)
            .unwrap();
        for orders in [[0, 0], [1, 0], [1, 1], [3, 2], [0, 3]] {
            let g = s.eval_grid_deriv([&xs[..], &ys[..]], orders).unwrap();
            for (i, &a) in xs.iter().enumerate() {
                for (j, &b) in ys.iter().enumerate() {
                    let got = g[[i, j]];
                    if b.is_nan() {
                        assert!(got.is_nan(), "{isa:?} {orders:?} ({a}, NaN): {got}");
                        continue;
                    }
                    let want = s.eval_deriv([a, b], orders);
                    assert!(!got.is_nan(), "{isa:?} {orders:?} ({a}, {b})");
                    // Two evaluations of the same far-out derivative, each
                    // with its own rounding of derivative weights.
                    let tol = if orders == [0, 0] { 1e-12 } else { 1e-11 };
                    assert!(
                        close(got, want, tol),
                        "{isa:?} {orders:?} ({a}, {b}): {got} vs {want}"
                    );
                }
            }
        }
    }
}
