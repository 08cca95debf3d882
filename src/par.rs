//! Explicit parallelism: [`Par`] says how many threads an operation may use.

use std::num::NonZeroUsize;

/// How an operation may parallelise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Par {
    /// Run on the calling thread only.
    Seq,
    /// Split work across up to `n` tasks of the current rayon pool.
    Rayon(NonZeroUsize),
}

impl Par {
    /// `Rayon(n)` with `n` = the current rayon pool's thread count (`Seq` if that is 1).
    pub fn auto() -> Par {
        Par::with_threads(rayon::current_num_threads())
    }

    /// `Seq` for `n <= 1`, else `Rayon(n)`.
    pub fn with_threads(n: usize) -> Par {
        match NonZeroUsize::new(n) {
            Some(n) if n.get() > 1 => Par::Rayon(n),
            _ => Par::Seq,
        }
    }

    /// Number of tasks this allows (1 for `Seq`).
    pub fn degree(self) -> usize {
        match self {
            Par::Seq => 1,
            Par::Rayon(n) => n.get(),
        }
    }
}

impl Default for Par {
    fn default() -> Self {
        Par::auto()
    }
}

/// A rayon pool of `n` threads. With `pin`, worker `i` is pinned to core
/// `i mod cores` through `core_affinity`, so timings (and ISA comparisons) do
/// not depend on where the scheduler moves the workers.
///
/// Errors: [`crate::FitError::InvalidParameter`] if the pool cannot be started.
pub fn thread_pool(n: usize, pin: bool) -> Result<rayon::ThreadPool, crate::FitError> {
    let cores = if pin {
        core_affinity::get_core_ids().unwrap_or_default()
    } else {
        Vec::new()
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .start_handler(move |i| {
            if let Some(c) = cores.get(i % cores.len().max(1)) {
                core_affinity::set_for_current(*c);
            }
        })
        .build()
        .map_err(|e| crate::FitError::InvalidParameter {
            name: "threads",
            reason: format!("cannot start {n} threads: {e}"),
        })
}
