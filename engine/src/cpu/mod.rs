//! CPU feature detection and SIMD level selection shared by every kernel.

pub mod dispatch;

pub use dispatch::{SimdLevel, SIMD_ENV};
