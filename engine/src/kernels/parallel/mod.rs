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
use std::sync::{Arc, Mutex, OnceLock};

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

fn pool(threads: usize) -> Result<Arc<ThreadPool>, KernelError> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    let pools = POOLS.get_or_init(Default::default);
    let mut pools = pools.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&threads) {
        return Ok(Arc::clone(p));
    }
    let p = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("bitnet-kernel-{threads}-{i}"))
        .build()
        .map_err(|e| KernelError::ThreadPool {
            threads,
            reason: e.to_string(),
        })?;
    let p = Arc::new(p);
    pools.insert(threads, Arc::clone(&p));
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
    if par.threads == 0 {
        return Err(KernelError::shape(
            "parallelism",
            "thread count must be at least 1",
        ));
    }
    let parts = (par.threads * parts_per_thread.max(1)).min(rows.div_ceil(align));
    if par.threads == 1 || parts <= 1 {
        f(0, rows);
        return Ok(());
    }
    let ranges = split(rows, align, parts);
    let pool = pool(par.threads)?;
    let helpers = par.threads - 1;
    if let Err(job) = hot::run(Job::new(&f, &ranges, helpers), helpers, &pool) {
        // Another call owns the awake helpers: a scope of fresh ones.
        pool.in_place_scope(|s| {
            for seat in 1..=helpers {
                let job = &job;
                s.spawn(move |_| job.claim(seat));
            }
            job.claim(0);
            job.wait();
        });
        job.check();
    }
    Ok(())
}

/// `parts` contiguous ranges covering `0..rows`, boundaries multiples of
/// `align`, sizes as equal as that allows.
fn split(rows: usize, align: usize, parts: usize) -> Vec<(usize, usize)> {
    let units = rows.div_ceil(align);
    (0..parts)
        .map(|p| {
            let a = (units * p / parts * align).min(rows);
            let b = (units * (p + 1) / parts * align).min(rows);
            (a, b)
        })
        .filter(|(a, b)| a < b)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn split_covers_rows_with_aligned_starts() {
        for rows in [1, 3, 4, 5, 17, 640, 2561] {
            for parts in 1..6 {
                let r = split(rows, 4, parts);
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
        for threads in 1..4 {
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
