//! The generation loop: prefill the prompt in one batch, then decode one
//! token at a time, sampling each from the last logits, until `n` tokens or
//! end of generation. Timing is split the way llama.cpp reports it:
//!
//! ```text
//! prefill: forward(prompt)            -> logits of the first new token
//! decode:  forward([t_1]) .. forward([t_{n-1}])   (n - 1 single-token steps)
//! ```

use crate::model::{Forward, GpuModel, Logits, Model, ModelError};
use crate::sample::{SampleError, Sampler, SamplingParams};
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum GenerateError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Sample(#[from] SampleError),
    #[error("-n must be at least 1")]
    NoNewTokens,
    #[error("empty prompt: nothing to condition on")]
    EmptyPrompt,
    #[error("the prompt ({prompt} tokens) plus {n} new tokens exceed the model's context of {context} tokens")]
    PromptTooLong {
        prompt: usize,
        n: usize,
        context: usize,
    },
    #[error("output: {0}")]
    Output(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerateStats {
    pub prompt_tokens: usize,
    pub generated: Vec<u32>,
    pub prefill: Duration,
    /// Time of the single-token steps (`generated.len() - 1` of them, fewer
    /// if generation stopped early).
    pub decode: Duration,
    pub decode_steps: usize,
    pub stopped_at_eos: bool,
}

impl GenerateStats {
    pub fn prefill_tokens_per_s(&self) -> f64 {
        self.prompt_tokens as f64 / self.prefill.as_secs_f64().max(1e-12)
    }

    pub fn decode_tokens_per_s(&self) -> f64 {
        self.decode_steps as f64 / self.decode.as_secs_f64().max(1e-12)
    }
}

/// Generates up to `n` tokens after `prompt` on the CPU. `is_end(token)`
/// stops early (the token is still reported); `on_token` receives every new
/// token as it is sampled and may abort with an error message.
pub fn generate(
    model: &Model,
    prompt: &[u32],
    n: usize,
    params: SamplingParams,
    is_end: impl Fn(u32) -> bool,
    on_token: impl FnMut(u32) -> Result<(), String>,
) -> Result<GenerateStats, GenerateError> {
    let context = model.config().context_length;
    let open = |positions| model.session(positions);
    run(open, context, prompt, n, params, is_end, on_token)
}

/// [`generate`] on a CUDA device.
pub fn generate_gpu(
    model: &GpuModel<'_>,
    prompt: &[u32],
    n: usize,
    params: SamplingParams,
    is_end: impl Fn(u32) -> bool,
    on_token: impl FnMut(u32) -> Result<(), String>,
) -> Result<GenerateStats, GenerateError> {
    let context = model.config().context_length;
    let open = |positions| model.session(positions);
    run(open, context, prompt, n, params, is_end, on_token)
}

/// Positions the session needs: the last sampled token is never fed back,
/// so prompt + n - 1.
fn positions_needed(prompt: &[u32], n: usize, context: usize) -> Result<usize, GenerateError> {
    if n == 0 {
        return Err(GenerateError::NoNewTokens);
    }
    if prompt.is_empty() {
        return Err(GenerateError::EmptyPrompt);
    }
    let needed = prompt.len() + n - 1;
    if needed > context {
        return Err(GenerateError::PromptTooLong {
            prompt: prompt.len(),
            n,
            context,
        });
    }
    Ok(needed)
}

/// Checks the request, opens a session of the positions it needs and runs
/// the loop.
fn run<S: Forward>(
    open: impl FnOnce(usize) -> Result<S, ModelError>,
    context: usize,
    prompt: &[u32],
    n: usize,
    params: SamplingParams,
    is_end: impl Fn(u32) -> bool,
    mut on_token: impl FnMut(u32) -> Result<(), String>,
) -> Result<GenerateStats, GenerateError> {
    let needed = positions_needed(prompt, n, context)?;
    let mut sampler = Sampler::new(params)?;
    let mut session = open(needed)?;
    let mut history = prompt.to_vec();
    let mut stats = GenerateStats {
        prompt_tokens: prompt.len(),
        ..GenerateStats::default()
    };

    let t0 = Instant::now();
    let mut logits = session.forward(prompt, Logits::Last)?;
    stats.prefill = t0.elapsed();
    let t1 = Instant::now();
    loop {
        let token = sampler.sample(&logits, &history)?;
        history.push(token);
        stats.generated.push(token);
        on_token(token).map_err(GenerateError::Output)?;
        if is_end(token) {
            stats.stopped_at_eos = true;
            break;
        }
        if stats.generated.len() == n {
            break;
        }
        logits = session.forward(&[token], Logits::Last)?;
        stats.decode_steps += 1;
    }
    stats.decode = t1.elapsed();
    Ok(stats)
}
