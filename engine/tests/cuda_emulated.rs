//! The CUDA kernels run on the CPU (tests/emu): their logic checked against
//! scalar references on every machine, GPU or not. Integer paths must be
//! bit-exact; float paths within the stated tolerance. Argument order and
//! launch shapes are the backend's (src/cuda/backend/*.rs).

mod emu;

use emu::{Args, Emu};
use engine::cuda::launch;
use engine::cuda::layout::{self, W2Layout};
use engine::cuda::{GatedAct, RopeStyle};
use engine::quant::format::TENSOR_SCALE_BYTES;
use engine::quant::{dequantize_to_vec, quantize_to_vec, Format, QuantError};
use rand::{Rng, SeedableRng};

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

fn floats(n: usize, seed: u64) -> Vec<f32> {
    let mut r = rng(seed);
    (0..n)
        .map(|_| (0..4).map(|_| r.gen_range(-1.0f32..1.0)).sum::<f32>())
        .collect()
}

fn ternary(n: usize, seed: u64) -> Vec<i8> {
    let mut r = rng(seed);
    (0..n).map(|_| r.gen_range(-1..=1)).collect()
}

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

/// act_quant as the backend launches it.
fn act_quant(e: &Emu, x: &[f32], tokens: usize, cols: usize) -> (Vec<i8>, Vec<f32>, Vec<i32>) {
    let (mut xq, mut s, mut sum) = (
        vec![0i8; tokens * cols],
        vec![0f32; tokens],
        vec![0i32; tokens],
    );
    let shape = launch::per_row("act_quant", tokens, 0).unwrap();
    e.launch(
        "act_quant",
        shape,
        Args::default()
            .ptr(x.as_ptr())
            .mut_ptr(xq.as_mut_ptr())
            .mut_ptr(s.as_mut_ptr())
            .mut_ptr(sum.as_mut_ptr())
            .i32(cols as i32),
    );
    (xq, s, sum)
}

/// 16-byte aligned copy (the device allocator aligns every buffer).
fn aligned_i8(v: &[i8]) -> (Vec<u128>, *const i8) {
    let mut store = vec![0u128; v.len().div_ceil(16)];
    let p = store.as_mut_ptr() as *mut i8;
    // SAFETY: `store` holds at least v.len() bytes and does not overlap `v`.
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), p, v.len()) };
    (store, p)
}

fn aligned_u32(v: &[u32]) -> (Vec<u128>, *const u32) {
    let mut store = vec![0u128; v.len().div_ceil(4)];
    let p = store.as_mut_ptr() as *mut u32;
    // SAFETY: `store` holds at least v.len() words and does not overlap `v`.
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), p, v.len()) };
    (store, p)
}

#[test]
fn act_quant_matches_the_scalar_reference() {
    let Some(e) = Emu::get() else { return };
    let (tokens, cols) = (3, 2560);
    let mut x = floats(tokens * cols, 1);
    x[cols..2 * cols].iter_mut().for_each(|v| *v = 0.0);
    x[7] = 1e-3;
    assert_eq!(act_quant(e, &x, tokens, cols), act_quant_ref(&x, cols));
}

#[test]
fn gemv_and_gemm_are_bit_exact() {
    let Some(e) = Emu::get() else { return };
    for (tokens, rows, cols) in [(1, 37, 2560), (1, 9, 6912), (1, 3, 48), (70, 65, 2048 + 48)] {
        let gamma = 0.0371f32;
        let w = ternary(rows * cols, (rows * cols) as u64);
        let l = W2Layout::new(rows, cols).unwrap();
        let (_wstore, wp) = aligned_u32(&layout::repack(&w, l).unwrap());
        let x = floats(tokens * cols, 3);
        let (xq, s, sums) = act_quant(e, &x, tokens, cols);
        let (_xstore, xp) = aligned_i8(&xq);
        let mut out = vec![0f32; tokens * rows];
        let kernel = if tokens == 1 {
            "gemv_w2a8"
        } else {
            "gemm_w2a8"
        };
        let shape = if tokens == 1 {
            launch::gemv(rows, cols).unwrap()
        } else {
            launch::gemm(tokens, rows).unwrap()
        };
        let mut args = Args::default()
            .ptr(wp)
            .ptr(xp)
            .ptr(s.as_ptr())
            .ptr(sums.as_ptr())
            .f32(gamma)
            .mut_ptr(out.as_mut_ptr());
        if tokens > 1 {
            args = args.i32(tokens as i32);
        }
        args = args
            .i32(rows as i32)
            .i32(l.groups() as i32)
            .i32(l.row_words() as i32)
            .i32(l.full_supers() as i32);
        e.launch(kernel, shape, args);
        for t in 0..tokens {
            for r in 0..rows {
                let dot: i32 = (0..cols)
                    .map(|k| w[r * cols + k] as i32 * xq[t * cols + k] as i32)
                    .sum();
                let want = (dot as f64 * (gamma as f64 / s[t] as f64)) as f32;
                assert_eq!(
                    out[t * rows + r].to_bits(),
                    want.to_bits(),
                    "{kernel} {tokens}x{rows}x{cols} at ({t}, {r})"
                );
            }
        }
    }
}

