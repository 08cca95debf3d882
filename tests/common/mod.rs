//! Shared helpers for the integration tests: seeded generators, tensor-cubic
//! oracles and the padded 27-point oracle of the 3D B-spline operator.
#![allow(dead_code)]

pub use bsfit_testkit::SplitMix64 as Rng;

/// `n` strictly increasing, non-uniform sites starting at `start`, steps in [0.3, 1.7]·h.
pub fn random_sites(rng: &mut Rng, n: usize, start: f64, h: f64) -> Vec<f64> {
    let mut x = Vec::with_capacity(n);
    let mut v = start;
    for _ in 0..n {
        x.push(v);
        v += h * rng.uniform(0.3, 1.7);
    }
    x
}

/// A cubic polynomial `a0 + a1 x + a2 x² + a3 x³` and its derivatives.
#[derive(Clone, Copy, Debug)]
pub struct Cubic(pub [f64; 4]);

impl Cubic {
    pub fn random(rng: &mut Rng) -> Cubic {
        Cubic([
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
        ])
    }
    pub fn deriv(&self, x: f64, order: usize) -> f64 {
        let a = self.0;
        match order {
            0 => a[0] + x * (a[1] + x * (a[2] + x * a[3])),
            1 => a[1] + x * (2.0 * a[2] + x * 3.0 * a[3]),
            2 => 2.0 * a[2] + 6.0 * a[3] * x,
            3 => 6.0 * a[3],
            _ => 0.0,
        }
    }
}

/// A sum of `terms` tensor products of random cubics: an element of the spline space.
pub struct TensorPoly<const D: usize> {
    pub terms: Vec<[Cubic; D]>,
}

impl<const D: usize> TensorPoly<D> {
    pub fn random(rng: &mut Rng, terms: usize) -> Self {
        TensorPoly {
            terms: (0..terms)
                .map(|_| std::array::from_fn(|_| Cubic::random(rng)))
                .collect(),
        }
    }
    /// `Σ_terms Π_k |p_k^{(o_k)}(x_k)|`: the scale relative errors are measured against.
    pub fn abs_scale(&self, x: [f64; D], orders: [usize; D]) -> f64 {
        self.terms
            .iter()
            .map(|t| {
                (0..D)
                    .map(|k| t[k].deriv(x[k], orders[k]).abs())
                    .product::<f64>()
            })
            .sum()
    }
    pub fn deriv(&self, x: [f64; D], orders: [usize; D]) -> f64 {
        self.terms
            .iter()
            .map(|t| (0..D).map(|k| t[k].deriv(x[k], orders[k])).product::<f64>())
            .sum()
    }
}

use bsfit::grid3::Boundary::{self, *};

/// Samples uniform in [-1, 1) from a SplitMix64 seeded with `seed`.
pub fn rng(seed: u64) -> impl FnMut() -> f64 {
    let mut r = Rng::new(seed);
    move || r.uniform(-1.0, 1.0)
}

/// Value of `c` at a possibly out-of-range index along one axis, by the boundary's definition.
fn idx(j: i64, n: i64, bc: Boundary) -> Option<i64> {
    match bc {
        Periodic => Some(((j % n) + n) % n),
        Zero => (0..n).contains(&j).then_some(j),
        Mirror => {
            // reflect about 0 and n-1 repeatedly
            if n == 1 {
                return Some(0);
            }
            let mut j = j;
            loop {
                if j < 0 {
                    j = -j;
                } else if j > n - 1 {
                    j = 2 * (n - 1) - j;
                } else {
                    return Some(j);
                }
            }
        }
    }
}

pub fn oracle(c: &[f64], shape: [usize; 3], bc: [Boundary; 3]) -> Vec<f64> {
    let w = [1.0 / 6.0, 2.0 / 3.0, 1.0 / 6.0];
    let n = shape.map(|v| v as i64);
    let mut out = vec![0.0; c.len()];
    for i in 0..n[0] {
        for j in 0..n[1] {
            for k in 0..n[2] {
                let mut acc = 0.0;
                for a in -1..=1i64 {
                    for b in -1..=1i64 {
                        for d in -1..=1i64 {
                            let (Some(ii), Some(jj), Some(kk)) = (
                                idx(i + a, n[0], bc[0]),
                                idx(j + b, n[1], bc[1]),
                                idx(k + d, n[2], bc[2]),
                            ) else {
                                continue;
                            };
                            let wt =
                                w[(a + 1) as usize] * w[(b + 1) as usize] * w[(d + 1) as usize];
                            acc += wt * c[((ii * n[1] + jj) * n[2] + kk) as usize];
                        }
                    }
                }
                out[((i * n[1] + j) * n[2] + k) as usize] = acc;
            }
        }
    }
    out
}
