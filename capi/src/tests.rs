//! Unit tests of the guard, the status mapping and the pointer checks,
//! calling the entry points as C would.

use super::*;
use crate::fitter::*;
use crate::prefilter::*;
use crate::spline::*;
use crate::status::{Error, compact_numbers, guard};
use bsfit_core::FitError;
use std::ffi::CStr;
use std::ptr::{null, null_mut};

fn last_error() -> String {
    // SAFETY: the library returns a NUL-terminated string valid until the
    // next call on this thread.
    unsafe { CStr::from_ptr(bsfit_last_error_message()) }
        .to_str()
        .unwrap()
        .to_string()
}

fn status_name(s: Status) -> String {
    // SAFETY: a static NUL-terminated string.
    unsafe { CStr::from_ptr(bsfit_status_name(s as i32)) }
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_panic_inside_the_guard_comes_back_as_a_status() {
    let s = guard(|| -> Result<(), Error> { panic!("kaboom {}", 42) });
    assert_eq!(s, Status::InternalError);
    let msg = last_error();
    assert!(msg.contains("panic") && msg.contains("kaboom 42"), "{msg}");
    // A `&'static str` payload, and a payload of another type.
    assert_eq!(guard(|| panic!("static")), Status::InternalError);
    assert!(last_error().contains("static"));
    assert_eq!(
        guard(|| std::panic::panic_any(17u8)),
        Status::InternalError,
        "non-string payload"
    );
    // The thread (and the library) remain usable, and success clears the message.
    assert_eq!(guard(|| Ok(())), Status::Ok);
    assert_eq!(last_error(), "");
}

#[test]
fn every_library_error_maps_to_its_own_code_with_its_message() {
    let cases: Vec<(FitError, Status)> = vec![
        (
            FitError::AxisTooShort {
                axis: 1,
                len: 2,
                min: 4,
            },
            Status::AxisTooShort,
        ),
        (
            FitError::NonFiniteSite {
                axis: 0,
                index: 3,
                value: f64::NAN,
            },
            Status::NonFiniteSite,
        ),
        (
            FitError::NonIncreasingSites {
                axis: 2,
                index: 5,
                prev: 1.0,
                value: 0.5,
            },
            Status::NonIncreasingSites,
        ),
        (
            FitError::NonFiniteValue {
                index: vec![1, 2],
                value: f64::INFINITY,
            },
            Status::NonFiniteValue,
        ),
        (
            FitError::ShapeMismatch {
                axis: 0,
                axis_len: 4,
                values_len: 5,
            },
            Status::ShapeMismatch,
        ),
        (
            FitError::DimensionMismatch {
                expected: 3,
                got: 2,
            },
            Status::DimensionMismatch,
        ),
        (
            FitError::SingularMatrix {
                axis: 1,
                row: 2,
                pivot: 1e-300,
            },
            Status::SingularMatrix,
        ),
        (
            FitError::NonFiniteResult {
                axis: 0,
                condition: 3.0,
            },
            Status::NonFiniteResult,
        ),
        (
            FitError::InvalidParameter {
                name: "axis",
                reason: "too big".into(),
            },
            Status::InvalidArgument,
        ),
        (
            FitError::InvalidData("bad knots".into()),
            Status::InvalidData,
        ),
        (
            FitError::InvalidBoundary {
                axis: 0,
                reason: "half periodic".into(),
            },
            Status::InvalidBoundary,
        ),
        (
            FitError::PeriodicMismatch {
                axis: 0,
                index: vec![],
                first: 1.0,
                last: 2.0,
            },
            Status::PeriodicMismatch,
        ),
        (
            FitError::EndValuesShape {
                axis: 0,
                end: "left",
                expected: vec![3],
                got: 2,
            },
            Status::EndValuesShape,
        ),
    ];
    let mut codes = std::collections::HashSet::new();
    for (err, want) in cases {
        let display = err.to_string();
        let got = guard(|| Err(Error::Fit(err)));
        assert_eq!(got, want, "{display}");
        assert_eq!(last_error(), display);
        assert!(codes.insert(got as i32), "duplicate code for {display}");
        assert_eq!(Status::from_code(got as i32), Some(got));
        let name = status_name(got);
        assert!(name.starts_with("BSFIT_STATUS_"), "{name}");
    }
    assert_eq!(codes.len(), 13);
    assert_eq!(
        guard(|| Err(Error::Fit(FitError::OutsideDomain {
            point: Some(3),
            axis: 1,
            value: 7.5,
            lo: 0.0,
            hi: 2.0,
        }))),
        Status::OutsideDomain
    );
    // Library errors no C function can cause are internal errors, not codes
    // of their own.
    assert_eq!(
        guard(|| Err(Error::Fit(FitError::IsaUnavailable { isa: "avx512" }))),
        Status::InternalError
    );
    // Device failures (the `bsfit_gpu_*` functions) have their own code.
    assert_eq!(
        guard(|| Err(Error::Fit(FitError::Gpu("lost".into())))),
        Status::GpuError
    );
    assert_eq!(status_name(Status::GpuError), "BSFIT_STATUS_GPU_ERROR");
    assert_eq!(
        guard(|| Err(Error::Unsupported("no gpu".into()))),
        Status::Unsupported
    );
    assert_eq!(status_name(Status::Unsupported), "BSFIT_STATUS_UNSUPPORTED");
    assert_eq!(Status::Ok as i32, 0);
    assert_eq!(
        status_name(Status::NullPointer),
        "BSFIT_STATUS_NULL_POINTER"
    );
    // SAFETY: static string.
    let unknown = unsafe { CStr::from_ptr(bsfit_status_name(12345)) };
    assert_eq!(unknown.to_str().unwrap(), "BSFIT_STATUS_UNKNOWN");
    assert_eq!(guard(|| Err(Error::Null("spline"))), Status::NullPointer);
    assert!(last_error().contains("`spline`"));
    assert_eq!(
        guard(|| Err(Error::Arg("nope".into()))),
        Status::InvalidArgument
    );
    assert_eq!(last_error(), "nope");
}

/// A 2D grid with f(x, y) = x² y + y³, its axes as C would pass them.
struct Grid {
    x: Vec<f64>,
    y: Vec<f64>,
    values: Vec<f64>,
}

impl Grid {
    fn new() -> Self {
        let x = vec![0.0, 0.5, 1.5, 2.0, 3.5];
        let y = vec![-1.0, 0.0, 0.5, 1.0, 2.0, 2.25];
        let values = x
            .iter()
            .flat_map(|&a| y.iter().map(move |&b| a * a * b + b * b * b))
            .collect();
        Grid { x, y, values }
    }

    fn ptrs(&self) -> ([*const f64; 2], [usize; 2]) {
        (
            [self.x.as_ptr(), self.y.as_ptr()],
            [self.x.len(), self.y.len()],
        )
    }

    fn fit(&self) -> *mut Spline {
        let (p, l) = self.ptrs();
        let mut s = null_mut();
        // SAFETY: the arrays match their lengths.
        let st =
            unsafe { bsfit_spline_fit(2, p.as_ptr(), l.as_ptr(), self.values.as_ptr(), &mut s) };
        assert_eq!(st, Status::Ok, "{}", last_error());
        s
    }
}

#[test]
fn null_pointers_are_reported_not_dereferenced() {
    let g = Grid::new();
    let (p, l) = g.ptrs();
    let mut s = null_mut();
    // SAFETY: for all calls below, every non-NULL pointer is valid for its length.
    unsafe {
        let sites_with_null = [p[0], null()];
        let sp: *mut *mut Spline = &mut s;
        let calls: [(&dyn Fn() -> Status, &str); 5] = [
            (
                &|| bsfit_spline_fit(2, null(), l.as_ptr(), g.values.as_ptr(), sp),
                "sites",
            ),
            (
                &|| bsfit_spline_fit(2, p.as_ptr(), null(), g.values.as_ptr(), sp),
                "lens",
            ),
            (
                &|| bsfit_spline_fit(2, p.as_ptr(), l.as_ptr(), null(), sp),
                "values",
            ),
            (
                &|| bsfit_spline_fit(2, p.as_ptr(), l.as_ptr(), g.values.as_ptr(), null_mut()),
                "out",
            ),
            (
                &|| {
                    bsfit_spline_fit(
                        2,
                        sites_with_null.as_ptr(),
                        l.as_ptr(),
                        g.values.as_ptr(),
                        sp,
                    )
                },
                "sites",
            ),
        ];
        for (call, name) in calls {
            assert_eq!(call(), Status::NullPointer);
            let msg = last_error();
            assert!(msg.contains(&format!("`{name}`")), "{name}: {msg}");
        }
        assert!(s.is_null(), "out written on failure");

        let spline = g.fit();
        let x = [1.0, 0.5];
        let mut v = 0.0;
        assert_eq!(
            bsfit_spline_eval(null(), x.as_ptr(), 2, &mut v),
            Status::NullPointer
        );
        assert_eq!(
            bsfit_spline_eval(spline, null(), 2, &mut v),
            Status::NullPointer
        );
        assert_eq!(
            bsfit_spline_eval(spline, x.as_ptr(), 2, null_mut()),
            Status::NullPointer
        );
        // Misaligned pointers are refused too.
        let bytes = [0u8; 24];
        let odd = bytes.as_ptr().wrapping_add(1).cast::<f64>();
        assert_eq!(
            bsfit_spline_eval(spline, odd, 2, &mut v),
            Status::MisalignedPointer
        );
        assert!(
            last_error().contains("`x` is not aligned"),
            "{}",
            last_error()
        );
        let mut f = null_mut();
        assert_eq!(
            bsfit_fitter_new(2, p.as_ptr(), l.as_ptr(), null_mut()),
            Status::NullPointer
        );
        assert_eq!(
            bsfit_fitter_refit(null_mut(), g.values.as_ptr(), 30, null_mut(), 30),
            Status::NullPointer
        );
        assert_eq!(
            bsfit_fitter_new(2, p.as_ptr(), l.as_ptr(), &mut f),
            Status::Ok
        );
        let mut coefs = vec![0.0; 30];
        assert_eq!(
            bsfit_fitter_refit(f, null(), 30, coefs.as_mut_ptr(), 30),
            Status::NullPointer
        );
        assert_eq!(
            bsfit_fitter_refit(f, g.values.as_ptr(), 30, null_mut(), 30),
            Status::NullPointer
        );
        let b = [Boundary::Periodic; 3];
        assert_eq!(
            bsfit_prefilter3d_f64(null(), 1, 1, 1, b.as_ptr(), coefs.as_mut_ptr(), 1),
            Status::NullPointer
        );
        assert_eq!(
            bsfit_prefilter3d_f64(
                coefs.as_ptr(),
                1,
                1,
                1,
                null(),
                coefs.as_mut_ptr().add(1),
                1
            ),
            Status::NullPointer
        );
        // Free functions accept NULL.
        bsfit_spline_free(null_mut());
        bsfit_fitter_free(null_mut());
        bsfit_spline_free(spline);
        bsfit_fitter_free(f);
    }
}

#[test]
fn bad_dimensions_and_overflowing_sizes_are_invalid_arguments() {
    let g = Grid::new();
    let (p, l) = g.ptrs();
    let mut s = null_mut();
    // SAFETY: for all calls below, every array the call reads is valid for the
    // length it reads; the overflow checks run before any per-axis array is read.
    unsafe {
        for ndim in [0, 7, usize::MAX] {
            assert_eq!(
                bsfit_spline_fit(ndim, p.as_ptr(), l.as_ptr(), g.values.as_ptr(), &mut s),
                Status::InvalidArgument
            );
            assert!(last_error().contains("ndim"));
        }
        // The grid size overflows size_t: caught before any site is read.
        let big = [usize::MAX / 2, 3];
        assert_eq!(
            bsfit_spline_fit(2, p.as_ptr(), big.as_ptr(), g.values.as_ptr(), &mut s),
            Status::InvalidArgument
        );
        assert!(last_error().contains("overflows"), "{}", last_error());
        let mut out = [0.0f64; 1];
        let b = [Boundary::Zero; 3];
        assert_eq!(
            bsfit_prefilter3d_f64(
                out.as_ptr(),
                usize::MAX,
                2,
                1,
                b.as_ptr(),
                out.as_mut_ptr(),
                1
            ),
            Status::InvalidArgument
        );
        // An unknown boundary code (read as an integer, never as an enum).
        let codes = [0u32, 7, 1];
        let vals = [1.0f64; 8];
        let mut outv = [0.0f64; 8];
        assert_eq!(
            bsfit_prefilter3d_f64(
                vals.as_ptr(),
                2,
                2,
                2,
                codes.as_ptr().cast(),
                outv.as_mut_ptr(),
                8
            ),
            Status::InvalidArgument
        );
        assert!(last_error().contains("boundary[1] = 7"), "{}", last_error());
        // The prefilter's output is NaN after any failure.
        assert!(outv.iter().all(|v| v.is_nan()), "{outv:?}");
        assert!(s.is_null());

        // Points of the wrong dimension, and n * ndim overflowing.
        let spline = g.fit();
        let x = [1.0, 0.5, 0.0];
        let mut v = -1.0;
        assert_eq!(
            bsfit_spline_eval(spline, x.as_ptr(), 3, &mut v),
            Status::DimensionMismatch
        );
        assert_eq!(v, -1.0, "written on failure");
        let mut many = [0.0; 2];
        assert_eq!(
            bsfit_spline_eval_many(
                spline,
                x.as_ptr(),
                usize::MAX,
                2,
                null(),
                true,
                many.as_mut_ptr(),
                2
            ),
            Status::InvalidArgument
        );
        // A buffer too short.
        assert_eq!(
            bsfit_spline_eval_many(spline, x.as_ptr(), 1, 2, null(), true, many.as_mut_ptr(), 0),
            Status::BufferTooSmall
        );
        assert_eq!(
            bsfit_spline_grad(spline, x.as_ptr(), 2, many.as_mut_ptr(), 1),
            Status::BufferTooSmall
        );
        assert_eq!(last_error(), "`out` holds 1 elements; 2 are needed");
        bsfit_spline_free(spline);
    }
}

#[test]
fn the_c_calls_reproduce_a_tensor_product_cubic() {
    let g = Grid::new();
    let f = |x: f64, y: f64| x * x * y + y * y * y;
    // SAFETY: for all calls below, every pointer is valid for its length.
    unsafe {
        let spline = g.fit();
        let mut nd = 0;
        assert_eq!(bsfit_spline_ndim(spline, &mut nd), Status::Ok);
        assert_eq!(nd, 2);
        let pts = [0.3, 1.7, 2.9, -0.4, 1.0, 1.0];
        let mut out = [0.0; 3];
        assert_eq!(
            bsfit_spline_eval_many(
                spline,
                pts.as_ptr(),
                3,
                2,
                null(),
                false,
                out.as_mut_ptr(),
                3
            ),
            Status::Ok
        );
        for (i, o) in out.iter().enumerate() {
            let want = f(pts[2 * i], pts[2 * i + 1]);
            assert!((o - want).abs() < 1e-12, "{o} vs {want}");
        }
        // ∂²f/∂x∂y = 2x; Hessian [[2y, 2x], [2x, 6y]].
        let x = [1.2, 0.7];
        let mut h = [0.0; 4];
        assert_eq!(
            bsfit_spline_hessian(spline, x.as_ptr(), 2, h.as_mut_ptr(), 4),
            Status::Ok
        );
        let want = [1.4, 2.4, 2.4, 4.2];
        for k in 0..4 {
            assert!((h[k] - want[k]).abs() < 1e-11, "{h:?}");
        }
        // Refit through a fitter gives the same coefficients.
        let (p, l) = g.ptrs();
        let mut fit = null_mut();
        assert_eq!(
            bsfit_fitter_new(2, p.as_ptr(), l.as_ptr(), &mut fit),
            Status::Ok
        );
        let mut c1 = vec![0.0; 30];
        let mut c2 = vec![0.0; 30];
        assert_eq!(
            bsfit_fitter_refit(fit, g.values.as_ptr(), 30, c1.as_mut_ptr(), 30),
            Status::Ok
        );
        assert_eq!(bsfit_spline_coefs(spline, c2.as_mut_ptr(), 30), Status::Ok);
        assert_eq!(c1, c2);
        // A NaN value: the status says so and the buffer holds NaN, not half a solve.
        let mut bad = g.values.clone();
        bad[7] = f64::NAN;
        assert_eq!(
            bsfit_fitter_refit(fit, bad.as_ptr(), 30, c1.as_mut_ptr(), 30),
            Status::NonFiniteValue
        );
        assert!(last_error().contains("[1, 1]"), "{}", last_error());
        assert!(c1.iter().all(|c| c.is_nan()));
        bsfit_fitter_free(fit);
        bsfit_spline_free(spline);
    }
}

/// Counts the heap allocations made by the current thread (the test binary's
/// global allocator; other test threads do not disturb the count).
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static COUNT: Cell<usize> = const { Cell::new(0) };
    }

    pub struct Counting;

    // SAFETY: forwards to the system allocator; only counts.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
            // SAFETY: the caller's contract is passed on unchanged.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the caller's contract is passed on unchanged.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
            // SAFETY: the caller's contract is passed on unchanged.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    /// Allocations made by this thread so far.
    pub fn count() -> usize {
        COUNT.with(|c| c.get())
    }
}

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

