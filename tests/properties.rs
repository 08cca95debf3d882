//! Property tests (proptest) of the N-D fitter: reproduction of tensor-product
//! cubic polynomials, linearity in the values, and consistency under a
//! permutation of the axes. Tolerances are scaled by the product of the
//! per-axis condition estimates and the data magnitude.

use bsfit::{Fitter, TensorSpline};
use ndarray::{Array, Array2, Array3, IxDyn};
use proptest::prelude::*;

/// Strictly increasing sites from a start and positive steps.
fn sites(start: f64, steps: &[f64]) -> Vec<f64> {
    let mut x = vec![start];
    for s in steps {
        let last = *x.last().unwrap();
        x.push(last + s);
    }
    x
}

/// An axis of 4 to `max` sites with step ratios up to 20.
fn axis(max: usize) -> impl Strategy<Value = Vec<f64>> {
    (-5.0f64..5.0, prop::collection::vec(0.1f64..2.0, 3..max)).prop_map(|(a, s)| sites(a, &s))
}

fn cubic(c: &[f64; 4], x: f64) -> f64 {
    c[0] + x * (c[1] + x * (c[2] + x * c[3]))
}

fn abs_cubic(c: &[f64; 4], x: f64) -> f64 {
    let a = x.abs();
    c[0].abs() + a * (c[1].abs() + a * (c[2].abs() + a * c[3].abs()))
}

fn coef4() -> impl Strategy<Value = [f64; 4]> {
    prop::array::uniform4(-1.0f64..1.0)
}

