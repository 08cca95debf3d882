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
//! Bounds: at most [`MAX_ENTRIES`] workspaces and [`MAX_ENTRIES`] buffers,
//! each at most [`MAX_BYTES`]; larger ones (grids above 4M points) are never
//! kept, so the cache holds at most 2 × 4 × 32 MiB. Thread-safe (one mutex
//! per kind, held only to push or pop). Buffers below [`MIN_VALUES`] values
//! are not worth keeping: the allocator serves them from its free lists.

use crate::{Real, Workspace};
use std::sync::Mutex;

/// Most entries kept per kind.
pub(crate) const MAX_ENTRIES: usize = 4;
/// Largest block kept (bytes).
pub(crate) const MAX_BYTES: usize = 32 << 20;
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

/// Keeps the coefficient array of a dropped spline for the next fit.
pub(crate) fn give_buffer(buf: Vec<f64>) {
    let bytes = buf.capacity() * std::mem::size_of::<f64>();
    if buf.capacity() < MIN_VALUES || bytes > MAX_BYTES {
        return;
    }
    let mut pool = BUFFERS.lock().unwrap_or_else(|e| e.into_inner());
    if pool.len() < MAX_ENTRIES {
        pool.push(buf);
    }
}
