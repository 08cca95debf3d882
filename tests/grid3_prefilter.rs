//! `grid3::prefilter` against scipy's `ndimage.spline_filter` (committed fixtures from
//! `tools/gen_grid3_fixtures.py`) and against the padded 27-point oracle (`B c = F`).

use bsfit::grid3::Boundary::{self, *};
use bsfit::grid3::{prefilter, prefilter_f32, prefilter_generic};
use bsfit::{FitError, Par};
use ndarray::{Array3, ShapeBuilder};

use crate::common;
use common::{oracle, rng};

struct Fixtures {
    cases: Vec<Case>,
}

struct Case {
    shape: Vec<usize>,
    boundary: String,
    values: Vec<f64>,
    coefficients: Vec<f64>,
}

fn fixtures() -> Fixtures {
    let text = include_str!("fixtures/grid3/spline_filter.json");
    let v: serde_json::Value = serde_json::from_str(text).expect("fixture JSON");
    let nums = |x: &serde_json::Value| -> Vec<f64> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_f64().unwrap())
            .collect()
    };
    let cases = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            shape: nums(&c["shape"]).into_iter().map(|s| s as usize).collect(),
            boundary: c["boundary"].as_str().unwrap().to_string(),
            values: nums(&c["values"]),
            coefficients: nums(&c["coefficients"]),
        })
        .collect();
    Fixtures { cases }
}

