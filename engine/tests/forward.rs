//! The forward pass on tiny synthetic models, checked against the f64 dense
//! reference ([`engine::model::reference`]) in every weight type the loader
//! reads, plus the properties the KV cache must keep.

use engine::gguf::{GgufFile, TensorType};
use engine::model::reference::ReferenceModel;
use engine::model::{Activation, Architecture, Logits, Model, ModelError};
use engine::quant::Format;
use engine::synth::{self, Preset, SynthOptions, WeightType};
use indicatif::ProgressBar;
use std::path::PathBuf;

fn synth_model(
    dir: &tempfile::TempDir,
    ty: WeightType,
    arch: Option<Architecture>,
    act: Option<Activation>,
) -> PathBuf {
    let path = dir.path().join("model.gguf");
    let opts = SynthOptions {
        layers: Some(2),
        arch,
        activation: act,
        ..SynthOptions::new(Preset::Tiny, ty, 7)
    };
    synth::write_model(&path, &opts, &ProgressBar::hidden()).unwrap();
    path
}

fn cosine(a: &[f64], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, &y)| x * y as f64).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|&y| (y as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

const PROMPT: [u32; 12] = [256, 72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100];

/// Every weight type: the optimised path equals the reference with the same
/// int8 activation rounding (to float rounding), and stays within the
/// cross-validation tolerance of the unquantized graph.
#[test]
fn matches_the_dense_reference_in_every_weight_type() {
    let types = [
        WeightType::Ternary(Format::I2S),
        WeightType::Ternary(Format::TL1),
        WeightType::Ternary(Format::TL2),
        WeightType::Ternary(Format::TQ2_0),
        WeightType::Ternary(Format::TQ1_0),
        WeightType::Float(TensorType::F16),
        WeightType::Float(TensorType::F32),
    ];
    for ty in types {
        for act in [Activation::ReluSqr, Activation::Silu] {
            let dir = tempfile::tempdir().unwrap();
            let path = synth_model(&dir, ty, None, Some(act));
            let model = Model::load(&path, 1).unwrap();
            let vocab = model.config().vocab_size;
            let mut s = model.session(64).unwrap();
            let got = s.forward(&PROMPT, Logits::All).unwrap();
            let file = GgufFile::open(&path).unwrap();
            let reference = ReferenceModel::load(&file).unwrap();
            let exact = reference.forward(&PROMPT, true);
            let float = reference.forward(&PROMPT, false);
            for t in 0..PROMPT.len() {
                let row = &got[t * vocab..(t + 1) * vocab];
                let c_exact = cosine(&exact[t], row);
                let c_float = cosine(&float[t], row);
                let scale = exact[t].iter().fold(0f64, |m, v| m.max(v.abs()));
                let max_diff = exact[t]
                    .iter()
                    .zip(row)
                    .fold(0f64, |m, (a, &b)| m.max((a - b as f64).abs()));
                assert!(
                    c_exact > 0.99999 && max_diff < 2e-3 * scale,
                    "{ty:?} {act:?} pos {t}: cosine {c_exact}, max diff {max_diff} of {scale}"
                );
                assert!(
                    c_float > 0.999,
                    "{ty:?} {act:?} pos {t}: cosine vs unquantized {c_float}"
                );
            }
        }
    }
}

/// Prefill (one GEMM per matrix) and token-by-token decode (GEMV + cache)
/// give the same logits, and so do one and two threads.
#[test]
fn prefill_decode_and_threads_agree() {
    let dir = tempfile::tempdir().unwrap();
    let path = synth_model(
        &dir,
        WeightType::Ternary(Format::TQ2_0),
        Some(Architecture::Bitnet),
        None,
    );
    let m1 = Model::load(&path, 1).unwrap();
    let m2 = Model::load(&path, 2).unwrap();
    let vocab = m1.config().vocab_size;
    let all = m1
        .session(32)
        .unwrap()
        .forward(&PROMPT, Logits::All)
        .unwrap();
    let mut dec = m1.session(32).unwrap();
    for (t, &tok) in PROMPT.iter().enumerate() {
        let row = dec.forward(&[tok], Logits::Last).unwrap();
        let want = &all[t * vocab..(t + 1) * vocab];
        let diff = row
            .iter()
            .zip(want)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            diff < 1e-4,
            "position {t}: decode differs from prefill by {diff}"
        );
    }
    assert_eq!(dec.position(), PROMPT.len());
    // Split prefill: 5 tokens, then the other 7 on top of the cache.
    let mut split = m1.session(32).unwrap();
    split.forward(&PROMPT[..5], Logits::Last).unwrap();
    let rest = split.forward(&PROMPT[5..], Logits::All).unwrap();
    let diff = rest
        .iter()
        .zip(&all[5 * vocab..])
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff < 1e-4, "split prefill differs by {diff}");
    let two = m2
        .session(32)
        .unwrap()
        .forward(&PROMPT, Logits::All)
        .unwrap();
    let diff = two
        .iter()
        .zip(&all)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff < 1e-4, "two threads differ by {diff}");
}

