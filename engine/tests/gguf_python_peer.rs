//! Synthetic models read by the `gguf` PyPI package (run when
//! `BITNET_PYTHON` names a Python with `gguf` and `numpy`; CI sets it through
//! ci/env.sh): metadata, tokenizer and tensor table as we wrote them, and
//! every TQ1_0/TQ2_0/F16/F32 tensor decoded by `gguf.quants.dequantize`
//! bit-identical to our decoding.

mod gguf_support;

use engine::gguf::GgufFile;
use gguf_support::*;
use std::path::Path;
use std::process::Command;

fn python() -> Option<String> {
    match std::env::var("BITNET_PYTHON") {
        Ok(p) if Path::new(&p).exists() => Some(p),
        _ => None,
    }
}

#[test]
fn gguf_package_reads_our_models_identically() {
    let Some(python) = python() else {
        println!("skipped: BITNET_PYTHON is unset or missing (set it to a Python with gguf)");
        return;
    };
    let dir = tmp();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/gguf_reader_peer.py");
    for ty in ["tq2_0", "tq1_0", "f16"] {
        let path = write_synth(dir.path(), &format!("{ty}.gguf"), &small_opts(ty, 3));
        let out_dir = dir.path().join(format!("{ty}.out"));
        std::fs::create_dir(&out_dir).unwrap();
        let out = Command::new(&python)
            .arg(&script)
            .arg(&path)
            .arg(&out_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{ty}: peer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let f = GgufFile::open(&path).unwrap();

        let fields = &report["fields"];
        assert_eq!(fields["general.architecture"], "bitnet");
        assert_eq!(fields["tokenizer.ggml.model"], "gpt2");
        assert_eq!(fields["tokenizer.ggml.pre"], "llama-bpe");
        assert_eq!(
            fields["tokenizer.ggml.bos_token_id"],
            f.get_u64("tokenizer.ggml.bos_token_id").unwrap()
        );
        assert_eq!(report["n_tokens"], 300);
        assert_eq!(report["first_tokens"], serde_json::json!(["Ā", "ā", "Ă"]));
        let merges = f
            .metadata()
            .get("tokenizer.ggml.merges")
            .unwrap()
            .as_array()
            .unwrap();
        assert_eq!(report["n_merges"], merges.len());
        assert_eq!(report["first_merge"], merges.as_strings().unwrap()[0]);

        let tensors = report["tensors"].as_array().unwrap();
        assert_eq!(tensors.len(), f.tensor_infos().len());
        for (t, info) in tensors.iter().zip(f.tensor_infos()) {
            assert_eq!(t["name"], info.name);
            assert_eq!(t["type"], info.ty.name());
            assert_eq!(t["shape"], serde_json::json!(info.dims));
            let theirs = std::fs::read(out_dir.join(format!("{}.f32", info.name))).unwrap();
            let ours: Vec<u8> = f
                .tensor(&info.name)
                .unwrap()
                .dequantize()
                .unwrap()
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            assert!(
                theirs == ours,
                "{ty}: tensor {} decodes differently",
                info.name
            );
        }
        match &report["llama_cpp"] {
            serde_json::Value::String(s) if ty == "tq2_0" => {
                println!("skipped: llama-cpp-python {s} (the gguf reader checks ran)")
            }
            serde_json::Value::String(_) => {}
            tokens => assert!(tokens.as_array().is_some_and(|t| !t.is_empty()), "{tokens}"),
        }
    }
}
