//! GPU execution tests: each kernel against a CPU reference (bit-exact for
//! the integer paths, tolerances stated per float op). They need a CUDA
//! device; without one the first test to look prints one skip line and all
//! return early.

use engine::cuda::{CudaBackend, CudaError, GatedAct, RopeStyle};
use engine::device::{open_cuda, reason};
use engine::quant::{dequantize_to_vec, quantize_to_vec, unpack, Format};
use rand::{Rng, SeedableRng};
use std::sync::OnceLock;

fn gpu() -> Option<&'static CudaBackend> {
    static GPU: OnceLock<Option<CudaBackend>> = OnceLock::new();
    GPU.get_or_init(|| match open_cuda(0) {
        Ok(b) => Some(b),
        Err(e) => {
            println!(
                "skipped: GPU execution tests need a CUDA device ({}): {e}",
                reason(&e)
            );
            None
        }
    })
    .as_ref()
}

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

fn gaussian_like(n: usize, seed: u64) -> Vec<f32> {
    let mut r = rng(seed);
    (0..n)
        .map(|_| (0..4).map(|_| r.gen_range(-1.0f32..1.0)).sum::<f32>())
        .collect()
}

fn ternary(n: usize, seed: u64) -> Vec<i8> {
    let mut r = rng(seed);
    (0..n).map(|_| r.gen_range(-1..=1)).collect()
}

/// Scalar reference of per-token absmax quantization (the kernel's contract).
fn act_quant_ref(x: &[f32], cols: usize) -> (Vec<i8>, Vec<f32>, Vec<i32>) {
    let (mut q, mut s, mut sums) = (Vec::new(), Vec::new(), Vec::new());
    for row in x.chunks_exact(cols) {
        let m = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let sc = if m > 0.0 { 127.0 / m } else { 1.0 };
        let qs: Vec<i8> = row
            .iter()
            .map(|v| ((v * sc).round() as i32).clamp(-128, 127) as i8)
            .collect();
        sums.push(qs.iter().map(|&v| v as i32).sum());
        q.extend(qs);
        s.push(sc);
    }
    (q, s, sums)
}

/// `out[t][r] = f32(sum_k w[r][k] xq[t][k] * (gamma / s[t]))`, exact integer
/// sum, the scale applied in f64 (the CPU kernels' epilogue).
fn matmul_ref(w: &[i8], rows: usize, cols: usize, gamma: f32, xq: &[i8], s: &[f32]) -> Vec<f32> {
    let mut out = Vec::new();
    for (t, x) in xq.chunks_exact(cols).enumerate() {
        for r in 0..rows {
            let dot: i32 = (0..cols)
                .map(|k| w[r * cols + k] as i32 * x[k] as i32)
                .sum();
            out.push((dot as f64 * (gamma as f64 / s[t] as f64)) as f32);
        }
    }
    out
}

fn assert_close(got: &[f32], want: &[f64], rel: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-30);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= rel * scale,
            "{what}[{i}]: got {g}, want {w} (tolerance {rel} x {scale})"
        );
    }
}

#[test]
fn act_quant_is_bit_exact() {
    let Some(g) = gpu() else { return };
    for (tokens, cols) in [(1, 16), (3, 2560), (7, 6912)] {
        let mut x = gaussian_like(tokens * cols, cols as u64);
        x[..cols].iter_mut().step_by(5).for_each(|v| *v = 0.0);
        let xd = g.upload(&x).unwrap();
        let mut a = g.alloc_acts(tokens, cols).unwrap();
        g.quantize_acts(&xd, &mut a).unwrap();
        // Multiply by the identity-like all-ones row to read back xq sums.
        let (_, s, sums) = act_quant_ref(&x, cols);
        let w = g.upload_ternary(&vec![1i8; cols], 1, cols, 1.0).unwrap();
        let mut out = g.zeros::<f32>(tokens).unwrap();
        g.ternary_matmul(&w, &a, &mut out).unwrap();
        let got = g.download(&out).unwrap();
        for t in 0..tokens {
            assert_eq!(
                got[t].to_bits(),
                ((sums[t] as f64 * (1.0 / s[t] as f64)) as f32).to_bits(),
                "token {t}"
            );
        }
    }
    // An all-zero token gets scale 1 and products 0.
    let xd = g.upload(&[0f32; 32]).unwrap();
    let mut a = g.alloc_acts(1, 32).unwrap();
    g.quantize_acts(&xd, &mut a).unwrap();
    let w = g.upload_ternary(&[1i8; 32], 1, 32, 2.0).unwrap();
    let mut out = g.zeros::<f32>(1).unwrap();
    g.gemv(&w, &a, &mut out).unwrap();
    assert_eq!(g.download(&out).unwrap(), vec![0.0]);
}

