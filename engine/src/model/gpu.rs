//! The forward pass on one CUDA device: the graph of [`super::forward`],
//! every step a kernel of [`crate::cuda`], so a decode step keeps its
//! activations on the device from the embedding upload to the logits
//! download:
//!
//! ```text
//! host   token_embd rows (f32) ──upload──▶ x [n x n_embd]
//! device per layer: rmsnorm ▸ act_quant ▸ W2A8 GEMV/GEMM q,k,v ▸ rope ▸ kv_store
//!                   ▸ attention ▸ rmsnorm ▸ act_quant ▸ o ▸ x += o
//!                   ▸ rmsnorm ▸ act_quant ▸ gate,up ▸ act(gate)*up ▸ rmsnorm
//!                   ▸ act_quant ▸ down ▸ x += d
//! device rmsnorm(x) ▸ f16 head GEMV (f32 vector) ──download──▶ logits
//! ```
//!
//! Weights are uploaded once from a loaded CPU [`Model`]: each projection's
//! codes with its per-tensor scale (times llama.cpp's optional
//! per-projection output scale, which multiplies the same output), and the
//! output head as the file's F16 bits. What the device kernels cannot run is
//! refused at upload with the tensor named (so `--device auto` falls back to
//! the CPU with that reason): per-block scales that differ between blocks,
//! dense float projections, and output heads not stored as F16.

use super::config::{Activation, ModelConfig};
use super::forward::{Forward, Logits};
use super::weights::{Linear, ProjWeight};
use super::{Model, ModelError};
use crate::cuda::RopeStyle as GpuRope;
use crate::cuda::{CudaBackend, CudaError, GatedAct, GpuActs, GpuBuffer, GpuTernary, KvCache};
use crate::quant::Scale;
use std::sync::Arc;

/// Why a model cannot run on the device.
fn unsupported(tensor: &str, why: impl Into<String>) -> ModelError {
    ModelError::Device(format!("tensor '{tensor}': {}", why.into()))
}

struct GpuProj {
    w: GpuTernary,
}

struct GpuLayer {
    attn_norm: GpuBuffer<f32>,
    attn_sub_norm: GpuBuffer<f32>,
    ffn_norm: GpuBuffer<f32>,
    ffn_sub_norm: GpuBuffer<f32>,
    q: GpuProj,
    k: GpuProj,
    v: GpuProj,
    o: GpuProj,
    gate: GpuProj,
    up: GpuProj,
    down: GpuProj,
}

/// A model's weights on one device; sessions borrow it (and the CPU model,
/// whose memory-mapped embedding table supplies the input rows).
pub struct GpuModel<'m> {
    cpu: &'m Model,
    backend: Arc<CudaBackend>,
    layers: Vec<GpuLayer>,
    output_norm: GpuBuffer<f32>,
    head: GpuBuffer<u16>,
    /// Rows of the head: the logits per position (as on the CPU).
    vocab: usize,
}

impl std::fmt::Debug for GpuModel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuModel")
            .field("backend", &self.backend)
            .field("layers", &self.layers.len())
            .finish()
    }
}

fn upload_proj(b: &CudaBackend, p: &ProjWeight, name: &str) -> Result<GpuProj, ModelError> {
    let Linear::Ternary(m) = &p.linear else {
        return Err(unsupported(
            name,
            "a dense float matrix (the device runs ternary projections only)",
        ));
    };
    let scale = match m.scale() {
        Scale::Tensor(s) => *s,
        Scale::PerBlock(_) => {
            return Err(unsupported(
                name,
                "per-block scales that differ between blocks (the device kernels take one scale per tensor)",
            ))
        }
    };
    let scale = scale * p.scale.unwrap_or(1.0);
    let (rows, cols) = (m.rows(), m.cols());
    let mut codes = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        codes.extend(m.row_codes(r));
    }
    Ok(GpuProj {
        w: b.upload_ternary(&codes, rows, cols, scale)?,
    })
}