fn f16s(n: usize, seed: u64) -> Vec<half::f16> {
    floats(n, seed)
        .into_iter()
        .map(half::f16::from_f32)
        .collect()
}

#[test]
fn f16_gemm_and_gemv_match_f64() {
    let Some(e) = Emu::get() else { return };
    for (m, n, k) in [(3, 70, 100), (1, 33, 72), (1, 5, 70)] {
        let (a, b) = (f16s(m * k, 1), f16s(n * k, 2));
        let (ab, bb): (Vec<u16>, Vec<u16>) = (
            a.iter().map(|h| h.to_bits()).collect(),
            b.iter().map(|h| h.to_bits()).collect(),
        );
        let (_bs, bp) = {
            let mut store = vec![0u128; bb.len().div_ceil(8)];
            let p = store.as_mut_ptr() as *mut u16;
            // SAFETY: `store` holds at least bb.len() halves.
            unsafe { std::ptr::copy_nonoverlapping(bb.as_ptr(), p, bb.len()) };
            (store, p as *const u16)
        };
        let mut c = vec![0f32; m * n];
        let args = Args::default()
            .ptr(ab.as_ptr())
            .ptr(bp)
            .mut_ptr(c.as_mut_ptr());
        if m == 1 {
            let args = args.i32(n as i32).i32(k as i32);
            e.launch("gemv_f16", launch::hgemv(n, k).unwrap(), args);
        } else {
            let args = args.i32(m as i32).i32(n as i32).i32(k as i32);
            e.launch("gemm_f16", launch::hgemm(m, n).unwrap(), args);
        }
        let want: Vec<f64> = (0..m * n)
            .map(|i| {
                let (r, col) = (i / n, i % n);
                (0..k)
                    .map(|j| a[r * k + j].to_f64() * b[col * k + j].to_f64())
                    .sum()
            })
            .collect();
        assert_close(&c, &want, 1e-5, &format!("f16 {m}x{n}x{k}"));
    }
}

/// The output head's GEMV: f16 rows against an f32 vector, as the CPU head
/// (`kernels::dense_f16`) computes it.
#[test]
fn f16_gemv_with_f32_vector_matches_f64() {
    let Some(e) = Emu::get() else { return };
    for (n, k) in [(33, 72), (5, 70), (130, 2560)] {
        let x = floats(k, 3);
        let b = f16s(n * k, 4);
        let mut store = vec![0u128; (n * k).div_ceil(8)];
        let bp = store.as_mut_ptr() as *mut u16;
        for (i, h) in b.iter().enumerate() {
            // SAFETY: `store` holds at least n * k halves.
            unsafe { bp.add(i).write(h.to_bits()) };
        }
        let mut c = vec![0f32; n];
        let args = Args::default()
            .ptr(x.as_ptr())
            .ptr(bp as *const u16)
            .mut_ptr(c.as_mut_ptr())
            .i32(n as i32)
            .i32(k as i32);
        e.launch("gemv_f16_f32x", launch::hgemv(n, k).unwrap(), args);
        let want: Vec<f64> = (0..n)
            .map(|r| (0..k).map(|j| x[j] as f64 * b[r * k + j].to_f64()).sum())
            .collect();
        assert_close(&c, &want, 1e-5, &format!("f16 x f32 {n}x{k}"));
    }
}