#[test]
fn refits_through_the_c_api_allocate_nothing() {
    // 12 × 10 × 8 × 6 = 5760 points: below the parallel threshold, so the
    // whole refit runs on this thread and every allocation would be counted.
    let axes: Vec<Vec<f64>> = [12usize, 10, 8, 6]
        .iter()
        .map(|&n| (0..n).map(|i| (i as f64).powf(1.3)).collect())
        .collect();
    let ptrs: Vec<*const f64> = axes.iter().map(|a| a.as_ptr()).collect();
    let lens: Vec<usize> = axes.iter().map(|a| a.len()).collect();
    let total: usize = lens.iter().product();
    let values: Vec<f64> = (0..total).map(|i| (i as f64 * 0.37).sin()).collect();
    let mut coefs = vec![0.0; total];
    let mut f = null_mut();
    // SAFETY: for all calls below, every pointer is valid for its length.
    unsafe {
        assert_eq!(
            bsfit_fitter_new(4, ptrs.as_ptr(), lens.as_ptr(), &mut f),
            Status::Ok
        );
        let (fp, vp) = (f, values.as_ptr());
        let refit = move |c: &mut [f64]| bsfit_fitter_refit(fp, vp, total, c.as_mut_ptr(), c.len());
        assert_eq!(refit(&mut coefs), Status::Ok);
        let before = counting::count();
        for _ in 0..20 {
            assert_eq!(refit(&mut coefs), Status::Ok);
        }
        let allocs = counting::count() - before;
        assert_eq!(allocs, 0, "{allocs} allocations in 20 refits");
        // The count does see allocations: a failing call formats its message.
        let before = counting::count();
        assert_eq!(refit(&mut coefs[..1]), Status::BufferTooSmall);
        assert!(counting::count() > before);
        bsfit_fitter_free(f);
    }
}

