//! End conditions of an axis of the cubic interpolation fit, and the
//! per-axis linear system each of them leads to.
//!
//! Every condition reproduces the knot vector and the coefficients of scipy's
//! `make_interp_spline(x, y, k=3, bc_type=...)`.
//!
//! # Not-a-knot (the default)
//! Knots `[x_0 ×4, x_2, …, x_{n-3}, x_{n-1} ×4]`, `n` coefficients: the
//! collocation matrix itself (see [`crate::banded`]).
//!
//! # Derivative ends: natural, clamped, explicit
//! Knots `[x_0 ×4, x_1, …, x_{n-2}, x_{n-1} ×4]` (scipy's `_augknt`), so
//! `n + 2` coefficients `c_0 … c_{n+1}` and two more equations than sites:
//! one derivative condition per end,
//!
//! ```text
//! left:  a_0 c_0 + a_1 c_1 + a_2 c_2         = d_l,  a_r = B_r^{(p)}(x_0)
//! right: e_1 c_{n-1} + e_2 c_n + e_3 c_{n+1} = d_r,  e_r = B_{n-2+r}^{(q)}(x_{n-1})
//! ```
//!
//! (`p, q ∈ {1, 2}`; `B_3` and its first two derivatives vanish at the simple
//! knot `x_0`, `B_{n-2}` likewise at `x_{n-1}`). Natural is `p = 2, d = 0`,
//! clamped `p = 1, d = 0`. The collocation rows at the sites are `c_0 = f_0`,
//! `B_i(x_i) c_i + B_{i+1}(x_i) c_{i+1} + B_{i+2}(x_i) c_{i+2} = f_i`
//! (`1 ≤ i ≤ n-2`, since `x_i = t_{i+3}` is where `B_{i+3}` starts) and
//! `c_{n+1} = f_{n-1}`.
//!
//! We eliminate `c_1 = (d_l − a_0 c_0 − a_2 c_2)/a_1` and
//! `c_n = (d_r − e_1 c_{n-1} − e_3 c_{n+1})/e_2` (`a_1 = −a_0 ≠ 0` for `p = 1`;
//! `a_1 < 0 < a_0, a_2` for `p = 2`; likewise at the right end). What is
//! left is an `n × n` tridiagonal system in
//! `u = (c_0, c_2, c_3, …, c_{n-1}, c_{n+1})` whose right-hand side is the
//! values themselves when `d_l = d_r = 0`: only rows 1 and n-2 change,
//!
//! ```text
//! row 1:   −B_1 a_0/a_1 · u_0 + (B_2 − B_1 a_2/a_1) · u_1 + B_3 · u_2                 = f_1
//! row n-2: B_{n-2} · u_{n-3} + (B_{n-1} − B_n e_1/e_2) · u_{n-2} − B_n e_3/e_2 · u_{n-1} = f_{n-2}
//! ```
//!
//! (basis values at `x_1`, resp. `x_{n-2}`). It is factored once like the
//! not-a-knot matrix and solved for every line with the same SIMD kernels;
//! the `n + 2` coefficients follow by inserting `c_1` and `c_n` (one
//! combination of two neighbours per line, `AxisSystem::finish_in_place`).
//! Non-zero explicit values `d_l`, `d_r` enter by linearity: the solution
//! is that of `d = 0` plus `d_l ρ_l + d_r ρ_r`, where `ρ_l` (`ρ_r`) is the
//! coefficient vector of zero values with `d_l = 1` (`d_r = 1`), computed
//! once per axis (`AxisSystem::response`).
//!
//! # Periodic
//! Knots of scipy's `_periodic_knots`: `t_{3+i} = x_i` and the sites'
//! spacings continued periodically, three knots beyond each end; `n + 2`
//! coefficients with `c_{n-1+j} = c_j` (`j = 0, 1, 2`). The unknowns are
//! `w_j = c_{(j+1) mod N}`, `N = n − 1`; the conditions at `x_0 … x_{N-1}`
//! (the value at `x_{n-1}` must equal that at `x_0`) read
//! `B_i(x_i) w_{i-1} + B_{i+1}(x_i) w_i + B_{i+2}(x_i) w_{i+1} = f_i`,
//! indices mod `N`: tridiagonal with the corners `A_{0,N-1} = β` and
//! `A_{N-1,0} = α`. With `γ = −A_00`, `A = T + u vᵀ`, where `T` is the
//! tridiagonal part with `T_00 = A_00 − γ` and `T_{N-1,N-1} = A_{N-1,N-1} − αβ/γ`,
//! `u = (γ, 0, …, 0, α)` and `v = (1, 0, …, 0, β/γ)`. Sherman–Morrison:
//! `w = y − z (v·y)/(1 + v·z)` with `T y = f` (the banded solve of every
//! line) and `T z = u` (once per axis): a correction of one multiply-add per
//! value, vectorised across lines (`AxisSystem::correct`). For `N = 3`
//! the corners lie inside the band and `A` is factored directly.

use super::Degree;
use super::basis::{basis, basis_derivs};
use super::knots::find_span;
use crate::FitError;
use crate::banded::{BandLu, WideLu};
use crate::isa::Kernels;
use crate::isa::scalar::{all_finite, comb_checked};

/// The condition at one end of an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum EndCondition {
    /// The third derivative is continuous at the second (second-to-last)
    /// site. Both ends of an axis are not-a-knot or neither is (as in scipy).
    #[default]
    NotAKnot,
    /// Second derivative 0 (scipy's `"natural"`, `[(2, 0.0)]`).
    Natural,
    /// First derivative 0 (scipy's `"clamped"`, `[(1, 0.0)]`).
    Clamped,
    /// The derivative of this order (1 or 2) takes values given with the
    /// fit ([`Fitter::fit_with_ends`](crate::Fitter::fit_with_ends)): one per
    /// site of the other axes (scipy's `[(order, value)]`).
    Derivative {
        /// Order of the derivative, 1 or 2.
        order: u8,
    },
}

