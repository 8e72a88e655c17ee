//! Thread-count control for the kernels.
//!
//! One thread runs the kernel on the calling thread and never touches rayon
//! (no queueing, no wake-ups). More threads split the output rows into
//! contiguous parts that the calling thread and `threads - 1` helpers
//! claim one at a time from an atomic counter: nobody waits for a fixed
//! share, so a helper that joins late just ends up doing fewer parts. The
//! calling thread spins (instead of sleeping) until the helpers' last parts
//! are done. Helpers are rayon tasks that stay awake for a while after a
//! call and join the next one directly (`hot`); pools are built once per
//! thread count and cached for the life of the process, so a benchmark
//! comparing 1 and 2 threads measures the kernels, not pool setup.

mod hot;

use super::KernelError;
use hot::Job;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// How many threads a kernel call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parallelism {
    pub threads: usize,
}

impl Parallelism {
    pub const fn single() -> Self {
        Parallelism { threads: 1 }
    }

    pub const fn threads(threads: usize) -> Self {
        Parallelism { threads }
    }

    /// One thread per available core.
    pub fn all_cores() -> Self {
        Parallelism {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl Default for Parallelism {
    fn default() -> Self {
        Self::single()
    }
}

fn pool(threads: usize) -> Result<&'static ThreadPool, KernelError> {
    /// Thread counts up to this find their pool with one atomic load: a
    /// lock and a hash lookup cost some 50 ns of a ~5 us parallel GEMV.
    const FAST: usize = 32;
    static FAST_POOLS: [OnceLock<&'static ThreadPool>; FAST + 1] =
        [const { OnceLock::new() }; FAST + 1];
    static POOLS: OnceLock<Mutex<HashMap<usize, &'static ThreadPool>>> = OnceLock::new();
    if let Some(p) = FAST_POOLS.get(threads).and_then(OnceLock::get) {
        return Ok(p);
    }
    let pools = POOLS.get_or_init(Default::default);
    let mut pools = pools.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&threads) {
        return Ok(p);
    }
    let p = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("bitnet-kernel-{threads}-{i}"))
        .build()
        .map_err(|e| KernelError::ThreadPool {
            threads,
            reason: e.to_string(),
        })?;
    // Pools live as long as the process (module docs).
    let p: &'static ThreadPool = Box::leak(Box::new(p));
    pools.insert(threads, p);
    if let Some(slot) = FAST_POOLS.get(threads) {
        // Only this thread, holding the lock, fills slot `threads`.
        let _ = slot.set(p);
    }
    Ok(p)
}

/// Splits `0..rows` into parts (boundaries aligned to `align`) and runs `f`
/// on each: on the calling thread alone for one thread, else shared with the
/// cached pool's helpers. `parts_per_thread` > 1 lets the threads balance
/// uneven progress.
pub(crate) fn for_row_ranges<F>(
    par: Parallelism,
    rows: usize,
    align: usize,
    parts_per_thread: usize,
    f: F,
) -> Result<(), KernelError>
where
    F: Fn(usize, usize) + Sync,
{
    for_parts(par, rows, align, parts_per_thread, |_, r0, r1| f(r0, r1))
}

/// How many parts [`for_parts`] splits `rows` into (at least 1).
pub(crate) fn part_count(
    par: Parallelism,
    rows: usize,
    align: usize,
    parts_per_thread: usize,
) -> usize {
    if par.threads <= 1 {
        return 1;
    }
    (par.threads * parts_per_thread.max(1))
        .min(rows.div_ceil(align))
        .max(1)
}

/// [`for_row_ranges`], with each part's index (`0..part_count(..)`, in row
/// order) passed to `f` first: parts can keep results apart without a lock.
pub(crate) fn for_parts<F>(
    par: Parallelism,
    rows: usize,
    align: usize,
    parts_per_thread: usize,
    f: F,
) -> Result<(), KernelError>
where
    F: Fn(usize, usize, usize) + Sync,
{
    if par.threads == 0 {
        return Err(KernelError::shape(
            "parallelism",
            "thread count must be at least 1",
        ));
    }
    let parts = part_count(par, rows, align, parts_per_thread);
    if parts <= 1 {
        f(0, 0, rows);
        return Ok(());
    }
    let parts = Parts { rows, align, parts };
    let pool = pool(par.threads)?;
    let helpers = par.threads - 1;
    let job = Job::new(&f, parts, helpers);
    if !hot::run(&job, helpers, pool) {
        // Another call owns the awake helpers: a scope of fresh ones.
        pool.in_place_scope(|s| {
            for seat in 1..=helpers {
                let job = &job;
                s.spawn(move |_| job.claim(seat));
            }
            job.claim(0);
        });
        job.check();
    }
    Ok(())
}

/// `parts` contiguous ranges covering `0..rows`, boundaries multiples of
/// `align`, sizes as equal as that allows; each range is computed when it
/// is claimed, so a call allocates nothing for them. With `parts` at most
/// `rows.div_ceil(align)` (as [`part_count`] returns) none is empty.
#[derive(Debug, Clone, Copy)]
pub(super) struct Parts {
    rows: usize,
    align: usize,
    parts: usize,
}

impl Parts {
    pub(super) fn len(&self) -> usize {
        self.parts
    }

