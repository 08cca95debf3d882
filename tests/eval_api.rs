//! The evaluation API around the per-point evaluator: view-based batch calls
//! (any layout), the extrapolation policies, checked evaluation and grid
//! evaluation. Oracles: the per-point `eval`/`eval_deriv` of a spline with
//! the default policy, and tensor-product cubics the spline reproduces.

use crate::common;

use bsfit::bspline::knots::not_a_knot;
use bsfit::{DynSpline, Extrapolate, FitError, TensorSpline};
use common::{Rng, TensorPoly, random_sites};
use ndarray::{Array, Array1, Array2, ArrayView2, Dim, Dimension, ShapeBuilder, s};

const POLICIES: [Extrapolate; 3] = [
    Extrapolate::Polynomial,
    Extrapolate::Clamp,
    Extrapolate::Nan,
];

/// A spline with random coefficients on random non-uniform axes (axis 0
/// uniform, so both span searches run).
fn random_spline<const D: usize>(rng: &mut Rng, n: usize) -> TensorSpline<D> {
    let knots: [Vec<f64>; D] = std::array::from_fn(|k| {
        let x: Vec<f64> = if k == 0 {
            (0..n).map(|i| -1.0 + 0.5 * i as f64).collect()
        } else {
            random_sites(rng, n + k % 2, 0.3 * k as f64, 1.0 / (k as f64 + 1.0))
        };
        not_a_knot(&x)
    });
    let len: usize = knots.iter().map(|t| t.len() - 4).product();
    let coefs = rng.uniform_vec(len, -1.0, 1.0);
    TensorSpline::from_parts(knots, coefs).expect("valid parts")
}

