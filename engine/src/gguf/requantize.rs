//! `bitnet quantize`: rewrites a BitNet model with its seven ternary
//! projections per layer in another format, copying every other tensor and
//! all metadata byte for byte.
//!
//! Sources: F32/F16/BF16 projections are quantized ([`crate::quant::quantize`]
//! recognises already-ternary values and keeps their scale exactly, so a
//! synthetic or converted model loses nothing); ternary projections are
//! converted code for code ([`crate::quant::convert`]: lossless among
//! I2S/TL1/TL2 and between TQ1_0/TQ2_0). Tensors stream from the input's
//! memory map to the output one at a time.

use super::{keys, GgufError, GgufFile, GgufWriter, TensorSpec, TensorType, Value};
use crate::model::{ModelConfig, Projection};
use crate::quant::{self, Format};
use crate::synth::WeightType;
use indicatif::ProgressBar;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RequantizeSummary {
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub converted: usize,
    pub copied: usize,
    pub elapsed: Duration,
}

/// Converts `input` into `output` with projections in `target`.
pub fn requantize(
    input: &Path,
    output: &Path,
    target: Format,
    progress: &ProgressBar,
) -> Result<RequantizeSummary, GgufError> {
    let started = Instant::now();
    let file = GgufFile::open(input)?;
    let cfg = ModelConfig::from_gguf(&file)?;
    cfg.validate(&file)?;
    let path = file.path();

    let mut md = file.metadata().clone();
    match WeightType::Ternary(target).file_type() {
        Some(ft) => md.set(keys::FILE_TYPE, Value::U32(ft)),
        None => {
            md.remove(keys::FILE_TYPE);
        }
    }
    md.set(keys::QUANTIZATION_VERSION, Value::U32(2));

    let mut specs = Vec::new();
    for t in file.tensor_infos() {
        let ty = if Projection::parse_weight_name(&t.name).is_some() {
            if !(t.ty.is_float() || t.ty.ternary().is_some()) {
                return Err(GgufError::TypeMismatch {
                    path: path.to_owned(),
                    tensor: t.name.clone(),
                    expected: "F32, F16, BF16 or a ternary format".into(),
                    found: t.ty.to_string(),
                });
            }
            TensorType::Ternary(target)
        } else {
            t.ty
        };
        specs.push(TensorSpec {
            name: t.name.clone(),
            dims: t.dims.clone(),
            ty,
        });
    }
    // A later error must name the output file, a read error the input.
    let out_display = output.display().to_string();
    let mut w = GgufWriter::create(output, &md, specs.clone())?;
    progress.set_length(file.tensor_infos().iter().map(|t| t.size).sum());
    let (mut converted, mut copied) = (0, 0);
    for (spec, view) in specs.iter().zip(file.tensors()) {
        progress.set_message(spec.name.clone());
        if spec.ty == view.info.ty {
            w.write_tensor(&spec.name, view.bytes)?;
            copied += 1;
        } else {
            let (rows, cols) = view.info.rows_cols();
            let quant_err = |source| GgufError::Quant {
                path: out_display.clone(),
                tensor: spec.name.clone(),
                source,
            };
            let bytes = match view.info.ty.ternary() {
                Some(from) => {
                    quant::convert(from, target, view.bytes, rows, cols).map_err(quant_err)?
                }
                None => quant::quantize_to_vec(target, &view.float_values()?, rows, cols)
                    .map_err(quant_err)?,
            };
            w.write_tensor(&spec.name, &bytes)?;
            converted += 1;
        }
        progress.inc(view.info.size);
    }
    let output_bytes = w.finish()?;
    Ok(RequantizeSummary {
        input_bytes: file.file_len(),
        output_bytes,
        converted,
        copied,
        elapsed: started.elapsed(),
    })
}
