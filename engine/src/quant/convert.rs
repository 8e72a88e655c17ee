//! Conversion between formats through ternary codes and scales.
//!
//! Codes always carry over unchanged. Scales:
//! - among I2S, TL1, TL2 (one tensor scale) and between TQ1_0 and TQ2_0
//!   (per-block f16 scales) the bytes convert losslessly both ways;
//! - tensor scale -> TQ: each block with a non-zero code gets `d = f16(gamma)`,
//!   an all-zero block `d = 0`. This is exactly what ggml's quantizer writes
//!   for the dequantized tensor (for gamma >= 0), so values change only by
//!   the f16 rounding of gamma; a gamma beyond f16 range is an error;
//! - TQ -> tensor scale: every block with a non-zero code must have the same
//!   `d`, which becomes gamma exactly (a tensor of only zeros takes block 0's
//!   `d`); otherwise the tensor has no per-tensor form and the conversion is
//!   an [`QuantError::Unrepresentable`] error rather than a requantization.

use super::api::{pack, sizes, unpack, Scale};
use super::tq_common::{self, BLOCK};
use super::{Format, QuantError};

/// Converts a packed `rows x cols` tensor from one format to another.
pub fn convert(
    from: Format,
    to: Format,
    src: &[u8],
    rows: usize,
    cols: usize,
) -> Result<Vec<u8>, QuantError> {
    let (n, _) = sizes(from, rows, cols)?;
    let (_, out_size) = sizes(to, rows, cols)?;
    let mut codes = vec![0i8; n];
    let scale = unpack(from, src, rows, cols, &mut codes)?;
    let scale = map_scale(from, to, &codes, scale)?;
    let mut dst = vec![0u8; out_size];
    pack(to, &codes, &scale, rows, cols, &mut dst)?;
    Ok(dst)
}

fn map_scale(from: Format, to: Format, codes: &[i8], scale: Scale) -> Result<Scale, QuantError> {
    let unrepresentable = |reason: String| QuantError::Unrepresentable {
        from: from.name(),
        to: to.name(),
        reason,
    };
    let nonzero_blocks = || codes.chunks_exact(BLOCK).map(|t| t.iter().any(|&c| c != 0));
    Ok(match (scale, to.has_tensor_scale()) {
        (s @ Scale::Tensor(_), true) | (s @ Scale::PerBlock(_), false) => s,
        (Scale::Tensor(gamma), false) => {
            let d = tq_common::scale_value(tq_common::scale_bytes(gamma));
            if !d.is_finite() {
                return Err(unrepresentable(format!(
                    "tensor scale {gamma} is outside the f16 range of {to} block scales"
                )));
            }
            Scale::PerBlock(
                nonzero_blocks()
                    .map(|nz| if nz { gamma } else { 0.0 })
                    .collect(),
            )
        }
        (Scale::PerBlock(ds), true) => {
            let mut common: Option<(usize, f32)> = None;
            for (b, nz) in nonzero_blocks().enumerate() {
                if !nz {
                    continue;
                }
                match common {
                    None => common = Some((b, ds[b])),
                    Some((b0, d0)) if d0.to_bits() != ds[b].to_bits() => {
                        return Err(unrepresentable(format!(
                            "block {b0} has scale {d0} but block {b} has {}; \
                             {to} holds one scale per tensor",
                            ds[b]
                        )))
                    }
                    Some(_) => {}
                }
            }
            Scale::Tensor(common.map_or(ds[0], |(_, d)| d))
        }
    })
}
