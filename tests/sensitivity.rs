//! Sensitivities to the data (`Fitter::data_weights`, `Fitter::data_vjp`,
//! `TensorSpline::evaluate_vjp`).
//!
//! Oracles from outside the code under test:
//! * central finite differences of refits (the fit and evaluation as users
//!   call them; step 1e-6 of the value scale): the gradient with respect
//!   to every value (a random subset beyond 3-D) and every explicit end
//!   value, 1–6 D, every boundary condition, derivative orders 0–2, vector
//!   values, points inside and outside the domain;
//! * the dense tensor of `data_weights` against `data_vjp` with one-hot
//!   cotangents (1e-13);
//! * the adjoint identity `⟨Jᵀg, c⟩ = ⟨g, J c⟩` for the adjoint of
//!   evaluation, with `J c` evaluated by the evaluation driver;
//! * sequential against parallel, static against dynamic dimension, grid
//!   queries against the same points as rows.

use crate::common::{Rng, random_sites};
use bsfit::tensor::{Partial, Query};
use bsfit::{
    BoundaryCondition as Bc, DynFitter, EndCondition as E, Extrapolate, FitError, Fitter, Par,
    TensorSpline, Workspace,
};
use ndarray::Array2;

const D1: E = E::Derivative { order: 1 };
const D2: E = E::Derivative { order: 2 };

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// Unravels a row-major flat index.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for k in (0..shape.len()).rev() {
        idx[k] = flat % shape[k];
        flat /= shape[k];
    }
    idx
}

fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |a, (&i, &n)| a * n + i)
}

/// One test problem: a fitter, values (periodic ends repeated), end values,
/// points and cotangents.
struct Case<const D: usize> {
    fitter: Fitter<D>,
    shape: [usize; D],
    vshape: Vec<usize>,
    nc: usize,
    values: Vec<f64>,
    ends: [Vec<f64>; 2],
    points: Array2<f64>,
    orders: [usize; D],
    cot: Vec<f64>,
    scale: f64,
}

impl<const D: usize> Case<D> {
    fn new(
        rng: &mut Rng,
        shape: [usize; D],
        bc: [Bc; D],
        vshape: &[usize],
        orders: [usize; D],
        npts: usize,
    ) -> Self {
        let sites: Vec<Vec<f64>> = (0..D)
            .map(|k| random_sites(rng, shape[k], -1.0 + 0.3 * k as f64, 0.4 + 0.1 * k as f64))
            .collect();
        let axes: [&[f64]; D] = std::array::from_fn(|k| sites[k].as_slice());
        let fitter = Fitter::with_boundary(axes, bc).unwrap();
        let nc: usize = vshape.iter().product();
        let grid: usize = shape.iter().product();
        let scale = 3.0;
        let mut values: Vec<f64> = (0..grid * nc)
            .map(|_| scale * rng.uniform(-1.0, 1.0))
            .collect();
        // Periodic axes: the last site repeats the first.
        for k in 0..D {
            if bc[k].is_periodic() {
                for flat in 0..grid {
                    let mut idx = unravel(flat, &shape);
                    if idx[k] == shape[k] - 1 {
                        idx[k] = 0;
                        let from = ravel(&idx, &shape);
                        for c in 0..nc {
                            values[flat * nc + c] = values[from * nc + c];
                        }
                    }
                }
            }
        }
        let mut ends = [Vec::new(), Vec::new()];
        for k in 0..D {
            let ex = bc[k].explicit_ends();
            for e in 0..2 {
                if ex[e] {
                    let len = fitter.end_values_shape(k).iter().product::<usize>() * nc;
                    ends[e] = (0..len).map(|_| scale * rng.uniform(-1.0, 1.0)).collect();
                }
            }
        }
        // Points: inside, and a margin of 15% outside each end.
        let points = Array2::from_shape_fn((npts, D), |(_, k)| {
            let (lo, hi) = (sites[k][0], sites[k][shape[k] - 1]);
            let m = 0.15 * (hi - lo);
            rng.uniform(lo - m, hi + m)
        });
        let cot = (0..npts * nc).map(|_| rng.uniform(-1.0, 1.0)).collect();
        Case {
            fitter,
            shape,
            vshape: vshape.to_vec(),
            nc,
            values,
            ends,
            points,
            orders,
            cot,
            scale,
        }
    }

