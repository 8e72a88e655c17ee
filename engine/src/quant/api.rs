//! The public entry points: quantize/dequantize f32 tensors, pack/unpack
//! ternary codes, all shape- and size-checked into typed errors.
//!
//! Shapes are `(rows, cols)` with `cols` contiguous. The hot calls write into
//! caller-provided buffers of exactly [`Format::packed_size`] bytes (or
//! `rows * cols` floats) and allocate nothing; `*_to_vec` wrap them.

use super::codes::{self, value_table};
use super::dispatch::{self, BlockCodec, Codec, TensorCodec, TqFault};
use super::format::TENSOR_SCALE_BYTES;
use super::tensor_scale;
use super::{i2s, tl1, tl2, tq1_0, tq2_0, tq_common, Format, QuantError};
use crate::cpu::SimdLevel;

/// The scale(s) that multiply ternary codes back into weights.
#[derive(Debug, Clone, PartialEq)]
pub enum Scale {
    /// One scale for the whole tensor (I2S, TL1, TL2).
    Tensor(f32),
    /// One scale per 256-block, row-major (TQ1_0, TQ2_0; stored as f16, so
    /// [`pack`] rounds each to the nearest f16).
    PerBlock(Vec<f32>),
}

/// Quantizes `src` (`rows * cols` floats) into `dst` at [`SimdLevel::active`].
pub fn quantize(
    format: Format,
    src: &[f32],
    rows: usize,
    cols: usize,
    dst: &mut [u8],
) -> Result<(), QuantError> {
    quantize_with(SimdLevel::active(), format, src, rows, cols, dst)
}

/// Dequantizes `src` into `dst` (`rows * cols` floats) at [`SimdLevel::active`].
pub fn dequantize(
    format: Format,
    src: &[u8],
    rows: usize,
    cols: usize,
    dst: &mut [f32],
) -> Result<(), QuantError> {
    dequantize_with(SimdLevel::active(), format, src, rows, cols, dst)
}

/// [`quantize`] at an explicit SIMD level (every level writes the same bytes).
///
/// I2S/TL1/TL2: gamma = absmean (or the common magnitude of an
/// already-ternary tensor, see [`super::tensor_scale`]), codes
/// `clamp(round(w / gamma), -1, 1)`. TQ1_0/TQ2_0: ggml's absmax per
/// 256-block ([`super::tq_common`]). On error `dst` is unspecified.
pub fn quantize_with(
    level: SimdLevel,
    format: Format,
    src: &[f32],
    rows: usize,
    cols: usize,
    dst: &mut [u8],
) -> Result<(), QuantError> {
    check_level(level)?;
    let (n, size) = sizes(format, rows, cols)?;
    check_len(format, "f32 input", n, src.len())?;
    check_len(format, "packed output", size, dst.len())?;
    match Codec::of(format) {
        Codec::Tensor(codec) => {
            let stats = dispatch::abs_stats(level, src);
            let gamma = tensor_scale::gamma(format.name(), src, &stats)?;
            let (body, trailer) = dst.split_at_mut(size - TENSOR_SCALE_BYTES);
            dispatch::encode_tensor(level, codec, src, cols, 0.5 * gamma, body);
            tensor_scale::write_trailer(trailer, gamma);
        }
        Codec::Block(codec) => {
            if !dispatch::tq_quantize(level, codec, src, dst) {
                return Err(tensor_scale::first_non_finite(format.name(), src));
            }
        }
    }
    Ok(())
}

/// [`dequantize`] at an explicit SIMD level (every level writes the same bits).
pub fn dequantize_with(
    level: SimdLevel,
    format: Format,
    src: &[u8],
    rows: usize,
    cols: usize,
    dst: &mut [f32],
) -> Result<(), QuantError> {
    check_level(level)?;
    let (n, size) = sizes(format, rows, cols)?;
    check_len(format, "packed input", size, src.len())?;
    check_len(format, "f32 output", n, dst.len())?;
    match Codec::of(format) {
        Codec::Tensor(codec) => {
            let (body, trailer) = src.split_at(size - TENSOR_SCALE_BYTES);
            let gamma = tensor_scale::read_trailer(format.name(), trailer)?;
            dispatch::decode_tensor(level, codec, body, cols, &value_table(gamma), dst)
                .map_err(|i| bad_code(format, i))
        }
        Codec::Block(codec) => {
            dispatch::tq_dequantize(level, codec, src, dst).map_err(|f| match f {
                TqFault::Code(i) => bad_code(format, i),
                TqFault::Scale(b) => QuantError::Corrupt {
                    format: format.name(),
                    reason: format!("block {b} has a non-finite f16 scale"),
                },
            })
        }
    }
}

