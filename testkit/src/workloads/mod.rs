//! The benchmark workloads: the inputs that the criterion benches
//! (`cargo bench`) and the `bsfit bench` table measure, produced here once so
//! that both measure the same data.
//!
//! | workload | shapes | inputs |
//! |---|---|---|
//! | 4D fit (`fit4d`, `refit`) | [`FIT4D_SHAPES`] | [`unit_axes`], [`grid_values`], [`refit_value_sets`] |
//! | 4D evaluation (`eval4d`) | [`EVAL4D_SHAPE`], [`EVAL4D_L2_SHAPE`] | [`grid_values`], [`unit_points`] |
//! | Cox–de Boor basis (`basis`) | [`BASIS_POINTS`] points | [`basis_sites`], [`basis_points`] |
//! | 3D operator and direct solve | [`GRID3_SIZES`]³ | [`grid3_field`] |
//! | 3D iterative solvers | [`GRID3_SOLVER_SIZE`]³ | [`grid3_field`] |
//! | Black–Scholes price table (the demo) | [`price_table::SHAPE`] | [`price_table`] |
//!
//! Every random input comes from [`SplitMix64`] with a fixed seed (the
//! `*_SEED` constants), so a workload is the same on every run and machine.
//!
//! ```
//! use bsfit_testkit::workloads::{FIT4D_SHAPES, grid_values, unit_axes};
//!
//! for shape in FIT4D_SHAPES {
//!     let axes = unit_axes(shape);
//!     let values = grid_values(shape);
//!     assert_eq!(values.len(), axes.iter().map(Vec::len).product::<usize>());
//! }
//! ```

use crate::SplitMix64;

pub mod price_table;

/// The 4D fit shapes, smallest first: 20×20×10×5 (20k values, cache
/// resident), 50×30×20×10 (the headline 300k), 100×50×30×20 (3M) and
/// 200×100×50×30 (30M values, 240 MB: memory bound).
pub const FIT4D_SHAPES: [[usize; 4]; 4] = [
    [20, 20, 10, 5],
    [50, 30, 20, 10],
    [100, 50, 30, 20],
    [200, 100, 50, 30],
];

/// How many of [`FIT4D_SHAPES`] are the small shapes (up to 300k values),
/// quick enough for repeated A/B runs.
pub const FIT4D_SMALL: usize = 2;

/// The shape of the fitted spline the evaluation benches run on, and of the
/// refit bench.
pub const EVAL4D_SHAPE: [usize; 4] = [50, 30, 20, 10];

/// A table that fits a core's L2 cache (80 kB of coefficients): the
/// evaluation benches' second spline, where the time is not memory.
pub const EVAL4D_L2_SHAPE: [usize; 4] = [20, 20, 10, 5];

/// Batch sizes of the evaluation benches (points per `eval_many` call).
pub const EVAL_BATCH_SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];

/// Points per call of the small-batch evaluation bench.
pub const EVAL_SMALL_BATCH: usize = 100;

/// Thread counts the 4D benches run at.
pub const THREADS: [usize; 2] = [1, 2];

/// Seed of [`grid_values`].
pub const VALUES_SEED: u64 = 7;
/// Seed of [`unit_points`].
pub const POINTS_SEED: u64 = 11;
/// Seed of [`refit_value_sets`].
pub const REFIT_SEED: u64 = 3;
/// Seed of [`basis_sites`]; [`basis_points`] uses the next one.
pub const BASIS_SEED: u64 = 5;
/// Seed of the 3D fields ([`grid3_field`]).
pub const GRID3_SEED: u64 = 0x5EED;

/// Numbers of points of the basis benches (criterion runs all of them, the
/// `bsfit bench` table the largest).
pub const BASIS_POINTS: [usize; 3] = [8, 256, 4096];

/// Edge lengths of the cubic 3D grids of the operator and direct-solve benches.
pub const GRID3_SIZES: [usize; 2] = [64, 128];

/// Edge length of the cubic 3D grid of the iterative-solver bench (whole
/// solves to 1e-6 take seconds at 128³).
pub const GRID3_SOLVER_SIZE: usize = 48;

/// `n` uniformly spaced sites on `[0, 1]`: `i / (n − 1)`.
///
/// # Panics
/// If `n < 2`.
pub fn unit_axis(n: usize) -> Vec<f64> {
    assert!(n >= 2, "an axis needs at least 2 sites, got {n}");
    (0..n).map(|i| i as f64 / (n - 1) as f64).collect()
}

/// One [`unit_axis`] per extent of `shape`: the grid of the fit and
/// evaluation benches.
pub fn unit_axes<const D: usize>(shape: [usize; D]) -> [Vec<f64>; D] {
    std::array::from_fn(|k| unit_axis(shape[k]))
}

/// Values uniform in `[0, 1)` for every point of a grid of `shape`, row-major
/// (seed [`VALUES_SEED`]). Random values are the worst case for the solves'
/// accuracy and the same work as smooth ones.
pub fn grid_values<const D: usize>(shape: [usize; D]) -> Vec<f64> {
    let total = shape.iter().product();
    SplitMix64::new(VALUES_SEED).uniform_vec(total, 0.0, 1.0)
}