    /// `Σ_p g_p · s(x_p)` for the spline fitted to `values` and `ends`.
    fn objective(&self, values: &[f64], ends: &[Vec<f64>; 2], ws: &mut Workspace) -> f64 {
        let len = self.fitter.coef_shape().iter().product::<usize>() * self.nc;
        let mut coefs = vec![0.0; len];
        self.fitter
            .fit_into_vector(values, &self.vshape, [&ends[0], &ends[1]], &mut coefs, ws)
            .unwrap();
        let s = self.fitter.spline_from_vector(coefs, &self.vshape).unwrap();
        let q = Query::at(self.points.view()).outputs(&[Partial::new(&self.orders).unwrap()]);
        let r = s.evaluate(&q).unwrap();
        r.iter().zip(&self.cot).map(|(a, b)| a * b).sum()
    }

    /// The gradient by `data_vjp_query`, values and end values.
    fn gradient(&self) -> (Vec<f64>, [Vec<f64>; 2]) {
        let mut grad = vec![f64::NAN; self.values.len()];
        let mut ends = [
            vec![f64::NAN; self.ends[0].len()],
            vec![f64::NAN; self.ends[1].len()],
        ];
        let q = Query::at(self.points.view()).outputs(&[Partial::new(&self.orders).unwrap()]);
        let [e0, e1] = &mut ends;
        self.fitter
            .data_vjp_query(&q, &self.cot, &mut grad, [e0, e1], &mut Workspace::new())
            .unwrap();
        (grad, ends)
    }

    /// Checks the gradient against central differences of refits at
    /// `indices` (flat indices into the values), and every end value.
    fn check_fd(&self, indices: &[usize], end_indices: Option<&[usize]>, what: &str) {
        let (grad, gends) = self.gradient();
        let h = 1e-6 * self.scale;
        let mut ws = self.fitter.workspace();
        let tol = 1e-7
            * max_abs(&grad)
                .max(max_abs(&gends[0]))
                .max(max_abs(&gends[1]));
        assert!(tol > 0.0, "{what}: zero gradient");
        let bc = self.fitter.boundary();
        for &flat in indices {
            let site = flat / self.nc;
            let idx = unravel(site, &self.shape);
            // A periodic node is one value stored twice: perturb both
            // copies (the fit reads index 0 only; index n-1 gets 0).
            let mut copies = vec![site];
            for k in 0..D {
                if bc[k].is_periodic() && (idx[k] == 0 || idx[k] == self.shape[k] - 1) {
                    for c in copies.clone() {
                        let mut j = unravel(c, &self.shape);
                        j[k] = if idx[k] == 0 { self.shape[k] - 1 } else { 0 };
                        copies.push(ravel(&j, &self.shape));
                    }
                }
            }
            let comp = flat % self.nc;
            let mut v = self.values.clone();
            for &c in &copies {
                v[c * self.nc + comp] += h;
            }
            let up = self.objective(&v, &self.ends, &mut ws);
            for &c in &copies {
                v[c * self.nc + comp] -= 2.0 * h;
            }
            let down = self.objective(&v, &self.ends, &mut ws);
            let fd = (up - down) / (2.0 * h);
            let want: f64 = copies.iter().map(|&c| grad[c * self.nc + comp]).sum();
            assert!(
                (fd - want).abs() <= tol,
                "{what}: value {idx:?}[{comp}]: finite difference {fd}, gradient {want} (tol {tol})"
            );
            // The copies the fit does not read get 0.
            for k in 0..D {
                if bc[k].is_periodic() && idx[k] == self.shape[k] - 1 {
                    assert_eq!(grad[flat], 0.0, "{what}: periodic end {idx:?}");
                }
            }
        }
        for e in 0..2 {
            let all: Vec<usize> = (0..self.ends[e].len()).collect();
            let subset: Vec<usize> = end_indices
                .unwrap_or(&all)
                .iter()
                .map(|&i| {
                    let len = self.ends[e].len().max(1);
                    if i == usize::MAX { len - 1 } else { i % len }
                })
                .filter(|_| !self.ends[e].is_empty())
                .collect();
            for i in subset {
                let mut ends = self.ends.clone();
                ends[e][i] += h;
                let up = self.objective(&self.values, &ends, &mut ws);
                ends[e][i] -= 2.0 * h;
                let down = self.objective(&self.values, &ends, &mut ws);
                let fd = (up - down) / (2.0 * h);
                assert!(
                    (fd - gends[e][i]).abs() <= tol,
                    "{what}: end {e} value {i}: finite difference {fd}, gradient {} (tol {tol})",
                    gends[e][i]
                );
            }
        }
    }

