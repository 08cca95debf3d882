//! A small process-wide cache that makes the one-shot calls as fast as a
//! reused plan, within a memory limit.
//!
//! A one-shot fit ([`TensorSpline::fit`](super::TensorSpline::fit),
//! [`Fitter::fit`](super::Fitter::fit), [`DynSpline::fit`](super::DynSpline::fit))
//! needs a [`Workspace`] (the rotation buffer is as large as the grid) and a
//! fresh coefficient array. Freshly mapped pages cost a page fault and the
//! kernel's zeroing on first touch, and glibc returns large blocks to the
//! kernel when they are freed: measured at 50×30×20×10 on 2 threads, a
//! repeated one-shot fit took 5.3 ms where the refit through a reused plan
//! took 0.43 ms. Here the workspace of the last fits and the coefficient
//! arrays of dropped splines are kept for the next fit instead.
//!
//! Workspaces are shared by every one-shot call ([`grid3::prefilter`](crate::grid3::prefilter)
//! too); fresh outputs of 4 MiB and more come from [`zeroed`], which asks
//! Linux for transparent huge pages on them.
//!
//! Bounds: everything kept (workspaces and coefficient arrays together)
//! holds at most the limit, [`DEFAULT_LIMIT`] (64 MiB) unless
//! [`crate::set_cache_limit`] says otherwise (0 keeps nothing); at most
//! [`MAX_ENTRIES`] of each kind. An entry larger than the limit is not kept;
//! to make room for a new one the oldest entries are let go first. Arrays
//! below [`MIN_VALUES`] values are not worth keeping: the allocator serves
//! them from its free lists. A kept array is handed out only for a request
//! of at most its length and at least half of it, shrunk to the request
//! (`shrink_to`: in place, no copy), so a spline never holds more capacity
//! than its coefficients. Thread-safe (one mutex, held only to push, pop or
//! count; what is let go is freed after it is released).
//! [`crate::release_cached_memory`] empties the cache.

use crate::{Real, Workspace};
use std::sync::Mutex;

/// Default bound on the bytes kept (64 MiB).
pub(crate) const DEFAULT_LIMIT: usize = 64 << 20;
/// Most entries kept per kind.
pub(crate) const MAX_ENTRIES: usize = 4;
/// Smallest coefficient array kept (values): 512 KiB.
pub(crate) const MIN_VALUES: usize = 1 << 16;

/// One kept allocation.
enum Entry {
    Workspace(Workspace),
    Buffer(Vec<f64>),
}

impl Entry {
    fn bytes(&self) -> usize {
        match self {
            Entry::Workspace(w) => w.allocated_bytes(),
            Entry::Buffer(b) => b.capacity() * std::mem::size_of::<f64>(),
        }
    }

    fn is_workspace(&self) -> bool {
        matches!(self, Entry::Workspace(_))
    }
}

/// The cache's state: its limit and the kept entries, oldest first.
pub(crate) struct Cache {
    limit: usize,
    entries: Vec<Entry>,
}

impl Cache {
    pub(crate) const fn new(limit: usize) -> Self {
        Cache {
            limit,
            entries: Vec::new(),
        }
    }

    /// Bytes held by the kept entries.
    pub(crate) fn held_bytes(&self) -> usize {
        self.entries.iter().map(Entry::bytes).sum()
    }

    /// Keeps `e` if it fits the limit, moving the oldest entries (of its
    /// kind while there are too many of them, then of any kind while the
    /// bytes exceed the limit) into `out`; else moves `e` itself there.
    fn keep(&mut self, e: Entry, out: &mut Vec<Entry>) {
        let need = e.bytes();
        if need > self.limit {
            out.push(e);
            return;
        }
        let kind = e.is_workspace();
        while self
            .entries
            .iter()
            .filter(|x| x.is_workspace() == kind)
            .count()
            >= MAX_ENTRIES
        {
            match self.entries.iter().position(|x| x.is_workspace() == kind) {
                Some(i) => out.push(self.entries.remove(i)),
                None => break,
            }
        }
        while !self.entries.is_empty() && self.held_bytes() + need > self.limit {
            out.push(self.entries.remove(0));
        }
        self.entries.push(e);
    }