#[test]
fn matches_scipy_spline_filter() {
    let fx = fixtures();
    assert_eq!(fx.cases.len(), 24);
    for case in &fx.cases {
        let bc = Boundary::from_name(&case.boundary).unwrap();
        let s = (case.shape[0], case.shape[1], case.shape[2]);
        let f = Array3::from_shape_vec(s, case.values.clone()).unwrap();
        let c = prefilter(f.view(), [bc; 3]).unwrap();
        let err = c
            .iter()
            .zip(&case.coefficients)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            err <= 1e-12,
            "{:?} {}: max error {err:e}",
            case.shape,
            case.boundary
        );
        // f32 agrees with the f64 reference to f32 precision.
        let f32v = f.mapv(|v| v as f32);
        let c32 = prefilter_f32(f32v.view(), [bc; 3]).unwrap();
        let err32 = c32
            .iter()
            .zip(&case.coefficients)
            .map(|(a, b)| (*a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(
            err32 <= 2e-5,
            "f32 {:?} {}: {err32:e}",
            case.shape,
            case.boundary
        );
    }
}

fn max_residual(c: &Array3<f64>, f: &Array3<f64>, bc: [Boundary; 3]) -> f64 {
    let (n0, n1, n2) = c.dim();
    let bcv = oracle(c.as_slice().unwrap(), [n0, n1, n2], bc);
    bcv.iter()
        .zip(f.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// Every boundary triple, including `Zero` (no scipy counterpart): `B c = F` by the oracle.
#[test]
fn solves_b_c_equals_f_for_every_boundary() {
    let bs = [Periodic, Zero, Mirror];
    let mut r = rng(5);
    for shape in [
        [1, 1, 1],
        [2, 3, 1],
        [3, 2, 2],
        [5, 7, 4],
        [9, 8, 10],
        [1, 30, 2],
    ] {
        let len: usize = shape.iter().product();
        let f = Array3::from_shape_vec(
            (shape[0], shape[1], shape[2]),
            (0..len).map(|_| r()).collect(),
        )
        .unwrap();
        for a in bs {
            for b in bs {
                for d in bs {
                    let bc = [a, b, d];
                    let c = prefilter(f.view(), bc).unwrap();
                    let res = max_residual(&c, &f, bc);
                    assert!(res < 1e-14, "{shape:?} {bc:?}: {res:e}");
                }
            }
        }
    }
}

/// Size 1: periodic and mirror give c = F, zero gives c = 3F/2 (b = [2/3]).
#[test]
fn size_one_axes() {
    let f = Array3::from_shape_vec((1, 1, 1), vec![0.75]).unwrap();
    assert!((prefilter(f.view(), [Periodic; 3]).unwrap()[[0, 0, 0]] - 0.75).abs() < 1e-15);
    assert!((prefilter(f.view(), [Mirror; 3]).unwrap()[[0, 0, 0]] - 0.75).abs() < 1e-15);
    let z = prefilter(f.view(), [Zero; 3]).unwrap()[[0, 0, 0]];
    assert!((z - 0.75 * 1.5f64.powi(3)).abs() < 1e-15);
    // n = 2: periodic and mirror are the same system.
    let f = Array3::from_shape_vec((2, 1, 1), vec![1.0, 4.0]).unwrap();
    let p = prefilter(f.view(), [Periodic; 3]).unwrap();
    let m = prefilter(f.view(), [Mirror; 3]).unwrap();
    assert!((p[[0, 0, 0]] + 2.0).abs() < 1e-14 && (p[[1, 0, 0]] - 7.0).abs() < 1e-14);
    assert!((m[[0, 0, 0]] + 2.0).abs() < 1e-14 && (m[[1, 0, 0]] - 7.0).abs() < 1e-14);
}

/// Parallel and sequential runs are bit-identical; any memory layout is accepted.
#[test]
fn parallel_layouts_and_linearity() {
    let mut r = rng(9);
    let (n0, n1, n2) = (40, 33, 30);
    let f = Array3::from_shape_vec((n0, n1, n2), (0..n0 * n1 * n2).map(|_| r()).collect()).unwrap();
    let g = Array3::from_shape_vec((n0, n1, n2), (0..n0 * n1 * n2).map(|_| r()).collect()).unwrap();
    let bc = [Periodic, Periodic, Zero];
    let seq = prefilter_generic(f.view(), bc, Par::Seq).unwrap();
    let par = prefilter_generic(f.view(), bc, Par::with_threads(3)).unwrap();
    assert_eq!(seq, par);
    assert!(max_residual(&seq, &f, bc) < 1e-14);
    // Fortran layout and a strided view.
    let mut fort = Array3::<f64>::zeros((n0, n1, n2).f());
    fort.assign(&f);
    assert_eq!(prefilter_generic(fort.view(), bc, Par::Seq).unwrap(), seq);
    let big = Array3::from_shape_fn((n0, n1, 2 * n2), |(i, j, k)| {
        if k % 2 == 0 { f[[i, j, k / 2]] } else { 9.0 }
    });
    let view = big.slice(ndarray::s![.., .., ..;2]);
    assert_eq!(prefilter_generic(view, bc, Par::Seq).unwrap(), seq);
    // Linearity: prefilter(2f - 3g) = 2 prefilter(f) - 3 prefilter(g).
    let cg = prefilter(g.view(), bc).unwrap();
    let comb = prefilter((&f * 2.0 - &g * 3.0).view(), bc).unwrap();
    let want = &seq * 2.0 - &cg * 3.0;
    let err = comb
        .iter()
        .zip(want.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-13);
}

#[test]
fn bad_input_is_an_error() {
    let mut f = Array3::<f64>::zeros((3, 4, 5));
    f[[1, 2, 3]] = f64::NAN;
    match prefilter(f.view(), [Periodic; 3]) {
        Err(FitError::NonFiniteValue { index, value }) => {
            assert_eq!(index, vec![1, 2, 3]);
            assert!(value.is_nan());
        }
        other => panic!("{other:?}"),
    }
    f[[1, 2, 3]] = f64::INFINITY;
    assert!(matches!(
        prefilter(f.view(), [Zero; 3]),
        Err(FitError::NonFiniteValue { .. })
    ));
    let e = Array3::<f64>::zeros((3, 0, 5));
    assert!(matches!(
        prefilter(e.view(), [Mirror; 3]),
        Err(FitError::AxisTooShort {
            axis: 1,
            len: 0,
            ..
        })
    ));
}

/// A NaN or infinite sample anywhere (corners, edges, interior; opposite
/// infinities side by side) is named, for every boundary, f64 and f32, on a
/// grid large enough for the parallel path.
#[test]
fn non_finite_samples_anywhere_are_named() {
    let shape = (33, 17, 65);
    let spots: [[usize; 3]; 5] = [[0, 0, 0], [32, 16, 64], [16, 0, 64], [5, 7, 9], [32, 8, 0]];
    for bc in [
        [Periodic; 3],
        [Zero; 3],
        [Mirror; 3],
        [Mirror, Periodic, Zero],
    ] {
        for spot in spots {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut f = Array3::<f64>::from_elem(shape, 1.5);
                f[spot] = bad;
                match prefilter(f.view(), bc) {
                    Err(FitError::NonFiniteValue { index, value }) => {
                        assert_eq!(index, spot.to_vec(), "{bc:?}");
                        assert!(value.is_nan() == bad.is_nan(), "{bc:?} {value}");
                    }
                    other => panic!("{bc:?} {spot:?} {bad}: {other:?}"),
                }
                let f32s = f.mapv(|v| v as f32);
                assert!(
                    matches!(
                        bsfit::grid3::prefilter_f32(f32s.view(), bc),
                        Err(FitError::NonFiniteValue { ref index, .. }) if *index == spot.to_vec()
                    ),
                    "f32 {bc:?} {spot:?} {bad}"
                );
            }
            // +inf and -inf side by side (their weighted sums give NaN).
            let mut f = Array3::<f64>::from_elem(shape, 0.0);
            f[spot] = f64::INFINITY;
            let mut next = spot;
            next[2] = (spot[2] + 1) % shape.2;
            f[next] = f64::NEG_INFINITY;
            let first = spot.min(next).to_vec();
            assert!(
                matches!(
                    prefilter(f.view(), bc),
                    Err(FitError::NonFiniteValue { ref index, .. }) if *index == first
                ),
                "{bc:?} {spot:?} ±inf"
            );
        }
    }
}

/// Every available instruction set gives bit-identical coefficients to the scalar build.
#[test]
fn isa_paths_are_bit_identical() {
    use bsfit::Isa;
    use bsfit::grid3::direct::DirectPlan;
    let mut r = rng(21);
    for shape in [[17usize, 9, 33], [64, 8, 70]] {
        let len: usize = shape.iter().product();
        let f: Vec<f64> = (0..len).map(|_| r()).collect();
        for bc in [[Periodic, Zero, Mirror], [Mirror, Periodic, Periodic]] {
            let mut want = vec![0.0; len];
            DirectPlan::<f64>::new(shape, bc, Par::Seq)
                .with_isa(Isa::Scalar)
                .unwrap()
                .solve(&f, &mut want);
            for isa in Isa::available() {
                let mut got = vec![0.0; len];
                DirectPlan::<f64>::new(shape, bc, Par::with_threads(2))
                    .with_isa(isa)
                    .unwrap()
                    .solve(&f, &mut got);
                assert_eq!(got, want, "{isa:?} {shape:?} {bc:?}");
            }
        }
    }
}
