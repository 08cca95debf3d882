//! One-shot fits reuse cached workspaces and the coefficient arrays of
//! dropped splines: results must equal a fresh plan's, whatever the cached
//! buffers held before.

use bsfit::{DynSpline, Fitter, TensorSpline};
use ndarray::Array3;

fn axis(n: usize, s: f64) -> Vec<f64> {
    (0..n)
        .map(|i| s * (i as f64 + 0.05 * (i * i) as f64))
        .collect()
}

#[test]
fn recycled_buffers_give_the_fresh_plan_result() {
    // Above the cache's minimum (2^16 values), in two shapes.
    for (shape, s) in [([40usize, 41, 42], 1.0), ([64, 33, 35], 0.5)] {
        let axes = [axis(shape[0], s), axis(shape[1], 2.0), axis(shape[2], 0.3)];
        let ax = [&axes[0][..], &axes[1][..], &axes[2][..]];
        let plan = Fitter::new(ax).unwrap();
        for round in 0..4 {
            let v = Array3::from_shape_fn(shape, |(i, j, k)| {
                ((i * 7 + j * 3 + k + round) % 11) as f64 - 5.0
            });
            // A spline with other coefficients is dropped first, so its
            // array (and a used workspace) are what the next fit gets.
            let junk = Array3::from_elem(shape, f64::MAX / 8.0);
            drop(TensorSpline::fit(ax, junk.view()).unwrap());
            let one_shot = TensorSpline::fit(ax, v.view()).unwrap();
            let mut reference = vec![f64::NAN; v.len()];
            plan.fit_into_with(v.as_slice().unwrap(), &mut reference, &mut plan.workspace())
                .unwrap();
            assert_eq!(
                one_shot.coefficients_slice(),
                &reference[..],
                "{shape:?} round {round}"
            );
            let dynamic = DynSpline::fit(&ax, v.as_slice().unwrap()).unwrap();
            assert_eq!(dynamic.coefficients(), &reference[..]);
        }
    }
}

#[test]
fn failed_fits_leave_the_cache_usable() {
    let axes = [axis(50, 1.0), axis(40, 1.0), axis(40, 1.0)];
    let ax = [&axes[0][..], &axes[1][..], &axes[2][..]];
    let mut v = Array3::from_elem((50, 40, 40), 1.0);
    v[[3, 4, 5]] = f64::NAN;
    assert!(TensorSpline::fit(ax, v.view()).is_err());
    v[[3, 4, 5]] = 1.0;
    let s = TensorSpline::fit(ax, v.view()).unwrap();
    assert!(
        s.coefficients_slice()
            .iter()
            .all(|&c| (c - 1.0).abs() < 1e-12)
    );
}

#[test]
fn large_blocked_fits_reuse_their_arrays_and_release_them() {
    // 4.6M points (37 MB): above the workspace bound and the rotating
    // scheme's limit, so the auto scheme solves in blocks; the dropped
    // array is kept for the next fit of that size, then released.
    let shape = [40usize, 36, 50, 64];
    let axes = [axis(40, 1.0), axis(36, 0.5), axis(50, 2.0), axis(64, 0.25)];
    let ax = [&axes[0][..], &axes[1][..], &axes[2][..], &axes[3][..]];
    let plan = Fitter::new(ax).unwrap();
    let mut reference = vec![f64::NAN; shape.iter().product()];
    for round in 0..3 {
        let v = ndarray::Array4::from_shape_fn(shape, |(i, j, k, l)| {
            ((i * 5 + j * 3 + k * 7 + l + round) % 13) as f64 - 6.0
        });
        plan.fit_into_with(v.as_slice().unwrap(), &mut reference, &mut plan.workspace())
            .unwrap();
        let junk = ndarray::Array4::from_elem(shape, -3.5e300);
        drop(TensorSpline::fit(ax, junk.view()).unwrap());
        if round == 2 {
            bsfit::release_cached_memory();
        }
        let one_shot = TensorSpline::fit(ax, v.view()).unwrap();
        assert_eq!(
            one_shot.coefficients_slice(),
            &reference[..],
            "round {round}"
        );
    }
}
