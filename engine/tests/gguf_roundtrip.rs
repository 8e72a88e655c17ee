//! Round trips: writer -> reader for every value and view type; synth ->
//! file -> reader gives the metadata and weights synth meant; requantizing
//! ternary models between formats loses nothing.

mod gguf_support;

use engine::gguf::{
    requantize, Array, GgmlType, GgufFile, GgufWriter, Metadata, TensorData, TensorSpec,
    TensorType, Value,
};
use engine::model::{ModelConfig, Projection};
use engine::quant::Format;
use engine::synth::{self, weights, Preset};
use gguf_support::*;
use half::f16;
use indicatif::ProgressBar;
use std::path::Path;

fn all_values() -> Metadata {
    let mut md = Metadata::new();
    md.set("t.u8", Value::U8(200));
    md.set("t.i8", Value::I8(-100));
    md.set("t.u16", Value::U16(60000));
    md.set("t.i16", Value::I16(-30000));
    md.set("t.u32", Value::U32(4_000_000_000));
    md.set("t.i32", Value::I32(-2_000_000_000));
    md.set("t.f32", Value::F32(-1.5e-7));
    md.set("t.bool", Value::Bool(true));
    md.set("t.string", Value::String("héllo wörld".into()));
    md.set("t.u64", Value::U64(u64::MAX));
    md.set("t.i64", Value::I64(i64::MIN));
    md.set("t.f64", Value::F64(std::f64::consts::PI));
    md.set("t.a_u8", Value::Array(Array::U8(vec![1, 2, 3])));
    md.set("t.a_i32", Value::Array(Array::I32(vec![-1, 0, 1])));
    md.set("t.a_f32", Value::Array(Array::F32(vec![0.5, -0.25])));
    md.set("t.a_bool", Value::Array(Array::Bool(vec![true, false])));
    md.set(
        "t.a_str",
        Value::Array(Array::String(vec!["a".into(), "".into(), "Ġthe".into()])),
    );
    md.set("t.a_u64", Value::Array(Array::U64(vec![u64::MAX])));
    md.set("t.a_f64", Value::Array(Array::F64(vec![1e300])));
    md.set("t.a_empty", Value::Array(Array::I16(vec![])));
    md.set(
        "t.nested",
        Value::Array(Array::Array(vec![
            Array::U16(vec![1, 2]),
            Array::String(vec!["x".into()]),
        ])),
    );
    md
}