impl<'m> GpuModel<'m> {
    /// Uploads `cpu`'s weights to `backend`'s device.
    pub fn upload(cpu: &'m Model, backend: Arc<CudaBackend>) -> Result<Self, ModelError> {
        let b = &*backend;
        let w = cpu.weights();
        let mut layers = Vec::with_capacity(w.layers.len());
        for (l, lw) in w.layers.iter().enumerate() {
            let name = |p: &str| format!("blk.{l}.{p}.weight");
            layers.push(GpuLayer {
                attn_norm: b.upload(&lw.attn_norm)?,
                attn_sub_norm: b.upload(&lw.attn_sub_norm)?,
                ffn_norm: b.upload(&lw.ffn_norm)?,
                ffn_sub_norm: b.upload(&lw.ffn_sub_norm)?,
                q: upload_proj(b, &lw.q, &name("attn_q"))?,
                k: upload_proj(b, &lw.k, &name("attn_k"))?,
                v: upload_proj(b, &lw.v, &name("attn_v"))?,
                o: upload_proj(b, &lw.o, &name("attn_output"))?,
                gate: upload_proj(b, &lw.gate, &name("ffn_gate"))?,
                up: upload_proj(b, &lw.up, &name("ffn_up"))?,
                down: upload_proj(b, &lw.down, &name("ffn_down"))?,
            });
        }
        let head_bits: Vec<u16> = w
            .output
            .f16_data()
            .ok_or_else(|| {
                unsupported(
                    w.output.name(),
                    "the output head is not F16 (the device head GEMV reads F16)",
                )
            })?
            .iter()
            .map(|h| h.to_bits())
            .collect();
        let head = b.upload(&head_bits)?;
        let output_norm = b.upload(&w.output_norm)?;
        Ok(GpuModel {
            cpu,
            backend,
            layers,
            output_norm,
            head,
            vocab: w.output.rows(),
        })
    }

    pub fn backend(&self) -> &CudaBackend {
        &self.backend
    }

    pub fn config(&self) -> &ModelConfig {
        self.cpu.config()
    }

    /// A session with room for `n_ctx` positions (at most the context).
    pub fn session(&self, n_ctx: usize) -> Result<GpuSession<'_, 'm>, ModelError> {
        let c = self.config();
        if n_ctx == 0 || n_ctx > c.context_length {
            return Err(ModelError::ContextFull {
                needed: n_ctx,
                used: 0,
                context: c.context_length,
            });
        }
        let caches = (0..c.n_layer)
            .map(|_| self.backend.kv_cache(n_ctx, c.n_head_kv, c.head_dim))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GpuSession {
            model: self,
            caches,
            len: 0,
            capacity: n_ctx,
            bufs: None,
        })
    }
}

/// Device buffers of one forward call over `tokens` tokens.
struct Bufs {
    tokens: usize,
    x: GpuBuffer<f32>,
    h: GpuBuffer<f32>,
    q: GpuBuffer<f32>,
    k: GpuBuffer<f32>,
    v: GpuBuffer<f32>,
    attn: GpuBuffer<f32>,
    a: GpuBuffer<f32>,
    proj: GpuBuffer<f32>,
    gate: GpuBuffer<f32>,
    up: GpuBuffer<f32>,
    f: GpuBuffer<f32>,
    f_norm: GpuBuffer<f32>,
    acts_e: GpuActs,
    acts_q: GpuActs,
    acts_ff: GpuActs,
    row: GpuBuffer<f32>,
    logits: GpuBuffer<f32>,
}

impl Bufs {
    fn new(b: &CudaBackend, c: &ModelConfig, vocab: usize, n: usize) -> Result<Self, CudaError> {
        let (e, nq, nkv, ff) = (
            c.n_embd,
            c.n_head * c.head_dim,
            c.n_head_kv * c.head_dim,
            c.n_ff,
        );
        Ok(Bufs {
            tokens: n,
            x: b.zeros(n * e)?,
            h: b.zeros(n * e)?,
            q: b.zeros(n * nq)?,
            k: b.zeros(n * nkv)?,
            v: b.zeros(n * nkv)?,
            attn: b.zeros(n * nq)?,
            a: b.zeros(n * nq)?,
            proj: b.zeros(n * e)?,
            gate: b.zeros(n * ff)?,
            up: b.zeros(n * ff)?,
            f: b.zeros(n * ff)?,
            f_norm: b.zeros(n * ff)?,
            acts_e: b.alloc_acts(n, e)?,
            acts_q: b.alloc_acts(n, nq)?,
            acts_ff: b.alloc_acts(n, ff)?,
            row: b.zeros(e)?,
            logits: b.zeros(vocab)?,
        })
    }
}

/// One sequence on the device: its KV cache and buffers.
pub struct GpuSession<'g, 'm> {
    model: &'g GpuModel<'m>,
    caches: Vec<KvCache>,
    len: usize,
    capacity: usize,
    bufs: Option<Bufs>,
}