impl EndCondition {
    /// The derivative order and whether its value is given with the fit;
    /// `None` for not-a-knot.
    fn derivative(self) -> Option<(usize, bool)> {
        match self {
            EndCondition::NotAKnot => None,
            EndCondition::Natural => Some((2, false)),
            EndCondition::Clamped => Some((1, false)),
            EndCondition::Derivative { order } => Some((order as usize, true)),
        }
    }
}

impl std::str::FromStr for EndCondition {
    type Err = FitError;
    /// scipy's end names: `not-a-knot`, `natural`, `clamped`; `d1` / `d2`
    /// for a derivative of that order whose values come with the fit.
    fn from_str(s: &str) -> Result<Self, FitError> {
        match s {
            "not-a-knot" => Ok(EndCondition::NotAKnot),
            "natural" => Ok(EndCondition::Natural),
            "clamped" => Ok(EndCondition::Clamped),
            "d1" => Ok(EndCondition::Derivative { order: 1 }),
            "d2" => Ok(EndCondition::Derivative { order: 2 }),
            other => Err(FitError::InvalidParameter {
                name: "bc_type",
                reason: format!(
                    "unknown end condition {other:?}: expected \"not-a-knot\", \"natural\", \"clamped\", \"d1\" or \"d2\""
                ),
            }),
        }
    }
}

impl EndCondition {
    /// The name [`FromStr`](std::str::FromStr) parses.
    pub fn name(self) -> &'static str {
        match self {
            EndCondition::NotAKnot => "not-a-knot",
            EndCondition::Natural => "natural",
            EndCondition::Clamped => "clamped",
            EndCondition::Derivative { order: 1 } => "d1",
            EndCondition::Derivative { .. } => "d2",
        }
    }
}

impl std::str::FromStr for BoundaryCondition {
    type Err = FitError;
    /// One axis' condition: `periodic`, an end name for both ends
    /// (`not-a-knot`, `natural`, `clamped`, `d1`, `d2`), or `left:right`
    /// with an end name on each side (`natural:d1`).
    fn from_str(s: &str) -> Result<Self, FitError> {
        match s.split_once(':') {
            Some((l, r)) => BoundaryCondition::from_names(l, r),
            None => BoundaryCondition::from_names(s, s),
        }
    }
}

/// The boundary condition of one axis of a fit.
///
/// ```
/// use bsfit::{BoundaryCondition, Fitter};
/// use ndarray::Array1;
/// let x = [0.0, 0.7, 1.5, 2.0, 3.1, 4.0];
/// let fitter = Fitter::with_boundary([&x[..]], [BoundaryCondition::NATURAL])?;
/// // Natural ends reproduce straight lines; the spline has n + 2 coefficients.
/// let s = fitter.fit(Array1::from_iter(x.map(|v| 2.0 * v - 1.0)).view())?;
/// assert_eq!(s.shape(), [8]);
/// assert!((s.eval([2.5]) - 4.0).abs() < 1e-12);
/// assert!(s.eval_deriv([0.0], [2]).abs() < 1e-12);
/// # Ok::<(), bsfit::FitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum BoundaryCondition {
    /// One condition at each end.
    Ends {
        /// At the first site.
        left: EndCondition,
        /// At the last site.
        right: EndCondition,
    },
    /// The spline is periodic with period `x_{n-1} − x_0`: the values at both
    /// end sites must agree; evaluation wraps coordinates into the domain
    /// (scipy's `bc_type="periodic"`, `extrapolate="periodic"`).
    Periodic,
}

impl Default for BoundaryCondition {
    fn default() -> Self {
        Self::NOT_A_KNOT
    }
}

impl BoundaryCondition {
    /// Not-a-knot at both ends (the default).
    pub const NOT_A_KNOT: Self = Self::ends(EndCondition::NotAKnot, EndCondition::NotAKnot);
    /// Natural at both ends.
    pub const NATURAL: Self = Self::ends(EndCondition::Natural, EndCondition::Natural);
    /// Clamped at both ends.
    pub const CLAMPED: Self = Self::ends(EndCondition::Clamped, EndCondition::Clamped);
    /// Periodic.
    pub const PERIODIC: Self = Self::Periodic;

    /// `left` at the first site, `right` at the last.
    pub const fn ends(left: EndCondition, right: EndCondition) -> Self {
        Self::Ends { left, right }
    }

    /// The condition from the names of its two ends: `periodic` on both
    /// for a periodic axis, else end names (see
    /// [`EndCondition`]'s [`FromStr`](std::str::FromStr)).
    ///
    /// Errors: [`FitError::InvalidParameter`] for an unknown name or
    /// `periodic` at one end only.
    pub fn from_names(left: &str, right: &str) -> Result<Self, FitError> {
        match (left, right) {
            ("periodic", "periodic") => Ok(Self::Periodic),
            ("periodic", _) | (_, "periodic") => Err(FitError::InvalidParameter {
                name: "bc_type",
                reason: "\"periodic\" applies to both ends of an axis".into(),
            }),
            (l, r) => Ok(Self::ends(l.parse()?, r.parse()?)),
        }
    }

    /// The names of the two ends (`periodic` twice for a periodic axis).
    pub fn names(self) -> [&'static str; 2] {
        match self {
            Self::Ends { left, right } => [left.name(), right.name()],
            Self::Periodic => ["periodic"; 2],
        }
    }

    /// Whether the condition takes derivative values with the fit at the
    /// left and the right end.
    pub fn explicit_ends(self) -> [bool; 2] {
        match self {
            Self::Ends { left, right } => {
                [left, right].map(|e| matches!(e.derivative(), Some((_, true))))
            }
            Self::Periodic => [false; 2],
        }
    }

    /// Whether this is [`BoundaryCondition::Periodic`].
    pub fn is_periodic(self) -> bool {
        self == Self::Periodic
    }

    /// Number of coefficients on an axis of `n` sites: `n` for not-a-knot,
    /// `n + 2` otherwise.
    pub fn coefficients(self, n: usize) -> usize {
        if self == Self::NOT_A_KNOT { n } else { n + 2 }
    }
}