#[test]
fn every_value_and_view_type_round_trips() {
    let dir = tmp();
    let path = dir.path().join("all.gguf");
    let md = all_values();
    let f32s: Vec<f32> = (0..64).map(|i| i as f32 * 0.25 - 3.0).collect();
    let f16s: Vec<f16> = f32s.iter().map(|&x| f16::from_f32(x)).collect();
    let q8: Vec<u8> = (0..2 * 34).map(|i| i as u8).collect();
    let q6: Vec<u8> = (0..210).map(|i| (i * 7) as u8).collect();
    let codes: Vec<f32> = (0..256)
        .map(|i| [(-1.0f32), 0.0, 1.0][i % 3] * 0.5)
        .collect();
    let packed = engine::quant::quantize_to_vec(Format::I2S, &codes, 2, 128).unwrap();
    let specs = vec![
        TensorSpec::new("f32", &[16, 4], TensorType::F32),
        TensorSpec::new("f16", &[64], TensorType::F16),
        TensorSpec::new("q8", &[32, 2], TensorType::Ggml(GgmlType::Q8_0)),
        TensorSpec::new("q6", &[256], TensorType::Ggml(GgmlType::Q6_K)),
        TensorSpec::new("i2s", &[128, 2], TensorType::Ternary(Format::I2S)),
    ];
    let mut w = GgufWriter::create(&path, &md, specs).unwrap();
    w.write_tensor("f32", bytemuck::cast_slice(&f32s)).unwrap();
    w.write_tensor("f16", bytemuck::cast_slice(&f16s)).unwrap();
    w.write_tensor("q8", &q8).unwrap();
    w.write_tensor("q6", &q6).unwrap();
    w.write_tensor("i2s", &packed).unwrap();
    let written = w.finish().unwrap();

    let f = GgufFile::open(&path).unwrap();
    assert_eq!(f.file_len(), written);
    assert_eq!(f.version(), 3);
    assert_eq!(f.metadata(), &md);
    match f.tensor("f32").unwrap().data().unwrap() {
        TensorData::F32(v) => assert_eq!(v, &f32s[..]),
        other => panic!("{other:?}"),
    }
    match f.tensor("f16").unwrap().data().unwrap() {
        TensorData::F16(v) => assert_eq!(v, &f16s[..]),
        other => panic!("{other:?}"),
    }
    match f.tensor("q8").unwrap().data().unwrap() {
        TensorData::Q8_0(b) => {
            assert_eq!(b.len(), 2);
            assert_eq!(b[1].qs[0], q8[36] as i8);
            assert_eq!(b[0].d.to_bits(), u16::from_le_bytes([0, 1]));
        }
        other => panic!("{other:?}"),
    }
    match f.tensor("q6").unwrap().data().unwrap() {
        TensorData::Q6K(b) => {
            assert_eq!(b.len(), 1);
            assert_eq!(b[0].ql[5], q6[5]);
            assert_eq!(b[0].scales[15], q6[207] as i8);
        }
        other => panic!("{other:?}"),
    }
    match f.tensor("i2s").unwrap().data().unwrap() {
        TensorData::Ternary(t) => {
            assert_eq!((t.format, t.rows, t.cols), (Format::I2S, 2, 128));
            assert_eq!(t.tensor_scale(), Some(0.5));
            assert_eq!(t.codes().len(), 64);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(f.tensor("i2s").unwrap().dequantize().unwrap(), codes);
    assert!(f
        .tensor("nope")
        .unwrap_err()
        .to_string()
        .contains("missing required tensor 'nope'"));
}

#[test]
fn writer_refuses_bad_sequences_and_leaves_no_file() {
    let dir = tmp();
    let path = dir.path().join("w.gguf");
    let specs = || {
        vec![
            TensorSpec::new("a", &[4], TensorType::F32),
            TensorSpec::new("b", &[4], TensorType::F32),
        ]
    };
    let md = Metadata::new();
    let mut w = GgufWriter::create(&path, &md, specs()).unwrap();
    assert!(w
        .write_tensor("b", &[0; 16])
        .unwrap_err()
        .to_string()
        .contains("out of order"));
    assert!(w
        .write_tensor("a", &[0; 15])
        .unwrap_err()
        .to_string()
        .contains("15 bytes written, layout has 16"));
    drop(w);
    let mut w = GgufWriter::create(&path, &md, specs()).unwrap();
    w.write_tensor("a", &[0; 16]).unwrap();
    assert!(w
        .finish()
        .unwrap_err()
        .to_string()
        .contains("tensor 'b': never written"));
    assert!(!path.exists());
    let dup = vec![TensorSpec::new("a", &[4], TensorType::F32); 2];
    assert!(GgufWriter::create(&path, &md, dup)
        .unwrap_err()
        .to_string()
        .contains("'a' appears twice"));
    let bad = vec![TensorSpec::new(
        "t",
        &[100],
        TensorType::Ternary(Format::TQ2_0),
    )];
    assert!(GgufWriter::create(&path, &md, bad)
        .unwrap_err()
        .to_string()
        .contains("tensor 't'"));
    // Nothing but the directory itself: no temp files left either.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// What synth meant for projection `name`: code * gamma, gamma rounded to
/// what the type stores (f16 block scales for TQ, the element type for
/// F16/BF16).
fn expected_projection(
    seed: u64,
    cfg: &ModelConfig,
    name: &str,
    p: Projection,
    ty: &str,
) -> Vec<f32> {
    let [cols, rows] = cfg.projection_dims(p);
    let codes = weights::ternary_codes(&mut weights::rng_for(seed, name), (rows * cols) as usize);
    let g = weights::projection_gamma(cfg, p);
    let g = match ty {
        "tq1_0" | "tq2_0" | "f16" => f16::from_f32(g).to_f32(),
        "bf16" => half::bf16::from_f32(g).to_f32(),
        _ => g,
    };
    codes.iter().map(|&c| f32::from(c) * g).collect()
}

#[test]
fn synth_write_read_gives_what_synth_meant() {
    let dir = tmp();
    for ty in ["i2s", "tl1", "tl2", "tq1_0", "tq2_0", "f32", "f16", "bf16"] {
        let opts = small_opts(ty, 42);
        let path = write_synth(dir.path(), &format!("{ty}.gguf"), &opts);
        let f = GgufFile::open(&path).unwrap();
        let cfg = opts.config().unwrap();
        assert_eq!(f.metadata(), &synth::write::metadata(&opts, &cfg).unwrap());
        assert_eq!(ModelConfig::from_gguf(&f).unwrap(), cfg);
        cfg.validate(&f).unwrap();
        let layout = synth::write::layout(&opts, &cfg);
        assert_eq!(f.tensor_infos().len(), layout.len());
        for (info, spec) in f.tensor_infos().iter().zip(&layout) {
            assert_eq!(
                (&info.name, &info.dims, info.ty),
                (&spec.name, &spec.dims, spec.ty)
            );
        }
        for view in f.tensors() {
            if let Some((_, p)) = Projection::parse_weight_name(view.name()) {
                let want = expected_projection(42, &cfg, view.name(), p, ty);
                assert_eq!(view.dequantize().unwrap(), want, "{ty} {}", view.name());
            } else if view.name().ends_with("norm.weight") {
                let v = view.float_values().unwrap();
                assert!(v.iter().all(|x| (0.95..=1.05).contains(x)));
            }
        }
        if ty != "i2s" {
            continue;
        }
        // Same seed, same bytes; another seed, other bytes.
        let again = write_synth(dir.path(), "again.gguf", &opts);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&again).unwrap()
        );
        let other = write_synth(dir.path(), "other.gguf", &small_opts(ty, 43));
        assert_ne!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&other).unwrap()
        );
    }
}

