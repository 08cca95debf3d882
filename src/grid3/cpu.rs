//! The CPU backend: [`VectorOps`] on `Vec<T>`, parallel over contiguous chunks with rayon.

use super::backend::{Coef, MIN_SLOTS, Slot, VectorOps};
use crate::error::panic_index;
use crate::{FitError, Par, Real};
use rayon::prelude::*;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

/// Elements per rayon task below which BLAS-1 operations run sequentially.
const PAR_MIN: usize = 1 << 15;

/// CPU vectors of one grid shape; scalar slots are `f64` held in atomics.
///
/// Slot indices must be below [`MIN_SLOTS`] (a larger one panics: a solver bug, not
/// bad data).
#[derive(Debug)]
pub struct CpuOps<T: Real> {
    shape: [usize; 3],
    len: usize,
    par: Par,
    slots: [AtomicU64; MIN_SLOTS],
    _t: PhantomData<T>,
}

impl<T: Real> CpuOps<T> {
    /// Vectors of `shape` (row-major, axis 2 contiguous), operations parallel per `par`.
    pub fn new(shape: [usize; 3], par: Par) -> Self {
        CpuOps {
            shape,
            len: shape.iter().product(),
            par,
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
            _t: PhantomData,
        }
    }

    /// The parallelism used.
    pub fn par(&self) -> Par {
        self.par
    }

    /// Number of elements of a vector.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether vectors are empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn cell(&self, s: Slot) -> &AtomicU64 {
        match self.slots.get(s.0) {
            Some(c) => c,
            None => panic_index("slot", s.0, MIN_SLOTS),
        }
    }

    fn slot(&self, s: Slot) -> f64 {
        f64::from_bits(self.cell(s).load(Ordering::Relaxed))
    }

    fn coef(&self, c: Coef) -> T {
        T::from_f64(match c {
            Coef::Const(v) => v,
            Coef::Slot(s) => self.slot(s),
            Coef::Ratio(a, b) => self.slot(a) / self.slot(b),
            Coef::NegRatio(a, b) => -self.slot(a) / self.slot(b),
        })
    }

    fn chunk(&self) -> usize {
        let tasks = self.par.degree();
        if tasks <= 1 || self.len < 2 * PAR_MIN {
            self.len.max(1)
        } else {
            self.len.div_ceil(tasks).max(PAR_MIN)
        }
    }
}

fn axpby_slice<T: Real>(a: T, x: &[T], b: T, y: &mut [T]) {
    if b == T::ZERO {
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi = a * xi;
        }
    } else if b == T::ONE {
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi += a * xi;
        }
    } else {
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi = a * xi + b * *yi;
        }
    }
}

/// `xᵀy` accumulated in f64 over blocks of `T` partial sums (8 independent lanes).
fn dot_slice<T: Real>(x: &[T], y: &[T]) -> f64 {
    let mut total = 0.0f64;
    for (xb, yb) in x.chunks(1024).zip(y.chunks(1024)) {
        let mut acc = [T::ZERO; 8];
        let (xc, xr) = xb.split_at(xb.len() / 8 * 8);
        let (yc, yr) = yb.split_at(xc.len());
        for (x8, y8) in xc.chunks_exact(8).zip(yc.chunks_exact(8)) {
            for l in 0..8 {
                acc[l] += x8[l] * y8[l];
            }
        }
        let mut s: f64 = acc.iter().map(|v| v.to_f64()).sum();
        for (a, b) in xr.iter().zip(yr) {
            s += a.to_f64() * b.to_f64();
        }
        total += s;
    }
    total
}

impl<T: Real> VectorOps for CpuOps<T> {
    type Vector = Vec<T>;

    fn shape(&self) -> [usize; 3] {
        self.shape
    }

    fn alloc(&self) -> Result<Vec<T>, FitError> {
        let mut v = Vec::new();
        v.try_reserve_exact(self.len)
            .map_err(|_| FitError::InvalidParameter {
                name: "shape",
                reason: format!("cannot allocate {} elements", self.len),
            })?;
        v.resize(self.len, T::ZERO);
        Ok(v)
    }

    fn copy(&self, src: &Vec<T>, dst: &mut Vec<T>) {
        let c = self.chunk();
        dst.par_chunks_mut(c)
            .zip(src.par_chunks(c))
            .for_each(|(d, s)| d.copy_from_slice(s));
    }

    fn axpby(&self, a: Coef, x: &Vec<T>, b: Coef, y: &mut Vec<T>) {
        let (a, b) = (self.coef(a), self.coef(b));
        let c = self.chunk();
        y.par_chunks_mut(c)
            .zip(x.par_chunks(c))
            .for_each(|(yc, xc)| axpby_slice(a, xc, b, yc));
    }

    fn dot(&self, x: &Vec<T>, y: &Vec<T>, slot: Slot) {
        let c = self.chunk();
        let v: f64 = x
            .par_chunks(c)
            .zip(y.par_chunks(c))
            .map(|(a, b)| dot_slice(a, b))
            .sum();
        self.set_slot(slot, v);
    }

    fn set_slot(&self, slot: Slot, value: f64) {
        self.cell(slot).store(value.to_bits(), Ordering::Relaxed);
    }

    fn read_slot(&self, slot: Slot) -> f64 {
        self.slot(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blas1_matches_scalar_loops() {
        for n in [1usize, 7, 8, 9, 1000, 70_001] {
            let ops = CpuOps::<f64>::new([1, 1, n], Par::with_threads(2));
            let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
            let mut y: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos()).collect();
            let want: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
            ops.dot(&x, &y, Slot(3));
            assert!((ops.read_slot(Slot(3)) - want).abs() <= 1e-12 * n as f64);
            ops.set_slot(Slot(0), 3.0);
            ops.set_slot(Slot(1), 2.0);
            let y0 = y.clone();
            ops.axpby(Coef::Ratio(Slot(0), Slot(1)), &x, Coef::Const(-1.0), &mut y);
            for i in 0..n {
                assert!((y[i] - (1.5 * x[i] - y0[i])).abs() < 1e-15);
            }
            let mut z = ops.alloc().unwrap();
            ops.copy(&x, &mut z);
            assert_eq!(z, x);
        }
    }
}
