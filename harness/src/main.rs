//! `perf-gate`: thin binary over the `perf_gate` library.

fn main() {
    std::process::exit(perf_gate::cli::main());
}
