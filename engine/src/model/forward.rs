//! The forward pass of llama.cpp's BitNet graph (`src/models/bitnet.cpp`;
//! bitnet.cpp's `build_bitnet_158` is the same graph with squared ReLU), on
//! the CPU, for a batch of tokens at consecutive positions:
//!
//! ```text
//! x = token_embd[tokens]
//! per layer:
//!   h = rms_norm(x) * attn_norm                     -> int8 per token
//!   q, k, v = Wq h, Wk h, Wv h   (x optional .scale each)
//!   q, k = rope_neox(q, k, pos);  cache k, v
//!   a = softmax(q k^T / sqrt(head_dim), causal) v   (GQA: n_head / n_head_kv
//!                                                    query heads per kv head)
//!   x = x + Wo (rms_norm(a) * attn_sub_norm)        -> int8 per token
//!   h = rms_norm(x) * ffn_norm                      -> int8 per token
//!   f = act(Wgate h) * (Wup h)                      act: SiLU or relu^2
//!   x = x + Wdown (rms_norm(f) * ffn_sub_norm)      -> int8 per token
//! logits = output (rms_norm(x) * output_norm)       tied: output = token_embd
//! ```
//!
//! Every ternary matrix product quantizes its input to int8 per token
//! (BitNet b1.58's W1.58A8); several tokens run one GEMM per matrix, one
//! token a GEMV. Attention, norms and the output head stay in f32.

use super::config::ModelConfig;
use super::kv_cache::KvCache;
use super::ops;
use super::weights::{LayerWeights, Weights};
use super::ModelError;
use crate::gguf::GgufFile;
use crate::kernels::{self, Parallelism, QuantizedActivations};
use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;

/// A loaded model; sessions borrow it.
pub struct Model {
    config: ModelConfig,
    weights: Weights,
    file: Arc<GgufFile>,
    threads: usize,
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("path", &self.file.path())
            .field("config", &self.config)
            .field("threads", &self.threads)
            .finish()
    }
}

/// A sequence that runs forward calls: [`Session`] on the CPU,
/// [`super::GpuSession`] on a CUDA device.
pub trait Forward {
    /// Runs `tokens` at the next positions and returns logits
    /// (`vocab` values for `Logits::Last`, `tokens x vocab` for `All`).
    fn forward(&mut self, tokens: &[u32], which: Logits) -> Result<Vec<f32>, ModelError>;
}

impl Forward for Session<'_> {
    fn forward(&mut self, tokens: &[u32], which: Logits) -> Result<Vec<f32>, ModelError> {
        Session::forward(self, tokens, which)
    }
}

/// Which logits a forward call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logits {
    /// The last token's row only (generation).
    Last,
    /// One row per input token (`bitnet logits --all`, cross-validation).
    All,
}

impl Model {
    /// Opens, validates and loads `path` to run on `threads` threads.
    pub fn load(path: impl AsRef<Path>, threads: usize) -> Result<Model, ModelError> {
        let file = Arc::new(GgufFile::open(path)?);
        Self::from_file(file, threads)
    }

    /// Loads an opened file.
    pub fn from_file(file: Arc<GgufFile>, threads: usize) -> Result<Model, ModelError> {
        if threads == 0 {
            return Err(ModelError::Option("threads must be at least 1".into()));
        }
        let config = ModelConfig::from_gguf(&file)?;
        config.validate(&file)?;
        let weights = Weights::load(&file, &config)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("bitnet-forward-{i}"))
            .build()
            .map_err(|e| ModelError::ThreadPool {
                threads,
                reason: e.to_string(),
            })?;
        Ok(Model {
            config,
            weights,
            file,
            threads,
            pool,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn file(&self) -> &GgufFile {
        &self.file
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// A session with room for `n_ctx` positions (at most the model's
    /// context length).
    pub fn session(&self, n_ctx: usize) -> Result<Session<'_>, ModelError> {
        let max = self.config.context_length;
        if n_ctx == 0 || n_ctx > max {
            return Err(ModelError::ContextFull {
                needed: n_ctx,
                used: 0,
                context: max,
            });
        }
        let c = &self.config;
        Ok(Session {
            model: self,
            cache: KvCache::new(c.n_layer, n_ctx, c.n_head_kv * c.head_dim),
            s: Scratch::default(),
        })
    }
}

/// Reused buffers of one forward call, sized for the largest batch seen.
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    h: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    attn: Vec<f32>,
    proj: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    xq: QuantizedActivations,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

fn sized(buf: &mut Vec<f32>, n: usize) -> &mut [f32] {
    buf.resize(n, 0.0);
    &mut buf[..n]
}

/// One sequence being run: its KV cache and scratch.
pub struct Session<'m> {
    model: &'m Model,
    cache: KvCache,
    s: Scratch,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("position", &self.cache.len())
            .field("capacity", &self.cache.capacity())
            .finish()
    }
}

