//! SIMD paths of the quantization passes, one file per instruction set.
//!
//! Each function here produces exactly the bytes (and f32 bits) of the
//! scalar reference in the format's own module; `tests/quant_simd.rs`
//! checks that on random shapes for every level this CPU supports. The
//! functions are `#[target_feature]`: callers must have checked
//! [`crate::cpu::SimdLevel::is_supported`] first.

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;
pub mod tables;
