//! B-spline building blocks: not-a-knot knot vectors, span search and
//! the Cox–de Boor recurrence for basis values and derivatives.
//!
//! The tuned kernels of the crate are cubic ([`DEGREE`], [`ORDER`]); the
//! odd degrees 1 and 5 ([`Degree`]) run through the general-width
//! reference in [`basis::basis_derivs_k`] and [`knots::not_a_knot_k`].

pub mod basis;
pub mod boundary;
pub mod knots;
pub(crate) mod power;

use crate::FitError;

/// Spline degree of the tuned kernels (cubic).
pub const DEGREE: usize = 3;
/// Number of basis functions that are non-zero on one knot span (`DEGREE + 1`).
pub const ORDER: usize = DEGREE + 1;
/// The highest supported degree.
pub const MAX_DEGREE: usize = 5;
/// Basis functions non-zero on one knot span at the highest degree.
pub const MAX_ORDER: usize = MAX_DEGREE + 1;

/// The polynomial degree of a spline along one axis: the odd degrees of
/// scipy's `make_interp_spline` with not-a-knot ends.
///
/// ```
/// use bsfit::Degree;
/// assert_eq!("quintic".parse::<Degree>()?, Degree::Quintic);
/// assert_eq!(Degree::try_from(1)?, Degree::Linear);
/// assert_eq!(Degree::Quintic.get(), 5);
/// assert!(Degree::try_from(2).is_err());
/// # Ok::<(), bsfit::FitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Degree {
    /// k = 1: piecewise linear (scipy's `slinear`).
    Linear,
    /// k = 3: cubic (the default).
    #[default]
    Cubic,
    /// k = 5: quintic.
    Quintic,
}

impl Degree {
    /// The degree k as a number (1, 3 or 5).
    pub const fn get(self) -> usize {
        match self {
            Degree::Linear => 1,
            Degree::Cubic => 3,
            Degree::Quintic => 5,
        }
    }

    /// Basis functions non-zero on one knot span: `k + 1`.
    pub const fn order(self) -> usize {
        self.get() + 1
    }

    /// The fewest sites an axis of this degree needs: `k + 1`.
    pub const fn min_sites(self) -> usize {
        self.get() + 1
    }

    /// The name [`FromStr`](std::str::FromStr) parses (`linear`, `cubic`,
    /// `quintic`).
    pub const fn name(self) -> &'static str {
        match self {
            Degree::Linear => "linear",
            Degree::Cubic => "cubic",
            Degree::Quintic => "quintic",
        }
    }
}

impl TryFrom<usize> for Degree {
    type Error = FitError;
    /// 1, 3 or 5; any other degree is [`FitError::Unsupported`].
    fn try_from(k: usize) -> Result<Self, FitError> {
        match k {
            1 => Ok(Degree::Linear),
            3 => Ok(Degree::Cubic),
            5 => Ok(Degree::Quintic),
            _ => Err(FitError::Unsupported {
                feature: format!(
                    "spline degree k = {k} (the odd degrees 1, 3 and 5 are supported)"
                ),
            }),
        }
    }
}

impl std::str::FromStr for Degree {
    type Err = FitError;
    /// `1`, `3`, `5` or `linear`, `cubic`, `quintic`. Another number is
    /// [`FitError::Unsupported`], anything else
    /// [`FitError::InvalidParameter`].
    fn from_str(s: &str) -> Result<Self, FitError> {
        match s {
            "linear" => Ok(Degree::Linear),
            "cubic" => Ok(Degree::Cubic),
            "quintic" => Ok(Degree::Quintic),
            _ => match s.parse::<usize>() {
                Ok(k) => Degree::try_from(k),
                Err(_) => Err(FitError::InvalidParameter {
                    name: "k",
                    reason: format!(
                        "unknown degree {s:?}: expected 1, 3, 5, \"linear\", \"cubic\" or \"quintic\""
                    ),
                }),
            },
        }
    }
}

impl std::fmt::Display for Degree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.get())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Degree {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.get() as u64)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Degree {
    fn deserialize<De: serde::Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        let k = u64::deserialize(d)?;
        Degree::try_from(usize::try_from(k).unwrap_or(usize::MAX)).map_err(serde::de::Error::custom)
    }
}
