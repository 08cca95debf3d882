//! Where the C calls run: the library's own thread pools, the thread-count
//! settings, the fork gate and the silent panic hook.
//!
//! **Pools.** Work that may run in parallel (fits, batch evaluation, the
//! prefilter) runs inside a rayon pool this crate owns, through
//! [`install`]: never on rayon's global pool, which cannot be rebuilt and
//! whose threads do not exist in a `fork()`ed child. A call with `n > 1`
//! threads runs on the shared pool of `n` threads (kept per process, looked
//! up by the process id: a child builds its own); a call with one thread
//! runs on a one-worker pool of the calling thread's own (dropped when the
//! thread exits), so sequential callers on many threads do not queue behind
//! each other. Calls that are known to stay on one thread (a refit with one
//! worker) skip the pool entirely.
//!
//! **Fork.** Entry points that may take a lock (the pools', the library's
//! caches) run under [`enter`]: a `pthread_atfork` handler waits until no
//! such call is in flight before the process forks and holds new ones until
//! it has, so the child never inherits a lock held by a thread that does not
//! exist there.
//!
//! **Silence.** A panic inside a call must not print: [`quiet`] marks the
//! calling thread (and every pool worker is marked for good), and the
//! process-wide panic hook installed on the first call stays silent on
//! marked threads, recording only where the panic happened; elsewhere it
//! defers to the hook it replaced.
//!
//! A new entry point that may run in parallel is written as
//! `gated(|| { ...; exec::install(threads, || work())? })`.

use crate::status::Error;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};

/// Most threads a setting may ask for.
pub(crate) const MAX_THREADS: usize = 1024;

/// Shared pools kept at once (one per thread count in use).
const MAX_POOLS: usize = 4;

/// The process-wide setting of `bsfit_set_threads` (0: the default).
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Checks a thread-count argument (0 to [`MAX_THREADS`]).
pub(crate) fn check_threads(n: usize) -> Result<(), Error> {
    if n > MAX_THREADS {
        return Err(Error::Arg(format!(
            "threads = {n}; at most {MAX_THREADS} are supported (0: the default)"
        )));
    }
    Ok(())
}

/// Sets the process-wide thread count (0: the default).
pub(crate) fn set_global(n: usize) -> Result<(), Error> {
    check_threads(n)?;
    THREADS.store(n, Ordering::Relaxed);
    Ok(())
}

/// The default thread count: `RAYON_NUM_THREADS` if it is a positive
/// number, else the number of CPUs the process may use (read once).
fn default_threads() -> usize {
    static DEFAULT: OnceLock<usize> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .min(MAX_THREADS)
    })
}

/// The thread count a call runs with: the handle's setting `handle` if not
/// 0, else the process-wide one, else the default.
pub(crate) fn resolve(handle: usize) -> usize {
    let n = if handle != 0 {
        handle
    } else {
        THREADS.load(Ordering::Relaxed)
    };
    if n != 0 { n } else { default_threads() }
}

/// The shared pools of one process. A child process starts a new set (its
/// parent's pools have no threads there, and their lock may be held): the
/// old set stays reachable through `parent` and is never touched again.
struct Pools {
    pid: u32,
    list: Mutex<Vec<(usize, Arc<ThreadPool>)>>,
    /// One-worker pools of threads that forked: inherited, never used, never dropped.
    orphans: Mutex<Vec<ThreadPool>>,
    /// Address of the parent's set, which keeps it reachable for leak checkers.
    #[allow(dead_code)]
    parent: usize,
}

/// The current process's pools (null until the first parallel call).
static POOLS: AtomicPtr<Pools> = AtomicPtr::new(std::ptr::null_mut());

/// This process's pools, created on first use (and again in a child).
fn pools() -> &'static Pools {
    let pid = std::process::id();
    loop {
        let cur = POOLS.load(Ordering::Acquire);
        // SAFETY: every pointer stored in POOLS comes from `Box::into_raw` and
        // is never freed, so it is valid for the rest of the process.
        if let Some(p) = unsafe { cur.as_ref() }
            && p.pid == pid
        {
            return p;
        }
        let fresh = Box::into_raw(Box::new(Pools {
            pid,
            list: Mutex::new(Vec::new()),
            orphans: Mutex::new(Vec::new()),
            parent: cur as usize,
        }));
        match POOLS.compare_exchange(cur, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: just created above and now published; never freed.
            Ok(_) => return unsafe { &*fresh },
            // Another thread of this process installed one first: use it.
            // SAFETY: `fresh` was never published, so this is its only owner.
            Err(_) => drop(unsafe { Box::from_raw(fresh) }),
        }
    }
}

/// A pool of `n` threads whose workers are silent ([`quiet`] for good).
fn build(n: usize) -> Result<ThreadPool, Error> {
    ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("bsfit-{i}"))
        .start_handler(|_| {
            let _ = QUIET.try_with(|q| q.set(true));
        })
        .build()
        .map_err(|e| Error::Threads(format!("cannot start a pool of {n} threads: {e}")))
}

