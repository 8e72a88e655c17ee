//! A plain f64 forward pass over dequantized weights: the test oracle of
//! [`super::forward`]. No KV cache (every call recomputes the whole
//! sequence), no kernels, no threads, one obvious loop per formula.
//!
//! With `quantize_activations` on, every matrix input is rounded to int8 per
//! token exactly as the kernels do (`s = 127 / max|x|`, `round(x * s)`
//! clamped to [-128, 127], then divided by `s`), so the optimised path must
//! agree to float rounding; with it off this is the unquantized graph that
//! llama.cpp runs on F16 weights.

use super::config::{
    Activation, LayerNorm, ModelConfig, Projection, OUTPUT, OUTPUT_NORM, TOKEN_EMBD,
};
use super::ModelError;
use crate::gguf::GgufFile;

struct Matrix {
    w: Vec<f64>,
    cols: usize,
}

impl Matrix {
    fn load(file: &GgufFile, name: &str) -> Result<Matrix, ModelError> {
        let view = file.tensor(name)?;
        let (_, cols) = view.info.rows_cols();
        let w = view.dequantize()?.into_iter().map(f64::from).collect();
        Ok(Matrix { w, cols })
    }

    fn apply(&self, x: &[f64]) -> Vec<f64> {
        self.w
            .chunks_exact(self.cols)
            .map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum())
            .collect()
    }
}

struct Proj {
    m: Matrix,
    scale: f64,
}

struct Layer {
    norms: [Vec<f64>; 4],
    proj: Vec<Proj>,
}

/// The dequantized model.
pub struct ReferenceModel {
    pub config: ModelConfig,
    embd: Matrix,
    output: Matrix,
    output_norm: Vec<f64>,
    layers: Vec<Layer>,
}

fn floats(file: &GgufFile, name: &str) -> Result<Vec<f64>, ModelError> {
    Ok(file
        .tensor(name)?
        .float_values()?
        .into_iter()
        .map(f64::from)
        .collect())
}

impl ReferenceModel {
    pub fn load(file: &GgufFile) -> Result<ReferenceModel, ModelError> {
        let config = ModelConfig::from_gguf(file)?;
        config.validate(file)?;
        let mut layers = Vec::new();
        for l in 0..config.n_layer {
            let norms = [
                floats(file, &LayerNorm::Attn.weight_name(l))?,
                floats(file, &LayerNorm::AttnSub.weight_name(l))?,
                floats(file, &LayerNorm::Ffn.weight_name(l))?,
                floats(file, &LayerNorm::FfnSub.weight_name(l))?,
            ];
            let mut proj = Vec::new();
            for p in Projection::ALL {
                let scale = match file.contains(&p.scale_name(l)) {
                    true => floats(file, &p.scale_name(l))?[0],
                    false => 1.0,
                };
                proj.push(Proj {
                    m: Matrix::load(file, &p.weight_name(l))?,
                    scale,
                });
            }
            layers.push(Layer { norms, proj });
        }
        let out_name = if file.contains(OUTPUT) {
            OUTPUT
        } else {
            TOKEN_EMBD
        };
        Ok(ReferenceModel {
            embd: Matrix::load(file, TOKEN_EMBD)?,
            output: Matrix::load(file, out_name)?,
            output_norm: floats(file, OUTPUT_NORM)?,
            layers,
            config,
        })
    }

