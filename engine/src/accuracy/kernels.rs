//! Kernel checks: GEMV and GEMM of every ternary format at every SIMD level
//! and thread count give the scalar single-thread bits, and the scalar result
//! is within 1e-5 (relative) of the f64 product of dequantized weights and
//! dequantized int8 activations.

use super::quant::{differing, gaussian};
use super::{bits, Check};
use crate::cpu::SimdLevel;
use crate::kernels::{gemm_with, gemv_with, quantize_activations, Parallelism, TernaryMatrix};
use crate::quant::{Format, Scale};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ROWS: usize = 96;
const TOKENS: usize = 5;
const THREADS: [usize; 3] = [1, 2, 3];

pub fn checks(seed: u64) -> crate::Result<Vec<Check>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6b65726e);
    let mut out = Vec::new();
    for format in Format::ALL {
        // 2560 is a multiple of every row multiple except TL2's, which takes
        // its nearest multiple (and so exercises its TL1 tail).
        let cols = 2560usize.div_ceil(format.row_multiple()) * format.row_multiple();
        let codes: Vec<i8> = (0..ROWS * cols).map(|_| rng.gen_range(-1i8..=1)).collect();
        let scale = if format.has_tensor_scale() {
            Scale::Tensor(0.0123)
        } else {
            let blocks = ROWS * cols / format.block_weights();
            Scale::PerBlock((0..blocks).map(|_| rng.gen_range(0.001f32..0.05)).collect())
        };
        let w = TernaryMatrix::from_codes(format, &codes, scale.clone(), ROWS, cols)?;
        let x = gaussian(&mut rng, TOKENS * cols, 1.0);
        let q = quantize_activations(&x, TOKENS, cols)?;

        let mut expected = vec![0f32; TOKENS * ROWS];
        gemm_with(
            SimdLevel::Scalar,
            &w,
            &q,
            &mut expected,
            Parallelism::single(),
        )?;
        let q1 = quantize_activations(&x[..cols], 1, cols)?;
        let mut expected_v = vec![0f32; ROWS];
        gemv_with(
            SimdLevel::Scalar,
            &w,
            &q1,
            &mut expected_v,
            Parallelism::single(),
        )?;

        let mut off = 0usize;
        let mut paths = 0usize;
        for level in SimdLevel::supported() {
            for t in THREADS {
                let par = Parallelism::threads(t);
                let mut got = vec![f32::NAN; TOKENS * ROWS];
                gemm_with(level, &w, &q, &mut got, par)?;
                off += differing(&bits(&got), &bits(&expected));
                let mut got = vec![f32::NAN; ROWS];
                gemv_with(level, &w, &q1, &mut got, par)?;
                off += differing(&bits(&got), &bits(&expected_v));
                paths += 2;
            }
        }
        out.push(Check {
            name: format!("{format} GEMV/GEMM: every path vs scalar"),
            metric: "outputs differing in any bit".into(),
            value: off as f64,
            op: "<=",
            limit: 0.0,
            detail: Some(format!(
                "{paths} runs ({} levels x {:?} threads, GEMV and GEMM {TOKENS}x{ROWS}x{cols})",
                SimdLevel::supported().len(),
                THREADS
            )),
        });

        // f64 reference: sum_k code * scale * (xq / s), relative to the sum
        // of |terms| so cancellation cannot inflate the error.
        let mut worst = 0f64;
        for t in 0..TOKENS {
            let s = q.scales()[t] as f64;
            let xq = q.token(t);
            for r in 0..ROWS {
                let (mut v, mut norm) = (0f64, 0f64);
                for k in 0..cols {
                    let sc = match &scale {
                        Scale::Tensor(g) => *g as f64,
                        Scale::PerBlock(d) => d[(r * cols + k) / format.block_weights()] as f64,
                    };
                    let term = codes[r * cols + k] as f64 * sc * (xq[k] as f64 / s);
                    v += term;
                    norm += term.abs();
                }
                let err = (expected[t * ROWS + r] as f64 - v).abs();
                if err > 0.0 {
                    worst = worst.max(err / v.abs().max(1e-7 * norm));
                }
            }
        }
        out.push(Check {
            name: format!("{format} GEMM vs f64 dense reference"),
            metric: "max relative error".into(),
            value: worst,
            op: "<=",
            limit: 1e-5,
            detail: Some("dequantized weights x dequantized int8 activations in f64".into()),
        });
    }
    Ok(out)
}
