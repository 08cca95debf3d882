//! Interpolating curves of any degree `k ≤ 15` with any knots and any end
//! conditions: scipy's `make_interp_spline` in full, for the cases the
//! tuned per-axis systems ([`super::boundary`]) do not cover — even
//! degrees, knot vectors given by the caller, several derivative conditions
//! at one end, derivative conditions at degree 5, periodic ends at any
//! degree.
//!
//! # The systems
//!
//! With knots `t` (`n_t + k + 1` of them, `n_t` coefficients), sites
//! `x_0 < … < x_{n-1}` and derivative orders `ν_1 … ν_l` at `x_0` and
//! `μ_1 … μ_r` at `x_{n-1}` (`n_t = l + n + r`), the coefficients solve
//!
//! ```text
//! row p < l:          Σ_j c_j B_j^{(ν_p)}(x_0)     = left value p
//! row l + i:          Σ_j c_j B_j(x_i)             = y_i
//! row l + n + q:      Σ_j c_j B_j^{(μ_q)}(x_{n-1}) = right value q
//! ```
//!
//! a band matrix (each row holds the `k + 1` functions of one knot span)
//! that is not totally positive once derivative rows are in it, so it is
//! factored with partial pivoting (`PivotedBandLu`, LAPACK's `gbsv`, as
//! scipy). A singular matrix (sites and knots violating the
//! Schoenberg–Whitney conditions) is [`FitError::SingularMatrix`].
//!
//! **Periodic ends** (scipy's `_periodic_knots`): the knots continue the
//! interior ones periodically, `t_{j+N} = t_j + T` with `N = n − 1` and
//! `T = x_{n-1} − x_0`, so a spline is periodic exactly when
//! `c_{j+N} = c_j`. The `N` free coefficients solve the `N` interpolation
//! conditions at `x_0 … x_{n-2}` (`y_{n-1} = y_0`): a cyclic band matrix.
//! Numbered from the centre of each row's functions (`u = (j − ⌊k/2⌋) mod
//! N`), its rows are diagonally centred; the last `k + 1` unknowns and rows
//! form a border, the rest is a band matrix `A₁₁`, and the system is solved
//! through the `(k+1) × (k+1)` Schur complement `S = A₂₂ − A₂₁ A₁₁⁻¹ A₁₂`.
//! Below `3(k + 1)` unknowns (and for `n ≤ k`, scipy's full system with the
//! `k − 1` derivative-continuity rows) the matrix is factored whole.

use super::basis::{MAX_ORDER_ANY, basis_derivs_m};
use super::knots::find_span_k;
use crate::FitError;
use crate::banded::PivotedBandLu;

/// The ends of an interpolating curve.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CurveEnds {
    /// No end conditions: the knots carry them (scipy's not-a-knot knots by
    /// default; `n_t = n`).
    #[default]
    Free,
    /// Periodic: `f^{(d)}(x_0) = f^{(d)}(x_{n-1})` for `d < k`, with scipy's
    /// periodic knots (knots cannot be given).
    Periodic,
    /// Derivative conditions: the orders (each `0 ..= k`) whose values are
    /// given at the left and the right end, in the order of the values.
    Derivatives {
        /// Orders at `x_0`.
        left: Vec<usize>,
        /// Orders at `x_{n-1}`.
        right: Vec<usize>,
    },
}

