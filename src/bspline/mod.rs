//! B-spline building blocks: not-a-knot knot vectors, span search and
//! the Cox–de Boor recurrence for basis values and derivatives.
//!
//! The tuned kernels of the crate are cubic ([`DEGREE`], [`ORDER`]); the
//! degrees 1, 2, 4 and 5 ([`Degree`]) run through the general-width
//! reference in [`basis::basis_derivs_k`] and [`knots::not_a_knot_k`];
//! [`interp`] fits curves of any degree up to 15 with any knots and end
//! conditions.

pub mod basis;
pub mod boundary;
pub mod interp;
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

/// The polynomial degree of a spline along one axis, 1 to 5, with scipy's
/// not-a-knot knots (`_not_a_knot(x, k)`: sites as interior knots at odd
/// degrees, midpoints of sites at even ones).
///
/// ```
/// use bsfit::Degree;
/// assert_eq!("quintic".parse::<Degree>()?, Degree::Quintic);
/// assert_eq!(Degree::try_from(1)?, Degree::Linear);
/// assert_eq!(Degree::Quintic.get(), 5);
/// assert_eq!(Degree::try_from(2)?, Degree::Quadratic);
/// assert!(Degree::try_from(6).is_err());
/// # Ok::<(), bsfit::FitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Degree {
    /// k = 1: piecewise linear (scipy's `slinear`).
    Linear,
    /// k = 2: quadratic.
    Quadratic,
    /// k = 3: cubic (the default).
    #[default]
    Cubic,
    /// k = 4: quartic.
    Quartic,
    /// k = 5: quintic.
    Quintic,
}

impl Degree {
    /// The degree k as a number (1 to 5).
    pub const fn get(self) -> usize {
        match self {
            Degree::Linear => 1,
            Degree::Quadratic => 2,
            Degree::Cubic => 3,
            Degree::Quartic => 4,
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

    /// The name [`FromStr`](std::str::FromStr) parses (`linear`,
    /// `quadratic`, `cubic`, `quartic`, `quintic`).
    pub const fn name(self) -> &'static str {
        match self {
            Degree::Linear => "linear",
            Degree::Quadratic => "quadratic",
            Degree::Cubic => "cubic",
            Degree::Quartic => "quartic",
            Degree::Quintic => "quintic",
        }
    }
}

impl TryFrom<usize> for Degree {
    type Error = FitError;
    /// 1 to 5; any other degree is [`FitError::Unsupported`].
    fn try_from(k: usize) -> Result<Self, FitError> {
        match k {
            1 => Ok(Degree::Linear),
            2 => Ok(Degree::Quadratic),
            3 => Ok(Degree::Cubic),
            4 => Ok(Degree::Quartic),
            5 => Ok(Degree::Quintic),
            _ => Err(FitError::Unsupported {
                feature: format!(
                    "spline degree k = {k} on a tensor grid (degrees 1 to 5 are supported)"
                ),
            }),
        }
    }
}

impl std::str::FromStr for Degree {
    type Err = FitError;
    /// `1` to `5` or `linear`, `quadratic`, `cubic`, `quartic`,
    /// `quintic`. Another number is
    /// [`FitError::Unsupported`], anything else
    /// [`FitError::InvalidParameter`].
    fn from_str(s: &str) -> Result<Self, FitError> {
        match s {
            "linear" => Ok(Degree::Linear),
            "quadratic" => Ok(Degree::Quadratic),
            "cubic" => Ok(Degree::Cubic),
            "quartic" => Ok(Degree::Quartic),
            "quintic" => Ok(Degree::Quintic),
            _ => match s.parse::<usize>() {
                Ok(k) => Degree::try_from(k),
                Err(_) => Err(FitError::InvalidParameter {
                    name: "k",
                    reason: format!(
                        "unknown degree {s:?}: expected 1 to 5 or its name (\"linear\", \"quadratic\", \"cubic\", \"quartic\", \"quintic\")"
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