fn requant(from: &Path, to: &Path, f: Format) {
    requantize(from, to, f, &ProgressBar::hidden()).unwrap();
}

/// Values of every tensor, and raw bytes of the non-projection ones.
fn contents(path: &Path) -> Vec<(String, Vec<f32>, Option<Vec<u8>>)> {
    let f = GgufFile::open(path).unwrap();
    f.tensors()
        .map(|v| {
            let proj = Projection::parse_weight_name(v.name()).is_some();
            let vals = if v.info.ty.is_float() || proj {
                v.dequantize().unwrap()
            } else {
                vec![]
            };
            (v.name().to_owned(), vals, (!proj).then(|| v.bytes.to_vec()))
        })
        .collect()
}

#[test]
fn f32_i2s_tl1_tl2_i2s_is_lossless() {
    let dir = tmp();
    let d = dir.path();
    let src = write_synth(d, "f32.gguf", &small_opts("f32", 5));
    requant(&src, &d.join("a.gguf"), Format::I2S);
    requant(&d.join("a.gguf"), &d.join("b.gguf"), Format::TL1);
    requant(&d.join("b.gguf"), &d.join("c.gguf"), Format::TL2);
    requant(&d.join("c.gguf"), &d.join("d.gguf"), Format::I2S);
    assert_eq!(contents(&src), contents(&d.join("d.gguf")));
    for p in ["b.gguf", "c.gguf"] {
        assert_eq!(contents(&src), contents(&d.join(p)), "{p}");
    }
    // i2s -> tl1 -> tl2 -> i2s restores the i2s file byte for byte.
    assert!(std::fs::read(d.join("a.gguf")).unwrap() == std::fs::read(d.join("d.gguf")).unwrap());
    let a = GgufFile::open(d.join("a.gguf")).unwrap();
    // Everything but file type and quantization version is copied.
    let mut md = GgufFile::open(&src).unwrap().metadata().clone();
    md.set("general.file_type", Value::U32(40));
    md.set_after(
        "general.file_type",
        "general.quantization_version",
        Value::U32(2),
    );
    assert_eq!(a.metadata(), &md);
    let tl1 = GgufFile::open(d.join("b.gguf")).unwrap();
    assert!(!tl1.metadata().contains("general.file_type"));
    assert_eq!(
        tl1.tensor("blk.0.ffn_up.weight").unwrap().info.ty,
        TensorType::Ternary(Format::TL1)
    );
}

