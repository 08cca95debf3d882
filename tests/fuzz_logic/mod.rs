//! Fuzz target logic, shared by the cargo-fuzz targets in `fuzz/` and by the
//! corpus replay test `tests/fuzz_corpus.rs`.
//!
//! Each target decodes an arbitrary byte string into structured input (a grid,
//! values, evaluation points, serialised splines) and asserts invariants of
//! the result, not only the absence of a panic:
//!
//! * a successful fit has finite coefficients and reproduces its input at the
//!   grid points within a tolerance scaled by the product of the per-axis
//!   condition estimates and the value magnitude; the memory layout of the
//!   input and the reuse of a [`Fitter`] do not change the coefficients;
//! * evaluation never panics, gives NaN for NaN coordinates, and inside the
//!   domain is finite and bounded by the largest coefficient (the B-spline
//!   basis is a partition of unity with non-negative functions there);
//! * the 3D prefilter satisfies `B c = f` against an independent stencil
//!   oracle, agrees between `f32` and `f64`, and the iterative solvers either
//!   converge or report why not ([`grid3`]);
//! * every error names something that exists in the input (axis and index in
//!   range, the reported value is the offending one) and displays a message.
#![allow(dead_code, unused_imports)]

mod grid3_target;
pub use grid3_target::grid3;

use bsfit::bspline::knots::not_a_knot;
use bsfit::{FitError, Fitter, TensorSpline};
use ndarray::{Array, ArrayView, Axis, Dim, Dimension, ShapeBuilder};

/// A cursor over fuzz bytes; reads past the end yield zeros.
pub struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    /// Wraps `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data, pos: 0 }
    }
    /// The next byte (0 once exhausted).
    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    /// The next little-endian u64 (zero-padded).
    pub fn u64(&mut self) -> u64 {
        let mut v = 0u64;
        for k in 0..8 {
            v |= (self.u8() as u64) << (8 * k);
        }
        v
    }
    /// A uniform fraction in [0, 1) with 16 bits.
    pub fn frac(&mut self) -> f64 {
        let v = (self.u8() as u32) | ((self.u8() as u32) << 8);
        v as f64 / 65536.0
    }
    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos.min(self.data.len())..]
    }
    /// Whether all bytes have been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }
}

/// Floating-point values that break careless numerical code.
pub const SPECIALS: [f64; 18] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e308,
    -1e308,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    -f64::MIN_POSITIVE,
    5e-324,
    -5e-324,
    1e-310,
    0.0,
    -0.0,
    1.0,
    -1.0,
    1e300,
    1e-300,
];

/// `m · 10^e` with `m` a small integer and `e ∈ [-300, 300]`.
fn scaled(inp: &mut Input) -> f64 {
    let m = inp.u8() as i8 as f64;
    let e = (inp.u8() as i32 * 601 / 256) - 300;
    m * 10f64.powi(e)
}

/// Decodes `n` sites of one axis. Most modes give valid (strictly
/// increasing, finite) sites; some give deliberately invalid ones.
fn decode_sites(inp: &mut Input, n: usize) -> Vec<f64> {
    let mode = inp.u8() % 8;
    match mode {
        // Non-uniform sites with a step of 2^e, e ∈ [-40, 40].
        0..=3 => {
            let start = inp.u8() as i8 as f64;
            let h = 2f64.powi((inp.u8() % 81) as i32 - 40);
            let mut x = start;
            (0..n)
                .map(|_| {
                    let v = x;
                    x += h * (0.05 + inp.frac());
                    v
                })
                .collect()
        }
        // Nearly coincident sites: relative spacing ~1e-12 (or 1e-15) around 1.
        4 => {
            let rel = if inp.u8() & 1 == 0 { 1e-12 } else { 1e-15 };
            let mut x = 1.0f64;
            (0..n)
                .map(|_| {
                    let v = x;
                    x += rel * (1.0 + inp.frac());
                    v
                })
                .collect()
        }
        // Steps spanning many magnitudes (may overflow the extent).
        5 => {
            let mut x = scaled(inp);
            (0..n)
                .map(|_| {
                    let v = x;
                    x += scaled(inp).abs().max(f64::MIN_POSITIVE);
                    v
                })
                .collect()
        }
        // Raw bit patterns and special values.
        6 => (0..n)
            .map(|_| {
                let s = inp.u8();
                if s < 128 {
                    SPECIALS[s as usize % SPECIALS.len()]
                } else {
                    f64::from_bits(inp.u64())
                }
            })
            .collect(),
        // A uniform axis with one defect.
        _ => {
            let mut x: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let i = inp.u8() as usize % n.max(1);
            if n > 0 {
                match inp.u8() % 4 {
                    0 => x[i] = SPECIALS[inp.u8() as usize % 3],
                    1 if i > 0 => x[i] = x[i - 1],
                    2 if i + 1 < n => x.swap(i, i + 1),
                    _ => x[i] += 0.5 * inp.frac(),
                }
            }
            x
        }
    }
}

