//! The CPU backend: [`VectorOps`] on `Vec<T>`, parallel over contiguous chunks with rayon.

use super::backend::{Coef, MIN_SLOTS, Slot, VectorOps, check_coef, check_slot};
use crate::{FitError, Par, Real};
use rayon::prelude::*;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

/// Elements per rayon task below which BLAS-1 operations run sequentially.
const PAR_MIN: usize = 1 << 15;

/// CPU vectors of one grid shape; scalar slots are `f64` held in atomics.
///
/// Every operation checks that its vectors hold the grid's length and its
/// slots are below [`MIN_SLOTS`], and returns [`FitError::InvalidParameter`]
/// otherwise.
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

    /// The slot's cell (checked by the caller; slot 0 otherwise).
    fn cell(&self, s: Slot) -> &AtomicU64 {
        self.slots.get(s.0).unwrap_or(&self.slots[0])
    }

    fn slot(&self, s: Slot) -> f64 {
        f64::from_bits(self.cell(s).load(Ordering::Relaxed))
    }

    /// [`FitError::InvalidParameter`] unless `v` holds the grid's length.
    fn check(&self, name: &'static str, v: &[T]) -> Result<(), FitError> {
        if v.len() == self.len {
            Ok(())
        } else {
            Err(FitError::InvalidParameter {
                name,
                reason: format!(
                    "{} elements for vectors of shape {:?} ({} elements)",
                    v.len(),
                    self.shape,
                    self.len
                ),
            })
        }
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

    fn copy(&self, src: &Vec<T>, dst: &mut Vec<T>) -> Result<(), FitError> {
        self.check("src", src)?;
        self.check("dst", dst)?;
        let c = self.chunk();
        dst.par_chunks_mut(c)
            .zip(src.par_chunks(c))
            .for_each(|(d, s)| d.copy_from_slice(s));
        Ok(())
    }

    fn axpby(&self, a: Coef, x: &Vec<T>, b: Coef, y: &mut Vec<T>) -> Result<(), FitError> {
        self.check("x", x)?;
        self.check("y", y)?;
        check_coef(a)?;
        check_coef(b)?;
        let (a, b) = (self.coef(a), self.coef(b));
        let c = self.chunk();
        y.par_chunks_mut(c)
            .zip(x.par_chunks(c))
            .for_each(|(yc, xc)| axpby_slice(a, xc, b, yc));
        Ok(())
    }

    fn dot(&self, x: &Vec<T>, y: &Vec<T>, slot: Slot) -> Result<(), FitError> {
        self.check("x", x)?;
        self.check("y", y)?;
        check_slot(slot)?;
        let c = self.chunk();
        let v: f64 = x
            .par_chunks(c)
            .zip(y.par_chunks(c))
            .map(|(a, b)| dot_slice(a, b))
            .sum();
        self.set_slot(slot, v)
    }

    fn set_slot(&self, slot: Slot, value: f64) -> Result<(), FitError> {
        check_slot(slot)?;
        self.cell(slot).store(value.to_bits(), Ordering::Relaxed);
        Ok(())
    }

    fn read_slot(&self, slot: Slot) -> Result<f64, FitError> {
        check_slot(slot)?;
        Ok(self.slot(slot))
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
            ops.dot(&x, &y, Slot(3)).unwrap();
            assert!((ops.read_slot(Slot(3)).unwrap() - want).abs() <= 1e-12 * n as f64);
            ops.set_slot(Slot(0), 3.0).unwrap();
            ops.set_slot(Slot(1), 2.0).unwrap();
            let y0 = y.clone();
            ops.axpby(Coef::Ratio(Slot(0), Slot(1)), &x, Coef::Const(-1.0), &mut y)
                .unwrap();
            for i in 0..n {
                assert!((y[i] - (1.5 * x[i] - y0[i])).abs() < 1e-15);
            }
            let mut z = ops.alloc().unwrap();
            ops.copy(&x, &mut z).unwrap();
            assert_eq!(z, x);
        }
    }

    /// A vector of another length or a slot out of range is an error, and
    /// nothing is written.
    #[test]
    fn mismatched_vectors_and_slots_are_errors() {
        let ops = CpuOps::<f64>::new([2, 3, 4], Par::Seq);
        let good = vec![1.0; 24];
        let mut y = vec![2.0; 24];
        let mut short = vec![3.0; 23];
        let bad = |r: Result<(), FitError>| matches!(r, Err(FitError::InvalidParameter { .. }));
        assert!(bad(ops.copy(&short, &mut y)));
        assert!(bad(ops.copy(&good, &mut short)));
        assert!(bad(ops.axpby(
            Coef::Const(1.0),
            &short,
            Coef::Const(1.0),
            &mut y
        )));
        assert!(bad(ops.axpby(
            Coef::Const(1.0),
            &good,
            Coef::Const(1.0),
            &mut short
        )));
        assert!(bad(ops.axpby(
            Coef::Slot(Slot(MIN_SLOTS)),
            &good,
            Coef::Const(1.0),
            &mut y
        )));
        assert!(bad(ops.axpby(
            Coef::Const(1.0),
            &good,
            Coef::Ratio(Slot(0), Slot(99)),
            &mut y
        )));
        assert!(bad(ops.dot(&good, &short, Slot(0))));
        assert!(bad(ops.dot(&good, &good, Slot(MIN_SLOTS))));
        assert!(bad(ops.set_slot(Slot(MIN_SLOTS), 1.0)));
        assert!(ops.read_slot(Slot(MIN_SLOTS)).is_err());
        assert_eq!(y, vec![2.0; 24]);
        assert_eq!(short, vec![3.0; 23]);
    }
}