#[test]
fn tq_conversions_keep_codes_and_f16_scales() {
    let dir = tmp();
    let d = dir.path();
    let src = write_synth(d, "f16.gguf", &small_opts("f16", 9));
    requant(&src, &d.join("tq2.gguf"), Format::TQ2_0);
    requant(&d.join("tq2.gguf"), &d.join("tq1.gguf"), Format::TQ1_0);
    requant(&d.join("tq1.gguf"), &d.join("tq2b.gguf"), Format::TQ2_0);
    // F16 projections hold code * f16(gamma): TQ's f16 block scales are exact.
    assert_eq!(contents(&src), contents(&d.join("tq2.gguf")));
    assert_eq!(contents(&src), contents(&d.join("tq1.gguf")));
    let a = std::fs::read(d.join("tq2.gguf")).unwrap();
    assert_eq!(a, std::fs::read(d.join("tq2b.gguf")).unwrap());
}

#[test]
fn preset_2b4t_has_the_real_shapes() {
    let opts = synth_opts(Preset::B2B4T, "i2s", 0);
    let cfg = opts.config().unwrap();
    assert_eq!(
        (
            cfg.n_layer,
            cfg.n_embd,
            cfg.n_ff,
            cfg.n_head,
            cfg.n_head_kv,
            cfg.head_dim,
            cfg.vocab_size
        ),
        (30, 2560, 6912, 20, 5, 128, 128256)
    );
    assert_eq!(cfg.rope_theta, 500000.0);
    assert_eq!(cfg.arch.name(), "bitnet-b1.58");
    let specs = synth::write::layout(&opts, &cfg);
    assert_eq!(
        specs.len(),
        332,
        "1 + 30 x 11 + 1 tensors, as in Microsoft's file"
    );
    let bytes: u64 = specs.iter().map(|s| s.ty.byte_size(&s.dims).unwrap()).sum();
    assert!((1_150_000_000..1_250_000_000).contains(&bytes), "{bytes}");
}

#[test]
fn cli_synth_inspect_quantize() {
    let dir = tmp();
    let bitnet = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bitnet"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let model = dir.path().join("m.gguf");
    let out = bitnet(&[
        "synth",
        "--preset",
        "tiny",
        "--type",
        "tq2_0",
        "--seed",
        "4",
        "-o",
        model.to_str().unwrap(),
    ]);
    assert!(
        out.contains("bitnet 2x256 (ffn 768, heads 4/2, vocab 512), 24 tensors"),
        "{out}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&bitnet(&["inspect", "--json", model.to_str().unwrap()])).unwrap();
    assert_eq!(json["config"]["arch"], "bitnet");
    assert_eq!(json["config"]["activation"], "relu_sqr");
    assert_eq!(json["tokenizer"]["tokens"], 512);
    assert_eq!(json["types"]["TQ2_0"]["tensors"], 14);
    assert_eq!(json["problems"], serde_json::json!([]));
    let t = &json["tensors"][3];
    assert_eq!(
        (t["name"].as_str(), t["type"].as_str()),
        (Some("blk.0.attn_q.weight"), Some("TQ2_0"))
    );
    assert_eq!(t["shape"], serde_json::json!([256, 256]));
    assert_eq!(t["bytes"], 256 * 66);
    let text = bitnet(&["inspect", model.to_str().unwrap()]);
    assert!(
        text.contains("validation: ok")
            && text.contains("tokenizer: model gpt2, pre llama-bpe, 512 tokens")
    );
    let out_path = dir.path().join("tq1.gguf");
    let out = bitnet(&[
        "quantize",
        model.to_str().unwrap(),
        out_path.to_str().unwrap(),
        "--type",
        "tq1_0",
    ]);
    assert!(
        out.contains("(tq1_0)") && out.contains("14 projections converted, 10 tensors copied"),
        "{out}"
    );
}