#[test]
fn gemv_and_gemm_are_bit_exact_on_2b4t_and_odd_shapes() {
    let Some(g) = gpu() else { return };
    let shapes = [
        (1, 2560, 2560),
        (1, 640, 2560),
        (1, 6912, 2560),
        (1, 2560, 6912),
        (1, 33, 48),
        (5, 2560, 2560),
        (64, 130, 2048 + 32),
        (129, 77, 6912),
    ];
    for (tokens, rows, cols) in shapes {
        let w = ternary(rows * cols, (rows * cols) as u64);
        let gamma = 0.0371f32;
        let x = gaussian_like(tokens * cols, tokens as u64 + 99);
        let (xq, s, _) = act_quant_ref(&x, cols);
        let want = matmul_ref(&w, rows, cols, gamma, &xq, &s);

        let wd = g.upload_ternary(&w, rows, cols, gamma).unwrap();
        let xd = g.upload(&x).unwrap();
        let mut a = g.alloc_acts(tokens, cols).unwrap();
        g.quantize_acts(&xd, &mut a).unwrap();
        let mut out = g.zeros::<f32>(tokens * rows).unwrap();
        g.ternary_matmul(&wd, &a, &mut out).unwrap();
        let got = g.download(&out).unwrap();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "{tokens} x {rows} x {cols}");
        if tokens > 1 {
            // GEMM on one token equals GEMV.
            let mut a1 = g.alloc_acts(1, cols).unwrap();
            let x1 = g.upload(&x[..cols]).unwrap();
            g.quantize_acts(&x1, &mut a1).unwrap();
            let (mut o1, mut o2) = (g.zeros::<f32>(rows).unwrap(), g.zeros::<f32>(rows).unwrap());
            g.gemv(&wd, &a1, &mut o1).unwrap();
            g.gemm(&wd, &a1, &mut o2).unwrap();
            assert_eq!(g.download(&o1).unwrap(), g.download(&o2).unwrap());
        }
    }
}

#[test]
fn gemm_f16_matches_an_f64_reference() {
    let Some(g) = gpu() else { return };
    for (m, n, k) in [
        (32, 32, 32),
        (65, 70, 100),
        (128, 256, 512),
        (1, 640, 2560),
        (1, 33, 70),
    ] {
        let a: Vec<half::f16> = gaussian_like(m * k, 1)
            .into_iter()
            .map(half::f16::from_f32)
            .collect();
        let b: Vec<half::f16> = gaussian_like(n * k, 2)
            .into_iter()
            .map(half::f16::from_f32)
            .collect();
        let want: Vec<f64> = (0..m * n)
            .map(|i| {
                let (r, c) = (i / n, i % n);
                (0..k)
                    .map(|j| a[r * k + j].to_f64() * b[c * k + j].to_f64())
                    .sum()
            })
            .collect();
        let ad = g
            .upload(&a.iter().map(|h| h.to_bits()).collect::<Vec<_>>())
            .unwrap();
        let bd = g
            .upload(&b.iter().map(|h| h.to_bits()).collect::<Vec<_>>())
            .unwrap();
        let mut c = g.zeros::<f32>(m * n).unwrap();
        g.gemm_f16(&ad, &bd, &mut c, m, n, k).unwrap();
        assert_close(
            &g.download(&c).unwrap(),
            &want,
            1e-5,
            &format!("hgemm {m}x{n}x{k}"),
        );
    }
}

#[test]
fn rmsnorm_matches_reference() {
    let Some(g) = gpu() else { return };
    let (rows, cols, eps) = (3, 2560, 1e-5f32);
    let x = gaussian_like(rows * cols, 5);
    let w = gaussian_like(cols, 6);
    let mut want = Vec::new();
    for row in x.chunks_exact(cols) {
        let ms = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / cols as f64;
        let inv = 1.0 / (ms + eps as f64).sqrt();
        want.extend(
            row.iter()
                .zip(&w)
                .map(|(&v, &wi)| v as f64 * inv * wi as f64),
        );
    }
    let (xd, wd) = (g.upload(&x).unwrap(), g.upload(&w).unwrap());
    let mut out = g.zeros::<f32>(rows * cols).unwrap();
    g.rmsnorm(&xd, &wd, &mut out, rows, eps).unwrap();
    assert_close(&g.download(&out).unwrap(), &want, 1e-5, "rmsnorm");
}

