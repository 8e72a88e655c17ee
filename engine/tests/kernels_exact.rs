//! Every SIMD level and thread count gives bit-identical results to the
//! scalar path, and all match an f64 dense product of the dequantized
//! operands; bad shapes give typed errors.

use engine::cpu::SimdLevel;
use engine::kernels::{
    gemm_with, gemv_with, quantize_activations, KernelError, Parallelism, QuantizedActivations,
    TernaryMatrix,
};
use engine::quant::{Format, Scale};
use proptest::prelude::*;

const FORMATS: [Format; 4] = [Format::I2S, Format::TL1, Format::TL2, Format::TQ2_0];

struct Case {
    format: Format,
    rows: usize,
    cols: usize,
    tokens: usize,
    codes: Vec<i8>,
    scale: Scale,
    x: Vec<f32>,
}

/// A case from (format index, rows, cols / row multiple, tokens, seed); the
/// strategy draws these five numbers so failures print small.
fn build(f: usize, rows: usize, mult: usize, tokens: usize, seed: u64) -> Case {
    {
        {
            let format = FORMATS[f];
            let cols = format.row_multiple() * mult;
            let mut rng = Lcg(seed);
            let codes = (0..rows * cols)
                .map(|_| (rng.next() % 3) as i8 - 1)
                .collect();
            let scale = if format.has_tensor_scale() {
                Scale::Tensor(rng.unit() * 2.0 + 0.01)
            } else {
                let blocks = rows * cols / format.block_weights();
                Scale::PerBlock((0..blocks).map(|_| rng.unit() - 0.3).collect())
            };
            // Heavy-tailed activations so absmax clipping and rounding matter.
            let x = (0..tokens * cols)
                .map(|_| {
                    (rng.unit() - 0.5)
                        * if rng.next().is_multiple_of(17) {
                            40.0
                        } else {
                            1.0
                        }
                })
                .collect();
            Case {
                format,
                rows,
                cols,
                tokens,
                codes,
                scale,
                x,
            }
        }
    }
}

/// Small deterministic generator so a proptest seed fixes the whole case.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn unit(&mut self) -> f32 {
        (self.next() % (1 << 24)) as f32 / (1 << 24) as f32
    }
}

/// f64 product of the dequantized weights and dequantized activations;
/// returns (value, sum of |terms|) per (token, row).
fn reference(c: &Case, q: &QuantizedActivations) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for t in 0..c.tokens {
        let s = q.scales()[t] as f64;
        for r in 0..c.rows {
            let (mut v, mut norm) = (0.0f64, 0.0f64);
            for k in 0..c.cols {
                let scale = match &c.scale {
                    Scale::Tensor(g) => *g as f64,
                    Scale::PerBlock(d) => d[(r * c.cols + k) / 256] as f64,
                };
                let term = c.codes[r * c.cols + k] as f64 * scale * (q.token(t)[k] as f64 / s);
                v += term;
                norm += term.abs();
            }
            out.push((v, norm));
        }
    }
    out
}