    pub(super) fn range(&self, p: usize) -> (usize, usize) {
        let units = self.rows.div_ceil(self.align);
        let at = |p: usize| (units * p / self.parts * self.align).min(self.rows);
        (at(p), at(p + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn split_covers_rows_with_aligned_starts() {
        for rows in [1, 3, 4, 5, 17, 640, 2561] {
            for parts in 1..6 {
                let p = Parts {
                    rows,
                    align: 4,
                    parts: parts.min(rows.div_ceil(4)),
                };
                let r: Vec<_> = (0..p.len()).map(|i| p.range(i)).collect();
                assert!(r.iter().all(|(a, b)| a < b));
                assert_eq!(r.first().unwrap().0, 0);
                assert_eq!(r.last().unwrap().1, rows);
                for w in r.windows(2) {
                    assert_eq!(w[0].1, w[1].0);
                    assert_eq!(w[1].0 % 4, 0);
                }
            }
        }
    }

    #[test]
    fn every_row_runs_once_for_any_thread_count() {
        // Up to 6 threads: more blocks than the job holds inline.
        for threads in 1..7 {
            let hits: Vec<AtomicUsize> = (0..101).map(|_| AtomicUsize::new(0)).collect();
            for_row_ranges(Parallelism::threads(threads), 101, 4, 3, |a, b| {
                for h in &hits[a..b] {
                    h.fetch_add(1, Ordering::Relaxed);
                }
            })
            .unwrap();
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
        assert!(for_row_ranges(Parallelism::threads(0), 4, 4, 1, |_, _| {}).is_err());
    }

    #[test]
    fn set_aside_parts_run_once_with_empty_blocks_and_absent_helpers() {
        // Fewer parts than threads leaves blocks (and their set-aside
        // parts) empty; with more threads than this machine's cores, some
        // seats go untaken and the caller runs their set-aside parts.
        for threads in 2..9 {
            for rows in [5, 8, 12, 29] {
                for _ in 0..50 {
                    let runs: Vec<AtomicUsize> = (0..rows).map(|_| AtomicUsize::new(0)).collect();
                    for_parts(Parallelism::threads(threads), rows, 4, 1, |p, a, b| {
                        assert_eq!(a % 4, 0, "part {p} starts off the alignment");
                        for r in &runs[a..b] {
                            r.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                    .unwrap();
                    assert!(
                        runs.iter().all(|r| r.load(Ordering::Relaxed) == 1),
                        "{threads} threads, {rows} rows"
                    );
                }
            }
        }
    }

    #[test]
    fn concurrent_callers_each_run_every_row_once() {
        // Two callers contend for the awake helpers: one publishes, the
        // other takes the scope path; both must see every row once.
        let callers: Vec<_> = (0..2)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..300 {
                        let hits: Vec<AtomicUsize> = (0..67).map(|_| AtomicUsize::new(0)).collect();
                        for_row_ranges(Parallelism::threads(2), 67, 1, 4, |a, b| {
                            for h in &hits[a..b] {
                                h.fetch_add(1, Ordering::Relaxed);
                            }
                        })
                        .unwrap();
                        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
                    }
                })
            })
            .collect();
        for c in callers {
            c.join().unwrap();
        }
    }

    #[test]
    fn a_panicking_part_reaches_the_caller_and_frees_the_helpers() {
        for _ in 0..20 {
            let r = std::panic::catch_unwind(|| {
                for_row_ranges(Parallelism::threads(2), 64, 1, 4, |a, _| {
                    assert!(a != 32, "part at row 32 fails");
                })
            });
            assert!(r.is_err());
            // The next call still runs (the slot was released).
            let n = AtomicUsize::new(0);
            for_row_ranges(Parallelism::threads(2), 64, 1, 4, |a, b| {
                n.fetch_add(b - a, Ordering::Relaxed);
            })
            .unwrap();
            assert_eq!(n.load(Ordering::Relaxed), 64);
        }
    }
}