#[test]
fn rope_matches_reference_in_both_styles() {
    let Some(g) = gpu() else { return };
    let (tokens, heads, hd, pos0, theta) = (3, 4, 128, 17, 500000f32);
    for style in [RopeStyle::Neox, RopeStyle::Normal] {
        let x = gaussian_like(tokens * heads * hd, 8);
        let mut want: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        for t in 0..tokens {
            for h in 0..heads {
                let base = (t * heads + h) * hd;
                for i in 0..hd / 2 {
                    let freq = (theta as f64).powf(-2.0 * i as f64 / hd as f64);
                    let ang = (pos0 + t) as f64 * freq;
                    let (i0, i1) = match style {
                        RopeStyle::Neox => (i, i + hd / 2),
                        RopeStyle::Normal => (2 * i, 2 * i + 1),
                    };
                    let (a, b) = (x[base + i0] as f64, x[base + i1] as f64);
                    want[base + i0] = a * ang.cos() - b * ang.sin();
                    want[base + i1] = a * ang.sin() + b * ang.cos();
                }
            }
        }
        let mut xd = g.upload(&x).unwrap();
        g.rope(&mut xd, tokens, heads, hd, hd, pos0, theta, style)
            .unwrap();
        // f32 powf/sincosf of angles up to ~20 rad: ~1e-5 relative error is expected.
        assert_close(
            &g.download(&xd).unwrap(),
            &want,
            1e-4,
            &format!("rope {style:?}"),
        );
    }
}

#[test]
fn attention_over_the_kv_cache_matches_reference() {
    let Some(g) = gpu() else { return };
    let (n_head, n_kv, hd, n_ctx) = (8, 2, 64, 40);
    let (pos0, tokens) = (29, 3);
    let total = pos0 + tokens;
    let k = gaussian_like(total * n_kv * hd, 10);
    let v = gaussian_like(total * n_kv * hd, 11);
    let q = gaussian_like(tokens * n_head * hd, 12);
    let scale = 1.0 / (hd as f32).sqrt();
    let mut cache = g.kv_cache(n_ctx, n_kv, hd).unwrap();
    // Two stores: the prefix, then the new tokens.
    let row = n_kv * hd;
    let (kp, vp) = (
        g.upload(&k[..pos0 * row]).unwrap(),
        g.upload(&v[..pos0 * row]).unwrap(),
    );
    g.kv_store(&mut cache, &kp, &vp, 0).unwrap();
    let (kn, vn) = (
        g.upload(&k[pos0 * row..]).unwrap(),
        g.upload(&v[pos0 * row..]).unwrap(),
    );
    g.kv_store(&mut cache, &kn, &vn, pos0).unwrap();
    let qd = g.upload(&q).unwrap();
    let mut out = g.zeros::<f32>(q.len()).unwrap();
    g.attention(&qd, &cache, &mut out, n_head, pos0, scale)
        .unwrap();

    let mut want = vec![0f64; q.len()];
    for t in 0..tokens {
        for h in 0..n_head {
            let kvh = h / (n_head / n_kv);
            let qr = &q[(t * n_head + h) * hd..][..hd];
            let keys = pos0 + t + 1;
            let sc: Vec<f64> = (0..keys)
                .map(|j| {
                    let kr = &k[(j * n_kv + kvh) * hd..][..hd];
                    qr.iter()
                        .zip(kr)
                        .map(|(&a, &b)| a as f64 * b as f64)
                        .sum::<f64>()
                        * scale as f64
                })
                .collect();
            let m = sc.iter().cloned().fold(f64::MIN, f64::max);
            let e: Vec<f64> = sc.iter().map(|s| (s - m).exp()).collect();
            let z: f64 = e.iter().sum();
            for d in 0..hd {
                want[(t * n_head + h) * hd + d] = (0..keys)
                    .map(|j| e[j] * v[(j * n_kv + kvh) * hd + d] as f64)
                    .sum::<f64>()
                    / z;
            }
        }
    }
    assert_close(&g.download(&out).unwrap(), &want, 1e-5, "attention");
    // Positions beyond the cache are rejected before launching.
    assert!(g
        .attention(&qd, &cache, &mut out, n_head, n_ctx - 1, scale)
        .is_err());
}