fn check(c: &Case) {
    let packed_for = |level| {
        TernaryMatrix::from_codes_for(level, c.format, &c.codes, c.scale.clone(), c.rows, c.cols)
            .unwrap()
    };
    let w = packed_for(SimdLevel::Scalar);
    let q = quantize_activations(&c.x, c.tokens, c.cols).unwrap();
    let mut expected = vec![0.0f32; c.tokens * c.rows];
    gemm_with(
        SimdLevel::Scalar,
        &w,
        &q,
        &mut expected,
        Parallelism::single(),
    )
    .unwrap();
    for ((y, (v, norm)), i) in expected.iter().zip(reference(c, &q)).zip(0..) {
        let err = (*y as f64 - v).abs();
        assert!(
            err <= 1e-5 * v.abs() + 1e-12 * norm,
            "{}: output {i}: {y} vs f64 reference {v}",
            c.format
        );
    }
    // Each level's kernels on the matrix laid out for each level (TL2's
    // AVX-512 records differ from the others), whatever this CPU runs.
    for packed in [SimdLevel::Avx2, SimdLevel::Avx512] {
        let w = packed_for(packed);
        for level in SimdLevel::supported() {
            for threads in [1, 2, 3] {
                let par = Parallelism::threads(threads);
                let mut got = vec![f32::NAN; c.tokens * c.rows];
                gemm_with(level, &w, &q, &mut got, par).unwrap();
                assert_eq!(
                    bits(&got),
                    bits(&expected),
                    "{} gemm {level} {threads}t {}x{}x{} packed for {packed}",
                    c.format,
                    c.tokens,
                    c.rows,
                    c.cols
                );
                let q1 = quantize_activations(&c.x[..c.cols], 1, c.cols).unwrap();
                let mut got = vec![f32::NAN; c.rows];
                gemv_with(level, &w, &q1, &mut got, par).unwrap();
                assert_eq!(
                    bits(&got),
                    bits(&expected[..c.rows]),
                    "{} gemv {level} {threads}t {}x{} packed for {packed}",
                    c.format,
                    c.rows,
                    c.cols
                );
            }
        }
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(debug_assertions) { 24 } else { 128 }))]

    #[test]
    fn all_paths_bit_identical_and_match_f64_reference(
        f in 0..FORMATS.len(),
        rows in prop_oneof![1usize..=23, 60usize..=200, 280usize..=400],
        mult in 1usize..=9,
        tokens in 1usize..=6,
        seed in any::<u64>(),
    ) {
        check(&build(f, rows, mult, tokens, seed));
    }
}

/// Tile counts that two and three threads cannot share in whole tiles.
/// Up to 64 tiles per thread (TL1 640 rows = 5 tiles, TL2 7 with a padded
/// last one, TL1 17, TL2 25): the GEMV gives each thread a span of `k`
/// over every tile. More (129 tiles on 2 threads): each thread gets an
/// even share of tiles x `k`, which splits a tile between two threads.
/// Both must match bit for bit.
#[test]
fn tiles_shared_between_threads_stay_exact() {
    for (f, rows) in [(1, 640), (2, 640), (1, 5 * 128 + 7), (2, 7 * 96 - 5)] {
        let mult = 2560 / FORMATS[f].row_multiple();
        check(&build(f, rows, mult, 2, rows as u64));
    }
    for (f, rows) in [
        (1, 17 * 128 - 3),
        (2, 25 * 96 - 5),
        (1, 129 * 128 - 3),
        (2, 129 * 96 - 5),
    ] {
        let mult = 320 / FORMATS[f].row_multiple();
        check(&build(f, rows, mult, 1, rows as u64));
    }
}

/// Enough tokens per thread that lookup-table GEMMs split tokens instead
/// of rows (each thread builds its own tokens' tables).
#[test]
fn token_split_gemm_stays_exact() {
    for f in 0..FORMATS.len() {
        check(&build(f, 200, 3, 13, 7 + f as u64));
    }
}

#[test]
fn extreme_activations_and_codes_stay_exact() {
    // All codes -1 (offset code 0) or all +1 (offset code 2, the largest
    // products the AVX2 i16 partial sums hold: 10 chunks, so several i16
    // flushes) against activations at full scale: the largest sums the
    // integer paths must hold. 131 rows x 5 tokens leave remainders of
    // every register tile.
    for (format, code) in FORMATS.into_iter().flat_map(|f| [(f, -1i8), (f, 1)]) {
        let (rows, cols, tokens) = (131, 2560, 5);
        let codes = vec![code; rows * cols];
        let scale = if format.has_tensor_scale() {
            Scale::Tensor(1.0)
        } else {
            Scale::PerBlock(vec![1.0; rows * cols / 256])
        };
        let mut x = vec![-1.0f32; tokens * cols];
        x[7] = 0.5;
        check(&Case {
            format,
            rows,
            cols,
            tokens,
            codes,
            scale,
            x,
        });
    }
}

