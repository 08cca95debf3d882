//! Bucketed greeks of the demo: the sensitivity of one option's price,
//! delta and vega, as interpolated off the Black–Scholes table, to every
//! node of the table.
//!
//! The fit is linear in the table, so the interpolated quantity at a point
//! `x` is `Σ_i F[i] W[i]` with `W` the dense tensor of
//! [`Fitter::data_weights`] (one short vector per axis, multiplied out):
//! `W[i]` is exactly how much the option's price (delta, vega) moves per
//! unit move of the table's node `i`. The demo checks these against central
//! finite differences of refits: bump one node, refit the whole table,
//! re-evaluate at `x`.

use bsfit::Fitter;
use bsfit_testkit::SplitMix64;
use ndarray::Array4;
use std::time::Instant;

/// The option priced off the table: (moneyness, maturity, volatility, rate),
/// inside the demo's domain and on none of its grid lines.
pub const OPTION: [f64; 4] = [1.023, 0.37, 0.271, 0.031];

/// The quantities whose buckets the demo reports: name and derivative
/// orders along (m, τ, σ, r).
const QUANTITIES: [(&str, [usize; 4]); 3] = [
    ("price  C", [0, 0, 0, 0]),
    ("delta  ∂C/∂m", [1, 0, 0, 0]),
    ("vega   ∂C/∂σ", [0, 0, 1, 0]),
];

/// The buckets of one quantity.
pub struct QuantityBuckets {
    /// The quantity's name.
    pub name: &'static str,
    /// The spline's value of the quantity at the option.
    pub value: f64,
    /// `Σ_i W[i] F[i]`: equals `value` (the weights reproduce the spline).
    pub reconstructed: f64,
    /// `Σ_i W[i]`: 1 for the price (constants are reproduced), 0 for a
    /// derivative.
    pub weight_sum: f64,
    /// Nodes whose `|W|` is at least 1e-3 of the largest.
    pub significant: usize,
    /// The largest nodes: multi-index and weight, largest `|W|` first.
    pub top: Vec<([usize; 4], f64)>,
    /// max over the checked nodes of `|W − finite difference|`, relative
    /// to `max |W|`.
    pub max_rel_diff: f64,
}

/// The bucketed greeks of [`OPTION`] and their finite-difference check.
pub struct Buckets {
    /// Price, delta and vega, in that order.
    pub quantities: Vec<QuantityBuckets>,
    /// Nodes checked against finite differences of refits.
    pub checked: usize,
    /// The finite-difference step (1e-6 of the table's largest |value|).
    pub step: f64,
    /// Median time of one `data_weights` call for one quantity, seconds.
    pub weights_time: f64,
}

/// Largest `|W|` nodes of each quantity checked by finite differences.
const TOP_CHECKED: usize = 16;
/// Further nodes, drawn at random over the whole table, checked too.
const RANDOM_CHECKED: usize = 16;

/// Computes the bucketed price, delta and vega of the option at `x` priced
/// off `table` on `axes`, and checks every bucket of [`TOP_CHECKED`]
/// largest nodes per quantity and [`RANDOM_CHECKED`] random ones against
/// central finite differences of refits (step 1e-6 of the table's scale).
///
/// Errors: a failed fit, or a non-finite weight.
pub fn bucketed(axes: [&[f64]; 4], table: &Array4<f64>, x: [f64; 4]) -> Result<Buckets, String> {
    let fitter = Fitter::new(axes).map_err(|e| e.to_string())?;
    let spline = fitter.fit(table.view()).map_err(|e| e.to_string())?;
    let shape = fitter.shape();
    let flat = table.as_slice().ok_or("the table is in standard layout")?;

    let mut times = Vec::with_capacity(201);
    for _ in 0..201 {
        let t0 = Instant::now();
        std::hint::black_box(fitter.data_weights(std::hint::black_box(x), [1, 0, 0, 0]));
        times.push(t0.elapsed().as_secs_f64());
    }
    let weights_time = median(times);

    let dense: Vec<Vec<f64>> = QUANTITIES
        .iter()
        .map(|&(_, orders)| fitter.data_weights(x, orders).dense())
        .collect();
    if let Some(w) = dense.iter().flatten().find(|w| !w.is_finite()) {
        return Err(format!("non-finite data weight {w}"));
    }

    // The nodes to check: the largest of each quantity, then random ones.
    let mut nodes: Vec<usize> = Vec::new();
    for w in &dense {
        let mut order: Vec<usize> = (0..w.len()).collect();
        order.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()));
        nodes.extend(order.into_iter().take(TOP_CHECKED));
    }
    let mut rng = SplitMix64::new(0x5eed);
    nodes.extend((0..RANDOM_CHECKED).map(|_| rng.usize_inclusive(0, flat.len() - 1)));
    nodes.sort_unstable();
    nodes.dedup();

    // Central differences of refits, all three quantities from each pair.
    let scale = flat.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let h = 1e-6 * scale;
    let mut bumped = table.clone();
    let mut max_diff = [0.0f64; 3];
    for &i in &nodes {
        let at = |sign: f64, bumped: &mut Array4<f64>| -> Result<[f64; 3], String> {
            let node = bumped
                .as_slice_mut()
                .ok_or("the table is in standard layout")?;
            node[i] = flat[i] + sign * h;
            let s = fitter.fit(bumped.view()).map_err(|e| e.to_string());
            bumped
                .as_slice_mut()
                .ok_or("the table is in standard layout")?[i] = flat[i];
            let s = s?;
            Ok(QUANTITIES.map(|(_, orders)| s.eval_deriv(x, orders)))
        };
        let up = at(1.0, &mut bumped)?;
        let down = at(-1.0, &mut bumped)?;
        for q in 0..3 {
            let fd = (up[q] - down[q]) / (2.0 * h);
            max_diff[q] = max_diff[q].max((fd - dense[q][i]).abs());
        }
    }

    let quantities = QUANTITIES
        .iter()
        .zip(&dense)
        .zip(max_diff)
        .map(|((&(name, orders), w), diff)| {
            let wmax = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let mut order: Vec<usize> = (0..w.len()).collect();
            order.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()));
            QuantityBuckets {
                name,
                value: spline.eval_deriv(x, orders),
                reconstructed: w.iter().zip(flat).map(|(a, b)| a * b).sum(),
                weight_sum: w.iter().sum(),
                significant: w.iter().filter(|v| v.abs() >= 1e-3 * wmax).count(),
                top: order
                    .into_iter()
                    .take(3)
                    .map(|i| (unravel(i, shape), w[i]))
                    .collect(),
                max_rel_diff: if wmax > 0.0 { diff / wmax } else { diff },
            }
        })
        .collect();
    Ok(Buckets {
        quantities,
        checked: nodes.len(),
        step: h,
        weights_time,
    })
}

