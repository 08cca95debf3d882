//! The B-spline operator against an independent oracle: the 27 weights applied to the
//! grid padded by the boundary rule, written here from the definitions.

use bsfit::Par;
use bsfit::grid3::Boundary::{self, *};
use bsfit::grid3::StencilForm;
use bsfit::grid3::operator::StencilOp;

use crate::common;
use common::{oracle, rng};

const SHAPES: [[usize; 3]; 9] = [
    [1, 1, 1],
    [2, 1, 3],
    [3, 2, 1],
    [1, 5, 4],
    [4, 4, 4],
    [5, 3, 7],
    [8, 9, 6],
    [7, 16, 17],
    [33, 6, 5],
];

fn all_bcs() -> Vec<[Boundary; 3]> {
    let bs = [Periodic, Zero, Mirror];
    let mut v = Vec::new();
    for a in bs {
        for b in bs {
            for c in bs {
                v.push([a, b, c]);
            }
        }
    }
    v
}

#[test]
fn every_form_matches_the_padded_oracle() {
    let mut r = rng(7);
    for shape in SHAPES {
        let len = shape.iter().product();
        let c: Vec<f64> = (0..len).map(|_| r()).collect();
        for bc in all_bcs() {
            let want = oracle(&c, shape, bc);
            for par in [Par::Seq, Par::with_threads(2)] {
                let op = StencilOp::<f64>::bspline(shape, bc, false, StencilForm::Direct, par);
                let mut got = vec![f64::NAN; len];
                op.apply_reference(&c, &mut got);
                let err = |g: &[f64]| {
                    g.iter()
                        .zip(&want)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f64::max)
                };
                assert!(err(&got) < 1e-15, "reference {shape:?} {bc:?}");
                op.apply_slice(&c, &mut got);
                assert!(err(&got) < 1e-15, "direct {shape:?} {bc:?}");
                let op = op.with_form(StencilForm::Separable);
                got.fill(f64::NAN);
                op.apply_slice(&c, &mut got);
                assert!(err(&got) < 1e-15, "separable {shape:?} {bc:?}");
            }
        }
    }
}

/// Larger grid (to exercise the rayon split and the plane cache) and f32 vs f64.
#[test]
fn parallel_and_f32_agree() {
    let shape = [40, 24, 20];
    let len = shape.iter().product();
    let mut r = rng(11);
    let c: Vec<f64> = (0..len).map(|_| r()).collect();
    let c32: Vec<f32> = c.iter().map(|&v| v as f32).collect();
    for bc in [
        [Periodic, Periodic, Zero],
        [Mirror, Zero, Periodic],
        [Mirror; 3],
    ] {
        let want = oracle(&c, shape, bc);
        for form in [StencilForm::Direct, StencilForm::Separable] {
            let op = StencilOp::<f64>::bspline(shape, bc, false, form, Par::with_threads(3));
            let mut got = vec![0.0; len];
            op.apply_slice(&c, &mut got);
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-15);
            }
            let op = StencilOp::<f32>::bspline(shape, bc, false, form, Par::with_threads(2));
            let mut g32 = vec![0.0f32; len];
            op.apply_slice(&c32, &mut g32);
            for (a, b) in g32.iter().zip(&want) {
                assert!((*a as f64 - b).abs() < 2e-6);
            }
        }
    }
}

/// The symmetrised mirror operator is `S B S⁻¹` (S = 1/√2 on the end planes of mirror axes)
/// and is symmetric: `xᵀ(B_s y) = yᵀ(B_s x)`.
#[test]
fn symmetrised_mirror_is_similar_and_symmetric() {
    let shape = [5, 4, 6];
    let bc = [Mirror, Periodic, Mirror];
    let len = 120;
    let mut r = rng(3);
    let x: Vec<f64> = (0..len).map(|_| r()).collect();
    let y: Vec<f64> = (0..len).map(|_| r()).collect();
    let s = |i: usize, j: usize, k: usize| {
        let e = |v: usize, n: usize| {
            if v == 0 || v == n - 1 {
                0.5f64.sqrt()
            } else {
                1.0
            }
        };
        let _ = j;
        e(i, 5) * e(k, 6)
    };
    let bs = StencilOp::<f64>::bspline(shape, bc, true, StencilForm::Separable, Par::Seq);
    let mut bx = vec![0.0; len];
    bs.apply_slice(&x, &mut bx);
    // S B S⁻¹ x via the oracle.
    let mut sx = x.clone();
    for i in 0..5 {
        for j in 0..4 {
            for k in 0..6 {
                sx[(i * 4 + j) * 6 + k] /= s(i, j, k);
            }
        }
    }
    let mut want = oracle(&sx, shape, bc);
    for i in 0..5 {
        for j in 0..4 {
            for k in 0..6 {
                want[(i * 4 + j) * 6 + k] *= s(i, j, k);
            }
        }
    }
    for (a, b) in bx.iter().zip(&want) {
        assert!((a - b).abs() < 1e-15);
    }
    let mut by = vec![0.0; len];
    bs.apply_slice(&y, &mut by);
    let xby: f64 = x.iter().zip(&by).map(|(a, b)| a * b).sum();
    let ybx: f64 = y.iter().zip(&bx).map(|(a, b)| a * b).sum();
    assert!((xby - ybx).abs() < 1e-13);
}

/// Every available instruction set gives bit-identical results to the scalar build.
#[test]
fn isa_paths_are_bit_identical() {
    use bsfit::Isa;
    let shape = [9, 17, 33];
    let len = shape.iter().product();
    let mut r = rng(17);
    let c: Vec<f64> = (0..len).map(|_| r()).collect();
    for bc in [[Periodic, Zero, Mirror], [Mirror, Mirror, Periodic]] {
        for form in [StencilForm::Direct, StencilForm::Separable] {
            let base = StencilOp::<f64>::bspline(shape, bc, false, form, Par::Seq);
            let mut want = vec![0.0; len];
            base.clone()
                .with_isa(Isa::Scalar)
                .unwrap()
                .apply_slice(&c, &mut want);
            for isa in Isa::available() {
                let mut got = vec![0.0; len];
                base.clone()
                    .with_isa(isa)
                    .unwrap()
                    .apply_slice(&c, &mut got);
                assert_eq!(got, want, "{isa:?} {form:?} {bc:?}");
            }
        }
    }
}