/// The shared pool of `n` threads of this process.
fn shared(n: usize) -> Result<Arc<ThreadPool>, Error> {
    let p = pools();
    let mut list = p.list.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, pool)) = list.iter().find(|(k, _)| *k == n) {
        return Ok(Arc::clone(pool));
    }
    let pool = Arc::new(build(n)?);
    if list.len() >= MAX_POOLS {
        // Its threads end once the calls still using it have returned.
        list.remove(0);
    }
    list.push((n, Arc::clone(&pool)));
    Ok(pool)
}

thread_local! {
    /// This thread's one-worker pool, with the process id it was built in.
    static SOLO: RefCell<Option<(u32, ThreadPool)>> = const { RefCell::new(None) };
}

/// Runs `op` on the calling thread's one-worker pool.
fn solo<R: Send>(op: impl FnOnce() -> R + Send) -> Result<R, Error> {
    let pid = std::process::id();
    SOLO.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some((owner, _)) = slot.as_ref()
            && *owner != pid
        {
            // Inherited through fork: its worker does not exist here.
            if let Some((_, old)) = slot.take() {
                pools()
                    .orphans
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(old);
            }
        }
        if slot.is_none() {
            *slot = Some((pid, build(1)?));
        }
        let (_, pool) = slot.as_ref().expect("set above");
        Ok(pool.install(op))
    })
}

/// Runs `op` inside the library's pool for `threads` (a handle's setting;
/// see [`resolve`]): rayon work inside it uses that many threads.
pub(crate) fn install<R: Send>(threads: usize, op: impl FnOnce() -> R + Send) -> Result<R, Error> {
    let n = resolve(threads);
    if n <= 1 {
        solo(op)
    } else {
        Ok(shared(n)?.install(op))
    }
}

// ---------------------------------------------------------------------------
// The fork gate
// ---------------------------------------------------------------------------

/// Set while a `fork()` is being prepared.
const FORKING: usize = 1 << (usize::BITS - 1);

/// Calls in flight (low bits) and [`FORKING`].
static GATE: AtomicUsize = AtomicUsize::new(0);

/// Registers the `pthread_atfork` handlers once.
static ATFORK: Once = Once::new();

/// A call in flight; leaving drops it.
pub(crate) struct Pass(());

impl Drop for Pass {
    fn drop(&mut self) {
        GATE.fetch_sub(1, Ordering::Release);
    }
}

/// Enters a gated call: waits while a fork is being prepared.
pub(crate) fn enter() -> Pass {
    ATFORK.call_once(register_atfork);
    loop {
        let s = GATE.load(Ordering::Acquire);
        if s & FORKING == 0 {
            if GATE
                .compare_exchange_weak(s, s + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return Pass(());
            }
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Before `fork()`: stop new gated calls and wait for those in flight.
extern "C" fn before_fork() {
    GATE.fetch_or(FORKING, Ordering::AcqRel);
    while GATE.load(Ordering::Acquire) & !FORKING != 0 {
        std::thread::yield_now();
    }
}

/// After `fork()`, in the parent: let calls proceed.
extern "C" fn after_fork_parent() {
    GATE.fetch_and(!FORKING, Ordering::Release);
}

/// After `fork()`, in the child: no call is in flight (only the forking
/// thread exists, and it was not inside one).
extern "C" fn after_fork_child() {
    GATE.store(0, Ordering::Release);
}

fn register_atfork() {
    #[cfg(unix)]
    // SAFETY: registers three `extern "C"` functions that live as long as the
    // library; they only touch atomics and yield.
    unsafe {
        libc::pthread_atfork(
            Some(before_fork),
            Some(after_fork_parent),
            Some(after_fork_child),
        );
    }
}

// ---------------------------------------------------------------------------
// Silence
// ---------------------------------------------------------------------------

thread_local! {
    /// Whether a panic on this thread belongs to the library (inside a call,
    /// or on a pool worker): the hook then prints nothing.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Where the last quiet panic on this thread happened.
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the panic hook once per process.
static HOOK: Once = Once::new();

fn install_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if QUIET.try_with(Cell::get).unwrap_or(false) {
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()));
            let _ = PANIC_AT.try_with(|p| {
                if let Ok(mut p) = p.try_borrow_mut() {
                    *p = at;
                }
            });
        } else {
            previous(info);
        }
    }));
}

/// Runs `f` with this thread marked quiet (a panic inside prints nothing).
pub(crate) fn quiet<R>(f: impl FnOnce() -> R) -> R {
    HOOK.call_once(install_hook);
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = QUIET.try_with(|q| q.set(self.0));
        }
    }
    let _restore = Restore(QUIET.try_with(|q| q.replace(true)).unwrap_or(false));
    f()
}

/// Where the last quiet panic on this thread happened (`file:line`), taken.
pub(crate) fn take_panic_location() -> Option<String> {
    PANIC_AT
        .try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.take()))
        .ok()
        .flatten()
}
