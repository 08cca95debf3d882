//! Checked conversions of the caller's pointers and lengths into Rust
//! references. Every check that can be made (NULL, alignment, a byte size
//! that overflows `isize`) is made here; what cannot be checked (that the
//! memory is live and as long as claimed) is the caller's contract, stated in
//! each function's `# Safety` section.

use crate::status::{Error, arg_err};
use bsfit_core::tensor::MAX_DIM;

/// Fails unless `p` is non-NULL and aligned for `T`.
pub(crate) fn check_ptr<T>(p: *const T, name: &'static str) -> Result<(), Error> {
    if p.is_null() {
        return Err(Error::Null(name));
    }
    if !p.is_aligned() {
        return Err(Error::Misaligned(name));
    }
    Ok(())
}

/// Fails unless `len` elements of `T` fit in `isize::MAX` bytes.
fn check_bytes<T>(len: usize, name: &'static str) -> Result<(), Error> {
    match len.checked_mul(size_of::<T>()) {
        Some(b) if b <= isize::MAX as usize => Ok(()),
        _ => arg_err(format!(
            "`{name}`: {len} elements of {} bytes exceed the address space",
            size_of::<T>()
        )),
    }
}

/// A shared slice of `len` elements at `p`.
///
/// # Safety
/// If `p` is non-NULL and aligned, it must point to `len` initialised values
/// of `T` that stay valid and unmodified for `'a`.
pub(crate) unsafe fn slice<'a, T>(
    p: *const T,
    len: usize,
    name: &'static str,
) -> Result<&'a [T], Error> {
    check_ptr(p, name)?;
    check_bytes::<T>(len, name)?;
    // SAFETY: non-NULL, aligned, byte size ≤ isize::MAX (checked above);
    // validity for `len` elements is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// An exclusive slice of `len` elements at `p`.
///
/// # Safety
/// If `p` is non-NULL and aligned, it must point to `len` writable values of
/// `T`, not accessed through any other pointer for `'a`.
pub(crate) unsafe fn slice_mut<'a, T>(
    p: *mut T,
    len: usize,
    name: &'static str,
) -> Result<&'a mut [T], Error> {
    check_ptr(p.cast_const(), name)?;
    check_bytes::<T>(len, name)?;
    // SAFETY: as in `slice`, with exclusivity from the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// A shared reference to the object at `p`.
///
/// # Safety
/// If `p` is non-NULL and aligned, it must point to a live `T` not mutated for `'a`.
pub(crate) unsafe fn get<'a, T>(p: *const T, name: &'static str) -> Result<&'a T, Error> {
    check_ptr(p, name)?;
    // SAFETY: non-NULL and aligned (checked); liveness is the caller's contract.
    Ok(unsafe { &*p })
}

/// An exclusive reference to the object at `p`.
///
/// # Safety
/// If `p` is non-NULL and aligned, it must point to a live `T` not accessed
/// through any other pointer for `'a`.
pub(crate) unsafe fn get_mut<'a, T>(p: *mut T, name: &'static str) -> Result<&'a mut T, Error> {
    check_ptr(p.cast_const(), name)?;
    // SAFETY: non-NULL and aligned (checked); exclusivity is the caller's contract.
    Ok(unsafe { &mut *p })
}

/// An out-parameter slot: checked up front, written only by [`Out::write`]
/// (after the call has succeeded).
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Checks `p` (non-NULL, aligned) without writing it.
    pub(crate) fn new(p: *mut T, name: &'static str) -> Result<Self, Error> {
        check_ptr(p.cast_const(), name)?;
        Ok(Out(p))
    }

    /// Writes `value` (without dropping what was there: the slot holds
    /// plain data or an uninitialised handle pointer).
    ///
    /// # Safety
    /// The pointer given to [`Out::new`] must be valid for a write of `T`.
    pub(crate) unsafe fn write(self, value: T) {
        // SAFETY: non-NULL and aligned (checked in `new`); writable per the
        // caller's contract.
        unsafe { self.0.write(value) }
    }
}

/// Fails unless `ndim` is in `1..=6`.
pub(crate) fn check_ndim(ndim: usize) -> Result<(), Error> {
    if ndim == 0 || ndim > MAX_DIM {
        return arg_err(format!(
            "ndim = {ndim}; 1 to {MAX_DIM} dimensions are supported"
        ));
    }
    Ok(())
}

/// The product of `lens`, or an error if it overflows `usize`.
pub(crate) fn checked_product(lens: &[usize], name: &'static str) -> Result<usize, Error> {
    match lens.iter().try_fold(1usize, |a, &n| a.checked_mul(n)) {
        Some(p) => Ok(p),
        None => arg_err(format!("the product of `{name}` {lens:?} overflows size_t")),
    }
}

/// Fails unless an output buffer of `len` elements holds `need`.
pub(crate) fn check_capacity(len: usize, need: usize, name: &'static str) -> Result<(), Error> {
    if len < need {
        return Err(Error::Short { name, len, need });
    }
    Ok(())
}

/// The `ndim` per-axis arrays given as a pointer to `ndim` pointers and a
/// pointer to `ndim` lengths. With `grid` set, the product of the lengths
/// (the number of grid points) must not overflow; it is checked before any
/// per-axis array is touched.
///
/// # Safety
/// `ptrs` and `lens` (if non-NULL and aligned) must point to `ndim` values;
/// each `ptrs[k]` (if non-NULL and aligned) to `lens[k]` values of `f64`,
/// valid for `'a`.
pub(crate) unsafe fn axes<'a>(
    ndim: usize,
    ptrs: *const *const f64,
    lens: *const usize,
    names: (&'static str, &'static str),
    grid: bool,
) -> Result<Vec<&'a [f64]>, Error> {
    check_ndim(ndim)?;
    // SAFETY: the caller's contract covers `ndim` elements of each.
    let ptrs = unsafe { slice(ptrs, ndim, names.0) }?;
    // SAFETY: as above.
    let lens = unsafe { slice(lens, ndim, names.1) }?;
    if grid {
        checked_product(lens, names.1)?;
    }
    ptrs.iter()
        .zip(lens)
        // SAFETY: each `ptrs[k]` points to `lens[k]` values (caller's contract).
        .map(|(&p, &n)| unsafe { slice(p, n, names.0) })
        .collect()
}

/// `n` C `bool` flags at `p`, read as bytes (any non-zero byte is true), so
/// that a byte other than 0 or 1 never becomes an invalid Rust `bool`.
///
/// # Safety
/// If `p` is non-NULL, it must point to `n` readable bytes.
pub(crate) unsafe fn flags(
    p: *const bool,
    n: usize,
    name: &'static str,
) -> Result<Vec<bool>, Error> {
    // SAFETY: forwarded contract; `u8` has the size and alignment of `bool`.
    let bytes = unsafe { slice(p.cast::<u8>(), n, name) }?;
    Ok(bytes.iter().map(|&b| b != 0).collect())
}

/// Fills the caller's output buffer with NaN after a failed call, if the
/// buffer itself is usable (non-NULL, aligned, `len` elements within the
/// address space); otherwise leaves it alone.
///
/// # Safety
/// If `p` is non-NULL and aligned, it must be writable for `len` elements.
pub(crate) unsafe fn fill_nan<T: bsfit_core::Real>(p: *mut T, len: usize) {
    // SAFETY: forwarded contract.
    if let Ok(out) = unsafe { slice_mut(p, len, "out") } {
        out.fill(T::from_f64(f64::NAN));
    }
}
