//! The element-wise and per-row operations of the BitNet graph, each written
//! to match llama.cpp's CPU op of the same name (the cross-validation peer).
//!
//! All work on token-major buffers: `x[t * width + i]`.

use super::config::Activation;

/// RMSNorm of every `width`-wide row, times `weight` (ggml `rms_norm` then
/// `mul`): `y = x / sqrt(mean(x^2) + eps) * w`. The sum of squares is taken
/// in f64, as ggml does (`ggml_float`).
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let width = weight.len();
    for (row, o) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        let ss: f64 = row.iter().map(|&v| (v as f64) * (v as f64)).sum();
        let scale = (1.0 / (ss / width as f64 + eps as f64).sqrt()) as f32;
        for ((o, &v), &w) in o.iter_mut().zip(row).zip(weight) {
            *o = v * scale * w;
        }
    }
}

/// Rotation angles of NEOX RoPE for one position: `cos`/`sin` of
/// `pos * theta^(-2i / n_rot)` for `i in 0..n_rot/2`.
pub fn rope_angles(pos: usize, n_rot: usize, theta: f32, cos: &mut [f32], sin: &mut [f32]) {
    let half = n_rot / 2;
    for i in 0..half {
        let freq = (theta as f64).powf(-2.0 * i as f64 / n_rot as f64);
        let a = pos as f64 * freq;
        cos[i] = a.cos() as f32;
        sin[i] = a.sin() as f32;
    }
}

/// NEOX RoPE on one head: dimension `i` is rotated with `i + n_rot/2`
/// (llama.cpp `LLAMA_ROPE_TYPE_NEOX`, the rope type of `bitnet` and of
/// bitnet.cpp's `bitnet-b1.58`):
///
/// ```text
/// head: [ x0 x1 .. x(h-1) | x(h) .. x(2h-1) | unrotated tail ]   h = n_rot/2
///         pair (x_i, x_{i+h}) -> (x_i cos - x_{i+h} sin, x_i sin + x_{i+h} cos)
/// ```
pub fn rope_neox(head: &mut [f32], cos: &[f32], sin: &[f32]) {
    let half = cos.len();
    let (a, b) = head.split_at_mut(half);
    for i in 0..half {
        let (x0, x1) = (a[i], b[i]);
        a[i] = x0 * cos[i] - x1 * sin[i];
        b[i] = x0 * sin[i] + x1 * cos[i];
    }
}

/// `gate <- act(gate) * up`: llama.cpp's parallel gated FFN (`LLM_FFN_PAR`).
pub fn gated_activation(act: Activation, gate: &mut [f32], up: &[f32]) {
    match act {
        Activation::Silu => {
            for (g, &u) in gate.iter_mut().zip(up) {
                *g = *g / (1.0 + (-*g).exp()) * u;
            }
        }
        Activation::ReluSqr => {
            for (g, &u) in gate.iter_mut().zip(up) {
                let r = g.max(0.0);
                *g = r * r * u;
            }
        }
    }
}

/// In-place softmax (max subtracted first).
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f64;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v as f64;
    }
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// `a . b` with eight independent f32 accumulators, so the compiler can keep
/// them in vector registers.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_norm_matches_the_definition() {
        let x = [1.0f32, -2.0, 3.0, 0.5, 4.0, 0.0, 0.0, 0.0];
        let w = [1.0f32, 2.0, 0.5, 1.0];
        let mut out = [0f32; 8];
        rms_norm(&x, &w, 1e-5, &mut out);
        let rms = ((1.0 + 4.0 + 9.0 + 0.25) / 4.0 + 1e-5f64).sqrt();
        for i in 0..4 {
            let want = x[i] as f64 / rms * w[i] as f64;
            assert!((out[i] as f64 - want).abs() < 1e-6, "{i}");
        }
        // Row 2: one value 4, rest 0 -> 4 / sqrt(4 + eps).
        assert!((out[4] - 4.0 / (4.0f32 + 1e-5).sqrt()).abs() < 1e-6);
    }

    #[test]
    fn rope_neox_rotates_split_pairs_and_keeps_norms() {
        let n_rot = 8;
        let (mut c, mut s) = ([0f32; 4], [0f32; 4]);
        rope_angles(0, n_rot, 10000.0, &mut c, &mut s);
        let mut h: Vec<f32> = (0..8).map(|i| i as f32).collect();
        let orig = h.clone();
        rope_neox(&mut h, &c, &s);
        assert_eq!(h, orig, "position 0 is the identity");
        rope_angles(3, n_rot, 10000.0, &mut c, &mut s);
        rope_neox(&mut h, &c, &s);
        // Pair 0 is (x0, x4) rotated by 3 radians (frequency 1).
        let (c3, s3) = (3f32.cos(), 3f32.sin());
        assert!((h[0] - (0.0 * c3 - 4.0 * s3)).abs() < 1e-5);
        assert!((h[4] - (0.0 * s3 + 4.0 * c3)).abs() < 1e-5);
        for i in 0..4 {
            let before = orig[i].powi(2) + orig[i + 4].powi(2);
            let after = h[i].powi(2) + h[i + 4].powi(2);
            assert!((before - after).abs() < 1e-3, "pair {i}");
        }
        // Frequency of pair i is theta^(-2i/n_rot): pair 2 -> 10000^-0.5.
        assert!((c[2] - (3.0f64 * 0.01).cos() as f32).abs() < 1e-6);
    }

    #[test]
    fn activations_and_softmax() {
        let mut g = [-1.0f32, 0.0, 2.0];
        gated_activation(Activation::ReluSqr, &mut g, &[3.0, 3.0, 0.5]);
        assert_eq!(g, [0.0, 0.0, 2.0]);
        let mut g = [2.0f32];
        gated_activation(Activation::Silu, &mut g, &[1.5]);
        assert!((g[0] - 2.0 / (1.0 + (-2f32).exp()) * 1.5).abs() < 1e-6);
        let mut p = [1.0f32, 2.0, 3.0];
        softmax(&mut p);
        let e: Vec<f32> = [1f32, 2., 3.].iter().map(|v| (v - 3.0).exp()).collect();
        let z: f32 = e.iter().sum();
        for i in 0..3 {
            assert!((p[i] - e[i] / z).abs() < 1e-6);
        }
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - want).abs() < 1e-4);
    }
}
