//! Writes a synthetic model tensor by tensor through [`GgufWriter`]: at most
//! one projection (its codes and packed bytes) or one 4096-row slice of the
//! embedding is in memory at a time, so the 1.2 GB `2b4t` model needs a few
//! tens of MB.

use super::options::{SynthError, SynthOptions, WeightType};
use super::weights;
use crate::gguf::{keys, GgufWriter, Metadata, TensorSpec, TensorType, Value};
use crate::model::config::TOKEN_EMBD;
use crate::model::{ModelConfig, Projection};
use crate::quant::{self, Scale};
use crate::tokenizer::SyntheticVocab;
use half::{bf16, f16};
use indicatif::ProgressBar;
use std::path::Path;

const EMBEDDING_ROWS_PER_CHUNK: usize = 4096;

#[derive(Debug, Clone)]
pub struct SynthSummary {
    pub config: ModelConfig,
    pub tensors: usize,
    pub bytes: u64,
    pub parameters: u64,
}

/// Metadata of the synthetic model: hyperparameters, tokenizer, file type.
pub fn metadata(opts: &SynthOptions, cfg: &ModelConfig) -> Result<Metadata, SynthError> {
    let mut md = Metadata::new();
    md.set(keys::ARCHITECTURE, Value::String(cfg.arch.name().into()));
    md.set(
        keys::NAME,
        Value::String(format!("synthetic-{}-seed{}", opts.preset, opts.seed)),
    );
    if let Some(ft) = opts.weight_type.file_type() {
        md.set(keys::FILE_TYPE, Value::U32(ft));
    }
    if let WeightType::Ternary(_) = opts.weight_type {
        // ggml's GGML_QNT_VERSION; the spec requires it in quantized files.
        md.set(keys::QUANTIZATION_VERSION, Value::U32(2));
    }
    cfg.write_metadata(&mut md);
    let vocab = SyntheticVocab::new(cfg.vocab_size)
        .ok_or_else(|| SynthError::Option(format!("vocab {} too small", cfg.vocab_size)))?;
    vocab.write_metadata(&mut md);
    Ok(md)
}

/// The tensor layout: every tensor the config requires, norms in F32.
pub fn layout(opts: &SynthOptions, cfg: &ModelConfig) -> Vec<TensorSpec> {
    cfg.required_tensors()
        .into_iter()
        .map(|(name, dims)| {
            let ty = if name == TOKEN_EMBD {
                opts.weight_type.embedding_type()
            } else if Projection::parse_weight_name(&name).is_some() {
                opts.weight_type.tensor_type()
            } else {
                TensorType::F32
            };
            TensorSpec { name, dims, ty }
        })
        .collect()
}

/// Writes the model described by `opts` to `path` (atomically).
pub fn write_model(
    path: &Path,
    opts: &SynthOptions,
    progress: &ProgressBar,
) -> Result<SynthSummary, SynthError> {
    let cfg = opts.config()?;
    let md = metadata(opts, &cfg)?;
    let specs = layout(opts, &cfg);
    progress.set_length(specs.len() as u64);
    let mut w = GgufWriter::create(path, &md, specs.clone())?;
    for spec in &specs {
        progress.set_message(spec.name.clone());
        let mut rng = weights::rng_for(opts.seed, &spec.name);
        if spec.name == TOKEN_EMBD {
            w.begin_tensor(&spec.name)?;
            let a = weights::embedding_half_width(&cfg);
            for start in (0..cfg.vocab_size).step_by(EMBEDDING_ROWS_PER_CHUNK) {
                let rows = EMBEDDING_ROWS_PER_CHUNK.min(cfg.vocab_size - start);
                let v = weights::embedding_values(&mut rng, rows * cfg.n_embd, a);
                w.write_chunk(&float_bytes(&v, spec.ty))?;
            }
            w.end_tensor()?;
        } else if let Some((_, p)) = Projection::parse_weight_name(&spec.name) {
            let bytes = projection_bytes(opts, &cfg, p, &spec.name, &mut rng)?;
            w.write_tensor(&spec.name, &bytes)?;
        } else {
            let n = spec.dims.iter().product::<u64>() as usize;
            w.write_tensor(
                &spec.name,
                &float_bytes(&weights::norm_weights(&mut rng, n), TensorType::F32),
            )?;
        }
        progress.inc(1);
    }
    let bytes = w.finish()?;
    Ok(SynthSummary {
        parameters: cfg.parameter_count(),
        tensors: specs.len(),
        bytes,
        config: cfg,
    })
}

fn projection_bytes(
    opts: &SynthOptions,
    cfg: &ModelConfig,
    p: Projection,
    name: &str,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Result<Vec<u8>, SynthError> {
    let [cols, rows] = cfg.projection_dims(p);
    let (rows, cols) = (rows as usize, cols as usize);
    let codes = weights::ternary_codes(rng, rows * cols);
    let gamma = weights::projection_gamma(cfg, p);
    let quant_err = |source| SynthError::Quant {
        tensor: name.to_owned(),
        source,
    };
    match opts.weight_type {
        WeightType::Float(ty) => {
            let v: Vec<f32> = codes.iter().map(|&c| f32::from(c) * gamma).collect();
            Ok(float_bytes(&v, ty))
        }
        WeightType::Ternary(f) => {
            let scale = if f.has_tensor_scale() {
                Scale::Tensor(gamma)
            } else {
                Scale::PerBlock(vec![gamma; rows * cols / f.block_weights()])
            };
            let mut out = vec![0u8; f.packed_size(rows, cols).map_err(quant_err)?];
            quant::pack(f, &codes, &scale, rows, cols, &mut out).map_err(quant_err)?;
            Ok(out)
        }
    }
}

/// Little-endian bytes of `v` stored as `ty` (F32, F16 or BF16).
pub fn float_bytes(v: &[f32], ty: TensorType) -> Vec<u8> {
    if ty == TensorType::F16 {
        let h: Vec<f16> = v.iter().map(|&x| f16::from_f32(x)).collect();
        bytemuck::cast_slice(&h).to_vec()
    } else if ty == TensorType::BF16 {
        let h: Vec<bf16> = v.iter().map(|&x| bf16::from_f32(x)).collect();
        bytemuck::cast_slice(&h).to_vec()
    } else {
        bytemuck::cast_slice(v).to_vec()
    }
}
