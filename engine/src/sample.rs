//! Choosing the next token from a row of logits.
//!
//! The order of the steps follows llama.cpp's default sampler chain, so the
//! same settings mean the same thing in both programs:
//!
//! ```text
//! logits -> repetition penalty -> top-k -> top-p -> temperature -> draw
//!                                   (greedy: argmax after the penalty)
//! ```
//!
//! Top-p is computed on the probabilities *before* temperature (as llama.cpp
//! does), so `--top-p` keeps the same nucleus whatever `--temp` is.
//! The random generator is ChaCha8 seeded from `seed`: its output is fixed by
//! its specification, so one seed gives one continuation on every machine
//! and every version of this crate.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum SampleError {
    #[error("sampling: {name} = {value} is out of range ({expected})")]
    BadParam {
        name: &'static str,
        value: f64,
        expected: &'static str,
    },
    #[error("sampling: empty logits")]
    Empty,
    #[error("sampling: logits contain NaN (the forward pass produced invalid numbers)")]
    NaN,
}

/// Sampling settings. `temperature <= 0` means greedy decoding.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    pub temperature: f32,
    /// Keep the `top_k` largest logits; 0 disables.
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability sums to `top_p`; 1 disables.
    pub top_p: f32,
    /// llama.cpp's penalty: a positive logit is divided by it, a negative one
    /// multiplied, for every token among the last `repeat_last_n`; 1 disables.
    pub repetition_penalty: f32,
    pub repeat_last_n: usize,
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 0.0,
            top_k: 40,
            top_p: 0.95,
            repetition_penalty: 1.0,
            repeat_last_n: 64,
            seed: 0,
        }
    }
}

impl SamplingParams {
    pub fn validate(&self) -> Result<(), SampleError> {
        let bad = |name, value: f64, expected| {
            Err(SampleError::BadParam {
                name,
                value,
                expected,
            })
        };
        if !self.temperature.is_finite() {
            return bad("temperature", self.temperature as f64, "finite");
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top_p", self.top_p as f64, "0 < top_p <= 1");
        }
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return bad("repetition_penalty", self.repetition_penalty as f64, "> 0");
        }
        Ok(())
    }

    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }
}

/// A seeded sampler; one per generation.
pub struct Sampler {
    params: SamplingParams,
    rng: ChaCha8Rng,
    /// Reused candidate buffer: (token, logit).
    cand: Vec<(u32, f32)>,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Result<Sampler, SampleError> {
        params.validate()?;
        let rng = ChaCha8Rng::seed_from_u64(params.seed);
        Ok(Sampler {
            params,
            rng,
            cand: Vec::new(),
        })
    }

    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// Picks the next token. `history` is every token so far (prompt included);
    /// only its last `repeat_last_n` entries are penalised.
    pub fn sample(&mut self, logits: &[f32], history: &[u32]) -> Result<u32, SampleError> {
        if logits.is_empty() {
            return Err(SampleError::Empty);
        }
        if logits.iter().any(|v| v.is_nan()) {
            return Err(SampleError::NaN);
        }
        let p = &self.params;
        self.cand.clear();
        self.cand
            .extend(logits.iter().enumerate().map(|(i, &l)| (i as u32, l)));
        if p.repetition_penalty != 1.0 {
            let start = history.len().saturating_sub(p.repeat_last_n);
            let mut seen = history[start..].to_vec();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                if let Some(c) = self.cand.get_mut(t as usize) {
                    c.1 = if c.1 > 0.0 {
                        c.1 / p.repetition_penalty
                    } else {
                        c.1 * p.repetition_penalty
                    };
                }
            }
        }
        if p.is_greedy() {
            return Ok(argmax_pairs(&self.cand));
        }
        // Sorted by logit, descending; ties by token id so the order is total.
        let by_logit = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if p.top_k > 0 && p.top_k < self.cand.len() {
            self.cand.select_nth_unstable_by(p.top_k - 1, by_logit);
            self.cand.truncate(p.top_k);
        }
        self.cand.sort_unstable_by(by_logit);
        if p.top_p < 1.0 {
            let probs = softmax_scaled(&self.cand, 1.0);
            let mut cum = 0.0f64;
            let mut keep = self.cand.len();
            for (i, pr) in probs.iter().enumerate() {
                cum += pr;
                if cum >= p.top_p as f64 {
                    keep = i + 1;
                    break;
                }
            }
            self.cand.truncate(keep.max(1));
        }
        let probs = softmax_scaled(&self.cand, p.temperature);
        let u: f64 = self.rng.gen::<f64>();
        let mut cum = 0.0;
        for (c, pr) in self.cand.iter().zip(&probs) {
            cum += pr;
            if u < cum {
                return Ok(c.0);
            }
        }
        Ok(self.cand[self.cand.len() - 1].0)
    }
}

/// Index of the largest logit; the lowest index wins a tie.
pub fn argmax(logits: &[f32]) -> Option<u32> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &v) in logits.iter().enumerate() {
        match best {
            Some((_, b)) if v <= b => {}
            _ => best = Some((i, v)),
        }
    }
    best.map(|(i, _)| i as u32)
}

fn argmax_pairs(c: &[(u32, f32)]) -> u32 {
    let mut best = c[0];
    for &x in &c[1..] {
        if x.1 > best.1 {
            best = x;
        }
    }
    best.0
}