/// `ε · Π condition` — the rounding scale of a fit.
fn unit<const D: usize>(f: &Fitter<D>) -> f64 {
    64.0 * f64::EPSILON * f.condition_estimates().iter().product::<f64>()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A product of cubics lies in the spline space of every grid: the fit
    /// returns it, and its derivatives, everywhere in the domain.
    #[test]
    fn reproduces_tensor_cubics_2d(
        x in axis(14), y in axis(14), p in coef4(), q in coef4(),
        t in prop::collection::vec((0.0f64..1.0, 0.0f64..1.0), 20),
    ) {
        let v = Array2::from_shape_fn((x.len(), y.len()), |(i, j)| cubic(&p, x[i]) * cubic(&q, y[j]));
        let f = Fitter::new([&x[..], &y[..]]).unwrap();
        let s = f.fit(v.view()).unwrap();
        let tol = unit(&f) * 100.0;
        for (a, b) in t {
            let px = x[0] + a * (x[x.len() - 1] - x[0]);
            let py = y[0] + b * (y[y.len() - 1] - y[0]);
            let scale = abs_cubic(&p, px) * abs_cubic(&q, py) + 1.0;
            let want = cubic(&p, px) * cubic(&q, py);
            prop_assert!((s.eval([px, py]) - want).abs() <= tol * scale);
        }
    }

    #[test]
    fn reproduces_tensor_cubics_3d(
        x in axis(8), y in axis(8), z in axis(8), p in coef4(), q in coef4(), r in coef4(),
        t in prop::collection::vec(prop::array::uniform3(0.0f64..1.0), 10),
    ) {
        let v = Array3::from_shape_fn((x.len(), y.len(), z.len()), |(i, j, k)| {
            cubic(&p, x[i]) * cubic(&q, y[j]) * cubic(&r, z[k])
        });
        let f = Fitter::new([&x[..], &y[..], &z[..]]).unwrap();
        let s = f.fit(v.view()).unwrap();
        let tol = unit(&f) * 100.0;
        for u in t {
            let ax = [&x, &y, &z];
            let pt: [f64; 3] = std::array::from_fn(|k| ax[k][0] + u[k] * (ax[k][ax[k].len() - 1] - ax[k][0]));
            let want = cubic(&p, pt[0]) * cubic(&q, pt[1]) * cubic(&r, pt[2]);
            let scale = abs_cubic(&p, pt[0]) * abs_cubic(&q, pt[1]) * abs_cubic(&r, pt[2]) + 1.0;
            prop_assert!((s.eval(pt) - want).abs() <= tol * scale);
        }
    }

    /// fit(a·u + b·v) = a·fit(u) + b·fit(v) up to rounding.
    #[test]
    fn fit_is_linear(
        x in axis(12), y in axis(12), a in -4.0f64..4.0, b in -4.0f64..4.0, seed in any::<u64>(),
    ) {
        let mut st = seed | 1;
        let mut next = move || { st ^= st << 13; st ^= st >> 7; st ^= st << 17; (st >> 11) as f64 / (1u64 << 53) as f64 - 0.5 };
        let u = Array2::from_shape_fn((x.len(), y.len()), |_| next());
        let w = Array2::from_shape_fn((x.len(), y.len()), |_| next());
        let f = Fitter::new([&x[..], &y[..]]).unwrap();
        let cu = f.fit(u.view()).unwrap();
        let cw = f.fit(w.view()).unwrap();
        let mix = &u * a + &w * b;
        let cm = f.fit(mix.view()).unwrap();
        let tol = unit(&f) * 4.0 * (a.abs() + b.abs() + 1.0);
        for ((m, p), q) in cm.coefficients_slice().iter().zip(cu.coefficients_slice()).zip(cw.coefficients_slice()) {
            prop_assert!((m - (a * p + b * q)).abs() <= tol, "{m} vs {}", a * p + b * q);
        }
    }

    /// Fitting the transposed grid gives the transposed coefficients.
    #[test]
    fn axis_permutation_2d(x in axis(12), y in axis(12), seed in any::<u64>()) {
        let mut st = seed | 1;
        let mut next = move || { st ^= st << 13; st ^= st >> 7; st ^= st << 17; (st >> 11) as f64 / (1u64 << 53) as f64 - 0.5 };
        let v = Array2::from_shape_fn((x.len(), y.len()), |_| next());
        let f = Fitter::new([&x[..], &y[..]]).unwrap();
        let s = f.fit(v.view()).unwrap();
        let st = TensorSpline::fit([&y[..], &x[..]], v.t()).unwrap();
        let tol = unit(&f) * 4.0;
        let c = s.coefficients();
        let ct = st.coefficients();
        for i in 0..x.len() {
            for j in 0..y.len() {
                prop_assert!((c[[i, j]] - ct[[j, i]]).abs() <= tol);
            }
        }
        // Evaluation agrees at swapped coordinates.
        let (px, py) = (0.3 * x[0] + 0.7 * x[x.len() - 1], 0.6 * y[0] + 0.4 * y[y.len() - 1]);
        prop_assert!((s.eval([px, py]) - st.eval([py, px])).abs() <= tol * 4.0);
    }

    #[test]
    fn axis_permutation_3d(x in axis(7), y in axis(7), z in axis(7), perm in 0usize..6, seed in any::<u64>()) {
        let perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
        let pm = perms[perm];
        let mut st = seed | 1;
        let mut next = move || { st ^= st << 13; st ^= st >> 7; st ^= st << 17; (st >> 11) as f64 / (1u64 << 53) as f64 - 0.5 };
        let ax = [&x, &y, &z];
        let v = Array3::from_shape_fn((x.len(), y.len(), z.len()), |_| next());
        let f = Fitter::new([&x[..], &y[..], &z[..]]).unwrap();
        let s = f.fit(v.view()).unwrap();
        // Axis k of the permuted problem is axis pm[k] of the original.
        let vp = v.view().permuted_axes(pm);
        let sp = TensorSpline::fit([&ax[pm[0]][..], &ax[pm[1]][..], &ax[pm[2]][..]], vp).unwrap();
        let cp = sp.coefficients();
        let c = s.coefficients().permuted_axes(pm.to_vec());
        let tol = unit(&f) * 4.0;
        for (a, b) in c.iter().zip(cp.iter()) {
            prop_assert!((a - b).abs() <= tol, "{a} vs {b}");
        }
    }

    /// Batch evaluation equals pointwise evaluation bit for bit, in any dimension.
    #[test]
    fn batch_equals_pointwise(d in 1usize..=4, seed in any::<u64>()) {
        let mut st = seed | 1;
        let mut next = move || { st ^= st << 13; st ^= st >> 7; st ^= st << 17; (st >> 11) as f64 / (1u64 << 53) as f64 };
        let n = 5;
        let axes: Vec<Vec<f64>> = (0..d).map(|_| { let mut a = 0.0; (0..n).map(|_| { a += 0.2 + next(); a }).collect() }).collect();
        let shape = vec![n; d];
        let vals = Array::from_shape_fn(IxDyn(&shape), |_| next());
        let pts: Vec<Vec<f64>> = (0..700).map(|_| (0..d).map(|_| next() * 8.0 - 1.0).collect()).collect();
        macro_rules! go { ($D:literal) => {{
            let v = vals.clone().into_dimensionality::<ndarray::Dim<[usize; $D]>>().unwrap();
            let ax: [&[f64]; $D] = std::array::from_fn(|k| axes[k].as_slice());
            let s = TensorSpline::<$D>::fit(ax, v.view()).unwrap();
            let p: Vec<[f64; $D]> = pts.iter().map(|q| std::array::from_fn(|k| q[k])).collect();
            let many = s.eval_many(&p);
            for (i, q) in p.iter().enumerate() {
                prop_assert_eq!(many[i].to_bits(), s.eval(*q).to_bits());
            }
        }}}
        match d { 1 => go!(1), 2 => go!(2), 3 => go!(3), _ => go!(4) }
    }
}