/// `n` random points over the domain widened by 25% on each side.
fn random_points<const D: usize>(rng: &mut Rng, s: &TensorSpline<D>, n: usize) -> Vec<[f64; D]> {
    let dom = s.domain();
    (0..n)
        .map(|_| {
            std::array::from_fn(|k| {
                let (lo, hi) = dom[k];
                let w = hi - lo;
                rng.uniform(lo - 0.25 * w, hi + 0.25 * w)
            })
        })
        .collect()
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Every layout of the same `(n, D)` points: C order, F order, a strided
/// view, and a view with negative row stride (its rows reversed).
fn layouts<const D: usize>(pts: &[[f64; D]]) -> (Array2<f64>, Array2<f64>, Array2<f64>) {
    let n = pts.len();
    let c = Array2::from_shape_fn((n, D), |(i, k)| pts[i][k]);
    let f = Array2::from_shape_fn((n, D).f(), |(i, k)| pts[i][k]);
    let mut big = Array2::from_elem((2 * n, 3 * D), f64::NAN);
    big.slice_mut(s![..;2, ..;3]).assign(&c);
    (c, f, big)
}

fn check_views<const D: usize>(seed: u64) {
    let mut rng = Rng::new(seed);
    let base = random_spline::<D>(&mut rng, 6);
    for policy in POLICIES {
        let sp = base.clone().with_extrapolate(policy);
        for n in [0usize, 1, 7, 513, 1500] {
            let pts = random_points(&mut rng, &sp, n);
            let want: Vec<f64> = pts.iter().map(|p| sp.eval(*p)).collect();
            let mut ord = [0usize; D];
            ord[D - 1] = 1;
            ord[0] += 1;
            let want_d: Vec<f64> = pts.iter().map(|p| sp.eval_deriv(*p, ord)).collect();
            let want_g: Vec<[f64; D]> = pts.iter().map(|p| sp.eval_grad(*p)).collect();
            let (c, f, big) = layouts(&pts);
            let strided = big.slice(s![..;2, ..;3]);
            let views: [(&str, ArrayView2<f64>); 3] =
                [("C", c.view()), ("F", f.view()), ("strided", strided)];
            for (name, v) in views {
                // Contiguous output.
                let mut out = Array1::from_elem(n, f64::NAN);
                sp.eval_into(v, out.view_mut()).expect("shapes");
                for i in 0..n {
                    assert!(same(out[i], want[i]), "D={D} {policy:?} {name} n={n} i={i}");
                }
                // Strided output with negative stride.
                let mut big_out = Array1::from_elem(2 * n, f64::NAN);
                let rev = big_out.slice_mut(s![..;-2]);
                sp.eval_deriv_into(v, ord, rev).expect("shapes");
                for i in 0..n {
                    let got = big_out[2 * n - 1 - 2 * i];
                    assert!(same(got, want_d[i]), "D={D} {policy:?} {name} deriv i={i}");
                }
                for i in 0..n {
                    assert!(big_out[2 * n - 2 - 2 * i].is_nan(), "wrote between strides");
                }
                // Gradient into an F-order (n, D) array.
                let mut g = Array2::from_elem((n, D).f(), f64::NAN);
                sp.eval_grad_into(v, g.view_mut()).expect("shapes");
                for i in 0..n {
                    for k in 0..D {
                        assert!(same(g[[i, k]], want_g[i][k]), "D={D} {name} grad");
                    }
                }
            }
            // Rows reversed (negative row stride).
            let rev = c.slice(s![..;-1, ..]);
            let mut out = Array1::from_elem(n, f64::NAN);
            sp.eval_into(rev, out.view_mut()).expect("shapes");
            for i in 0..n {
                assert!(same(out[i], want[n - 1 - i]), "D={D} reversed rows");
            }
        }
    }
}

#[test]
fn views_match_eval_in_every_layout() {
    check_views::<1>(1);
    check_views::<2>(2);
    check_views::<3>(3);
    check_views::<4>(4);
    check_views::<5>(5);
    check_views::<6>(6);
}

#[test]
fn view_shape_errors() {
    let mut rng = Rng::new(7);
    let sp = random_spline::<3>(&mut rng, 5);
    let p = Array2::<f64>::zeros((4, 2));
    let mut out = Array1::<f64>::zeros(4);
    assert_eq!(
        sp.eval_into(p.view(), out.view_mut()),
        Err(FitError::DimensionMismatch {
            expected: 3,
            got: 2
        })
    );
    let p = Array2::<f64>::zeros((4, 3));
    let mut short = Array1::<f64>::zeros(3);
    let e = sp.eval_into(p.view(), short.view_mut()).unwrap_err();
    assert!(
        matches!(e, FitError::InvalidParameter { name: "out", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("length 3 for 4 points"), "{e}");
    let e = sp
        .eval_deriv_into(p.view(), [1, 0, 0], short.view_mut())
        .unwrap_err();
    assert!(matches!(e, FitError::InvalidParameter { name: "out", .. }));
    let mut g = Array2::<f64>::zeros((4, 2));
    let e = sp.eval_grad_into(p.view(), g.view_mut()).unwrap_err();
    assert!(matches!(e, FitError::InvalidParameter { name: "out", .. }));
    let mut g = Array2::<f64>::zeros((5, 3));
    assert!(sp.eval_grad_into(p.view(), g.view_mut()).is_err());
    // Grid: wrong output length, overflowing grid.
    let c = [0.5, 1.0];
    let mut o = vec![0.0; 7];
    let e = sp
        .eval_grid_into([&c[..], &c[..], &c[..]], &mut o)
        .unwrap_err();
    assert!(matches!(e, FitError::InvalidParameter { name: "out", .. }));
    assert!(
        e.to_string()
            .contains("length 7 for a grid of shape [2, 2, 2]"),
        "{e}"
    );
    // 2^60 points (more bytes than an allocation may have), and 2^80.
    let big = vec![0.5; 1 << 20];
    let e = sp.eval_grid([&big[..], &big[..], &big[..]]).unwrap_err();
    assert!(
        matches!(e, FitError::InvalidParameter { name: "coords", .. }),
        "{e}"
    );
    let sp4 = random_spline::<4>(&mut rng, 5);
    let e = sp4
        .eval_grid([&big[..], &big[..], &big[..], &big[..]])
        .unwrap_err();
    assert!(
        matches!(e, FitError::InvalidParameter { name: "coords", .. }),
        "{e}"
    );
    let e = sp4
        .eval_grid_into([&big[..], &big[..], &big[..], &big[..]], &mut o)
        .unwrap_err();
    assert!(
        matches!(e, FitError::InvalidParameter { name: "coords", .. }),
        "{e}"
    );
}

/// Fits a random tensor cubic with `terms` terms on random axes.
fn fit_poly<const D: usize>(rng: &mut Rng, n: usize) -> (TensorSpline<D>, TensorPoly<D>)
where
    Dim<[usize; D]>: Dimension,
{
    let axes: [Vec<f64>; D] =
        std::array::from_fn(|k| random_sites(rng, n + k, -0.7 + 0.1 * k as f64, 0.4));
    let poly = TensorPoly::<D>::random(rng, 2);
    let mut dim = Dim::<[usize; D]>::default();
    for k in 0..D {
        dim[k] = axes[k].len();
    }
    let shape: [usize; D] = std::array::from_fn(|k| axes[k].len());
    let total: usize = shape.iter().product();
    let values: Vec<f64> = (0..total)
        .map(|f| {
            let idx = unflatten(f, shape);
            poly.deriv(std::array::from_fn(|k| axes[k][idx[k]]), [0; D])
        })
        .collect();
    let values = Array::from_shape_vec(dim, values).expect("shape");
    let refs: [&[f64]; D] = std::array::from_fn(|k| &axes[k][..]);
    let sp = TensorSpline::fit(refs, values.view()).expect("fit");
    (sp, poly)
}

/// Row-major multi-index of `flat` in `shape`.
fn unflatten<const D: usize>(mut flat: usize, shape: [usize; D]) -> [usize; D] {
    let mut idx = [0; D];
    for k in (0..D).rev() {
        idx[k] = flat % shape[k];
        flat /= shape[k];
    }
    idx
}

fn check_policies<const D: usize>(seed: u64)
where
    Dim<[usize; D]>: Dimension,
{
    let mut rng = Rng::new(seed);
    let (poly_s, poly) = fit_poly::<D>(&mut rng, 6);
    let dom = poly_s.domain();
    let mid: [f64; D] = std::array::from_fn(|k| 0.5 * (dom[k].0 + dom[k].1));
    // Fit rounding, amplified by each derivative order (as in
    // `fit_reproduction`).
    let tol = |x: [f64; D], o: [usize; D]| {
        let sc = poly.abs_scale(x, o).max(poly.abs_scale(x, [0; D]));
        1e-11 * sc * 30f64.powi(o.iter().sum::<usize>() as i32)
    };
    let clamp_s = poly_s.clone().with_extrapolate(Extrapolate::Clamp);
    let nan_s = poly_s.clone().with_extrapolate(Extrapolate::Nan);
    assert_eq!(poly_s.extrapolate(), Extrapolate::Polynomial);
    assert_eq!(clamp_s.extrapolate(), Extrapolate::Clamp);
    let mut outside = Vec::new();
    for axis in 0..D {
        let (lo, hi) = dom[axis];
        for x in [lo - 0.3, hi + 0.45, lo, hi, f64::NAN] {
            let mut p = mid;
            p[axis] = x;
            outside.push((axis, p));
        }
    }
    let orders_list: [[usize; D]; 3] = [[0; D], [1; D], std::array::from_fn(|k| (k + 2) % 4)];
    for &(axis, p) in &outside {
        let x = p[axis];
        let inside = x >= dom[axis].0 && x <= dom[axis].1;
        let mut pc = p;
        pc[axis] = x.clamp(dom[axis].0, dom[axis].1);
        for o in orders_list {
            // Polynomial: the boundary piece continues, i.e. the cubic itself.
            let got = poly_s.eval_deriv(p, o);
            if x.is_nan() {
                assert!(got.is_nan() || o.iter().any(|&v| v > 3));
            } else {
                let want = poly.deriv(p, o);
                assert!(
                    (got - want).abs() <= tol(p, o),
                    "D={D} axis {axis} x={x} {o:?}: {got} vs {want}"
                );
            }
            // Clamp: the spline at the projected point.
            let got = clamp_s.eval_deriv(p, o);
            let want = poly_s.eval_deriv(pc, o);
            assert!(same(got, want), "D={D} clamp axis {axis} x={x} {o:?}");
            if !x.is_nan() {
                assert!((got - poly.deriv(pc, o)).abs() <= tol(pc, o));
            }
            // Nan: NaN outside, unchanged inside.
            let got = nan_s.eval_deriv(p, o);
            if inside {
                assert!(same(got, poly_s.eval_deriv(p, o)));
            } else {
                assert!(got.is_nan(), "D={D} nan axis {axis} x={x} {o:?}: {got}");
            }
        }
        // Values, gradients, Hessians, batch calls.
        assert!(same(clamp_s.eval(p), poly_s.eval(pc)));
        let (g, gc) = (clamp_s.eval_grad(p), poly_s.eval_grad(pc));
        let (h, hc) = (clamp_s.eval_hessian(p), poly_s.eval_hessian(pc));
        for i in 0..D {
            assert!(same(g[i], gc[i]));
            for j in 0..D {
                assert!(same(h[i][j], hc[i][j]));
            }
        }
        if !inside {
            assert!(nan_s.eval(p).is_nan());
            assert!(nan_s.eval_grad(p).iter().all(|v| v.is_nan()));
            assert!(nan_s.eval_hessian(p).iter().flatten().all(|v| v.is_nan()));
            assert!(nan_s.eval_many(&[p, mid])[0].is_nan());
            assert!(nan_s.eval_deriv_many(&[p], [5; D])[0].is_nan());
        } else {
            assert!(same(nan_s.eval(p), poly_s.eval(p)));
        }
        assert!(same(clamp_s.eval_many(&[p])[0], poly_s.eval(pc)));
        let mut o = [0.0];
        clamp_s.eval_many_into(&[p], &mut o).expect("len");
        assert!(same(o[0], poly_s.eval(pc)));
        let mut o = [0.0; 8];
        clamp_s.eval_many_into(&[p; 8], &mut o).expect("len");
        assert!(o.iter().all(|&v| same(v, poly_s.eval(pc))));
    }
}

#[test]
fn extrapolation_policies_on_each_side_of_each_axis() {
    check_policies::<1>(11);
    check_policies::<2>(12);
    check_policies::<3>(13);
    check_policies::<4>(14);
    check_policies::<5>(15);
    check_policies::<6>(16);
}

#[test]
fn dyn_eval_many_into_keeps_its_extrapolate_flag() {
    let mut rng = Rng::new(21);
    let sp = random_spline::<2>(&mut rng, 6);
    let pts = random_points(&mut rng, &sp, 600);
    let flat: Vec<f64> = pts.iter().flatten().copied().collect();
    let dom = sp.domain();
    let inside = |p: &[f64; 2]| (0..2).all(|k| p[k] >= dom[k].0 && p[k] <= dom[k].1);
    for policy in POLICIES {
        let typed = sp.clone().with_extrapolate(policy);
        let d = DynSpline::from(sp.clone()).with_extrapolate(policy);
        assert_eq!(d.extrapolate(), policy);
        for ord in [None, Some(&[1usize, 2][..])] {
            let mut out = vec![f64::NAN; pts.len()];
            // `true`: the spline's policy.
            d.eval_many_into(&flat, ord, true, &mut out).expect("len");
            for (p, v) in pts.iter().zip(&out) {
                let want = match ord {
                    None => typed.eval(*p),
                    Some(_) => typed.eval_deriv(*p, [1, 2]),
                };
                assert!(same(*v, want));
            }
            // `false`: NaN outside whatever the policy, unchanged inside.
            d.eval_many_into(&flat, ord, false, &mut out).expect("len");
            for (p, v) in pts.iter().zip(&out) {
                if inside(p) {
                    let want = match ord {
                        None => sp.eval(*p),
                        Some(_) => sp.eval_deriv(*p, [1, 2]),
                    };
                    assert!(same(*v, want));
                } else {
                    assert!(v.is_nan());
                }
            }
        }
    }
}

#[test]
fn checked_eval_names_the_axis_and_value() {
    let mut rng = Rng::new(31);
    let sp = random_spline::<4>(&mut rng, 6).with_extrapolate(Extrapolate::Clamp);
    let dom = sp.domain();
    let mid: [f64; 4] = std::array::from_fn(|k| 0.5 * (dom[k].0 + dom[k].1));
    assert_eq!(sp.eval_checked(mid), Ok(sp.eval(mid)));
    let corner: [f64; 4] = std::array::from_fn(|k| dom[k].1);
    assert_eq!(sp.eval_checked(corner), Ok(sp.eval(corner)));
    for axis in 0..4 {
        for v in [dom[axis].0 - 1.5, dom[axis].1 + 0.25, f64::NAN] {
            let mut p = mid;
            p[axis] = v;
            let e = sp.eval_checked(p).unwrap_err();
            match e {
                FitError::OutsideDomain {
                    axis: a,
                    point: None,
                    value,
                    lo,
                    hi,
                } => {
                    assert_eq!(a, axis);
                    assert!(same(value, v));
                    assert_eq!((lo, hi), dom[axis]);
                }
                other => panic!("unexpected {other:?}"),
            }
            let msg = e.to_string();
            assert!(msg.contains(&format!("axis {axis}")), "{msg}");
            assert!(msg.contains(&format!("{v}")), "{msg}");
        }
    }
}

/// Per-axis grid coordinates: inside, on both ends, outside on both sides,
/// unsorted.
fn grid_coords<const D: usize>(
    rng: &mut Rng,
    s: &TensorSpline<D>,
    m: usize,
    beyond: f64,
) -> [Vec<f64>; D] {
    let dom = s.domain();
    std::array::from_fn(|k| {
        let (lo, hi) = dom[k];
        let w = hi - lo;
        let mut c = vec![lo, hi, lo - beyond * w, hi + 0.5 * beyond * w];
        while c.len() < m + k % 2 {
            c.push(rng.uniform(lo, hi));
        }
        let last = c.len() - 1;
        c.swap(0, last);
        c
    })
}

/// Compares `eval_grid_deriv` with the per-point evaluator at every grid point.
fn check_grid_against_points<const D: usize>(
    sp: &TensorSpline<D>,
    coords: &[Vec<f64>; D],
    orders: [usize; D],
) where
    Dim<[usize; D]>: Dimension,
{
    let refs: [&[f64]; D] = std::array::from_fn(|k| &coords[k][..]);
    let g = sp.eval_grid_deriv(refs, orders).expect("grid");
    let shape: Vec<usize> = coords.iter().map(|c| c.len()).collect();
    assert_eq!(g.shape(), &shape[..]);
    let total: usize = shape.iter().product();
    // The row-major `_into` form on a dirty buffer gives the same numbers.
    let mut flat = vec![f64::NAN; total];
    sp.eval_grid_deriv_into(refs, orders, &mut flat)
        .expect("grid");
    let want: Vec<f64> = (0..total)
        .map(|mut flat| {
            let mut x = [0.0; D];
            for k in (0..D).rev() {
                x[k] = coords[k][flat % shape[k]];
                flat /= shape[k];
            }
            sp.eval_deriv(x, orders)
        })
        .collect();
    let scale = want
        .iter()
        .filter(|v| v.is_finite())
        .fold(f64::MIN_POSITIVE, |m, v| m.max(v.abs()));
    for (i, (&got, &w)) in g.iter().zip(&want).enumerate() {
        assert!(
            same(got, flat[i]),
            "eval_grid vs eval_grid_deriv_into at {i}"
        );
        if w.is_nan() {
            assert!(
                got.is_nan(),
                "{:?} {orders:?} at {i}: {got} vs NaN",
                sp.extrapolate()
            );
        } else {
            assert!(
                (got - w).abs() <= 1e-13 * scale,
                "D={D} {:?} {orders:?} at {i}: {got} vs {w} (scale {scale})",
                sp.extrapolate()
            );
        }
    }
}

fn check_grid<const D: usize>(seed: u64, m: usize)
where
    Dim<[usize; D]>: Dimension,
{
    let mut rng = Rng::new(seed);
    let base = random_spline::<D>(&mut rng, 6);
    let coords = grid_coords(&mut rng, &base, m, 0.2);
    for policy in POLICIES {
        let sp = base.clone().with_extrapolate(policy);
        check_grid_against_points(&sp, &coords, [0; D]);
        for o in 0..=4 {
            check_grid_against_points(&sp, &coords, [o; D]);
        }
        for _ in 0..4 {
            let o: [usize; D] = std::array::from_fn(|_| rng.usize_inclusive(0, 3));
            check_grid_against_points(&sp, &coords, o);
        }
        let mut o = [0; D];
        o[D - 1] = 5;
        check_grid_against_points(&sp, &coords, o);
    }
    // NaN coordinates.
    let mut c = coords.clone();
    c[0][1] = f64::NAN;
    for policy in POLICIES {
        let sp = base.clone().with_extrapolate(policy);
        check_grid_against_points(&sp, &c, [0; D]);
        check_grid_against_points(&sp, &c, [4; D]);
    }
}

#[test]
fn grid_matches_pointwise_evaluation() {
    check_grid::<1>(41, 40);
    check_grid::<2>(42, 20);
    check_grid::<3>(43, 9);
    check_grid::<4>(44, 6);
    check_grid::<5>(45, 5);
    check_grid::<6>(46, 4);
}

#[test]
fn large_grid_runs_in_parallel_and_matches() {
    let mut rng = Rng::new(51);
    let base = random_spline::<3>(&mut rng, 12);
    let coords = grid_coords(&mut rng, &base, 40, 0.2);
    check_grid_against_points(&base, &coords, [0, 0, 0]);
    check_grid_against_points(&base, &coords, [1, 0, 2]);
    let base = random_spline::<2>(&mut rng, 30);
    let coords = grid_coords(&mut rng, &base, 300, 0.2);
    check_grid_against_points(&base, &coords, [0, 1]);
    // One long innermost row (split across tasks), and a long outer axis.
    let base = random_spline::<1>(&mut rng, 40);
    let coords = grid_coords(&mut rng, &base, 70_000, 0.2);
    check_grid_against_points(&base, &coords, [0]);
    check_grid_against_points(&base, &coords, [2]);
    let base = random_spline::<2>(&mut rng, 9);
    let mut coords = grid_coords(&mut rng, &base, 3, 0.2);
    coords[0] = grid_coords(&mut rng, &base, 40_000, 0.2)[0].clone();
    check_grid_against_points(&base, &coords, [1, 0]);
}

/// Coordinate lists of the given lengths per axis (the ends, points just
/// and far outside each side, then random points in the domain).
fn coords_of_lengths<const D: usize>(
    rng: &mut Rng,
    s: &TensorSpline<D>,
    lens: [usize; D],
) -> [Vec<f64>; D] {
    let dom = s.domain();
    std::array::from_fn(|k| {
        let (lo, hi) = dom[k];
        let w = hi - lo;
        let ends = [hi, lo - 0.2 * w, hi + 0.1 * w, lo];
        (0..lens[k])
            .map(|i| ends.get(i).copied().unwrap_or_else(|| rng.uniform(lo, hi)))
            .collect()
    })
}

/// Refining grids take the fused path (expanding axes contracted last,
/// slab by slab): every pattern of refining and non-refining axes, the
/// parallel split (rows cut mid-odometer), every policy and some orders.
#[test]
fn refining_grids_match_pointwise_evaluation() {
    let mut rng = Rng::new(53);
    let base = random_spline::<4>(&mut rng, 6);
    let n = base.shape();
    // Refining on axes 0 and 2, axis 1 shrinking in between.
    let lens4 = [
        [n[0] + 7, n[1] - 3, n[2] + 5, n[3] + 3],
        [n[0] + 1, n[1] + 4, 2, n[3] - 2],
        [1, n[1] + 9, n[2] + 2, 1],
        [n[0] + 2, n[1] + 2, n[2] + 2, n[3] + 2],
    ];
    for lens in lens4 {
        let coords = coords_of_lengths(&mut rng, &base, lens);
        for policy in POLICIES {
            let sp = base.clone().with_extrapolate(policy);
            for orders in [[0; 4], [1, 0, 2, 3], [3, 1, 0, 1], [0, 4, 0, 0]] {
                check_grid_against_points(&sp, &coords, orders);
            }
        }
    }
    // 6 D, alternating refining and shrinking axes.
    let base6 = random_spline::<6>(&mut rng, 5);
    let n6 = base6.shape();
    let lens6: [usize; 6] = std::array::from_fn(|k| if k % 2 == 0 { n6[k] + 2 } else { 2 });
    let coords = coords_of_lengths(&mut rng, &base6, lens6);
    check_grid_against_points(&base6, &coords, [0; 6]);
    check_grid_against_points(&base6, &coords, [1, 0, 0, 2, 0, 1]);
    // Large enough to run in parallel tasks, whose row runs start at
    // arbitrary odometer positions (prime lengths).
    let base3 = random_spline::<3>(&mut rng, 9);
    let m3 = base3.shape();
    for lens in [[97, 2, 211], [m3[0] + 4, 131, 67], [53, m3[1] + 30, 3]] {
        let coords = coords_of_lengths(&mut rng, &base3, lens);
        check_grid_against_points(&base3, &coords, [0, 0, 0]);
        check_grid_against_points(&base3, &coords, [1, 2, 0]);
    }
}

#[test]
fn empty_grids() {
    let mut rng = Rng::new(52);
    let sp = random_spline::<3>(&mut rng, 5);
    let a = [0.5, 1.0];
    let g = sp.eval_grid([&a[..], &[], &a[..]]).expect("empty");
    assert_eq!(g.shape(), &[2, 0, 2]);
    let mut out: [f64; 0] = [];
    sp.eval_grid_into([&[], &a[..], &a[..]], &mut out)
        .expect("empty");
}

fn check_grid_reproduces_cubic<const D: usize>(seed: u64)
where
    Dim<[usize; D]>: Dimension,
{
    let mut rng = Rng::new(seed);
    let (sp, poly) = fit_poly::<D>(&mut rng, 5);
    // Slightly outside: far out, extrapolation amplifies the fit's rounding
    // by the growth of the boundary polynomials in every axis at once.
    let coords = grid_coords(&mut rng, &sp, 5, 0.02);
    let refs: [&[f64]; D] = std::array::from_fn(|k| &coords[k][..]);
    for orders in [[0; D], [1; D], std::array::from_fn(|k| k % 4), [3; D]] {
        let g = sp.eval_grid_deriv(refs, orders).expect("grid");
        let shape: [usize; D] = std::array::from_fn(|k| coords[k].len());
        for (f, &v) in g.iter().enumerate() {
            let idx = unflatten(f, shape);
            let x: [f64; D] = std::array::from_fn(|k| coords[k][idx[k]]);
            let want = poly.deriv(x, orders);
            let sc = poly.abs_scale(x, orders).max(poly.abs_scale(x, [0; D]));
            let tol = 1e-11 * sc * 30f64.powi(orders.iter().sum::<usize>() as i32);
            assert!(
                (v - want).abs() <= tol,
                "D={D} {orders:?} at {x:?}: {v} vs {want}"
            );
        }
    }
}

#[test]
fn grid_reproduces_tensor_cubics() {
    check_grid_reproduces_cubic::<1>(61);
    check_grid_reproduces_cubic::<2>(62);
    check_grid_reproduces_cubic::<3>(63);
    check_grid_reproduces_cubic::<4>(64);
    check_grid_reproduces_cubic::<5>(65);
    check_grid_reproduces_cubic::<6>(66);
}

#[cfg(feature = "serde")]
#[test]
fn serde_keeps_the_policy() {
    let mut rng = Rng::new(71);
    for policy in POLICIES {
        let sp = random_spline::<2>(&mut rng, 5).with_extrapolate(policy);
        let json = serde_json::to_string(&sp).expect("serialise");
        let back: TensorSpline<2> = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back.extrapolate(), policy);
        assert_eq!(back, sp);
    }
    // Data written before the policy existed loads with the default.
    let sp = random_spline::<2>(&mut rng, 5).with_extrapolate(Extrapolate::Nan);
    let mut v: serde_json::Value = serde_json::to_value(&sp).expect("serialise");
    let obj = v.as_object_mut().expect("object");
    assert!(obj.remove("extrapolate").is_some());
    let back: TensorSpline<2> = serde_json::from_value(v).expect("old format");
    assert_eq!(back.extrapolate(), Extrapolate::Polynomial);
    assert_eq!(back.coefficients_slice(), sp.coefficients_slice());
    // An unknown policy is an error, not a silent default.
    let mut v: serde_json::Value = serde_json::to_value(&sp).expect("serialise");
    v["extrapolate"] = serde_json::Value::String("Wrap".into());
    assert!(serde_json::from_value::<TensorSpline<2>>(v).is_err());
}

#[test]
fn dyn_spline_grid_and_checked_evaluation() {
    let mut rng = Rng::new(81);
    let sp = random_spline::<3>(&mut rng, 6).with_extrapolate(Extrapolate::Clamp);
    let coords = grid_coords(&mut rng, &sp, 5, 0.2);
    let refs: [&[f64]; 3] = std::array::from_fn(|k| &coords[k][..]);
    let d = DynSpline::from(sp.clone());
    let total: usize = coords.iter().map(|c| c.len()).product();
    let mut out = vec![f64::NAN; total];
    d.eval_grid_into(&refs, None, &mut out).expect("grid");
    let want = sp.eval_grid(refs).expect("grid");
    assert!(want.iter().zip(&out).all(|(a, b)| same(*a, *b)));
    d.eval_grid_into(&refs, Some(&[1, 0, 3]), &mut out)
        .expect("grid");
    let want = sp.eval_grid_deriv(refs, [1, 0, 3]).expect("grid");
    assert!(want.iter().zip(&out).all(|(a, b)| same(*a, *b)));
    assert_eq!(
        d.eval_grid_into(&refs[..2], None, &mut out),
        Err(FitError::DimensionMismatch {
            expected: 3,
            got: 2
        })
    );
    assert!(matches!(
        d.eval_grid_into(&refs, Some(&[1, 0]), &mut out),
        Err(FitError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        d.eval_grid_into(&refs, None, &mut out[1..]),
        Err(FitError::InvalidParameter { name: "out", .. })
    ));
    let dom = sp.domain();
    let mid: Vec<f64> = dom.iter().map(|(lo, hi)| 0.5 * (lo + hi)).collect();
    assert_eq!(d.eval_checked(&mid), Ok(sp.eval([mid[0], mid[1], mid[2]])));
    let mut out_p = mid.clone();
    out_p[2] = dom[2].1 + 1.0;
    assert!(matches!(
        d.eval_checked(&out_p),
        Err(FitError::OutsideDomain { axis: 2, .. })
    ));
    assert!(matches!(
        d.eval_checked(&mid[..2]),
        Err(FitError::DimensionMismatch { .. })
    ));
}
