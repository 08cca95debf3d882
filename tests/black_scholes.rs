//! Black–Scholes: the analytic module against independent identities, and the
//! accuracy of a fitted 4D price table against error bounds derived from the
//! analytic price itself.

use crate::common;

use bsfit::TensorSpline;
use bsfit_testkit::analytic::black_scholes as bs;
use common::Rng;
use ndarray::Array4;

// ---------------------------------------------------------------------------
// The analytic module
// ---------------------------------------------------------------------------

/// A random point with `m ∈ [0.7, 1.3]`, `τ ∈ [0.1, 2]`, `σ ∈ [0.1, 0.6]`, `r ∈ [0, 0.08]`.
fn random_market(rng: &mut Rng) -> [f64; 4] {
    [
        rng.uniform(0.7, 1.3),
        rng.uniform(0.1, 2.0),
        rng.uniform(0.1, 0.6),
        rng.uniform(0.0, 0.08),
    ]
}

#[test]
fn put_call_parity_and_no_arbitrage_bounds() {
    let mut rng = Rng(11);
    for _ in 0..2000 {
        let [m, tau, sigma, r] = random_market(&mut rng);
        let c = bs::call_price(m, tau, sigma, r);
        let p = bs::put_price(m, tau, sigma, r);
        let forward = m - (-r * tau).exp();
        // Φ(x) + Φ(−x) = 1 makes C − P = m − e^{−rτ} exact up to rounding.
        assert!(
            (c - p - forward).abs() < 4e-16 * (1.0 + m),
            "parity at {m} {tau} {sigma} {r}"
        );
        assert!(
            c >= forward.max(0.0) - 1e-16 && c <= m,
            "bounds at {m} {tau} {sigma} {r}"
        );
        assert!(
            p >= (-forward).max(0.0) - 1e-16,
            "put bound at {m} {tau} {sigma} {r}"
        );
    }
    // Limits: a deep in-the-money call is worth its forward intrinsic value,
    // a deep out-of-the-money call nothing.
    let (tau, sigma, r) = (0.5, 0.2, 0.03);
    let deep_itm = bs::call_price(20.0, tau, sigma, r);
    assert!((deep_itm - (20.0 - (-r * tau).exp())).abs() < 1e-14);
    let otm = bs::call_price(0.05, tau, sigma, r);
    assert!(
        (0.0..1e-90).contains(&otm),
        "deep out of the money: {otm:e}"
    );
    // Textbook value (Hull): S = 42, K = 40, r = 10%, σ = 20%, τ = 0.5 → C = 4.76.
    let hull = 40.0 * bs::call_price(42.0 / 40.0, 0.5, 0.2, 0.1);
    assert!((hull - 4.7594).abs() < 5e-5, "Hull's example: {hull}");
}

/// Central difference of `f` along one argument; the step is scaled to the
/// width of the price's variation (σ√τ in log-moneyness).
fn central(f: impl Fn([f64; 4]) -> f64, x: [f64; 4], axis: usize, h: f64, second: bool) -> f64 {
    let at = |d: f64| {
        let mut y = x;
        y[axis] += d;
        f(y)
    };
    if second {
        (at(h) - 2.0 * at(0.0) + at(-h)) / (h * h)
    } else {
        (at(h) - at(-h)) / (2.0 * h)
    }
}