/// Copies the first slice along `axis` onto the last one, so that the values
/// are periodic along `axis` (equal at both ends), as a periodic boundary
/// condition requires.
pub fn make_periodic<const D: usize>(values: &mut [f64], shape: [usize; D], axis: usize) {
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    for o in 0..outer {
        let base = o * n * inner;
        values.copy_within(base..base + inner, base + (n - 1) * inner);
    }
}

/// `sets` independent value sets for a grid of `shape` (seed
/// [`REFIT_SEED`]): the refit bench cycles through them so that no fit reads
/// the previous fit's input from cache.
pub fn refit_value_sets<const D: usize>(shape: [usize; D], sets: usize) -> Vec<Vec<f64>> {
    let total = shape.iter().product();
    let mut rng = SplitMix64::new(REFIT_SEED);
    (0..sets)
        .map(|_| rng.uniform_vec(total, 0.0, 1.0))
        .collect()
}

/// `n` points uniform in the unit cube `[0, 1)^D`, the domain of
/// [`unit_axes`] grids (seed [`POINTS_SEED`]). The points of a smaller `n`
/// are the first points of a larger one.
pub fn unit_points<const D: usize>(n: usize) -> Vec<[f64; D]> {
    let mut rng = SplitMix64::new(POINTS_SEED);
    (0..n)
        .map(|_| std::array::from_fn(|_| rng.next_f64()))
        .collect()
}

/// The 50 sites of the basis benches: `i + δᵢ` with `δᵢ` uniform in
/// `[0, 0.5)`, a mildly non-uniform axis on `[0, 49.5)` (seed
/// [`BASIS_SEED`]). The benches build its not-a-knot knot vector.
pub fn basis_sites() -> Vec<f64> {
    let mut rng = SplitMix64::new(BASIS_SEED);
    (0..50).map(|i| i as f64 + 0.5 * rng.next_f64()).collect()
}

/// `n` evaluation abscissae uniform in `[0, 49)`, over the span of
/// [`basis_sites`] (seed [`BASIS_SEED`]` + 1`; the first points of a smaller
/// `n` are those of a larger one).
pub fn basis_points(n: usize) -> Vec<f64> {
    SplitMix64::new(BASIS_SEED + 1).uniform_vec(n, 0.0, 49.0)
}

/// A random field of `len` samples uniform in `[-1, 1)` (seed `seed`; the 3D
/// benches and the `bsfit grid3` report use [`GRID3_SEED`]). Random samples
/// excite every mode of the 3D operator, the hard case for the iterative
/// solvers.
pub fn grid3_field(len: usize, seed: u64) -> Vec<f64> {
    SplitMix64::new(seed).uniform_vec(len, -1.0, 1.0)
}

/// [`grid3_field`] in single precision, generated directly from 24 random
/// bits per sample (for the GPU path, which is f32).
pub fn grid3_field_f32(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..len).map(|_| 2.0 * rng.next_f32() - 1.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_domains() {
        for shape in FIT4D_SHAPES {
            let axes = unit_axes(shape);
            for (a, &n) in axes.iter().zip(&shape) {
                assert_eq!((a.len(), a[0], a[n - 1]), (n, 0.0, 1.0));
                assert!(a.windows(2).all(|w| w[0] < w[1]));
            }
        }
        assert!(FIT4D_SHAPES[..FIT4D_SMALL].contains(&EVAL4D_SHAPE));
        let v = grid_values([4, 5, 6]);
        assert_eq!(v.len(), 120);
        assert!(v.iter().all(|x| (0.0..1.0).contains(x)));
        let sets = refit_value_sets([4, 5], 3);
        assert_eq!(sets.len(), 3);
        assert_ne!(sets[0], sets[1]);
    }

    #[test]
    fn points_are_prefixes() {
        let a = unit_points::<4>(10);
        let b = unit_points::<4>(100);
        assert_eq!(a[..], b[..10]);
        assert!(b.iter().flatten().all(|x| (0.0..1.0).contains(x)));
        assert_eq!(basis_points(8)[..], basis_points(256)[..8]);
    }

    #[test]
    fn basis_points_lie_below_the_last_site() {
        let s = basis_sites();
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        let hi = s[s.len() - 1];
        assert!(basis_points(4096).iter().all(|&x| (0.0..hi).contains(&x)));
    }

    #[test]
    fn fields() {
        let f = grid3_field(1000, GRID3_SEED);
        assert!(f.iter().all(|x| (-1.0..1.0).contains(x)));
        let g = grid3_field_f32(1000, GRID3_SEED);
        assert!(g.iter().all(|x| (-1.0..1.0).contains(x)));
        // Both draw the same 64-bit words: the f32 field rounds the f64 one down.
        for (a, b) in f.iter().zip(&g) {
            assert!((*a - *b as f64).abs() < 2.0 / (1u64 << 23) as f64);
        }
    }
}