    /// Sets the limit and moves what no longer fits (oldest first) into
    /// `out`; returns the previous limit.
    fn set_limit(&mut self, limit: usize, out: &mut Vec<Entry>) -> usize {
        let old = std::mem::replace(&mut self.limit, limit);
        while !self.entries.is_empty() && self.held_bytes() > self.limit {
            out.push(self.entries.remove(0));
        }
        old
    }

    /// The largest kept workspace.
    fn take_workspace(&mut self) -> Option<Workspace> {
        let i = (0..self.entries.len())
            .filter(|&i| self.entries[i].is_workspace())
            .max_by_key(|&i| self.entries[i].bytes())?;
        match self.entries.remove(i) {
            Entry::Workspace(w) => Some(w),
            Entry::Buffer(_) => None,
        }
    }

    /// The kept array that serves a request of `len` values best: one of
    /// exactly that capacity, else the smallest of capacity in
    /// `(len, 2·len]`.
    fn take_buffer(&mut self, len: usize) -> Option<Vec<f64>> {
        let cap = |e: &Entry| match e {
            Entry::Buffer(b) => Some(b.capacity()),
            Entry::Workspace(_) => None,
        };
        let i = (0..self.entries.len())
            .filter(|&i| cap(&self.entries[i]).is_some_and(|c| c >= len && c - len <= len))
            .min_by_key(|&i| cap(&self.entries[i]))?;
        match self.entries.remove(i) {
            Entry::Buffer(b) => Some(b),
            Entry::Workspace(_) => None,
        }
    }
}

static CACHE: Mutex<Cache> = Mutex::new(Cache::new(DEFAULT_LIMIT));

fn lock() -> std::sync::MutexGuard<'static, Cache> {
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A workspace from the cache (the largest one), or a new empty one.
pub(crate) fn take_workspace() -> Workspace {
    lock().take_workspace().unwrap_or_default()
}

/// Returns a workspace to the cache (let go if it does not fit the limit).
pub(crate) fn give_workspace(ws: Workspace) {
    let mut out = Vec::new();
    lock().keep(Entry::Workspace(ws), &mut out);
    // `out` is freed after the lock is released.
    drop(out);
}

/// A vector of `len` values (contents unspecified but initialised) whose
/// capacity is exactly `len`: a kept array of capacity `len` to `2·len`
/// shrunk to `len`, or a new zeroed one.
pub(crate) fn take_buffer(len: usize) -> Vec<f64> {
    if len >= MIN_VALUES {
        let kept = lock().take_buffer(len);
        if let Some(mut b) = kept {
            // Within capacity: no allocation; new elements (if any) zeroed.
            b.resize(len, 0.0);
            b.truncate(len);
            // Gives the tail back to the allocator (a shrinking realloc:
            // in place, the pages are not touched).
            b.shrink_to_fit();
            return b;
        }
    }
    zeroed(len)
}

/// Smallest fresh output (bytes) given huge-page advice.
pub(crate) const HUGE_MIN_BYTES: usize = 4 << 20;

/// A fresh zeroed vector of `len` values. From 4 MiB on, the 2 MiB-aligned
/// part of its pages is advised `MADV_HUGEPAGE` before anything touches it
/// (Linux): with transparent huge pages in `madvise` mode (a common default)
/// the first write then faults in 2 MiB at a time instead of 4 kB, 512×
/// fewer faults, and the passes that stride across the grid miss the TLB
/// far less. Large zeroed allocations come straight from `mmap`, untouched,
/// so the advice applies to all of them; elsewhere it is a no-op.
pub(crate) fn zeroed<T: Real>(len: usize) -> Vec<T> {
    let mut v = vec![T::ZERO; len];
    advise_huge(&mut v);
    v
}

