//! The `bitnet` command line: a thin wrapper over the engine library.

use clap::{Parser, Subcommand};
use engine::cpu::SimdLevel;
use engine::device::{self, DeviceSpec};

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
    /// Resolve `--device` and print the device the engine would run on.
    Device {
        /// auto (CUDA if usable, else CPU with one log line), cpu, cuda or cuda:N.
        #[arg(long, default_value = "auto")]
        device: DeviceSpec,
    },
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
        Command::Device { device } => match device::select(device) {
            Ok(d) => println!("device: {d}"),
            Err(e) => {
                eprintln!("bitnet: --device {device}: {e}");
                std::process::exit(1);
            }
        },
    }
}
