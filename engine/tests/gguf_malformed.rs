//! Every malformed-file case: a typed error whose message names the file,
//! the key or tensor, and the problem; the CLI exits 1.

mod gguf_support;

use engine::gguf::{GgufFile, TensorType, Value};
use engine::model::ModelConfig;
use engine::quant::Format;
use gguf_support::*;
use std::process::Command;

const F32: u32 = 0;
const I2S: u32 = 36;

fn err(raw: &Raw) -> String {
    raw.parse("bad.gguf").expect_err("must be rejected")
}

fn assert_msg(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} lacks {p:?}");
    }
}

/// A valid one-tensor file: header, one kv, tensor `w` F32 [8, 2] at 0.
fn valid() -> Raw {
    let mut r = Raw::header(3, 1, 1);
    r.kv_str("general.architecture", "bitnet");
    r.tensor("w", &[8, 2], F32, 0).pad(32).zeros(64);
    r
}

#[test]
fn the_reference_file_is_valid() {
    let f = valid().parse("ok.gguf").unwrap();
    assert_eq!(
        f.tensor("w").unwrap().float_values().unwrap(),
        vec![0.0; 16]
    );
}

#[test]
fn bad_magic() {
    let mut r = valid();
    r.buf[..4].copy_from_slice(b"GGML");
    assert_msg(&err(&r), &["bad.gguf", "not a GGUF file", "GGML"]);
}

#[test]
fn unsupported_versions() {
    for v in [0, 1, 4, 99] {
        let mut r = valid();
        r.buf[4..8].copy_from_slice(&u32::to_le_bytes(v));
        assert_msg(
            &err(&r),
            &["bad.gguf", &format!("unsupported GGUF version {v}")],
        );
    }
    let mut r = valid();
    r.buf[4..8].copy_from_slice(&3u32.to_be_bytes());
    assert_msg(&err(&r), &["bad.gguf", "big-endian"]);
}

#[test]
fn every_truncation_is_an_error() {
    let full = valid();
    for len in 0..full.buf.len() {
        let r = Raw {
            buf: full.buf[..len].to_vec(),
        };
        let msg = err(&r);
        assert!(msg.starts_with("bad.gguf: "), "{msg}");
        assert!(
            msg.contains("truncated") || msg.contains("outside the") || msg.contains("more than a"),
            "cut at {len}: {msg}"
        );
    }
    let msg = err(&Raw {
        buf: full.buf[..60].to_vec(),
    });
    assert_msg(
        &msg,
        &[
            "truncated",
            "length of value of key 'general.architecture'",
            "at offset 56",
        ],
    );
}

#[test]
fn truncated_tensor_data() {
    let mut r = valid();
    r.buf.truncate(r.buf.len() - 1);
    assert_msg(
        &err(&r),
        &[
            "bad.gguf",
            "tensor 'w'",
            "lies outside the 63-byte data section",
        ],
    );
}

#[test]
fn absurd_counts() {
    let mut r = Raw::header(3, u64::MAX, 0);
    r.zeros(64);
    assert_msg(
        &err(&r),
        &[
            "bad.gguf",
            "tensor count is 18446744073709551615",
            "more than a",
        ],
    );
    let mut r = Raw::header(3, 0, 1 << 40);
    r.zeros(64);
    assert_msg(&err(&r), &["metadata count is 1099511627776"]);
    // An array claiming 2^60 u32s in a tiny file: refused before allocating.
    let mut r = Raw::header(3, 0, 1);
    r.str(b"tokenizer.ggml.token_type")
        .u32(9)
        .u32(4)
        .u64(1 << 60);
    assert_msg(
        &err(&r),
        &["length of array 'tokenizer.ggml.token_type' is 1152921504606846976"],
    );
    // A string longer than the file.
    let mut r = Raw::header(3, 0, 1);
    r.str(b"general.name").u32(8).u64(u64::MAX);
    assert_msg(
        &err(&r),
        &[
            "truncated",
            "value of key 'general.name'",
            "needs 18446744073709551615 bytes",
        ],
    );
}

#[test]
fn absurd_dims() {
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[u64::MAX, 2], F32, 0).pad(32).zeros(64);
    assert_msg(&err(&r), &["tensor 'w'", "overflow"]);
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[1 << 30, 1 << 30], F32, 0).pad(32).zeros(64);
    assert_msg(&err(&r), &["tensor 'w'", "lies outside"]);
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[2, 2, 2, 2, 2], F32, 0).pad(32).zeros(128);
    assert_msg(&err(&r), &["tensor 'w'", "5 dimensions"]);
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[4, 0], F32, 0).pad(32).zeros(64);
    assert_msg(&err(&r), &["tensor 'w'", "dimension 1 is zero"]);
    // I2_S rows must be whole 128-weight blocks.
    let mut r = Raw::header(3, 1, 0);
    r.tensor("q", &[100, 2], I2S, 0).pad(32).zeros(128);
    assert_msg(
        &err(&r),
        &["tensor 'q'", "I2_S", "not a multiple of the block size 128"],
    );
}

