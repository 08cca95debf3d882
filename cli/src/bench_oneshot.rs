//! `bsfit bench --only oneshot`: the one-shot calls as users make them
//! (`TensorSpline::fit`, `grid3::prefilter`, `grid3::prefilter_f32`), timed
//! in fresh processes and after a pattern of unrelated allocations, next to
//! the reused-plan path measured in the same processes.
//!
//! ```text
//! bsfit bench --only oneshot [--quick] [--pin] [--json out.json] [--isa NAME]
//! ```
//!
//! A one-shot call allocates its output and temporaries, so its time depends
//! on what the allocator hands back: fresh pages that the kernel must fault
//! in and zero, or pages a previous allocation left in the heap. Each case is
//! therefore run in child processes (this binary's hidden `bench-child`
//! subcommand), K of them per state (5, `--quick` 3), fresh and churned
//! children alternating so that machine noise hits both alike:
//!
//! * **fresh**: the child builds the input, then times the first one-shot call
//!   of its life (`first`), then `R` more calls, each result dropped before
//!   the next call as a user's loop drops it (`repeated`: their median). Only
//!   the calls are timed, not the drops.
//! * **churned**: the same after [`churn`], a fixed pattern of unrelated
//!   allocations that fragments glibc's heap and moves its mmap threshold.
//! * **plan**: in the same child, after the one-shot calls, the reused-plan
//!   path: `Fitter::fit_into_with` with a reused `Workspace` and output (fit
//!   cases), `grid3::DirectPlan::solve` into a reused output (prefilter
//!   cases); one warm-up call, then the median of `R` calls.
//!
//! The table shows, per case and state, the median over the K children of
//! each figure (for `first` also its min–max), the ratios one-shot / plan,
//! and the bars of the one-shot work: one-shot ≤ 1.2× plan in every state;
//! `fit-small` ≤ 0.25 ms in every state; `fit-big` and `prefilter-256`
//! against 2 read+write sweeps of the input at the memory bandwidth measured
//! at the start of the run; `fit-big`'s peak resident memory (fresh
//! children, after the one-shot calls) ≤ 2.1× its input. `prefilter-128`'s
//! bar (≥ 20× scipy's `spline_filter`) and `fit-small`'s (≥ 85× scipy's
//! separable fit) need scipy timed in the same run:
//!
//! ```text
//! cargo build --release -p bsfit-cli
//! ./target/release/bsfit bench --only oneshot --pin --json oneshot.json
//! python3 tools/compare_scipy.py --oneshot --ours oneshot.json
//! ```
//!
//! Every child runs its calls on a rayon pool of 2 threads (the `pool` of
//! `bsfit bench`, pinned with `--pin`), whose workers are started before
//! the first timed call; the one-shot calls take their parallelism from that
//! pool (`Par::auto`). `--isa NAME` runs the children with `BSFIT_ISA=NAME`.
//! Each child checks, outside the timed calls, that its last one-shot result
//! agrees with the plan's output, so that a wrong fast path cannot pass as a
//! fast one.

use crate::bench::{bandwidth, machine_name, pool};
use crate::memfit::peak_rss;
use bsfit::grid3::direct::DirectPlan;
use bsfit::grid3::{self, Boundary};
use bsfit::{Fitter, Isa, Par, TensorSpline};
use bsfit_testkit::rng::SplitMix64;
use bsfit_testkit::workloads;
use clap::Args;
use ndarray::{Array3, Array4};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::hint::black_box;
use std::process::{Command, ExitStatus};
use std::time::Instant;

/// Threads of every measured call.
const THREADS: usize = 2;