#[test]
fn greeks_match_finite_differences_of_the_price() {
    let price = |x: [f64; 4]| bs::call_price(x[0], x[1], x[2], x[3]);
    let mut rng = Rng(12);
    for _ in 0..500 {
        let x = random_market(&mut rng);
        let [m, tau, sigma, r] = x;
        let width = sigma * tau.sqrt(); // scale of the price's variation in ln m
        // (name, analytic, finite difference, tolerance): central differences
        // are accurate to O(h²) truncation plus O(ε/h) (first) or O(ε/h²)
        // (second derivative) rounding; the steps balance the two.
        let checks = [
            (
                "delta",
                bs::call_delta(m, tau, sigma, r),
                central(price, x, 0, 1e-5 * m * width, false),
                2e-7,
            ),
            (
                "gamma",
                bs::call_gamma(m, tau, sigma, r),
                central(price, x, 0, 2e-3 * m * width, true),
                1e-5 / (m * width),
            ),
            (
                "vega",
                bs::call_vega(m, tau, sigma, r),
                central(price, x, 2, 1e-5 * sigma, false),
                2e-7,
            ),
            (
                "dC/dtau",
                bs::call_theta_tau(m, tau, sigma, r),
                central(price, x, 1, 1e-5 * tau, false),
                2e-7 / tau,
            ),
            (
                "rho",
                bs::call_rho(m, tau, sigma, r),
                central(price, x, 3, 1e-5, false),
                2e-7,
            ),
        ];
        for (name, exact, fd, tol) in checks {
            assert!(
                (exact - fd).abs() <= tol * (1.0 + exact.abs()),
                "{name} at {x:?}: analytic {exact:e}, finite difference {fd:e}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Fitted table vs the analytic price
// ---------------------------------------------------------------------------

const M_RANGE: (f64, f64) = (0.7, 1.3);
const TAU_RANGE: (f64, f64) = (0.05, 2.0);
const SIGMA_RANGE: (f64, f64) = (0.1, 0.6);
const R_RANGE: (f64, f64) = (0.0, 0.08);

/// The table's grid: moneyness finest at the money (`1 + 0.3 sinh(2u)/sinh 2`),
/// maturities uniform in `√τ`, volatility and rate uniform.
fn grid(shape: [usize; 4]) -> [Vec<f64>; 4] {
    let lin = |n: usize, i: usize| i as f64 / (n - 1) as f64;
    let m = (0..shape[0])
        .map(|i| 1.0 + 0.3 * (2.0 * (2.0 * lin(shape[0], i) - 1.0)).sinh() / 2f64.sinh())
        .collect();
    let (a, b) = (TAU_RANGE.0.sqrt(), TAU_RANGE.1.sqrt());
    let tau = (0..shape[1])
        .map(|i| (a + (b - a) * lin(shape[1], i)).powi(2))
        .collect();
    let uni = |(lo, hi): (f64, f64), n: usize| -> Vec<f64> {
        (0..n).map(|i| lo + (hi - lo) * lin(n, i)).collect()
    };
    [m, tau, uni(SIGMA_RANGE, shape[2]), uni(R_RANGE, shape[3])]
}

type Analytic = fn(f64, f64, f64, f64) -> f64;

fn call(f: Analytic, x: [f64; 4]) -> f64 {
    f(x[0], x[1], x[2], x[3])
}

/// Index `i` of the grid cell `[x_i, x_{i+1}]` holding `p`.
fn cell(axis: &[f64], p: f64) -> usize {
    axis.partition_point(|&s| s <= p)
        .saturating_sub(1)
        .min(axis.len() - 2)
}

/// Local data of the error bound at point `p` along `axis`:
/// `(h, max |∂⁴f/∂x_axis⁴|)` where `h` is the largest spacing among the cells
/// within three cells of `p` along `axis`, and the maximum of the fourth
/// derivative of `f` is taken over that stretch of the axis times the
/// neighbouring cells of `p` along the other axes.
///
/// The fourth derivative is estimated from `f` alone: on a line sampled with
/// step `δ`, the divided difference `Δ⁴f/δ⁴` equals `f⁽⁴⁾(ξ)` at some `ξ` inside
/// its 5-point stencil (mean value theorem for divided differences), so the
/// largest difference over a fine sampling estimates `max |f⁽⁴⁾|` from below
/// by at most the variation of `f⁽⁴⁾` over one stencil (`δ` is at most a
/// quarter of the smallest spacing in the window).
fn local_fourth_derivative(
    f: Analytic,
    axes: &[Vec<f64>; 4],
    p: [f64; 4],
    axis: usize,
) -> (f64, f64) {
    let a = &axes[axis];
    let i = cell(a, p[axis]);
    let lo = i.saturating_sub(3);
    let hi = (i + 4).min(a.len() - 1);
    let spacings: Vec<f64> = a[lo..=hi].windows(2).map(|w| w[1] - w[0]).collect();
    let h = spacings.iter().fold(0.0f64, |m, &s| m.max(s));
    let hmin = spacings.iter().fold(f64::INFINITY, |m, &s| m.min(s));
    let steps = (4.0 * (a[hi] - a[lo]) / hmin).ceil() as usize;
    let delta = (a[hi] - a[lo]) / steps as f64;

    // Other axes: four samples across the cells [x_{j-1}, x_{j+2}] around p.
    const SIDE: usize = 4;
    let others: Vec<usize> = (0..4).filter(|&k| k != axis).collect();
    let ranges: Vec<(f64, f64)> = others
        .iter()
        .map(|&k| {
            let j = cell(&axes[k], p[k]);
            (
                axes[k][j.saturating_sub(1)],
                axes[k][(j + 2).min(axes[k].len() - 1)],
            )
        })
        .collect();
    let mut max_d4 = 0.0f64;
    let mut line = Vec::with_capacity(steps + 1);
    for s in 0..SIDE.pow(3) {
        let mut x = p;
        let mut code = s;
        for (o, &k) in others.iter().enumerate() {
            let t = (code % SIDE) as f64 / (SIDE - 1) as f64;
            code /= SIDE;
            x[k] = ranges[o].0 + t * (ranges[o].1 - ranges[o].0);
        }
        line.clear();
        for q in 0..=steps {
            x[axis] = a[lo] + q as f64 * delta;
            line.push(call(f, x));
        }
        for w in line.windows(5) {
            let d4 = (w[0] - 4.0 * w[1] + 6.0 * w[2] - 4.0 * w[3] + w[4]) / delta.powi(4);
            max_d4 = max_d4.max(d4.abs());
        }
    }
    (h, max_d4)
}

/// Safety factor on the one-dimensional constants. The Hall–Meyer constants
/// (C₀ = 5/384, C₁ = 1/24, C₂ = 3/8 for `‖f⁽ʳ⁾ − s⁽ʳ⁾‖∞ ≤ C_r h^{4−r} ‖f⁽⁴⁾‖∞`)
/// are sharp for the *complete* cubic spline in one dimension. Here the end
/// conditions are not-a-knot, and the tensor-product interpolant
/// `Π = P₀P₁P₂P₃` has error `Σ_k P₀⋯P_{k−1}(I − P_k) f`, so each axis's term is
/// amplified by the Lebesgue constants of the other axes' interpolation
/// (≈ 1.5 each for cubic splines on moderately graded meshes: 1.5³ ≈ 3.4).
/// The bound also uses local rather than global maxima (spline interpolation
/// error decays by a factor ≈ 0.27 per cell away from its source). A factor
/// 4 covers these.
const SAFETY: f64 = 4.0;

/// Hall–Meyer constants.
const C0: f64 = 5.0 / 384.0;
const C1: f64 = 1.0 / 24.0;
const C2: f64 = 3.0 / 8.0;

/// A derivative of the price along one axis.
struct Along {
    axis: usize,
    /// Hall–Meyer constant of that derivative order.
    c: f64,
    /// Power of the spacing, `4 − order`.
    power: i32,
}

/// A quantity compared between the spline and the analytic formula.
struct Quantity {
    name: &'static str,
    orders: [usize; 4],
    exact: Analytic,
    /// The derivative it is (`None` for the price itself).
    along: Option<Along>,
}

#[test]
fn price_table_error_is_within_the_interpolation_bound() {
    let shape = [24, 16, 10, 6];
    let axes = grid(shape);
    let table = Array4::from_shape_fn((shape[0], shape[1], shape[2], shape[3]), |(i, j, k, l)| {
        bs::call_price(axes[0][i], axes[1][j], axes[2][k], axes[3][l])
    });
    let spline = TensorSpline::<4>::fit([&axes[0], &axes[1], &axes[2], &axes[3]], table.view())
        .expect("fit");

    let mut rng = Rng(2024);
    let points: Vec<[f64; 4]> = (0..120)
        .map(|_| {
            [
                rng.uniform(M_RANGE.0, M_RANGE.1),
                rng.uniform(TAU_RANGE.0, TAU_RANGE.1),
                rng.uniform(SIGMA_RANGE.0, SIGMA_RANGE.1),
                rng.uniform(R_RANGE.0, R_RANGE.1),
            ]
        })
        .collect();

    let quantities = [
        Quantity {
            name: "price",
            orders: [0; 4],
            exact: bs::call_price,
            along: None,
        },
        Quantity {
            name: "delta",
            orders: [1, 0, 0, 0],
            exact: bs::call_delta,
            along: Some(Along {
                axis: 0,
                c: C1,
                power: 3,
            }),
        },
        Quantity {
            name: "gamma",
            orders: [2, 0, 0, 0],
            exact: bs::call_gamma,
            along: Some(Along {
                axis: 0,
                c: C2,
                power: 2,
            }),
        },
        Quantity {
            name: "vega",
            orders: [0, 0, 1, 0],
            exact: bs::call_vega,
            along: Some(Along {
                axis: 2,
                c: C1,
                power: 3,
            }),
        },
    ];
    let mut worst_ratio = [0.0f64; 4];
    for p in &points {
        for (
            q,
            Quantity {
                name,
                orders,
                exact,
                along,
            },
        ) in quantities.iter().enumerate()
        {
            // Bound for r-th derivative along axis a (r = 0: the value):
            //   C_r h_a^{4-r} max|∂_a⁴ C|            (interpolation along a)
            // + Σ_{k≠a} C₀ h_k⁴ max|∂_k⁴ g|          (along the other axes)
            // where g = ∂_a^r C is the analytic greek itself. This follows from
            // f − Πf = (I − P_a) f + P_a (I − Π_{k≠a}) f: the first term is the
            // one-dimensional error along a, the second the other axes' error
            // of g (differentiation along a commutes with P_k for k ≠ a).
            let mut bound = 0.0;
            for k in 0..4 {
                bound += match along {
                    Some(Along { axis, c, power }) if *axis == k => {
                        let (h, d4) = local_fourth_derivative(bs::call_price, &axes, *p, k);
                        c * h.powi(*power) * d4
                    }
                    _ => {
                        let (h, d4) = local_fourth_derivative(*exact, &axes, *p, k);
                        C0 * h.powi(4) * d4
                    }
                };
            }
            bound *= SAFETY;
            let got = spline.eval_deriv(*p, *orders);
            let err = (got - call(*exact, *p)).abs();
            assert!(
                err <= bound,
                "{name} at {p:?}: spline {got:e}, analytic {:e}, error {err:e} > bound {bound:e}",
                call(*exact, *p)
            );
            worst_ratio[q] = worst_ratio[q].max(err / bound);
        }
    }
    eprintln!(
        "worst error / bound: price {:.3}, delta {:.3}, gamma {:.3}, vega {:.3}",
        worst_ratio[0], worst_ratio[1], worst_ratio[2], worst_ratio[3]
    );
}