#[test]
fn sequential_refits_of_large_grids_stay_on_the_calling_thread_and_allocate_nothing() {
    // 40 × 30 × 20 = 24,000 points: above the parallel threshold, so a fitter
    // with one thread is what keeps the refit on this thread.
    let axes: Vec<Vec<f64>> = [40usize, 30, 20]
        .iter()
        .map(|&n| (0..n).map(|i| (i as f64).powf(1.2)).collect())
        .collect();
    let ptrs: Vec<*const f64> = axes.iter().map(|a| a.as_ptr()).collect();
    let lens: Vec<usize> = axes.iter().map(|a| a.len()).collect();
    let total: usize = lens.iter().product();
    let values: Vec<f64> = (0..total).map(|i| (i as f64 * 0.11).cos()).collect();
    let mut coefs = vec![0.0; total];
    let mut f = null_mut();
    // SAFETY: for all calls below, every pointer is valid for its length.
    unsafe {
        assert_eq!(
            bsfit_fitter_new(3, ptrs.as_ptr(), lens.as_ptr(), &mut f),
            Status::Ok
        );
        assert_eq!(bsfit_fitter_set_threads(f, 1), Status::Ok);
        let mut t = 9;
        assert_eq!(bsfit_fitter_get_threads(f, &mut t), Status::Ok);
        assert_eq!(t, 1);
        let refit =
            |c: &mut [f64]| bsfit_fitter_refit(f, values.as_ptr(), total, c.as_mut_ptr(), c.len());
        // The first refit after the change re-sizes the scratch.
        assert_eq!(refit(&mut coefs), Status::Ok);
        let first = coefs.clone();
        let before = counting::count();
        for _ in 0..10 {
            assert_eq!(refit(&mut coefs), Status::Ok);
        }
        assert_eq!(counting::count() - before, 0);
        // The same coefficients as a parallel refit.
        assert_eq!(bsfit_fitter_set_threads(f, 3), Status::Ok);
        assert_eq!(refit(&mut coefs), Status::Ok);
        assert_eq!(coefs, first);
        assert_eq!(bsfit_fitter_set_threads(f, 5000), Status::InvalidArgument);
        bsfit_fitter_free(f);
    }
}