/// Knot vector for `bc` on validated sites `x` (`n + 4` knots for
/// not-a-knot, `n + 6` otherwise), as scipy chooses it.
pub fn knots_for(bc: BoundaryCondition, x: &[f64]) -> Vec<f64> {
    let n = x.len();
    match bc {
        BoundaryCondition::Periodic => {
            // scipy `_periodic_knots(x, 3)`.
            let dx: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
            let mut t = vec![0.0; n + 6];
            t[3..n + 3].copy_from_slice(x);
            for i in 0..3 {
                t[3 - i - 1] = t[3 - i] - dx[dx.len() - 1 - (i % (n - 1))];
                t[n + 3 + i] = t[n + 2 + i] + dx[i % (n - 1)];
            }
            t
        }
        b if b == BoundaryCondition::NOT_A_KNOT => super::knots::not_a_knot(x),
        _ => {
            let mut t = Vec::with_capacity(n + 6);
            t.extend_from_slice(&[x[0]; 3]);
            t.extend_from_slice(x);
            t.extend_from_slice(&[x[n - 1]; 3]);
            t
        }
    }
}

/// One output row of `AxisSystem::finish_in_place`: a copy of a solution row,
/// or a combination `a·y_i + b·y_j` of two.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RowOp {
    /// `y_i`.
    Copy(usize),
    /// `a·y_i + b·y_j`.
    Comb(usize, f64, usize, f64),
}

/// One step of [`AxisSystem::finish_in_place`]: row `to` becomes a copy of
/// row `from`, or `a·row_i + b·row_j`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FixOp {
    /// `row[to] = row[from]`.
    Copy { to: usize, from: usize },
    /// `row[to] = a·row[i] + b·row[j]`.
    Comb {
        to: usize,
        i: usize,
        a: f64,
        j: usize,
        b: f64,
    },
}

/// The periodic Sherman–Morrison correction `y ← y − z (g_0 y_0 + g_1 y_{N-1})`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Correction {
    z: Vec<f64>,
    g0: f64,
    g1: f64,
}

/// The banded system of one axis under its boundary condition, factored
/// once, and how its solution becomes the axis' coefficients.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AxisSystem {
    /// The boundary condition.
    pub bc: BoundaryCondition,
    /// Knot vector (`n_out + 4` knots).
    pub knots: Vec<f64>,
    /// Factors of the `n_sys × n_sys` system; its right-hand side is the
    /// first `n_sys` values of a line.
    pub lu: BandLu,
    /// Number of sites.
    pub n_sites: usize,
    /// Number of coefficients.
    pub n_out: usize,
    /// `n_out` rows built from the `n_sys` solution rows (empty for
    /// not-a-knot: the solution is the coefficients).
    rows: Vec<RowOp>,
    /// The same as steps on an `n_out`-row buffer whose rows `1..=n_sys`
    /// hold the solution (no copy of the rows that stay).
    fix: Vec<FixOp>,
    /// Periodic correction (`None` unless periodic with `n ≥ 5`).
    correction: Option<Correction>,
    /// Coefficients of zero values with a unit derivative value at the left
    /// (right) end, for the ends whose values come with the fit.
    response: [Option<Vec<f64>>; 2],
    /// The degree of the axis.
    pub degree: Degree,
    /// Degree 5: the factors of the collocation matrix (half bandwidth 4),
    /// applied along the axis after the cubic passes, in which `lu` is the
    /// identity (as it is at degree 1, whose collocation matrix is `I`).
    pub wide: Option<WideLu>,
}

impl AxisSystem {
    /// Builds and factors the system of `axis` (`axis` labels errors) with
    /// sites `x`, already validated.
    ///
    /// Errors: [`FitError::InvalidBoundary`] for a not-a-knot end paired with
    /// a derivative end or a derivative order other than 1 or 2;
    /// [`FitError::SingularMatrix`].
    #[cfg(test)]
    pub fn new(axis: usize, x: &[f64], bc: BoundaryCondition) -> Result<Self, FitError> {
        Self::with_degree(axis, x, bc, Degree::Cubic)
    }

    /// [`new`](Self::new) for an axis of degree `k`. Degrees 1 and 5 take
    /// not-a-knot ends only (scipy's default; its other conditions at these
    /// degrees are not implemented here).
    ///
    /// Errors: as [`new`](Self::new), and [`FitError::Unsupported`] for
    /// another condition at a degree other than 3.
    pub fn with_degree(
        axis: usize,
        x: &[f64],
        bc: BoundaryCondition,
        k: Degree,
    ) -> Result<Self, FitError> {
        if k != Degree::Cubic {
            if bc != BoundaryCondition::NOT_A_KNOT {
                return Err(FitError::Unsupported {
                    feature: format!(
                        "axis {axis}: boundary condition {:?} at degree k = {k} (only not-a-knot)",
                        bc.names()
                    ),
                });
            }
            let n = x.len();
            let knots = super::knots::not_a_knot_k(x, k);
            let wide = match k {
                Degree::Linear => None,
                _ => Some(WideLu::collocation(axis, x, &knots, k.get())?),
            };
            return Ok(AxisSystem {
                bc,
                knots,
                lu: BandLu::identity(n),
                n_sites: n,
                n_out: n,
                rows: Vec::new(),
                fix: Vec::new(),
                correction: None,
                response: [None, None],
                degree: k,
                wide,
            });
        }
        let n = x.len();
        let knots = knots_for(bc, x);
        match bc {
            BoundaryCondition::Periodic => Self::periodic(axis, x, knots),
            BoundaryCondition::Ends { left, right } => {
                match (left.derivative(), right.derivative()) {
                    (None, None) => {
                        let lu = BandLu::collocation(axis, x, &knots)?;
                        Ok(AxisSystem {
                            bc,
                            knots,
                            lu,
                            n_sites: n,
                            n_out: n,
                            rows: Vec::new(),
                            fix: Vec::new(),
                            correction: None,
                            response: [None, None],
                            degree: Degree::Cubic,
                            wide: None,
                        })
                    }
                    (Some(l), Some(r)) => Self::derivative_ends(axis, x, knots, bc, l, r),
                    _ => Err(FitError::InvalidBoundary {
                        axis,
                        reason: "a not-a-knot end needs a not-a-knot end on the other side \
                                 (scipy: one condition per end, or none on both)"
                            .into(),
                    }),
                }
            }
        }
    }

