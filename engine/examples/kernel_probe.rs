//! Quick timing of one kernel call on a noisy machine: runs a GEMV/GEMM many
//! times in short bursts and prints the minimum and median (criterion's
//! means include every preemption by other processes; a burst of a few
//! milliseconds mostly fits in one time slice). Also measures the read
//! roofline of the same weight bytes and, with `cold`, cycles through
//! enough copies of the matrix to stream the weights from DRAM, as decode
//! does with a real model.
//!
//! ```text
//! cargo run --release -p bitnet-engine --example kernel_probe -- \
//!     <format> <rows> <cols> [tokens=1] [threads=1] [level=best] [cold|scaling|cores]
//! ```
//!
//! `scaling` alternates bursts of about a millisecond on 1 and on `threads`
//! threads and prints the ratio of their minima and the median ratio of
//! neighbouring bursts: on a shared host whose cores slow down for
//! seconds at a time, runs minutes apart compare different machines.
//!
//! `cores` goes one step further for a host whose cores are not equally
//! fast at the same moment (a vCPU whose hardware sibling is busy runs at
//! about half speed, for seconds): each round times a 1-thread burst
//! pinned to each of the first `threads` CPUs, then a `threads`-thread
//! burst, and prints the efficiency `e = (1 / t_n) / sum_i (1 / t_1,i)`:
//! the share of those cores' summed 1-thread throughput, measured in the
//! same few milliseconds, that the parallel call reaches. `threads * e` is
//! the speedup equally fast cores would show. `PROBE_ROUNDS=1` prints
//! every round. (Pinning needs the `core_affinity` crate: a safe wrapper
//! of `sched_setaffinity`, so the probe stays free of `unsafe`.)

use engine::cpu::SimdLevel;
use engine::kernels::roofline::stream_read;
use engine::kernels::{gemm_with, quantize_activations, Parallelism, TernaryMatrix};
use engine::quant::{Format, Scale};
use std::hint::black_box;
use std::time::Instant;

