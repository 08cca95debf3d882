//! [`Mode`]: scipy.ndimage's boundary modes, and how each one acts in the
//! prefilter and at evaluation time.
//!
//! scipy (1.17.1) gives a mode three jobs, each with its own table
//! (`ndimage/_ni_support.py`, `ndimage/src/ni_splines.c`,
//! `ndimage/src/ni_interpolation.c`, `ndimage/_interpolation.py`):
//!
//! | mode | prefilter initialisation | points outside `[0, n-1]` | taps outside the array | pre-padding |
//! |---|---|---|---|---|
//! | `mirror` | mirror | mirrored (period `2n-2`) | mirrored | – |
//! | `reflect`, `grid-mirror` | reflect | reflected (period `2n`) | reflected | – |
//! | `wrap` | mirror | wrapped (period `n-1`) | mirrored | – |
//! | `grid-wrap` | wrap (periodic) | wrapped (period `n`) | wrapped | – |
//! | `nearest` | reflect | not mapped | clamped to the edge | 12 samples, edge values |
//! | `constant` | mirror | `cval` | mirrored | – |
//! | `grid-constant` | mirror | not mapped | `cval` | 12 samples of `cval` |
//!
//! "Taps" are the `order + 1` coefficients per axis that the B-spline of a
//! point reaches. The pre-padding applies when `map_coordinates` prefilters
//! (`order > 1`): the input is padded before the filter so that the
//! filter's boundary matters less, as scipy does.

use crate::FitError;
use std::fmt;
use std::str::FromStr;

/// How values beyond the array's edges are defined: scipy.ndimage's
/// `mode` argument (the names are scipy's, parsed by [`FromStr`]).
///
/// See the [module docs](self) for what each mode does in the prefilter
/// and in [`map_coordinates`](super::map_coordinates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `'mirror'`: `d c b | a b c d | c b a` (reflection about the edge
    /// samples' centres). The default of [`spline_filter`](super::spline_filter).
    Mirror,
    /// `'reflect'`: `d c b a | a b c d | d c b a` (reflection about the
    /// edges of the samples' cells).
    Reflect,
    /// `'grid-mirror'`: a synonym of `'reflect'`.
    GridMirror,
    /// `'wrap'`: scipy's legacy periodic mode (period `n - 1` at
    /// evaluation, mirror initialisation in the prefilter).
    Wrap,
    /// `'grid-wrap'`: periodic, `a b c d | a b c d | a b c d`.
    GridWrap,
    /// `'nearest'`: `a a a | a b c d | d d d`.
    Nearest,
    /// `'constant'`: points outside `[0, n - 1]` take `cval`; inside, the
    /// spline's taps beyond the edges are mirrored. The default of
    /// [`map_coordinates`](super::map_coordinates).
    Constant,
    /// `'grid-constant'`: `k k k | a b c d | k k k` with `k = cval`, for
    /// points and taps alike.
    GridConstant,
}

impl Mode {
    /// Every mode, in scipy's documentation order.
    pub const ALL: [Mode; 8] = [
        Mode::Reflect,
        Mode::GridMirror,
        Mode::Constant,
        Mode::GridConstant,
        Mode::Nearest,
        Mode::Mirror,
        Mode::GridWrap,
        Mode::Wrap,
    ];

    /// scipy's name of the mode (`"mirror"`, `"grid-wrap"`, …).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Mirror => "mirror",
            Mode::Reflect => "reflect",
            Mode::GridMirror => "grid-mirror",
            Mode::Wrap => "wrap",
            Mode::GridWrap => "grid-wrap",
            Mode::Nearest => "nearest",
            Mode::Constant => "constant",
            Mode::GridConstant => "grid-constant",
        }
    }

    /// The boundary initialisation of the recursive prefilter
    /// (`apply_filter` in scipy's `ni_splines.c`).
    pub(crate) fn filter_init(self) -> Init {
        match self {
            Mode::Mirror | Mode::Constant | Mode::GridConstant | Mode::Wrap => Init::Mirror,
            Mode::GridWrap => Init::Wrap,
            Mode::Nearest | Mode::Reflect | Mode::GridMirror => Init::Reflect,
        }
    }

    /// How evaluation maps a point's coordinate (scipy's extension code
    /// from `_extend_mode_to_code`).
    pub(crate) fn ext(self) -> Ext {
        match self {
            Mode::Nearest => Ext::Nearest,
            Mode::Wrap => Ext::Wrap,
            Mode::Reflect | Mode::GridMirror => Ext::Reflect,
            Mode::Mirror => Ext::Mirror,
            Mode::Constant => Ext::Constant,
            Mode::GridWrap => Ext::GridWrap,
            Mode::GridConstant => Ext::GridConstant,
        }
    }

    /// How evaluation maps the taps that fall outside the array
    /// (`_get_spline_boundary_mode`: `constant` and `wrap` mirror them).
    pub(crate) fn tap_ext(self) -> Ext {
        match self.ext() {
            Ext::Constant | Ext::Wrap => Ext::Mirror,
            e => e,
        }
    }

    /// Samples padded on each side of every axis before `map_coordinates`
    /// prefilters (`_prepad_for_spline_filter`): 12 for `nearest` (edge
    /// values) and `grid-constant` (`cval`), else 0.
    pub(crate) fn prepad(self) -> usize {
        match self {
            Mode::Nearest | Mode::GridConstant => 12,
            _ => 0,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = FitError;

    /// Parses scipy's names exactly (`"mirror"`, `"reflect"`,
    /// `"grid-mirror"`, `"wrap"`, `"grid-wrap"`, `"nearest"`, `"constant"`,
    /// `"grid-constant"`); anything else is [`FitError::InvalidParameter`].
    fn from_str(s: &str) -> Result<Mode, FitError> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| FitError::InvalidParameter {
                name: "mode",
                reason: format!(
                    "boundary mode {s:?} not supported; expected one of {}",
                    Mode::ALL.map(|m| format!("'{m}'")).join(", ")
                ),
            })
    }
}

