//! The non-matmul operations of a decode step, so activations stay on the
//! device between the ternary products: RMSNorm, RoPE, attention over a KV
//! cache, and the gated FFN activation.

use super::buffer::GpuBuffer;
use super::{config, int_arg, CudaBackend};
use crate::cuda::params::{GatedAct, RopeStyle};
use crate::cuda::source::Module;
use crate::cuda::{launch, CudaError};
use cudarc::driver::PushKernelArg;

/// Keys and values of one layer: `[n_ctx][n_kv][head_dim]` f32 each.
#[derive(Debug)]
pub struct KvCache {
    pub(crate) k: GpuBuffer<f32>,
    pub(crate) v: GpuBuffer<f32>,
    n_ctx: usize,
    n_kv: usize,
    head_dim: usize,
}

impl KvCache {
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }
    pub fn n_kv(&self) -> usize {
        self.n_kv
    }
    pub fn head_dim(&self) -> usize {
        self.head_dim
    }
}

impl CudaBackend {
    /// `out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight` for each of `rows` rows.
    pub fn rmsnorm(
        &self,
        x: &GpuBuffer<f32>,
        weight: &GpuBuffer<f32>,
        out: &mut GpuBuffer<f32>,
        rows: usize,
        eps: f32,
    ) -> Result<(), CudaError> {
        const K: &str = "rmsnorm";
        let cols = weight.len();
        if x.len() != rows * cols || out.len() != x.len() {
            return Err(CudaError::shape(
                K,
                format!(
                    "x {} / out {} elements for {rows} rows of {cols}",
                    x.len(),
                    out.len()
                ),
            ));
        }
        let shape = launch::per_row(K, rows, 0)?;
        let cols_i = int_arg(K, "cols", cols)?;
        let f = self.function(Module::RmsNorm, K)?;
        let mut b = self.stream().launch_builder(&f);
        b.arg(&x.slice)
            .arg(&weight.slice)
            .arg(&mut out.slice)
            .arg(&cols_i)
            .arg(&eps);
        // SAFETY: arguments match `rmsnorm`; x/out hold rows x cols floats,
        // weight cols, one block per row.
        let r = unsafe { b.launch(config(shape)) };
        self.launched(K, shape, r)
    }

    /// Rotates `x` (`tokens x heads x head_dim`) in place; token `t` is at
    /// position `pos0 + t`; the first `n_rot` dimensions of each head rotate.
    #[allow(clippy::too_many_arguments)]
    pub fn rope(
        &self,
        x: &mut GpuBuffer<f32>,
        tokens: usize,
        heads: usize,
        head_dim: usize,
        n_rot: usize,
        pos0: usize,
        theta_base: f32,
        style: RopeStyle,
    ) -> Result<(), CudaError> {
        const K: &str = "rope";
        if x.len() != tokens * heads * head_dim
            || n_rot == 0
            || !n_rot.is_multiple_of(2)
            || n_rot > head_dim
        {
            return Err(CudaError::shape(
                K,
                format!(
                    "{} elements for {tokens} x {heads} x {head_dim}, n_rot {n_rot} \
                     (must be even and <= head_dim)",
                    x.len()
                ),
            ));
        }
        let shape = launch::elementwise(K, tokens * heads * n_rot / 2)?;
        let args = [
            int_arg(K, "tokens", tokens)?,
            int_arg(K, "heads", heads)?,
            int_arg(K, "head_dim", head_dim)?,
            int_arg(K, "n_rot", n_rot)?,
        ];
        int_arg(K, "last position", pos0 + tokens)?;
        let pos0_i = int_arg(K, "pos0", pos0)?;
        let style_i = style.code();
        let f = self.function(Module::Rope, K)?;
        let mut b = self.stream().launch_builder(&f);
        b.arg(&mut x.slice)
            .arg(&args[0])
            .arg(&args[1])
            .arg(&args[2])
            .arg(&args[3])
            .arg(&pos0_i)
            .arg(&theta_base)
            .arg(&style_i);
        // SAFETY: arguments match `rope`; x holds tokens x heads x head_dim
        // floats and the kernel bounds-checks the pair index.
        let r = unsafe { b.launch(config(shape)) };
        self.launched(K, shape, r)
    }

    /// A zeroed KV cache for `n_ctx` positions.
    pub fn kv_cache(
        &self,
        n_ctx: usize,
        n_kv: usize,
        head_dim: usize,
    ) -> Result<KvCache, CudaError> {
        let n = n_ctx * n_kv * head_dim;
        Ok(KvCache {
            k: self.zeros(n)?,
            v: self.zeros(n)?,
            n_ctx,
            n_kv,
            head_dim,
        })
    }