fn arg<T: std::str::FromStr>(i: usize, default: T) -> T {
    std::env::args()
        .nth(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// (min, median, mean) seconds of `f` over `reps` calls.
fn time(reps: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    let mean = t.iter().sum::<f64>() / t.len() as f64;
    (t[0], t[t.len() / 2], mean)
}

fn main() {
    let format: Format = arg(1, Format::I2S);
    let rows: usize = arg(2, 2048);
    let cols: usize = arg(3, 2048);
    let tokens: usize = arg(4, 1);
    let threads: usize = arg(5, 1);
    let level: SimdLevel = arg(6, SimdLevel::detect_best());
    let mode = std::env::args().nth(7);
    let cold = mode.as_deref() == Some("cold");

    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as u32
    };
    let codes: Vec<i8> = (0..rows * cols).map(|_| (next() % 3) as i8 - 1).collect();
    let scale = if format.has_tensor_scale() {
        Scale::Tensor(0.5)
    } else {
        Scale::PerBlock(vec![0.5; rows * cols / format.block_weights()])
    };
    let w =
        TernaryMatrix::from_codes_for(level, format, &codes, scale, rows, cols).expect("matrix");
    // Enough copies to exceed a 32 MiB L3 several times over.
    let copies = if cold {
        (256 << 20) / w.weight_bytes() + 1
    } else {
        1
    };
    let ws: Vec<TernaryMatrix> = (0..copies).map(|_| w.clone()).collect();
    let x: Vec<f32> = (0..tokens * cols)
        .map(|_| next() as f32 / u32::MAX as f32 - 0.5)
        .collect();
    let q = quantize_activations(&x, tokens, cols).expect("activations");
    let mut out = vec![0.0f32; tokens * rows];
    let par = Parallelism::threads(threads);
    let macs = (rows * cols * tokens) as f64;
    if mode.as_deref() == Some("cores") {
        cores(threads, |p| {
            gemm_with(level, &w, &q, &mut out, p).expect("gemm");
        });
        return;
    }
    if mode.as_deref() == Some("scaling") {
        scaling(threads, |p| {
            gemm_with(level, &w, &q, &mut out, p).expect("gemm");
        });
        return;
    }
    let reps = ((4e9 / macs) as usize).clamp(11, 20_000);
    let mut i = 0;
    let (best, median, mean) = time(reps, || {
        gemm_with(level, &ws[i % copies], &q, &mut out, par).expect("gemm");
        i += 1;
    });
    let bytes = w.weight_bytes() as f64;
    println!(
        "{format} {tokens}x{rows}x{cols} {threads}t {level}{}: min {:.2} us = {:.1} G MAC/s \
         ({:.1} GB/s of weights), median {:.2} us, mean {:.2} us",
        if cold { " cold" } else { "" },
        best * 1e6,
        macs / best / 1e9,
        bytes / best / 1e9,
        median * 1e6,
        mean * 1e6
    );
    if tokens != 1 {
        return;
    }
    let buffers: Vec<Vec<u8>> = (0..copies)
        .map(|c| (0..w.weight_bytes()).map(|b| (b + c) as u8).collect())
        .collect();
    let mut i = 0;
    let (rbest, _, _) = time(reps, || {
        black_box(stream_read(level, black_box(&buffers[i % copies])));
        i += 1;
    });
    println!(
        "  read roofline of the same {} bytes: min {:.2} us = {:.1} GB/s; kernel at {:.0}% of it",
        w.weight_bytes(),
        rbest * 1e6,
        bytes / rbest / 1e9,
        100.0 * rbest / best
    );
}

/// Calls in a burst of about a millisecond (timed on one thread).
fn burst_calls(call: &mut dyn FnMut(Parallelism)) -> usize {
    let t0 = Instant::now();
    for _ in 0..20 {
        call(Parallelism::single());
    }
    let per_call = t0.elapsed().as_secs_f64() / 20.0;
    ((1e-3 / per_call) as usize).clamp(3, 1000)
}

/// The fastest of `calls` calls on `p`, after one untimed call.
fn burst(call: &mut dyn FnMut(Parallelism), p: Parallelism, calls: usize) -> f64 {
    call(p);
    time(calls, || call(p)).0
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// (median, lower quartile, upper quartile).
fn quartiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let q = |f: f64| v[((v.len() - 1) as f64 * f) as usize];
    (q(0.5), q(0.25), q(0.75))
}

/// Alternating bursts on 1 and `threads` threads (see the module docs).
fn scaling(threads: usize, mut call: impl FnMut(Parallelism)) {
    let (one, many) = (Parallelism::single(), Parallelism::threads(threads));
    let calls = burst_calls(&mut call);
    let (mut ones, mut manys, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..300 {
        let a = burst(&mut call, one, calls);
        let b = burst(&mut call, many, calls);
        ones.push(a);
        manys.push(b);
        ratios.push(a / b);
    }
    let (median, low, high) = quartiles(ratios);
    println!(
        "1t min {:.2} us, {threads}t min {:.2} us: {:.2}x; neighbouring bursts of {calls} calls: \
         median {median:.2}x (quartiles {low:.2}-{high:.2})",
        min(&ones) * 1e6,
        min(&manys) * 1e6,
        min(&ones) / min(&manys),
    );
}

/// Per-core 1-thread bursts against `threads`-thread bursts (see the module
/// docs).
fn cores(threads: usize, mut call: impl FnMut(Parallelism)) {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    if ids.len() < threads {
        eprintln!("cores: {} CPUs visible, {threads} needed", ids.len());
        std::process::exit(2);
    }
    let (one, many) = (Parallelism::single(), Parallelism::threads(threads));
    // Threads inherit their creator's affinity: the pool's threads must
    // exist before the first pin, or they all stay on that CPU.
    call(many);
    let calls = burst_calls(&mut call);
    let (mut effs, mut per_core, mut manys) = (Vec::new(), vec![Vec::new(); threads], Vec::new());
    for round in 0..200 {
        let mut rate = 0.0;
        for (c, id) in ids.iter().take(threads).enumerate() {
            core_affinity::set_for_current(*id);
            let t = burst(&mut call, one, calls);
            per_core[c].push(t);
            rate += 1.0 / t;
        }
        core_affinity::set_for_current(ids[round % threads]);
        let t = burst(&mut call, many, calls);
        manys.push(t);
        effs.push((1.0 / t) / rate);
        if std::env::var_os("PROBE_ROUNDS").is_some() {
            eprintln!(
                "round {round}: 1t {:?} {threads}t {:.2} e {:.3}",
                per_core
                    .iter()
                    .map(|v| (v[round] * 1e8).round() / 100.0)
                    .collect::<Vec<_>>(),
                t * 1e6,
                (1.0 / t) / rate
            );
        }
        // Let the helpers' polling window pass before the next 1-thread
        // burst, so none of them shares its core.
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    let mins: Vec<String> = per_core
        .iter()
        .enumerate()
        .map(|(c, v)| format!("cpu {c} {:.2}", min(v) * 1e6))
        .collect();
    let rounds = effs.len();
    let (median, low, high) = quartiles(effs);
    println!(
        "1t min us: {}; {threads}t min {:.2} us; efficiency over {rounds} rounds of {calls} calls: \
         median {median:.3} (quartiles {low:.3}-{high:.3}) = {:.2}x on equal cores",
        mins.join(", "),
        min(&manys) * 1e6,
        threads as f64 * median
    );
}