/// Options of the hidden `bsfit bench-child` subcommand: one child process
/// of `bsfit bench --only oneshot`, which prints one JSON line.
#[derive(Args, Debug, Clone)]
pub struct ChildArgs {
    /// Case name (`fit-small`, `fit-big`, `prefilter-128`, `prefilter-256`, `prefilter-f32-128`)
    #[arg(long)]
    case: String,
    /// Allocator state before the first call: `fresh` or `churned`
    #[arg(long)]
    state: String,
    /// Timed calls after the first one-shot call, and of the plan
    #[arg(long, default_value_t = 10)]
    reps: usize,
    /// Pin the rayon workers to cores
    #[arg(long)]
    pin: bool,
    /// The shrunken inputs of `bsfit bench --only oneshot --tiny`
    #[arg(long)]
    tiny: bool,
}

/// The options of `bsfit bench` that the one-shot part reads.
pub struct Options<'a> {
    /// Fewer processes and calls.
    pub quick: bool,
    /// Pin the rayon workers to cores.
    pub pin: bool,
    /// Shrink every input (a run of a few seconds, for tests).
    pub tiny: bool,
    /// `BSFIT_ISA` of the children; `None`: the default ISA.
    pub isa: Option<Isa>,
    /// Where to write the JSON records.
    pub json: Option<&'a str>,
}

/// The measured cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    FitSmall,
    FitBig,
    Prefilter128,
    Prefilter256,
    PrefilterF32x128,
}

impl Case {
    const ALL: [Case; 5] = [
        Case::FitSmall,
        Case::FitBig,
        Case::Prefilter128,
        Case::Prefilter256,
        Case::PrefilterF32x128,
    ];

    fn name(self) -> &'static str {
        match self {
            Case::FitSmall => "fit-small",
            Case::FitBig => "fit-big",
            Case::Prefilter128 => "prefilter-128",
            Case::Prefilter256 => "prefilter-256",
            Case::PrefilterF32x128 => "prefilter-f32-128",
        }
    }

    fn from_name(s: &str) -> Result<Case, String> {
        Case::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Case::ALL.iter().map(|c| c.name()).collect();
                format!("unknown case {s:?} ({})", names.join(", "))
            })
    }

    /// Grid shape (3 or 4 extents); `tiny` shrinks it to a few thousand points.
    fn shape(self, tiny: bool) -> Vec<usize> {
        match (self, tiny) {
            (Case::FitSmall, false) => workloads::EVAL4D_SHAPE.to_vec(),
            (Case::FitSmall, true) => vec![8, 7, 6, 5],
            (Case::FitBig, false) => vec![200, 100, 50, 30],
            (Case::FitBig, true) => vec![12, 10, 8, 6],
            (Case::Prefilter128 | Case::PrefilterF32x128, false) => vec![128; 3],
            (Case::Prefilter256, false) => vec![256; 3],
            (Case::Prefilter128 | Case::PrefilterF32x128, true) => vec![12; 3],
            (Case::Prefilter256, true) => vec![16; 3],
        }
    }

    fn elem_bytes(self) -> usize {
        if self == Case::PrefilterF32x128 { 4 } else { 8 }
    }

    fn dtype(self) -> &'static str {
        if self == Case::PrefilterF32x128 {
            "f32"
        } else {
            "f64"
        }
    }

    /// Timed calls per child after the first one (`R`).
    fn reps(self, quick: bool, tiny: bool) -> usize {
        if tiny {
            return 2;
        }
        match (self, quick) {
            (Case::FitSmall, false) => 20,
            (Case::FitSmall, true) => 10,
            (Case::FitBig | Case::Prefilter256, false) => 3,
            (Case::FitBig | Case::Prefilter256, true) => 2,
            (_, false) => 10,
            (_, true) => 5,
        }
    }

    /// Whether the bar of 2 read+write sweeps applies (inputs beyond cache).
    fn sweep_bar(self) -> bool {
        matches!(self, Case::FitBig | Case::Prefilter256)
    }
}

/// Allocator state of a child before its first call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Fresh,
    Churned,
}

impl State {
    const ALL: [State; 2] = [State::Fresh, State::Churned];

    fn name(self) -> &'static str {
        match self {
            State::Fresh => "fresh",
            State::Churned => "churned",
        }
    }

    fn from_name(s: &str) -> Result<State, String> {
        State::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown state {s:?} (fresh, churned)"))
    }
}

