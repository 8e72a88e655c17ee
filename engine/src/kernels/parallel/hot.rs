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
//! caller:  take `busy`; publish the job, then open the gate: (epoch + 1,
//!          helpers seats); spawn missing helpers; run seat 0's set-aside
//!          part, claim parts; close the gate (epoch, 0 seats), learning
//!          how many seats were taken; run the set-aside parts of the
//!          others; wait until that many more helpers have finished;
//!          release `busy`
//! helper:  awake += 1; more awake than `wanted`? -> awake -= 1, leave;
//!          poll the gate: a new epoch with a free seat? -> take it (one
//!          compare-exchange), run its set-aside part, claim parts,
//!          finished += 1; until LINGER passes without a new job;
//!          awake -= 1
//! ```
//!
//! A helper touches the job only between taking a seat and counting
//! itself finished, and the caller returns only after every seat taken
//! before it closed the gate is counted: no helper can reach a job that
//! has gone out of scope. A seat is one compare-exchange on the epoch's
//! own word, so a helper late for one call cannot take a seat in it once
//! it is closed, and cannot mistake the next call's seats for it.
//!
//! Why this shape: a cache line that both threads write moves between the
//! cores, some 100 ns on the dev VM each time, against ~4.5 us for half a
//! 640 x 2560 GEMV. The caller's publishing stores are plain (release)
//! stores to one line; at the end it reads one line that each helper
//! writes once. The protocol before (an unpublish, and a `users` count
//! that helpers raised and lowered around every look at the job, on the
//! line the caller published on) moved the same lines back and forth
//! three or four times per call. A throwaway probe of two parts that each
//! spin 3 us (2 threads, medians of 20000 calls, 3 alternating runs) put
//! the time over 3 us at 255, 1227 and 415 ns before and 145, 145 and 285
//! ns after, with the helper's part starting 126-761 ns after the call
//! began before and 70-200 ns after.

use super::Parts;
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
///
/// A block's first part is set aside for the thread in its seat, which
/// runs it without claiming: the counters start past it. A helper's first
/// claim was a read and then a locked add on a counter line the caller
/// had just written (two trips between the cores before any work), and
/// the caller's own locked add waited for its publishing stores to drain.
/// The caller runs the set-aside parts of seats nobody took after it
/// closes the gate ([`Job::run_untaken`]). TSC stamps in a TL1 640 x 2560
/// 2-thread GEMV (Zen 4 VM, medians of ~12000 calls, 3 alternating runs):
/// the helper's part started 100-106 ns after the caller's, against
/// 130-150 ns with claimed first parts.
pub(super) struct Job<'a> {
    f: &'a (dyn Fn(usize, usize, usize) + Sync),
    parts: Parts,
    panicked: AtomicBool,
    /// Per block: the next unclaimed part (each on its own cache line, so
    /// a thread claiming in its own block does not pull the others' away).
    next: Counters,
}

/// Blocks whose claim counters live inside the job; more take the heap.
/// Built per call, so the usual thread counts allocate nothing.
const INLINE_BLOCKS: usize = 4;

// The inline variant is large on purpose: it is what spares the usual
// call an allocation.
#[allow(clippy::large_enum_variant)]
enum Counters {
    Inline([Line<AtomicUsize>; INLINE_BLOCKS], usize),
    Heap(Box<[Line<AtomicUsize>]>),
}

impl Counters {
    fn new(blocks: usize, start: impl Fn(usize) -> usize) -> Self {
        if blocks <= INLINE_BLOCKS {
            let c = std::array::from_fn(|b| Line(AtomicUsize::new(start(b))));
            Counters::Inline(c, blocks)
        } else {
            Counters::Heap(
                (0..blocks)
                    .map(|b| Line(AtomicUsize::new(start(b))))
                    .collect(),
            )
        }
    }

    fn all(&self) -> &[Line<AtomicUsize>] {
        match self {
            Counters::Inline(c, n) => &c[..*n],
            Counters::Heap(c) => c,
        }
    }
}

impl<'a> Job<'a> {
    pub(super) fn new(
        f: &'a (dyn Fn(usize, usize, usize) + Sync),
        parts: Parts,
        helpers: usize,
    ) -> Self {
        let blocks = helpers + 1;
        Job {
            f,
            parts,
            panicked: AtomicBool::new(false),
            next: Counters::new(blocks, |b| Self::set_aside(parts.len(), blocks, b).end),
        }
    }

    /// Block `b`'s set-aside part: `start..start + 1`, or empty for an
    /// empty block (fewer parts than blocks).
    fn set_aside(parts: usize, blocks: usize, b: usize) -> std::ops::Range<usize> {
        let (start, end) = (
            Self::block_start(parts, blocks, b),
            Self::block_start(parts, blocks, b + 1),
        );
        start..(start + 1).min(end)
    }

    /// Runs part `i`; a panic is recorded for [`Job::check`].
    fn run_part(&self, i: usize) {
        let (r0, r1) = self.parts.range(i);
        if catch_unwind(AssertUnwindSafe(|| (self.f)(i, r0, r1))).is_err() {
            self.panicked.store(true, Relaxed);
        }
    }

    /// The set-aside parts of seats `seats`, which nobody took.
    pub(super) fn run_untaken(&self, seats: std::ops::RangeInclusive<usize>) {
        let blocks = self.next.all().len();
        for seat in seats {
            for i in Self::set_aside(self.parts.len(), blocks, seat) {
                self.run_part(i);
            }
        }
    }

    fn block_start(parts: usize, blocks: usize, b: usize) -> usize {
        parts * b / blocks
    }