/// Allocating [`quantize`].
pub fn quantize_to_vec(
    format: Format,
    src: &[f32],
    rows: usize,
    cols: usize,
) -> Result<Vec<u8>, QuantError> {
    let mut dst = vec![0u8; format.packed_size(rows, cols)?];
    quantize(format, src, rows, cols, &mut dst)?;
    Ok(dst)
}

/// Allocating [`dequantize`].
pub fn dequantize_to_vec(
    format: Format,
    src: &[u8],
    rows: usize,
    cols: usize,
) -> Result<Vec<f32>, QuantError> {
    let (n, _) = sizes(format, rows, cols)?;
    let mut dst = vec![0f32; n];
    dequantize(format, src, rows, cols, &mut dst)?;
    Ok(dst)
}

/// Reads the ternary codes (`-1, 0, 1`, row-major into `codes`) and the
/// scale(s) of a packed tensor.
pub fn unpack(
    format: Format,
    packed: &[u8],
    rows: usize,
    cols: usize,
    codes: &mut [i8],
) -> Result<Scale, QuantError> {
    let (n, size) = sizes(format, rows, cols)?;
    check_len(format, "packed input", size, packed.len())?;
    check_len(format, "codes output", n, codes.len())?;
    let bad = |i| bad_code(format, i);
    match Codec::of(format) {
        Codec::Tensor(codec) => {
            let (body, trailer) = packed.split_at(size - TENSOR_SCALE_BYTES);
            let gamma = tensor_scale::read_trailer(format.name(), trailer)?;
            match codec {
                TensorCodec::I2S => {
                    decode_blocks(body, i2s::BLOCK_BYTES, codes, i2s::BLOCK, |b, t| {
                        i2s::decode_block(b, t)
                    })
                }
                TensorCodec::TL1 => {
                    decode_blocks(body, tl1::BLOCK_BYTES, codes, tl1::BLOCK, |b, t| {
                        tl1::decode_run(b, t)
                    })
                }
                TensorCodec::TL2 => {
                    let row_bytes = format.row_bytes(cols)?;
                    decode_blocks(body, row_bytes, codes, cols, tl2::decode_row)
                }
            }
            .map_err(bad)?;
            Ok(Scale::Tensor(gamma))
        }
        Codec::Block(codec) => {
            let mut scales = Vec::with_capacity(n / tq_common::BLOCK);
            let bb = format.block_bytes();
            for (bi, (b, t)) in packed
                .chunks_exact(bb)
                .zip(codes.chunks_exact_mut(tq_common::BLOCK))
                .enumerate()
            {
                let d = match codec {
                    BlockCodec::TQ1_0 => tq1_0::decode_block(b, t),
                    BlockCodec::TQ2_0 => {
                        tq2_0::decode_block(b, t).map_err(|j| bad(bi * tq_common::BLOCK + j))?
                    }
                };
                scales.push(d);
            }
            Ok(Scale::PerBlock(scales))
        }
    }
}

