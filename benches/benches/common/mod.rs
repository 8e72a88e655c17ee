//! What the whole-model suites (`inference` on the CPU, `gpu` on a device)
//! share: the 2B4T-shaped synthetic model and the prompt ids, so both
//! measure the same file and the same tokens.

use engine::model::{Forward, Logits};
use engine::quant::Format;
use engine::sample::argmax;
use engine::synth::{self, Preset, SynthOptions, WeightType};
use std::path::PathBuf;

/// `bitnet synth --preset 2b4t --type i2s --seed 0`, written once into
/// `target/bench-models/` and reused.
pub fn model_2b4t_i2s() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("bench-models");
    std::fs::create_dir_all(&dir).expect("create target/bench-models");
    let path = dir.join("2b4t-i2s-seed0.gguf");
    if !path.exists() {
        eprintln!("bench: writing {} (once)", path.display());
        let opts = SynthOptions::new(Preset::B2B4T, WeightType::Ternary(Format::I2S), 0);
        synth::write_model(&path, &opts, &indicatif::ProgressBar::hidden())
            .expect("write the synthetic 2b4t model");
    }
    path
}

/// Deterministic prompt ids spread over the vocabulary.
pub fn prompt(n: usize, vocab: usize) -> Vec<u32> {
    (0..n).map(|i| ((i * 7919 + 13) % vocab) as u32).collect()
}

/// Untimed setup of a decode sample: runs the prompt `head` and returns the
/// session with its greedy next token.
pub fn primed<S: Forward>(mut session: S, head: &[u32]) -> (S, u32) {
    let logits = session.forward(head, Logits::Last).expect("prompt");
    let next = argmax(&logits).expect("logits");
    (session, next)
}

/// The timed part of a decode sample: `steps` greedy single-token steps.
pub fn greedy_steps(session: &mut impl Forward, next: &mut u32, steps: usize) {
    for _ in 0..steps {
        let logits = session.forward(&[*next], Logits::Last).expect("decode");
        *next = argmax(&logits).expect("logits");
    }
}
