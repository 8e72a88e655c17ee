//! Running the criterion suites of `benches/` across the feature matrix and
//! collecting their raw samples.

pub mod exec;
pub mod matrix;
pub mod run;
pub mod suites;
pub mod workspace;

pub use matrix::MatrixEntry;
pub use run::{run_suites, RunOptions};
