//! The `bitnet` command line: a thin wrapper over the engine library.
//! Every failure prints one `error: ...` line and exits with status 1.

use clap::{Parser, Subcommand};
use engine::cpu::SimdLevel;
use engine::device::{self, Device, DeviceSpec};
use engine::generate::{generate, generate_gpu, GenerateError};
use engine::gguf::{requantize, GgufFile, InspectReport};
use engine::model::reference::ReferenceModel;
use engine::model::{Activation, Architecture, GpuModel, Logits, Model};
use engine::quant::Format;
use engine::sample::SamplingParams;
use engine::synth::{self, Preset, SynthOptions, WeightType};
use engine::tokenizer::{StreamDecoder, Tokenizer};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
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
    Cpu {
        /// Also measure the memory read bandwidth (1 GiB, best of 5), the
        /// bound on decode speed: model bytes read per token / bandwidth.
        #[arg(long)]
        bandwidth: bool,
        /// Threads reading concurrently for --bandwidth.
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Resolve `--device` and print the device the engine would run on.
    Device {
        /// auto (CUDA if usable, else CPU with one log line), cpu, cuda or cuda:N.
        #[arg(long, default_value = "auto")]
        device: DeviceSpec,
    },
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
        /// FFN activation: relu2 (default, the 2B4T model's) or silu (what
        /// llama.cpp runs for architecture `bitnet`).
        #[arg(long, value_parser = parse_activation)]
        activation: Option<Activation>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Run the engine's accuracy checks (formats, kernels, forward pass) and
    /// print them; `--json FILE` also writes the perf-gate-accuracy file that
    /// `perf-gate compare --accuracy FILE` puts in the gate report. Exits 1
    /// when a check fails.
    Accuracy {
        #[arg(long)]
        json: Option<PathBuf>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Generate text: streams it to stdout, prefill and decode speed to stderr.
    Generate {
        #[arg(long)]
        model: PathBuf,
        #[arg(long, required_unless_present = "prompt_ids")]
        prompt: Option<String>,
        /// The prompt as comma-separated token ids (instead of --prompt).
        #[arg(long = "prompt-ids", value_delimiter = ',', conflicts_with = "prompt")]
        prompt_ids: Option<Vec<u32>>,
        /// Number of tokens to generate.
        #[arg(short = 'n', long = "n-predict", default_value_t = 64)]
        n: usize,
        /// Temperature; 0 = greedy.
        #[arg(long, default_value_t = 0.8)]
        temp: f32,
        #[arg(long = "top-k", default_value_t = 40)]
        top_k: usize,
        #[arg(long = "top-p", default_value_t = 0.95)]
        top_p: f32,
        #[arg(long = "repeat-penalty", default_value_t = 1.0)]
        repeat_penalty: f32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// auto (CUDA if usable, else CPU with one log line), cpu, cuda or
        /// cuda:N (never falls back).
        #[arg(long, default_value = "auto")]
        device: DeviceSpec,
        /// Print the token ids instead of text.
        #[arg(long = "print-ids")]
        print_ids: bool,
    },
    /// Print the token ids of a text as JSON (BOS added when the model asks).
    Tokenize {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        text: String,
        /// Do not add BOS.
        #[arg(long = "no-bos")]
        no_bos: bool,
    },
    /// Print the logits of a token sequence (the last position, or all).
    Logits {
        #[arg(long)]
        model: PathBuf,
        /// Comma-separated token ids.
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        tokens: Vec<u32>,
        /// Every position, not only the last.
        #[arg(long)]
        all: bool,
        /// Full JSON {"tokens": [...], "logits": [[...], ...]} instead of a
        /// top-10 summary.
        #[arg(long)]
        json: bool,
        /// Instead of the engine, run the plain f64 reference graph over the
        /// dequantized weights (slow; for cross-validation): `exact` keeps
        /// activations unquantized (the graph llama.cpp runs on F16 weights),
        /// `quantized` rounds them to int8 per token as the kernels do.
        #[arg(long, value_parser = ["exact", "quantized"])]
        reference: Option<String>,
        #[arg(long)]
        threads: Option<usize>,
        /// auto (CUDA if usable, else CPU with one log line), cpu, cuda or
        /// cuda:N (never falls back).
        #[arg(long, default_value = "auto")]
        device: DeviceSpec,
    },
}

fn parse_activation(s: &str) -> Result<Activation, String> {
    Activation::parse(s).ok_or_else(|| format!("unknown activation '{s}' (silu or relu2)"))
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The forward pass runs on the CPU only; say so instead of pretending.
/// Where the forward pass of `generate`/`logits` runs.
enum Runner<'m> {
    Cpu,
    Gpu(GpuModel<'m>),
}

/// Resolves `spec` for a loaded model. `auto` falls back to the CPU with one
/// stderr line naming the reason (CUDA unavailable, or the model has a
/// tensor the device kernels cannot run); `cuda[:N]` fails instead.
fn runner(model: &Model, spec: DeviceSpec) -> Result<Runner<'_>, String> {
    match device::select(spec).map_err(|e| format!("--device {spec}: {e}"))? {
        Device::Cpu => Ok(Runner::Cpu),
        Device::Cuda(backend) => match GpuModel::upload(model, backend) {
            Ok(g) => Ok(Runner::Gpu(g)),
            Err(e) if spec == DeviceSpec::Auto => {
                eprintln!("bitnet: device auto: using CPU, the model cannot run on CUDA: {e}");
                Ok(Runner::Cpu)
            }
            Err(e) => Err(format!("--device {spec}: {e}")),
        },
    }
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
        Command::Cpu { bandwidth, threads } => {
            let active = SimdLevel::active();
            let supported: Vec<_> = SimdLevel::supported().iter().map(|l| l.name()).collect();
            println!("simd: {active} (supported: {})", supported.join(", "));
            println!("vnni: {}", active.has_vnni());
            if bandwidth {
                let gbs = engine::kernels::roofline::read_bandwidth(active, threads, 1 << 30, 5)
                    .map_err(|e| format!("--bandwidth: {e}"))?;
                println!("read bandwidth: {gbs:.2} GB/s ({threads} threads, 1 GiB, best of 5)");
            }
        }
        Command::Device { device } => {
            let d = device::select(device).map_err(|e| format!("--device {device}: {e}"))?;
            println!("device: {d}");
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
            activation,
            seed,
            output,
        } => {
            let opts = SynthOptions {
                activation,
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
        Command::Generate {
            model,
            prompt,
            prompt_ids,
            n,
            temp,
            top_k,
            top_p,
            repeat_penalty,
            seed,
            threads,
            device,
            print_ids,
        } => {
            let params = SamplingParams {
                temperature: temp,
                top_k,
                top_p,
                repetition_penalty: repeat_penalty,
                seed,
                ..SamplingParams::default()
            };
            if n == 0 {
                return Err(GenerateError::NoNewTokens.into());
            }
            params.validate()?;
            let model = Model::load(&model, threads.unwrap_or_else(default_threads))?;
            let tok = Tokenizer::from_gguf(model.file())?;
            let ids = match (prompt_ids, prompt) {
                (Some(ids), _) => ids,
                (None, Some(p)) => tok.encode(&p, true, true),
                (None, None) => return Err("give --prompt or --prompt-ids".into()),
            };
            let run_on = runner(&model, device)?;
            let mut out = std::io::stdout().lock();
            let mut text = StreamDecoder::default();
            let is_end = |t| tok.is_end_of_generation(t);
            let mut on_token = |t| {
                let piece = if print_ids {
                    format!("{t} ")
                } else {
                    text.push(&tok.token_bytes(t).map_err(|e| e.to_string())?)
                };
                out.write_all(piece.as_bytes())
                    .and_then(|_| out.flush())
                    .map_err(|e| e.to_string())
            };
            let (stats, place) = match &run_on {
                Runner::Cpu => (
                    generate(&model, &ids, n, params, is_end, &mut on_token)?,
                    format!("threads {}", model.threads()),
                ),
                Runner::Gpu(g) => (
                    generate_gpu(g, &ids, n, params, is_end, &mut on_token)?,
                    format!(
                        "device cuda:{} ({})",
                        g.backend().ordinal(),
                        g.backend().name()
                    ),
                ),
            };
            let rest = text.finish();
            writeln!(out, "{rest}")?;
            eprintln!(
                "prefill: {} tokens in {:.3} s ({:.2} tok/s); decode: {} tokens in {:.3} s ({:.2} tok/s); {}{}",
                stats.prompt_tokens,
                stats.prefill.as_secs_f64(),
                stats.prefill_tokens_per_s(),
                stats.decode_steps,
                stats.decode.as_secs_f64(),
                stats.decode_tokens_per_s(),
                place,
                if stats.stopped_at_eos { "; stopped at end of generation" } else { "" }
            );
        }
        Command::Accuracy { json, seed } => {
            let checks = engine::accuracy::run_all(seed)?;
            let failed: Vec<&str> = checks
                .iter()
                .filter(|c| !c.passed())
                .map(|c| c.name.as_str())
                .collect();
            for c in &checks {
                println!(
                    "{} {}: {} = {:.6e} (limit {} {:e})",
                    if c.passed() { "ok  " } else { "FAIL" },
                    c.name,
                    c.metric,
                    c.value,
                    c.op,
                    c.limit
                );
            }
            if let Some(path) = json {
                let source = format!(
                    "bitnet accuracy --seed {seed} (SIMD {})",
                    SimdLevel::active()
                );
                engine::accuracy::write_json(&path, &source, &checks)
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
                eprintln!(
                    "accuracy: {} checks written to {}",
                    checks.len(),
                    path.display()
                );
            }
            if !failed.is_empty() {
                return Err(format!(
                    "{} accuracy check(s) failed: {}",
                    failed.len(),
                    failed.join("; ")
                )
                .into());
            }
        }
        Command::Tokenize {
            model,
            text,
            no_bos,
        } => {
            let tok = Tokenizer::from_gguf(&GgufFile::open(&model)?)?;
            let ids = tok.encode(&text, !no_bos, true);
            println!("{}", serde_json::json!(ids));
        }
        Command::Logits {
            model,
            tokens,
            all,
            json,
            reference,
            threads,
            device,
        } => {
            let model = Model::load(&model, threads.unwrap_or_else(default_threads))?;
            let vocab = model.config().vocab_size;
            if tokens.len() > model.config().context_length {
                return Err(format!(
                    "{} tokens exceed the model's context of {}",
                    tokens.len(),
                    model.config().context_length
                )
                .into());
            }
            let which = if all { Logits::All } else { Logits::Last };
            let n_ctx = tokens.len().max(1);
            // The engine runs first even for --reference: it validates the
            // tokens (unknown id, empty list) with its usual errors.
            let mut logits = match runner(&model, device)? {
                Runner::Cpu => model.session(n_ctx)?.forward(&tokens, which)?,
                Runner::Gpu(g) => g.session(n_ctx)?.forward(&tokens, which)?,
            };
            if let Some(kind) = reference {
                let reference = ReferenceModel::load(model.file())?;
                let rows = reference.forward(&tokens, kind == "quantized");
                let first = if all { 0 } else { tokens.len() - 1 };
                logits = rows[first..]
                    .iter()
                    .flat_map(|r| r.iter().map(|&v| v as f32))
                    .collect();
            }
            let rows: Vec<&[f32]> = logits.chunks_exact(vocab).collect();
            if json {
                let v = serde_json::json!({ "tokens": tokens, "logits": rows });
                println!("{v}");
            } else {
                let first = if all { 0 } else { tokens.len() - 1 };
                for (i, row) in rows.iter().enumerate() {
                    let mut idx: Vec<usize> = (0..vocab).collect();
                    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
                    let top: Vec<String> = idx[..10.min(vocab)]
                        .iter()
                        .map(|&t| format!("{t}:{:.4}", row[t]))
                        .collect();
                    println!(
                        "pos {} (token {}): {}",
                        first + i,
                        tokens[first + i],
                        top.join(" ")
                    );
                }
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(msg) = SimdLevel::from_env() {
        eprintln!("error: {msg}");
        return ExitCode::FAILURE;
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
