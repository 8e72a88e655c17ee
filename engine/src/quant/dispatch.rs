//! Routes each pass of quantization to the scalar reference or to the SIMD
//! path of the requested level. Callers have checked that the level is
//! supported by this CPU; the per-ISA files hold the only `unsafe` code.

use super::tensor_scale::{self, AbsStats};
use super::{i2s, tl1, tl2, tq1_0, tq2_0, tq_common, Format};
use crate::cpu::SimdLevel;

/// How a format is quantized: one tensor scale or one scale per block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Tensor(TensorCodec),
    Block(BlockCodec),
}

/// Formats with one f32 scale per tensor.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorCodec {
    I2S,
    TL1,
    TL2,
}

/// Formats with one f16 scale per 256-block.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockCodec {
    TQ1_0,
    TQ2_0,
}

impl Codec {
    pub fn of(format: Format) -> Codec {
        match format {
            Format::I2S => Codec::Tensor(TensorCodec::I2S),
            Format::TL1 => Codec::Tensor(TensorCodec::TL1),
            Format::TL2 => Codec::Tensor(TensorCodec::TL2),
            Format::TQ1_0 => Codec::Block(BlockCodec::TQ1_0),
            Format::TQ2_0 => Codec::Block(BlockCodec::TQ2_0),
        }
    }
}

/// Why a TQ block could not be dequantized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TqFault {
    /// Weight index (in the tensor) with the unused code 3.
    Code(usize),
    /// Block whose f16 scale is NaN or infinite.
    Scale(usize),
}

/// First pass of I2S/TL1/TL2 quantization.
pub fn abs_stats(level: SimdLevel, src: &[f32]) -> AbsStats {
    match level {
        SimdLevel::Scalar => tensor_scale::abs_stats(src),
        SimdLevel::Avx2 | SimdLevel::Avx512 => tensor_scale::abs_stats(src),
    }
}

/// Second pass of I2S/TL1/TL2 quantization: codes into `body` (no trailer).
pub fn encode_tensor(
    level: SimdLevel,
    codec: TensorCodec,
    src: &[f32],
    cols: usize,
    half: f32,
    body: &mut [u8],
) {
    let _ = level;
    match codec {
        TensorCodec::I2S => i2s::quantize_body(src, half, body),
        TensorCodec::TL1 => tl1::quantize_body(src, half, body),
        TensorCodec::TL2 => tl2::quantize_body(src, cols, half, body),
    }
}

/// Dequantizes `body` of I2S/TL1/TL2; `Err(i)` names a weight with an
/// invalid code.
pub fn decode_tensor(
    level: SimdLevel,
    codec: TensorCodec,
    body: &[u8],
    cols: usize,
    table: &[f32; 3],
    dst: &mut [f32],
) -> Result<(), usize> {
    let _ = level;
    match codec {
        TensorCodec::I2S => i2s::dequantize_body(body, table, dst),
        TensorCodec::TL1 => tl1::dequantize_body(body, table, dst),
        TensorCodec::TL2 => tl2::dequantize_body(body, cols, table, dst),
    }
}

/// Quantizes TQ1_0/TQ2_0 blocks; `false` when some input is not finite
/// (`dst` is then unspecified).
pub fn tq_quantize(level: SimdLevel, codec: BlockCodec, src: &[f32], dst: &mut [u8]) -> bool {
    let _ = level;
    if !src.iter().all(|v| v.is_finite()) {
        return false;
    }
    match codec {
        BlockCodec::TQ1_0 => tq1_0::quantize_body(src, dst),
        BlockCodec::TQ2_0 => tq2_0::quantize_body(src, dst),
    }
    true
}

/// Dequantizes TQ1_0/TQ2_0 blocks.
pub fn tq_dequantize(
    level: SimdLevel,
    codec: BlockCodec,
    src: &[u8],
    dst: &mut [f32],
) -> Result<(), TqFault> {
    let _ = level;
    let bb = match codec {
        BlockCodec::TQ1_0 => tq1_0::BLOCK_BYTES,
        BlockCodec::TQ2_0 => tq2_0::BLOCK_BYTES,
    };
    let mut t = [0i8; tq_common::BLOCK];
    for (bi, (b, y)) in src
        .chunks_exact(bb)
        .zip(dst.chunks_exact_mut(tq_common::BLOCK))
        .enumerate()
    {
        let d = match codec {
            BlockCodec::TQ1_0 => tq1_0::decode_block(b, &mut t),
            BlockCodec::TQ2_0 => tq2_0::decode_block(b, &mut t)
                .map_err(|j| TqFault::Code(bi * tq_common::BLOCK + j))?,
        };
        if !d.is_finite() {
            return Err(TqFault::Scale(bi));
        }
        let table = super::codes::value_table(d);
        for (yi, &ti) in y.iter_mut().zip(&t) {
            *yi = table[(ti + 1) as usize];
        }
    }
    Ok(())
}
