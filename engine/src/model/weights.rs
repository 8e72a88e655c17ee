//! Loading a model's tensors into the forms the forward pass runs on.
//!
//! * Ternary projections (I2S, TL1, TL2, TQ1_0, TQ2_0) are unpacked to codes
//!   and repacked into the kernels' [`TernaryMatrix`] layout, keeping the
//!   file's scales exactly (one per tensor, or one per 256-block for TQ).
//! * Float projections (F32/F16/BF16) holding ternary values (every non-zero
//!   of the same magnitude, which is how BitNet files store them) take the
//!   same ternary path with that magnitude as the tensor scale; any other
//!   float matrix runs as a dense f32 GEMV.
//! * The token embedding (and a separate `output.weight`, if any) stays in the
//!   memory-mapped file: only the rows looked up and, for the tied output
//!   head, the whole table each token are read, never copied.
//!
//! Projection bytes are read with positioned reads from a second file handle,
//! not through the memory map, so the packed copy in the file does not stay
//! resident next to the repacked copy: peak memory is the file once, plus
//! the KV cache and scratch.

use super::config::{LayerNorm, ModelConfig, Projection, OUTPUT, OUTPUT_NORM, TOKEN_EMBD};
use super::ModelError;
use crate::gguf::{GgufFile, TensorData, TensorInfo};
use crate::kernels::{self, Parallelism, QuantizedActivations, TernaryMatrix};
use crate::quant::{self, Format, Scale};
use rayon::prelude::*;
use std::sync::Arc;

/// A projection's matrix, `rows` outputs x `cols` inputs.
#[derive(Debug)]
pub enum Linear {
    Ternary(TernaryMatrix),
    Dense {
        w: Vec<f32>,
        rows: usize,
        cols: usize,
    },
}

impl Linear {
    pub fn rows(&self) -> usize {
        match self {
            Linear::Ternary(m) => m.rows(),
            Linear::Dense { rows, .. } => *rows,
        }
    }

    pub fn cols(&self) -> usize {
        match self {
            Linear::Ternary(m) => m.cols(),
            Linear::Dense { cols, .. } => *cols,
        }
    }

    /// Bytes this matrix occupies in memory.
    pub fn bytes(&self) -> usize {
        match self {
            Linear::Ternary(m) => m.weight_bytes(),
            Linear::Dense { w, .. } => w.len() * 4,
        }
    }

    /// `out[t * rows + r] = (W x_t)[r]`. Ternary matrices read the int8
    /// activations `xq` (one GEMV for one token, else GEMM); dense ones the
    /// float activations `x`.
    pub fn forward(
        &self,
        x: &[f32],
        xq: &QuantizedActivations,
        tokens: usize,
        out: &mut [f32],
        par: Parallelism,
    ) -> Result<(), ModelError> {
        match self {
            Linear::Ternary(m) if tokens == 1 => kernels::gemv(m, xq, out, par)?,
            Linear::Ternary(m) => kernels::gemm(m, xq, out, par)?,
            Linear::Dense { w, rows, cols } => {
                for (xt, ot) in x.chunks_exact(*cols).zip(out.chunks_exact_mut(*rows)) {
                    kernels::dense::gemv_f32(w, *rows, *cols, xt, ot, par)?;
                }
            }
        }
        Ok(())
    }
}

/// A projection and llama.cpp `bitnet`'s optional one-element output scale.
#[derive(Debug)]
pub struct ProjWeight {
    pub linear: Linear,
    pub scale: Option<f32>,
}