    /// The dense tensors of `data_weights` against `data_vjp` with one-hot
    /// cotangents, at each point and each component.
    fn check_dense(&self, what: &str) {
        let mut ws = Workspace::new();
        for p in 0..self.points.nrows().min(4) {
            let x: [f64; D] = std::array::from_fn(|k| self.points[[p, k]]);
            let w = self.fitter.data_weights(x, self.orders);
            let dense = w.dense();
            // Rounding is relative to the terms, not to the result: a weight
            // vector can be much smaller than the basis row it comes from
            // (a derivative row whose entries nearly cancel), so per axis
            // the larger of the two.
            let scale: f64 = (0..D)
                .map(|a| {
                    max_abs(&w.axes()[a]).max(basis_row_l1(&self.fitter, a, x[a], self.orders[a]))
                })
                .product();
            let mut flat_w = vec![0.0; self.shape.iter().sum()];
            let mut ew = [0.0; 2];
            self.fitter
                .data_weights_into(x, self.orders, &mut flat_w, &mut ew)
                .unwrap();
            assert_eq!(flat_w, w.axes().concat(), "{what}");
            assert_eq!(ew, w.end_weights(), "{what}");
            let pt = self.points.slice(ndarray::s![p..p + 1, ..]);
            for c in 0..self.nc {
                let mut g = vec![0.0; self.nc];
                g[c] = 1.0;
                let mut grad = vec![f64::NAN; self.values.len()];
                let mut ends = [
                    vec![f64::NAN; self.ends[0].len()],
                    vec![f64::NAN; self.ends[1].len()],
                ];
                let q = Query::at(pt).outputs(&[Partial::new(&self.orders).unwrap()]);
                let [e0, e1] = &mut ends;
                self.fitter
                    .data_vjp_query(&q, &g, &mut grad, [e0, e1], &mut ws)
                    .unwrap();
                for (i, &d) in dense.iter().enumerate() {
                    for cc in 0..self.nc {
                        let got = grad[i * self.nc + cc];
                        let want = if cc == c { d } else { 0.0 };
                        assert!(
                            (got - want).abs() <= 1e-13 * scale,
                            "{what}: point {p} component {c}: {got} vs {want} at {i}"
                        );
                    }
                }
                for e in 0..2 {
                    if let Some(ed) = w.end_dense(e).filter(|_| !self.ends[e].is_empty()) {
                        let escale = max_abs(&ed).max(scale);
                        for (i, &d) in ed.iter().enumerate() {
                            for cc in 0..self.nc {
                                let got = ends[e][i * self.nc + cc];
                                let want = if cc == c { d } else { 0.0 };
                                assert!(
                                    (got - want).abs() <= 1e-13 * escale,
                                    "{what}: end {e} {i}"
                                );
                            }
                        }
                    }
                }
            }
            // And the weights reproduce the fitted spline there.
            let len = self.fitter.coef_shape().iter().product::<usize>() * self.nc;
            let mut coefs = vec![0.0; len];
            self.fitter
                .fit_into_vector(
                    &self.values,
                    &self.vshape,
                    [&self.ends[0], &self.ends[1]],
                    &mut coefs,
                    &mut ws,
                )
                .unwrap();
            let s = self.fitter.spline_from_vector(coefs, &self.vshape).unwrap();
            let r = s
                .evaluate(&Query::at(pt).outputs(&[Partial::new(&self.orders).unwrap()]))
                .unwrap();
            for c in 0..self.nc {
                let mut dot: f64 = dense
                    .iter()
                    .enumerate()
                    .map(|(i, d)| d * self.values[i * self.nc + c])
                    .sum();
                let mut mag: f64 = dense
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (d * self.values[i * self.nc + c]).abs())
                    .sum();
                for e in 0..2 {
                    if let Some(ed) = w.end_dense(e).filter(|_| !self.ends[e].is_empty()) {
                        dot += ed
                            .iter()
                            .enumerate()
                            .map(|(i, d)| d * self.ends[e][i * self.nc + c])
                            .sum::<f64>();
                        mag += ed
                            .iter()
                            .enumerate()
                            .map(|(i, d)| (d * self.ends[e][i * self.nc + c]).abs())
                            .sum::<f64>();
                    }
                }
                let got = r.as_slice().unwrap()[c];
                assert!(
                    (dot - got).abs() <= 1e-12 * mag.max(1.0),
                    "{what}: {dot} vs {got}"
                );
            }
        }
    }
}