#[test]
fn rmsnorm_rope_activation_and_residual_match_references() {
    let Some(e) = Emu::get() else { return };
    // RMSNorm
    let (rows, cols, eps) = (2, 640, 1e-5f32);
    let (x, w) = (floats(rows * cols, 5), floats(cols, 6));
    let mut out = vec![0f32; rows * cols];
    e.launch(
        "rmsnorm",
        launch::per_row("rmsnorm", rows, 0).unwrap(),
        Args::default()
            .ptr(x.as_ptr())
            .ptr(w.as_ptr())
            .mut_ptr(out.as_mut_ptr())
            .i32(cols as i32)
            .f32(eps),
    );
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
    assert_close(&out, &want, 1e-5, "rmsnorm");

    // RoPE, both pairings, partial rotation (n_rot < head_dim)
    let (tokens, heads, hd, n_rot, pos0, theta) = (2, 3, 64, 48, 9, 10000f32);
    for style in [RopeStyle::Neox, RopeStyle::Normal] {
        let x = floats(tokens * heads * hd, 7);
        let mut y = x.clone();
        e.launch(
            "rope",
            launch::elementwise("rope", tokens * heads * n_rot / 2).unwrap(),
            Args::default()
                .mut_ptr(y.as_mut_ptr())
                .i32(tokens as i32)
                .i32(heads as i32)
                .i32(hd as i32)
                .i32(n_rot as i32)
                .i32(pos0 as i32)
                .f32(theta)
                .i32(style.code()),
        );
        let mut want: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        for t in 0..tokens {
            for h in 0..heads {
                let base = (t * heads + h) * hd;
                for i in 0..n_rot / 2 {
                    let ang =
                        (pos0 + t) as f64 * (theta as f64).powf(-2.0 * i as f64 / n_rot as f64);
                    let (i0, i1) = match style {
                        RopeStyle::Neox => (i, i + n_rot / 2),
                        RopeStyle::Normal => (2 * i, 2 * i + 1),
                    };
                    let (a, b) = (x[base + i0] as f64, x[base + i1] as f64);
                    want[base + i0] = a * ang.cos() - b * ang.sin();
                    want[base + i1] = a * ang.sin() + b * ang.cos();
                }
            }
        }
        assert_close(&y, &want, 1e-5, &format!("rope {style:?}"));
    }

    // Gated activations
    let n = 1024;
    let (g, u) = (floats(n, 8), floats(n, 9));
    for act in [GatedAct::Relu2, GatedAct::Silu] {
        let mut out = vec![0f32; n];
        e.launch(
            "gated_act",
            launch::elementwise("gated_act", n / 4).unwrap(),
            Args::default()
                .ptr(g.as_ptr())
                .ptr(u.as_ptr())
                .mut_ptr(out.as_mut_ptr())
                .i64((n / 4) as i64)
                .i32(act.code()),
        );
        let want: Vec<f64> = g
            .iter()
            .zip(&u)
            .map(|(&gv, &uv)| {
                let gv = gv as f64;
                let a = match act {
                    GatedAct::Relu2 => gv.max(0.0).powi(2),
                    GatedAct::Silu => gv / (1.0 + (-gv).exp()),
                };
                a * uv as f64
            })
            .collect();
        assert_close(&out, &want, 1e-6, &format!("{act:?}"));
    }

    // Residual add
    let (mut a, b) = (floats(n, 10), floats(n, 11));
    let want: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    e.launch(
        "residual_add",
        launch::elementwise("residual_add", n / 4).unwrap(),
        Args::default()
            .mut_ptr(a.as_mut_ptr())
            .ptr(b.as_ptr())
            .i64((n / 4) as i64),
    );
    assert_eq!(a, want);
}

#[test]
fn attention_with_kv_store_matches_reference() {
    let Some(e) = Emu::get() else { return };
    let (n_head, n_kv, hd, n_ctx, pos0, tokens) = (4, 2, 32, 20, 11, 3);
    let row = n_kv * hd;
    let total = pos0 + tokens;
    let (k, v, q) = (
        floats(total * row, 12),
        floats(total * row, 13),
        floats(tokens * n_head * hd, 14),
    );
    let (mut kc, mut vc) = (vec![0f32; n_ctx * row], vec![0f32; n_ctx * row]);
    for (from, to, at) in [(0, pos0, 0), (pos0, total, pos0)] {
        let n = (to - from) * row;
        e.launch(
            "kv_store",
            launch::elementwise("kv_store", n).unwrap(),
            Args::default()
                .ptr(k[from * row..].as_ptr())
                .ptr(v[from * row..].as_ptr())
                .mut_ptr(kc.as_mut_ptr())
                .mut_ptr(vc.as_mut_ptr())
                .i64(n as i64)
                .i64((at * row) as i64),
        );
    }
    assert_eq!(&kc[..total * row], &k[..]);
    let scale = 1.0 / (hd as f32).sqrt();
    let mut out = vec![0f32; q.len()];
    e.launch(
        "attention",
        launch::attention(n_head, tokens, pos0 + tokens + hd).unwrap(),
        Args::default()
            .ptr(q.as_ptr())
            .ptr(kc.as_ptr())
            .ptr(vc.as_ptr())
            .mut_ptr(out.as_mut_ptr())
            .i32(n_head as i32)
            .i32(n_kv as i32)
            .i32(hd as i32)
            .i32(pos0 as i32)
            .f32(scale),
    );
    let mut want = vec![0f64; q.len()];
    for t in 0..tokens {
        for h in 0..n_head {
            let kvh = h / (n_head / n_kv);
            let keys = pos0 + t + 1;
            let qr = &q[(t * n_head + h) * hd..][..hd];
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
            let ex: Vec<f64> = sc.iter().map(|s| (s - m).exp()).collect();
            let z: f64 = ex.iter().sum();
            for d in 0..hd {
                want[(t * n_head + h) * hd + d] = (0..keys)
                    .map(|j| ex[j] * v[(j * n_kv + kvh) * hd + d] as f64)
                    .sum::<f64>()
                    / z;
            }
        }
    }
    assert_close(&out, &want, 1e-5, "attention");
}