impl ProjWeight {
    pub fn forward(
        &self,
        x: &[f32],
        xq: &QuantizedActivations,
        tokens: usize,
        out: &mut [f32],
        par: Parallelism,
    ) -> Result<(), ModelError> {
        self.linear.forward(x, xq, tokens, out, par)?;
        if let Some(s) = self.scale {
            out.iter_mut().for_each(|v| *v *= s);
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct LayerWeights {
    pub attn_norm: Vec<f32>,
    pub attn_sub_norm: Vec<f32>,
    pub ffn_norm: Vec<f32>,
    pub ffn_sub_norm: Vec<f32>,
    pub q: ProjWeight,
    pub k: ProjWeight,
    pub v: ProjWeight,
    pub o: ProjWeight,
    pub gate: ProjWeight,
    pub up: ProjWeight,
    pub down: ProjWeight,
}

/// A `[n_embd, rows]` float table read in place from the mapped file: the
/// token embedding, and the output head (the same table when tied).
#[derive(Debug)]
pub struct FloatTable {
    file: Arc<GgufFile>,
    name: String,
    rows: usize,
    cols: usize,
}

/// Rows converted to f32 per step of the BF16 head GEMV: 32 x 2560 floats
/// (320 KiB) stay in L2 between the conversion and the dot products.
const HEAD_BLOCK_ROWS: usize = 32;
/// Rows per parallel task of the F16 head GEMV: large enough that task
/// overhead vanishes, small enough (128 256 / 512 = 251 tasks) to balance.
const HEAD_TASK_ROWS: usize = 512;

impl FloatTable {
    fn new(file: &Arc<GgufFile>, name: &str, role: &'static str) -> Result<Self, ModelError> {
        let view = file.tensor(name)?;
        match view.data()? {
            TensorData::F32(_) | TensorData::F16(_) | TensorData::BF16(_) => {}
            _ => {
                return Err(ModelError::UnsupportedType {
                    path: file.path().to_owned(),
                    tensor: name.to_owned(),
                    ty: view.info.ty.to_string(),
                    role,
                })
            }
        }
        let (rows, cols) = view.info.rows_cols();
        Ok(FloatTable {
            file: Arc::clone(file),
            name: name.to_owned(),
            rows,
            cols,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The tensor's name in the file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The table as stored, when it is stored as F16 (`rows x cols`).
    pub fn f16_data(&self) -> Option<&[half::f16]> {
        match self.data() {
            TensorData::F16(v) => Some(v),
            _ => None,
        }
    }

    pub fn bytes(&self) -> usize {
        self.file.info(&self.name).map_or(0, |i| i.size as usize)
    }

    fn data(&self) -> TensorData<'_> {
        // `new` checked that the tensor exists and is F32/F16/BF16.
        self.file
            .tensor(&self.name)
            .and_then(|v| v.data())
            .expect("checked at load")
    }

    /// Copies rows `r0..r1` as f32 into `out`.
    fn rows_into(&self, r0: usize, r1: usize, out: &mut [f32]) {
        let (a, b) = (r0 * self.cols, r1 * self.cols);
        match self.data() {
            TensorData::F32(v) => out.copy_from_slice(&v[a..b]),
            TensorData::F16(v) => {
                use half::slice::HalfFloatSliceExt;
                v[a..b].convert_to_f32_slice(out)
            }
            TensorData::BF16(v) => {
                use half::slice::HalfFloatSliceExt;
                v[a..b].convert_to_f32_slice(out)
            }
            _ => unreachable!("checked at load"),
        }
    }

    /// The embedding of token `row`.
    pub fn row(&self, row: usize, out: &mut [f32]) {
        self.rows_into(row, row + 1, out);
    }

    /// `out[r] = table[r] . x` for every row, on `pool`.
    pub fn matvec(
        &self,
        x: &[f32],
        out: &mut [f32],
        pool: &rayon::ThreadPool,
    ) -> Result<(), ModelError> {
        let cols = self.cols;
        match self.data() {
            TensorData::F32(w) => {
                let par = Parallelism::threads(pool.current_num_threads());
                kernels::dense::gemv_f32(w, self.rows, cols, x, out, par)?;
            }
            TensorData::F16(w) => pool.install(|| {
                out.par_chunks_mut(HEAD_TASK_ROWS)
                    .enumerate()
                    .try_for_each(|(b, o)| {
                        let r0 = b * HEAD_TASK_ROWS;
                        let rows = &w[r0 * cols..(r0 + o.len()) * cols];
                        kernels::dense_f16::gemv_f16(rows, cols, x, o)
                    })
            })?,
            _ => pool.install(|| {
                out.par_chunks_mut(HEAD_BLOCK_ROWS)
                    .enumerate()
                    .try_for_each_init(
                        || vec![0f32; HEAD_BLOCK_ROWS * cols],
                        |buf, (b, o)| {
                            let r0 = b * HEAD_BLOCK_ROWS;
                            let block = &mut buf[..o.len() * cols];
                            self.rows_into(r0, r0 + o.len(), block);
                            kernels::dense::gemv_f32(
                                block,
                                o.len(),
                                cols,
                                x,
                                o,
                                Parallelism::single(),
                            )
                        },
                    )
            })?,
        }
        Ok(())
    }
}

/// Everything the forward pass reads.
#[derive(Debug)]
pub struct Weights {
    pub token_embd: FloatTable,
    /// `output.weight` if the file has one, else the token embedding again.
    pub output: FloatTable,
    pub output_norm: Vec<f32>,
    pub layers: Vec<LayerWeights>,
}

impl Weights {
    /// Reads every tensor `config` names from `file` (already validated
    /// against `config` by the caller).
    pub fn load(file: &Arc<GgufFile>, config: &ModelConfig) -> Result<Weights, ModelError> {
        let reader = TensorReader::open(file)?;
        let norm =
            |name: &str| -> Result<Vec<f32>, ModelError> { Ok(file.tensor(name)?.float_values()?) };
        let mut layers = Vec::with_capacity(config.n_layer);
        for l in 0..config.n_layer {
            let proj = |p: Projection| -> Result<ProjWeight, ModelError> {
                let scale = match file.contains(&p.scale_name(l)) {
                    true => Some(norm(&p.scale_name(l))?[0]),
                    false => None,
                };
                Ok(ProjWeight {
                    linear: reader.linear(&p.weight_name(l))?,
                    scale,
                })
            };
            layers.push(LayerWeights {
                attn_norm: norm(&LayerNorm::Attn.weight_name(l))?,
                attn_sub_norm: norm(&LayerNorm::AttnSub.weight_name(l))?,
                ffn_norm: norm(&LayerNorm::Ffn.weight_name(l))?,
                ffn_sub_norm: norm(&LayerNorm::FfnSub.weight_name(l))?,
                q: proj(Projection::AttnQ)?,
                k: proj(Projection::AttnK)?,
                v: proj(Projection::AttnV)?,
                o: proj(Projection::AttnOutput)?,
                gate: proj(Projection::FfnGate)?,
                up: proj(Projection::FfnUp)?,
                down: proj(Projection::FfnDown)?,
            });
        }
        let token_embd = FloatTable::new(file, TOKEN_EMBD, "token embedding")?;
        let output = match file.contains(OUTPUT) {
            true => FloatTable::new(file, OUTPUT, "output head")?,
            false => FloatTable::new(file, TOKEN_EMBD, "tied output head")?,
        };
        Ok(Weights {
            token_embd,
            output,
            output_norm: norm(OUTPUT_NORM)?,
            layers,
        })
    }

    /// Bytes of weights read per decoded token: every projection plus the
    /// output head (the embedding lookup is one row, negligible).
    pub fn bytes_per_token(&self) -> usize {
        let proj: usize = self
            .layers
            .iter()
            .flat_map(|l| [&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down])
            .map(|p| p.linear.bytes())
            .sum();
        proj + self.output.bytes()
    }
}

/// Reads projection tensors: positioned reads when the mapped file is a file
/// on disk, else the mapped (owned) bytes.
struct TensorReader<'a> {
    file: &'a GgufFile,
    disk: Option<std::fs::File>,
}

impl<'a> TensorReader<'a> {
    fn open(file: &'a GgufFile) -> Result<Self, ModelError> {
        let disk = std::fs::File::open(file.path())
            .ok()
            .filter(|f| f.metadata().map(|m| m.len()).ok() == Some(file.file_len()));
        Ok(TensorReader { file, disk })
    }

    fn bytes(&self, info: &TensorInfo) -> Result<Vec<u8>, ModelError> {
        let offset = self.file.data_offset() + info.offset;
        if let Some(disk) = &self.disk {
            let mut buf = vec![0u8; info.size as usize];
            if read_at(disk, &mut buf, offset).is_ok() {
                return Ok(buf);
            }
        }
        Ok(self.file.tensor(&info.name)?.bytes.to_vec())
    }

    fn linear(&self, name: &str) -> Result<Linear, ModelError> {
        let path = self.file.path();
        let view = self.file.tensor(name)?;
        let info = view.info;
        let (rows, cols) = info.rows_cols();
        let kernel_err = |source| ModelError::Kernel {
            path: path.to_owned(),
            tensor: name.to_owned(),
            source,
        };
        if let Some(format) = info.ty.ternary() {
            let bytes = self.bytes(info)?;
            let mut codes = vec![0i8; rows * cols];
            let scale =
                quant::unpack(format, &bytes, rows, cols, &mut codes).map_err(|source| {
                    ModelError::Quant {
                        path: path.to_owned(),
                        tensor: name.to_owned(),
                        source,
                    }
                })?;
            let m = match uniform_block_scale(&scale, &codes, cols) {
                Some(d) => {
                    TernaryMatrix::from_codes(Format::I2S, &codes, Scale::Tensor(d), rows, cols)
                }
                None => TernaryMatrix::from_codes(format, &codes, scale, rows, cols),
            }
            .map_err(kernel_err)?;
            return Ok(Linear::Ternary(m));
        }
        if !info.ty.is_float() {
            return Err(ModelError::UnsupportedType {
                path: path.to_owned(),
                tensor: name.to_owned(),
                ty: info.ty.to_string(),
                role: "a projection (expected a ternary format, F32, F16 or BF16)",
            });
        }
        let w = view.float_values()?;
        if let Some((codes, gamma)) = ternary_codes(&w) {
            if cols.is_multiple_of(Format::I2S.row_multiple()) {
                let m = TernaryMatrix::from_codes(
                    Format::I2S,
                    &codes,
                    Scale::Tensor(gamma),
                    rows,
                    cols,
                )
                .map_err(kernel_err)?;
                return Ok(Linear::Ternary(m));
            }
        }
        Ok(Linear::Dense { w, rows, cols })
    }
}

/// The one scale shared by every block that holds a non-zero weight, if
/// there is such a scale. A BitNet model converted to TQ1_0/TQ2_0 stores its
/// per-tensor scale in every block (the block absmax of `code * scale`;
/// all-zero blocks get 0, which multiplies nothing), so its per-block scales
/// carry no information and the matrix runs on the per-tensor-scale kernels,
/// which skip a float multiply-add per 256 weights. Any other TQ tensor keeps
/// its per-block scales.
fn uniform_block_scale(scale: &Scale, codes: &[i8], cols: usize) -> Option<f32> {
    let Scale::PerBlock(d) = scale else {
        return None;
    };
    if !cols.is_multiple_of(Format::I2S.row_multiple()) {
        return None;
    }
    let blocks_per_row = cols.div_ceil(crate::kernels::CHUNK_WEIGHTS);
    let mut shared = None;
    for (row, ds) in codes.chunks_exact(cols).zip(d.chunks_exact(blocks_per_row)) {
        for (block, &db) in row.chunks(crate::kernels::CHUNK_WEIGHTS).zip(ds) {
            if block.iter().all(|&c| c == 0) {
                continue;
            }
            match shared {
                None if db.is_finite() && db != 0.0 => shared = Some(db),
                Some(s) if s.to_bits() == db.to_bits() => {}
                _ => return None,
            }
        }
    }
    shared
}

/// Codes and magnitude of a float tensor whose non-zeros all share one
/// magnitude (`w = code * gamma`); `None` for any other tensor.
pub fn ternary_codes(w: &[f32]) -> Option<(Vec<i8>, f32)> {
    let gamma = w.iter().map(|v| v.abs()).find(|&a| a != 0.0)?;
    if !gamma.is_finite() {
        return None;
    }
    w.iter()
        .map(|&v| match v {
            0.0 => Some(0),
            v if v == gamma => Some(1),
            v if v == -gamma => Some(-1),
            _ => None,
        })
        .collect::<Option<Vec<i8>>>()
        .map(|codes| (codes, gamma))
}

#[cfg(unix)]
fn read_at(f: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    f.read_exact_at(buf, offset)
}

#[cfg(not(unix))]
fn read_at(f: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = f;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shared_block_scale_becomes_the_tensor_scale() {
        let cols = 512;
        let mut codes = vec![0i8; 2 * cols];
        codes[3] = 1;
        codes[300] = -1;
        codes[cols + 7] = 1;
        // Row 1's second block is all zero: its scale (0) does not count.
        let shared = Scale::PerBlock(vec![0.5, 0.5, 0.5, 0.0]);
        assert_eq!(uniform_block_scale(&shared, &codes, cols), Some(0.5));
        let mixed = Scale::PerBlock(vec![0.5, 0.25, 0.5, 0.0]);
        assert_eq!(uniform_block_scale(&mixed, &codes, cols), None);
        let nan = Scale::PerBlock(vec![f32::NAN; 4]);
        assert_eq!(uniform_block_scale(&nan, &codes, cols), None);
        assert_eq!(uniform_block_scale(&Scale::Tensor(0.5), &codes, cols), None);
        let zeros = vec![0i8; 2 * cols];
        assert_eq!(uniform_block_scale(&shared, &zeros, cols), None);
    }

    #[test]
    fn recognises_ternary_float_tensors_only() {
        let (codes, g) = ternary_codes(&[0.0, 0.5, -0.5, 0.5]).unwrap();
        assert_eq!((codes, g), (vec![0, 1, -1, 1], 0.5));
        assert!(ternary_codes(&[0.0, 0.5, -0.25]).is_none());
        assert!(ternary_codes(&[0.0, 0.0]).is_none());
        assert!(ternary_codes(&[f32::INFINITY]).is_none());
    }
}