#[test]
fn long_numbers_in_messages_are_written_in_exponent_form() {
    let huge = format!("x = {} and y = {} at [1, 2]", 1e308, -1e-300);
    assert!(huge.len() > 600);
    assert_eq!(
        compact_numbers(&huge),
        "x = 1e308 and y = -1e-300 at [1, 2]"
    );
    // Numbers Display prints in at most 21 characters stay as they are.
    for msg in [
        "x[3] = 0.5",
        "0.30000000000000004",
        "1.5e-7",
        "123456789012345680000",
    ] {
        assert_eq!(compact_numbers(msg), msg);
    }
    assert_eq!(compact_numbers("é 1000000000000000000000000 ü"), "é 1e24 ü");
}

#[test]
fn sites_whose_extent_overflows_are_an_invalid_argument_with_a_short_message() {
    let x = [-1e308, -5e307, 0.0, 5e307, 1e308];
    let v = [1.0, 2.0, 3.0, 4.0, 5.0];
    let p = [x.as_ptr()];
    let mut s = null_mut();
    // SAFETY: the arrays match their lengths.
    let st = unsafe { bsfit_spline_fit(1, p.as_ptr(), [5].as_ptr(), v.as_ptr(), &mut s) };
    assert_eq!(st, Status::InvalidArgument);
    let msg = last_error();
    assert!(msg.len() < 150 && msg.contains("1e308"), "{msg}");
}

