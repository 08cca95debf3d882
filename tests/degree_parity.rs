//! Degrees 1, 3 and 5 per axis against scipy.
//!
//! The fixtures in `tests/fixtures/degrees/*.json` come from
//! `tools/gen_fixtures.py` (scipy 1.17.1's `make_interp_spline(x_a, c,
//! k=k_a, axis=a)` along every axis, cross-checked against `make_ndbspl`
//! with a direct sparse solve; values and derivatives from `NdBSpline(t, c,
//! k)` at points inside and slightly outside the domain). Every compared
//! array `want` passes when `max |got − want| ≤ 1e-12 · max(1, max |want|)`.

use bsfit::tensor::{Partial, Query};
use bsfit::{BoundaryCondition, Degree, DynFitter, DynSpline};
use ndarray::Array2;
use serde_json::Value;
use std::path::PathBuf;

const RTOL: f64 = 1e-12;

const CASES: [&str; 16] = [
    "k1_n2", "k1_n9", "k5_n6", "k5_n7", "k5_n15", "k15_2d", "k53_2d", "k55_2d", "k315_3d",
    "k5135_4d", "k2_n3", "k2_n10", "k4_n5", "k4_n12", "k24_2d", "k2435_4d",
];

fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/degrees")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let err = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0f64, f64::max);
    assert!(
        err <= RTOL * scale,
        "{what}: max error {err:e} (scale {scale})"
    );
}

fn fitted(case: &Value) -> DynSpline {
    let axes: Vec<Vec<f64>> = case["axes"].as_array().unwrap().iter().map(f64s).collect();
    let refs: Vec<&[f64]> = axes.iter().map(|a| &a[..]).collect();
    let ks: Vec<Degree> = usizes(&case["degrees"])
        .into_iter()
        .map(|k| Degree::try_from(k).unwrap())
        .collect();
    let bc = vec![BoundaryCondition::NOT_A_KNOT; refs.len()];
    let fitter = DynFitter::with_boundary_degrees(&refs, &bc, &ks).unwrap();
    fitter.fit(&f64s(&case["values"])).unwrap()
}

#[test]
fn knots_coefficients_and_derivatives_match_scipy() {
    for name in CASES {
        let case = load(name);
        let d = case["dim"].as_u64().unwrap() as usize;
        let s = fitted(&case);
        for (a, t) in case["knots"].as_array().unwrap().iter().enumerate() {
            // The knots are sites (or, at even degrees, midpoints of two
            // sites, computed as numpy does): equal bit for bit.
            assert_eq!(
                s.knots(a).unwrap(),
                &f64s(t)[..],
                "{name}: knots of axis {a}"
            );
        }
        close(
            &format!("{name}: coefficients"),
            s.coefficients(),
            &f64s(&case["coefficients"]),
        );
        let pts: Vec<f64> = case["points"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(f64s)
            .collect();
        let n = pts.len() / d;
        let pts = Array2::from_shape_vec((n, d), pts).unwrap();
        let derivs = case["derivs"].as_array().unwrap();
        let outputs: Vec<Partial> = derivs
            .iter()
            .map(|e| Partial::new(&usizes(&e["orders"])).unwrap())
            .collect();
        let got = s
            .evaluate(&Query::at(pts.view()).outputs(&outputs))
            .unwrap();
        for (j, e) in derivs.iter().enumerate() {
            let col: Vec<f64> = (0..n).map(|i| got[[i, j]]).collect();
            close(
                &format!("{name}: orders {:?}", usizes(&e["orders"])),
                &col,
                &f64s(&e["values"]),
            );
        }
        // The spline rebuilt from scipy's knots and coefficients evaluates
        // the same.
        let knots: Vec<Vec<f64>> = case["knots"].as_array().unwrap().iter().map(f64s).collect();
        let ks: Vec<Degree> = usizes(&case["degrees"])
            .into_iter()
            .map(|k| Degree::try_from(k).unwrap())
            .collect();
        let r = DynSpline::from_parts_degrees(
            knots,
            f64s(&case["coefficients"]),
            &vec![false; d],
            &[],
            &ks,
        )
        .unwrap();
        let got = r
            .evaluate(&Query::at(pts.view()).outputs(&outputs))
            .unwrap();
        for (j, e) in derivs.iter().enumerate() {
            let col: Vec<f64> = (0..n).map(|i| got[[i, j]]).collect();
            close(&format!("{name} (from parts)"), &col, &f64s(&e["values"]));
        }
    }
}