/// The recursive filter's boundary initialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Init {
    /// Whole-sample symmetric extension (`_init_causal_mirror`).
    Mirror,
    /// Half-sample symmetric extension (`_init_causal_reflect`).
    Reflect,
    /// Periodic extension (`_init_causal_wrap`).
    Wrap,
}

/// scipy's `NI_ExtendMode`: how a coordinate outside `[0, len - 1]` is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ext {
    Nearest,
    Wrap,
    Reflect,
    Mirror,
    Constant,
    GridWrap,
    GridConstant,
}

/// `map_coordinate` of scipy's `ni_interpolation.c`: maps `x` (a point's
/// coordinate or a tap's index) outside `[0, len - 1]` back inside, or to
/// `-1` for [`Ext::Constant`]; [`Ext::GridConstant`] leaves it alone.
/// The integer casts of the C code (`(npy_intp)(x / period)`) are
/// truncations toward zero, done here in `f64` (`trunc`), which agrees
/// with them wherever the C cast is defined.
#[inline]
pub(crate) fn map_coordinate(x: f64, len: usize, ext: Ext) -> f64 {
    let n = len as f64;
    if x < 0.0 {
        match ext {
            Ext::Mirror if len <= 1 => 0.0,
            Ext::Mirror => {
                let sz2 = 2.0 * n - 2.0;
                let x = sz2 * (-x / sz2).trunc() + x;
                if x <= 1.0 - n { x + sz2 } else { -x }
            }
            Ext::Reflect if len <= 1 => 0.0,
            Ext::Reflect => {
                let sz2 = 2.0 * n;
                let x = if x < -sz2 {
                    sz2 * (-x / sz2).trunc() + x
                } else {
                    x
                };
                if x < -n {
                    x + sz2
                } else {
                    // scipy: `-1e-15` check so that (-x - 1) is never -1.
                    (if x > -1e-15 { 1e-15 } else { -x }) - 1.0
                }
            }
            Ext::Wrap if len <= 1 => 0.0,
            Ext::Wrap => {
                let sz = n - 1.0;
                x + sz * ((-x / sz).trunc() + 1.0)
            }
            Ext::GridWrap if len <= 1 => 0.0,
            Ext::GridWrap => x + n * (((-1.0 - x) / n).trunc() + 1.0),
            Ext::Nearest => 0.0,
            Ext::Constant => -1.0,
            Ext::GridConstant => x,
        }
    } else if x > n - 1.0 {
        match ext {
            Ext::Mirror if len <= 1 => 0.0,
            Ext::Mirror => {
                let sz2 = 2.0 * n - 2.0;
                let x = x - sz2 * (x / sz2).trunc();
                if x >= n { sz2 - x } else { x }
            }
            Ext::Reflect if len <= 1 => 0.0,
            Ext::Reflect => {
                let sz2 = 2.0 * n;
                let x = x - sz2 * (x / sz2).trunc();
                if x >= n { sz2 - x - 1.0 } else { x }
            }
            Ext::Wrap if len <= 1 => 0.0,
            Ext::Wrap => {
                let sz = n - 1.0;
                x - sz * (x / sz).trunc()
            }
            Ext::GridWrap if len <= 1 => 0.0,
            Ext::GridWrap => x - n * (x / n).trunc(),
            Ext::Nearest => n - 1.0,
            Ext::Constant => -1.0,
            Ext::GridConstant => x,
        }
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_fail() {
        for m in Mode::ALL {
            assert_eq!(m.name().parse::<Mode>().unwrap(), m);
            assert_eq!(m.to_string(), m.name());
        }
        for bad in ["", "Mirror", "grid_wrap", "periodic", "zero", "constant "] {
            assert!(matches!(
                bad.parse::<Mode>(),
                Err(FitError::InvalidParameter { name: "mode", .. })
            ));
        }
    }

    /// Integer taps map into the array for every mode that maps them,
    /// and agree with the periodic/symmetric extensions they stand for.
    #[test]
    fn taps_map_inside_and_follow_their_extension() {
        for len in 1..7usize {
            for i in -40i64..40 {
                let x = i as f64;
                for ext in [
                    Ext::Mirror,
                    Ext::Reflect,
                    Ext::GridWrap,
                    Ext::Nearest,
                    Ext::Wrap,
                ] {
                    let y = map_coordinate(x, len, ext);
                    assert!(
                        y >= 0.0 && y <= (len - 1) as f64 && y.fract() == 0.0,
                        "{ext:?} {len} {x} -> {y}"
                    );
                }
                let n = len as i64;
                if len > 1 {
                    let m = map_coordinate(x, len, Ext::Mirror) as i64;
                    let p = 2 * n - 2;
                    let r = i.rem_euclid(p);
                    assert_eq!(m, if r < n { r } else { p - r });
                }
                let g = map_coordinate(x, len, Ext::GridWrap) as i64;
                assert_eq!(g, if len > 1 { i.rem_euclid(n) } else { 0 });
                let r = map_coordinate(x, len, Ext::Reflect) as i64;
                let q = i.rem_euclid(2 * n);
                assert_eq!(
                    r,
                    if len > 1 {
                        if q < n { q } else { 2 * n - 1 - q }
                    } else {
                        0
                    }
                );
            }
        }
    }
}