// ---- The uniform 3D path ----

use bsfit::grid3::direct::DirectPlan;
use bsfit::grid3::operator::StencilOp;
use bsfit::grid3::{Boundary, StencilForm, prefilter, prefilter_f32};
use bsfit::{Isa, Par};

fn boundary() -> impl Strategy<Value = Boundary> {
    prop_oneof![
        Just(Boundary::Periodic),
        Just(Boundary::Zero),
        Just(Boundary::Mirror)
    ]
}

fn grid3_case() -> impl Strategy<Value = ([usize; 3], [Boundary; 3], Vec<f64>)> {
    (
        prop::array::uniform3(1usize..11),
        prop::array::uniform3(boundary()),
    )
        .prop_flat_map(|(shape, bc)| {
            let len = shape.iter().product::<usize>();
            (
                Just(shape),
                Just(bc),
                prop::collection::vec(-1.0f64..1.0, len),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Single precision agrees with double to `ε_f32` times the operator's
    /// condition bound (`‖B⁻¹‖∞ ≤ 27`).
    #[test]
    fn grid3_f32_matches_f64((shape, bc, f) in grid3_case()) {
        let a = Array::from_shape_vec(IxDyn(&shape), f).unwrap()
            .into_dimensionality::<ndarray::Ix3>().unwrap();
        let c = prefilter(a.view(), bc).unwrap();
        let c32 = prefilter_f32(a.mapv(|v| v as f32).view(), bc).unwrap();
        let tol = 27.0 * 16.0 * f32::EPSILON as f64;
        for (x, y) in c32.iter().zip(c.iter()) {
            prop_assert!((*x as f64 - y).abs() <= tol, "{x} vs {y}");
        }
    }

    /// Every instruction set this CPU has gives the scalar result bit for bit,
    /// for the direct solve and the stencil operator, with output buffers
    /// pre-filled with NaN (nothing stale may leak through).
    #[test]
    fn grid3_isa_kernels_equal_scalar((shape, bc, f) in grid3_case(), form_direct in any::<bool>()) {
        let len = f.len();
        let mut want = vec![f64::NAN; len];
        DirectPlan::<f64>::new(shape, bc, Par::Seq).with_isa(Isa::Scalar).unwrap().solve(&f, &mut want);
        let form = if form_direct { StencilForm::Direct } else { StencilForm::Separable };
        let op = StencilOp::<f64>::bspline(shape, bc, false, form, Par::Seq);
        let mut want_b = vec![f64::NAN; len];
        op.clone().with_isa(Isa::Scalar).unwrap().apply_slice(&f, &mut want_b);
        for isa in Isa::available() {
            let mut got = vec![f64::NAN; len];
            DirectPlan::<f64>::new(shape, bc, Par::Seq).with_isa(isa).unwrap().solve(&f, &mut got);
            prop_assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "{isa:?} direct");
            let mut got_b = vec![f64::NAN; len];
            op.clone().with_isa(isa).unwrap().apply_slice(&f, &mut got_b);
            prop_assert!(got_b.iter().zip(&want_b).all(|(a, b)| a.to_bits() == b.to_bits()), "{isa:?} stencil");
        }
    }
}
