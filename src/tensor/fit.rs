//! The separable collocation fit: [`Fitter`] holds the per-axis factorisations
//! so that refitting new values on the same grid skips them.

use super::{MAX_DIM, TensorSpline};
use crate::banded::BandLu;
use crate::bspline::knots::{not_a_knot, validate_sites};
use crate::{FitError, Par};
use ndarray::{ArrayView, Dim, Dimension};

/// Lines solved together in one block: their rows sit side by side in a
/// scratch buffer so the banded recurrence runs on whole rows.
const BLOCK_LANES: usize = 64;

/// Below this many grid points a fit runs on the calling thread.
const PAR_THRESHOLD: usize = 1 << 15;

/// A fit plan for one grid: validated axes, their knot vectors and the `LU`
/// factors of their collocation matrices, computed once.
///
/// Use it to refit new values on a fixed grid without refactoring:
///
/// ```
/// use bsfit::tensor::Fitter;
/// use ndarray::Array2;
/// let x = [0.0, 0.5, 1.5, 2.0, 3.0];
/// let y = [0.0, 1.0, 2.0, 4.0];
/// let fitter = Fitter::new([&x[..], &y[..]])?;
/// for shift in [0.0, 1.0] {
///     let v = Array2::from_shape_fn((5, 4), |(i, j)| x[i] * y[j] + shift);
///     let s = fitter.fit(v.view())?;
///     assert!((s.eval([1.0, 3.0]) - (3.0 + shift)).abs() < 1e-12);
/// }
/// # Ok::<(), bsfit::FitError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Fitter<const D: usize> {
    knots: [Vec<f64>; D],
    lu: [BandLu; D],
    shape: [usize; D],
    par: Par,
}

/// A raw pointer that may be shared between the tasks of one pass, each of
/// which writes a disjoint set of elements.
#[derive(Clone, Copy)]
struct SharedMut(*mut f64);
// SAFETY: only used in `solve_axis`, where every element is written by exactly one task.
unsafe impl Send for SharedMut {}
// SAFETY: as above.
unsafe impl Sync for SharedMut {}

impl SharedMut {
    /// Pointer to element `i` (a method, so closures capture the whole wrapper).
    #[inline(always)]
    fn at(self, i: usize) -> *mut f64 {
        self.0.wrapping_add(i)
    }
}

impl<const D: usize> Fitter<D> {
    /// Validates the axes and factors their collocation matrices.
    ///
    /// Errors: [`FitError::AxisTooShort`], [`FitError::NonFiniteSite`],
    /// [`FitError::NonIncreasingSites`], [`FitError::SingularMatrix`], and
    /// [`FitError::InvalidParameter`] for `D = 0` or `D > 6`.
    pub fn new(axes: [&[f64]; D]) -> Result<Self, FitError> {
        if D == 0 || D > MAX_DIM {
            return Err(FitError::InvalidParameter {
                name: "D",
                reason: format!("{D} dimensions; 1 to {MAX_DIM} are supported"),
            });
        }
        let mut knots = Vec::with_capacity(D);
        let mut lus = Vec::with_capacity(D);
        for (axis, x) in axes.iter().enumerate() {
            validate_sites(axis, x)?;
            let t = not_a_knot(x);
            lus.push(BandLu::collocation(axis, x, &t)?);
            knots.push(t);
        }
        let shape = axes.map(|a| a.len());
        Ok(Fitter {
            knots: vec_to_array(knots),
            lu: vec_to_array(lus),
            shape,
            par: Par::auto(),
        })
    }

    /// Sets the parallelism used by [`fit`](Self::fit) and [`fit_into`](Self::fit_into).
    pub fn with_par(mut self, par: Par) -> Self {
        self.par = par;
        self
    }

    /// Grid shape (number of sites per axis).
    pub fn shape(&self) -> [usize; D] {
        self.shape
    }

    /// Knot vector of `axis` (n + 4 knots).
    ///
    /// # Panics
    /// If `axis >= D`.
    pub fn knots(&self, axis: usize) -> &[f64] {
        if axis >= D {
            crate::error::panic_index("axis", axis, D);
        }
        &self.knots[axis]
    }

    /// 1-norm condition numbers of the per-axis collocation matrices.
    pub fn condition_estimates(&self) -> [f64; D] {
        std::array::from_fn(|k| self.lu[k].condition_1norm())
    }

    /// Fits values given in row-major order (`values.len()` = product of the
    /// shape) and writes the coefficients, also row-major, to `out`.
    ///
    /// Errors: [`FitError::ShapeMismatch`] if a length is wrong (reported on
    /// axis 0 for flat buffers), [`FitError::NonFiniteValue`],
    /// [`FitError::NonFiniteResult`].
    pub fn fit_into(&self, values: &[f64], out: &mut [f64]) -> Result<(), FitError> {
        let total: usize = self.shape.iter().product();
        for (len, what) in [(values.len(), "values"), (out.len(), "out")] {
            if len != total {
                return Err(FitError::InvalidParameter {
                    name: what,
                    reason: format!("length {len}, expected {total} (grid {:?})", self.shape),
                });
            }
        }
        for (k, (o, &v)) in out.iter_mut().zip(values).enumerate() {
            if !v.is_finite() {
                return Err(self.non_finite_value(k, v));
            }
            *o = v;
        }
        self.solve_in_place(out)
    }

