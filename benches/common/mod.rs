//! Shared inputs for the criterion benches: seeded values, grids, pools.
#![allow(dead_code)]

use bsfit::{Fitter, Isa, Par, TensorSpline};

/// SplitMix64.
pub struct Rng(pub u64);
impl Rng {
    pub fn f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Uniform sites on [0, 1] for each axis.
pub fn axes(shape: [usize; 4]) -> [Vec<f64>; 4] {
    std::array::from_fn(|k| {
        (0..shape[k])
            .map(|i| i as f64 / (shape[k] - 1) as f64)
            .collect()
    })
}

/// Random values on the grid.
pub fn values(shape: [usize; 4]) -> Vec<f64> {
    let mut rng = Rng(7);
    (0..shape.iter().product::<usize>())
        .map(|_| rng.f64())
        .collect()
}

/// A fitter for `shape` with the given ISA and thread count.
pub fn fitter(shape: [usize; 4], isa: Isa, threads: usize) -> Fitter<4> {
    let ax = axes(shape);
    Fitter::new([&ax[0][..], &ax[1][..], &ax[2][..], &ax[3][..]])
        .expect("valid axes")
        .with_par(Par::with_threads(threads))
        .with_isa(isa)
        .expect("available ISA")
}

/// The spline fitted to random values on 50×30×20×10.
pub fn spline_50_30_20_10() -> TensorSpline<4> {
    let shape = [50, 30, 20, 10];
    let f = fitter(shape, Isa::detect(), 1);
    let v = ndarray::Array4::from_shape_vec((50, 30, 20, 10), values(shape)).expect("shape");
    f.fit(v.view()).expect("fit")
}

/// A rayon pool of `n` threads; with `BSFIT_PIN=1` each worker is pinned
/// to one core through `core_affinity`.
pub fn pool(n: usize) -> rayon::ThreadPool {
    let pin = std::env::var("BSFIT_PIN").is_ok_and(|v| v == "1");
    bsfit::par::thread_pool(n, pin).expect("thread pool")
}