    /// 1-norm condition number of the axis' collocation system.
    pub fn condition_1norm(&self) -> f64 {
        match &self.wide {
            Some(w) => w.condition_1norm(),
            None => self.lu.condition_1norm(),
        }
    }

    /// Number of rows of the banded system.
    pub fn n_sys(&self) -> usize {
        self.lu.len()
    }

    /// Whether the banded solution needs [`correct`](Self::correct) and
    /// [`expand_rows`](Self::expand_rows) to become the coefficients.
    pub fn has_post(&self) -> bool {
        !self.rows.is_empty()
    }

    /// The steps that turn a buffer of `n_out` rows whose rows `1..=n_sys`
    /// hold the banded solution into the coefficients (empty for
    /// not-a-knot), in order (see [`finish_in_place`](Self::finish_in_place)).
    #[cfg(feature = "gpu")]
    pub fn fix_ops(&self) -> &[FixOp] {
        &self.fix
    }

    /// The periodic Sherman–Morrison correction `y ← y − z (g_0 y_0 + g_1
    /// y_{N-1})` as `(z, g_0, g_1)`, if the axis has one.
    #[cfg(feature = "gpu")]
    pub fn correction_parts(&self) -> Option<(&[f64], f64, f64)> {
        self.correction.as_ref().map(|c| (&c.z[..], c.g0, c.g1))
    }

    /// The response to a unit derivative value at `end` (0 left, 1 right),
    /// if that end takes values with the fit.
    pub fn response(&self, end: usize) -> Option<&[f64]> {
        self.response[end].as_deref()
    }

    /// See the module docs, "Derivative ends".
    fn derivative_ends(
        axis: usize,
        x: &[f64],
        knots: Vec<f64>,
        bc: BoundaryCondition,
        (p, pl): (usize, bool),
        (q, qr): (usize, bool),
    ) -> Result<Self, FitError> {
        let n = x.len();
        for order in [p, q] {
            if !(1..=2).contains(&order) {
                return Err(FitError::InvalidBoundary {
                    axis,
                    reason: format!("derivative order {order}; 1 or 2 are supported"),
                });
            }
        }
        let t = &knots;
        let nc = n + 2;
        // Left row: B_0..B_2 at x_0 (span 3); right row: B_{n-1}..B_{n+1}
        // at x_{n-1} (span nc - 1).
        let dl = basis_derivs(t, 3, x[0], p)[p];
        let dr = basis_derivs(t, nc - 1, x[n - 1], q)[q];
        let (a0, a1, a2) = (dl[0], dl[1], dl[2]);
        let (e1, e2, e3) = (dr[1], dr[2], dr[3]);
        for (row, piv) in [(1, a1), (n, e2)] {
            if !(piv.is_finite() && piv != 0.0) {
                return Err(FitError::SingularMatrix {
                    axis,
                    row,
                    pivot: piv,
                });
            }
        }
        // Full collocation rows, then the substitution of c_1 and c_n.
        let map = |j: usize| -> usize {
            match j {
                0 => 0,
                j if j == n + 1 => n - 1,
                j => j - 1,
            }
        };
        let mut a = vec![[0.0f64; 5]; n];
        // Entries of full column 1 (resp. n) per row, for the responses.
        let mut col1 = vec![0.0; n];
        let mut coln = vec![0.0; n];
        for (i, &xi) in x.iter().enumerate() {
            let s = find_span(t, xi);
            let b = basis(t, s, xi);
            for (r, &v) in b.iter().enumerate() {
                if v == 0.0 {
                    continue;
                }
                let j = s - 3 + r;
                let mut put = |col: usize, w: f64| {
                    let off = col as isize - i as isize;
                    debug_assert!((-2..=2).contains(&off));
                    if (-2..=2).contains(&off) {
                        a[i][(off + 2) as usize] += w;
                    }
                };
                if j == 1 {
                    col1[i] = v;
                    put(0, -v * a0 / a1);
                    put(1, -v * a2 / a1);
                } else if j == n {
                    coln[i] = v;
                    put(n - 2, -v * e1 / e2);
                    put(n - 1, -v * e3 / e2);
                } else {
                    put(map(j), v);
                }
            }
        }
        let lu = BandLu::factor(axis, a)?;
        let mut rows: Vec<RowOp> = (0..nc)
            .map(|j| {
                if j == 1 || j == n {
                    RowOp::Copy(0)
                } else {
                    RowOp::Copy(map(j))
                }
            })
            .collect();
        rows[1] = RowOp::Comb(0, -a0 / a1, 1, -a2 / a1);
        rows[n] = RowOp::Comb(n - 2, -e1 / e2, n - 1, -e3 / e2);
        // Buffer rows 1..=n hold u_0..u_{n-1}: rows 2..n-1 are already
        // c_2..c_{n-1}; move c_0 and c_{n+1} out, then form c_1 and c_n.
        let fix = vec![
            FixOp::Copy { to: 0, from: 1 },
            FixOp::Comb {
                to: 1,
                i: 0,
                a: -a0 / a1,
                j: 2,
                b: -a2 / a1,
            },
            FixOp::Copy { to: n + 1, from: n },
            FixOp::Comb {
                to: n,
                i: n - 1,
                a: -e1 / e2,
                j: n + 1,
                b: -e3 / e2,
            },
        ];
        let mut sys = AxisSystem {
            bc,
            knots,
            lu,
            n_sites: n,
            n_out: nc,
            rows,
            fix,
            correction: None,
            response: [None, None],
            degree: Degree::Cubic,
            wide: None,
        };
        // ρ_l: zero values, d_l = 1: rhs_i = −B_1(x_i)/a_1, c_1 += 1/a_1.
        for (end, explicit, col, row, piv) in [(0, pl, &col1, 1, a1), (1, qr, &coln, n, e2)] {
            if explicit {
                let mut y: Vec<f64> = col.iter().map(|v| -v / piv).collect();
                let mut c = vec![0.0; nc];
                sys.solve_line(&mut y, &mut c);
                c[row] += 1.0 / piv;
                sys.response[end] = Some(c);
            }
        }
        Ok(sys)
    }