/// `Σ |b(x)|` of the basis row of `order` at `x` on `axis` (periodic axes
/// wrap), from the reference recurrence.
fn basis_row_l1<const D: usize>(f: &Fitter<D>, axis: usize, x: f64, order: usize) -> f64 {
    if order > 3 {
        return 0.0;
    }
    let t = f.knots(axis);
    let (lo, hi) = (t[3], t[t.len() - 4]);
    let x = if f.boundary()[axis].is_periodic() {
        lo + (x - lo).rem_euclid(hi - lo)
    } else {
        x
    };
    let span = bsfit::bspline::knots::find_span(t, x);
    bsfit::bspline::basis::basis_derivs(t, span, x, order)[order]
        .iter()
        .map(|v| v.abs())
        .sum()
}

/// The boundary conditions the tests cycle through, at most one axis with
/// explicit end values per fitter.
fn bcs<const D: usize>(variant: usize) -> [Bc; D] {
    let cycle = [
        Bc::NOT_A_KNOT,
        Bc::NATURAL,
        Bc::PERIODIC,
        Bc::CLAMPED,
        Bc::ends(E::Natural, E::Clamped),
    ];
    std::array::from_fn(|k| {
        if variant == 0 {
            Bc::NOT_A_KNOT
        } else if k == (variant - 1) % D {
            // The explicit axis.
            [
                Bc::ends(D1, D2),
                Bc::ends(D2, E::Natural),
                Bc::ends(E::Clamped, D1),
            ][variant % 3]
        } else {
            cycle[(k + variant) % cycle.len()]
        }
    })
}

fn fd_case<const D: usize>(seed: u64, shape: [usize; D], vshape: &[usize], all: bool) {
    let mut rng = Rng::new(seed);
    for variant in 0..4 {
        for order in 0..=2 {
            let bc = bcs::<D>(variant);
            // The order on one axis, first derivative on another.
            let orders: [usize; D] = std::array::from_fn(|k| {
                if k == variant % D {
                    order
                } else if k == (variant + 1) % D && D > 1 && order == 2 {
                    1
                } else {
                    0
                }
            });
            let case = Case::new(&mut rng, shape, bc, vshape, orders, 5);
            let total = case.values.len();
            let indices: Vec<usize> = if all {
                (0..total).collect()
            } else {
                let mut v: Vec<usize> =
                    (0..40).map(|_| rng.usize_inclusive(0, total - 1)).collect();
                v.push(0);
                v.push(total - 1);
                v
            };
            let what = format!("{D}-D {shape:?} vshape {vshape:?} {bc:?} orders {orders:?}");
            let ends: Vec<usize> = (0..12)
                .map(|_| rng.usize_inclusive(0, 1 << 20))
                .chain([0, usize::MAX])
                .collect();
            case.check_fd(&indices, if all { None } else { Some(&ends) }, &what);
            case.check_dense(&what);
        }
    }
}