#[test]
fn offsets_out_of_file_or_misaligned() {
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[8], F32, 1 << 50).pad(32).zeros(64);
    assert_msg(
        &err(&r),
        &["tensor 'w'", "data [1125899906842624, +32) lies outside"],
    );
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[8], F32, u64::MAX - 7).pad(32).zeros(64);
    assert_msg(
        &err(&r),
        &["tensor 'w'", "not a multiple of the alignment 32"],
    );
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[8], F32, 4).pad(32).zeros(64);
    assert_msg(
        &err(&r),
        &[
            "tensor 'w'",
            "data offset 4 is not a multiple of the alignment 32",
        ],
    );
    let mut r = Raw::header(3, 2, 0);
    r.tensor("a", &[16], F32, 0)
        .tensor("b", &[8], F32, 32)
        .pad(32)
        .zeros(96);
    assert_msg(&err(&r), &["tensor 'b'", "overlaps tensor 'a'"]);
}

#[test]
fn bad_alignment_values() {
    for (a, what) in [
        (0u32, "alignment 0 is not a power of two"),
        (48, "alignment 48"),
    ] {
        let mut r = Raw::header(3, 0, 1);
        r.kv_u32("general.alignment", a);
        assert_msg(&err(&r), &["key 'general.alignment'", what]);
    }
    let mut r = Raw::header(3, 0, 1);
    r.kv_str("general.alignment", "32");
    assert_msg(
        &err(&r),
        &["key 'general.alignment': expected u32, found string"],
    );
}

#[test]
fn unknown_types() {
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[8], 99, 0).pad(32).zeros(64);
    assert_msg(&err(&r), &["tensor 'w'", "unknown tensor type id 99"]);
    let mut r = Raw::header(3, 0, 1);
    r.str(b"general.thing").u32(13).u32(0);
    assert_msg(
        &err(&r),
        &["key 'general.thing'", "unknown metadata value type 13"],
    );
    let mut r = Raw::header(3, 0, 1);
    r.str(b"general.list").u32(9).u32(77).u64(1);
    assert_msg(
        &err(&r),
        &["key 'general.list'", "unknown metadata value type 77"],
    );
}

#[test]
fn duplicates() {
    let mut r = Raw::header(3, 2, 0);
    r.tensor("w", &[8], F32, 0)
        .tensor("w", &[8], F32, 32)
        .pad(32)
        .zeros(64);
    assert_msg(&err(&r), &["bad.gguf", "tensor 'w' appears twice"]);
    let mut r = Raw::header(3, 0, 2);
    r.kv_u32("general.alignment", 32)
        .kv_u32("general.alignment", 32);
    assert_msg(
        &err(&r),
        &["bad.gguf", "key 'general.alignment' appears twice"],
    );
}

#[test]
fn invalid_values() {
    let mut r = Raw::header(3, 0, 1);
    r.str(b"general.flag").u32(7).u8(2);
    assert_msg(&err(&r), &["key 'general.flag'", "bool byte is 2"]);
    let mut r = Raw::header(3, 0, 1);
    r.str(b"general.name").u32(8).str(&[0xff, 0xfe]);
    assert_msg(
        &err(&r),
        &["value of key 'general.name'", "not valid UTF-8"],
    );
    let mut r = Raw::header(3, 0, 1);
    r.str(b"").u32(4).u32(0);
    assert_msg(&err(&r), &["metadata entry 0", "key length 0"]);
    let mut r = Raw::header(3, 1, 0);
    r.tensor(&"x".repeat(64), &[8], F32, 0).pad(32).zeros(64);
    assert_msg(&err(&r), &["name length 64 is outside 1..=63"]);
    // Arrays of arrays of ... : bounded depth, no stack exhaustion.
    let mut r = Raw::header(3, 0, 1);
    r.str(b"general.deep");
    r.u32(9);
    for _ in 0..64 {
        r.u32(9).u64(1);
    }
    assert_msg(
        &err(&r),
        &["key 'general.deep'", "arrays nested deeper than 4"],
    );
}

/// Inspect reads headers only; a broken scale surfaces when the tensor is
/// decoded, as an error naming file and tensor.
#[test]
fn non_finite_tensor_scale_is_an_error_on_decode() {
    let mut r = Raw::header(3, 1, 0);
    r.tensor("q", &[128, 1], I2S, 0).pad(32).zeros(32);
    r.buf.extend_from_slice(&f32::NAN.to_le_bytes());
    r.zeros(28);
    let f = r.parse("scale.gguf").unwrap();
    let e = f.tensor("q").unwrap().dequantize().unwrap_err().to_string();
    assert!(e.starts_with("scale.gguf: tensor 'q': "), "{e}");
}

