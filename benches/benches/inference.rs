//! Criterion suite `inference`: the whole forward pass on the 2B4T-shaped
//! synthetic model in I2S (`bitnet synth --preset 2b4t --type i2s`, written
//! once into `target/bench-models/` and reused).
//!
//! Ids: `prefill/128/<t>t` (one forward of 128 prompt tokens, Throughput =
//! 128 tokens) and `decode/32/<t>t` (32 single-token steps after an 8-token
//! prompt that is not timed, greedy; Throughput = 32 tokens), t = 1, 2
//! threads. Ten samples each: one sample is seconds long, and decode is
//! memory-bound, so more samples add time, not information.

mod common;

use common::{greedy_steps, model_2b4t_i2s, primed, prompt};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use engine::model::{Logits, Model};
use std::time::Duration;

const PREFILL: usize = 128;
const DECODE: usize = 32;
const THREADS: [usize; 2] = [1, 2];

fn bench(c: &mut Criterion) {
    let path = model_2b4t_i2s();
    for t in THREADS {
        let model = Model::load(&path, t).expect("load the 2b4t model");
        let vocab = model.config().vocab_size;

        let mut g = c.benchmark_group("prefill");
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(20))
            .throughput(Throughput::Elements(PREFILL as u64));
        let ids = prompt(PREFILL, vocab);
        g.bench_function(format!("{PREFILL}/{t}t"), |b| {
            b.iter_batched_ref(
                || model.session(PREFILL).expect("session"),
                |s| s.forward(&ids, Logits::Last).expect("prefill"),
                BatchSize::PerIteration,
            )
        });
        g.finish();

        let mut g = c.benchmark_group("decode");
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(20))
            .throughput(Throughput::Elements(DECODE as u64));
        let head = prompt(8, vocab);
        g.bench_function(format!("{DECODE}/{t}t"), |b| {
            b.iter_batched_ref(
                || primed(model.session(8 + DECODE).expect("session"), &head),
                |(s, next)| greedy_steps(s, next, DECODE),
                BatchSize::PerIteration,
            )
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