/// scipy's default knots of degree `k` on the sites `x` (`n ≥ k + 1`) with
/// no end conditions (`_not_a_knot(x, k)`): `k + 1` copies of each end
/// and, for odd `k`, the sites `x_{(k+1)/2} … x_{n-(k+1)/2-1}`; for even
/// `k`, the midpoints of those intervals (`(x_i + x_{i+1})/2`,
/// `i = k/2 … n − k/2 − 2`). `k = 0`: scipy's `[x_0, …, x_{n-1}, x_{n-1}]`.
pub fn default_knots(x: &[f64], k: usize) -> Vec<f64> {
    let n = x.len();
    debug_assert!(n > k);
    if k == 0 {
        let mut t = x.to_vec();
        t.push(x[n - 1]);
        return t;
    }
    let mut t = Vec::with_capacity(n + k + 1);
    t.extend(std::iter::repeat_n(x[0], k + 1));
    if k % 2 == 1 {
        let h = k.div_ceil(2);
        t.extend_from_slice(&x[h..n - h]);
    } else {
        let h = k / 2;
        t.extend((h..n - h - 1).map(|i| (x[i] + x[i + 1]) / 2.0));
    }
    t.extend(std::iter::repeat_n(x[n - 1], k + 1));
    t
}

/// scipy's knots for derivative conditions (`_augknt(x, k)`): `k` extra
/// copies of each end around the sites (`n + 2k` knots).
pub fn augmented_knots(x: &[f64], k: usize) -> Vec<f64> {
    let n = x.len();
    let mut t = Vec::with_capacity(n + 2 * k);
    t.extend(std::iter::repeat_n(x[0], k));
    t.extend_from_slice(x);
    t.extend(std::iter::repeat_n(x[n - 1], k));
    t
}

/// scipy's periodic knots of degree `k` on the sites `x` (`n ≥ 2`,
/// `_periodic_knots(x, k)`): the sites (for even `k` the interior ones
/// moved to the midpoints on their left), continued by the same spacings
/// `k` knots beyond each end (`n + 2k` knots).
pub fn periodic_knots(x: &[f64], k: usize) -> Vec<f64> {
    let n = x.len();
    let mut xc = x.to_vec();
    if k.is_multiple_of(2) {
        for i in 1..n - 1 {
            xc[i] -= (x[i] - x[i - 1]) / 2.0;
        }
    }
    let dx: Vec<f64> = xc.windows(2).map(|w| w[1] - w[0]).collect();
    let mut t = vec![0.0; n + 2 * k];
    t[k..k + n].copy_from_slice(&xc);
    let len = t.len();
    for i in 0..k {
        t[k - i - 1] = t[k - i] - dx[dx.len() - 1 - (i % (n - 1))];
        t[len - k + i] = t[len - k + i - 1] + dx[i % (n - 1)];
    }
    t
}

/// How the factored system is applied.
#[derive(Debug, Clone, PartialEq)]
enum Solve {
    /// One (pivoted) band matrix of all `n_t` rows.
    Band(PivotedBandLu),
    /// The cyclic periodic system: `N` free coefficients, numbered from
    /// `shift`, with the last `b` of them (and rows) as the border.
    Cyclic {
        /// Free coefficients `N = n − 1`.
        n: usize,
        /// `u = (j − shift) mod N`.
        shift: usize,
        /// Border size.
        b: usize,
        /// `A₁₁` (the leading `N − b` rows and unknowns).
        a11: PivotedBandLu,
        /// `A₂₁`, `b × (N − b)`, by rows.
        a21: Vec<f64>,
        /// `Y = A₁₁⁻¹ A₁₂`, `(N − b) × b`, by rows.
        y: Vec<f64>,
        /// The Schur complement `A₂₂ − A₂₁ Y`, factored.
        s: PivotedBandLu,
    },
    /// The whole cyclic (or, for `n ≤ k`, scipy's full periodic) system
    /// factored as one matrix; `free` coefficients are solved for and the
    /// rest repeat them (`c_{j+N} = c_j`).
    Whole {
        lu: PivotedBandLu,
        /// Unknowns solved for, numbered from `shift` as in `Cyclic` (0
        /// for the full system).
        shift: usize,
        /// Right-hand-side rows: `k − 1` zeros (full system) then values.
        zeros: usize,
    },
}

