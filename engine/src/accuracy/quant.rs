//! Format checks: SIMD levels agree with scalar byte for byte, ternary input
//! survives a round trip exactly, and Gaussian weights get the codes an f64
//! reference quantizer gives (only exact rounding ties may differ).

use super::{bits, cosine, Check};
use crate::cpu::SimdLevel;
use crate::quant::{self, Format};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ROWS: usize = 64;
const COLS: usize = 4096;

/// `n` draws of N(0, sigma) (Box-Muller; the test data only needs to be
/// Gaussian-shaped and reproducible).
pub(super) fn gaussian(rng: &mut ChaCha8Rng, n: usize, sigma: f64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let u1: f64 = 1.0 - rng.gen::<f64>();
            let u2: f64 = rng.gen();
            (sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
        })
        .collect()
}

/// Codes of the f64 reference quantizer: absmean per tensor (clamped to
/// 1e-5) for I2S/TL1/TL2, absmax per 256-block for TQ1_0/TQ2_0 (ggml).
fn reference_codes(format: Format, w: &[f32]) -> Vec<i8> {
    let code = |x: f64, s: f64| {
        if s == 0.0 {
            0
        } else {
            (x / s).round().clamp(-1.0, 1.0) as i8
        }
    };
    if format.has_tensor_scale() {
        let gamma = (w.iter().map(|&x| (x as f64).abs()).sum::<f64>() / w.len() as f64).max(1e-5);
        w.iter().map(|&x| code(x as f64, gamma)).collect()
    } else {
        w.chunks(format.block_weights())
            .flat_map(|b| {
                let amax = b.iter().fold(0f64, |m, &x| m.max((x as f64).abs()));
                b.iter().map(move |&x| code(x as f64, amax))
            })
            .collect()
    }
}

/// How many positions of `a` and `b` hold different values.
pub(super) fn differing<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

pub fn checks(seed: u64) -> crate::Result<Vec<Check>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = ROWS * COLS;
    let w = gaussian(&mut rng, n, 0.02);
    let levels: Vec<String> = SimdLevel::supported()
        .iter()
        .map(|l| l.to_string())
        .collect();
    let mut out = Vec::new();
    for format in Format::ALL {
        let name = format.name();
        let size = format.packed_size(ROWS, COLS)?;

        // Every level against scalar, both directions.
        let mut scalar = vec![0u8; size];
        quant::quantize_with(SimdLevel::Scalar, format, &w, ROWS, COLS, &mut scalar)?;
        let mut scalar_f = vec![0f32; n];
        quant::dequantize_with(
            SimdLevel::Scalar,
            format,
            &scalar,
            ROWS,
            COLS,
            &mut scalar_f,
        )?;
        let (mut bytes_off, mut bits_off) = (0, 0);
        for level in SimdLevel::supported() {
            let mut packed = vec![0u8; size];
            quant::quantize_with(level, format, &w, ROWS, COLS, &mut packed)?;
            bytes_off += differing(&packed, &scalar);
            let mut f = vec![0f32; n];
            quant::dequantize_with(level, format, &scalar, ROWS, COLS, &mut f)?;
            bits_off += differing(&bits(&f), &bits(&scalar_f));
        }
        out.push(Check {
            name: format!("{name} quantize+dequantize: SIMD vs scalar"),
            metric: "bytes/bits differing from scalar".into(),
            value: (bytes_off + bits_off) as f64,
            op: "<=",
            limit: 0.0,
            detail: Some(format!(
                "{ROWS}x{COLS} Gaussian weights at {}",
                levels.join(", ")
            )),
        });

        // Codes against the f64 reference quantizer.
        let mut codes = vec![0i8; n];
        quant::unpack(format, &scalar, ROWS, COLS, &mut codes)?;
        let agree = 1.0 - differing(&codes, &reference_codes(format, &w)) as f64 / n as f64;
        out.push(Check {
            name: format!("{name} codes vs f64 reference quantizer"),
            metric: "agreement rate".into(),
            value: agree,
            op: ">=",
            limit: 0.9999,
            detail: Some(format!(
                "{n} Gaussian weights; only exact rounding ties may differ"
            )),
        });
        out.push(Check {
            name: format!("{name} dequantized Gaussian weights"),
            metric: "cosine vs input".into(),
            value: cosine(
                scalar_f.iter().map(|&x| x as f64),
                w.iter().map(|&x| x as f64),
            ),
            op: ">=",
            // Closed form for N(0,1), cosine = 2 phi(a) / sqrt(2 (1 - Phi(a)))
            // with a the rounding threshold: absmean ternary has a = 0.399
            // (0.887); absmax per 256-block has a ~ max|z| / 2 ~ 1.5 (0.709).
            limit: if format.has_tensor_scale() {
                0.88
            } else {
                0.69
            },
            detail: Some("ternary quantization error of the format's own scale rule".into()),
        });

        // Exact round trip of codes x scale (0.75 is exact in f16 too).
        let tern: Vec<f32> = (0..n)
            .map(|_| rng.gen_range(-1i8..=1) as f32 * 0.75)
            .collect();
        let packed = quant::quantize_to_vec(format, &tern, ROWS, COLS)?;
        let back = quant::dequantize_to_vec(format, &packed, ROWS, COLS)?;
        let err = back
            .iter()
            .zip(&tern)
            .fold(0f64, |m, (a, b)| m.max((a - b).abs() as f64));
        out.push(Check {
            name: format!("{name} round trip of ternary x 0.75"),
            metric: "max |dequantized - input|".into(),
            value: err,
            op: "<=",
            limit: 0.0,
            detail: None,
        });
    }
    Ok(out)
}