#[test]
fn finite_differences_1d_2d_3d() {
    fd_case::<1>(1, [7], &[], true);
    fd_case::<1>(2, [4], &[2], true);
    fd_case::<1>(3, [5], &[], true);
    fd_case::<2>(4, [6, 5], &[], true);
    fd_case::<2>(5, [4, 7], &[3], true);
    fd_case::<3>(6, [5, 4, 6], &[], true);
    fd_case::<3>(7, [4, 5, 4], &[2, 2], true);
}

#[test]
fn finite_differences_4d_to_6d() {
    fd_case::<4>(8, [5, 4, 6, 4], &[], false);
    fd_case::<4>(9, [4, 5, 4, 5], &[2], false);
    fd_case::<5>(10, [4, 5, 4, 4, 5], &[], false);
    fd_case::<6>(11, [4, 4, 5, 4, 4, 4], &[], false);
    fd_case::<6>(12, [5, 4, 4, 4, 4, 4], &[2], false);
}

#[test]
fn orders_above_three_give_zero_weights() {
    let x = [0.0, 0.7, 1.5, 2.0, 3.1, 4.0];
    let f = Fitter::new([&x[..]]).unwrap();
    let w = f.data_weights([1.2], [4]);
    assert!(w.axes()[0].iter().all(|&v| v == 0.0));
    let mut g = vec![1.0; 6];
    f.data_vjp(
        Array2::from_elem((1, 1), 1.2).view(),
        &[1.0],
        [7],
        &mut g,
        &mut Workspace::new(),
    )
    .unwrap();
    assert!(g.iter().all(|&v| v == 0.0));
}

/// The weights of a periodic axis sum the shared node at index 0, and
/// constants are reproduced: Σ w = 1 for values, 0 for derivatives.
#[test]
fn weights_reproduce_constants_and_periodic_last_site_is_zero() {
    let mut rng = Rng::new(21);
    let x = random_sites(&mut rng, 9, 0.0, 1.0);
    for bc in [
        Bc::NOT_A_KNOT,
        Bc::NATURAL,
        Bc::CLAMPED,
        Bc::PERIODIC,
        Bc::ends(E::Natural, E::Clamped),
    ] {
        let f = Fitter::with_boundary([&x[..]], [bc]).unwrap();
        for xi in [x[0] - 0.5, 0.3, 2.2, x[8], x[8] + 0.7] {
            for order in 0..3 {
                let w = f.data_weights([xi], [order]);
                let s: f64 = w.axes()[0].iter().sum();
                let want = if order == 0 { 1.0 } else { 0.0 };
                assert!(
                    (s - want).abs() < 1e-12,
                    "{bc:?} x {xi} order {order}: Σw = {s}"
                );
                if bc.is_periodic() {
                    assert_eq!(w.axes()[0][8], 0.0);
                }
            }
        }
    }
}