/// The factored interpolation system of one curve: degree, knots, end
/// conditions; solved for any number of value components.
///
/// ```
/// use bsfit::bspline::interp::{CurveEnds, Interp1d};
/// // Degree 4 through 7 points of x³ with f'(0) = 0, f''(0) = 0 and
/// // f'(3) = 27 (scipy's `make_interp_spline(x, y, 4, bc_type=…)`).
/// let x = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0];
/// let y: Vec<f64> = x.iter().map(|v| v * v * v).collect();
/// let ends = CurveEnds::Derivatives { left: vec![1, 2], right: vec![1] };
/// let curve = Interp1d::new(&x, 4, None, &ends)?;
/// let c = curve.solve(&y, 1, &[0.0, 0.0], &[27.0])?;
/// assert_eq!(c.len(), curve.n_coefs());
/// // x³ is a spline of degree 4 on any knots: the fit reproduces it.
/// let at = |v: f64| curve.evaluate(&c, 1, v, 0)[0];
/// assert!((at(1.25) - 1.25f64.powi(3)).abs() < 1e-12);
/// # Ok::<(), bsfit::FitError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Interp1d {
    k: usize,
    knots: Vec<f64>,
    n_sites: usize,
    n_left: usize,
    n_right: usize,
    solve: Solve,
}

impl Interp1d {
    /// Builds and factors the system of degree `k ≤ 15` on the sites `x`
    /// (finite, strictly increasing) with the knots `t` (default: scipy's
    /// for `ends`) and the end conditions `ends`.
    ///
    /// Errors: [`FitError::Unsupported`] for `k > 15` or knots given with
    /// periodic ends; [`FitError::AxisTooShort`] for fewer sites than the
    /// degree needs; [`FitError::NonFiniteSite`],
    /// [`FitError::NonIncreasingSites`]; [`FitError::InvalidParameter`] for
    /// knots that are not finite and sorted, whose count does not match
    /// `n + conditions + k + 1`, or that do not cover the sites, and for
    /// derivative orders above `k`; [`FitError::SingularMatrix`] where the
    /// sites and knots violate the Schoenberg–Whitney conditions.
    pub fn new(x: &[f64], k: usize, t: Option<&[f64]>, ends: &CurveEnds) -> Result<Self, FitError> {
        if k >= MAX_ORDER_ANY {
            return Err(FitError::Unsupported {
                feature: format!(
                    "interpolation of degree k = {k} (degrees 0 to {} are)",
                    MAX_ORDER_ANY - 1
                ),
            });
        }
        let n = x.len();
        let min = match ends {
            CurveEnds::Periodic => 2,
            CurveEnds::Free => k + 1,
            CurveEnds::Derivatives { .. } => 1,
        };
        if n < min.max(1) {
            return Err(FitError::AxisTooShort {
                axis: 0,
                len: n,
                min,
            });
        }
        for (index, &value) in x.iter().enumerate() {
            if !value.is_finite() {
                return Err(FitError::NonFiniteSite {
                    axis: 0,
                    index,
                    value,
                });
            }
            if index > 0 && value <= x[index - 1] {
                return Err(FitError::NonIncreasingSites {
                    axis: 0,
                    index,
                    prev: x[index - 1],
                    value,
                });
            }
        }
        let bad = |reason: String| FitError::InvalidParameter { name: "t", reason };
        match ends {
            CurveEnds::Periodic => {
                if k == 0 {
                    return Err(FitError::InvalidParameter {
                        name: "k",
                        reason: "periodic ends need a degree of at least 1".into(),
                    });
                }
                if t.is_some() {
                    return Err(FitError::Unsupported {
                        feature: "knots given with periodic ends (they are built from the sites)"
                            .into(),
                    });
                }
                Self::periodic(x, k)
            }
            CurveEnds::Free | CurveEnds::Derivatives { .. } => {
                let (left, right): (&[usize], &[usize]) = match ends {
                    CurveEnds::Derivatives { left, right } => (left, right),
                    _ => (&[], &[]),
                };
                for (side, orders) in [left, right].iter().enumerate() {
                    if let Some(&o) = orders.iter().find(|&&o| o > k) {
                        return Err(FitError::InvalidParameter {
                            name: "bc_type",
                            reason: format!(
                                "derivative order {o} at the {} end is above the degree {k}",
                                ["left", "right"][side]
                            ),
                        });
                    }
                }
                let knots = match t {
                    Some(t) => t.to_vec(),
                    None if matches!(ends, CurveEnds::Free) => default_knots(x, k),
                    None => augmented_knots(x, k),
                };
                if let Some(i) = knots.iter().position(|v| !v.is_finite()) {
                    return Err(bad(format!("knot {i} is {}", knots[i])));
                }
                if let Some(i) = (1..knots.len()).find(|&i| knots[i] < knots[i - 1]) {
                    return Err(bad(format!(
                        "knots must be sorted: t[{i}] = {} < t[{}] = {}",
                        knots[i],
                        i - 1,
                        knots[i - 1]
                    )));
                }
                let nt = knots.len().saturating_sub(k + 1);
                if knots.len() < k + 2 || nt != n + left.len() + right.len() {
                    return Err(bad(format!(
                        "{} knots give {nt} coefficients of degree {k}; {n} sites and {} end \
                         conditions need {}",
                        knots.len(),
                        left.len() + right.len(),
                        n + left.len() + right.len()
                    )));
                }
                if x[0] < knots[k] || x[n - 1] > knots[nt] {
                    return Err(bad(format!(
                        "the sites [{}, {}] are not inside the knots' base interval [{}, {}]",
                        x[0],
                        x[n - 1],
                        knots[k],
                        knots[nt]
                    )));
                }
                if knots[nt] <= knots[k] {
                    return Err(bad("the knots' base interval is empty".into()));
                }
                let mut rows = Vec::with_capacity(nt);
                for &o in left {
                    rows.push(row(&knots, k, x[0], o));
                }
                for &xi in x {
                    rows.push(row(&knots, k, xi, 0));
                }
                for &o in right {
                    rows.push(row(&knots, k, x[n - 1], o));
                }
                let lu = PivotedBandLu::factor(0, &rows)?;
                Ok(Interp1d {
                    k,
                    knots,
                    n_sites: n,
                    n_left: left.len(),
                    n_right: right.len(),
                    solve: Solve::Band(lu),
                })
            }
        }
    }