/// Decodes `count` values.
fn decode_values(inp: &mut Input, count: usize, allow_non_finite: bool) -> Vec<f64> {
    let mode = inp.u8() % 6;
    let c = scaled(inp);
    (0..count)
        .map(|_| {
            let v = match mode {
                0 => inp.u8() as i8 as f64,
                1 => (inp.u8() as i8 as f64) * c,
                2 => scaled(inp),
                3 => {
                    let s = inp.u8();
                    if s < 64 {
                        SPECIALS[s as usize % SPECIALS.len()]
                    } else {
                        f64::from_bits(inp.u64())
                    }
                }
                4 => c,
                _ => (inp.u8() as i8 as f64) / 16.0 + (inp.u8() as i8 as f64) * 1e-3,
            };
            if allow_non_finite || v.is_finite() {
                v
            } else {
                0.0
            }
        })
        .collect()
}

/// Calls `$f::<D>($args)` for the runtime dimension `$d ∈ 1..=6`.
macro_rules! dispatch {
    ($d:expr, $f:ident ( $($a:expr),* )) => {
        match $d {
            1 => $f::<1>($($a),*),
            2 => $f::<2>($($a),*),
            3 => $f::<3>($($a),*),
            4 => $f::<4>($($a),*),
            5 => $f::<5>($($a),*),
            _ => $f::<6>($($a),*),
        }
    };
}

fn dim_of<const D: usize>(shape: [usize; D]) -> Dim<[usize; D]>
where
    Dim<[usize; D]>: Dimension,
{
    let mut dim = Dim::<[usize; D]>::default();
    dim.slice_mut().copy_from_slice(&shape);
    dim
}

/// Checks that `err`, returned by fitting `values` on `axes`, names an axis,
/// index and value that exist in the input and are really at fault.
pub fn check_fit_error(err: &FitError, axes: &[Vec<f64>], shape: &[usize], values: &[f64]) {
    let d = axes.len();
    assert!(!err.to_string().is_empty(), "empty error message: {err:?}");
    match err {
        FitError::AxisTooShort { axis, len, min } => {
            assert!(
                *axis < d && axes[*axis].len() == *len && *len < *min,
                "{err:?}"
            );
        }
        FitError::NonFiniteSite { axis, index, value } => {
            assert!(*axis < d && *index < axes[*axis].len(), "{err:?}");
            let v = axes[*axis][*index];
            assert!(!v.is_finite() && v.to_bits() == value.to_bits(), "{err:?}");
        }
        FitError::NonIncreasingSites {
            axis,
            index,
            prev,
            value,
        } => {
            assert!(
                *axis < d && *index >= 1 && *index < axes[*axis].len(),
                "{err:?}"
            );
            let a = &axes[*axis];
            assert!(
                a[*index] == *value && a[*index - 1] == *prev && value <= prev,
                "{err:?}"
            );
        }
        FitError::NonFiniteValue { index, value } => {
            assert_eq!(index.len(), d, "{err:?}");
            let mut flat = 0;
            for k in 0..d {
                assert!(index[k] < shape[k], "{err:?}");
                flat = flat * shape[k] + index[k];
            }
            let v = values[flat];
            assert!(!v.is_finite() && v.to_bits() == value.to_bits(), "{err:?}");
        }
        FitError::SingularMatrix { axis, row, .. } => {
            assert!(*axis < d && *row < axes[*axis].len(), "{err:?}");
        }
        FitError::NonFiniteResult { axis, .. } => assert!(*axis < d, "{err:?}"),
        FitError::InvalidParameter { name, reason } => {
            assert!(*name == "axes" && !reason.is_empty(), "{err:?}");
            // Only the extent check reports this, and only for finite increasing sites.
            assert!(
                axes.iter().any(|a| !(a[a.len() - 1] - a[0]).is_finite()),
                "{err:?}"
            );
        }
        other => panic!("unexpected error from a fit: {other:?}"),
    }
}

