//! Raw ggml block layouts that can appear next to ternary weights (embeddings
//! and output heads are often kept in Q8_0 or Q6_K). They are viewed in
//! place, never converted here; `#[repr(C)]` with no padding so a file's
//! bytes can be reinterpreted with `bytemuck`.

use bytemuck::{Pod, Zeroable};
use half::f16;

/// `block_q8_0`: 32 weights = `d * qs[i]`.
///
/// ```text
/// byte 0..2   d   (f16)
/// byte 2..34  qs  (i8 x 32)
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct BlockQ8_0 {
    pub d: f16,
    pub qs: [i8; 32],
}

/// `block_q6_K`: 256 weights in 16 groups of 16, 6-bit quants split into low
/// nibbles (`ql`) and high pairs (`qh`), one i8 scale per group, one f16
/// super-scale.
///
/// ```text
/// byte 0..128    ql      (low 4 bits)
/// byte 128..192  qh      (high 2 bits)
/// byte 192..208  scales  (i8 x 16)
/// byte 208..210  d       (f16)
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct BlockQ6K {
    pub ql: [u8; 128],
    pub qh: [u8; 64],
    pub scales: [i8; 16],
    pub d: f16,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::GgmlType;

    #[test]
    fn sizes_match_the_type_table() {
        assert_eq!(
            std::mem::size_of::<BlockQ8_0>(),
            GgmlType::Q8_0.block_bytes()
        );
        assert_eq!(
            std::mem::size_of::<BlockQ6K>(),
            GgmlType::Q6_K.block_bytes()
        );
    }
}
