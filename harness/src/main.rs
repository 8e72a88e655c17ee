//! `perf-gate`: thin binary over the `perf_gate` library.

fn main() {
    eprintln!("perf-gate: no subcommands yet");
    std::process::exit(2);
}
