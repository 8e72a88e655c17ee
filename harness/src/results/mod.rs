//! The results/baseline file: one versioned JSON document holding the raw
//! per-iteration samples of every benchmark for every matrix entry, plus the
//! environment they were measured in. Documented in `baselines/SCHEMA.md`.

pub mod criterion;
pub mod io;
pub mod schema;

pub use io::{load_results, save_results};
pub use schema::*;