#[test]
fn panics_write_nothing_to_stderr() {
    if std::env::var_os("BSFIT_CAPI_PANIC_CHILD").is_some() {
        // In the child: a panic on this thread and one on a pool worker.
        assert_eq!(bsfit_debug_panic(0), Status::InternalError);
        let msg = last_error();
        assert!(
            msg.contains("deliberate panic") && msg.contains("lib.rs:"),
            "{msg}"
        );
        assert_eq!(bsfit_debug_panic(1), Status::InternalError);
        assert!(last_error().contains("on a worker"), "{}", last_error());
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tests::panics_write_nothing_to_stderr",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("BSFIT_CAPI_PANIC_CHILD", "1")
        .env("RUST_BACKTRACE", "full")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}"
    );
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The statuses listed in the "Errors" paragraph of each function's comment
/// in the generated header (following "as `bsfit_...`" references).
fn listed_statuses(header: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    use std::collections::BTreeMap;
    let mut direct: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    let mut doc = String::new();
    for line in header.lines() {
        let t = line.trim();
        if t.starts_with("/**") {
            doc.clear();
        } else if let Some(rest) = t.strip_prefix('*') {
            doc.push_str(rest.trim_start_matches('/'));
            doc.push('\n');
        } else if let Some(paren) = t.find('(')
            && (t.starts_with("bsfit_status ")
                || t.starts_with("void ")
                || t.starts_with("const char"))
        {
            // The declared name: the word before the parenthesis.
            let name = t[..paren]
                .rsplit([' ', '*'])
                .next()
                .unwrap_or("")
                .to_string();
            // The paragraph that starts with "Errors".
            let mut statuses = Vec::new();
            let mut refs = Vec::new();
            if let Some(start) = doc.find("Errors") {
                let para = doc[start..].split("\n \n").next().unwrap_or("");
                let para = para.split("\n\n").next().unwrap_or(para);
                for (i, _) in para.match_indices("BSFIT_STATUS_") {
                    let code: String = para[i..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect();
                    statuses.push(code);
                }
                for (i, _) in para.match_indices("as `bsfit_") {
                    let f: String = para[i + 4..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    refs.push(f);
                }
            }
            direct.insert(name, (statuses, refs));
            doc.clear();
        }
    }
    let mut out = BTreeMap::new();
    for (name, (statuses, refs)) in &direct {
        let mut all = statuses.clone();
        for r in refs {
            all.extend(direct.get(r).map(|d| d.0.clone()).unwrap_or_default());
        }
        all.sort();
        all.dedup();
        out.insert(name.clone(), all);
    }
    out
}

/// `(function, status)` for every `EXPECT(bsfit_f(...), BSFIT_STATUS_X)` (and
/// the tests' other expectation macros) in a C test.
fn tested_statuses(src: &str) -> std::collections::BTreeSet<(String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for mac in ["EXPECT(", "NAN_AFTER(", "EXPECT_NAN_OUT("] {
        for (i, _) in src.match_indices(mac) {
            // The macro's arguments: up to the matching parenthesis.
            let body = &src[i + mac.len()..];
            let mut depth = 1;
            let end = body
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(body.len(), |(k, _)| k);
            let args = &body[..end];
            let Some(f) = args.trim_start().strip_prefix("bsfit_") else {
                continue;
            };
            let f: String = f
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if let Some(k) = args.rfind("BSFIT_STATUS_") {
                let code: String = args[k..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                    .collect();
                out.insert((format!("bsfit_{f}"), code));
            }
        }
    }
    out
}

#[test]
fn the_c_tests_cover_every_status_the_header_lists() {
    let header = include_str!("../../include/bsfit.h");
    let listed = listed_statuses(header);
    assert!(listed.len() >= 45, "{} functions parsed", listed.len());
    let mut tested = tested_statuses(include_str!("../tests/test_capi.c"));
    tested.extend(tested_statuses(include_str!("../tests/test_contract.c")));
    tested.extend(tested_statuses(include_str!("../tests/test_sensitivity.c")));
    tested.extend(tested_statuses(include_str!("../tests/test_gpu.c")));
    tested.extend(tested_statuses(include_str!("../tests/test_degrees.c")));
    let mut missing = Vec::new();
    for (f, statuses) in &listed {
        for s in statuses {
            if s == "BSFIT_STATUS_OK" || s == "BSFIT_STATUS_INTERNAL_ERROR" {
                continue;
            }
            if !tested.contains(&(f.clone(), s.clone())) {
                missing.push(format!("{f}: {s}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "listed but never tested:\n{}",
        missing.join("\n")
    );
    // And the C tests expect no status that a function does not list.
    let unlisted: Vec<_> = tested
        .iter()
        .filter(|(f, s)| {
            s != "BSFIT_STATUS_OK"
                && s != "BSFIT_STATUS_INTERNAL_ERROR"
                && listed.get(f).is_some_and(|l| !l.contains(s))
        })
        .collect();
    assert!(unlisted.is_empty(), "tested but not listed: {unlisted:?}");
}
