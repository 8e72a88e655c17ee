//! Criterion suite `quantization`: quantize and dequantize every ternary
//! format at the sizes of the seed report, plus `roofline/read/<n>`, a plain
//! streaming sum of `n` f32 that measures this machine's read bandwidth in
//! the same run, so each quantization figure can be read as a fraction of it.
//!
//! Ids: `quantize/<format>/<n>`, `dequantize/<format>/<n>`,
//! `roofline/read/<n>`; throughput in elements (weights). The SIMD level is
//! `SimdLevel::active()`, so `BITNET_SIMD=scalar|avx2|avx512` measures the
//! same ids per level. Tensors are one row of `n` weights drawn from N(0, 1).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use engine::cpu::SimdLevel;
use engine::quant::{self, Format};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use std::time::Duration;

const SIZES: [usize; 5] = [1024, 4096, 16384, 65536, 262144];

fn weights(n: usize) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(n as u64);
    let normal = Normal::new(0.0f32, 1.0).expect("valid normal");
    (0..n).map(|_| normal.sample(&mut rng)).collect()
}

/// Sum with 16 independent lanes so the compiler vectorizes it: the loop is
/// bounded by memory reads, not by one chain of dependent adds.
fn streaming_sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    for c in x.chunks_exact(16) {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum()
}

fn configure<M: criterion::measurement::Measurement>(g: &mut criterion::BenchmarkGroup<'_, M>) {
    g.warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(600))
        .sample_size(20);
}

fn bench(c: &mut Criterion) {
    eprintln!("quantization suite: SIMD level {}", SimdLevel::active());
    let inputs: Vec<(usize, Vec<f32>)> = SIZES.iter().map(|&n| (n, weights(n))).collect();

    let mut g = c.benchmark_group("roofline");
    configure(&mut g);
    for (n, src) in &inputs {
        g.throughput(Throughput::Elements(*n as u64));
        g.bench_with_input(BenchmarkId::new("read", n), src, |b, src| {
            b.iter(|| streaming_sum(black_box(src)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("quantize");
    configure(&mut g);
    for format in Format::ALL {
        for (n, src) in &inputs {
            let n = *n;
            let mut packed = vec![0u8; format.packed_size(1, n).expect("valid shape")];
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new(format.name(), n), src, |b, src| {
                b.iter(|| quant::quantize(format, black_box(src), 1, n, &mut packed))
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("dequantize");
    configure(&mut g);
    for format in Format::ALL {
        for (n, src) in &inputs {
            let n = *n;
            let packed = quant::quantize_to_vec(format, src, 1, n).expect("quantize");
            let mut out = vec![0f32; n];
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new(format.name(), n), &packed, |b, packed| {
                b.iter(|| quant::dequantize(format, black_box(packed), 1, n, &mut out))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