    /// Fits values given as any ndarray view (any memory layout).
    ///
    /// Errors: [`FitError::ShapeMismatch`] (naming the axis),
    /// [`FitError::NonFiniteValue`] (naming the multi-index),
    /// [`FitError::NonFiniteResult`].
    pub fn fit(
        &self,
        values: ArrayView<'_, f64, Dim<[usize; D]>>,
    ) -> Result<TensorSpline<D>, FitError>
    where
        Dim<[usize; D]>: Dimension,
    {
        let vshape = values.shape();
        for axis in 0..D {
            if vshape[axis] != self.shape[axis] {
                return Err(FitError::ShapeMismatch {
                    axis,
                    axis_len: self.shape[axis],
                    values_len: vshape[axis],
                });
            }
        }
        let mut coefs = Vec::with_capacity(values.len());
        if let Some(s) = values.as_slice() {
            coefs.extend_from_slice(s);
        } else {
            coefs.extend(values.iter().copied());
        }
        if let Some(k) = coefs.iter().position(|v| !v.is_finite()) {
            return Err(self.non_finite_value(k, coefs[k]));
        }
        self.solve_in_place(&mut coefs)?;
        Ok(TensorSpline::from_parts_unchecked(
            self.knots.clone(),
            self.shape,
            coefs,
        ))
    }

    fn non_finite_value(&self, flat: usize, value: f64) -> FitError {
        let mut index = vec![0; D];
        let mut rem = flat;
        for axis in (0..D).rev() {
            index[axis] = rem % self.shape[axis];
            rem /= self.shape[axis];
        }
        FitError::NonFiniteValue { index, value }
    }

    /// Runs the `D` axis passes on row-major data.
    fn solve_in_place(&self, data: &mut [f64]) -> Result<(), FitError> {
        let par = if data.len() < PAR_THRESHOLD {
            Par::Seq
        } else {
            self.par
        };
        for axis in 0..D {
            let outer: usize = self.shape[..axis].iter().product();
            let inner: usize = self.shape[axis + 1..].iter().product();
            let finite = solve_axis(&self.lu[axis], data, outer, inner, par);
            if !finite {
                return Err(FitError::NonFiniteResult {
                    axis,
                    condition: self.lu[axis].condition_1norm(),
                });
            }
        }
        Ok(())
    }
}

/// Solves along the middle axis of `data` seen as `[outer, n, inner]`
/// (row-major) for all `outer * inner` lines. Returns whether every result
/// is finite.
///
/// Lines are taken in blocks of [`BLOCK_LANES`]: a block is gathered into a
/// scratch buffer with its rows side by side, solved with
/// [`BandLu::solve_rows`], and scattered back. Blocks are independent and run
/// in parallel under `Par::Rayon`.
fn solve_axis(lu: &BandLu, data: &mut [f64], outer: usize, inner: usize, par: Par) -> bool {
    let n = lu.len();
    let lines = outer * inner;
    debug_assert_eq!(data.len(), lines * n);
    let blocks = lines.div_ceil(BLOCK_LANES);
    let ptr = SharedMut(data.as_mut_ptr());
    let run_block = |scratch: &mut Vec<f64>, b: usize| -> bool {
        let q0 = b * BLOCK_LANES;
        let m = BLOCK_LANES.min(lines - q0);
        scratch.resize(n * m, 0.0);
        let base = |q: usize| (q / inner) * n * inner + (q % inner);
        for lane in 0..m {
            let b0 = base(q0 + lane);
            for i in 0..n {
                // SAFETY: b0 + i*inner < outer*n*inner = data.len() because
                // q < outer*inner and i < n; reads of lines owned by this block.
                scratch[i * m + lane] = unsafe { *ptr.at(b0 + i * inner) };
            }
        }
        lu.solve_rows(scratch, m, m);
        let mut ok = true;
        for lane in 0..m {
            let b0 = base(q0 + lane);
            for i in 0..n {
                let v = scratch[i * m + lane];
                ok &= v.is_finite();
                // SAFETY: in bounds as above; (q, i) ↦ base(q) + i*inner is injective,
                // and each line q belongs to exactly one block, so no two tasks
                // touch the same element.
                unsafe { *ptr.at(b0 + i * inner) = v };
            }
        }
        ok
    };
    match par {
        Par::Seq => {
            let mut scratch = Vec::with_capacity(n * BLOCK_LANES);
            (0..blocks).fold(true, |ok, b| run_block(&mut scratch, b) & ok)
        }
        Par::Rayon(_) => {
            use rayon::prelude::*;
            (0..blocks)
                .into_par_iter()
                .map_init(
                    || Vec::with_capacity(n * BLOCK_LANES),
                    |s, b| run_block(s, b),
                )
                .reduce(|| true, |a, b| a & b)
        }
    }
}

/// Converts a vector of exactly `D` items into an array.
pub(crate) fn vec_to_array<T, const D: usize>(v: Vec<T>) -> [T; D] {
    match v.try_into() {
        Ok(a) => a,
        Err(v) => crate::error::panic_index("dimension", v.len(), D),
    }
}
