//! The `bitnet` command line: a thin wrapper over the engine library.

use clap::{Parser, Subcommand};
use engine::cpu::SimdLevel;

#[derive(Parser)]
#[command(
    name = "bitnet",
    version,
    about = "BitNet b1.58 ternary inference engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the CPU features the kernels will use.
    Cpu,
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Cpu => {
            let active = SimdLevel::active();
            let supported: Vec<_> = SimdLevel::supported().iter().map(|l| l.name()).collect();
            println!("simd: {active} (supported: {})", supported.join(", "));
            println!("vnni: {}", active.has_vnni());
        }
    }
}