impl Session<'_> {
    /// Positions already in the cache.
    pub fn position(&self) -> usize {
        self.cache.len()
    }

    pub fn capacity(&self) -> usize {
        self.cache.capacity()
    }

    pub fn kv_cache_bytes(&self) -> usize {
        self.cache.bytes()
    }

    /// Forgets the sequence so far.
    pub fn reset(&mut self) {
        self.cache.clear();
    }

    /// Runs `tokens` at the next positions and returns logits
    /// (`vocab` values for `Logits::Last`, `tokens x vocab` for `All`).
    pub fn forward(&mut self, tokens: &[u32], which: Logits) -> Result<Vec<f32>, ModelError> {
        let m = self.model;
        let c = &m.config;
        let start = self.cache.len();
        check_tokens(c, tokens, start, self.cache.capacity())?;
        let n = tokens.len();
        let e = c.n_embd;
        let s = &mut self.s;
        let x = sized(&mut s.x, n * e);
        for (t, row) in tokens.iter().zip(x.chunks_exact_mut(e)) {
            m.weights.token_embd.row(*t as usize, row);
        }
        for (l, lw) in m.weights.layers.iter().enumerate() {
            layer(m, lw, l, start, n, &mut self.cache, s)?;
        }
        self.cache.set_len(start + n);

        let rows: Vec<usize> = match which {
            Logits::Last => vec![n - 1],
            Logits::All => (0..n).collect(),
        };
        let vocab = m.weights.output.rows();
        let mut logits = vec![0f32; rows.len() * vocab];
        let mut normed = vec![0f32; e];
        for (&t, out) in rows.iter().zip(logits.chunks_exact_mut(vocab)) {
            ops::rms_norm(
                &s.x[t * e..(t + 1) * e],
                &m.weights.output_norm,
                c.rms_eps,
                &mut normed,
            );
            m.weights.output.matvec(&normed, out, &m.pool)?;
        }
        Ok(logits)
    }
}

/// The input checks of every forward call (CPU or device): at least one
/// token, every id in the vocabulary, room in the cache after `used`.
pub(crate) fn check_tokens(
    c: &ModelConfig,
    tokens: &[u32],
    used: usize,
    capacity: usize,
) -> Result<(), ModelError> {
    if tokens.is_empty() {
        return Err(ModelError::NoTokens);
    }
    if let Some((index, &token)) = tokens
        .iter()
        .enumerate()
        .find(|(_, &t)| t as usize >= c.vocab_size)
    {
        return Err(ModelError::UnknownToken {
            token,
            index,
            vocab: c.vocab_size,
        });
    }
    if used + tokens.len() > capacity {
        return Err(ModelError::ContextFull {
            needed: tokens.len(),
            used,
            context: capacity,
        });
    }
    Ok(())
}