#[test]
fn gated_activations_match_reference() {
    let Some(g) = gpu() else { return };
    let n = 6912;
    let (gate, up) = (gaussian_like(n, 20), gaussian_like(n, 21));
    for act in [GatedAct::Relu2, GatedAct::Silu] {
        let want: Vec<f64> = gate
            .iter()
            .zip(&up)
            .map(|(&gv, &u)| {
                let gv = gv as f64;
                let a = match act {
                    GatedAct::Relu2 => gv.max(0.0).powi(2),
                    GatedAct::Silu => gv / (1.0 + (-gv).exp()),
                };
                a * u as f64
            })
            .collect();
        let (gd, ud) = (g.upload(&gate).unwrap(), g.upload(&up).unwrap());
        let mut out = g.zeros::<f32>(n).unwrap();
        g.gated_act(&gd, &ud, &mut out, act).unwrap();
        assert_close(&g.download(&out).unwrap(), &want, 1e-6, &format!("{act:?}"));
    }
}

#[test]
fn residual_add_is_exact() {
    let Some(g) = gpu() else { return };
    let (x, y) = (gaussian_like(2560, 30), gaussian_like(2560, 31));
    let mut xd = g.upload(&x).unwrap();
    g.add_assign(&mut xd, &g.upload(&y).unwrap()).unwrap();
    let want: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
    assert_eq!(g.download(&xd).unwrap(), want);
}

#[test]
fn bad_shapes_are_typed_errors_before_launch() {
    let Some(g) = gpu() else { return };
    let w = g.upload_ternary(&ternary(64 * 32, 1), 64, 32, 1.0).unwrap();
    let a = g.alloc_acts(2, 48).unwrap();
    let mut out = g.zeros::<f32>(128).unwrap();
    let e = g.gemm(&w, &a, &mut out).unwrap_err();
    assert!(e.to_string().contains("gemm_w2a8"), "{e}");
    assert!(g.alloc_acts(1, 40).is_err());
    assert!(g.upload_ternary(&[2i8; 16], 1, 16, 1.0).is_err());
}

#[test]
fn quantize_and_dequantize_match_the_cpu_bytes() {
    let Some(g) = gpu() else { return };
    let shapes = [
        (Format::I2S, 1, 1024),
        (Format::I2S, 1, 65536),
        (Format::TL1, 4, 4096),
        (Format::TL2, 1, 16384),
        (Format::TL2, 3, 96 * 5 + 64),
        (Format::TL2, 2, 32),
    ];
    for (format, rows, cols) in shapes {
        let x = gaussian_like(rows * cols, cols as u64);
        let xd = g.upload(&x).unwrap();
        let packed = g.quantize(format, &xd, rows, cols).unwrap();
        let got = g.download(&packed).unwrap();
        assert_eq!(
            got,
            quantize_to_vec(format, &x, rows, cols).unwrap(),
            "{format} {rows}x{cols}"
        );
        let mut y = g.zeros::<f32>(rows * cols).unwrap();
        g.dequantize(format, &packed, rows, cols, &mut y).unwrap();
        let want = dequantize_to_vec(format, &got, rows, cols).unwrap();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&g.download(&y).unwrap()),
            bits(&want),
            "{format} {rows}x{cols}"
        );

        let mut bad = got.clone();
        let at = (bad.len() - engine::quant::format::TENSOR_SCALE_BYTES) / 2;
        bad[at] = 0xff;
        let bd = g.upload(&bad).unwrap();
        let e = g.dequantize(format, &bd, rows, cols, &mut y).unwrap_err();
        let cpu = dequantize_to_vec(format, &bad, rows, cols).unwrap_err();
        assert_eq!(e, CudaError::Quant(cpu), "{format}");

        let mut nan = got.clone();
        let t = nan.len() - engine::quant::format::TENSOR_SCALE_BYTES;
        nan[t..t + 4].copy_from_slice(&f32::INFINITY.to_le_bytes());
        let e = g
            .dequantize(format, &g.upload(&nan).unwrap(), rows, cols, &mut y)
            .unwrap_err();
        let cpu = dequantize_to_vec(format, &nan, rows, cols).unwrap_err();
        assert_eq!(e, CudaError::Quant(cpu), "{format} scale");
    }
    let mut x = gaussian_like(4096, 1);
    x[77] = f32::NAN;
    let e = g
        .quantize(Format::TL1, &g.upload(&x).unwrap(), 1, 4096)
        .unwrap_err();
    assert!(e.to_string().contains("index 77"), "{e}");
    assert!(g
        .quantize(Format::TQ2_0, &g.upload(&x).unwrap(), 1, 4096)
        .is_err());
}

