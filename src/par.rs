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
