//! Refit time of each [`FitScheme`] on one grid, alternating the schemes:
//! `cargo run --release --example fit_schemes [-- 100x50x30x20 [threads]]`.

use bsfit::tensor::FitScheme;
use bsfit::{Fitter, Par};
use bsfit_testkit::workloads::{grid_values, unit_axes};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let shape: [usize; 4] = args
        .next()
        .map(|s| {
            let v: Vec<usize> = s.split('x').map(|p| p.parse().expect("NxNxNxN")).collect();
            [v[0], v[1], v[2], v[3]]
        })
        .unwrap_or([100, 50, 30, 20]);
    let threads: usize = args
        .next()
        .map(|t| t.parse().expect("threads"))
        .unwrap_or(2);
    let axes = unit_axes(shape);
    let values = grid_values(shape);
    let ax = [&axes[0][..], &axes[1][..], &axes[2][..], &axes[3][..]];
    let schemes = [
        ("auto", FitScheme::Auto),
        ("rotate", FitScheme::Rotate),
        ("in-place", FitScheme::InPlace),
        ("blocked", FitScheme::Blocked),
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
    let fitters: Vec<Fitter<4>> = schemes
        .iter()
        .map(|&(_, s)| Fitter::new(ax).unwrap().with_scheme(s).with_par(par))
        .collect();
    let mut wss: Vec<_> = fitters.iter().map(|f| f.workspace()).collect();
    let mut outs: Vec<Vec<f64>> = fitters.iter().map(|_| vec![0.0; values.len()]).collect();
    let reps = if values.len() > 1 << 22 { 5 } else { 21 };
    let mut times = vec![Vec::new(); schemes.len()];
    pool.install(|| {
        for _ in 0..reps {
            for (i, f) in fitters.iter().enumerate() {
                let t = Instant::now();
                f.fit_into_with(&values, &mut outs[i], &mut wss[i]).unwrap();
                times[i].push(t.elapsed().as_secs_f64());
            }
        }
    });
    println!("shape {shape:?}, {threads} threads, {reps} refits each");
    for (i, (name, _)) in schemes.iter().enumerate() {
        let t = &mut times[i];
        t.sort_by(f64::total_cmp);
        let d = outs[i]
            .iter()
            .zip(&outs[0])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        println!(
            "{name:<10} median {:8.3} ms  min {:8.3} ms  max|diff| {d:.1e}",
            t[t.len() / 2] * 1e3,
            t[0] * 1e3
        );
    }
}
