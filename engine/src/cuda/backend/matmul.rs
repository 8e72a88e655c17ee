//! Ternary weights on the device and the W2A8 products.
//!
//! Weights are repacked once, at upload, into the W2 layout
//! ([`crate::cuda::layout`]); activations are quantized per token on the
//! device; GEMV (one token) and GEMM (many) then accumulate exactly in
//! integers and apply `wscale / xscale` per output in f64, with one rounding
//! to f32 (the CPU kernels' epilogue, so results are bit-identical):
//! `out = f32(sum(w * xq) * (f64(wscale) / f64(xscale)))`.

use super::buffer::GpuBuffer;
use super::{config, int_arg, CudaBackend};
use crate::cuda::layout::{self, W2Layout};
use crate::cuda::source::Module;
use crate::cuda::{launch, CudaError};
use crate::quant::{unpack, Format, Scale};
use cudarc::driver::PushKernelArg;

/// A ternary matrix (`rows x cols`, one f32 scale) in the W2 layout.
#[derive(Debug)]
pub struct GpuTernary {
    pub(crate) layout: W2Layout,
    pub(crate) words: GpuBuffer<u32>,
    pub(crate) scale: f32,
}

impl GpuTernary {
    pub fn rows(&self) -> usize {
        self.layout.rows
    }
    pub fn cols(&self) -> usize {
        self.layout.cols
    }
    pub fn scale(&self) -> f32 {
        self.scale
    }
    /// Device bytes (packed words, row padding included).
    pub fn device_bytes(&self) -> usize {
        self.words.num_bytes()
    }
}

/// Per-token int8 activations with their scales and code sums.
#[derive(Debug)]
pub struct GpuActs {
    pub(crate) tokens: usize,
    pub(crate) cols: usize,
    pub(crate) xq: GpuBuffer<i8>,
    pub(crate) scale: GpuBuffer<f32>,
    pub(crate) sum: GpuBuffer<i32>,
}

impl GpuActs {
    pub fn tokens(&self) -> usize {
        self.tokens
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
}

impl CudaBackend {
    /// Uploads ternary weights (`-1, 0, +1`, row-major) with their scale.
    pub fn upload_ternary(
        &self,
        weights: &[i8],
        rows: usize,
        cols: usize,
        scale: f32,
    ) -> Result<GpuTernary, CudaError> {
        if !scale.is_finite() {
            return Err(CudaError::shape(
                "upload_ternary",
                format!("scale is {scale}"),
            ));
        }
        let layout = W2Layout::new(rows, cols)?;
        let words = layout::repack(weights, layout)?;
        Ok(GpuTernary {
            layout,
            words: self.upload(&words)?,
            scale,
        })
    }

    /// Uploads a packed I2S / TL1 / TL2 tensor (file layout, trailer
    /// included): unpacked to codes with [`crate::quant::unpack`], then
    /// repacked to W2. TQ formats (per-block scales) are rejected.
    pub fn upload_packed(
        &self,
        format: Format,
        packed: &[u8],
        rows: usize,
        cols: usize,
    ) -> Result<GpuTernary, CudaError> {
        if !format.has_tensor_scale() {
            return Err(CudaError::shape(
                "upload_packed",
                format!("{format} has per-block scales; the GPU takes i2s, tl1 and tl2"),
            ));
        }
        let mut codes = vec![0i8; rows * cols];
        match unpack(format, packed, rows, cols, &mut codes)? {
            Scale::Tensor(gamma) => self.upload_ternary(&codes, rows, cols, gamma),
            Scale::PerBlock(_) => Err(CudaError::shape(
                "upload_packed",
                format!("{format} returned per-block scales"),
            )),
        }
    }

    /// Device buffers for `tokens x cols` quantized activations.
    pub fn alloc_acts(&self, tokens: usize, cols: usize) -> Result<GpuActs, CudaError> {
        if tokens == 0 || cols == 0 || !cols.is_multiple_of(layout::COLS_MULTIPLE) {
            return Err(CudaError::shape(
                "act_quant",
                format!(
                    "{tokens} x {cols}: cols must be a non-zero multiple of {}",
                    layout::COLS_MULTIPLE
                ),
            ));
        }
        Ok(GpuActs {
            tokens,
            cols,
            xq: self.zeros(tokens * cols)?,
            scale: self.zeros(tokens)?,
            sum: self.zeros(tokens)?,
        })
    }