/// The backend's three-launch quantize, on the emulator: packed bytes and
/// the first non-finite index (n when none).
fn emu_quantize(e: &Emu, format: Format, x: &[f32], rows: usize, cols: usize) -> (Vec<u8>, u64) {
    let n = rows * cols;
    let size = format.packed_size(rows, cols).unwrap();
    // Poisoned: the kernels must write every byte, trailer padding included.
    let mut out = vec![u128::from_ne_bytes([0xAA; 16]); size.div_ceil(16)];
    let outp = out.as_mut_ptr() as *mut u8;
    let shape = launch::stats_partial(n).unwrap();
    let parts = shape.blocks();
    let (mut psum, mut pmax, mut pmin, mut pbad) = (
        vec![0f64; parts],
        vec![0f32; parts],
        vec![0f32; parts],
        vec![0u64; parts],
    );
    let (mut gamma, mut status) = (vec![0f32; 1], vec![u64::MAX, 0]);
    e.launch(
        "abs_stats_partial",
        shape,
        Args::default()
            .ptr(x.as_ptr())
            .i64(n as i64)
            .mut_ptr(psum.as_mut_ptr())
            .mut_ptr(pmax.as_mut_ptr())
            .mut_ptr(pmin.as_mut_ptr())
            .mut_ptr(pbad.as_mut_ptr()),
    );
    // SAFETY: the trailer starts TENSOR_SCALE_BYTES before the end of `out`.
    let trailer = unsafe { outp.add(size - TENSOR_SCALE_BYTES) };
    e.launch(
        "abs_stats_final",
        launch::single("abs_stats_final").unwrap(),
        Args::default()
            .ptr(psum.as_ptr())
            .ptr(pmax.as_ptr())
            .ptr(pmin.as_ptr())
            .ptr(pbad.as_ptr())
            .i32(parts as i32)
            .i64(n as i64)
            .mut_ptr(gamma.as_mut_ptr())
            .mut_ptr(trailer)
            .mut_ptr(status.as_mut_ptr()),
    );
    let qk = match format {
        Format::I2S => "i2s_quantize",
        Format::TL1 => "tl1_quantize",
        _ => "tl2_quantize",
    };
    let items = launch::quant_items(format, rows, cols);
    let args = Args::default()
        .ptr(x.as_ptr())
        .mut_ptr(outp)
        .ptr(gamma.as_ptr());
    let args = if format == Format::TL2 {
        args.i32(rows as i32).i32(cols as i32)
    } else {
        args.i64(items as i64)
    };
    e.launch(qk, launch::per_weight_block(qk, items).unwrap(), args);
    // SAFETY: `out` holds `size` initialised bytes.
    let bytes = unsafe { std::slice::from_raw_parts(outp, size) }.to_vec();
    (bytes, status[0])
}

/// The backend's dequantize on the emulator: values and the status words.
fn emu_dequantize(
    e: &Emu,
    format: Format,
    packed: &[u8],
    rows: usize,
    cols: usize,
) -> (Vec<f32>, [u64; 2]) {
    let n = rows * cols;
    let mut store = vec![0u128; packed.len().div_ceil(16)];
    let p = store.as_mut_ptr() as *mut u8;
    // SAFETY: `store` holds at least packed.len() bytes.
    unsafe { std::ptr::copy_nonoverlapping(packed.as_ptr(), p, packed.len()) };
    let mut y = vec![0f32; n];
    let mut status = vec![u64::MAX, 0];
    let dk = match format {
        Format::I2S => "i2s_dequantize",
        Format::TL1 => "tl1_dequantize",
        _ => "tl2_dequantize",
    };
    let items = launch::quant_items(format, rows, cols);
    let args = Args::default().ptr(p as *const u8).mut_ptr(y.as_mut_ptr());
    let args = if format == Format::TL2 {
        args.i32(rows as i32).i32(cols as i32)
    } else {
        args.i64(items as i64)
    };
    e.launch(
        dk,
        launch::per_weight_block(dk, items).unwrap(),
        args.mut_ptr(status.as_mut_ptr()),
    );
    (y, [status[0], status[1]])
}

