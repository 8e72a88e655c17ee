//! Criterion suite `gpu` (feature `gpu`): the CUDA backend's kernels.
//!
//! Ids: `gpu/quantize/<fmt>/<n>` and `gpu/dequantize/<fmt>/<n>` (seed sizes
//! 1K-64K), `gpu/gemv/{w2a8,f16}/<rows>x<cols>` at the BitNet b1.58 2B4T
//! shapes, `gpu/matmul/{w2a8,f16}/<n>` for n^3 products (32..512, MACs as
//! elements), `gpu/decode_layer/2b4t` (one transformer layer of a decode
//! step, all on the device; tokens/s = 1 / (30 x time)), and the whole model
//! as the `inference` suite measures it on the CPU (same file, same prompt):
//! `gpu/prefill/128` and `gpu/decode/32`, Throughput in tokens. Every measurement
//! ends with a stream synchronisation, so it times finished work. Without a
//! usable device the suite prints one skip line and measures nothing.

mod common;

use common::{greedy_steps, model_2b4t_i2s, primed, prompt};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use engine::cuda::{CudaBackend, GatedAct, RopeStyle};
use engine::device::{open_cuda, reason};
use engine::model::{GpuModel, Logits, Model};
use engine::quant::Format;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Duration;

fn floats(n: usize, seed: u64) -> Vec<f32> {
    let mut r = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| r.gen_range(-1.0f32..1.0)).collect()
}

fn ternary(n: usize, seed: u64) -> Vec<i8> {
    let mut r = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| r.gen_range(-1..=1)).collect()
}

fn f16_bits(n: usize, seed: u64) -> Vec<u16> {
    floats(n, seed)
        .into_iter()
        .map(|v| half::f16::from_f32(v).to_bits())
        .collect()
}

fn quantize(c: &mut Criterion, g: &CudaBackend) {
    let mut group = c.benchmark_group("gpu");
    for format in [Format::I2S, Format::TL1, Format::TL2] {
        for n in [1024usize, 4096, 16384, 65536] {
            let x = g.upload(&floats(n, n as u64)).expect("upload");
            let mut packed = g.quantize(format, &x, 1, n).expect("quantize");
            let mut y = g.zeros::<f32>(n).expect("alloc");
            group.throughput(Throughput::Elements(n as u64));
            group.bench_function(BenchmarkId::new(format!("quantize/{format}"), n), |b| {
                b.iter(|| {
                    g.quantize_into(format, &x, 1, n, &mut packed)
                        .expect("quantize")
                })
            });
            group.bench_function(BenchmarkId::new(format!("dequantize/{format}"), n), |b| {
                b.iter(|| {
                    g.dequantize(format, &packed, 1, n, &mut y)
                        .expect("dequantize")
                })
            });
        }
    }
    group.finish();
}

const GEMV_SHAPES: [(usize, usize); 5] = [
    (2560, 2560),
    (640, 2560),
    (6912, 2560),
    (2560, 6912),
    (2048, 2048),
];

fn gemv(c: &mut Criterion, g: &CudaBackend) {
    let mut group = c.benchmark_group("gpu");
    for (rows, cols) in GEMV_SHAPES {
        let w = g
            .upload_ternary(&ternary(rows * cols, 1), rows, cols, 0.5)
            .expect("upload");
        let x = g.upload(&floats(cols, 2)).expect("upload");
        let mut a = g.alloc_acts(1, cols).expect("alloc");
        let mut out = g.zeros::<f32>(rows).expect("alloc");
        let label = format!("{rows}x{cols}");
        group.throughput(Throughput::Elements((rows * cols) as u64));
        group.bench_function(BenchmarkId::new("gemv/w2a8", &label), |b| {
            b.iter(|| {
                g.quantize_acts(&x, &mut a).expect("act quant");
                g.gemv(&w, &a, &mut out).expect("gemv");
                g.synchronize().expect("sync");
            })
        });
        let wh = g.upload(&f16_bits(rows * cols, 3)).expect("upload");
        let xh = g.upload(&f16_bits(cols, 4)).expect("upload");
        group.bench_function(BenchmarkId::new("gemv/f16", &label), |b| {
            b.iter(|| {
                g.gemm_f16(&xh, &wh, &mut out, 1, rows, cols)
                    .expect("hgemm");
                g.synchronize().expect("sync");
            })
        });
    }
    group.finish();
}

fn matmul(c: &mut Criterion, g: &CudaBackend) {
    let mut group = c.benchmark_group("gpu");
    for n in [32usize, 64, 128, 256, 512] {
        let w = g
            .upload_ternary(&ternary(n * n, 5), n, n, 0.5)
            .expect("upload");
        let x = g.upload(&floats(n * n, 6)).expect("upload");
        let mut a = g.alloc_acts(n, n).expect("alloc");
        let mut out = g.zeros::<f32>(n * n).expect("alloc");
        group.throughput(Throughput::Elements((n * n * n) as u64));
        group.bench_function(BenchmarkId::new("matmul/w2a8", n), |b| {
            b.iter(|| {
                g.quantize_acts(&x, &mut a).expect("act quant");
                g.gemm(&w, &a, &mut out).expect("gemm");
                g.synchronize().expect("sync");
            })
        });
        let (ah, bh) = (
            g.upload(&f16_bits(n * n, 7)).expect("upload"),
            g.upload(&f16_bits(n * n, 8)).expect("upload"),
        );
        group.bench_function(BenchmarkId::new("matmul/f16", n), |b| {
            b.iter(|| {
                g.gemm_f16(&ah, &bh, &mut out, n, n, n).expect("hgemm");
                g.synchronize().expect("sync");
            })
        });
    }
    group.finish();
}