/// Relative tolerance unit for a residual after `D` banded passes.
fn fit_tolerance(d: usize, conds: &[f64], vmax: f64, cmax: f64) -> f64 {
    let k: f64 = conds.iter().product();
    let unit = 64.0 * (d as f64 + 1.0) * f64::EPSILON;
    // Each pass is backward stable (totally positive, no pivoting needed);
    // the forward error of pass k is amplified by the later passes.
    unit * k * vmax + unit * 4f64.powi(d as i32) * cmax + 1e-300
}

/// Target (a): fit arbitrary values on arbitrary axes in 1–6 dimensions.
pub fn fit_nd(data: &[u8]) {
    let mut inp = Input::new(data);
    let d = 1 + (inp.u8() % 6) as usize;
    let mut shape: Vec<usize> = (0..d)
        .map(|_| {
            let b = inp.u8();
            if b == 255 {
                (inp.u8() % 4) as usize
            } else if d <= 2 {
                4 + (b % 32) as usize
            } else {
                4 + (b % 7) as usize
            }
        })
        .collect();
    // At most 1024 points.
    for k in (0..d).rev() {
        if shape.iter().product::<usize>() <= 1024 {
            break;
        }
        shape[k] = shape[k].min(4);
    }
    let layout = inp.u8() % 3;
    let axes: Vec<Vec<f64>> = shape.iter().map(|&n| decode_sites(&mut inp, n)).collect();
    let total: usize = shape.iter().product();
    let values = decode_values(&mut inp, total, true);
    dispatch!(d, fit_case(&axes, &shape, values, layout));
}

fn fit_case<const D: usize>(axes: &[Vec<f64>], shape: &[usize], values: Vec<f64>, layout: u8)
where
    Dim<[usize; D]>: Dimension,
{
    let shp: [usize; D] = std::array::from_fn(|k| shape[k]);
    let ax: [&[f64]; D] = std::array::from_fn(|k| axes[k].as_slice());
    let dim = dim_of(shp);
    let arr = Array::from_shape_vec(dim, values.clone()).expect("shape");
    // Grids with many points times 4^D terms per evaluation are checked at a
    // sample of grid points (every corner-adjacent stride) to keep runs fast.
    let full = values.len() * 4usize.pow(D as u32) <= 1 << 16;
    let res = if full {
        TensorSpline::<D>::fit_with_report(ax, arr.view()).map(|(s, r)| (s, Some(r)))
    } else {
        Fitter::<D>::new(ax)
            .and_then(|f| f.fit(arr.view()))
            .map(|s| (s, None))
    };
    let (spline, report) = match res {
        Err(e) => {
            check_fit_error(&e, axes, shape, &values);
            // The plan alone reports the same axis error (or none).
            if let Err(pe) = Fitter::<D>::new(ax) {
                // Compared through Debug: the values may be NaN.
                assert_eq!(
                    format!("{pe:?}"),
                    format!("{e:?}"),
                    "Fitter::new and fit disagree"
                );
            }
            return;
        }
        Ok(r) => r,
    };
    let fitter = Fitter::<D>::new(ax).expect("the axes were accepted by fit");
    let condition = fitter.condition_estimates();
    assert!(
        values.iter().all(|v| v.is_finite()),
        "fit accepted a non-finite value"
    );
    let coefs = spline.coefficients_slice();
    assert_eq!(coefs.len(), values.len());
    assert!(
        coefs.iter().all(|c| c.is_finite()),
        "non-finite coefficient from a successful fit"
    );
    assert_eq!(spline.shape(), shp);
    for k in 0..D {
        assert_eq!(spline.domain()[k], (axes[k][0], axes[k][shape[k] - 1]));
    }
    assert!(condition.iter().all(|c| *c >= 1.0 - 1e-12), "{condition:?}");
    // Residual at the grid points, computed here point by point.
    let vmax = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let cmax = coefs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let tol = fit_tolerance(D, &condition, vmax, cmax);
    let step = if full { 1 } else { values.len() / 61 };
    for flat in (0..values.len())
        .step_by(step.max(1))
        .chain([values.len() - 1])
    {
        let v = values[flat];
        let mut rem = flat;
        let mut x = [0.0; D];
        for k in (0..D).rev() {
            x[k] = axes[k][rem % shp[k]];
            rem /= shp[k];
        }
        let s = spline.eval(x);
        assert!(
            (s - v).abs() <= tol,
            "residual {} at {x:?} (value {v}, spline {s}) exceeds {tol:e}; condition {condition:?}",
            (s - v).abs(),
        );
    }
    if let Some(report) = report {
        assert!(report.max_abs_residual <= tol, "{report:?} tol {tol:e}");
        assert_eq!(report.condition, condition);
    }

    // The same grid through a reused plan, flat buffers, and other layouts.
    let again = fitter.fit(arr.view()).expect("refit");
    let again2 = fitter.fit(arr.view()).expect("refit");
    assert_eq!(again.coefficients_slice(), coefs);
    assert_eq!(again2.coefficients_slice(), coefs);
    let mut out = vec![f64::NAN; values.len()];
    fitter.fit_into(&values, &mut out).expect("fit_into");
    assert_eq!(out, coefs);
    match layout {
        // Column-major copy (non-contiguous for row-major iteration).
        1 => {
            let mut f = Array::<f64, _>::zeros(dim.f());
            f.assign(&arr);
            let s = fitter.fit(f.view()).expect("column-major fit");
            assert_eq!(s.coefficients_slice(), coefs);
        }
        // Negative stride along axis 0.
        2 => {
            let mut rev = arr.clone();
            rev.invert_axis(Axis(0));
            let rev = rev.as_standard_layout().into_owned();
            let mut v: ArrayView<'_, f64, Dim<[usize; D]>> = rev.view();
            v.invert_axis(Axis(0));
            let s = fitter.fit(v).expect("negative-stride fit");
            assert_eq!(s.coefficients_slice(), coefs);
        }
        _ => {}
    }
}

