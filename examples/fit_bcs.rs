//! Refit time per boundary condition against not-a-knot on one grid, on
//! the calling thread, the conditions alternated in rounds:
//! `cargo run --release --example fit_bcs [-- 50x30x20x10 [threads]]`.

use bsfit::{BoundaryCondition as Bc, EndCondition as End, Fitter, Par};
use bsfit_testkit::workloads::{grid_values, make_periodic, unit_axes};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let shape: [usize; 4] = args
        .next()
        .map(|s| {
            let v: Vec<usize> = s.split('x').map(|p| p.parse().expect("NxNxNxN")).collect();
            [v[0], v[1], v[2], v[3]]
        })
        .unwrap_or([50, 30, 20, 10]);
    let threads: usize = args
        .next()
        .map(|t| t.parse().expect("threads"))
        .unwrap_or(1);
    let only = args.next();
    let axes = unit_axes(shape);
    let ax = [&axes[0][..], &axes[1][..], &axes[2][..], &axes[3][..]];
    let mut values = grid_values(shape);
    for axis in 0..4 {
        make_periodic(&mut values, shape, axis);
    }
    let explicit = Bc::ends(End::Derivative { order: 1 }, End::Derivative { order: 2 });
    let rows: [(&str, [Bc; 4]); 7] = [
        ("not-a-knot", [Bc::NOT_A_KNOT; 4]),
        ("natural", [Bc::NATURAL; 4]),
        ("clamped", [Bc::CLAMPED; 4]),
        ("periodic", [Bc::PERIODIC; 4]),
        (
            "mixed",
            [Bc::NOT_A_KNOT, Bc::NATURAL, Bc::PERIODIC, Bc::CLAMPED],
        ),
        (
            "explicit axis 0",
            [explicit, Bc::NOT_A_KNOT, Bc::NOT_A_KNOT, Bc::NOT_A_KNOT],
        ),
        (
            "explicit axis 2",
            [Bc::NOT_A_KNOT, Bc::NOT_A_KNOT, explicit, Bc::NOT_A_KNOT],
        ),
    ];
    let par = if threads > 1 {
        Par::with_threads(threads)
    } else {
        Par::Seq
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let fitters: Vec<Fitter<4>> = rows
        .iter()
        .map(|(_, bc)| Fitter::with_boundary(ax, *bc).unwrap().with_par(par))
        .collect();
    // Rows 5 and 6 take end values on axes 0 and 2.
    let ends: Vec<Vec<f64>> = fitters
        .iter()
        .enumerate()
        .map(|(i, f)| match i {
            5 => grid_values_n(&f.end_values_shape(0)),
            6 => grid_values_n(&f.end_values_shape(2)),
            _ => Vec::new(),
        })
        .collect();
    let mut wss: Vec<_> = fitters.iter().map(|f| f.workspace()).collect();
    let mut outs: Vec<Vec<f64>> = fitters
        .iter()
        .map(|f| vec![0.0; f.coef_shape().iter().product()])
        .collect();
    let (rounds, per) = if values.len() > 1 << 22 {
        (5, 1)
    } else {
        (20, 10)
    };
    let mut times = vec![Vec::new(); rows.len()];
    pool.install(|| {
        for _ in 0..rounds {
            for (i, f) in fitters.iter().enumerate() {
                if only.as_deref().is_some_and(|o| !rows[i].0.starts_with(o)) {
                    times[i].push(f64::NAN);
                    continue;
                }
                let e: [&[f64]; 2] = [&ends[i], &ends[i]];
                f.fit_into_ends(&values, e, &mut outs[i], &mut wss[i])
                    .unwrap();
                let t = Instant::now();
                for _ in 0..per {
                    f.fit_into_ends(&values, e, &mut outs[i], &mut wss[i])
                        .unwrap();
                }
                times[i].push(t.elapsed().as_secs_f64() / per as f64);
            }
        }
    });
    println!("shape {shape:?}, {threads} threads, {rounds} rounds of {per} refits");
    let mut base = 0.0;
    for (i, (name, _)) in rows.iter().enumerate() {
        let t = &mut times[i];
        t.sort_by(f64::total_cmp);
        let med = t[t.len() / 2];
        if i == 0 {
            base = med;
        }
        println!(
            "{name:<16} median {:8.3} ms  min {:8.3} ms  {:5.2}x",
            med * 1e3,
            t[0] * 1e3,
            med / base
        );
    }
}

fn grid_values_n(shape: &[usize]) -> Vec<f64> {
    let n: usize = shape.iter().product();
    (0..n).map(|i| ((i as f64) * 0.37).sin()).collect()
}