/// Advises `MADV_HUGEPAGE` on the 2 MiB-aligned interior of `v` (Linux,
/// from [`HUGE_MIN_BYTES`]; advice only: contents are unchanged).
#[cfg(target_os = "linux")]
fn advise_huge<T>(v: &mut [T]) {
    const HUGE: usize = 2 << 20;
    let bytes = std::mem::size_of_val(v);
    if bytes < HUGE_MIN_BYTES {
        return;
    }
    let start = v.as_mut_ptr() as usize;
    let lo = start.next_multiple_of(HUGE);
    let hi = (start + bytes) / HUGE * HUGE;
    if hi > lo {
        // SAFETY: [lo, hi) lies inside `v`'s allocation, which this borrow
        // owns; MADV_HUGEPAGE only changes how future faults are served and
        // never the contents, so no Rust-visible state changes. The result
        // is ignored: a kernel without THP refuses the advice, harmlessly.
        unsafe {
            libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge<T>(_: &mut [T]) {}

/// Keeps the coefficient array of a dropped spline for the next fit (see
/// the module's bounds).
pub(crate) fn give_buffer(buf: Vec<f64>) {
    if buf.capacity() < MIN_VALUES {
        return;
    }
    let mut out = Vec::new();
    lock().keep(Entry::Buffer(buf), &mut out);
    drop(out);
}

/// Sets the bound on the bytes kept, letting go of the oldest entries until
/// the rest fits; returns the previous bound.
pub(crate) fn set_limit(bytes: usize) -> usize {
    let mut out = Vec::new();
    let old = lock().set_limit(bytes, &mut out);
    drop(out);
    old
}

/// Bytes the cache holds now (for the tests).
#[cfg(test)]
pub(crate) fn held_bytes() -> usize {
    lock().held_bytes()
}

/// Empties the cache, returning its memory to the allocator.
pub(crate) fn release() {
    let entries = std::mem::take(&mut lock().entries);
    drop(entries);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScratchReq;

    const MIB: usize = 1 << 20;

    fn buffer(bytes: usize) -> Entry {
        Entry::Buffer(vec![1.0; bytes / 8])
    }

    /// After any sequence of returns the bytes held stay within the limit and
    /// the entries per kind within their count; an entry above the limit is
    /// never kept, and the newest entry that fits always is.
    #[test]
    fn held_bytes_stay_within_the_limit() {
        let mut c = Cache::new(8 * MIB);
        let sizes = [
            MIB,
            3 * MIB,
            9 * MIB,
            5 * MIB / 2,
            7 * MIB,
            MIB / 2,
            8 * MIB,
        ];
        for (i, &bytes) in sizes.iter().cycle().take(30).enumerate() {
            let mut out = Vec::new();
            let e = if i % 3 == 2 {
                let mut w = Workspace::new();
                w.reserve(ScratchReq::per_worker::<f64>(1, bytes / 8));
                Entry::Workspace(w)
            } else {
                buffer(bytes)
            };
            let b = e.bytes();
            c.keep(e, &mut out);
            assert!(c.held_bytes() <= 8 * MIB, "step {i}: {}", c.held_bytes());
            for kind in [false, true] {
                let n = c
                    .entries
                    .iter()
                    .filter(|x| x.is_workspace() == kind)
                    .count();
                assert!(n <= MAX_ENTRIES);
            }
            let kept = c.entries.last().is_some_and(|x| x.bytes() == b);
            assert_eq!(kept, b <= 8 * MIB, "step {i}: {b} bytes");
        }
    }

    #[test]
    fn set_limit_returns_the_previous_one_and_evicts_the_oldest() {
        let mut c = Cache::new(16 * MIB);
        let mut out = Vec::new();
        for mib in [4, 5, 6] {
            c.keep(buffer(mib * MIB), &mut out);
        }
        assert!(out.is_empty());
        assert_eq!(c.held_bytes(), 15 * MIB);
        assert_eq!(c.set_limit(12 * MIB, &mut out), 16 * MIB);
        // The oldest (4 MiB) goes; 5 + 6 fit.
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bytes(), 4 * MIB);
        assert_eq!(c.held_bytes(), 11 * MIB);
        assert_eq!(c.set_limit(0, &mut out), 12 * MIB);
        assert_eq!(c.held_bytes(), 0);
        // A limit of 0 keeps nothing.
        c.keep(buffer(MIB), &mut out);
        assert_eq!(c.held_bytes(), 0);
    }

    /// A request gets an array of exactly its length and capacity: an exact
    /// match, or a kept array of up to twice the length shrunk to it; never
    /// one that is shorter, nor one more than twice as long.
    #[test]
    fn handed_out_arrays_have_exactly_the_requested_capacity() {
        let mut c = Cache::new(usize::MAX);
        let mut out = Vec::new();
        let n = MIN_VALUES;
        for cap in [n, 3 * n / 2, 2 * n, 4 * n] {
            c.keep(Entry::Buffer(Vec::with_capacity(cap)), &mut out);
        }
        // Exact match first.
        assert_eq!(
            c.take_buffer(3 * n / 2).map(|b| b.capacity()),
            Some(3 * n / 2)
        );
        // The smallest array at least as long.
        assert_eq!(c.take_buffer(n + 1).map(|b| b.capacity()), Some(2 * n));
        // 4n is more than twice n: not handed out for n - 1 once n is gone.
        assert_eq!(c.take_buffer(n).map(|b| b.capacity()), Some(n));
        assert!(c.take_buffer(n).is_none());
        assert!(c.take_buffer(5 * n).is_none());
        assert_eq!(c.take_buffer(2 * n + 1).map(|b| b.capacity()), Some(4 * n));
        drop(out);
    }

    /// The process-wide cache through the crate's functions: splines larger
    /// than the limit are not kept, the limit holds whatever is dropped, and
    /// a request gets exactly the capacity it needs.
    #[test]
    fn the_global_cache_honours_set_cache_limit() {
        use crate::TensorSpline;
        use ndarray::Array3;
        // The only test that changes the limit (others may fit meanwhile).
        let axis = |n: usize| (0..n).map(|i| i as f64).collect::<Vec<f64>>();
        let fit = |n: [usize; 3]| {
            let (a, b, c) = (axis(n[0]), axis(n[1]), axis(n[2]));
            let v = Array3::from_shape_fn(n, |(i, j, k)| (i + 2 * j + 3 * k) as f64);
            TensorSpline::fit([&a[..], &b[..], &c[..]], v.view()).unwrap()
        };
        let before = crate::set_cache_limit(4 * MIB);
        // 5 MiB of coefficients: above the limit, not kept.
        let big = fit([80, 64, 128]);
        assert_eq!(big.coefficients_slice().len() * 8, 5 * MIB);
        drop(big);
        assert!(held_bytes() <= 4 * MIB);
        for _ in 0..6 {
            // 1 MiB each: some are kept, the bound holds.
            let s = fit([32, 32, 128]);
            drop(s);
            assert!(held_bytes() <= 4 * MIB, "{}", held_bytes());
        }
        // A kept array of up to twice the request is handed out shrunk to
        // exactly the request.
        let n = 32 * 32 * 128;
        release();
        give_buffer(Vec::with_capacity(2 * n));
        let b = take_buffer(n + 7);
        assert_eq!((b.len(), b.capacity()), (n + 7, n + 7));
        assert_eq!(crate::set_cache_limit(0), 4 * MIB);
        assert_eq!(held_bytes(), 0);
        drop(fit([32, 32, 128]));
        assert_eq!(held_bytes(), 0);
        assert_eq!(crate::set_cache_limit(before), 0);
    }
}