    /// See the module docs, "Periodic".
    fn periodic(axis: usize, x: &[f64], knots: Vec<f64>) -> Result<Self, FitError> {
        let n = x.len();
        let nn = n - 1;
        let t = &knots;
        // Dense rows as (column, value) triples of the cyclic system.
        let mut a = vec![[0.0f64; 5]; nn];
        let (mut alpha, mut beta) = (0.0, 0.0);
        for (i, &xi) in x[..nn].iter().enumerate() {
            let s = find_span(t, xi);
            let b = basis(t, s, xi);
            for (r, &v) in b.iter().enumerate() {
                if v == 0.0 {
                    continue;
                }
                let col = (s - 3 + r + nn - 1) % nn;
                let off = col as isize - i as isize;
                if (-2..=2).contains(&off) {
                    a[i][(off + 2) as usize] += v;
                } else if i == 0 && col == nn - 1 {
                    beta += v;
                } else if i == nn - 1 && col == 0 {
                    alpha += v;
                } else {
                    return Err(FitError::SingularMatrix {
                        axis,
                        row: i,
                        pivot: f64::NAN,
                    });
                }
            }
        }
        let rows = (0..n + 2).map(|j| RowOp::Copy((j + nn - 1) % nn)).collect();
        let (lu, correction) = if alpha == 0.0 && beta == 0.0 {
            (BandLu::factor(axis, a)?, None)
        } else {
            let gamma = -a[0][2];
            a[0][2] -= gamma;
            a[nn - 1][2] -= alpha * beta / gamma;
            let lu = BandLu::factor(axis, a)?;
            let mut z = vec![0.0; nn];
            z[0] = gamma;
            z[nn - 1] = alpha;
            lu.solve_strided(&mut z, 1);
            let r = beta / gamma;
            let denom = 1.0 + z[0] + r * z[nn - 1];
            if !(denom.is_finite() && denom.abs() > 64.0 * f64::EPSILON) {
                return Err(FitError::SingularMatrix {
                    axis,
                    row: nn - 1,
                    pivot: denom,
                });
            }
            (
                lu,
                Some(Correction {
                    z,
                    g0: 1.0 / denom,
                    g1: r / denom,
                }),
            )
        };
        // Buffer rows 1..=N hold w_0..w_{N-1} = c_1..c_N.
        let fix = vec![
            FixOp::Copy { to: 0, from: nn },
            FixOp::Copy {
                to: nn + 1,
                from: 1,
            },
            FixOp::Copy {
                to: nn + 2,
                from: 2,
            },
        ];
        Ok(AxisSystem {
            bc: BoundaryCondition::Periodic,
            knots,
            lu,
            n_sites: n,
            n_out: n + 2,
            rows,
            fix,
            correction,
            response: [None, None],
            degree: Degree::Cubic,
            wide: None,
        })
    }

    /// The scalar reference for one line: solves the system for the
    /// right-hand side `y` (`n_sys` values, overwritten) and writes the
    /// `n_out` coefficients to `c`.
    pub fn solve_line(&self, y: &mut [f64], c: &mut [f64]) {
        self.lu.solve_strided(y, 1);
        if !self.has_post() {
            c[..y.len()].copy_from_slice(y);
            return;
        }
        // SAFETY: y holds n_sys rows of one lane, c n_out rows of one lane.
        unsafe {
            let _ = self.correct(Kernels::Scalar, y.as_mut_ptr(), 1, 1);
            let _ = self.expand_rows(y.as_ptr(), 1, c.as_mut_ptr(), 1, 1);
        }
    }

