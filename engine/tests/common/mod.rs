//! Deterministic inputs shared by the quantization tests.
#![allow(dead_code)]

use engine::quant::Format;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `n` weights drawn from N(0, sigma).
pub fn gaussian(n: usize, sigma: f32, seed: u64) -> Vec<f32> {
    let mut r = rng(seed);
    let d = Normal::new(0.0f32, sigma).unwrap();
    (0..n).map(|_| d.sample(&mut r)).collect()
}

/// `n` random ternary codes, about a third of them zero.
pub fn codes(n: usize, seed: u64) -> Vec<i8> {
    let mut r = rng(seed);
    (0..n).map(|_| r.gen_range(-1..=1)).collect()
}

/// A few `(rows, cols)` shapes valid for `format`, including TL2 tails.
pub fn shapes(format: Format) -> Vec<(usize, usize)> {
    let m = format.row_multiple();
    vec![(1, m), (3, 4 * m), (2, 9 * m), (5, 3 * m)]
}
