//! Deterministic synthetic weights, scaled so that activations stay near
//! unit RMS through every layer.
//!
//! Each tensor draws from its own ChaCha8 stream seeded by `(seed, name)`
//! (ChaCha8's output is fixed by its specification, so a seed gives the same
//! model on every machine and rand release).
//!
//! Scales, with K the input width of a projection and codes uniform over
//! {-1, 0, +1} (so E[w^2] = 2/3 gamma^2):
//!
//! ```text
//! q, k, v, gate, up     gamma = sqrt(3 / (2K))              output RMS ~ input RMS (~1 after RMSNorm)
//! attn_output, down     gamma = sqrt(3 / (2K)) / sqrt(2L)   L layers x 2 residual adds keep the stream ~1
//! norms                 1 + U(-0.05, 0.05)
//! token_embd            U(-a, a), std 2.5 / sqrt(n_embd)    tied logits get std ~2.5
//! ```

use crate::model::{ModelConfig, Projection};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The stream of tensor `name` under `seed`.
pub fn rng_for(seed: u64, name: &str) -> ChaCha8Rng {
    // FNV-1a: a fixed, documented hash (std's hasher may change).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&h.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// `n` codes uniform over {-1, 0, +1}: one byte each, 255 rejected so that
/// `byte % 3` is unbiased.
pub fn ternary_codes(rng: &mut ChaCha8Rng, n: usize) -> Vec<i8> {
    let mut out = Vec::with_capacity(n);
    let mut buf = [0u8; 4096];
    while out.len() < n {
        rng.fill_bytes(&mut buf);
        for &b in &buf {
            if b != 255 && out.len() < n {
                out.push((b % 3) as i8 - 1);
            }
        }
    }
    out
}

/// Uniform in `[-a, a)`.
fn uniform(rng: &mut ChaCha8Rng, a: f32) -> f32 {
    // 24 random bits -> [0, 1) exactly representable in f32.
    let u = (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32;
    (2.0 * u - 1.0) * a
}

pub fn projection_gamma(cfg: &ModelConfig, p: Projection) -> f32 {
    let [k, _] = cfg.projection_dims(p);
    let base = (3.0 / (2.0 * k as f64)).sqrt();
    let g = match p {
        Projection::AttnOutput | Projection::FfnDown => base / (2.0 * cfg.n_layer as f64).sqrt(),
        _ => base,
    };
    g as f32
}

pub fn norm_weights(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| 1.0 + uniform(rng, 0.05)).collect()
}

/// Half-width of the embedding's uniform distribution.
pub fn embedding_half_width(cfg: &ModelConfig) -> f32 {
    (2.5 / (cfg.n_embd as f64).sqrt() * 3f64.sqrt()) as f32
}

pub fn embedding_values(rng: &mut ChaCha8Rng, n: usize, half_width: f32) -> Vec<f32> {
    (0..n).map(|_| uniform(rng, half_width)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a = ternary_codes(&mut rng_for(7, "blk.0.attn_q.weight"), 1000);
        assert_eq!(
            a,
            ternary_codes(&mut rng_for(7, "blk.0.attn_q.weight"), 1000)
        );
        assert_ne!(
            a,
            ternary_codes(&mut rng_for(8, "blk.0.attn_q.weight"), 1000)
        );
        assert_ne!(
            a,
            ternary_codes(&mut rng_for(7, "blk.0.attn_k.weight"), 1000)
        );
    }

    #[test]
    fn codes_are_balanced_ternary() {
        let c = ternary_codes(&mut rng_for(1, "x"), 90_000);
        for t in -1..=1 {
            let n = c.iter().filter(|&&x| x == t).count();
            assert!((28_000..32_000).contains(&n), "{t}: {n}");
        }
    }
}