/// The adjoint of evaluation: ⟨evaluate_vjp(g), c⟩ = ⟨g, evaluate(c)⟩ for
/// several outputs, points and grids, every policy, vector values.
#[test]
fn evaluation_adjoint_identity() {
    let mut rng = Rng::new(31);
    let x = random_sites(&mut rng, 7, 0.0, 1.0);
    let y = random_sites(&mut rng, 6, -2.0, 0.5);
    let z = random_sites(&mut rng, 5, 1.0, 0.8);
    let f = Fitter::with_boundary(
        [&x[..], &y[..], &z[..]],
        [Bc::NOT_A_KNOT, Bc::PERIODIC, Bc::NATURAL],
    )
    .unwrap();
    let nc = 2;
    let mut vals: Vec<f64> = (0..7 * 6 * 5 * nc)
        .map(|_| rng.uniform(-1.0, 1.0))
        .collect();
    for i in 0..7 {
        for k in 0..5 {
            for c in 0..nc {
                vals[((i * 6 + 5) * 5 + k) * nc + c] = vals[((i * 6) * 5 + k) * nc + c];
            }
        }
    }
    let mut coefs = vec![0.0; f.coef_shape().iter().product::<usize>() * nc];
    f.fit_into_vector(&vals, &[nc], [&[], &[]], &mut coefs, &mut Workspace::new())
        .unwrap();
    let s = f.spline_from_vector(coefs.clone(), &[nc]).unwrap();
    let pts = Array2::from_shape_fn((300, 3), |(_, k)| {
        let (lo, hi) = s.domain()[k];
        rng.uniform(lo - 0.3 * (hi - lo), hi + 0.3 * (hi - lo))
    });
    let gx = [x[0] - 0.2, 1.3, x[6]];
    let gy = [y[0], -1.1, y[5] + 0.4];
    let gz = [2.0, z[4] + 1.0];
    let outputs = [
        Partial::VALUE,
        Partial::d(0),
        Partial::d2(1, 2),
        Partial::d2(2, 2),
    ];
    for policy in [
        None,
        Some(Extrapolate::Clamp),
        Some(Extrapolate::Nan),
        Some(Extrapolate::Periodic),
    ] {
        for grid in [false, true] {
            let q = if grid {
                Query::grid(&[&gx[..], &gy[..], &gz[..]])
            } else {
                Query::at(pts.view())
            };
            let q = q.outputs(&outputs);
            let q = match policy {
                Some(p) => q.policy(p),
                None => q,
            };
            let r = s.evaluate(&q).unwrap();
            let g: Vec<f64> = (0..r.len()).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let mut adj = vec![f64::NAN; coefs.len()];
            s.evaluate_vjp(&q, &g, &mut adj, &mut Workspace::new())
                .unwrap();
            let lhs: f64 = adj.iter().zip(&coefs).map(|(a, b)| a * b).sum();
            // NaN results (outside under the NaN policy) do not depend on
            // the coefficients: they contribute nothing.
            let rhs: f64 = r
                .iter()
                .zip(&g)
                .filter(|(v, _)| !v.is_nan())
                .map(|(a, b)| a * b)
                .sum();
            let mag: f64 = r
                .iter()
                .zip(&g)
                .filter(|(v, _)| !v.is_nan())
                .map(|(a, b)| (a * b).abs())
                .sum();
            assert!(
                (lhs - rhs).abs() <= 1e-12 * mag,
                "{policy:?} grid {grid}: {lhs} vs {rhs}"
            );
            if policy == Some(Extrapolate::Nan) {
                assert!(r.iter().any(|v| v.is_nan()), "some points outside");
            }
            // The data gradient of the same query: ⟨grad, F⟩ = ⟨g, r⟩.
            let mut grad = vec![f64::NAN; vals.len()];
            f.data_vjp_query(&q, &g, &mut grad, [&mut [], &mut []], &mut Workspace::new())
                .unwrap();
            let lhs: f64 = grad.iter().zip(&vals).map(|(a, b)| a * b).sum();
            assert!(
                (lhs - rhs).abs() <= 1e-11 * mag,
                "data: {policy:?} grid {grid}: {lhs} vs {rhs}"
            );
        }
    }
}

/// The clamp policy: finite differences of refits evaluated under it.
#[test]
fn clamp_policy_matches_finite_differences() {
    let mut rng = Rng::new(41);
    let x = random_sites(&mut rng, 6, 0.0, 1.0);
    let y = random_sites(&mut rng, 5, 0.0, 1.0);
    let f = Fitter::with_boundary([&x[..], &y[..]], [Bc::CLAMPED, Bc::NOT_A_KNOT]).unwrap();
    let vals: Vec<f64> = (0..30).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let pts = Array2::from_shape_fn((20, 2), |(_, k)| {
        if k == 0 {
            rng.uniform(-2.0, 9.0)
        } else {
            rng.uniform(-1.0, 6.0)
        }
    });
    let q = Query::at(pts.view())
        .outputs(&[Partial::d(0)])
        .policy(Extrapolate::Clamp);
    let g: Vec<f64> = (0..20).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut grad = vec![0.0; 30];
    f.data_vjp_query(&q, &g, &mut grad, [&mut [], &mut []], &mut Workspace::new())
        .unwrap();
    let obj = |v: &[f64]| -> f64 {
        let s = f
            .fit(Array2::from_shape_vec((6, 5), v.to_vec()).unwrap().view())
            .unwrap();
        s.evaluate(&q)
            .unwrap()
            .iter()
            .zip(&g)
            .map(|(a, b)| a * b)
            .sum()
    };
    let h = 1e-6;
    for i in 0..30 {
        let mut v = vals.clone();
        v[i] += h;
        let up = obj(&v);
        v[i] -= 2.0 * h;
        let fd = (up - obj(&v)) / (2.0 * h);
        assert!(
            (fd - grad[i]).abs() <= 1e-7 * max_abs(&grad),
            "{i}: {fd} vs {}",
            grad[i]
        );
    }
}