#[test]
fn mismatched_shapes_are_typed_errors() {
    let w = TernaryMatrix::from_codes(Format::I2S, &[1; 256], Scale::Tensor(1.0), 2, 128).unwrap();
    let q = quantize_activations(&[1.0; 256], 2, 128).unwrap();
    let mut out = [0.0; 4];
    let e = gemv_with(
        SimdLevel::Scalar,
        &w,
        &q,
        &mut out[..2],
        Parallelism::single(),
    );
    assert!(matches!(e, Err(KernelError::Shape { .. })), "{e:?}");
    let e = gemm_with(
        SimdLevel::Scalar,
        &w,
        &q,
        &mut out[..3],
        Parallelism::single(),
    );
    assert!(matches!(e, Err(KernelError::Shape { .. })), "{e:?}");
    let q = quantize_activations(&[1.0; 256], 1, 256).unwrap();
    let e = gemm_with(
        SimdLevel::Scalar,
        &w,
        &q,
        &mut out[..2],
        Parallelism::single(),
    );
    assert!(e.unwrap_err().to_string().contains("256 values per token"));
    let e = gemm_with(
        SimdLevel::Scalar,
        &w,
        &q,
        &mut out[..2],
        Parallelism::threads(0),
    );
    assert!(matches!(e, Err(KernelError::Shape { .. })));
    for format in FORMATS {
        let cols = format.row_multiple() + 16;
        let e = TernaryMatrix::from_codes(format, &vec![0; cols], Scale::Tensor(1.0), 1, cols);
        let msg = e.unwrap_err().to_string();
        assert!(msg.contains("not a multiple"), "{format}: {msg}");
    }
}

#[test]
fn from_packed_matches_the_dequantized_file_tensor() {
    use engine::quant::{dequantize, quantize};
    let (rows, cols) = (70, 768);
    let mut rng = Lcg(7);
    let wf: Vec<f32> = (0..rows * cols).map(|_| rng.unit() - 0.5).collect();
    let x: Vec<f32> = (0..cols).map(|_| rng.unit() * 2.0 - 1.0).collect();
    let q = quantize_activations(&x, 1, cols).unwrap();
    for format in [
        Format::I2S,
        Format::TL1,
        Format::TL2,
        Format::TQ2_0,
        Format::TQ1_0,
    ] {
        let mut packed = vec![0u8; format.packed_size(rows, cols).unwrap()];
        quantize(format, &wf, rows, cols, &mut packed).unwrap();
        let mut deq = vec![0.0f32; rows * cols];
        dequantize(format, &packed, rows, cols, &mut deq).unwrap();
        let w = TernaryMatrix::from_packed(format, &packed, rows, cols).unwrap();
        assert_eq!((w.rows(), w.cols(), w.format()), (rows, cols, format));
        let mut out = vec![0.0f32; rows];
        gemv_with(
            SimdLevel::detect_best(),
            &w,
            &q,
            &mut out,
            Parallelism::single(),
        )
        .unwrap();
        let s = q.scales()[0] as f64;
        for r in 0..rows {
            let (mut v, mut norm) = (0.0f64, 0.0f64);
            for k in 0..cols {
                let term = deq[r * cols + k] as f64 * q.token(0)[k] as f64 / s;
                v += term;
                norm += term.abs();
            }
            assert!(
                (out[r] as f64 - v).abs() <= 1e-5 * v.abs() + 1e-12 * norm,
                "{format} row {r}: {} vs {v}",
                out[r]
            );
        }
    }
    let e = TernaryMatrix::from_packed(Format::I2S, &[0u8; 10], rows, cols);
    assert!(matches!(e, Err(KernelError::Quant(_))), "{e:?}");
}
