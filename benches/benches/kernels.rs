//! Criterion suite `kernels`: ternary GEMV / GEMM per weight format and the
//! dense f32 GEMV of the same shapes as the uncompressed reference point.
//!
//! Ids: `gemv/<format>/<rows>x<cols>/<t>t` (Throughput = rows * cols weights),
//! `gemm/<format>/<m>x<n>x<k>/<t>t` (m tokens, n rows, k cols; Throughput =
//! m * n * k multiply-adds), `gemv/f32/<rows>x<cols>/<t>t`. Activations are
//! quantized outside the timed loop (decode quantizes once per layer input
//! and reuses it for several matrices). Shapes a format cannot hold (k not a
//! multiple of its row multiple, e.g. the 32^3 cube for I2S) are skipped
//! with a note on stderr.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use engine::kernels::dense::gemv_f32;
use engine::kernels::{
    gemm, gemv, quantize_activations, Parallelism, QuantizedActivations, TernaryMatrix, WeightScale,
};
use engine::quant::Format;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

const FORMATS: [Format; 4] = [Format::I2S, Format::TL1, Format::TL2, Format::TQ2_0];
/// BitNet b1.58 2B4T projection shapes (rows x cols) and bitnet.cpp's 2048^2.
const GEMV_SHAPES: [(usize, usize); 5] = [
    (2560, 2560),
    (640, 2560),
    (6912, 2560),
    (2560, 6912),
    (2048, 2048),
];
/// (m tokens, n rows, k cols).
const GEMM_SHAPES: [(usize, usize, usize); 7] = [
    (128, 2048, 2048),
    (128, 6912, 2560),
    (32, 32, 32),
    (64, 64, 64),
    (128, 128, 128),
    (256, 256, 256),
    (512, 512, 512),
];
const THREADS: [usize; 2] = [1, 2];

fn matrix(format: Format, rows: usize, cols: usize, rng: &mut StdRng) -> Option<TernaryMatrix> {
    if cols % format.row_multiple() != 0 {
        eprintln!(
            "note: {format} skips {rows}x{cols}: cols is not a multiple of {}",
            format.row_multiple()
        );
        return None;
    }
    let codes: Vec<i8> = (0..rows * cols).map(|_| rng.gen_range(-1..=1)).collect();
    let scale = if format.has_tensor_scale() {
        WeightScale::Tensor(0.75)
    } else {
        let blocks = rows * cols / format.block_weights();
        WeightScale::PerBlock((0..blocks).map(|_| rng.gen_range(0.5..1.0)).collect())
    };
    Some(TernaryMatrix::from_codes(format, &codes, scale, rows, cols).expect("valid matrix"))
}

fn activations(tokens: usize, k: usize, rng: &mut StdRng) -> QuantizedActivations {
    let x: Vec<f32> = (0..tokens * k).map(|_| rng.gen_range(-2.0..2.0)).collect();
    quantize_activations(&x, tokens, k).expect("valid activations")
}

fn bench_gemv(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(0x6b65726e);
    let mut g = c.benchmark_group("gemv");
    for (rows, cols) in GEMV_SHAPES {
        g.throughput(Throughput::Elements((rows * cols) as u64));
        let x = activations(1, cols, &mut rng);
        let mut out = vec![0.0f32; rows];
        for format in FORMATS {
            let Some(w) = matrix(format, rows, cols, &mut rng) else {
                continue;
            };
            for t in THREADS {
                let id = BenchmarkId::new(format.name(), format!("{rows}x{cols}/{t}t"));
                g.bench_function(id, |b| {
                    b.iter(|| gemv(&w, &x, &mut out, Parallelism::threads(t)).unwrap())
                });
            }
        }
        let w: Vec<f32> = (0..rows * cols).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let xf: Vec<f32> = (0..cols).map(|_| rng.gen_range(-1.0..1.0)).collect();
        for t in THREADS {
            let id = BenchmarkId::new("f32", format!("{rows}x{cols}/{t}t"));
            g.bench_function(id, |b| {
                b.iter(|| gemv_f32(&w, rows, cols, &xf, &mut out, Parallelism::threads(t)).unwrap())
            });
        }
    }
    g.finish();
}

fn bench_gemm(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(0x67656d6d);
    let mut g = c.benchmark_group("gemm");
    for (m, n, k) in GEMM_SHAPES {
        g.throughput(Throughput::Elements((m * n * k) as u64));
        let x = activations(m, k, &mut rng);
        let mut out = vec![0.0f32; m * n];
        for format in FORMATS {
            let Some(w) = matrix(format, n, k, &mut rng) else {
                continue;
            };
            for t in THREADS {
                let id = BenchmarkId::new(format.name(), format!("{m}x{n}x{k}/{t}t"));
                g.bench_function(id, |b| {
                    b.iter(|| gemm(&w, &x, &mut out, Parallelism::threads(t)).unwrap())
                });
            }
        }
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_gemv, bench_gemm
}
criterion_main!(benches);
