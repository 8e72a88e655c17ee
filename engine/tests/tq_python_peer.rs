//! TQ1_0/TQ2_0 bytes and dequantized values against the `gguf` PyPI
//! package's numpy reference (run when `BITNET_PYTHON` names a Python with
//! `gguf` and `numpy`; CI sets it through ci/env.sh).

mod common;

use engine::quant::{self, Format};
use std::path::Path;
use std::process::Command;

/// Gaussian weights plus the corner cases of ggml's rounding: exact halves
/// of the block absmax, an all-zero block, negative zeros, tiny values.
fn peer_input(rows: usize, cols: usize) -> Vec<f32> {
    let mut x = common::gaussian(rows * cols, 0.05, 77);
    let block = &mut x[256..512];
    let d = 0.8f32;
    block[0] = d;
    for (i, v) in block.iter_mut().enumerate().skip(1) {
        *v = match i % 5 {
            0 => 0.5 * d,
            1 => -0.5 * d,
            2 => -0.0,
            3 => 0.4999999 * d,
            _ => -d,
        };
    }
    x[512..768].fill(0.0);
    x[768..1024].iter_mut().for_each(|v| *v *= 1e-30);
    x
}

#[test]
fn tq_bytes_match_gguf_numpy_quantizer() {
    let python = match std::env::var("BITNET_PYTHON") {
        Ok(p) if Path::new(&p).exists() => p,
        _ => {
            println!("skipped: BITNET_PYTHON is unset or missing (set it to a Python with gguf)");
            return;
        }
    };
    let (rows, cols) = (4, 1024);
    let x = peer_input(rows, cols);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("x.f32");
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&input, bytes).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/tq_peer.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&input)
        .arg(rows.to_string())
        .arg(cols.to_string())
        .arg(dir.path())
        .output()
        .expect("run BITNET_PYTHON");
    assert!(
        out.status.success(),
        "{script:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for format in [Format::TQ1_0, Format::TQ2_0] {
        let peer = std::fs::read(dir.path().join(format!("{}.bin", format.name()))).unwrap();
        let ours = quant::quantize_to_vec(format, &x, rows, cols).unwrap();
        assert_eq!(ours.len(), peer.len(), "{format}");
        if let Some(i) = (0..ours.len()).find(|&i| ours[i] != peer[i]) {
            panic!(
                "{format}: byte {i} is {} but gguf wrote {}",
                ours[i], peer[i]
            );
        }
        let peer_f: Vec<u32> = std::fs::read(dir.path().join(format!("{}.f32", format.name())))
            .unwrap()
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let deq = quant::dequantize_to_vec(format, &peer, rows, cols).unwrap();
        let ours_f: Vec<u32> = deq.iter().map(|v| v.to_bits()).collect();
        assert_eq!(
            ours_f, peer_f,
            "{format}: dequantized values differ from gguf's"
        );
        println!("{format}: {} bytes equal gguf.quants", ours.len());
    }
}