#[test]
fn packed_uploads_of_every_format_multiply_exactly() {
    let Some(g) = gpu() else { return };
    let (rows, cols) = (70, 2560 + 96 * 2);
    let w = gaussian_like(rows * cols, 40);
    let x = gaussian_like(cols, 41);
    let (xq, s, _) = act_quant_ref(&x, cols);
    let xd = g.upload(&x).unwrap();
    let mut a = g.alloc_acts(1, cols).unwrap();
    g.quantize_acts(&xd, &mut a).unwrap();
    for format in [Format::I2S, Format::TL1, Format::TL2] {
        if !cols.is_multiple_of(format.row_multiple()) {
            continue;
        }
        let packed = quantize_to_vec(format, &w, rows, cols).unwrap();
        let mut codes = vec![0i8; rows * cols];
        let gamma = match unpack(format, &packed, rows, cols, &mut codes).unwrap() {
            engine::quant::Scale::Tensor(g) => g,
            other => panic!("{other:?}"),
        };
        let wd = g.upload_packed(format, &packed, rows, cols).unwrap();
        assert_eq!(wd.scale(), gamma);
        let mut out = g.zeros::<f32>(rows).unwrap();
        g.gemv(&wd, &a, &mut out).unwrap();
        let want = matmul_ref(&codes, rows, cols, gamma, &xq, &s);
        assert_eq!(g.download(&out).unwrap(), want, "{format}");
    }
    assert!(g.upload_packed(Format::TQ2_0, &[0; 66], 1, 256).is_err());
}

/// The whole forward pass on the device against the CPU engine on the same
/// file, for both FFN activations and a TQ2_0 model (per-block scales all
/// equal, so it runs on the per-tensor kernels): logits of a prompt
/// (every position) and of three decode steps after it through the device
/// KV cache. Both quantize activations to int8 per token with the same rule
/// and multiply exactly in integers; they differ in the order of float
/// reductions (norms, softmax, head), which can move an activation across a
/// rounding boundary, hence cosine and top-1 rather than bit equality.
#[test]
fn device_forward_matches_the_cpu_forward() {
    use engine::model::{Activation, Architecture, GpuModel, Logits, Model};
    use engine::synth::{self, Preset, SynthOptions, WeightType};
    use std::sync::Arc;
    if gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            WeightType::Ternary(Format::I2S),
            Architecture::BitnetB158,
            Activation::ReluSqr,
        ),
        (
            WeightType::Ternary(Format::TQ2_0),
            Architecture::Bitnet,
            Activation::Silu,
        ),
    ];
    for (i, (ty, arch, act)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("m{i}.gguf"));
        let opts = SynthOptions {
            layers: Some(2),
            arch: Some(arch),
            activation: Some(act),
            ..SynthOptions::new(Preset::Tiny, ty, 11)
        };
        synth::write_model(&path, &opts, &indicatif::ProgressBar::hidden()).unwrap();
        let cpu = Model::load(&path, 1).unwrap();
        let backend = Arc::new(open_cuda(0).unwrap());
        let dev = GpuModel::upload(&cpu, backend).unwrap();
        let prompt = [256u32, 72, 101, 108, 108, 111, 32, 119];
        let steps = [111u32, 114, 108];
        let mut cs = cpu.session(16).unwrap();
        let mut gs = dev.session(16).unwrap();
        let mut want = cs.forward(&prompt, Logits::All).unwrap();
        let mut got = gs.forward(&prompt, Logits::All).unwrap();
        for t in steps {
            want.extend(cs.forward(&[t], Logits::Last).unwrap());
            got.extend(gs.forward(&[t], Logits::Last).unwrap());
        }
        let vocab = cpu.config().vocab_size;
        assert_eq!(got.len(), want.len());
        for (pos, (g, w)) in got.chunks(vocab).zip(want.chunks(vocab)).enumerate() {
            let dot: f64 = g.iter().zip(w).map(|(a, b)| *a as f64 * *b as f64).sum();
            let norm = |v: &[f32]| v.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
            let cos = dot / (norm(g) * norm(w));
            assert!(cos >= 0.9999, "{ty:?} position {pos}: cosine {cos}");
            let top = |v: &[f32]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
            let mut sorted = w.to_vec();
            sorted.sort_by(|a, b| b.total_cmp(a));
            if sorted[0] - sorted[1] > 0.05 {
                assert_eq!(top(g), top(w), "{ty:?} position {pos}: top-1");
            }
        }
    }
}