    /// Quantizes `x` (`acts.tokens() x acts.cols()` f32) per token into `acts`.
    pub fn quantize_acts(&self, x: &GpuBuffer<f32>, acts: &mut GpuActs) -> Result<(), CudaError> {
        const K: &str = "act_quant";
        if x.len() != acts.tokens * acts.cols {
            return Err(CudaError::shape(
                K,
                format!("{} inputs for {} x {}", x.len(), acts.tokens, acts.cols),
            ));
        }
        let shape = launch::per_row(K, acts.tokens, 0)?;
        let cols = int_arg(K, "cols", acts.cols)?;
        let f = self.function(Module::ActQuant, K)?;
        let mut b = self.stream().launch_builder(&f);
        b.arg(&x.slice)
            .arg(&mut acts.xq.slice)
            .arg(&mut acts.scale.slice)
            .arg(&mut acts.sum.slice)
            .arg(&cols);
        // SAFETY: arguments match `act_quant` in act_quant.cu; every buffer
        // holds tokens x cols (or tokens) elements, checked above, and the
        // grid has one block per token.
        let r = unsafe { b.launch(config(shape)) };
        self.launched(K, shape, r)
    }

    fn check_product(
        kernel: &'static str,
        w: &GpuTernary,
        a: &GpuActs,
        out: &GpuBuffer<f32>,
    ) -> Result<(), CudaError> {
        if a.cols != w.cols() {
            return Err(CudaError::shape(
                kernel,
                format!("activations have {} cols, weights {}", a.cols, w.cols()),
            ));
        }
        if out.len() != a.tokens * w.rows() {
            return Err(CudaError::shape(
                kernel,
                format!(
                    "output holds {}, needs {} tokens x {} rows",
                    out.len(),
                    a.tokens,
                    w.rows()
                ),
            ));
        }
        Ok(())
    }

    /// `out[t][r] = f32(sum_k w[r][k] xq[t][k] * (wscale / xscale[t]))`: GEMV
    /// for one token, GEMM otherwise.
    pub fn ternary_matmul(
        &self,
        w: &GpuTernary,
        a: &GpuActs,
        out: &mut GpuBuffer<f32>,
    ) -> Result<(), CudaError> {
        if a.tokens == 1 {
            self.gemv(w, a, out)
        } else {
            self.gemm(w, a, out)
        }
    }

    /// W2A8 GEMV (token 0 of `a`).
    pub fn gemv(
        &self,
        w: &GpuTernary,
        a: &GpuActs,
        out: &mut GpuBuffer<f32>,
    ) -> Result<(), CudaError> {
        const K: &str = "gemv_w2a8";
        if a.tokens != 1 {
            return Err(CudaError::shape(
                K,
                format!("{} tokens: GEMV takes one (use gemm)", a.tokens),
            ));
        }
        Self::check_product(K, w, a, out)?;
        let l = w.layout;
        let shape = launch::gemv(l.rows, l.cols)?;
        let rows = int_arg(K, "rows", l.rows)?;
        let groups = int_arg(K, "groups", l.groups())?;
        let row_words = int_arg(K, "row words", l.row_words())?;
        let supers = int_arg(K, "super-groups", l.full_supers())?;
        let f = self.function(Module::GemvW2a8, K)?;
        let mut b = self.stream().launch_builder(&f);
        b.arg(&w.words.slice)
            .arg(&a.xq.slice)
            .arg(&a.scale.slice)
            .arg(&a.sum.slice)
            .arg(&w.scale)
            .arg(&mut out.slice)
            .arg(&rows)
            .arg(&groups)
            .arg(&row_words)
            .arg(&supers);
        // SAFETY: arguments match `gemv_w2a8`; the weight buffer has
        // rows x row_words words (W2Layout), the activation row has `cols`
        // = 16 x groups bytes staged into `cols` bytes of shared memory, and
        // `out` holds `rows` floats (checked above).
        let r = unsafe { b.launch(config(shape)) };
        self.launched(K, shape, r)
    }

