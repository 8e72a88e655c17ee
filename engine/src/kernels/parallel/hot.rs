//! Helpers that stay awake between kernel calls.
//!
//! A helper that has just run its parts keeps polling for [`LINGER`] and
//! joins the next call at once; only when fewer helpers are awake than a
//! call wants does the caller spawn more on the rayon pool. Waking a parked
//! rayon worker costs a futex wake-up and, on a VM whose idle vCPU has
//! halted, a trip through the hypervisor: the same order as a whole small
//! GEMV. Measured on the 2-vCPU dev VM (`kernel_probe i2s 128 2560 1 2`,
//! alternating runs, medians): 4.2-6.3 us per call with rayon's wake-ups,
//! 3.1-4.4 us with awake helpers, against 4 us on one thread; 640 x 2560
//! gains about 1.5 us of 15. This is OpenMP's active wait
//! policy and llama.cpp's polling thread pool in miniature: up to `LINGER`
//! of one core spent after the last call buys decode loops free of
//! wake-ups.
//!
//! Protocol (all on one static [`Slot`], one publishing caller at a time):
//!
//! ```text
//! caller:  take `busy`; job.epoch = ++epoch; publish job; spawn missing
//!          helpers; claim parts; wait for every part; unpublish;
//!          wait users == 0; release `busy`
//! helper:  awake += 1; poll: epoch moved? -> users += 1; job still
//!          published? -> take a seat, claim parts; users -= 1;
//!          until LINGER passes without a new job; awake -= 1
//! ```
//!
//! `users` is raised before the helper re-reads the published pointer and
//! the caller unpublishes before it waits for `users` to reach 0 (both
//! sequentially consistent), so a helper that dereferences the job does so
//! before the caller returns and the job goes out of scope.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};

/// How long a helper polls for the next call after its last part.
pub(super) const LINGER: Duration = Duration::from_millis(1);

/// One call's parts and progress.
pub(super) struct Job<'a> {
    f: &'a (dyn Fn(usize, usize) + Sync),
    ranges: &'a [(usize, usize)],
    epoch: u64,
    next: AtomicUsize,
    done: AtomicUsize,
    /// Helpers that may still join (the call's thread count less one).
    seats: AtomicUsize,
    panicked: AtomicBool,
}

impl<'a> Job<'a> {
    pub(super) fn new(
        f: &'a (dyn Fn(usize, usize) + Sync),
        ranges: &'a [(usize, usize)],
        helpers: usize,
    ) -> Self {
        Job {
            f,
            ranges,
            epoch: 0,
            next: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            seats: AtomicUsize::new(helpers),
            panicked: AtomicBool::new(false),
        }
    }

    /// Runs unclaimed parts until none is left. A panicking part still
    /// counts as done (so nobody waits forever) and is reported to the
    /// caller.
    pub(super) fn claim(&self) {
        loop {
            let i = self.next.fetch_add(1, Relaxed);
            let Some(&(r0, r1)) = self.ranges.get(i) else {
                break;
            };
            if catch_unwind(AssertUnwindSafe(|| (self.f)(r0, r1))).is_err() {
                self.panicked.store(true, Relaxed);
            }
            self.done.fetch_add(1, Release);
        }
    }

    /// Spins until every part is done.
    pub(super) fn wait(&self) {
        while self.done.load(Acquire) != self.ranges.len() {
            std::hint::spin_loop();
        }
    }

    /// Re-raises, on the caller, a panic of any part.
    pub(super) fn check(&self) {
        if self.panicked.load(Relaxed) {
            panic!("a kernel part panicked (its message is above)");
        }
    }

    fn take_seat(&self) -> bool {
        self.seats
            .fetch_update(AcqRel, Relaxed, |s| s.checked_sub(1))
            .is_ok()
    }
}

struct Slot {
    /// The published job (`*const Job`), null when none.
    job: AtomicPtr<()>,
    /// The last published job's number; helpers join each number once.
    epoch: AtomicU64,
    /// Helpers between raising it and leaving the job they read.
    users: AtomicUsize,
    /// Helpers polling or working.
    awake: AtomicUsize,
    /// Held by the caller that owns the slot.
    busy: AtomicBool,
}

static SLOT: Slot = Slot {
    job: AtomicPtr::new(ptr::null_mut()),
    epoch: AtomicU64::new(0),
    users: AtomicUsize::new(0),
    awake: AtomicUsize::new(0),
    busy: AtomicBool::new(false),
};

/// Runs `job` on the calling thread and up to `helpers` others: awake
/// helpers join, missing ones are spawned on `pool`. Returns the job
/// untouched (`Err`) when another call owns the slot.
pub(super) fn run<'j>(
    mut job: Job<'j>,
    helpers: usize,
    pool: &rayon::ThreadPool,
) -> Result<(), Job<'j>> {
    if SLOT
        .busy
        .compare_exchange(false, true, Acquire, Relaxed)
        .is_err()
    {
        return Err(job);
    }
    job.epoch = SLOT.epoch.load(Relaxed) + 1;
    SLOT.job.store(&job as *const Job as *mut (), SeqCst);
    SLOT.epoch.store(job.epoch, SeqCst);
    for _ in SLOT.awake.load(SeqCst)..helpers {
        pool.spawn(help);
    }
    job.claim();
    job.wait();
    SLOT.job.store(ptr::null_mut(), SeqCst);
    while SLOT.users.load(SeqCst) != 0 {
        std::hint::spin_loop();
    }
    SLOT.busy.store(false, Release);
    job.check();
    Ok(())
}

/// A helper's life: join every newly published job, give up after
/// [`LINGER`] without one.
fn help() {
    SLOT.awake.fetch_add(1, SeqCst);
    let mut seen = 0u64;
    let mut deadline = Instant::now() + LINGER;
    let mut polls = 0u32;
    loop {
        let epoch = SLOT.epoch.load(SeqCst);
        if epoch != seen {
            SLOT.users.fetch_add(1, SeqCst);
            let p = SLOT.job.load(SeqCst) as *const Job;
            if p.is_null() {
                // Job `epoch` (or a later one) is already over.
                seen = epoch;
            } else {
                // SAFETY: `users` was raised before this read of the
                // published pointer, and the caller unpublishes and then
                // waits for `users` to return to 0 before the job leaves
                // its scope (module docs), so the job is alive here.
                let job = unsafe { &*p };
                if job.epoch != seen {
                    seen = job.epoch;
                    if job.take_seat() {
                        job.claim();
                    }
                    deadline = Instant::now() + LINGER;
                }
            }
            SLOT.users.fetch_sub(1, SeqCst);
        }
        polls = polls.wrapping_add(1);
        if polls.is_multiple_of(64) && Instant::now() >= deadline {
            break;
        }
        std::hint::spin_loop();
    }
    SLOT.awake.fetch_sub(1, SeqCst);
}