    /// Writes `tokens` new keys and values (`tokens x n_kv x head_dim`) at
    /// positions `pos0 ..`.
    pub fn kv_store(
        &self,
        cache: &mut KvCache,
        k: &GpuBuffer<f32>,
        v: &GpuBuffer<f32>,
        pos0: usize,
    ) -> Result<(), CudaError> {
        const K: &str = "kv_store";
        let row = cache.n_kv * cache.head_dim;
        let tokens = k.len() / row;
        if k.len() != v.len() || !k.len().is_multiple_of(row) || pos0 + tokens > cache.n_ctx {
            return Err(CudaError::shape(
                K,
                format!(
                    "k {} / v {} elements at position {pos0} into a cache of {} x {row}",
                    k.len(),
                    v.len(),
                    cache.n_ctx
                ),
            ));
        }
        let shape = launch::elementwise(K, k.len())?;
        let (n, offset) = (k.len() as i64, (pos0 * row) as i64);
        let f = self.function(Module::Attention, K)?;
        let mut b = self.stream().launch_builder(&f);
        b.arg(&k.slice)
            .arg(&v.slice)
            .arg(&mut cache.k.slice)
            .arg(&mut cache.v.slice)
            .arg(&n)
            .arg(&offset);
        // SAFETY: arguments match `kv_store`; offset + n <= n_ctx x row (checked).
        let r = unsafe { b.launch(config(shape)) };
        self.launched(K, shape, r)
    }

    /// Causal attention of `q` (`tokens x n_head x head_dim`, token `t` at
    /// position `pos0 + t`) over the cache (positions `0 ..= pos0 + t` must
    /// be stored), scores scaled by `scale` (usually `1 / sqrt(head_dim)`).
    pub fn attention(
        &self,
        q: &GpuBuffer<f32>,
        cache: &KvCache,
        out: &mut GpuBuffer<f32>,
        n_head: usize,
        pos0: usize,
        scale: f32,
    ) -> Result<(), CudaError> {
        const K: &str = "attention";
        let hd = cache.head_dim;
        let tokens = q.len() / (n_head * hd).max(1);
        if n_head == 0
            || q.len() != tokens * n_head * hd
            || out.len() != q.len()
            || !n_head.is_multiple_of(cache.n_kv)
            || pos0 + tokens > cache.n_ctx
        {
            return Err(CudaError::shape(
                K,
                format!(
                    "q {} / out {} elements, {n_head} heads over {} KV heads of {hd}, \
                     positions {pos0}+{tokens} of {}",
                    q.len(),
                    out.len(),
                    cache.n_kv,
                    cache.n_ctx
                ),
            ));
        }
        let shape = launch::attention(n_head, tokens, pos0 + tokens + hd)?;
        let args = [
            int_arg(K, "n_head", n_head)?,
            int_arg(K, "n_kv", cache.n_kv)?,
            int_arg(K, "head_dim", hd)?,
            int_arg(K, "pos0", pos0)?,
        ];
        let f = self.function(Module::Attention, K)?;
        let mut b = self.stream().launch_builder(&f);
        b.arg(&q.slice)
            .arg(&cache.k.slice)
            .arg(&cache.v.slice)
            .arg(&mut out.slice)
            .arg(&args[0])
            .arg(&args[1])
            .arg(&args[2])
            .arg(&args[3])
            .arg(&scale);
        // SAFETY: arguments match `attention`; shared memory holds the
        // pos0 + tokens scores plus the query, every key read is below
        // pos0 + tokens <= n_ctx (checked).
        let r = unsafe { b.launch(config(shape)) };
        self.launched(K, shape, r)
    }

    /// `out = act(gate) * up`, element-wise.
    pub fn gated_act(
        &self,
        gate: &GpuBuffer<f32>,
        up: &GpuBuffer<f32>,
        out: &mut GpuBuffer<f32>,
        act: GatedAct,
    ) -> Result<(), CudaError> {
        const K: &str = "gated_act";
        if gate.len() != up.len() || out.len() != gate.len() || !gate.len().is_multiple_of(4) {
            return Err(CudaError::shape(
                K,
                format!(
                    "gate {} / up {} / out {} (equal, multiple of 4)",
                    gate.len(),
                    up.len(),
                    out.len()
                ),
            ));
        }
        let n4 = gate.len() / 4;
        let shape = launch::elementwise(K, n4)?;
        let (n4_i, kind) = (n4 as i64, act.code());
        let f = self.function(Module::Activation, K)?;
        let mut b = self.stream().launch_builder(&f);
        b.arg(&gate.slice)
            .arg(&up.slice)
            .arg(&mut out.slice)
            .arg(&n4_i)
            .arg(&kind);
        // SAFETY: arguments match `gated_act`; all three buffers hold 4 x n4 floats.
        let r = unsafe { b.launch(config(shape)) };
        self.launched(K, shape, r)
    }
}