    /// W2A8 GEMM over all tokens of `a`.
    pub fn gemm(
        &self,
        w: &GpuTernary,
        a: &GpuActs,
        out: &mut GpuBuffer<f32>,
    ) -> Result<(), CudaError> {
        const K: &str = "gemm_w2a8";
        Self::check_product(K, w, a, out)?;
        let l = w.layout;
        let shape = launch::gemm(a.tokens, l.rows)?;
        let tokens = int_arg(K, "tokens", a.tokens)?;
        let rows = int_arg(K, "rows", l.rows)?;
        let groups = int_arg(K, "groups", l.groups())?;
        let row_words = int_arg(K, "row words", l.row_words())?;
        let supers = int_arg(K, "super-groups", l.full_supers())?;
        let f = self.function(Module::GemmW2a8, K)?;
        let mut b = self.stream().launch_builder(&f);
        b.arg(&w.words.slice)
            .arg(&a.xq.slice)
            .arg(&a.scale.slice)
            .arg(&a.sum.slice)
            .arg(&w.scale)
            .arg(&mut out.slice)
            .arg(&tokens)
            .arg(&rows)
            .arg(&groups)
            .arg(&row_words)
            .arg(&supers);
        // SAFETY: arguments match `gemm_w2a8`; buffer sizes checked above,
        // and the kernel bounds-checks tokens and rows of partial tiles.
        let r = unsafe { b.launch(config(shape)) };
        self.launched(K, shape, r)
    }

    /// The output head: `out[n] = sum_k w[n][k] x[k]` with `w` IEEE half bit
    /// patterns (`n x k`) and an f32 vector, as the CPU head computes it.
    pub fn gemv_f16_f32x(
        &self,
        w: &GpuBuffer<u16>,
        x: &GpuBuffer<f32>,
        out: &mut GpuBuffer<f32>,
    ) -> Result<(), CudaError> {
        const K: &str = "gemv_f16_f32x";
        let (n, k) = (out.len(), x.len());
        if n == 0 || k == 0 || w.len() != n * k {
            return Err(CudaError::shape(
                K,
                format!("{} weights for {n} rows of {k}", w.len()),
            ));
        }
        let (ni, ki) = (int_arg(K, "n", n)?, int_arg(K, "k", k)?);
        let shape = launch::hgemv(n, k)?;
        let f = self.function(Module::GemmF16, K)?;
        let mut bld = self.stream().launch_builder(&f);
        bld.arg(&x.slice)
            .arg(&w.slice)
            .arg(&mut out.slice)
            .arg(&ni)
            .arg(&ki);
        // SAFETY: arguments match `gemv_f16_f32x`; x holds k floats (staged
        // into 4k bytes of shared memory), w n x k halves, out n (checked).
        let r = unsafe { bld.launch(config(shape)) };
        self.launched(K, shape, r)
    }

    /// Dense reference: `c[m][n] = sum_k a[m][k] b[n][k]` with `a`, `b` IEEE
    /// half bit patterns (`half::f16::to_bits`) and f32 `c`.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm_f16(
        &self,
        a: &GpuBuffer<u16>,
        b: &GpuBuffer<u16>,
        c: &mut GpuBuffer<f32>,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<(), CudaError> {
        const K: &str = "gemm_f16";
        if a.len() != m * k || b.len() != n * k || c.len() != m * n {
            return Err(CudaError::shape(
                K,
                format!(
                    "buffers {} / {} / {} do not match m {m}, n {n}, k {k}",
                    a.len(),
                    b.len(),
                    c.len()
                ),
            ));
        }
        let (mi, ni, ki) = (
            int_arg(K, "m", m)?,
            int_arg(K, "n", n)?,
            int_arg(K, "k", k)?,
        );
        if m == 1 {
            // A matrix-vector product: the warp-per-row kernel.
            const KV: &str = "gemv_f16";
            let shape = launch::hgemv(n, k)?;
            let f = self.function(Module::GemmF16, KV)?;
            let mut bld = self.stream().launch_builder(&f);
            bld.arg(&a.slice)
                .arg(&b.slice)
                .arg(&mut c.slice)
                .arg(&ni)
                .arg(&ki);
            // SAFETY: arguments match `gemv_f16`; a holds k halves (staged
            // into 4k bytes of shared memory), b n x k, c n (checked above).
            let r = unsafe { bld.launch(config(shape)) };
            return self.launched(KV, shape, r);
        }
        let shape = launch::hgemm(m, n)?;
        let f = self.function(Module::GemmF16, K)?;
        let mut bld = self.stream().launch_builder(&f);
        bld.arg(&a.slice)
            .arg(&b.slice)
            .arg(&mut c.slice)
            .arg(&mi)
            .arg(&ni)
            .arg(&ki);
        // SAFETY: arguments match `gemm_f16`; sizes checked above; the kernel
        // bounds-checks every partial tile.
        let r = unsafe { bld.launch(config(shape)) };
        self.launched(K, shape, r)
    }
}