/// Softmax of `logit / temperature` in f64 (stable: max subtracted first).
fn softmax_scaled(c: &[(u32, f32)], temperature: f32) -> Vec<f64> {
    let t = temperature as f64;
    let max = c
        .iter()
        .map(|x| x.1 as f64)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut e: Vec<f64> = c.iter().map(|x| ((x.1 as f64 - max) / t).exp()).collect();
    let sum: f64 = e.iter().sum();
    for v in &mut e {
        *v /= sum;
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(temperature: f32, top_k: usize, top_p: f32, seed: u64) -> SamplingParams {
        SamplingParams {
            temperature,
            top_k,
            top_p,
            repetition_penalty: 1.0,
            repeat_last_n: 64,
            seed,
        }
    }

    #[test]
    fn greedy_takes_the_first_maximum() {
        let mut s = Sampler::new(params(0.0, 0, 1.0, 1)).unwrap();
        assert_eq!(s.sample(&[0.1, 3.0, -1.0, 3.0], &[]).unwrap(), 1);
        assert_eq!(argmax(&[0.1, 3.0, -1.0, 3.0]), Some(1));
        assert_eq!(argmax(&[]), None);
    }

    #[test]
    fn repetition_penalty_follows_llama_cpp() {
        // Token 0 (logit 2.0) seen: 2.0 / 4 = 0.5 < 1.0, so token 1 wins.
        let mut p = params(0.0, 0, 1.0, 0);
        p.repetition_penalty = 4.0;
        let mut s = Sampler::new(p.clone()).unwrap();
        assert_eq!(s.sample(&[2.0, 1.0], &[0]).unwrap(), 1);
        // Negative logits are multiplied: -0.5 * 4 = -2 < -1.
        let mut s = Sampler::new(p.clone()).unwrap();
        assert_eq!(s.sample(&[-0.5, -1.0], &[0]).unwrap(), 1);
        // Only the last `repeat_last_n` tokens count.
        p.repeat_last_n = 1;
        let mut s = Sampler::new(p).unwrap();
        assert_eq!(s.sample(&[2.0, 1.0], &[0, 1]).unwrap(), 0);
    }

    #[test]
    fn top_k_one_is_greedy_whatever_the_temperature() {
        let logits = [0.5, 0.1, 0.9, 0.3];
        let mut s = Sampler::new(params(5.0, 1, 1.0, 7)).unwrap();
        for _ in 0..50 {
            assert_eq!(s.sample(&logits, &[]).unwrap(), 2);
        }
    }

    #[test]
    fn top_p_keeps_the_nucleus_only() {
        // probs ~ [0.665, 0.245, 0.090]: top_p 0.6 keeps only token 0,
        // top_p 0.8 keeps {0, 1} and never draws token 2.
        let logits = [2.0, 1.0, 0.0];
        let mut s = Sampler::new(params(1.0, 0, 0.6, 3)).unwrap();
        for _ in 0..100 {
            assert_eq!(s.sample(&logits, &[]).unwrap(), 0);
        }
        let mut s = Sampler::new(params(1.0, 0, 0.8, 3)).unwrap();
        let mut seen = [0usize; 3];
        for _ in 0..400 {
            seen[s.sample(&logits, &[]).unwrap() as usize] += 1;
        }
        assert_eq!(seen[2], 0);
        assert!(seen[0] > 0 && seen[1] > 0, "{seen:?}");
    }

    #[test]
    fn draws_follow_the_distribution_and_the_seed() {
        // Two tokens with probabilities 0.75 / 0.25 at temperature 1.
        let logits = [3f32.ln(), 0.0];
        let draw = |seed| {
            let mut s = Sampler::new(params(1.0, 0, 1.0, seed)).unwrap();
            (0..4000)
                .map(|_| s.sample(&logits, &[]).unwrap())
                .collect::<Vec<_>>()
        };
        let a = draw(11);
        assert_eq!(a, draw(11), "same seed, same tokens");
        assert_ne!(a, draw(12), "another seed, other tokens");
        let ones = a.iter().filter(|&&t| t == 1).count() as f64 / a.len() as f64;
        // 4000 draws: standard error ~0.007, so 0.25 +- 0.03 is > 4 sigma.
        assert!((ones - 0.25).abs() < 0.03, "{ones}");
        // Low temperature sharpens: 0.75^(1/0.1) odds make token 1 rare.
        let mut s = Sampler::new(params(0.1, 0, 1.0, 5)).unwrap();
        let rare = (0..1000)
            .filter(|_| s.sample(&logits, &[]).unwrap() == 1)
            .count();
        assert!(rare < 5, "{rare}");
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(Sampler::new(params(1.0, 0, 0.0, 0)).is_err());
        assert!(Sampler::new(params(f32::NAN, 0, 1.0, 0)).is_err());
        let mut p = params(1.0, 0, 1.0, 0);
        p.repetition_penalty = 0.0;
        assert!(Sampler::new(p).is_err());
        let mut s = Sampler::new(params(1.0, 0, 1.0, 0)).unwrap();
        assert_eq!(s.sample(&[], &[]), Err(SampleError::Empty));
        assert_eq!(s.sample(&[1.0, f32::NAN], &[]), Err(SampleError::NaN));
    }
}