/// The JSON line a child prints.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct ChildRecord {
    case: String,
    state: String,
    /// The first one-shot call of the process.
    first_ms: f64,
    /// Median of the following one-shot calls.
    repeated_ms: f64,
    /// Median of the reused-plan calls.
    plan_ms: f64,
    /// Peak resident memory after the one-shot calls (`VmHWM`), if known.
    peak_rss_bytes: Option<u64>,
    input_bytes: u64,
}

/// The allocation pattern run before the `churned` state's timings.
///
/// Blocks of 1 kB · 2ᵏ for k = 0..=`max_class` (16: up to 64 MB), class k
/// `max(1, 256 >> k)` times per round, 3 rounds, in an order shuffled by a
/// seeded SplitMix64 (seed 12), each block written once per 4 kB page so that
/// it is resident. The blocks pass through a window of 8 live blocks: when a
/// ninth arrives, a randomly chosen one leaves it and is freed, or, for one
/// in four blocks of at most 1 MB, kept alive until the end of the timings
/// (with `max_class` 16: 390 blocks, 3.7 MB, scattered over the heap). Afterwards glibc's
/// heap is fragmented by the survivors, and its dynamic mmap threshold has
/// risen from 128 kB to the largest freed mmapped block of at most 32 MB
/// (16 MB), so that later requests below it are served from the heap
/// (possibly from pages already resident) instead of fresh mappings.
/// About 390 MB are touched in all (11 MB with `max_class` 10).
fn churn(max_class: u32) -> Vec<Vec<u8>> {
    let mut rng = SplitMix64::new(12);
    let mut order: Vec<u32> = Vec::new();
    for _ in 0..3 {
        for k in 0..=max_class {
            order.extend(std::iter::repeat_n(k, (256usize >> k).max(1)));
        }
    }
    // Fisher–Yates with the seeded generator.
    for i in (1..order.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let mut window: Vec<Vec<u8>> = Vec::with_capacity(9);
    let mut kept = Vec::new();
    for (n, &k) in order.iter().enumerate() {
        let len = 1024usize << k;
        let mut b = vec![0u8; len];
        for i in (0..len).step_by(4096) {
            b[i] = n as u8 | 1;
        }
        window.push(black_box(b));
        if window.len() > 8 {
            let i = (rng.next_u64() % window.len() as u64) as usize;
            let b = window.swap_remove(i);
            if b.len() <= 1 << 20 && rng.next_u64().is_multiple_of(4) {
                kept.push(b);
            } else {
                drop(b);
            }
        }
    }
    drop(window);
    kept
}

/// Median of `v` (sorted in place); NaN for an empty slice.
fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Times the first call of `f` and the median of `reps` more; each result is
/// dropped after its clock stopped and before the next call. The last
/// result is returned.
fn time_oneshot<R>(
    reps: usize,
    mut f: impl FnMut() -> Result<R, String>,
) -> Result<(f64, f64, R), String> {
    let t0 = Instant::now();
    let mut last = black_box(f()?);
    let first = t0.elapsed().as_secs_f64();
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        drop(last);
        let t0 = Instant::now();
        last = black_box(f()?);
        times.push(t0.elapsed().as_secs_f64());
    }
    Ok((first, median(&mut times), last))
}

/// Median of `reps` calls of `f` after one warm-up call.
fn time_plan(reps: usize, mut f: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    f()?;
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t0 = Instant::now();
        f()?;
        times.push(t0.elapsed().as_secs_f64());
    }
    Ok(median(&mut times))
}

/// `Err` unless `a` and `b` agree to `tol` relative to their largest value.
fn agree(case: Case, a: &[f64], b: &[f64], tol: f64) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!(
            "{}: one-shot output has {} values, the plan's {}",
            case.name(),
            a.len(),
            b.len()
        ));
    }
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1.0);
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        // A NaN difference sticks (`f64::max` would drop it).
        .fold(0.0f64, |m, d| if d > m || d.is_nan() { d } else { m });
    if worst.is_nan() || worst > tol * scale {
        return Err(format!(
            "{}: one-shot and plan outputs differ by {worst:e} (tolerance {:e})",
            case.name(),
            tol * scale
        ));
    }
    Ok(())
}