    /// Logits of every position of `tokens` (`tokens.len()` rows of `vocab`).
    pub fn forward(&self, tokens: &[u32], quantize_activations: bool) -> Vec<Vec<f64>> {
        let c = &self.config;
        let (e, hd) = (c.n_embd, c.head_dim);
        let group = c.n_head / c.n_head_kv;
        let q8 = |x: &[f64]| -> Vec<f64> {
            if quantize_activations {
                fake_quant(x)
            } else {
                x.to_vec()
            }
        };
        let mut xs: Vec<Vec<f64>> = tokens
            .iter()
            .map(|&t| self.embd.w[t as usize * e..(t as usize + 1) * e].to_vec())
            .collect();
        for layer in &self.layers {
            let p = |i: usize, x: &[f64]| -> Vec<f64> {
                let pr = &layer.proj[i];
                pr.m.apply(&q8(x))
                    .into_iter()
                    .map(|v| v * pr.scale)
                    .collect()
            };
            let mut ks = Vec::new();
            let mut vs = Vec::new();
            let mut qs = Vec::new();
            for (pos, x) in xs.iter().enumerate() {
                let h = rms_norm(x, &layer.norms[0], c.rms_eps);
                let mut q = p(0, &h);
                let mut k = p(1, &h);
                rope(&mut q, hd, c.n_rot, pos, c.rope_theta);
                rope(&mut k, hd, c.n_rot, pos, c.rope_theta);
                qs.push(q);
                ks.push(k);
                vs.push(p(2, &h));
            }
            for (t, x) in xs.iter_mut().enumerate() {
                let mut a = vec![0f64; c.n_head * hd];
                for head in 0..c.n_head {
                    let g = head / group;
                    let q = &qs[t][head * hd..(head + 1) * hd];
                    let scores: Vec<f64> = (0..=t)
                        .map(|j| {
                            let k = &ks[j][g * hd..(g + 1) * hd];
                            q.iter().zip(k).map(|(a, b)| a * b).sum::<f64>() / (hd as f64).sqrt()
                        })
                        .collect();
                    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let ex: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                    let z: f64 = ex.iter().sum();
                    for (j, w) in ex.iter().enumerate() {
                        for d in 0..hd {
                            a[head * hd + d] += w / z * vs[j][g * hd + d];
                        }
                    }
                }
                let a = rms_norm(&a, &layer.norms[1], c.rms_eps);
                for (x, o) in x.iter_mut().zip(p(3, &a)) {
                    *x += o;
                }
                let h = rms_norm(x, &layer.norms[2], c.rms_eps);
                let gate = p(4, &h);
                let up = p(5, &h);
                let f: Vec<f64> = gate
                    .iter()
                    .zip(&up)
                    .map(|(&g, &u)| {
                        let a = match c.activation {
                            Activation::Silu => g / (1.0 + (-g).exp()),
                            Activation::ReluSqr => g.max(0.0).powi(2),
                        };
                        a * u
                    })
                    .collect();
                let f = rms_norm(&f, &layer.norms[3], c.rms_eps);
                for (x, d) in x.iter_mut().zip(p(6, &f)) {
                    *x += d;
                }
            }
        }
        xs.iter()
            .map(|x| {
                self.output
                    .apply(&rms_norm(x, &self.output_norm, c.rms_eps))
            })
            .collect()
    }
}

fn rms_norm(x: &[f64], w: &[f64], eps: f32) -> Vec<f64> {
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    let s = 1.0 / (ms + eps as f64).sqrt();
    x.iter().zip(w).map(|(v, w)| v * s * w).collect()
}

fn rope(x: &mut [f64], hd: usize, n_rot: usize, pos: usize, theta: f32) {
    let half = n_rot / 2;
    for head in x.chunks_exact_mut(hd) {
        for i in 0..half {
            let a = pos as f64 * (theta as f64).powf(-2.0 * i as f64 / n_rot as f64);
            let (x0, x1) = (head[i], head[i + half]);
            head[i] = x0 * a.cos() - x1 * a.sin();
            head[i + half] = x0 * a.sin() + x1 * a.cos();
        }
    }
}

/// Per-token absmax int8 round trip (the kernels' activation quantization).
fn fake_quant(x: &[f64]) -> Vec<f64> {
    let max = x.iter().fold(0f64, |m, v| m.max(v.abs()));
    if max == 0.0 {
        return x.to_vec();
    }
    let s = (127.0 / max as f32) as f64;
    x.iter()
        .map(|&v| ((v as f32 * s as f32).round().clamp(-128.0, 127.0) as f64) / s)
        .collect()
}