/// One transformer block over `n` tokens at positions `start..start + n`,
/// updating `s.x` in place.
fn layer(
    m: &Model,
    w: &LayerWeights,
    l: usize,
    start: usize,
    n: usize,
    cache: &mut KvCache,
    s: &mut Scratch,
) -> Result<(), ModelError> {
    let c = &m.config;
    let par = Parallelism::threads(m.threads);
    let (e, hd) = (c.n_embd, c.head_dim);
    let (nq, nkv) = (c.n_head * hd, c.n_head_kv * hd);

    // Attention.
    let h = sized(&mut s.h, n * e);
    ops::rms_norm(&s.x, &w.attn_norm, c.rms_eps, h);
    kernels::quantize_activations_into(h, n, e, &mut s.xq)?;
    let q = sized(&mut s.q, n * nq);
    let k = sized(&mut s.k, n * nkv);
    let v = sized(&mut s.v, n * nkv);
    w.q.forward(h, &s.xq, n, q, par)?;
    w.k.forward(h, &s.xq, n, k, par)?;
    w.v.forward(h, &s.xq, n, v, par)?;

    let half = c.n_rot / 2;
    s.cos.resize(half, 0.0);
    s.sin.resize(half, 0.0);
    for t in 0..n {
        ops::rope_angles(start + t, c.n_rot, c.rope_theta, &mut s.cos, &mut s.sin);
        for head in q[t * nq..(t + 1) * nq].chunks_exact_mut(hd) {
            ops::rope_neox(&mut head[..c.n_rot], &s.cos, &s.sin);
        }
        for head in k[t * nkv..(t + 1) * nkv].chunks_exact_mut(hd) {
            ops::rope_neox(&mut head[..c.n_rot], &s.cos, &s.sin);
        }
    }
    cache.store(l, start, k, v);
    let attn = sized(&mut s.attn, n * nq);
    attention(m, cache, l, start, q, attn);

    let a = sized(&mut s.h, n * nq);
    ops::rms_norm(attn, &w.attn_sub_norm, c.rms_eps, a);
    kernels::quantize_activations_into(a, n, nq, &mut s.xq)?;
    let o = sized(&mut s.proj, n * e);
    w.o.forward(a, &s.xq, n, o, par)?;
    s.x.iter_mut().zip(o.iter()).for_each(|(x, o)| *x += o);

    // Feed-forward.
    let ff = c.n_ff;
    let h = sized(&mut s.h, n * e);
    ops::rms_norm(&s.x, &w.ffn_norm, c.rms_eps, h);
    kernels::quantize_activations_into(h, n, e, &mut s.xq)?;
    let gate = sized(&mut s.gate, n * ff);
    let up = sized(&mut s.up, n * ff);
    w.gate.forward(h, &s.xq, n, gate, par)?;
    w.up.forward(h, &s.xq, n, up, par)?;
    ops::gated_activation(c.activation, gate, up);
    let f = sized(&mut s.up, n * ff);
    ops::rms_norm(&s.gate, &w.ffn_sub_norm, c.rms_eps, f);
    kernels::quantize_activations_into(f, n, ff, &mut s.xq)?;
    let d = sized(&mut s.proj, n * e);
    w.down.forward(f, &s.xq, n, d, par)?;
    s.x.iter_mut().zip(d.iter()).for_each(|(x, d)| *x += d);
    Ok(())
}

/// Causal grouped-query attention of `q` (`n` tokens at `start..`) against
/// the cached keys and values of positions `0..=start + t`.
fn attention(m: &Model, cache: &KvCache, l: usize, start: usize, q: &[f32], out: &mut [f32]) {
    let c = &m.config;
    let hd = c.head_dim;
    let group = c.n_head / c.n_head_kv;
    let nkv = c.n_head_kv * hd;
    let scale = 1.0 / (hd as f32).sqrt();
    let n = q.len() / (c.n_head * hd);
    let (keys, values) = cache.layer(l, start + n);
    m.pool.install(|| {
        out.par_chunks_mut(hd).enumerate().for_each_init(
            || Vec::with_capacity(start + n),
            |scores: &mut Vec<f32>, (i, o)| {
                let (t, head) = (i / c.n_head, i % c.n_head);
                let g = head / group;
                let qh = &q[i * hd..(i + 1) * hd];
                let len = start + t + 1;
                scores.clear();
                scores.extend((0..len).map(|p| {
                    let kh = &keys[p * nkv + g * hd..p * nkv + (g + 1) * hd];
                    ops::dot(qh, kh) * scale
                }));
                ops::softmax(scores);
                o.fill(0.0);
                for (p, &w) in scores.iter().enumerate() {
                    let vh = &values[p * nkv + g * hd..p * nkv + (g + 1) * hd];
                    for (o, &v) in o.iter_mut().zip(vh) {
                        *o += w * v;
                    }
                }
            },
        )
    });
}
