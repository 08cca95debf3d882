//! A small process-wide cache that makes the one-shot calls as fast as a
//! reused plan.
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
//! Bounds: at most [`MAX_ENTRIES`] workspaces, each at most [`MAX_BYTES`],
//! and at most [`MAX_ENTRIES`] coefficient arrays of at most
//! [`BUFFER_BUDGET`] (1 GiB) together: a dropped 30M-point spline (240 MB)
//! is kept, so the next one-shot fit of that size skips faulting in and
//! zeroing 240 MB of fresh pages (measured at 200×100×50×30 on 2 threads:
//! the one-shot fit took 2.0–2.2× the reused plan without it). When full,
//! the smallest array is let go first. Thread-safe (one mutex per kind,
//! held only to push or pop). Buffers below [`MIN_VALUES`] values are not
//! worth keeping: the allocator serves them from its free lists.
//! [`crate::release_cached_memory`] empties both caches.

use crate::{Real, Workspace};
use std::sync::Mutex;

/// Most entries kept per kind.
pub(crate) const MAX_ENTRIES: usize = 4;
/// Largest workspace kept (bytes).
pub(crate) const MAX_BYTES: usize = 32 << 20;
/// Most bytes of coefficient arrays kept together.
pub(crate) const BUFFER_BUDGET: usize = 1 << 30;
/// Smallest coefficient array kept (values): 512 KiB.
pub(crate) const MIN_VALUES: usize = 1 << 16;

static WORKSPACES: Mutex<Vec<Workspace>> = Mutex::new(Vec::new());
static BUFFERS: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());

/// A workspace from the cache (the largest one), or a new empty one.
pub(crate) fn take_workspace() -> Workspace {
    let mut pool = WORKSPACES.lock().unwrap_or_else(|e| e.into_inner());
    let best = (0..pool.len()).max_by_key(|&i| pool[i].allocated_bytes());
    best.map(|i| pool.swap_remove(i)).unwrap_or_default()
}

/// Returns a workspace to the cache (dropped if too large or the cache is full).
pub(crate) fn give_workspace(ws: Workspace) {
    if ws.allocated_bytes() > MAX_BYTES {
        return;
    }
    let mut pool = WORKSPACES.lock().unwrap_or_else(|e| e.into_inner());
    if pool.len() < MAX_ENTRIES {
        pool.push(ws);
    }
}

/// A vector of `len` values (contents unspecified but initialised): a kept
/// buffer whose capacity is between `len` and `2·len`, or a new zeroed one.
pub(crate) fn take_buffer(len: usize) -> Vec<f64> {
    if len >= MIN_VALUES {
        let mut pool = BUFFERS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = pool
            .iter()
            .position(|b| b.capacity() >= len && b.capacity() <= 2 * len)
        {
            let mut b = pool.swap_remove(i);
            drop(pool);
            // Within capacity: no allocation; new elements (if any) zeroed.
            b.resize(len, 0.0);
            b.truncate(len);
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

/// Keeps the coefficient array of a dropped spline for the next fit,
/// letting the smallest kept ones go while the cache would exceed its
/// bounds; an array larger than all of them together is not kept.
pub(crate) fn give_buffer(buf: Vec<f64>) {
    let bytes = |b: &Vec<f64>| b.capacity() * std::mem::size_of::<f64>();
    if buf.capacity() < MIN_VALUES || bytes(&buf) > BUFFER_BUDGET {
        return;
    }
    let mut evicted = Vec::new();
    let mut pool = BUFFERS.lock().unwrap_or_else(|e| e.into_inner());
    while pool.len() >= MAX_ENTRIES
        || pool.iter().map(bytes).sum::<usize>() + bytes(&buf) > BUFFER_BUDGET
    {
        match (0..pool.len()).min_by_key(|&i| pool[i].capacity()) {
            Some(i) => evicted.push(pool.swap_remove(i)),
            None => break,
        }
    }
    pool.push(buf);
    // `evicted` is freed after the lock is released.
    drop(pool);
}

/// Empties both caches, returning their memory to the allocator.
pub(crate) fn release() {
    let ws = std::mem::take(&mut *WORKSPACES.lock().unwrap_or_else(|e| e.into_inner()));
    let bufs = std::mem::take(&mut *BUFFERS.lock().unwrap_or_else(|e| e.into_inner()));
    drop((ws, bufs));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bounds hold after any sequence of returns (other tests may use
    /// the cache at the same time: only invariants are checked).
    #[test]
    fn buffer_cache_stays_within_its_bounds() {
        for len in [
            MIN_VALUES,
            3 * MIN_VALUES,
            MIN_VALUES / 2,
            5 * MIN_VALUES,
            2 * MIN_VALUES,
        ]
        .into_iter()
        .cycle()
        .take(12)
        {
            give_buffer(vec![1.0; len]);
            let pool = BUFFERS.lock().unwrap_or_else(|e| e.into_inner());
            assert!(pool.len() <= MAX_ENTRIES);
            let bytes: usize = pool.iter().map(|b| b.capacity() * 8).sum();
            assert!(bytes <= BUFFER_BUDGET);
            assert!(pool.iter().all(|b| b.capacity() >= MIN_VALUES));
        }
        let b = take_buffer(2 * MIN_VALUES);
        assert_eq!(b.len(), 2 * MIN_VALUES);
        release();
    }
}
