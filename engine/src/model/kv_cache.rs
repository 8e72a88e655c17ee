//! Keys and values of every past position, per layer, in f32.
//!
//! ```text
//! k[layer]: pos 0: [kv head 0: head_dim][kv head 1: head_dim]..  pos 1: ...
//! v[layer]: same layout
//! ```
//!
//! The buffers are allocated zeroed for the whole context up front; the
//! allocator hands out untouched zero pages, so memory grows with the
//! positions actually used, not with the context length.
//! (llama.cpp keeps its cache in F16 by default; f32 here costs twice the
//! bytes per position and removes one rounding from the comparison.)

#[derive(Debug)]
pub struct KvCache {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    n_ctx: usize,
    width: usize,
    len: usize,
}

impl KvCache {
    /// A cache for `n_ctx` positions of `width = n_head_kv * head_dim` values.
    pub fn new(n_layer: usize, n_ctx: usize, width: usize) -> KvCache {
        KvCache {
            k: (0..n_layer).map(|_| vec![0f32; n_ctx * width]).collect(),
            v: (0..n_layer).map(|_| vec![0f32; n_ctx * width]).collect(),
            n_ctx,
            width,
            len: 0,
        }
    }

    /// Positions stored so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.n_ctx
    }

    /// Bytes of a full cache.
    pub fn bytes(&self) -> usize {
        2 * self.k.len() * self.n_ctx * self.width * 4
    }

    /// Writes `k`, `v` (token-major, `width` per token) of `layer` at
    /// positions `start..start + tokens`.
    pub fn store(&mut self, layer: usize, start: usize, k: &[f32], v: &[f32]) {
        let (a, b) = (start * self.width, start * self.width + k.len());
        self.k[layer][a..b].copy_from_slice(k);
        self.v[layer][a..b].copy_from_slice(v);
    }

    /// Keys and values of `layer` for positions `0..end`.
    pub fn layer(&self, layer: usize, end: usize) -> (&[f32], &[f32]) {
        let n = end * self.width;
        (&self.k[layer][..n], &self.v[layer][..n])
    }

    /// Marks `len` positions as filled (after every layer stored them).
    pub fn set_len(&mut self, len: usize) {
        self.len = len;
    }

    /// Forgets every position (the buffers are kept).
    pub fn clear(&mut self) {
        self.len = 0;
    }
}