/// The multi-index of flat (row-major) index `i` on a grid of `shape`.
fn unravel(mut i: usize, shape: [usize; 4]) -> [usize; 4] {
    let mut idx = [0; 4];
    for k in (0..4).rev() {
        idx[k] = i % shape[k];
        i /= shape[k];
    }
    idx
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Prints the bucketed greeks of `b` for the option at `x` on `axes`.
pub fn print(b: &Buckets, x: [f64; 4], axes: [&[f64]; 4]) {
    println!();
    println!(
        "  bucketed greeks of the option at (m, τ, σ, r) = ({}, {}, {}, {}): the sensitivity",
        x[0], x[1], x[2], x[3]
    );
    println!(
        "  of its interpolated price, delta and vega to every node of the table (Fitter::data_weights)"
    );
    println!(
        "  {:<16} {:>12} {:>12} {:>10} {:>8}   (nodes: |W| ≥ 1e-3 of the largest)",
        "quantity", "spline", "Σ W·table", "Σ W", "nodes"
    );
    println!("  {}", "─".repeat(16 + 13 * 2 + 11 + 9 + 38));
    for q in &b.quantities {
        println!(
            "  {:<16} {:>12.6e} {:>12.6e} {:>10.2e} {:>8}",
            crate::demo::pad(q.name, 16),
            q.value,
            q.reconstructed,
            q.weight_sum,
            q.significant,
        );
        let top: Vec<String> = q
            .top
            .iter()
            .map(|(i, w)| {
                format!(
                    "({:.3}, {:.3}, {:.3}, {:.3}) {:+.4}",
                    axes[0][i[0]], axes[1][i[1]], axes[2][i[2]], axes[3][i[3]], w
                )
            })
            .collect();
        println!("  {:<16} largest W at (m, τ, σ, r): {}", "", top.join(", "));
    }
    let worst = b
        .quantities
        .iter()
        .map(|q| q.max_rel_diff)
        .fold(0.0f64, f64::max);
    println!(
        "  check       {} nodes bumped by ±{:.1e} and refitted (central differences): max relative difference {:.2e}",
        b.checked, b.step, worst
    );
    println!(
        "  data_weights one point (4 axes): {:.2} µs (median of 201)",
        b.weights_time * 1e6
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use bsfit_testkit::analytic::black_scholes as bs;
    use bsfit_testkit::workloads::price_table;

    #[test]
    fn buckets_equal_finite_differences_of_refits() {
        let shape = [12, 10, 8, 6];
        let [m, tau, sigma, r] = price_table::axes(shape);
        let table = Array4::from_shape_fn((12, 10, 8, 6), |(i, j, k, l)| {
            bs::call_price(m[i], tau[j], sigma[k], r[l])
        });
        let b = bucketed([&m, &tau, &sigma, &r], &table, OPTION).unwrap();
        assert!(b.checked >= 2 * TOP_CHECKED);
        for q in &b.quantities {
            assert!(q.max_rel_diff <= 1e-7, "{}: {:e}", q.name, q.max_rel_diff);
            assert!(
                (q.reconstructed - q.value).abs() <= 1e-12 * q.value.abs().max(1.0),
                "{}: {} vs {}",
                q.name,
                q.reconstructed,
                q.value
            );
        }
        // Constants are reproduced; their derivatives vanish.
        assert!((b.quantities[0].weight_sum - 1.0).abs() < 1e-12);
        assert!(b.quantities[1].weight_sum.abs() < 1e-9);
        assert!(b.quantities[2].weight_sum.abs() < 1e-9);
    }

    #[test]
    fn unravel_is_row_major() {
        let shape = [3, 4, 5, 6];
        let mut flat = 0;
        for i in 0..3 {
            for j in 0..4 {
                for k in 0..5 {
                    for l in 0..6 {
                        assert_eq!(unravel(flat, shape), [i, j, k, l]);
                        flat += 1;
                    }
                }
            }
        }
    }
}