/// Runs one child: builds the input, applies the state, times the calls.
fn child_measure(case: Case, state: State, reps: usize, tiny: bool) -> Result<ChildRecord, String> {
    let shape = case.shape(tiny);
    let total: usize = shape.iter().product();
    let input_bytes = (total * case.elem_bytes()) as u64;
    let churn_class = if tiny { 10 } else { 16 };
    let ms = |s: f64| s * 1e3;
    let record = |first: f64, repeated: f64, plan: f64, rss: Option<u64>| ChildRecord {
        case: case.name().into(),
        state: state.name().into(),
        first_ms: ms(first),
        repeated_ms: ms(repeated),
        plan_ms: ms(plan),
        peak_rss_bytes: rss,
        input_bytes,
    };
    match case {
        Case::FitSmall | Case::FitBig => {
            let s: [usize; 4] = std::array::from_fn(|k| shape[k]);
            let ax = workloads::unit_axes(s);
            let axv: [&[f64]; 4] = std::array::from_fn(|k| ax[k].as_slice());
            let values =
                Array4::from_shape_vec((s[0], s[1], s[2], s[3]), workloads::grid_values(s))
                    .map_err(|e| e.to_string())?;
            let kept = (state == State::Churned).then(|| churn(churn_class));
            let (first, repeated, last) = time_oneshot(reps, || {
                TensorSpline::fit(axv, values.view()).map_err(|e| e.to_string())
            })?;
            let rss = peak_rss();
            let f = Fitter::new(axv)
                .map_err(|e| e.to_string())?
                .with_par(Par::with_threads(THREADS));
            let mut ws = f.workspace();
            let mut out = vec![0.0; f.coef_shape().iter().product()];
            let flat = values.as_slice().ok_or("the input is not contiguous")?;
            let plan = time_plan(reps, || {
                f.fit_into_with(flat, &mut out, &mut ws)
                    .map_err(|e| e.to_string())
            })?;
            agree(case, last.coefficients_slice(), &out, 1e-9)?;
            black_box(kept);
            Ok(record(first, repeated, plan, rss))
        }
        Case::Prefilter128 | Case::Prefilter256 => {
            let f = workloads::grid3_field(total, workloads::GRID3_SEED);
            let (first, repeated, plan, rss) =
                prefilter_case(case, state, churn_class, reps, shape[0], f, 1e-12)?;
            Ok(record(first, repeated, plan, rss))
        }
        Case::PrefilterF32x128 => {
            let f = workloads::grid3_field_f32(total, workloads::GRID3_SEED);
            let (first, repeated, plan, rss) =
                prefilter_case(case, state, churn_class, reps, shape[0], f, 1e-5)?;
            Ok(record(first, repeated, plan, rss))
        }
    }
}

/// One prefilter case in f64 or f32: the one-shot call
/// (`grid3::prefilter_generic` with `Par::auto()`, what `prefilter` and
/// `prefilter_f32` run), then the reused plan, then their agreement.
/// Returns the first and repeated one-shot and the plan times (s) and the
/// peak RSS.
fn prefilter_case<T: bsfit::Real>(
    case: Case,
    state: State,
    churn_class: u32,
    reps: usize,
    n: usize,
    values: Vec<T>,
    tol: f64,
) -> Result<(f64, f64, f64, Option<u64>), String> {
    let f = Array3::from_shape_vec((n, n, n), values).map_err(|e| e.to_string())?;
    let bc = [Boundary::Periodic; 3];
    let kept = (state == State::Churned).then(|| churn(churn_class));
    let (first, repeated, last) = time_oneshot(reps, || {
        grid3::prefilter_generic(f.view(), bc, Par::auto()).map_err(|e| e.to_string())
    })?;
    let rss = peak_rss();
    let plan = DirectPlan::<T>::new([n; 3], bc, Par::with_threads(THREADS));
    let mut out = vec![T::ZERO; n * n * n];
    let src = f.as_slice().ok_or("the input is not contiguous")?;
    let t = time_plan(reps, || {
        plan.solve(src, &mut out);
        Ok(())
    })?;
    let last = last.as_slice().ok_or("the output is not contiguous")?;
    let wide = |v: &[T]| v.iter().map(|x| x.to_f64()).collect::<Vec<f64>>();
    agree(case, &wide(last), &wide(&out), tol)?;
    black_box(kept);
    Ok((first, repeated, t, rss))
}

