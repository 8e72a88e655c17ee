//! Pure statistics: no I/O, tested against published values.
//!
//! Observations are per-iteration times (criterion's `time / iters` for each
//! sample). Everything here is a plain function of numbers so it can be checked
//! against scipy and R outputs and reused by simulations.

pub mod correction;
pub mod power;
pub mod summary;
pub mod welch;

pub use correction::{adjust, Correction};
pub use power::minimum_detectable_difference;
pub use summary::Summary;
pub use welch::{welch, Welch};