    /// Runs seat `first`'s set-aside part, then unclaimed parts, block
    /// `first`'s first, until none is left. Each seat is run once per
    /// job (by a thread in it, or by [`Job::run_untaken`]). A panicking
    /// part still counts as done (so nobody waits forever) and is reported
    /// to the caller.
    pub(super) fn claim(&self, first: usize) {
        let next = self.next.all();
        let blocks = next.len();
        for i in Self::set_aside(self.parts.len(), blocks, first) {
            self.run_part(i);
        }
        for b in (0..blocks).map(|q| (first + q) % blocks) {
            let end = Self::block_start(self.parts.len(), blocks, b + 1);
            // A plain read first: an exhausted block costs no write to a
            // line that its owner's thread holds.
            while next[b].0.load(Relaxed) < end {
                let i = next[b].0.fetch_add(1, Relaxed);
                if i >= end {
                    break;
                }
                self.run_part(i);
            }
        }
    }

    /// Re-raises, on the caller, a panic of any part.
    pub(super) fn check(&self) {
        if self.panicked.load(Relaxed) {
            panic!("a kernel part panicked (its message is above)");
        }
    }
}

/// A value on a cache line of its own.
#[repr(align(64))]
pub(super) struct Line<T>(T);

/// Seat count bits of [`Gate`]'s word; the epoch is the rest.
const SEAT_BITS: u32 = 16;
const SEATS: u64 = (1 << SEAT_BITS) - 1;

/// What polling helpers read: the gate word `epoch << SEAT_BITS | open
/// seats` and the job it opens (`*const Job`), on one line that the
/// caller writes twice per call (open, close).
struct Gate {
    word: AtomicU64,
    job: AtomicPtr<()>,
}

struct Slot {
    gate: Line<Gate>,
    /// Helpers that have finished a seat, ever (wrapping).
    finished: Line<AtomicU64>,
    /// Helpers polling or working.
    awake: Line<AtomicUsize>,
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
    wanted: Line<AtomicUsize>,
    /// Held by the caller that owns the slot; `seen` (the owner's count of
    /// finished seats) shares its line, touched by the owner alone.
    busy: Line<(AtomicBool, AtomicU64)>,
}

static SLOT: Slot = Slot {
    gate: Line(Gate {
        word: AtomicU64::new(0),
        job: AtomicPtr::new(ptr::null_mut()),
    }),
    finished: Line(AtomicU64::new(0)),
    awake: Line(AtomicUsize::new(0)),
    wanted: Line(AtomicUsize::new(0)),
    busy: Line((AtomicBool::new(false), AtomicU64::new(0))),
};

/// Runs `job` on the calling thread and up to `helpers` others: awake
/// helpers join, missing ones are spawned on `pool`. Returns false, the
/// job untouched, when another call owns the slot or `helpers` does not
/// fit the gate's seat count.
pub(super) fn run(job: &Job, helpers: usize, pool: &rayon::ThreadPool) -> bool {
    let (busy, seen) = &SLOT.busy.0;
    if helpers as u64 > SEATS
        || busy
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_err()
    {
        return false;
    }
    let gate = &SLOT.gate.0;
    let epoch = (gate.word.load(Relaxed) >> SEAT_BITS) + 1;
    gate.job.store(job as *const Job as *mut (), Relaxed);
    gate.word
        .store(epoch << SEAT_BITS | helpers as u64, Release);
    SLOT.wanted.0.store(helpers, Relaxed);
    for _ in SLOT.awake.0.load(Relaxed)..helpers {
        pool.spawn(help);
    }
    job.claim(0);
    let open = gate.word.swap(epoch << SEAT_BITS, AcqRel) & SEATS;
    // Helpers took seats `helpers` down to `open + 1`.
    job.run_untaken(1..=open as usize);
    let target = seen.load(Relaxed).wrapping_add(helpers as u64 - open);
    while SLOT.finished.0.load(Acquire) != target {
        std::hint::spin_loop();
    }
    seen.store(target, Relaxed);
    busy.store(false, Release);
    job.check();
    true
}

/// A helper's life: take a seat in every newly opened job, give up after
/// [`LINGER`] without one.
fn help() {
    if SLOT.awake.0.fetch_add(1, SeqCst) >= SLOT.wanted.0.load(SeqCst) {
        SLOT.awake.0.fetch_sub(1, SeqCst);
        return;
    }
    let gate = &SLOT.gate.0;
    // No epoch yet: the job that spawned this helper may still be open.
    let mut seen = u64::MAX;
    let mut deadline = Instant::now() + LINGER;
    let mut polls = 0u32;
    loop {
        let word = gate.word.load(Acquire);
        let (epoch, open) = (word >> SEAT_BITS, word & SEATS);
        if epoch != seen {
            if open == 0 {
                seen = epoch;
            } else if gate
                .word
                .compare_exchange(word, word - 1, AcqRel, Relaxed)
                .is_ok()
            {
                seen = epoch;
                // SAFETY: this thread holds a seat of the job the gate
                // opened (the exchange acquired the caller's publishing
                // stores), and the caller does not return before this
                // seat is counted finished below (module docs).
                let job = unsafe { &*(gate.job.load(Relaxed) as *const Job) };
                job.claim(open as usize);
                SLOT.finished.0.fetch_add(1, Release);
                deadline = Instant::now() + LINGER;
            }
            // A failed exchange: the gate moved; read it again.
            continue;
        }
        polls = polls.wrapping_add(1);
        if polls.is_multiple_of(64) && Instant::now() >= deadline {
            break;
        }
        std::hint::spin_loop();
    }
    SLOT.awake.0.fetch_sub(1, SeqCst);
}
