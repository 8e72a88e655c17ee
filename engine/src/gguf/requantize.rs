//! `bitnet quantize`: rewrites a BitNet model with its seven ternary
//! projections per layer in another format, copying every other tensor and
//! all metadata byte for byte.
//!
//! Sources: F32/F16/BF16 projections are quantized ([`crate::quant::quantize`]
//! recognises already-ternary values and keeps their scale exactly, so a
//! synthetic or converted model loses nothing); ternary projections are
//! converted code for code ([`crate::quant::convert`](mod@crate::quant::convert): lossless among
//! I2S/TL1/TL2 and between TQ1_0/TQ2_0). Tensors stream from the input's
//! file to the output one at a time: peak memory is one converted tensor
//! (F32 source: 4 bytes a weight) plus an 8 MiB copy buffer.

use super::{keys, GgufError, GgufFile, GgufWriter, TensorSpec, TensorType, TensorView, Value};
use crate::model::{ModelConfig, Projection};
use crate::quant::{self, Format};
use indicatif::ProgressBar;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

const COPY_CHUNK: usize = 8 << 20;

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
    // Where synth and llama.cpp's writers put it: i2s -> tl2 -> i2s restores
    // the original file byte for byte.
    let anchor = if md.contains(keys::NAME) {
        keys::NAME
    } else {
        keys::ARCHITECTURE
    };
    match TensorType::Ternary(target).llama_file_type() {
        Some(ft) => md.set_after(anchor, keys::FILE_TYPE, Value::U32(ft)),
        None => {
            md.remove(keys::FILE_TYPE);
        }
    }
    md.set_after(keys::FILE_TYPE, keys::QUANTIZATION_VERSION, Value::U32(2));

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
    // Tensor data is read with plain reads, not through the map: a mapped
    // page read once stays resident, and RSS would grow to the input size.
    let mut src = std::fs::File::open(input).map_err(|e| GgufError::io(path, e))?;
    let mut chunk = vec![0u8; COPY_CHUNK];
    let (mut converted, mut copied) = (0, 0);
    for (spec, info) in specs.iter().zip(file.tensor_infos()) {
        progress.set_message(spec.name.clone());
        src.seek(SeekFrom::Start(file.data_offset() + info.offset))
            .map_err(|e| GgufError::io(path, e))?;
        if spec.ty == info.ty {
            w.begin_tensor(&spec.name)?;
            let mut left = info.size as usize;
            while left > 0 {
                let n = left.min(COPY_CHUNK);
                src.read_exact(&mut chunk[..n])
                    .map_err(|e| GgufError::io(path, e))?;
                w.write_chunk(&chunk[..n])?;
                left -= n;
            }
            w.end_tensor()?;
            copied += 1;
        } else {
            // u64 storage: the bytes are 8-aligned for the f32/f16 view.
            let mut storage = vec![0u64; (info.size as usize).div_ceil(8)];
            let bytes =
                &mut bytemuck::cast_slice_mut::<u64, u8>(&mut storage)[..info.size as usize];
            src.read_exact(bytes).map_err(|e| GgufError::io(path, e))?;
            let view = TensorView { info, bytes, path };
            let (rows, cols) = info.rows_cols();
            let quant_err = |source| GgufError::Quant {
                path: out_display.clone(),
                tensor: spec.name.clone(),
                source,
            };
            let out = match info.ty.ternary() {
                Some(from) => {
                    quant::convert(from, target, view.bytes, rows, cols).map_err(quant_err)?
                }
                None => quant::quantize_to_vec(target, &view.float_values()?, rows, cols)
                    .map_err(quant_err)?,
            };
            w.write_tensor(&spec.name, &out)?;
            converted += 1;
        }
        progress.inc(info.size);
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