#[test]
fn bad_input_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = synth_model(&dir, WeightType::Ternary(Format::I2S), None, None);
    let m = Model::load(&path, 1).unwrap();
    let vocab = m.config().vocab_size as u32;
    let mut s = m.session(8).unwrap();
    let e = s.forward(&[1, vocab], Logits::Last).unwrap_err();
    assert!(
        matches!(e, ModelError::UnknownToken { token, index: 1, .. } if token == vocab),
        "{e}"
    );
    assert!(e.to_string().contains("outside the vocabulary"), "{e}");
    let e = s.forward(&[1; 9], Logits::Last).unwrap_err();
    assert!(
        matches!(e, ModelError::ContextFull { needed: 9, .. }),
        "{e}"
    );
    assert!(matches!(
        s.forward(&[], Logits::Last),
        Err(ModelError::NoTokens)
    ));
    // Nothing was consumed by the failed calls.
    assert_eq!(s.position(), 0);
    s.forward(&[1; 8], Logits::Last).unwrap();
    let e = s.forward(&[1], Logits::Last).unwrap_err();
    assert!(matches!(e, ModelError::ContextFull { used: 8, .. }), "{e}");
    let e = m.session(m.config().context_length + 1).unwrap_err();
    assert!(matches!(e, ModelError::ContextFull { .. }), "{e}");
    assert!(matches!(Model::load(&path, 0), Err(ModelError::Option(_))));
}

/// llama.cpp `bitnet`'s optional one-element `blk.N.<proj>.scale` tensors
/// multiply each projection's output: a copy of a model with scales added
/// must match the reference (which applies them too) and differ from the
/// original.
#[test]
fn projection_scale_tensors_are_applied() {
    use engine::gguf::{GgufWriter, TensorSpec};
    use engine::model::Projection;
    let dir = tempfile::tempdir().unwrap();
    let plain = synth_model(
        &dir,
        WeightType::Ternary(Format::TQ2_0),
        Some(Architecture::Bitnet),
        Some(Activation::Silu),
    );
    let scaled = dir.path().join("scaled.gguf");
    let src = GgufFile::open(&plain).unwrap();
    let mut specs: Vec<TensorSpec> = src
        .tensor_infos()
        .iter()
        .map(|i| TensorSpec::new(i.name.clone(), &i.dims, i.ty))
        .collect();
    let scales: Vec<(String, f32)> = (0..2)
        .flat_map(|l| {
            Projection::ALL
                .map(move |p| (p.scale_name(l), 0.5 + 0.25 * (l * 7 + p as usize) as f32))
        })
        .collect();
    for (name, _) in &scales {
        specs.push(TensorSpec::new(name.clone(), &[1], TensorType::F32));
    }
    let mut w = GgufWriter::create(&scaled, src.metadata(), specs).unwrap();
    for t in src.tensors() {
        w.write_tensor(t.name(), t.bytes).unwrap();
    }
    for (name, s) in &scales {
        w.write_tensor(name, &s.to_le_bytes()).unwrap();
    }
    w.finish().unwrap();

    let model = Model::load(&scaled, 1).unwrap();
    let got = model
        .session(16)
        .unwrap()
        .forward(&PROMPT, Logits::All)
        .unwrap();
    let vocab = model.config().vocab_size;
    let reference = ReferenceModel::load(&GgufFile::open(&scaled).unwrap()).unwrap();
    let want = reference.forward(&PROMPT, true);
    let unscaled = Model::load(&plain, 1).unwrap();
    let base = unscaled
        .session(16)
        .unwrap()
        .forward(&PROMPT, Logits::All)
        .unwrap();
    for t in 0..PROMPT.len() {
        let row = &got[t * vocab..(t + 1) * vocab];
        assert!(cosine(&want[t], row) > 0.99999, "pos {t}");
        let b: Vec<f64> = base[t * vocab..(t + 1) * vocab]
            .iter()
            .map(|&v| v as f64)
            .collect();
        assert!(
            cosine(&b, row) < 0.999,
            "pos {t}: the scales changed nothing"
        );
    }
}
