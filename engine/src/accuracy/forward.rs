//! Forward-pass checks: tiny synthetic models (2 layers, the 2B4T graph) in
//! each ternary format and F16, logits of the optimised engine against the
//! f64 reference graph ([`crate::model::reference`]) with the same int8
//! activation rounding, against the unquantized graph, and prefill against
//! token-by-token decode through the KV cache.

use super::{cosine, Check};
use crate::gguf::{GgufFile, TensorType};
use crate::model::reference::ReferenceModel;
use crate::model::{Logits, Model};
use crate::quant::Format;
use crate::synth::{self, Preset, SynthOptions, WeightType};

const PROMPT: [u32; 10] = [256, 84, 101, 114, 110, 97, 114, 121, 32, 33];

pub fn checks(seed: u64) -> crate::Result<Vec<Check>> {
    let dir = tempfile::tempdir().map_err(|source| crate::Error::Io {
        path: std::env::temp_dir().display().to_string(),
        source,
    })?;
    let types = [
        WeightType::Ternary(Format::I2S),
        WeightType::Ternary(Format::TL2),
        WeightType::Ternary(Format::TQ2_0),
        WeightType::Float(TensorType::F16),
    ];
    let mut out = Vec::new();
    for ty in types {
        let tname = ty.tensor_type().name();
        let path = dir.path().join(format!("{tname}.gguf"));
        let opts = SynthOptions {
            layers: Some(2),
            ..SynthOptions::new(Preset::Tiny, ty, seed)
        };
        synth::write_model(&path, &opts, &indicatif::ProgressBar::hidden())?;
        let model = Model::load(&path, 2)?;
        let vocab = model.config().vocab_size;
        let got = model.session(PROMPT.len())?.forward(&PROMPT, Logits::All)?;
        let reference = ReferenceModel::load(&GgufFile::open(&path)?)?;
        let exact = reference.forward(&PROMPT, true);
        let float = reference.forward(&PROMPT, false);
        let min_cos = |want: &[Vec<f64>]| {
            want.iter()
                .enumerate()
                .map(|(t, row)| {
                    cosine(
                        row.iter().copied(),
                        got[t * vocab..(t + 1) * vocab].iter().map(|&x| x as f64),
                    )
                })
                .fold(f64::INFINITY, f64::min)
        };
        let what = format!("tiny {tname} model, {} positions", PROMPT.len());
        out.push(Check {
            name: format!("forward {tname}: logits vs f64 reference graph"),
            metric: "min cosine over positions".into(),
            value: min_cos(&exact),
            op: ">=",
            limit: 0.99999,
            detail: Some(format!("{what}; same int8 activation rounding")),
        });
        out.push(Check {
            name: format!("forward {tname}: logits vs unquantized activations"),
            metric: "min cosine over positions".into(),
            value: min_cos(&float),
            op: ">=",
            limit: 0.999,
            detail: Some(format!("{what}; the cost of W1.58A8 activation rounding")),
        });

        let mut dec = model.session(PROMPT.len())?;
        let mut worst = 0f32;
        for (t, &tok) in PROMPT.iter().enumerate() {
            let row = dec.forward(&[tok], Logits::Last)?;
            let want = &got[t * vocab..(t + 1) * vocab];
            let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            let diff = row
                .iter()
                .zip(want)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            worst = worst.max(diff / scale);
        }
        out.push(Check {
            name: format!("forward {tname}: decode with KV cache vs prefill"),
            metric: "max |difference| / max |logit|".into(),
            value: worst as f64,
            op: "<=",
            limit: 1e-5,
            detail: Some(what),
        });
    }
    Ok(out)
}
