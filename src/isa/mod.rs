//! Instruction-set selection.
//!
//! The best available instruction set is detected once ([`Isa::detect`]) and
//! stored in every fitter, evaluator and operator at construction; kernels never
//! re-detect. A caller or a benchmark can pin one with [`Isa::require`], and the
//! environment variable `BSFIT_ISA` (`scalar`, `avx2`, `avx512`) overrides the
//! default for whole-program runs.
//!
//! Kernels for an ISA are `#[target_feature]` functions that are only reachable
//! through a value of [`Isa`] that passed [`Isa::is_available`]; holding such a
//! value is the proof that the CPU supports the instructions.

use crate::FitError;
use std::fmt;
use std::sync::OnceLock;

/// An instruction set the SIMD kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Isa {
    /// Portable scalar code: the reference every fast path is tested against.
    Scalar,
    /// x86-64 AVX2 + FMA (4 × f64 lanes).
    Avx2,
    /// x86-64 AVX-512F (8 × f64 lanes).
    Avx512,
}

impl Isa {
    /// All instruction sets, slowest first.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2, Isa::Avx512];

    /// Short lowercase name (`scalar`, `avx2`, `avx512`), as accepted by `BSFIT_ISA`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Parses a name as accepted by `BSFIT_ISA` (case-insensitive; `avx-512` and `avx512f` also work).
    pub fn from_name(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" | "none" => Some(Isa::Scalar),
            "avx2" | "avx2+fma" => Some(Isa::Avx2),
            "avx512" | "avx-512" | "avx512f" => Some(Isa::Avx512),
            _ => None,
        }
    }

    /// Whether this CPU can run the kernels of `self`.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The instruction sets available on this CPU, slowest first.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The best instruction set of this CPU, without looking at `BSFIT_ISA`.
    pub fn best() -> Isa {
        *Isa::available().last().unwrap_or(&Isa::Scalar)
    }

    /// The default instruction set: `BSFIT_ISA` if set to an available ISA,
    /// otherwise [`Isa::best`]. Computed once per process.
    ///
    /// An unknown or unavailable `BSFIT_ISA` value falls back to the best ISA
    /// and prints one warning on stderr.
    pub fn detect() -> Isa {
        static CHOSEN: OnceLock<Isa> = OnceLock::new();
        *CHOSEN.get_or_init(|| match std::env::var("BSFIT_ISA") {
            Ok(v) if !v.trim().is_empty() => match Isa::from_name(&v).map(Isa::require) {
                Some(Ok(isa)) => isa,
                _ => {
                    eprintln!(
                        "bsfit: BSFIT_ISA={v:?} is unknown or unavailable on this CPU; using {}",
                        Isa::best()
                    );
                    Isa::best()
                }
            },
            _ => Isa::best(),
        })
    }

    /// Returns `self` if available, else [`FitError::IsaUnavailable`].
    pub fn require(self) -> Result<Isa, FitError> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(FitError::IsaUnavailable { isa: self.name() })
        }
    }

    /// Number of f64 lanes of this ISA's vectors.
    pub fn f64_lanes(self) -> usize {
        match self {
            Isa::Scalar => 1,
            Isa::Avx2 => 4,
            Isa::Avx512 => 8,
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for isa in Isa::ALL {
            assert_eq!(Isa::from_name(isa.name()), Some(isa));
        }
        assert_eq!(Isa::from_name("sse9"), None);
    }

    #[test]
    fn scalar_always_available_and_detect_is_available() {
        assert!(Isa::Scalar.is_available());
        assert!(Isa::detect().is_available());
        assert!(Isa::available().contains(&Isa::best()));
    }

    #[test]
    fn require_reports_unavailable() {
        for isa in Isa::ALL {
            match isa.require() {
                Ok(i) => assert!(i.is_available()),
                Err(e) => assert_eq!(e, FitError::IsaUnavailable { isa: isa.name() }),
            }
        }
    }
}
