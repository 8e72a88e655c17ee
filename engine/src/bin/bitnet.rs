//! The `bitnet` command line: a thin wrapper over the engine library.
//! Every failure prints one `error: ...` line and exits with status 1.

use clap::{Parser, Subcommand};
use engine::cpu::SimdLevel;
use engine::gguf::{requantize, GgufFile, InspectReport};
use engine::model::Architecture;
use engine::quant::Format;
use engine::synth::{self, Preset, SynthOptions, WeightType};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Show a GGUF file's architecture, hyperparameters, tokenizer, tensors
    /// and validation problems (exit status 1 if there are any).
    Inspect {
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Convert the ternary projection weights of a BitNet model to another
    /// format, copying everything else.
    Quantize {
        input: PathBuf,
        output: PathBuf,
        /// Target format: i2s, tl1, tl2, tq2_0 or tq1_0.
        #[arg(long = "type")]
        ty: Format,
    },
    /// Write a deterministic synthetic BitNet model.
    Synth {
        /// Shape preset: tiny or 2b4t.
        #[arg(long)]
        preset: Preset,
        #[arg(long)]
        layers: Option<usize>,
        #[arg(long)]
        hidden: Option<usize>,
        #[arg(long)]
        ffn: Option<usize>,
        #[arg(long)]
        heads: Option<usize>,
        #[arg(long = "kv-heads")]
        kv_heads: Option<usize>,
        #[arg(long)]
        vocab: Option<usize>,
        /// Projection weights: i2s, tl1, tl2, tq1_0, tq2_0, f32, f16 or bf16.
        #[arg(long = "type")]
        ty: WeightType,
        /// Architecture (default: bitnet-b1.58 for i2s/tl1/tl2, else bitnet).
        #[arg(long, value_parser = parse_arch)]
        arch: Option<Architecture>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

fn parse_arch(s: &str) -> Result<Architecture, String> {
    Architecture::from_name(s)
        .ok_or_else(|| format!("unknown architecture '{s}' (bitnet, bitnet-b1.58, bitnet-25)"))
}

fn progress_bar(template: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Cpu => {
            let active = SimdLevel::active();
            let supported: Vec<_> = SimdLevel::supported().iter().map(|l| l.name()).collect();
            println!("simd: {active} (supported: {})", supported.join(", "));
            println!("vnni: {}", active.has_vnni());
        }
        Command::Inspect { file, json } => {
            let report = InspectReport::new(&GgufFile::open(&file)?);
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            if !report.problems.is_empty() {
                return Err(format!(
                    "{}: {} validation problem(s)",
                    file.display(),
                    report.problems.len()
                )
                .into());
            }
        }
        Command::Quantize { input, output, ty } => {
            let bar = progress_bar("{bar:40} {bytes}/{total_bytes} {msg}");
            let s = requantize(&input, &output, ty, &bar)?;
            bar.finish_and_clear();
            println!(
                "{} -> {} ({ty}): {:.1} MiB -> {:.1} MiB, {} projections converted, {} tensors copied, {:.2} s",
                input.display(),
                output.display(),
                mib(s.input_bytes),
                mib(s.output_bytes),
                s.converted,
                s.copied,
                s.elapsed.as_secs_f64()
            );
        }
        Command::Synth {
            preset,
            layers,
            hidden,
            ffn,
            heads,
            kv_heads,
            vocab,
            ty,
            arch,
            seed,
            output,
        } => {
            let opts = SynthOptions {
                layers,
                hidden,
                ffn,
                heads,
                kv_heads,
                vocab,
                arch,
                ..SynthOptions::new(preset, ty, seed)
            };
            let bar = progress_bar("{bar:40} {pos}/{len} tensors {msg}");
            let started = std::time::Instant::now();
            let s = synth::write_model(&output, &opts, &bar)?;
            bar.finish_and_clear();
            let c = &s.config;
            println!(
                "{}: {} {}x{} (ffn {}, heads {}/{}, vocab {}), {} tensors, {} parameters, {:.1} MiB, {:.2} s",
                output.display(),
                c.arch,
                c.n_layer,
                c.n_embd,
                c.n_ff,
                c.n_head,
                c.n_head_kv,
                c.vocab_size,
                s.tensors,
                s.parameters,
                mib(s.bytes),
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