    /// The periodic system (see the module docs).
    fn periodic(x: &[f64], k: usize) -> Result<Self, FitError> {
        let n = x.len();
        let knots = periodic_knots(x, k);
        let nt = n + k - 1;
        let big_n = n - 1;
        let done = |solve| {
            Ok(Interp1d {
                k,
                knots: knots.clone(),
                n_sites: n,
                n_left: 0,
                n_right: 0,
                solve,
            })
        };
        if n <= k {
            // scipy's full system: k − 1 rows of derivative continuity, then
            // the n interpolation rows, in the nt unknowns.
            let mut rows = Vec::with_capacity(nt);
            for d in 1..k {
                let mut r = vec![0.0; nt];
                let left = derivs(&knots, k, k, x[0], d);
                for (j, v) in left.iter().take(k + 1).enumerate() {
                    r[j] += v;
                }
                let right = derivs(&knots, k, nt, x[n - 1], d);
                for (j, v) in right.iter().take(k).enumerate() {
                    r[nt - k + j] -= v;
                }
                rows.push((0, r));
            }
            for &xi in x {
                let s = span_of(&knots, k, nt, xi);
                let mut r = vec![0.0; nt];
                for (j, v) in derivs(&knots, k, s, xi, 0).iter().take(k + 1).enumerate() {
                    r[s - k + j] += v;
                }
                rows.push((0, r));
            }
            let lu = PivotedBandLu::factor(0, &rows)?;
            return done(Solve::Whole {
                lu,
                shift: 0,
                zeros: k - 1,
            });
        }
        // The cyclic system in u = (j − shift) mod N.
        let shift = k / 2;
        let cyclic_row = |i: usize| -> Vec<(usize, f64)> {
            let xi = x[i];
            let s = span_of(&knots, k, nt, xi);
            let b = derivs(&knots, k, s, xi, 0);
            (0..=k)
                .map(|r| ((s - k + r + big_n - shift) % big_n, b[r]))
                .collect()
        };
        let b = k + 1;
        if big_n < 3 * b {
            let rows: Vec<_> = (0..big_n)
                .map(|i| {
                    let mut r = vec![0.0; big_n];
                    for (u, v) in cyclic_row(i) {
                        r[u] += v;
                    }
                    (0, r)
                })
                .collect();
            let lu = PivotedBandLu::factor(0, &rows)?;
            return done(Solve::Whole {
                lu,
                shift,
                zeros: 0,
            });
        }
        let m = big_n - b;
        let mut a11 = Vec::with_capacity(m);
        let mut a12 = vec![0.0; m * b];
        let mut a21 = vec![0.0; b * m];
        let mut a22 = vec![0.0; b * b];
        for i in 0..big_n {
            let entries = cyclic_row(i);
            if i < m {
                // Main rows reach the border columns only (module docs).
                let lo = entries.iter().filter(|e| e.0 < m).map(|e| e.0).min();
                let hi = entries.iter().filter(|e| e.0 < m).map(|e| e.0).max();
                let mut vals = Vec::new();
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    vals = vec![0.0; hi - lo + 1];
                    for &(u, v) in &entries {
                        if u < m {
                            vals[u - lo] += v;
                        }
                    }
                }
                for &(u, v) in &entries {
                    if u >= m {
                        a12[i * b + u - m] += v;
                    }
                }
                a11.push((lo.unwrap_or(i), vals));
            } else {
                for &(u, v) in &entries {
                    if u < m {
                        a21[(i - m) * m + u] += v;
                    } else {
                        a22[(i - m) * b + u - m] += v;
                    }
                }
            }
        }
        let a11 = PivotedBandLu::factor(0, &a11)?;
        let mut y = a12;
        a11.solve_rows(&mut y, b);
        // S = A22 − A21 Y.
        let mut srows = Vec::with_capacity(b);
        for r in 0..b {
            let mut s = a22[r * b..(r + 1) * b].to_vec();
            for (i, &a) in a21[r * m..(r + 1) * m].iter().enumerate() {
                if a != 0.0 {
                    for (sv, &yv) in s.iter_mut().zip(&y[i * b..(i + 1) * b]) {
                        *sv -= a * yv;
                    }
                }
            }
            srows.push((0, s));
        }
        let s = PivotedBandLu::factor(0, &srows).map_err(|e| match e {
            FitError::SingularMatrix { pivot, row, .. } => FitError::SingularMatrix {
                axis: 0,
                row: m + row,
                pivot,
            },
            e => e,
        })?;
        done(Solve::Cyclic {
            n: big_n,
            shift,
            b,
            a11,
            a21,
            y,
            s,
        })
    }

    /// The degree.
    pub fn degree(&self) -> usize {
        self.k
    }

    /// The knots (`n_coefs() + k + 1`).
    pub fn knots(&self) -> &[f64] {
        &self.knots
    }

    /// Number of coefficients per component.
    pub fn n_coefs(&self) -> usize {
        self.knots.len() - self.k - 1
    }

    /// Number of sites.
    pub fn n_sites(&self) -> usize {
        self.n_sites
    }

    /// Numbers of derivative conditions at the left and the right end.
    pub fn n_conditions(&self) -> (usize, usize) {
        (self.n_left, self.n_right)
    }

    /// The coefficients (`n_coefs() × m`, by rows) of the curve through
    /// `values` (`n_sites() × m`, by rows: `m` components per site), with
    /// the derivative values at the left (`n_left × m`) and right
    /// (`n_right × m`) ends, in the order of the conditions.
    ///
    /// Errors: [`FitError::InvalidParameter`] for buffers of the wrong length;
    /// [`FitError::NonFiniteValue`] for a non-finite value;
    /// [`FitError::NonFiniteResult`] if the solve overflows.
    pub fn solve(
        &self,
        values: &[f64],
        m: usize,
        left: &[f64],
        right: &[f64],
    ) -> Result<Vec<f64>, FitError> {
        let n = self.n_sites;
        for (what, buf, rows) in [
            ("values", values, n),
            ("left end values", left, self.n_left),
            ("right end values", right, self.n_right),
        ] {
            if Some(buf.len()) != rows.checked_mul(m) {
                return Err(FitError::InvalidParameter {
                    name: "values",
                    reason: format!(
                        "{what}: {} numbers, expected {rows} rows of {m} components",
                        buf.len()
                    ),
                });
            }
            if let Some(i) = buf.iter().position(|v| !v.is_finite()) {
                return Err(FitError::NonFiniteValue {
                    index: vec![i / m.max(1), i % m.max(1)],
                    value: buf[i],
                });
            }
        }
        let nt = self.n_coefs();
        let mut c = vec![0.0; nt * m];
        let ok = match &self.solve {
            Solve::Band(lu) => {
                c[..left.len()].copy_from_slice(left);
                c[left.len()..left.len() + values.len()].copy_from_slice(values);
                c[left.len() + values.len()..].copy_from_slice(right);
                lu.solve_rows(&mut c, m)
            }
            Solve::Whole { lu, shift, zeros } => {
                let free = lu.len();
                let mut u = vec![0.0; free * m];
                let rows = free - zeros;
                u[zeros * m..].copy_from_slice(&values[..rows * m]);
                let ok = lu.solve_rows(&mut u, m);
                self.unwrap_free(&u, *shift, free, m, &mut c);
                ok
            }
            Solve::Cyclic {
                n: big_n,
                shift,
                b,
                a11,
                a21,
                y,
                s,
            } => {
                let (big_n, b) = (*big_n, *b);
                let mm = big_n - b;
                let mut u = values[..big_n * m].to_vec();
                let (f1, f2) = u.split_at_mut(mm * m);
                let mut ok = a11.solve_rows(f1, m);
                for r in 0..b {
                    let row2 = &mut f2[r * m..(r + 1) * m];
                    for (i, &a) in a21[r * mm..(r + 1) * mm].iter().enumerate() {
                        if a != 0.0 {
                            for (v, &z) in row2.iter_mut().zip(&f1[i * m..(i + 1) * m]) {
                                *v -= a * z;
                            }
                        }
                    }
                }
                ok &= s.solve_rows(f2, m);
                for i in 0..mm {
                    for q in 0..b {
                        let yv = y[i * b + q];
                        if yv != 0.0 {
                            for (v, &x2) in f1[i * m..(i + 1) * m]
                                .iter_mut()
                                .zip(&f2[q * m..(q + 1) * m])
                            {
                                *v -= yv * x2;
                            }
                        }
                    }
                }
                self.unwrap_free(&u, *shift, big_n, m, &mut c);
                ok
            }
        };
        if !ok || c.iter().any(|v| !v.is_finite()) {
            return Err(FitError::NonFiniteResult {
                axis: 0,
                condition: f64::INFINITY,
            });
        }
        Ok(c)
    }

    /// Coefficients `c_j = u_{(j − shift) mod free}` (the periodic
    /// repetition); for the full system (`free == n_t`) a copy.
    fn unwrap_free(&self, u: &[f64], shift: usize, free: usize, m: usize, c: &mut [f64]) {
        for (j, cj) in c.chunks_exact_mut(m.max(1)).enumerate() {
            let src = (j + free - shift % free) % free;
            cj.copy_from_slice(&u[src * m..(src + 1) * m]);
        }
    }

    /// The derivative of order `nu` of every component of the curve with
    /// coefficients `c` (`n_coefs() × m`) at `x` (the end polynomial pieces
    /// outside the base interval): a reference evaluation for checks.
    pub fn evaluate(&self, c: &[f64], m: usize, x: f64, nu: usize) -> Vec<f64> {
        let k = self.k;
        let nt = self.n_coefs();
        let s = span_of(&self.knots, k, nt, x);
        let w = derivs(&self.knots, k, s, x, nu);
        let mut out = vec![0.0; m];
        for (r, &wr) in w.iter().take(k + 1).enumerate() {
            for (o, &cv) in out.iter_mut().zip(&c[(s - k + r) * m..(s - k + r + 1) * m]) {
                *o += wr * cv;
            }
        }
        out
    }
}