#[test]
fn parallel_equals_sequential_and_dynamic_equals_static() {
    let mut rng = Rng::new(51);
    let x = random_sites(&mut rng, 20, 0.0, 1.0);
    let y = random_sites(&mut rng, 12, 0.0, 1.0);
    let z = random_sites(&mut rng, 9, 0.0, 1.0);
    let axes = [&x[..], &y[..], &z[..]];
    let bc = [Bc::ends(D1, E::Natural), Bc::PERIODIC, Bc::CLAMPED];
    let par = Fitter::with_boundary(axes, bc)
        .unwrap()
        .with_par(Par::with_threads(4));
    let seq = Fitter::with_boundary(axes, bc).unwrap().with_par(Par::Seq);
    let dynf = DynFitter::with_boundary(&axes, &bc).unwrap();
    let n = 40_000;
    let pts = Array2::from_shape_fn((n, 3), |(_, k)| rng.uniform(0.0, [20.0, 12.0, 9.0][k]));
    let g: Vec<f64> = (0..n * 2).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let len = 20 * 12 * 9 * 2;
    let elen = 12 * 9 * 2;
    let run = |f: &Fitter<3>| {
        let mut grad = vec![f64::NAN; len];
        let mut e = vec![f64::NAN; elen];
        let q = Query::at(pts.view()).outputs(&[Partial::d(2)]);
        let mut ws = Workspace::with_scratch(f.data_vjp_scratch(n, 2));
        f.data_vjp_query(&q, &g, &mut grad, [&mut e, &mut []], &mut ws)
            .unwrap();
        (grad, e)
    };
    let (a, ea) = run(&par);
    let (b, eb) = run(&seq);
    let scale = max_abs(&a);
    for i in 0..len {
        assert!(
            (a[i] - b[i]).abs() <= 1e-12 * scale,
            "{i}: {} vs {}",
            a[i],
            b[i]
        );
    }
    for i in 0..elen {
        assert!((ea[i] - eb[i]).abs() <= 1e-12 * max_abs(&ea), "end {i}");
    }
    // Reproducible run to run.
    assert_eq!(run(&par).0, a);
    let mut d = vec![f64::NAN; len];
    dynf.data_vjp(
        pts.as_slice().unwrap(),
        &g,
        &[0, 0, 1],
        &mut d,
        &mut Workspace::new(),
    )
    .unwrap();
    let q = Query::at(pts.view()).outputs(&[Partial::d(2)]);
    let mut d2 = vec![f64::NAN; len];
    let mut e2 = vec![f64::NAN; elen];
    dynf.data_vjp_query(&q, &g, &mut d2, [&mut e2, &mut []], &mut Workspace::new())
        .unwrap();
    for i in 0..len {
        assert!((d[i] - a[i]).abs() <= 1e-12 * scale);
        assert!((d2[i] - a[i]).abs() <= 1e-12 * scale);
    }
    let w = dynf.data_weights(&[3.0, 4.0, 5.0], &[1, 0, 2]).unwrap();
    assert_eq!(w, par.data_weights([3.0, 4.0, 5.0], [1, 0, 2]));
    // The spline adjoint through the dynamic spline.
    let zeros = vec![0.0; elen];
    let s = dynf
        .fit_vector_with_ends(&vec![0.5; len], &[2], [&zeros, &[]])
        .unwrap();
    let mut c1 = vec![0.0; s.coefficients().len()];
    s.evaluate_vjp(&q, &g, &mut c1, &mut Workspace::new())
        .unwrap();
    let st: TensorSpline<3> = seq
        .fit_vector_with_ends(
            ndarray::ArrayD::from_elem(vec![20, 12, 9, 2], 0.5).view(),
            [&zeros, &[]],
        )
        .unwrap();
    let mut c2 = vec![0.0; c1.len()];
    st.evaluate_vjp(&q, &g, &mut c2, &mut Workspace::new())
        .unwrap();
    let cs = max_abs(&c2);
    for i in 0..c1.len() {
        assert!((c1[i] - c2[i]).abs() <= 1e-12 * cs);
    }
}