    /// The transposed solve of one line: the adjoint of
    /// [`solve_line`](Self::solve_line) as a map from the `n_sites` values
    /// of a line to its `n_out` coefficients. See
    /// [`solve_transposed_rows`](Self::solve_transposed_rows); `g` holds
    /// `n_out` values, `w` receives `n_sites`.
    ///
    /// # Panics
    /// If `g` is shorter than `n_out` or `w` than `n_sites`.
    // The one-line reference of the adjoint; the library runs the blocks.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn solve_line_transposed(&self, g: &[f64], w: &mut [f64]) {
        self.solve_transposed_rows(g, 1, w, 1, 1);
    }

    /// The transposed solve for `m` lines side by side: row `r` of the
    /// lines is `g[r*gs .. r*gs + m]` (`n_out` rows) on input and
    /// `w[r*ws .. r*ws + m]` (`n_sites` rows) on output.
    ///
    /// The fit of one line is linear: `c = M f` with
    /// `M = R · A⁻¹ · S`, where `S` takes the first `n_sys` of the
    /// `n_sites` values (all of them except for a periodic axis, whose last
    /// value must repeat the first and is not read), `A` is the `n_sys × n_sys`
    /// system (with its periodic corner correction) and `R` builds the
    /// `n_out` coefficients from the solution (the identity for not-a-knot).
    /// This computes `w = Mᵀ g = Sᵀ · A⁻ᵀ · Rᵀ · g`:
    ///
    /// 1. `h = Rᵀ g`: not-a-knot `h = g`. Derivative ends (natural,
    ///    clamped, explicit): every coefficient row `r` that copies
    ///    solution row `i` adds `g_r` to `h_i`; the two eliminated ones,
    ///    `c_1 = −(a_0/a_1) u_0 − (a_2/a_1) u_1` and
    ///    `c_n = −(e_1/e_2) u_{n-2} − (e_3/e_2) u_{n-1}` (module docs,
    ///    "Derivative ends"), add `−(a_0/a_1) g_1` to `h_0`, `−(a_2/a_1) g_1`
    ///    to `h_1` and likewise at the right end. Periodic: the
    ///    coefficients are `c_j = w_{(j−1) mod N}`, so `h_i` sums the
    ///    `g_j` of the (one or two) coefficients that repeat unknown `i`.
    /// 2. Periodic only: with `A = T + u vᵀ`, Sherman–Morrison gives
    ///    `A⁻¹ = (I − z pᵀ) T⁻¹` with `z = T⁻¹u` and
    ///    `p = (g₀ e_0 + g₁ e_{N-1})` (`g₀ = 1/(1 + v·z)`, `g₁ = (β/γ) g₀`,
    ///    the factors of [`correct`](Self::correct)), so
    ///    `A⁻ᵀ = T⁻ᵀ (I − p zᵀ)`: `h_0 −= g₀ (z·h)`, `h_{N-1} −= g₁ (z·h)`.
    ///    (`N = 3` has no correction: `A` itself is factored.)
    /// 3. `A⁻ᵀ h` (or `T⁻ᵀ h`) from the factors `A = L U` already held:
    ///    `Aᵀ = Uᵀ Lᵀ` with `Uᵀ` lower triangular (diagonal `U_ii`,
    ///    sub-diagonals `U_{i-1,i}`, `U_{i-2,i}`) and `Lᵀ` unit upper
    ///    (`L_{i+1,i}`, `L_{i+2,i}`): a forward sweep
    ///    `y_i = (h_i − U_{i-1,i} y_{i-1} − U_{i-2,i} y_{i-2}) / U_ii`, then a
    ///    backward one `x_i = y_i − L_{i+1,i} x_{i+1} − L_{i+2,i} x_{i+2}`.
    /// 4. `w = Sᵀ x`: the `n_sys` rows, and 0 for the last site of a
    ///    periodic axis (the fit does not read its value).
    ///
    /// Explicit end values enter the fit as `d_l ρ_l + d_r ρ_r` (module
    /// docs): their adjoints are the dot products `ρ_eᵀ g`
    /// ([`response`](Self::response)).
    ///
    /// # Panics
    /// If a row of `g` or `w` is out of bounds, or `m` exceeds a stride
    /// (with `m > 0`).
    pub fn solve_transposed_rows(&self, g: &[f64], gs: usize, w: &mut [f64], ws: usize, m: usize) {
        let ns = self.n_sys();
        if m == 0 {
            return;
        }
        if m > gs.max(1) || m > ws.max(1) {
            crate::error::panic_short(&"AxisSystem::solve_transposed_rows", m, gs.min(ws));
        }
        let grow = |r: usize| &g[r * gs..r * gs + m];
        // 1. h = Rᵀ g into rows 0..ns of w.
        if self.rows.is_empty() {
            for i in 0..ns {
                w[i * ws..i * ws + m].copy_from_slice(grow(i));
            }
        } else {
            for i in 0..ns {
                w[i * ws..i * ws + m].fill(0.0);
            }
            for (r, op) in self.rows.iter().enumerate() {
                let src = grow(r);
                let (i, a, second) = match *op {
                    RowOp::Copy(i) => (i, 1.0, None),
                    RowOp::Comb(i, a, j, b) => (i, a, Some((j, b))),
                };
                for (d, &s) in w[i * ws..i * ws + m].iter_mut().zip(src) {
                    *d += a * s;
                }
                if let Some((j, b)) = second {
                    for (d, &s) in w[j * ws..j * ws + m].iter_mut().zip(src) {
                        *d += b * s;
                    }
                }
            }
        }
        self.finish_transposed(w, ws, m);
    }

    /// [`solve_line_transposed`](Self::solve_line_transposed) for a line
    /// `g` that is zero except for `b` at rows `first .. first + 4` (a basis
    /// row of the spline): `w = Mᵀ g` in `O(n_sites)` without forming `g`.
    ///
    /// # Panics
    /// If `first + 4 > n_out` or `w` is shorter than `n_sites`.
    pub fn basis_row_transposed(&self, first: usize, b: &[f64; 4], w: &mut [f64]) {
        let ns = self.n_sys();
        if first + 4 > self.n_out {
            crate::error::panic_index("basis row", first + 4, self.n_out + 1);
        }
        w[..ns].fill(0.0);
        for (k, &v) in b.iter().enumerate() {
            let r = first + k;
            match self.rows.get(r) {
                None => w[r] += v,
                Some(&RowOp::Copy(i)) => w[i] += v,
                Some(&RowOp::Comb(i, a, j, bb)) => {
                    w[i] += a * v;
                    w[j] += bb * v;
                }
            }
        }
        self.finish_transposed(w, 1, 1);
    }

    /// Steps 2–4 of [`solve_transposed_rows`](Self::solve_transposed_rows)
    /// on `h = Rᵀ g` held in rows `0..n_sys` of `w`.
    fn finish_transposed(&self, w: &mut [f64], ws: usize, m: usize) {
        let ns = self.n_sys();
        let n = self.n_sites;
        // 2. The periodic correction, transposed, 128 lanes at a time.
        if let Some(cor) = &self.correction {
            let mut dot = [0.0f64; 128];
            for l0 in (0..m).step_by(128) {
                let k = (m - l0).min(128);
                let dot = &mut dot[..k];
                dot.fill(0.0);
                for (i, &zi) in cor.z.iter().enumerate() {
                    let row = &w[i * ws + l0..i * ws + l0 + k];
                    for (d, &h) in dot.iter_mut().zip(row) {
                        *d += zi * h;
                    }
                }
                for (row, f) in [(0, cor.g0), (ns - 1, cor.g1)] {
                    let dst = &mut w[row * ws + l0..row * ws + l0 + k];
                    for (d, &s) in dst.iter_mut().zip(dot.iter()) {
                        *d -= f * s;
                    }
                }
            }
        }
        // 3. Uᵀ forward, then Lᵀ backward.
        let (lo, up) = (self.lu.lower(), self.lu.upper());
        for i in 0..ns {
            let (head, tail) = w.split_at_mut(i * ws);
            let cur = &mut tail[..m];
            let inv = up[i][0];
            match i {
                0 => cur.iter_mut().for_each(|c| *c *= inv),
                1 => {
                    let a = up[0][1];
                    for (c, &p) in cur.iter_mut().zip(&head[..m]) {
                        *c = (*c - a * p) * inv;
                    }
                }
                _ => {
                    let (a, b) = (up[i - 1][1], up[i - 2][2]);
                    let p1 = &head[(i - 1) * ws..(i - 1) * ws + m];
                    let p2 = &head[(i - 2) * ws..(i - 2) * ws + m];
                    for ((c, &x1), &x2) in cur.iter_mut().zip(p1).zip(p2) {
                        *c = (*c - a * x1 - b * x2) * inv;
                    }
                }
            }
        }
        for i in (0..ns.saturating_sub(1)).rev() {
            let (head, tail) = w.split_at_mut((i + 1) * ws);
            let cur = &mut head[i * ws..i * ws + m];
            let a = lo[i + 1][1];
            if i + 2 < ns {
                let b = lo[i + 2][0];
                let (n1, n2) = (&tail[..m], &tail[ws..ws + m]);
                for ((c, &x1), &x2) in cur.iter_mut().zip(n1).zip(n2) {
                    *c -= a * x1 + b * x2;
                }
            } else {
                for (c, &x1) in cur.iter_mut().zip(&tail[..m]) {
                    *c -= a * x1;
                }
            }
        }
        // 4. The sites the fit does not read.
        for i in ns..n {
            w[i * ws..i * ws + m].fill(0.0);
        }
    }

    /// The periodic correction of lanes `0..m` (`m ≤ 128`) of the solution
    /// rows `y[i*ys ..]`, `i < n_sys`, in place, with `kernels`' update
    /// (the scalar ISA is the reference); nothing for other conditions.
    /// Returns whether every corrected value is finite.
    ///
    /// # Safety
    /// Rows `0..n_sys` of lanes `0..m` are in bounds for `y`.
    pub(crate) unsafe fn correct(
        &self,
        kernels: Kernels,
        y: *mut f64,
        ys: usize,
        m: usize,
    ) -> bool {
        let Some(cor) = &self.correction else {
            return true;
        };
        let nn = self.n_sys();
        let mut f = [0.0f64; 128];
        let m = m.min(128);
        // SAFETY: rows 0..nn of lanes 0..m are in bounds (caller); `f` is
        // a separate stack array of m ≤ 128 values.
        unsafe {
            let y0 = std::slice::from_raw_parts(y, m);
            let yl = std::slice::from_raw_parts(y.add((nn - 1) * ys), m);
            for ((f, &a), &b) in f.iter_mut().zip(y0).zip(yl) {
                *f = cor.g0 * a + cor.g1 * b;
            }
            kernels.sub_outer_raw(&cor.z, f.as_ptr(), y, ys, m)
        }
    }

    /// Turns a buffer of `n_out` rows (`b[r*w ..]`, lanes `0..w ≤ 128`)
    /// whose rows `1..=n_sys` hold the banded solution into the
    /// coefficient rows, in place: the periodic correction, then a few row
    /// steps (the rows that are already coefficients are not touched).
    /// Returns whether every value computed is finite. The correction is
    /// [`correct`](Self::correct)'s, the row steps the arithmetic of
    /// [`expand_rows`](Self::expand_rows) (plain code, identical on every ISA).
    ///
    /// # Safety
    /// Rows `0..n_out` of lanes `0..w` are in bounds for `b`.
    pub(crate) unsafe fn finish_in_place(&self, kernels: Kernels, b: *mut f64, w: usize) -> bool {
        // SAFETY: rows 1..=n_sys and 0..n_out are in bounds (caller).
        unsafe {
            let mut ok = self.correct(kernels, b.add(w), w, w);
            for op in &self.fix {
                match *op {
                    FixOp::Copy { to, from } => {
                        std::ptr::copy_nonoverlapping(b.add(from * w), b.add(to * w), w);
                    }
                    FixOp::Comb { to, i, a, j, b: bb } => {
                        debug_assert!(to != i && to != j);
                        let o = std::slice::from_raw_parts_mut(b.add(to * w), w);
                        let x = std::slice::from_raw_parts(b.add(i * w), w);
                        let y = std::slice::from_raw_parts(b.add(j * w), w);
                        ok &= comb_checked(o, a, x, bb, y);
                    }
                }
            }
            ok
        }
    }

    /// Writes the `n_out` coefficient rows (`out[r*os ..]`) of lanes `0..m`
    /// from the solution rows `y[i*ys ..]`; returns whether every value
    /// written is finite. Plain code, identical on every ISA.
    ///
    /// # Safety
    /// Rows `0..n_sys` of lanes `0..m` are in bounds for `y`, rows
    /// `0..n_out` for `out`, and the two blocks do not overlap.
    pub unsafe fn expand_rows(
        &self,
        y: *const f64,
        ys: usize,
        out: *mut f64,
        os: usize,
        m: usize,
    ) -> bool {
        let mut ok = true;
        // SAFETY: as documented (caller).
        unsafe {
            for (r, op) in self.rows.iter().enumerate() {
                let o = std::slice::from_raw_parts_mut(out.add(r * os), m);
                match *op {
                    RowOp::Copy(i) => {
                        o.copy_from_slice(std::slice::from_raw_parts(y.add(i * ys), m));
                        ok &= all_finite(o);
                    }
                    RowOp::Comb(i, a, j, b) => {
                        let yi = std::slice::from_raw_parts(y.add(i * ys), m);
                        let yj = std::slice::from_raw_parts(y.add(j * ys), m);
                        ok &= comb_checked(o, a, yi, b, yj);
                    }
                }
            }
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_knots_continue_the_spacings() {
        let x = [0.0, 1.0, 3.0, 4.0, 6.0];
        let t = knots_for(BoundaryCondition::Periodic, &x);
        assert_eq!(
            t,
            vec![-5.0, -3.0, -2.0, 0.0, 1.0, 3.0, 4.0, 6.0, 7.0, 9.0, 10.0]
        );
    }

    #[test]
    fn augmented_knots() {
        let x = [0.0, 1.0, 3.0, 4.0];
        let t = knots_for(BoundaryCondition::NATURAL, &x);
        assert_eq!(t, vec![0.0, 0.0, 0.0, 0.0, 1.0, 3.0, 4.0, 4.0, 4.0, 4.0]);
    }

    #[test]
    fn in_place_finish_equals_the_line_reference_and_interpolates() {
        let x = [0.0, 0.6, 1.1, 2.0, 2.4, 3.5, 4.0];
        let d1 = EndCondition::Derivative { order: 1 };
        let d2 = EndCondition::Derivative { order: 2 };
        for bc in [
            BoundaryCondition::NATURAL,
            BoundaryCondition::CLAMPED,
            BoundaryCondition::PERIODIC,
            BoundaryCondition::ends(d1, d2),
        ] {
            let sys = AxisSystem::new(0, &x, bc).unwrap();
            let (ns, no, w) = (sys.n_sys(), sys.n_out, 3);
            let f = |i: usize, lane: usize| ((i * 7 + lane * 3) % 5) as f64 - 1.5;
            let mut buf = vec![f64::NAN; no * w];
            for lane in 0..w {
                let mut y: Vec<f64> = (0..ns).map(|i| f(i, lane)).collect();
                let mut c = vec![0.0; no];
                sys.solve_line(&mut y.clone(), &mut c);
                sys.lu.solve_strided(&mut y, 1);
                for i in 0..ns {
                    buf[(i + 1) * w + lane] = y[i];
                }
                // The coefficients interpolate the values at the sites.
                for (i, &xi) in x.iter().enumerate().take(ns) {
                    let s = find_span(&sys.knots, xi);
                    let b = basis(&sys.knots, s, xi);
                    let v: f64 = (0..4).map(|r| b[r] * c[s - 3 + r]).sum();
                    assert!((v - f(i, lane)).abs() < 1e-12, "{bc:?}: {v}");
                }
                // The lane's column after the in-place finish, below.
                buf.extend(c);
            }
            let refs = buf.split_off(no * w);
            // SAFETY: `buf` holds n_out rows of w lanes.
            assert!(unsafe { sys.finish_in_place(Kernels::Scalar, buf.as_mut_ptr(), w) });
            for lane in 0..w {
                for r in 0..no {
                    assert_eq!(buf[r * w + lane], refs[lane * no + r], "{bc:?} row {r}");
                }
            }
        }
    }

    #[test]
    fn transposed_solve_is_the_adjoint_of_the_line_fit() {
        // M (n_out × n_sites) column by column from the forward solve, then
        // Mᵀ g by the transposed solve (lines side by side and one at a
        // time, and the sparse basis-row form) against the dense product.
        let d1 = EndCondition::Derivative { order: 1 };
        let d2 = EndCondition::Derivative { order: 2 };
        for x in [
            vec![0.0, 0.6, 1.1, 2.0, 2.4, 3.5, 4.0, 4.2, 5.9],
            vec![0.0, 1.0, 2.5, 3.0],
            vec![0.0, 1.0, 2.5, 3.0, 3.5],
        ] {
            for bc in [
                BoundaryCondition::NOT_A_KNOT,
                BoundaryCondition::NATURAL,
                BoundaryCondition::CLAMPED,
                BoundaryCondition::PERIODIC,
                BoundaryCondition::ends(d1, d2),
                BoundaryCondition::ends(EndCondition::Natural, d1),
            ] {
                let sys = AxisSystem::new(0, &x, bc).unwrap();
                let (n, ns, no) = (x.len(), sys.n_sys(), sys.n_out);
                let mut m = vec![vec![0.0; n]; no];
                for j in 0..ns {
                    let mut y = vec![0.0; ns];
                    y[j] = 1.0;
                    let mut c = vec![0.0; no];
                    sys.solve_line(&mut y, &mut c);
                    for r in 0..no {
                        m[r][j] = c[r];
                    }
                }
                let lanes = 3;
                let g: Vec<f64> = (0..no * lanes)
                    .map(|k| ((k * 7919) % 23) as f64 / 7.0 - 1.5)
                    .collect();
                let mut w = vec![f64::NAN; n * lanes];
                sys.solve_transposed_rows(&g, lanes, &mut w, lanes, lanes);
                for l in 0..lanes {
                    let gl: Vec<f64> = (0..no).map(|r| g[r * lanes + l]).collect();
                    let mut one = vec![f64::NAN; n];
                    sys.solve_line_transposed(&gl, &mut one);
                    for j in 0..n {
                        let want: f64 = (0..no).map(|r| m[r][j] * gl[r]).sum();
                        let scale = 1.0 + want.abs();
                        assert!(
                            (w[j * lanes + l] - want).abs() < 1e-13 * scale,
                            "{bc:?} {j}"
                        );
                        assert!((one[j] - want).abs() < 1e-13 * scale, "{bc:?} {j}");
                    }
                }
                for first in 0..=no - 4 {
                    let b = [0.3, -1.25, 0.5, 2.0];
                    let mut gl = vec![0.0; no];
                    gl[first..first + 4].copy_from_slice(&b);
                    let (mut dense, mut sparse) = (vec![0.0; n], vec![f64::NAN; n]);
                    sys.solve_line_transposed(&gl, &mut dense);
                    sys.basis_row_transposed(first, &b, &mut sparse);
                    for j in 0..n {
                        assert!((dense[j] - sparse[j]).abs() < 1e-14 * (1.0 + dense[j].abs()));
                    }
                }
            }
        }
    }

    #[test]
    fn mixed_not_a_knot_end_is_rejected() {
        let x = [0.0, 1.0, 3.0, 4.0, 5.0];
        let bc = BoundaryCondition::ends(EndCondition::NotAKnot, EndCondition::Natural);
        assert!(matches!(
            AxisSystem::new(2, &x, bc),
            Err(FitError::InvalidBoundary { axis: 2, .. })
        ));
        let bc =
            BoundaryCondition::ends(EndCondition::Derivative { order: 3 }, EndCondition::Natural);
        assert!(matches!(
            AxisSystem::new(1, &x, bc),
            Err(FitError::InvalidBoundary { axis: 1, .. })
        ));
    }
}
