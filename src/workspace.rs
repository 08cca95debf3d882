//! One scratch discipline for the whole crate (faer's rule).
//!
//! Every operation that needs temporaries publishes its requirement as a
//! [`ScratchReq`], computed up front from its dimensions and its parallelism
//! ([`Fitter::scratch`](crate::Fitter::scratch),
//! [`DirectPlan::scratch`](crate::grid3::direct::DirectPlan::scratch),
//! [`StencilOp::scratch`](crate::grid3::operator::StencilOp::scratch)), and
//! takes a `&mut` [`Workspace`]: one `bumpalo` arena per worker, reset at
//! every use, plus one shared `f64` buffer. Once a workspace has been sized
//! for an operation ([`Workspace::with_scratch`] or a first call), repeating
//! the operation allocates nothing; nothing is ever allocated inside a rayon
//! task. The convenience calls that do not take a workspace use one owned by
//! their plan, sized when the plan is built.

use bumpalo::Bump;

/// At most this many workers (arenas) take part in one operation.
pub(crate) const MAX_WORKERS: usize = 64;

/// Slack per arena for `bumpalo`'s alignment and chunk footer.
const ARENA_SLACK: usize = 256;

/// Scratch an operation needs: `workers` arenas of `per_worker_bytes` each,
/// and a shared buffer of `shared_f64` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScratchReq {
    /// Number of per-worker arenas (1 for a sequential operation).
    pub workers: usize,
    /// Bytes of scratch per worker.
    pub per_worker_bytes: usize,
    /// `f64` values of the shared buffer (e.g. the fit's rotation buffer).
    pub shared_f64: usize,
}

impl ScratchReq {
    /// Nothing.
    pub const EMPTY: ScratchReq = ScratchReq {
        workers: 0,
        per_worker_bytes: 0,
        shared_f64: 0,
    };

    /// `per_worker` values of `T` on each of `workers` workers.
    pub fn per_worker<T>(workers: usize, per_worker: usize) -> ScratchReq {
        ScratchReq {
            workers,
            per_worker_bytes: per_worker.saturating_mul(std::mem::size_of::<T>()),
            shared_f64: 0,
        }
    }

    /// Room for `self` and `other` at the same time.
    pub fn all_of(self, other: ScratchReq) -> ScratchReq {
        ScratchReq {
            workers: self.workers.max(other.workers),
            per_worker_bytes: self.per_worker_bytes + other.per_worker_bytes + ARENA_SLACK,
            shared_f64: self.shared_f64 + other.shared_f64,
        }
    }

    /// Room for `self` or `other`, one after the other.
    pub fn any_of(self, other: ScratchReq) -> ScratchReq {
        ScratchReq {
            workers: self.workers.max(other.workers),
            per_worker_bytes: self.per_worker_bytes.max(other.per_worker_bytes),
            shared_f64: self.shared_f64.max(other.shared_f64),
        }
    }

    /// Total bytes.
    pub fn bytes(&self) -> usize {
        self.workers * self.per_worker_bytes + self.shared_f64 * std::mem::size_of::<f64>()
    }
}

/// Reusable scratch: one `bumpalo` arena per worker and a shared `f64`
/// buffer. See the [module docs](self).
#[derive(Debug, Default)]
pub struct Workspace {
    arenas: Vec<Bump>,
    per_worker_bytes: usize,
    shared: Vec<f64>,
}

/// Per-worker scratch slices handed out by [`Workspace::split`], without a
/// heap-allocated container.
pub(crate) struct WorkerSlices<'a, T> {
    slots: [&'a mut [T]; MAX_WORKERS],
    len: usize,
}

impl<'a, T> WorkerSlices<'a, T> {
    /// The slices, one per worker.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [&'a mut [T]] {
        &mut self.slots[..self.len]
    }
}

impl Workspace {
    /// An empty workspace; it grows on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// A workspace holding `req`.
    pub fn with_scratch(req: ScratchReq) -> Self {
        let mut ws = Self::default();
        ws.reserve(req);
        ws
    }