impl std::fmt::Debug for GpuSession<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuSession")
            .field("position", &self.len)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl GpuSession<'_, '_> {
    pub fn position(&self) -> usize {
        self.len
    }

    /// Runs `tokens` at the next positions; logits as [`super::Session::forward`].
    pub fn forward(&mut self, tokens: &[u32], which: Logits) -> Result<Vec<f32>, ModelError> {
        let m = self.model;
        let c = m.config();
        super::forward::check_tokens(c, tokens, self.len, self.capacity)?;
        let b = &*m.backend;
        let n = tokens.len();
        let e = c.n_embd;
        if self.bufs.as_ref().map(|s| s.tokens) != Some(n) {
            self.bufs = Some(Bufs::new(b, c, m.vocab, n)?);
        }
        let s = self.bufs.as_mut().expect("allocated above");

        let mut x = vec![0f32; n * e];
        for (t, row) in tokens.iter().zip(x.chunks_exact_mut(e)) {
            m.cpu.weights().token_embd.row(*t as usize, row);
        }
        b.upload_into(&x, &mut s.x)?;
        let start = self.len;
        for (lw, cache) in m.layers.iter().zip(self.caches.iter_mut()) {
            layer(b, c, lw, cache, start, n, s)?;
        }
        self.len = start + n;

        let rows: Vec<usize> = match which {
            Logits::Last => vec![n - 1],
            Logits::All => (0..n).collect(),
        };
        b.rmsnorm(&s.x, &m.output_norm, &mut s.h, n, c.rms_eps)?;
        let normed = if n > 1 { Some(b.download(&s.h)?) } else { None };
        let mut logits = Vec::with_capacity(rows.len() * m.vocab);
        for t in rows {
            let x_row = match &normed {
                Some(all) => {
                    b.upload_into(&all[t * e..(t + 1) * e], &mut s.row)?;
                    &s.row
                }
                None => &s.h,
            };
            b.gemv_f16_f32x(&m.head, x_row, &mut s.logits)?;
            logits.extend(b.download(&s.logits)?);
        }
        Ok(logits)
    }
}

fn gated(a: Activation) -> GatedAct {
    match a {
        Activation::Silu => GatedAct::Silu,
        Activation::ReluSqr => GatedAct::Relu2,
    }
}

/// One transformer block over `n` tokens at `start..start + n` (see the
/// module diagram), updating `s.x`.
fn layer(
    b: &CudaBackend,
    c: &ModelConfig,
    w: &GpuLayer,
    cache: &mut KvCache,
    start: usize,
    n: usize,
    s: &mut Bufs,
) -> Result<(), ModelError> {
    let eps = c.rms_eps;
    b.rmsnorm(&s.x, &w.attn_norm, &mut s.h, n, eps)?;
    b.quantize_acts(&s.h, &mut s.acts_e)?;
    b.ternary_matmul(&w.q.w, &s.acts_e, &mut s.q)?;
    b.ternary_matmul(&w.k.w, &s.acts_e, &mut s.k)?;
    b.ternary_matmul(&w.v.w, &s.acts_e, &mut s.v)?;
    // The CPU graph rotates NEOX-style for every architecture it loads.
    let (hd, theta) = (c.head_dim, c.rope_theta);
    b.rope(
        &mut s.q,
        n,
        c.n_head,
        hd,
        c.n_rot,
        start,
        theta,
        GpuRope::Neox,
    )?;
    b.rope(
        &mut s.k,
        n,
        c.n_head_kv,
        hd,
        c.n_rot,
        start,
        theta,
        GpuRope::Neox,
    )?;
    b.kv_store(cache, &s.k, &s.v, start)?;
    let scale = 1.0 / (hd as f32).sqrt();
    b.attention(&s.q, cache, &mut s.attn, c.n_head, start, scale)?;
    b.rmsnorm(&s.attn, &w.attn_sub_norm, &mut s.a, n, eps)?;
    b.quantize_acts(&s.a, &mut s.acts_q)?;
    b.ternary_matmul(&w.o.w, &s.acts_q, &mut s.proj)?;
    b.add_assign(&mut s.x, &s.proj)?;

    b.rmsnorm(&s.x, &w.ffn_norm, &mut s.h, n, eps)?;
    b.quantize_acts(&s.h, &mut s.acts_e)?;
    b.ternary_matmul(&w.gate.w, &s.acts_e, &mut s.gate)?;
    b.ternary_matmul(&w.up.w, &s.acts_e, &mut s.up)?;
    b.gated_act(&s.gate, &s.up, &mut s.f, gated(c.activation))?;
    b.rmsnorm(&s.f, &w.ffn_sub_norm, &mut s.f_norm, n, eps)?;
    b.quantize_acts(&s.f_norm, &mut s.acts_ff)?;
    b.ternary_matmul(&w.down.w, &s.acts_ff, &mut s.proj)?;
    b.add_assign(&mut s.x, &s.proj)?;
    Ok(())
}

impl Forward for GpuSession<'_, '_> {
    fn forward(&mut self, tokens: &[u32], which: Logits) -> Result<Vec<f32>, ModelError> {
        GpuSession::forward(self, tokens, which)
    }
}