/// `bsfit bench-child`: measures one case in one state and prints its
/// [`ChildRecord`] as one JSON line.
pub fn run_child(a: &ChildArgs) -> Result<(), String> {
    let case = Case::from_name(&a.case)?;
    let state = State::from_name(&a.state)?;
    let p = pool(THREADS, a.pin)?;
    // Start every worker before the first timed call.
    p.broadcast(|_| ());
    let rec = p.install(|| child_measure(case, state, a.reps.max(1), a.tiny))?;
    println!(
        "{}",
        serde_json::to_string(&rec).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// The record of a finished child, or an error naming the case, the state
/// and what went wrong (exit status and the end of its stderr, or output
/// that does not parse).
fn parse_child(
    case: Case,
    state: State,
    status: ExitStatus,
    stdout: &[u8],
    stderr: &[u8],
) -> Result<ChildRecord, String> {
    let what = format!("{} ({}) child process", case.name(), state.name());
    if !status.success() {
        let err = String::from_utf8_lossy(stderr);
        let tail: Vec<&str> = err.lines().rev().take(3).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("{what} failed ({status}): {}", tail.join(" / ")));
    }
    let out = String::from_utf8_lossy(stdout);
    let line = out
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .ok_or_else(|| format!("{what} printed nothing"))?;
    let rec: ChildRecord =
        serde_json::from_str(line).map_err(|e| format!("{what} printed {line:?}: {e}"))?;
    if rec.case != case.name() || rec.state != state.name() {
        return Err(format!(
            "{what} reported case {:?}, state {:?}",
            rec.case, rec.state
        ));
    }
    Ok(rec)
}

/// Spawns one child of this executable and parses its record.
fn spawn_child(
    case: Case,
    state: State,
    reps: usize,
    o: &Options<'_>,
) -> Result<ChildRecord, String> {
    let exe = std::env::current_exe().map_err(|e| format!("locating this executable: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.args([
        "bench-child",
        "--case",
        case.name(),
        "--state",
        state.name(),
    ])
    .args(["--reps", &reps.to_string()]);
    if o.pin {
        cmd.arg("--pin");
    }
    if o.tiny {
        cmd.arg("--tiny");
    }
    if let Some(isa) = o.isa {
        cmd.env("BSFIT_ISA", isa.name());
    }
    let out = cmd
        .output()
        .map_err(|e| format!("starting the {} child process: {e}", case.name()))?;
    parse_child(case, state, out.status, &out.stdout, &out.stderr)
}

/// Median and range of a figure over the children (ms).
#[derive(Serialize, Clone, Copy)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        let med = median(&mut v);
        Spread {
            median: med,
            min: v.first().copied().unwrap_or(f64::NAN),
            max: v.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// The figures of one case in one state (ms; medians over the children).
#[derive(Serialize)]
struct StateRecord {
    first_ms: Spread,
    repeated_ms: Spread,
    plan_ms: Spread,
    first_over_plan: f64,
    repeated_over_plan: f64,
    /// Peak resident memory / input size (fresh children only).
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_rss_over_input: Option<f64>,
}

/// One bar and whether the run met it.
#[derive(Serialize)]
struct Bar {
    name: String,
    value: f64,
    limit: f64,
    met: bool,
}

impl Bar {
    fn at_most(name: impl Into<String>, value: f64, limit: f64) -> Bar {
        Bar {
            name: name.into(),
            value,
            limit,
            met: value <= limit,
        }
    }
}

/// One case of the JSON output.
#[derive(Serialize)]
struct CaseRecord {
    case: &'static str,
    shape: Vec<usize>,
    dtype: &'static str,
    input_mb: f64,
    threads: usize,
    processes: usize,
    reps: usize,
    fresh: StateRecord,
    churned: StateRecord,
    /// 2 read+write sweeps of the input at the measured bandwidth.
    #[serde(skip_serializing_if = "Option::is_none")]
    two_sweeps_ms: Option<f64>,
    bars: Vec<Bar>,
}

/// Bandwidth of the JSON output (GB/s).
#[derive(Serialize)]
struct OneshotBandwidth {
    ram_2t: f64,
}

/// The JSON output of `--only oneshot --json`.
#[derive(Serialize)]
struct OneshotReport {
    machine: String,
    isa: &'static str,
    bandwidth_gbs: OneshotBandwidth,
    oneshot: Vec<CaseRecord>,
}

fn shape_str(s: &[usize]) -> String {
    s.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// Runs every case in child processes, prints the table, writes the JSON.
pub fn run(o: &Options<'_>) -> Result<(), String> {
    let isa = o.isa.unwrap_or_else(Isa::detect);
    isa.require().map_err(|e| e.to_string())?;
    let processes = match (o.tiny, o.quick) {
        (true, _) => 2,
        (false, true) => 3,
        (false, false) => 5,
    };
    let bw_len = if o.tiny { 1 << 20 } else { 30_000_000 };
    let bw = bandwidth(bw_len, THREADS, if o.quick { 3 } else { 10 })?;
    let machine = machine_name();
    let mut t = String::new();
    let _ = writeln!(t, "machine: {machine}");
    let _ = writeln!(
        t,
        "memory bandwidth (read+write sweep, {THREADS} threads, {} MB): {bw:.1} GB/s",
        bw_len * 8 / 1_000_000
    );
    let _ = writeln!(
        t,
        "\noneshot: one-shot calls in new processes, fresh and after unrelated allocations \
         (churned), next to the reused plan; {THREADS} threads, ISA {isa}; ms, medians over \
         {processes} processes per state (first: min–max); repeated and plan: medians of R calls"
    );
    let _ = writeln!(
        t,
        "{:<18} {:<12} {:<8} {:>26} {:>10} {:>10} {:>10} {:>9}",
        "case", "shape", "state", "first (min–max)", "repeated", "plan", "first/plan", "rep/plan"
    );
    let mut records = Vec::new();
    for case in Case::ALL {
        let reps = case.reps(o.quick, o.tiny);
        let mut recs: [Vec<ChildRecord>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..processes {
            for (i, state) in State::ALL.into_iter().enumerate() {
                recs[i].push(spawn_child(case, state, reps, o)?);
            }
        }
        let shape = case.shape(o.tiny);
        let input_bytes = recs[0][0].input_bytes as f64;
        let states: Vec<StateRecord> = recs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let first = Spread::of(r.iter().map(|c| c.first_ms).collect());
                let repeated = Spread::of(r.iter().map(|c| c.repeated_ms).collect());
                let plan = Spread::of(r.iter().map(|c| c.plan_ms).collect());
                let rss: Option<Vec<f64>> = r
                    .iter()
                    .map(|c| c.peak_rss_bytes.map(|b| b as f64 / input_bytes))
                    .collect();
                StateRecord {
                    first_ms: first,
                    repeated_ms: repeated,
                    plan_ms: plan,
                    first_over_plan: first.median / plan.median,
                    repeated_over_plan: repeated.median / plan.median,
                    peak_rss_over_input: if i == 0 {
                        rss.map(|v| Spread::of(v).max)
                    } else {
                        None
                    },
                }
            })
            .collect();
        for (state, s) in State::ALL.iter().zip(&states) {
            let _ = writeln!(
                t,
                "{:<18} {:<12} {:<8} {:>26} {:>10.3} {:>10.3} {:>9.2}x {:>8.2}x",
                if *state == State::Fresh {
                    case.name()
                } else {
                    ""
                },
                if *state == State::Fresh {
                    shape_str(&shape)
                } else {
                    String::new()
                },
                state.name(),
                format!(
                    "{:.3} ({:.3}–{:.3})",
                    s.first_ms.median, s.first_ms.min, s.first_ms.max
                ),
                s.repeated_ms.median,
                s.plan_ms.median,
                s.first_over_plan,
                s.repeated_over_plan
            );
        }
        // Bars: the worst one-shot median over both states, first and repeated.
        let worst_ms = states
            .iter()
            .flat_map(|s| [s.first_ms.median, s.repeated_ms.median])
            .fold(f64::NAN, f64::max);
        let worst_ratio = states
            .iter()
            .flat_map(|s| [s.first_over_plan, s.repeated_over_plan])
            .fold(f64::NAN, f64::max);
        let plan_ms = median(&mut states.iter().map(|s| s.plan_ms.median).collect::<Vec<_>>());
        let mut bars = vec![Bar::at_most(
            "one-shot / plan, every state",
            worst_ratio,
            1.2,
        )];
        let mut two_sweeps_ms = None;
        if case == Case::FitSmall {
            bars.push(Bar::at_most("one-shot ms, every state", worst_ms, 0.25));
        }
        if case.sweep_bar() {
            let sweeps = 2.0 * 2.0 * input_bytes / (bw * 1e9) * 1e3;
            two_sweeps_ms = Some(sweeps);
            let _ = writeln!(
                t,
                "  2 sweeps = {sweeps:.1} ms (2 read+write sweeps of {:.0} MB at {bw:.1} GB/s): \
                 worst one-shot {worst_ms:.1} ms = {:.2}x, plan {plan_ms:.1} ms = {:.2}x (bar ≤ 1.3x)",
                input_bytes / 1e6,
                worst_ms / sweeps,
                plan_ms / sweeps
            );
            bars.push(Bar::at_most(
                "one-shot / 2 sweeps, every state",
                worst_ms / sweeps,
                1.3,
            ));
            bars.push(Bar::at_most("plan / 2 sweeps", plan_ms / sweeps, 1.3));
        }
        if case == Case::FitBig
            && let Some(r) = states[0].peak_rss_over_input
        {
            let _ = writeln!(
                t,
                "  peak RSS after the one-shot calls (fresh, worst process) = {r:.2}x the input (bar ≤ 2.1x)"
            );
            bars.push(Bar::at_most("peak RSS / input", r, 2.1));
        }
        if matches!(case, Case::FitSmall | Case::Prefilter128) {
            let _ = writeln!(
                t,
                "  scipy ratio (bar ≥ {}x): tools/compare_scipy.py --oneshot --ours <--json file>",
                if case == Case::FitSmall { 85 } else { 20 }
            );
        }
        let summary: Vec<String> = bars
            .iter()
            .map(|b| {
                format!(
                    "{} {:.2} (≤ {}) {}",
                    b.name,
                    b.value,
                    b.limit,
                    if b.met { "met" } else { "MISSED" }
                )
            })
            .collect();
        let _ = writeln!(t, "  bars: {}", summary.join("; "));
        let [fresh, churned]: [StateRecord; 2] = states
            .try_into()
            .map_err(|_| "two states expected".to_string())?;
        records.push(CaseRecord {
            case: case.name(),
            shape,
            dtype: case.dtype(),
            input_mb: input_bytes / 1e6,
            threads: THREADS,
            processes,
            reps,
            fresh,
            churned,
            two_sweeps_ms,
            bars,
        });
    }
    print!("{t}");
    if let Some(path) = o.json {
        let report = OneshotReport {
            machine,
            isa: isa.name(),
            bandwidth_gbs: OneshotBandwidth { ram_2t: bw },
            oneshot: records,
        };
        let mut json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
        json.push('\n');
        std::fs::write(path, json).map_err(|e| format!("{path}: {e}"))?;
        println!("wrote {path}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn record() -> ChildRecord {
        ChildRecord {
            case: "fit-small".into(),
            state: "fresh".into(),
            first_ms: 1.5,
            repeated_ms: 0.5,
            plan_ms: 0.25,
            peak_rss_bytes: Some(1 << 20),
            input_bytes: 1 << 19,
        }
    }

    #[test]
    fn child_records_round_trip() {
        let line = serde_json::to_string(&record()).unwrap();
        let out = format!("a warning\n{line}\n");
        let ok = ExitStatus::from_raw(0);
        let r = parse_child(Case::FitSmall, State::Fresh, ok, out.as_bytes(), b"").unwrap();
        assert_eq!(r, record());
    }

    #[test]
    fn child_failures_are_errors() {
        let ok = ExitStatus::from_raw(0);
        // Exit status 1 (wait status 256) with a message on stderr.
        let failed = ExitStatus::from_raw(256);
        let e = parse_child(
            Case::FitBig,
            State::Churned,
            failed,
            b"",
            b"bsfit: out of memory\n",
        )
        .unwrap_err();
        assert!(
            e.contains("fit-big (churned)") && e.contains("out of memory"),
            "{e}"
        );
        // Killed by signal 9.
        let killed = ExitStatus::from_raw(9);
        let e = parse_child(Case::FitBig, State::Fresh, killed, b"", b"").unwrap_err();
        assert!(e.contains("failed"), "{e}");
        let e = parse_child(Case::FitSmall, State::Fresh, ok, b"", b"").unwrap_err();
        assert!(e.contains("printed nothing"), "{e}");
        let e = parse_child(Case::FitSmall, State::Fresh, ok, b"{\"case\":1}\n", b"").unwrap_err();
        assert!(e.contains("printed"), "{e}");
        // A record of another case is not taken for this one.
        let line = serde_json::to_string(&record()).unwrap();
        let e = parse_child(Case::FitSmall, State::Churned, ok, line.as_bytes(), b"").unwrap_err();
        assert!(e.contains("reported"), "{e}");
    }

    #[test]
    fn names_round_trip() {
        for c in Case::ALL {
            assert_eq!(Case::from_name(c.name()), Ok(c));
            assert!(c.shape(true).iter().product::<usize>() < 10_000);
        }
        for s in State::ALL {
            assert_eq!(State::from_name(s.name()), Ok(s));
        }
        assert!(Case::from_name("fit").is_err());
        assert!(State::from_name("warm").is_err());
    }

    #[test]
    fn outputs_must_agree() {
        let c = Case::FitSmall;
        assert!(agree(c, &[1.0, 2.0], &[1.0, 2.0 + 1e-12], 1e-9).is_ok());
        assert!(agree(c, &[1.0, 2.0], &[1.0, 2.1], 1e-9).is_err());
        assert!(agree(c, &[f64::NAN, 2.0], &[1.0, 2.0], 1e-9).is_err());
        assert!(agree(c, &[1.0, f64::NAN], &[1.0, 2.0], 1e-9).is_err());
        assert!(agree(c, &[1.0], &[1.0, 2.0], 1e-9).is_err());
    }

    #[test]
    fn median_and_spread() {
        let s = Spread::of(vec![3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn churn_keeps_a_bounded_scattered_subset() {
        let kept = churn(10);
        assert!(!kept.is_empty());
        assert!(kept.iter().all(|b| b.len() <= 1 << 20));
        let bytes: usize = kept.iter().map(Vec::len).sum();
        assert!(bytes < 8 << 20, "{bytes}");
        // Deterministic.
        let again: Vec<usize> = churn(10).iter().map(Vec::len).collect();
        assert_eq!(again, kept.iter().map(Vec::len).collect::<Vec<_>>());
    }
}
