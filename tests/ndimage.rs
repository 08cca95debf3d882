//! `bsfit::ndimage` against scipy 1.17.1 (committed fixtures from
//! `tools/gen_ndimage_fixtures.py`: orders 0–5 × every mode × 1–4
//! dimensions) and against oracles of its own: the B-spline kernel applied
//! to the coefficients gives back the samples, polynomials of degree ≤ order
//! are reproduced between samples, layouts, element types and thread
//! counts do not change the result, and bad input is a typed error.

use bsfit::ndimage::{
    MAX_DIMS, Mode, map_coordinates, map_coordinates_into, spline_filter, spline_filter_into,
    spline_filter1d, spline_filter1d_into,
};
use bsfit::{FitError, Par};
use ndarray::{Array1, ArrayD, Axis, IxDyn, ShapeBuilder};

struct Input {
    shape: Vec<usize>,
    values: Vec<f64>,
}

impl Input {
    fn array(&self) -> ArrayD<f64> {
        ArrayD::from_shape_vec(IxDyn(&self.shape), self.values.clone()).unwrap()
    }
}

fn fixtures() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/ndimage/scipy_ndimage.json")).expect("fixture JSON")
}

fn nums(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn inputs(fx: &serde_json::Value) -> Vec<Input> {
    fx["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| Input {
            shape: i["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_u64().unwrap() as usize)
                .collect(),
            values: nums(&i["values"]),
        })
        .collect()
}

/// Largest |a − b| relative to max(1, max |b|).
fn err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

fn flat(a: &ArrayD<f64>) -> Vec<f64> {
    a.iter().copied().collect()
}

#[test]
fn filters_match_scipy_in_every_order_mode_and_dimension() {
    let fx = fixtures();
    let inputs = inputs(&fx);
    let mut checked = 0;
    for case in fx["filters"].as_array().unwrap() {
        let input = &inputs[case["input"].as_u64().unwrap() as usize];
        let order = case["order"].as_u64().unwrap() as usize;
        let mode: Mode = case["mode"].as_str().unwrap().parse().unwrap();
        let f = input.array();
        for (axis, want) in case["filter1d"].as_object().unwrap() {
            let axis: usize = axis.parse().unwrap();
            let got = spline_filter1d(f.view(), order, axis, mode).unwrap();
            let e = err(&flat(&got), &nums(want));
            assert!(
                e < 1e-13,
                "spline_filter1d {:?} order {order} axis {axis} {mode}: {e:e}",
                input.shape
            );
            checked += 1;
        }
        if let Some(want) = case.get("filter") {
            let got = spline_filter(f.view(), order, mode).unwrap();
            let e = err(&flat(&got), &nums(want));
            assert!(
                e < 1e-13,
                "spline_filter {:?} order {order} {mode}: {e:e}",
                input.shape
            );
            checked += 1;
        }
    }
    assert!(checked > 700, "{checked} comparisons");
}

#[test]
fn map_coordinates_matches_scipy_in_every_order_mode_and_dimension() {
    let fx = fixtures();
    let inputs = inputs(&fx);
    let mut checked = 0;
    for case in fx["maps"].as_array().unwrap() {
        let input = &inputs[case["input"].as_u64().unwrap() as usize];
        let order = case["order"].as_u64().unwrap() as usize;
        let mode: Mode = case["mode"].as_str().unwrap().parse().unwrap();
        let cval = case["cval"].as_f64().unwrap();
        let f = input.array();
        let c = nums(&case["coordinates"]);
        let d = input.shape.len();
        let coords = ArrayD::from_shape_vec(IxDyn(&[d, c.len() / d]), c).unwrap();
        for (key, prefilter) in [("prefilter", true), ("no_prefilter", false)] {
            let Some(want) = case.get(key) else { continue };
            let got =
                map_coordinates(f.view(), coords.view(), order, mode, cval, prefilter).unwrap();
            let e = err(&flat(&got), &nums(want));
            assert!(
                e < 1e-12,
                "map_coordinates {:?} order {order} {mode} prefilter={prefilter}: {e:e}\n got {:?}\nwant {:?}",
                input.shape,
                flat(&got),
                nums(want)
            );
            checked += 1;
        }
    }
    assert!(checked >= 240, "{checked} comparisons");
}

/// The B-spline's values at the integers (scipy's test_splines knot values).
fn kernel(order: usize) -> Vec<f64> {
    let (v, s): (&[f64], f64) = match order {
        2 => (&[6.0, 1.0], 8.0),
        3 => (&[4.0, 1.0], 6.0),
        4 => (&[230.0, 76.0, 1.0], 384.0),
        5 => (&[66.0, 26.0, 1.0], 120.0),
        _ => (&[1.0], 1.0),
    };
    v.iter().map(|x| x / s).collect()
}

/// The largest pole magnitude of each order's prefilter.
const POLE: [f64; 6] = [
    0.0,
    0.0,
    0.171_572_875,
    0.267_949_193,
    0.361_341_226,
    0.430_575_348,
];

/// Index `i` of the extension the filter of `mode` assumes (`n` samples).
fn extend(i: i64, n: i64, mode: Mode) -> usize {
    let r = match mode {
        Mode::GridWrap => i.rem_euclid(n),
        Mode::Reflect | Mode::GridMirror | Mode::Nearest => {
            let q = i.rem_euclid(2 * n);
            if q < n { q } else { 2 * n - 1 - q }
        }
        _ if n == 1 => 0,
        _ => {
            let q = i.rem_euclid(2 * n - 2);
            if q < n { q } else { 2 * n - 2 - q }
        }
    };
    r as usize
}

/// Oracle independent of scipy: the sampling operator (the B-spline's
/// values at the integers, with the boundary extension the mode's
/// initialisation stands for) applied to the coefficients gives back the
/// samples, for lines of 2 to 60 samples (short lines use the exact
/// initial sums, long ones the truncated ones).
#[test]
fn sampling_the_filtered_line_gives_back_the_samples() {
    let mut rng = bsfit_testkit::SplitMix64::new(7);
    for order in 2..=5 {
        let b = kernel(order);
        for n in (2..=20).chain([33, 47, 60, 97, 130]) {
            let f = Array1::from_iter((0..n).map(|_| rng.uniform(-1.0, 1.0))).into_dyn();
            for mode in Mode::ALL {
                let c = spline_filter1d(f.view(), order, 0, mode).unwrap();
                for i in 0..n as i64 {
                    let mut s = 0.0;
                    for (k, &bk) in b.iter().enumerate() {
                        let k = k as i64;
                        s += bk * c[extend(i + k, n as i64, mode)];
                        if k > 0 {
                            s += bk * c[extend(i - k, n as i64, mode)];
                        }
                    }
                    // scipy's reflect initialisation (which bsfit follows) is
                    // off the half-sample extension by O(z^(2n-1)), z the
                    // largest pole: visible on short lines only.
                    let tol = match mode {
                        Mode::Reflect | Mode::GridMirror | Mode::Nearest => {
                            1e-13 + 20.0 * POLE[order].powi(2 * n - 1)
                        }
                        _ => 1e-13,
                    };
                    assert!(
                        (s - f[i as usize]).abs() < tol,
                        "order {order} n {n} {mode} i {i}: {s} vs {}",
                        f[i as usize]
                    );
                }
            }
        }
    }
}

/// Oracle independent of scipy: a spline of order k reproduces polynomials
/// of degree ≤ k; far from the edges (45 samples: the boundary's effect has
/// decayed below rounding) the interpolant equals the polynomial.
#[test]
fn polynomials_of_degree_up_to_the_order_are_reproduced() {
    let mut rng = bsfit_testkit::SplitMix64::new(11);
    let n = 101;
    for order in 0..=5usize {
        let coef: Vec<f64> = (0..=order).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let p = |x: f64| {
            coef.iter()
                .rev()
                .fold(0.0, |acc, &a| acc * ((x - 50.0) / 10.0) + a)
        };
        let f = Array1::from_iter((0..n).map(|i| p(i as f64))).into_dyn();
        let pts: Vec<f64> = (0..40).map(|_| rng.uniform(45.0, 55.0)).collect();
        let coords = ArrayD::from_shape_vec(IxDyn(&[1, pts.len()]), pts.clone()).unwrap();
        for mode in [
            Mode::Mirror,
            Mode::Reflect,
            Mode::GridWrap,
            Mode::Constant,
            Mode::Nearest,
        ] {
            let v = map_coordinates(f.view(), coords.view(), order, mode, 0.0, true).unwrap();
            for (x, got) in pts.iter().zip(v.iter()) {
                // Order 0 is piecewise constant: the nearest sample.
                let want = if order == 0 {
                    p((x + 0.5).floor())
                } else {
                    p(*x)
                };
                assert!(
                    (got - want).abs() < 1e-11,
                    "order {order} {mode} x {x}: {got} vs {want}"
                );
            }
        }
        // In 3-D, a separable product of such polynomials.
        if order >= 1 {
            let m = 96;
            let q = |x: f64| 1.0 + 0.5 * ((x - 48.0) / 8.0).powi(order.min(3) as i32);
            let f3 = ArrayD::from_shape_fn(IxDyn(&[m, 2 * m / 3, m]), |i| {
                q(i[0] as f64) * q(i[1] as f64 + 16.0) * q(i[2] as f64)
            });
            let pts: Vec<[f64; 3]> = (0..30)
                .map(|_| {
                    [
                        rng.uniform(45.0, 51.0),
                        rng.uniform(29.0, 35.0),
                        rng.uniform(45.0, 51.0),
                    ]
                })
                .collect();
            let coords = ArrayD::from_shape_fn(IxDyn(&[3, pts.len()]), |i| pts[i[1]][i[0]]);
            let v =
                map_coordinates(f3.view(), coords.view(), order, Mode::Mirror, 0.0, true).unwrap();
            for (x, got) in pts.iter().zip(v.iter()) {
                let want = q(x[0]) * q(x[1] + 16.0) * q(x[2]);
                assert!(
                    (got - want).abs() < 1e-10 * want.abs().max(1.0),
                    "3-D order {order}: {got} vs {want}"
                );
            }
        }
    }
}

/// Layouts, element types and thread counts give the same numbers.
#[test]
fn layout_type_and_threads_do_not_change_the_result() {
    let mut rng = bsfit_testkit::SplitMix64::new(3);
    for shape in [
        vec![37usize, 41, 9],
        vec![300, 260],
        vec![5, 6, 7, 8],
        vec![70000],
        vec![3, 70000],
    ] {
        let len: usize = shape.iter().product();
        let f = ArrayD::from_shape_vec(
            IxDyn(&shape),
            (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect(),
        )
        .unwrap();
        for (order, mode) in [
            (3, Mode::Mirror),
            (5, Mode::GridWrap),
            (2, Mode::Reflect),
            (4, Mode::Constant),
        ] {
            let want = spline_filter(f.view(), order, mode).unwrap();
            // Fortran order (the same values).
            let mut fo = ArrayD::zeros(IxDyn(&shape).f());
            fo.assign(&f);
            assert_eq!(spline_filter(fo.view(), order, mode).unwrap(), want);
            // f32 input equals its f64 conversion.
            let f32v = f.mapv(|v| v as f32);
            let f64v = f32v.mapv(|v| v as f64);
            assert_eq!(
                spline_filter(f32v.view(), order, mode).unwrap(),
                spline_filter(f64v.view(), order, mode).unwrap()
            );
            // Sequential, and three tasks.
            for par in [Par::Seq, Par::with_threads(3)] {
                let mut out = ArrayD::zeros(IxDyn(&shape));
                spline_filter_into(f.view(), order, mode, out.view_mut(), par).unwrap();
                assert_eq!(out, want, "{shape:?} {par:?}");
            }
            // Into a Fortran-ordered output.
            let mut out = ArrayD::zeros(IxDyn(&shape).f());
            spline_filter_into(f.view(), order, mode, out.view_mut(), Par::auto()).unwrap();
            assert_eq!(out, want);
            // The 1-D filters along every axis in turn give the same up to rounding.
            let mut g = f.clone();
            for a in 0..shape.len() {
                g = spline_filter1d(g.view(), order, a, mode).unwrap();
            }
            assert!(err(&flat(&g), &flat(&want)) < 1e-14);
            for a in 0..shape.len() {
                let want1 = spline_filter1d(f.view(), order, a, mode).unwrap();
                let mut out = ArrayD::zeros(IxDyn(&shape));
                spline_filter1d_into(f.view(), order, a, mode, out.view_mut(), Par::Seq).unwrap();
                assert_eq!(out, want1);
                // A reversed, strided view: filter the copy it stands for
                // (scipy's reflect initialisation is not symmetric under
                // reversal on short lines; the other modes' are).
                if mode == Mode::Reflect {
                    continue;
                }
                let mut rev = f.clone();
                rev.invert_axis(Axis(a));
                let mut back = spline_filter1d(rev.view(), order, a, mode).unwrap();
                back.invert_axis(Axis(a));
                assert!(
                    err(&flat(&back), &flat(&want1)) < 1e-13,
                    "{shape:?} axis {a}"
                );
            }
        }
        // map_coordinates: layouts of the input and the coordinates.
        if shape.len() <= 3 {
            let d = shape.len();
            let pts = ArrayD::from_shape_fn(IxDyn(&[d, 5000]), |i| {
                rng.uniform(-2.0, shape[i[0]] as f64 + 1.0)
            });
            for (order, mode, pre) in [
                (3, Mode::Constant, true),
                (1, Mode::Nearest, false),
                (5, Mode::GridWrap, true),
                (3, Mode::GridConstant, false),
            ] {
                let want = map_coordinates(f.view(), pts.view(), order, mode, 0.5, pre).unwrap();
                let mut fo = ArrayD::zeros(IxDyn(&shape).f());
                fo.assign(&f);
                assert_eq!(
                    map_coordinates(fo.view(), pts.view(), order, mode, 0.5, pre).unwrap(),
                    want
                );
                let mut po = ArrayD::zeros(IxDyn(&[d, 5000]).f());
                po.assign(&pts);
                assert_eq!(
                    map_coordinates(f.view(), po.view(), order, mode, 0.5, pre).unwrap(),
                    want
                );
                let mut out = ArrayD::zeros(IxDyn(&[5000]));
                map_coordinates_into(
                    f.view(),
                    pts.view(),
                    order,
                    mode,
                    0.5,
                    pre,
                    out.view_mut(),
                    Par::Seq,
                )
                .unwrap();
                assert_eq!(out, want);
                let f32v = f.mapv(|v| v as f32);
                assert_eq!(
                    map_coordinates(f32v.view(), pts.view(), order, mode, 0.5, pre).unwrap(),
                    map_coordinates(
                        f32v.mapv(|v| v as f64).view(),
                        pts.view(),
                        order,
                        mode,
                        0.5,
                        pre
                    )
                    .unwrap()
                );
            }
        }
    }
}

#[test]
fn edge_cases_follow_scipy() {
    // A line of one sample is not filtered (scipy gives exactly 1.0).
    let one = ArrayD::from_elem(IxDyn(&[1, 1, 1]), 1.0);
    for order in 2..=5 {
        assert_eq!(
            spline_filter(one.view(), order, Mode::Mirror).unwrap()[[0, 0, 0]],
            1.0
        );
    }
    // 0-d: the value itself.
    let zero_d = ArrayD::from_elem(IxDyn(&[]), 2.5);
    assert_eq!(
        spline_filter(zero_d.view(), 3, Mode::Mirror).unwrap()[[]],
        2.5
    );
    // Empty axes: empty results, no error.
    let empty = ArrayD::<f64>::zeros(IxDyn(&[0, 4]));
    assert_eq!(
        spline_filter(empty.view(), 3, Mode::Mirror)
            .unwrap()
            .shape(),
        &[0, 4]
    );
    assert_eq!(
        spline_filter1d(empty.view(), 3, 1, Mode::Mirror)
            .unwrap()
            .shape(),
        &[0, 4]
    );
    let f = ArrayD::from_elem(IxDyn(&[4, 5]), 1.0);
    let no_points = ArrayD::<f64>::zeros(IxDyn(&[2, 0]));
    assert_eq!(
        map_coordinates(f.view(), no_points.view(), 3, Mode::Mirror, 0.0, true)
            .unwrap()
            .len(),
        0
    );
    let pts = ArrayD::from_elem(IxDyn(&[2, 3]), 0.0);
    let v = map_coordinates(empty.view(), pts.view(), 3, Mode::Mirror, -2.0, true).unwrap();
    assert!(v.iter().all(|&x| x == -2.0));
    // NaN samples propagate along their lines (no error) ...
    let mut g = ArrayD::from_elem(IxDyn(&[6, 7]), 1.0);
    g[[2, 3]] = f64::NAN;
    let c = spline_filter1d(g.view(), 3, 1, Mode::Mirror).unwrap();
    assert!(c.row_nan(2) && !c.row_nan(1));
    let c = spline_filter(g.view(), 3, Mode::Mirror).unwrap();
    assert!(c.iter().all(|v| v.is_nan()));
    // ... NaN coordinates give cval, or NaN where scipy does not map them.
    let pts = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![f64::NAN, 1.0, 2.0, f64::NAN]).unwrap();
    for mode in [
        Mode::Mirror,
        Mode::Constant,
        Mode::Reflect,
        Mode::GridWrap,
        Mode::Wrap,
    ] {
        let v = map_coordinates(f.view(), pts.view(), 3, mode, -3.0, true).unwrap();
        assert_eq!(flat(&v), vec![-3.0, -3.0], "{mode}");
    }
    for mode in [Mode::Nearest, Mode::GridConstant] {
        let v = map_coordinates(f.view(), pts.view(), 3, mode, -3.0, true).unwrap();
        assert!(v.iter().all(|x| x.is_nan()), "{mode}");
    }
    // Orders 0 and 1 are the identity.
    let r = ArrayD::from_shape_fn(IxDyn(&[3, 4]), |i| (i[0] * 7 + i[1]) as f64);
    for order in 0..2 {
        assert_eq!(spline_filter(r.view(), order, Mode::GridWrap).unwrap(), r);
        assert_eq!(
            spline_filter1d(r.view(), order, 0, Mode::Reflect).unwrap(),
            r
        );
    }
}

trait RowNan {
    fn row_nan(&self, i: usize) -> bool;
}

impl RowNan for ArrayD<f64> {
    fn row_nan(&self, i: usize) -> bool {
        self.index_axis(Axis(0), i).iter().all(|v| v.is_nan())
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let f = ArrayD::from_elem(IxDyn(&[4, 5]), 1.0);
    let bad = |e: Result<ArrayD<f64>, FitError>, name: &str| match e {
        Err(FitError::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
        other => panic!("expected InvalidParameter {name}, got {other:?}"),
    };
    bad(spline_filter(f.view(), 6, Mode::Mirror), "order");
    bad(spline_filter1d(f.view(), 6, 0, Mode::Mirror), "order");
    bad(spline_filter1d(f.view(), 3, 2, Mode::Mirror), "axis");
    let pts = ArrayD::from_elem(IxDyn(&[2, 3]), 1.0);
    bad(
        map_coordinates(f.view(), pts.view(), 6, Mode::Mirror, 0.0, true),
        "order",
    );
    let pts3 = ArrayD::from_elem(IxDyn(&[3, 3]), 1.0);
    assert!(matches!(
        map_coordinates(f.view(), pts3.view(), 3, Mode::Mirror, 0.0, true),
        Err(FitError::DimensionMismatch {
            expected: 2,
            got: 3
        })
    ));
    let flat_pts = ArrayD::from_elem(IxDyn(&[2]), 1.0);
    bad(
        map_coordinates(f.view(), flat_pts.view(), 3, Mode::Mirror, 0.0, true),
        "coordinates",
    );
    let zero_d = ArrayD::from_elem(IxDyn(&[]), 1.0);
    let p0 = ArrayD::from_elem(IxDyn(&[0, 1]), 1.0);
    bad(
        map_coordinates(zero_d.view(), p0.view(), 3, Mode::Mirror, 0.0, true),
        "input",
    );
    let mut out = ArrayD::zeros(IxDyn(&[5, 4]));
    assert!(matches!(
        spline_filter_into(f.view(), 3, Mode::Mirror, out.view_mut(), Par::Seq),
        Err(FitError::InvalidParameter { name: "out", .. })
    ));
    let mut out = ArrayD::zeros(IxDyn(&[4]));
    assert!(matches!(
        map_coordinates_into(
            f.view(),
            pts.view(),
            3,
            Mode::Mirror,
            0.0,
            true,
            out.view_mut(),
            Par::Seq
        ),
        Err(FitError::InvalidParameter { name: "out", .. })
    ));
    assert!(matches!(
        "periodic".parse::<Mode>(),
        Err(FitError::InvalidParameter { name: "mode", .. })
    ));
    assert_eq!(MAX_DIMS, 64);
}

/// Many points in an array beyond the caches are evaluated in the order of
/// their places in it (one counting sort per call): every value must be the
/// one the point gives alone, here in calls of fewer points than that path
/// takes (in their own order), bit for bit, in every mode, order and
/// dimension that the sorted path serves, with points outside and NaN.
#[test]
fn map_coordinates_in_array_order_equals_the_points_alone() {
    let mut rng = bsfit_testkit::SplitMix64::new(91);
    for (shape, order) in [
        (vec![160usize, 96, 80], 3usize),
        (vec![1500, 900], 1),
        (vec![48, 40, 36, 24], 5),
    ] {
        let total: usize = shape.iter().product();
        let f = ArrayD::from_shape_vec(IxDyn(&shape), rng.uniform_vec(total, -1.0, 1.0)).unwrap();
        let d = shape.len();
        let npts = 70_000;
        let mut pts = Vec::with_capacity(d * npts);
        for &n in &shape {
            pts.extend((0..npts).map(|_| rng.uniform(-3.0, n as f64 + 2.0)));
        }
        pts[5] = f64::NAN;
        pts[npts + 7] = f64::INFINITY;
        let coords = ArrayD::from_shape_vec(IxDyn(&[d, npts]), pts.clone()).unwrap();
        for mode in [
            Mode::Mirror,
            Mode::Constant,
            Mode::GridWrap,
            Mode::GridConstant,
            Mode::Nearest,
        ] {
            let all = map_coordinates(f.view(), coords.view(), order, mode, 0.5, false).unwrap();
            // The same points in calls of 10,000 (below the sorted path's threshold).
            let step = 10_000;
            for s in (0..npts).step_by(step) {
                let e = (s + step).min(npts);
                let part: Vec<f64> = (0..d)
                    .flat_map(|a| pts[a * npts + s..a * npts + e].iter().copied())
                    .collect();
                let part = ArrayD::from_shape_vec(IxDyn(&[d, e - s]), part).unwrap();
                let want = map_coordinates(f.view(), part.view(), order, mode, 0.5, false).unwrap();
                for (i, (w, g)) in want.iter().zip(all.iter().skip(s)).enumerate() {
                    assert!(
                        w.to_bits() == g.to_bits() || (w.is_nan() && g.is_nan()),
                        "{shape:?} order {order} {mode} point {}: {g} vs {w}",
                        s + i
                    );
                }
            }
        }
    }
}