/// Writes ternary `codes` (row-major, each -1, 0 or 1) and `scale` as a
/// packed tensor. I2S/TL1/TL2 take [`Scale::Tensor`], TQ1_0/TQ2_0 take
/// [`Scale::PerBlock`] with one finite scale per 256-block.
pub fn pack(
    format: Format,
    codes: &[i8],
    scale: &Scale,
    rows: usize,
    cols: usize,
    dst: &mut [u8],
) -> Result<(), QuantError> {
    let (n, size) = sizes(format, rows, cols)?;
    check_len(format, "codes input", n, codes.len())?;
    check_len(format, "packed output", size, dst.len())?;
    codes::check_codes(format.name(), codes)?;
    match (Codec::of(format), scale) {
        (Codec::Tensor(codec), Scale::Tensor(gamma)) => {
            if !gamma.is_finite() {
                return Err(scale_error(format, format!("tensor scale is {gamma}")));
            }
            let (body, trailer) = dst.split_at_mut(size - TENSOR_SCALE_BYTES);
            match codec {
                TensorCodec::I2S => {
                    encode_blocks(codes, i2s::BLOCK, body, i2s::BLOCK_BYTES, i2s::encode_block)
                }
                TensorCodec::TL1 => {
                    encode_blocks(codes, tl1::BLOCK, body, tl1::BLOCK_BYTES, tl1::encode_run)
                }
                TensorCodec::TL2 => {
                    let row_bytes = format.row_bytes(cols)?;
                    encode_blocks(codes, cols, body, row_bytes, tl2::encode_row)
                }
            }
            tensor_scale::write_trailer(trailer, *gamma);
            Ok(())
        }
        (Codec::Block(codec), Scale::PerBlock(scales)) => {
            check_len(
                format,
                "per-block scales",
                n / tq_common::BLOCK,
                scales.len(),
            )?;
            if let Some(b) = scales.iter().position(|s| !s.is_finite()) {
                return Err(scale_error(
                    format,
                    format!("block {b} scale is {}", scales[b]),
                ));
            }
            let bb = format.block_bytes();
            for ((t, out), &d) in codes
                .chunks_exact(tq_common::BLOCK)
                .zip(dst.chunks_exact_mut(bb))
                .zip(scales)
            {
                let d = tq_common::scale_bytes(d);
                match codec {
                    BlockCodec::TQ1_0 => tq1_0::encode_block(t, d, out),
                    BlockCodec::TQ2_0 => tq2_0::encode_block(t, d, out),
                }
            }
            Ok(())
        }
        (Codec::Tensor(_), Scale::PerBlock(_)) => Err(scale_error(
            format,
            "needs one tensor scale (Scale::Tensor), got per-block scales".into(),
        )),
        (Codec::Block(_), Scale::Tensor(_)) => Err(scale_error(
            format,
            "needs per-block scales (Scale::PerBlock), got one tensor scale".into(),
        )),
    }
}

fn decode_blocks(
    body: &[u8],
    bytes: usize,
    codes: &mut [i8],
    weights: usize,
    decode: impl Fn(&[u8], &mut [i8]) -> Result<(), usize>,
) -> Result<(), usize> {
    for (bi, (b, t)) in body
        .chunks_exact(bytes)
        .zip(codes.chunks_exact_mut(weights))
        .enumerate()
    {
        decode(b, t).map_err(|j| bi * weights + j)?;
    }
    Ok(())
}

fn encode_blocks(
    codes: &[i8],
    weights: usize,
    body: &mut [u8],
    bytes: usize,
    encode: impl Fn(&[i8], &mut [u8]),
) {
    for (t, out) in codes
        .chunks_exact(weights)
        .zip(body.chunks_exact_mut(bytes))
    {
        encode(t, out);
    }
}

fn check_level(level: SimdLevel) -> Result<(), QuantError> {
    if level.is_supported() {
        Ok(())
    } else {
        Err(QuantError::UnsupportedSimd {
            level: level.name(),
        })
    }
}

/// `(rows * cols, packed_size)` after validating the shape.
pub(super) fn sizes(
    format: Format,
    rows: usize,
    cols: usize,
) -> Result<(usize, usize), QuantError> {
    let size = format.packed_size(rows, cols)?;
    let n = rows.checked_mul(cols).ok_or_else(|| QuantError::Corrupt {
        format: format.name(),
        reason: format!("{rows} x {cols} overflows usize"),
    })?;
    Ok((n, size))
}

fn check_len(
    format: Format,
    what: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), QuantError> {
    if expected == got {
        Ok(())
    } else {
        Err(QuantError::BufferSize {
            format: format.name(),
            what,
            expected,
            got,
        })
    }
}

fn bad_code(format: Format, index: usize) -> QuantError {
    QuantError::Corrupt {
        format: format.name(),
        reason: format!("invalid code for the weight at index {index}"),
    }
}

fn scale_error(format: Format, reason: String) -> QuantError {
    QuantError::Scale {
        format: format.name(),
        reason,
    }
}