/// One BitNet b1.58 2B4T layer of a decode step at position `POS`.
fn decode_layer(c: &mut Criterion, g: &CudaBackend) {
    const D: usize = 2560;
    const FF: usize = 6912;
    const HEADS: usize = 20;
    const KV: usize = 5;
    const HD: usize = 128;
    const POS: usize = 512;
    const CTX: usize = 4096;
    let up = |rows, cols, seed| {
        g.upload_ternary(&ternary(rows * cols, seed), rows, cols, 0.5)
            .expect("upload")
    };
    let (wq, wk, wv, wo) = (
        up(D, D, 1),
        up(KV * HD, D, 2),
        up(KV * HD, D, 3),
        up(D, D, 4),
    );
    let (wg, wu, wd) = (up(FF, D, 5), up(FF, D, 6), up(D, FF, 7));
    let norm = g.upload(&vec![1f32; D]).expect("upload");
    let norm_ff = g.upload(&vec![1f32; FF]).expect("upload");
    let mut x = g.upload(&floats(D, 8)).expect("upload");
    let mut cache = g.kv_cache(CTX, KV, HD).expect("alloc");
    let kv_prefix = g.upload(&floats(POS * KV * HD, 9)).expect("upload");
    g.kv_store(&mut cache, &kv_prefix, &kv_prefix, 0)
        .expect("kv");
    let z = |n| g.zeros::<f32>(n).expect("alloc");
    let (mut h, mut q, mut k, mut v, mut att, mut o) =
        (z(D), z(D), z(KV * HD), z(KV * HD), z(D), z(D));
    let (mut gate, mut upv, mut act, mut act_n, mut down) = (z(FF), z(FF), z(FF), z(FF), z(D));
    let mut a_d = g.alloc_acts(1, D).expect("alloc");
    let mut a_ff = g.alloc_acts(1, FF).expect("alloc");
    let mut group = c.benchmark_group("gpu");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode_layer/2b4t", |b| {
        b.iter(|| {
            g.rmsnorm(&x, &norm, &mut h, 1, 1e-5).unwrap();
            g.quantize_acts(&h, &mut a_d).unwrap();
            g.gemv(&wq, &a_d, &mut q).unwrap();
            g.gemv(&wk, &a_d, &mut k).unwrap();
            g.gemv(&wv, &a_d, &mut v).unwrap();
            g.rope(&mut q, 1, HEADS, HD, HD, POS, 500000.0, RopeStyle::Normal)
                .unwrap();
            g.rope(&mut k, 1, KV, HD, HD, POS, 500000.0, RopeStyle::Normal)
                .unwrap();
            g.kv_store(&mut cache, &k, &v, POS).unwrap();
            g.attention(&q, &cache, &mut att, HEADS, POS, 1.0 / (HD as f32).sqrt())
                .unwrap();
            g.rmsnorm(&att, &norm, &mut h, 1, 1e-5).unwrap();
            g.quantize_acts(&h, &mut a_d).unwrap();
            g.gemv(&wo, &a_d, &mut o).unwrap();
            g.add_assign(&mut x, &o).unwrap();
            g.rmsnorm(&x, &norm, &mut h, 1, 1e-5).unwrap();
            g.quantize_acts(&h, &mut a_d).unwrap();
            g.gemv(&wg, &a_d, &mut gate).unwrap();
            g.gemv(&wu, &a_d, &mut upv).unwrap();
            g.gated_act(&gate, &upv, &mut act, GatedAct::Relu2).unwrap();
            g.rmsnorm(&act, &norm_ff, &mut act_n, 1, 1e-5).unwrap();
            g.quantize_acts(&act_n, &mut a_ff).unwrap();
            g.gemv(&wd, &a_ff, &mut down).unwrap();
            g.add_assign(&mut x, &down).unwrap();
            g.synchronize().unwrap();
        })
    });
    group.finish();
}

/// The whole 2b4t model on the device: prefill of 128 tokens and 32 greedy
/// decode steps after an untimed 8-token prompt (as `inference` on the CPU).
fn model(c: &mut Criterion) {
    const PREFILL: usize = 128;
    const DECODE: usize = 32;
    let cpu = Model::load(model_2b4t_i2s(), 1).expect("load the 2b4t model");
    let backend = Arc::new(open_cuda(0).expect("device opened above"));
    let dev = GpuModel::upload(&cpu, backend).expect("upload the 2b4t model");
    let vocab = cpu.config().vocab_size;
    let mut group = c.benchmark_group("gpu");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    let ids = prompt(PREFILL, vocab);
    group.throughput(Throughput::Elements(PREFILL as u64));
    group.bench_function(format!("prefill/{PREFILL}"), |b| {
        b.iter_batched_ref(
            || dev.session(PREFILL).expect("session"),
            |s| s.forward(&ids, Logits::Last).expect("prefill"),
            BatchSize::PerIteration,
        )
    });
    let head = prompt(8, vocab);
    group.throughput(Throughput::Elements(DECODE as u64));
    group.bench_function(format!("decode/{DECODE}"), |b| {
        b.iter_batched_ref(
            || primed(dev.session(8 + DECODE).expect("session"), &head),
            |(s, next)| greedy_steps(s, next, DECODE),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let g = match open_cuda(0) {
        Ok(g) => g,
        Err(e) => {
            println!(
                "skipped: gpu benches need a CUDA device ({}): {e}",
                reason(&e)
            );
            return;
        }
    };
    println!("gpu benches on {} ({})", g.name(), g.arch());
    quantize(c, &g);
    gemv(c, &g);
    matmul(c, &g);
    decode_layer(c, &g);
    model(c);
}

criterion_group!(benches, bench);
criterion_main!(benches);