/// Decodes one coordinate for evaluation, relative to the domain `[lo, hi]`
/// and knot vector `t`.
fn decode_coord(inp: &mut Input, lo: f64, hi: f64, t: &[f64]) -> f64 {
    match inp.u8() % 8 {
        0 => f64::from_bits(inp.u64()),
        1 => SPECIALS[inp.u8() as usize % SPECIALS.len()],
        2 | 3 => lo + inp.frac() * (hi - lo),
        4 => t[inp.u8() as usize % t.len()],
        5 => {
            let e = if inp.u8() & 1 == 0 { lo } else { hi };
            if inp.u8() & 1 == 0 {
                next_up(e)
            } else {
                next_down(e)
            }
        }
        6 => {
            let k = 2f64.powi((inp.u8() % 64) as i32);
            if inp.u8() & 1 == 0 {
                lo - k * (hi - lo)
            } else {
                hi + k * (hi - lo)
            }
        }
        _ => hi,
    }
}

/// Target (b): evaluation, derivatives and gradients at arbitrary points.
pub fn eval_points(data: &[u8]) {
    let mut inp = Input::new(data);
    let d = 1 + (inp.u8() % 4) as usize;
    eval_dispatch(d, &mut inp);
}

fn eval_dispatch(d: usize, inp: &mut Input) {
    dispatch!(d, eval_case(inp));
}

