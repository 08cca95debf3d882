//! Helpers shared by the grid3 integration tests: a seeded generator and the
//! padded 27-point oracle of the B-spline operator, written from the boundary definitions.
#![allow(dead_code)]

use bsfit::grid3::Boundary::{self, *};

/// SplitMix64 in [-1, 1).
pub fn rng(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
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