/// A tiny valid model, then one broken copy per model-level problem.
#[test]
fn missing_keys_tensors_and_mismatches() {
    let dir = tmp();
    let good = write_synth(dir.path(), "good.gguf", &small_opts("i2s", 1));
    let check =
        |name: &str,
         edit: &dyn Fn(&mut engine::gguf::Metadata, &mut Vec<engine::gguf::TensorSpec>)| {
            let p = dir.path().join(name);
            rewrite(&good, &p, |m, s| edit(m, s));
            let f = GgufFile::open(&p).unwrap();
            match ModelConfig::from_gguf(&f) {
                Err(e) => e.to_string(),
                Ok(c) => c.validate(&f).expect_err("must be invalid").to_string(),
            }
        };
    let m = check("nokey.gguf", &|m, _| {
        m.remove("bitnet-b1.58.block_count");
    });
    assert_msg(
        &m,
        &[
            "nokey.gguf",
            "missing required key 'bitnet-b1.58.block_count'",
        ],
    );
    let m = check("keytype.gguf", &|m, _| {
        m.set(
            "bitnet-b1.58.embedding_length",
            Value::String("wide".into()),
        )
    });
    assert_msg(
        &m,
        &[
            "keytype.gguf",
            "key 'bitnet-b1.58.embedding_length': expected a non-negative integer, found string",
        ],
    );
    let m = check("noarch.gguf", &|m, _| {
        m.set("general.architecture", Value::String("llama".into()))
    });
    assert_msg(&m, &["noarch.gguf", "unsupported architecture 'llama'"]);
    let m = check("absurd.gguf", &|m, _| {
        m.set("bitnet-b1.58.block_count", Value::U64(1 << 40))
    });
    assert_msg(
        &m,
        &[
            "absurd.gguf",
            "key 'bitnet-b1.58.block_count'",
            "outside 1..=4096",
        ],
    );
    let m = check("notensor.gguf", &|_, s| {
        s.retain(|t| t.name != "blk.1.ffn_down.weight")
    });
    assert_msg(
        &m,
        &[
            "notensor.gguf",
            "missing required tensor 'blk.1.ffn_down.weight'",
        ],
    );
    let m = check("shape.gguf", &|_, s| {
        let t = s
            .iter_mut()
            .find(|t| t.name == "blk.0.attn_k.weight")
            .unwrap();
        t.dims = vec![256, 256];
    });
    assert_msg(
        &m,
        &[
            "shape.gguf",
            "tensor 'blk.0.attn_k.weight': shape [256, 256], expected [256, 128]",
        ],
    );
    let m = check("type.gguf", &|_, s| {
        let t = s
            .iter_mut()
            .find(|t| t.name == "blk.0.attn_norm.weight")
            .unwrap();
        t.ty = TensorType::Ternary(Format::I2S);
    });
    assert_msg(
        &m,
        &[
            "type.gguf",
            "tensor 'blk.0.attn_norm.weight': type I2_S not allowed here",
        ],
    );
}

fn bitnet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bitnet"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_exits_1_with_the_message() {
    let dir = tmp();
    let bad = dir.path().join("bad.gguf");
    let mut r = valid();
    r.buf[..4].copy_from_slice(b"XXXX");
    std::fs::write(&bad, &r.buf).unwrap();
    let (code, _, err) = bitnet(&["inspect", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: ") && err.contains("bad.gguf: not a GGUF file"),
        "{err}"
    );

    let missing = dir.path().join("absent.gguf");
    let (code, _, err) = bitnet(&["inspect", missing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("absent.gguf"), "{err}");

    // Parses, but is not a valid model: problems listed, exit 1.
    let good = write_synth(dir.path(), "good.gguf", &small_opts("i2s", 1));
    let broken = dir.path().join("broken.gguf");
    rewrite(&good, &broken, |_, s| {
        s.retain(|t| t.name != "blk.0.attn_q.weight")
    });
    let (code, out, err) = bitnet(&["inspect", broken.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("missing required tensor 'blk.0.attn_q.weight'"),
        "{out}"
    );
    assert!(err.contains("1 validation problem(s)"), "{err}");

    let out_path = dir.path().join("out.gguf");
    let (code, _, err) = bitnet(&[
        "quantize",
        broken.to_str().unwrap(),
        out_path.to_str().unwrap(),
        "--type",
        "tl1",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("missing required tensor 'blk.0.attn_q.weight'"),
        "{err}"
    );
    assert!(!out_path.exists(), "no partial output");

    let (code, _, err) = bitnet(&[
        "synth",
        "--preset",
        "tiny",
        "--hidden",
        "200",
        "--type",
        "i2s",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("not a multiple of i2s's 128"), "{err}");
}
