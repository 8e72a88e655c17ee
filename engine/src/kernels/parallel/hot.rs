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
//! caller:  take `busy`; job.epoch = ++epoch; publish job; wanted =
//!          helpers; spawn missing helpers; claim parts; wait for every
//!          part; unpublish; wait users == 0; release `busy`
//! helper:  awake += 1; more awake than `wanted`? -> awake -= 1, leave;
//!          poll: epoch moved? -> users += 1; job still published? ->
//!          take a seat, claim parts; users -= 1; until LINGER passes
//!          without a new job; awake -= 1
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

/// One call's parts and progress. The parts are dealt in contiguous
/// blocks, one per thread (the caller is thread 0): a thread runs its own
/// block's parts first, so from call to call it reads the same rows (the
/// ones its caches hold), then claims the parts other threads have not
/// reached, so one that starts late or runs slow just does fewer.
/// Measured (2 threads, alternating runs, min): I2S 2048 x 2048 28.7-33.8
/// us against 30.4-37.2 with one shared counter (each half, 512 KB, about
/// fills a core's L2); 640 x 2560 within noise.
pub(super) struct Job<'a> {
    f: &'a (dyn Fn(usize, usize) + Sync),
    ranges: &'a [(usize, usize)],
    epoch: u64,
    /// Per block: the next unclaimed part.
    next: Vec<AtomicUsize>,
    done: AtomicUsize,
    /// Helper seats not taken yet (seat `s` runs block `s` first).
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
            next: (0..=helpers)
                .map(|b| AtomicUsize::new(Self::block_start(ranges.len(), helpers + 1, b)))
                .collect(),
            done: AtomicUsize::new(0),
            seats: AtomicUsize::new(helpers),
            panicked: AtomicBool::new(false),
        }
    }

    fn block_start(parts: usize, blocks: usize, b: usize) -> usize {
        parts * b / blocks
    }

    /// Runs unclaimed parts, block `first`'s first, until none is left. A
    /// panicking part still counts as done (so nobody waits forever) and is
    /// reported to the caller.
    pub(super) fn claim(&self, first: usize) {
        let blocks = self.next.len();
        for b in (0..blocks).map(|q| (first + q) % blocks) {
            let end = Self::block_start(self.ranges.len(), blocks, b + 1);
            loop {
                let i = self.next[b].fetch_add(1, Relaxed);
                if i >= end {
                    break;
                }
                let (r0, r1) = self.ranges[i];
                if catch_unwind(AssertUnwindSafe(|| (self.f)(r0, r1))).is_err() {
                    self.panicked.store(true, Relaxed);
                }
                self.done.fetch_add(1, Release);
            }
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

    /// A free helper seat (1..=helpers), if any.
    fn take_seat(&self) -> Option<usize> {
        self.seats
            .fetch_update(AcqRel, Relaxed, |s| s.checked_sub(1))
            .ok()
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
    /// Helpers the last call wanted. A call spawns every helper not yet
    /// awake, so a helper whose worker is still waking up is spawned again
    /// by the next call: the first to start stays and later ones leave at
    /// once. (Left polling, the surplus made more spinning threads than
    /// cores: on 2 vCPUs, 2 helpers and the caller took turns and whole
    /// bursts ran at 1-thread speed; counting helpers from their spawn
    /// instead kept whichever was spawned, often on the caller's busy
    /// core.) `kernel_probe tl2 640 2560 1 2 avx512 cores`, Zen 4, rounds
    /// of 200 below 0.6 efficiency, 3 runs each: surplus polling 10-44,
    /// counted from the spawn 83-132, first-started stays 1-20.
    wanted: AtomicUsize,
    /// Held by the caller that owns the slot.
    busy: AtomicBool,
}

static SLOT: Slot = Slot {
    job: AtomicPtr::new(ptr::null_mut()),
    epoch: AtomicU64::new(0),
    users: AtomicUsize::new(0),
    awake: AtomicUsize::new(0),
    wanted: AtomicUsize::new(0),
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
    SLOT.wanted.store(helpers, SeqCst);
    for _ in SLOT.awake.load(SeqCst)..helpers {
        pool.spawn(help);
    }
    job.claim(0);
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
    if SLOT.awake.fetch_add(1, SeqCst) >= SLOT.wanted.load(SeqCst) {
        SLOT.awake.fetch_sub(1, SeqCst);
        return;
    }
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
                    if let Some(seat) = job.take_seat() {
                        job.claim(seat);
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