const QUANT_SHAPES: [(Format, usize, usize); 7] = [
    (Format::I2S, 3, 256),
    (Format::I2S, 1, 4096),
    (Format::TL1, 2, 384),
    (Format::TL2, 2, 96 * 3),
    (Format::TL2, 3, 96 * 2 + 64),
    (Format::TL2, 1, 96 + 32),
    (Format::TL2, 2, 64),
];

#[test]
fn quantize_writes_the_cpu_bytes_for_every_format() {
    let Some(e) = Emu::get() else { return };
    for (format, rows, cols) in QUANT_SHAPES {
        let x = floats(rows * cols, (rows * cols) as u64);
        let (got, bad) = emu_quantize(e, format, &x, rows, cols);
        assert_eq!(bad, (rows * cols) as u64, "{format}: spurious non-finite");
        let want = quantize_to_vec(format, &x, rows, cols).unwrap();
        assert_eq!(got, want, "{format} {rows}x{cols}");
        // Already-ternary input keeps its gamma exactly (lossless round trip).
        let g = 0.0371f32;
        let t: Vec<f32> = ternary(rows * cols, 4)
            .iter()
            .map(|&c| c as f32 * g)
            .collect();
        let (got, _) = emu_quantize(e, format, &t, rows, cols);
        assert_eq!(
            got,
            quantize_to_vec(format, &t, rows, cols).unwrap(),
            "{format} ternary"
        );
        let (back, status) = emu_dequantize(e, format, &got, rows, cols);
        assert_eq!(status, [u64::MAX, 0]);
        assert_eq!(back, t, "{format} ternary round trip");
    }
    // All zeros: gamma = MIN_GAMMA, as on the CPU.
    let z = vec![0f32; 256];
    assert_eq!(
        emu_quantize(e, Format::I2S, &z, 1, 256).0,
        quantize_to_vec(Format::I2S, &z, 1, 256).unwrap()
    );
}

#[test]
fn dequantize_matches_the_cpu_bit_for_bit_and_flags_bad_codes() {
    let Some(e) = Emu::get() else { return };
    for (format, rows, cols) in QUANT_SHAPES {
        let x = floats(rows * cols, 77);
        let packed = quantize_to_vec(format, &x, rows, cols).unwrap();
        let (got, status) = emu_dequantize(e, format, &packed, rows, cols);
        assert_eq!(status, [u64::MAX, 0]);
        let want = dequantize_to_vec(format, &packed, rows, cols).unwrap();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "{format} {rows}x{cols}");

        // Corrupt one code (all-ones byte: I2S code 3, TL1 index 15, TL2
        // magnitude 15 or a tail index 15): the same index as the CPU.
        let mut bad = packed.clone();
        let at = (bad.len() - TENSOR_SCALE_BYTES) / 2;
        bad[at] = 0xff;
        let (_, status) = emu_dequantize(e, format, &bad, rows, cols);
        let cpu = dequantize_to_vec(format, &bad, rows, cols).unwrap_err();
        assert_eq!(
            cpu.to_string(),
            QuantError::Corrupt {
                format: format.name(),
                reason: format!("invalid code for the weight at index {}", status[0]),
            }
            .to_string(),
            "{format} {rows}x{cols}"
        );
        // A non-finite scale is flagged.
        let mut nan = packed.clone();
        let t = nan.len() - TENSOR_SCALE_BYTES;
        nan[t..t + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(emu_dequantize(e, format, &nan, rows, cols).1[1], 1);
    }
}

#[test]
fn quantize_reports_the_first_non_finite_input() {
    let Some(e) = Emu::get() else { return };
    let mut x = floats(4096, 3);
    x[3000] = f32::INFINITY;
    x[1234] = f32::NAN;
    assert_eq!(emu_quantize(e, Format::I2S, &x, 1, 4096).1, 1234);
    assert!(matches!(
        quantize_to_vec(Format::I2S, &x, 1, 4096),
        Err(QuantError::NonFinite { index: 1234, .. })
    ));
}