    /// Grows the workspace to hold `req` (allocates only if it is too small).
    pub fn reserve(&mut self, req: ScratchReq) {
        let workers = req.workers.clamp(1, MAX_WORKERS);
        if req.per_worker_bytes > self.per_worker_bytes {
            self.arenas.clear();
            self.per_worker_bytes = req.per_worker_bytes;
        }
        while self.arenas.len() < workers {
            self.arenas
                .push(Bump::with_capacity(self.per_worker_bytes + ARENA_SLACK));
        }
        if self.shared.len() < req.shared_f64 {
            self.shared = vec![0.0; req.shared_f64];
        }
    }

    /// Bytes held.
    pub fn allocated_bytes(&self) -> usize {
        self.arenas
            .iter()
            .map(|a| a.chunk_capacity() + a.allocated_bytes())
            .sum::<usize>()
            + self.shared.len() * std::mem::size_of::<f64>()
    }

    /// Reserves `req`, resets the arenas and hands out `min(req.workers, 64)`
    /// slices of `per_worker` values of `T`, each filled with `fill` (NaN in
    /// the solvers: a kernel that reads scratch before writing it poisons
    /// its result, which the finiteness checks report), and the shared
    /// buffer's first `req.shared_f64` values.
    pub(crate) fn split<T: Copy>(
        &mut self,
        req: ScratchReq,
        per_worker: usize,
        fill: T,
    ) -> (WorkerSlices<'_, T>, &mut [f64]) {
        debug_assert!(per_worker * std::mem::size_of::<T>() <= req.per_worker_bytes);
        self.reserve(req);
        let workers = req.workers.clamp(1, MAX_WORKERS);
        let mut slots: [&mut [T]; MAX_WORKERS] = std::array::from_fn(|_| &mut [][..]);
        for (slot, arena) in slots.iter_mut().zip(self.arenas.iter_mut()).take(workers) {
            arena.reset();
            *slot = arena.alloc_slice_fill_copy(per_worker, fill);
        }
        let shared = &mut self.shared[..req.shared_f64];
        (
            WorkerSlices {
                slots,
                len: workers,
            },
            shared,
        )
    }
}

/// A mutable slice written by several rayon tasks at disjoint, strided
/// positions (the passes whose destinations are not contiguous ranges;
/// contiguous ones are split safely with `split_at_mut`/`chunks_mut`).
///
/// It borrows the slice for its lifetime, so nothing else can read or write
/// it meanwhile; every access is bounds-checked in debug builds.
pub(crate) struct DisjointWriter<'a, T> {
    ptr: *mut T,
    len: usize,
    _borrow: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: a `DisjointWriter` is only a `&mut [T]` handed to several tasks;
// each of its (unsafe) accessors requires that tasks touch disjoint elements,
// so sharing it is as safe as sending disjoint `&mut` sub-slices.
unsafe impl<T: Send> Send for DisjointWriter<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for DisjointWriter<'_, T> {}

impl<'a, T> DisjointWriter<'a, T> {
    /// Borrows `s` for the writers.
    pub(crate) fn new(s: &'a mut [T]) -> Self {
        DisjointWriter {
            ptr: s.as_mut_ptr(),
            len: s.len(),
            _borrow: std::marker::PhantomData,
        }
    }

    /// Pointer to element `i` (`i <= len`; the end pointer is allowed).
    ///
    /// # Safety
    /// The caller only accesses elements that no other task accesses
    /// concurrently, and within `0..len`.
    #[inline(always)]
    pub(crate) unsafe fn at(&self, i: usize) -> *mut T {
        debug_assert!(i <= self.len, "DisjointWriter: {i} > {}", self.len);
        // SAFETY: `i <= len`: inside the borrowed slice or one past its end.
        unsafe { self.ptr.add(i) }
    }

    /// Copies `src` to elements `[at, at + src.len())`.
    ///
    /// # Safety
    /// The range lies within the slice and no other task accesses it concurrently.
    #[inline]
    pub(crate) unsafe fn write(&self, at: usize, src: &[T])
    where
        T: Copy,
    {
        debug_assert!(at + src.len() <= self.len);
        // SAFETY: in bounds and unaliased by the caller's contract.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.add(at), src.len()) }
    }
}