fn eval_case<const D: usize>(inp: &mut Input)
where
    Dim<[usize; D]>: Dimension,
{
    let mut knots: Vec<Vec<f64>> = Vec::with_capacity(D);
    let mut shape = [0usize; D];
    for k in 0..D {
        let n = 4 + (inp.u8() % 6) as usize;
        let mut x = decode_sites(inp, n);
        if bsfit::bspline::knots::validate_sites(k, &x).is_err() {
            x = (0..n).map(|i| i as f64).collect();
        }
        shape[k] = n;
        knots.push(not_a_knot(&x));
    }
    let total: usize = shape.iter().product();
    let coefs = decode_values(inp, total, false);
    let kn: [Vec<f64>; D] = std::array::from_fn(|k| knots[k].clone());
    let spline = match TensorSpline::<D>::from_parts(kn, coefs.clone()) {
        Ok(s) => s,
        Err(e) => {
            // Valid sites give valid knot vectors unless spacing is too fine to carry.
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let cmax = coefs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let domain = spline.domain();
    // Smallest non-empty knot interval per axis (bounds derivative growth).
    let hmin: [f64; D] = std::array::from_fn(|k| {
        knots[k]
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|&h| h > 0.0)
            .fold(f64::INFINITY, f64::min)
    });
    let npts = 1 + (inp.u8() % 24) as usize;
    let mut points = Vec::with_capacity(npts);
    for _ in 0..npts {
        let p: [f64; D] =
            std::array::from_fn(|k| decode_coord(inp, domain[k].0, domain[k].1, &knots[k]));
        points.push(p);
    }
    let orders: [usize; D] = std::array::from_fn(|_| (inp.u8() % 5) as usize);
    let many = spline.eval_many(&points);
    let mut into = vec![0.0; npts];
    spline
        .eval_many_into(&points, &mut into)
        .expect("same length");
    assert!(spline.eval_many_into(&points, &mut into[1..]).is_err());
    let dmany = spline.eval_deriv_many(&points, orders);
    for (i, p) in points.iter().enumerate() {
        let v = spline.eval(*p);
        let d0 = spline.eval_deriv(*p, [0; D]);
        let dv = spline.eval_deriv(*p, orders);
        let g = spline.eval_grad(*p);
        assert!(same(v, many[i]) && same(v, into[i]) && same(v, d0), "{p:?}");
        assert!(same(dv, dmany[i]), "{p:?}");
        if orders.iter().any(|&o| o > 3) {
            assert_eq!(dv, 0.0);
        }
        let any_nan = p.iter().any(|c| c.is_nan());
        if any_nan {
            assert!(v.is_nan(), "NaN coordinate gave {v} at {p:?}");
        }
        let inside = p
            .iter()
            .zip(&domain)
            .all(|(&c, &(lo, hi))| c >= lo && c <= hi);
        // Within a rounding of f64::MAX the weighted sums may overflow.
        if inside && cmax <= 1e307 {
            // Convex-hull property: non-negative weights summing to 1.
            assert!(
                v.is_finite(),
                "non-finite value {v} inside the domain at {p:?}; knots {knots:?}, max |c| {cmax}"
            );
            assert!(
                v.abs() <= cmax * (1.0 + 1e-12),
                "|s(x)| = {} exceeds max |c| = {cmax} at {p:?}",
                v.abs()
            );
            // The derivative coefficients of order m along an axis are bounded
            // by 6, 24, 48 · max|c| / h_min^m (differences over knot spans of
            // at least h_min); 12^m covers all three, with rounding slack.
            let factor = |k: usize| (12.0 / hmin[k]).powi(orders[k].min(3) as i32);
            let bound = (0..D).fold(cmax * (1.0 + 1e-9), |b, k| b * factor(k));
            // Finite wherever the bound is (the evaluation falls back to
            // exponent tracking when a partial product overflows).
            if bound < 1e300 {
                assert!(
                    dv.is_finite() && dv.abs() <= bound,
                    "derivative {orders:?} = {dv} > {bound} at {p:?}; knots {knots:?}, max |c| {cmax}"
                );
            }
            for k in 0..D {
                let mut o = [0; D];
                o[k] = 1;
                let gk = spline.eval_deriv(*p, o);
                let b1 = cmax * 12.0 / hmin[k];
                if b1 < 1e300 {
                    assert!(g[k].is_finite() && gk.is_finite(), "{p:?}");
                    // Same partial by two paths (basis vs. basis_derivs rows).
                    assert!(
                        (g[k] - gk).abs() <= 1e-10 * b1,
                        "grad {} vs deriv {gk} at {p:?}",
                        g[k]
                    );
                }
            }
        }
    }
}

/// Equal bit for bit, or both NaN.
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Checks the invariants a loaded spline must satisfy, independently of the
/// validation code: clamped finite knots with strictly increasing interior
/// knots, a coefficient count equal to the product of the axis sizes, finite
/// coefficients.
#[cfg(feature = "serde")]
fn check_loaded<const D: usize>(s: &TensorSpline<D>)
where
    Dim<[usize; D]>: Dimension,
{
    let mut total = 1usize;
    for k in 0..D {
        let t = s.knots(k);
        let n = t.len() - 4;
        assert!(n >= 4 && n == s.shape()[k]);
        assert!(t.iter().all(|v| v.is_finite()));
        assert!(t[..4].iter().all(|&v| v == t[0]) && t[n..].iter().all(|&v| v == t[n]));
        assert!(t[3..=n].windows(2).all(|w| w[1] > w[0]));
        total *= n;
    }
    let c = s.coefficients_slice();
    assert_eq!(c.len(), total);
    assert!(
        c.iter().all(|v| v.is_finite()),
        "non-finite coefficient loaded"
    );
    // In-domain evaluation at the centre is finite for coefficients that cannot overflow.
    let cmax = c.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mid: [f64; D] = std::array::from_fn(|k| {
        let (lo, hi) = s.domain()[k];
        lo + 0.5 * (hi - lo)
    });
    let v = s.eval(mid);
    if cmax < 1e307 {
        assert!(
            v.is_finite() && v.abs() <= cmax * (1.0 + 1e-12),
            "{v} at {mid:?}"
        );
    }
}

/// Target (c): deserialise arbitrary bytes (or structured, mostly invalid
/// spline data) as a fitted spline.
#[cfg(feature = "serde")]
pub fn deserialize(data: &[u8]) {
    let mut inp = Input::new(data);
    let head = inp.u8();
    let d = 1 + (head % 3) as usize;
    if head & 0x80 == 0 {
        let rest = inp.rest();
        dispatch!(d, deser_case(rest));
    } else {
        // Structured: knot vectors and coefficients from bytes, through JSON.
        let knots: Vec<Vec<f64>> = (0..1 + (inp.u8() % 4) as usize)
            .map(|_| {
                let len = (inp.u8() % 14) as usize;
                let mut t = if inp.u8() & 1 == 0 {
                    let n = len.max(4);
                    let x: Vec<f64> = decode_sites(&mut inp, n);
                    if x.windows(2).all(|w| w[0] < w[1]) && x.len() >= 4 {
                        not_a_knot(&x)
                    } else {
                        x
                    }
                } else {
                    decode_values(&mut inp, len, true)
                };
                if inp.u8().is_multiple_of(8) && !t.is_empty() {
                    let i = inp.u8() as usize % t.len();
                    t[i] = SPECIALS[inp.u8() as usize % SPECIALS.len()];
                }
                t
            })
            .collect();
        let count = if inp.u8() & 1 == 0 {
            knots
                .iter()
                .map(|t| t.len().saturating_sub(4))
                .product::<usize>()
        } else {
            (inp.u8() % 64) as usize
        }
        .min(4096);
        let coefs = decode_values(&mut inp, count, false);
        // JSON has no NaN/Inf; serde_json writes them as null, which must be rejected.
        let json = serde_json::json!({ "knots": knots, "coefficients": coefs });
        let bytes = serde_json::to_vec(&json).expect("json");
        dispatch!(d, deser_case(&bytes));
    }
}

#[cfg(feature = "serde")]
fn deser_case<const D: usize>(bytes: &[u8])
where
    Dim<[usize; D]>: Dimension,
{
    match serde_json::from_slice::<TensorSpline<D>>(bytes) {
        Ok(s) => {
            check_loaded(&s);
            let text = serde_json::to_string(&s).expect("serialise");
            let back: TensorSpline<D> = serde_json::from_str(&text).expect("round trip");
            assert_eq!(back, s);
            let kn: [Vec<f64>; D] = std::array::from_fn(|k| s.knots(k).to_vec());
            let again = TensorSpline::<D>::from_parts(kn, s.coefficients_slice().to_vec())
                .expect("from_parts accepts what deserialisation accepted");
            assert_eq!(again, s);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// The next representable number above `x` (`f64::next_up`, which needs Rust 1.86).
fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        x
    } else if x == 0.0 {
        f64::from_bits(1)
    } else if x > 0.0 {
        f64::from_bits(x.to_bits() + 1)
    } else {
        f64::from_bits(x.to_bits() - 1)
    }
}

/// The next representable number below `x`.
fn next_down(x: f64) -> f64 {
    -next_up(-x)
}
