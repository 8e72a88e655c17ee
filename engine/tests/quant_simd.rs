//! Every SIMD level this CPU supports writes the same bytes (and f32 bits,
//! and errors) as the scalar reference, for every format on random shapes.

mod common;

use engine::cpu::SimdLevel;
use engine::quant::{self, Format};
use proptest::prelude::*;
use rand::Rng;

/// Inputs that reach every branch: Gaussian, exact ternary x gamma (the
/// keep-gamma path), many zeros and repeats, and values under the gamma floor.
fn input(kind: u8, n: usize, seed: u64) -> Vec<f32> {
    let mut r = common::rng(seed);
    let sigma = 10f32.powf(r.gen_range(-3.0..1.0));
    match kind {
        0 => common::gaussian(n, sigma, seed),
        1 => common::codes(n, seed)
            .iter()
            .map(|&c| c as f32 * sigma)
            .collect(),
        2 => common::gaussian(n, sigma, seed)
            .into_iter()
            .enumerate()
            .map(|(i, v)| match i % 7 {
                0 | 3 => 0.0,
                5 => -sigma,
                _ => v,
            })
            .collect(),
        _ => common::gaussian(n, 1e-7, seed),
    }
}

fn check_format(format: Format, rows: usize, cols: usize, kind: u8, seed: u64) {
    let n = rows * cols;
    let src = input(kind, n, seed);
    let size = format.packed_size(rows, cols).unwrap();
    let mut reference = vec![0u8; size];
    quant::quantize_with(SimdLevel::Scalar, format, &src, rows, cols, &mut reference).unwrap();
    let mut ref_out = vec![0f32; n];
    quant::dequantize_with(
        SimdLevel::Scalar,
        format,
        &reference,
        rows,
        cols,
        &mut ref_out,
    )
    .unwrap();
    let ref_bits: Vec<u32> = ref_out.iter().map(|v| v.to_bits()).collect();

    // Corrupted copy: a few random bytes flipped (may or may not be valid).
    let mut r = common::rng(seed ^ 0x5eed);
    let mut corrupt = reference.clone();
    for _ in 0..3 {
        let i = r.gen_range(0..size);
        corrupt[i] ^= r.gen_range(1..=255u8);
    }
    let mut ref_corrupt = vec![0f32; n];
    let ref_corrupt_res = quant::dequantize_with(
        SimdLevel::Scalar,
        format,
        &corrupt,
        rows,
        cols,
        &mut ref_corrupt,
    );

    // Non-finite input at a random index.
    let mut poisoned = src.clone();
    let at = r.gen_range(0..n);
    poisoned[at] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][at % 3];
    let mut scratch = vec![0u8; size];
    let ref_poison = quant::quantize_with(
        SimdLevel::Scalar,
        format,
        &poisoned,
        rows,
        cols,
        &mut scratch,
    );
    assert!(ref_poison.is_err());

    for level in SimdLevel::supported() {
        let mut packed = vec![0u8; size];
        quant::quantize_with(level, format, &src, rows, cols, &mut packed).unwrap();
        if let Some(i) = (0..size).find(|&i| packed[i] != reference[i]) {
            panic!(
                "{format} {rows}x{cols} kind {kind}: {level} byte {i} = {:#04x}, scalar {:#04x}",
                packed[i], reference[i]
            );
        }
        let mut out = vec![0f32; n];
        quant::dequantize_with(level, format, &reference, rows, cols, &mut out).unwrap();
        let bits: Vec<u32> = out.iter().map(|v| v.to_bits()).collect();
        assert!(
            bits == ref_bits,
            "{format} {rows}x{cols}: {level} dequantize differs"
        );

        let res = quant::dequantize_with(level, format, &corrupt, rows, cols, &mut out);
        assert_eq!(res, ref_corrupt_res, "{format}: {level} on corrupt bytes");
        if res.is_ok() {
            let same = out
                .iter()
                .zip(&ref_corrupt)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(
                same,
                "{format}: {level} dequantize of corrupt-but-valid bytes differs"
            );
        }
        let poison = quant::quantize_with(level, format, &poisoned, rows, cols, &mut scratch);
        // Debug text: the error carries the NaN itself, and NaN != NaN.
        assert_eq!(
            format!("{poison:?}"),
            format!("{ref_poison:?}"),
            "{format}: {level} on non-finite input"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(debug_assertions) { 48 } else { 256 }))]

    #[test]
    fn simd_levels_match_scalar(
        f in 0usize..5,
        rows in 1usize..4,
        mult in 1usize..14,
        kind in 0u8..4,
        seed in any::<u64>(),
    ) {
        let format = Format::ALL[f];
        check_format(format, rows, mult * format.row_multiple(), kind, seed);
    }
}

#[test]
fn simd_levels_match_scalar_on_model_shapes() {
    // Row lengths of BitNet b1.58 2B4T (2560, 6912) with a TL2 tail of 64 and 0.
    for format in Format::ALL {
        for cols in [2560, 6912] {
            check_format(format, 2, cols, 0, cols as u64);
            check_format(format, 2, cols, 1, cols as u64 + 1);
        }
    }
}