#[test]
fn nan_points_contribute_nothing_and_errors_are_typed() {
    let x = [0.0, 1.0, 2.0, 3.0, 4.0];
    let f = Fitter::new([&x[..], &x[..]]).unwrap();
    let mut ws = Workspace::new();
    let pts = ndarray::array![[0.5, 1.5], [f64::NAN, 1.0], [9.0, 1.0]];
    let mut a = vec![0.0; 25];
    f.data_vjp(pts.view(), &[1.0, 5.0, 0.0], [0, 0], &mut a, &mut ws)
        .unwrap();
    let mut b = vec![0.0; 25];
    f.data_vjp(
        pts.slice(ndarray::s![0..1, ..]),
        &[1.0],
        [0, 0],
        &mut b,
        &mut ws,
    )
    .unwrap();
    assert_eq!(a, b);
    // Outside under the NaN policy: nothing; under Error: the point.
    let q = Query::at(pts.slice(ndarray::s![2..3, ..])).policy(Extrapolate::Nan);
    let mut c = vec![1.0; 25];
    f.data_vjp_query(&q, &[1.0], &mut c, [&mut [], &mut []], &mut ws)
        .unwrap();
    assert!(c.iter().all(|&v| v == 0.0));
    let q = Query::at(pts.view()).policy(Extrapolate::Error);
    let r = f.data_vjp_query(&q, &[1.0; 3], &mut c, [&mut [], &mut []], &mut ws);
    assert!(
        matches!(
            r,
            Err(FitError::OutsideDomain {
                point: Some(1),
                axis: 0,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(
        f.data_weights([f64::NAN, 1.0], [0, 0]).axes()[0]
            .iter()
            .all(|v| v.is_nan())
    );
    // Wrong lengths and dimensions.
    let bad = f.data_vjp(pts.view(), &[1.0; 2], [0, 0], &mut a, &mut ws);
    assert!(
        matches!(
            bad,
            Err(FitError::InvalidParameter {
                name: "cotangents",
                ..
            })
        ),
        "{bad:?}"
    );
    let bad = f.data_vjp(pts.view(), &[1.0; 3], [0, 0], &mut a[..24], &mut ws);
    assert!(
        matches!(bad, Err(FitError::InvalidParameter { name: "out", .. })),
        "{bad:?}"
    );
    let bad = f.data_vjp(pts.view(), &[1.0; 6], [0, 0], &mut vec![0.0; 50], &mut ws);
    assert!(bad.is_ok(), "two components: {bad:?}");
    let p3 = Array2::zeros((2, 3));
    let bad = f.data_vjp(p3.view(), &[1.0; 2], [0, 0], &mut a, &mut ws);
    assert!(
        matches!(
            bad,
            Err(FitError::DimensionMismatch {
                expected: 2,
                got: 3
            })
        ),
        "{bad:?}"
    );
    let bad = f.data_vjp_query(
        &Query::at(pts.view()),
        &[1.0; 3],
        &mut a,
        [&mut [0.0; 5], &mut []],
        &mut ws,
    );
    assert!(
        matches!(bad, Err(FitError::InvalidParameter { name: "ends", .. })),
        "{bad:?}"
    );
    let mut w = vec![0.0; 9];
    let bad = f.data_weights_into([1.0, 1.0], [0, 0], &mut w, &mut [0.0; 2]);
    assert!(
        matches!(bad, Err(FitError::InvalidParameter { name: "out", .. })),
        "{bad:?}"
    );
    let d = DynFitter::new(&[&x[..], &x[..]]).unwrap();
    assert!(matches!(
        d.data_weights(&[1.0], &[0, 0]),
        Err(FitError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        d.data_vjp(&[1.0, 2.0, 3.0], &[1.0], &[0, 0], &mut a, &mut ws),
        Err(FitError::InvalidParameter { .. })
    ));
}