/// The span of `x` in the knots `t` with `nt` coefficients: `k ≤ s < nt`,
/// `t_s ≤ x < t_{s+1}` with a non-empty interval (the last one at the right
/// end).
fn span_of(t: &[f64], k: usize, nt: usize, x: f64) -> usize {
    let s = find_span_k(&t[..nt + k + 1], k, x);
    // find_span_k's end clamp may land on an empty interval of repeated
    // knots: step left to the last non-empty one (not at k = 0, whose last
    // function is 1 at its empty end interval: scipy's `[x, x_{n-1}]`).
    let mut s = s.min(nt - 1);
    while k > 0 && s > k && t[s] == t[s + 1] {
        s -= 1;
    }
    s
}

/// Row of the system at `x`: the derivative of order `o` of the `k + 1`
/// functions of `x`'s span, `(first column, values)`.
fn row(t: &[f64], k: usize, x: f64, o: usize) -> (usize, Vec<f64>) {
    let nt = t.len() - k - 1;
    let s = span_of(t, k, nt, x);
    (s - k, derivs(t, k, s, x, o)[..=k].to_vec())
}

/// The derivatives of order `o` of the `k + 1` functions of span `s` at `x`
/// (zero above the degree).
fn derivs(t: &[f64], k: usize, s: usize, x: f64, o: usize) -> [f64; MAX_ORDER_ANY] {
    if o > k {
        return [0.0; MAX_ORDER_ANY];
    }
    basis_derivs_m::<MAX_ORDER_ANY>(t, k, s, x, o)[o]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poly(x: f64, deg: usize) -> f64 {
        (0..=deg)
            .map(|p| (p as f64 + 1.0) * 0.3f64.powi(p as i32) * x.powi(p as i32))
            .sum()
    }

    fn dpoly(x: f64, deg: usize, nu: usize) -> f64 {
        (nu..=deg)
            .map(|p| {
                let f: f64 = ((p - nu + 1)..=p).map(|q| q as f64).product();
                (p as f64 + 1.0) * 0.3f64.powi(p as i32) * f * x.powi((p - nu) as i32)
            })
            .sum()
    }

    /// A spline of degree k reproduces polynomials of degree ≤ k whatever
    /// the knots and conditions: the oracle.
    #[test]
    fn reproduces_polynomials_every_degree_and_condition() {
        let x = [0.0, 0.3, 0.9, 1.2, 2.0, 2.1, 2.9, 3.5, 4.0, 4.4, 5.0];
        for k in 0..=7 {
            let mut cases = vec![CurveEnds::Free];
            if k >= 2 {
                let l: Vec<usize> = (1..=(k - 1) / 2 + (k - 1) % 2).collect();
                let r: Vec<usize> = (1..=(k - 1) / 2).collect();
                cases.push(CurveEnds::Derivatives { left: l, right: r });
                if k <= 3 {
                    // (At k ≥ 4 this is too ill-conditioned to be an
                    // oracle: scipy's solve is off by 8e-4 at k = 5.)
                    cases.push(CurveEnds::Derivatives {
                        left: (1..k).collect(),
                        right: vec![],
                    });
                }
            }
            for ends in cases {
                let curve = Interp1d::new(&x, k, None, &ends).unwrap();
                let y: Vec<f64> = x.iter().map(|&v| poly(v, k)).collect();
                let (l, r) = match &ends {
                    CurveEnds::Derivatives { left, right } => (
                        left.iter().map(|&o| dpoly(x[0], k, o)).collect(),
                        right.iter().map(|&o| dpoly(x[10], k, o)).collect(),
                    ),
                    _ => (vec![], vec![]),
                };
                let c = curve.solve(&y, 1, &l, &r).unwrap();
                // All k − 1 conditions at one end leave the other end free:
                // badly conditioned (scipy's own solve is off by 1e-10 and
                // more here).
                let one_sided =
                    matches!(&ends, CurveEnds::Derivatives { right, .. } if right.is_empty());
                let tol = if one_sided { 1e-6 } else { 1e-9 };
                for &p in &[0.1, 1.0, 2.5, 4.7, 5.0] {
                    let got = curve.evaluate(&c, 1, p, 0)[0];
                    assert!(
                        (got - poly(p, k)).abs() < tol * poly(p, k).abs().max(1.0),
                        "k={k} {ends:?} x={p}: {got} vs {}",
                        poly(p, k)
                    );
                }
            }
        }
    }

    #[test]
    fn periodic_interpolates_and_is_periodic() {
        for n in [2usize, 3, 4, 5, 7, 12, 40] {
            let x: Vec<f64> = (0..n)
                .map(|i| i as f64 + 0.2 * ((i * 7) % 3) as f64)
                .collect();
            let period = x[n - 1] - x[0];
            let y: Vec<f64> = x
                .iter()
                .map(|&v| (2.0 * std::f64::consts::PI * (v - x[0]) / period).sin())
                .collect();
            for k in 1..=7 {
                let curve = Interp1d::new(&x, k, None, &CurveEnds::Periodic).unwrap();
                let c = curve.solve(&y, 1, &[], &[]).unwrap();
                for (i, &xi) in x.iter().enumerate() {
                    let got = curve.evaluate(&c, 1, xi, 0)[0];
                    assert!(
                        (got - y[i]).abs() < 1e-11,
                        "n={n} k={k} i={i}: {got} vs {}",
                        y[i]
                    );
                }
                for d in 0..k {
                    let a = curve.evaluate(&c, 1, x[0], d)[0];
                    let b = curve.evaluate(&c, 1, x[n - 1], d)[0];
                    assert!(
                        (a - b).abs() < 1e-9 * (1.0 + a.abs()),
                        "n={n} k={k} d={d}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn bad_input_is_typed() {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert!(matches!(
            Interp1d::new(&x, 16, None, &CurveEnds::Free),
            Err(FitError::Unsupported { .. })
        ));
        assert!(matches!(
            Interp1d::new(&x, 3, Some(&[0.0; 9]), &CurveEnds::Free),
            Err(FitError::InvalidParameter { .. })
        ));
        let ends = CurveEnds::Derivatives {
            left: vec![4],
            right: vec![1],
        };
        assert!(matches!(
            Interp1d::new(&x, 3, None, &ends),
            Err(FitError::InvalidParameter { .. })
        ));
        // Schoenberg–Whitney violated: all sites left of the interior knots.
        let t = [0.0, 0.0, 0.0, 0.0, 3.5, 3.9, 4.0, 4.0, 4.0, 4.0];
        let x = [0.0, 0.1, 0.2, 0.3, 0.4, 4.0];
        assert!(matches!(
            Interp1d::new(&x, 3, Some(&t), &CurveEnds::Free),
            Err(FitError::SingularMatrix { .. })
        ));
        let c = Interp1d::new(&[0.0, 1.0, 2.0, 3.0], 3, None, &CurveEnds::Free).unwrap();
        assert!(matches!(
            c.solve(&[1.0; 3], 1, &[], &[]),
            Err(FitError::InvalidParameter { .. })
        ));
        assert!(matches!(
            c.solve(&[1.0, f64::NAN, 1.0, 1.0], 1, &[], &[]),
            Err(FitError::NonFiniteValue { .. })
        ));
    }
}
