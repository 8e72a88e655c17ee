//! Round trips, agreement with an f64 reference quantizer, pack/unpack and
//! conversions for every format.

mod common;

use engine::quant::{self, Format, QuantError, Scale};
use half::f16;

#[test]
fn ternary_times_scale_round_trips_exactly() {
    for format in Format::ALL {
        for (rows, cols) in common::shapes(format) {
            let n = rows * cols;
            let mut t = common::codes(n, 7 + n as u64);
            t[0] = 1; // every TQ block of interest has a non-zero
            let src: Vec<f32> = if format.has_tensor_scale() {
                t.iter().map(|&c| c as f32 * 0.0371).collect()
            } else {
                // Per-block scales that f16 holds exactly; block 1 stays all zero.
                let mut v: Vec<f32> = t
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| c as f32 * (0.25 + (i / 256) as f32 * 0.125))
                    .collect();
                if n > 256 {
                    v[256..512].fill(0.0);
                }
                v
            };
            let packed = quant::quantize_to_vec(format, &src, rows, cols).unwrap();
            let back = quant::dequantize_to_vec(format, &packed, rows, cols).unwrap();
            assert_eq!(back, src, "{format} {rows}x{cols}");
            let mut codes = vec![0i8; n];
            let scale = quant::unpack(format, &packed, rows, cols, &mut codes).unwrap();
            let expect: Vec<i8> = src
                .iter()
                .map(|v| v.signum() as i8 * (*v != 0.0) as i8)
                .collect();
            assert_eq!(codes, expect, "{format}");
            if let Scale::Tensor(g) = scale {
                assert_eq!(g, 0.0371);
            }
        }
    }
}

/// f64 reference: absmean gamma (no ternary shortcut: Gaussian input never
/// has one magnitude) and `clamp(round(w / gamma))` with exact arithmetic.
fn reference_absmean(src: &[f32]) -> (f64, Vec<i8>) {
    let gamma = (src.iter().map(|&w| (w as f64).abs()).sum::<f64>() / src.len() as f64).max(1e-5);
    let codes = src
        .iter()
        .map(|&w| (w as f64 / gamma).round().clamp(-1.0, 1.0) as i8)
        .collect();
    (gamma, codes)
}

/// f64 reference of ggml's absmax per 256-block.
fn reference_absmax(src: &[f32]) -> (Vec<f64>, Vec<i8>) {
    let mut ds = Vec::new();
    let mut codes = Vec::new();
    for b in src.chunks(256) {
        let d = b.iter().fold(0f64, |m, &w| m.max((w as f64).abs()));
        ds.push(d);
        codes.extend(b.iter().map(|&w| {
            if d == 0.0 {
                0
            } else {
                (w as f64 / d).round() as i8
            }
        }));
    }
    (ds, codes)
}

#[test]
fn gaussian_codes_agree_with_f64_reference() {
    let (rows, cols) = (64, 1536);
    let n = rows * cols;
    let src = common::gaussian(n, 0.02, 42);
    for format in Format::ALL {
        let packed = quant::quantize_to_vec(format, &src, rows, cols).unwrap();
        let mut codes = vec![0i8; n];
        let scale = quant::unpack(format, &packed, rows, cols, &mut codes).unwrap();
        let (ref_codes, tie_dist): (Vec<i8>, Box<dyn Fn(usize) -> f64>) = match &scale {
            Scale::Tensor(g) => {
                let (gamma, rc) = reference_absmean(&src);
                assert!(
                    ((*g as f64) - gamma).abs() <= gamma * 1e-6,
                    "{format}: {g} vs {gamma}"
                );
                let s = src.clone();
                (
                    rc,
                    Box::new(move |i| ((s[i] as f64).abs() / gamma - 0.5).abs()),
                )
            }
            Scale::PerBlock(ds) => {
                let (rd, rc) = reference_absmax(&src);
                for (d, r) in ds.iter().zip(&rd) {
                    assert_eq!(*d, f16::from_f64(*r).to_f32(), "{format}");
                }
                let s = src.clone();
                (
                    rc,
                    Box::new(move |i| ((s[i] as f64).abs() / rd[i / 256] - 0.5).abs()),
                )
            }
        };
        let mismatches: Vec<usize> = (0..n).filter(|&i| codes[i] != ref_codes[i]).collect();
        let rate = 1.0 - mismatches.len() as f64 / n as f64;
        println!(
            "{format}: {}/{} codes equal the f64 reference (agreement {:.6})",
            n - mismatches.len(),
            n,
            rate
        );
        for &i in &mismatches {
            assert!(
                tie_dist(i) < 1e-6,
                "{format}: weight {i} = {} differs from the reference away from a rounding tie",
                src[i]
            );
        }
        assert!(rate >= 0.9999, "{format}: agreement {rate}");
    }
}

#[test]
fn already_ternary_tensor_keeps_gamma_not_absmean() {
    // bitnet.cpp's converter output: codes * gamma with many zeros.
    let gamma = 0.0123f32;
    let src: Vec<f32> = common::codes(4 * 256, 3)
        .iter()
        .map(|&c| c as f32 * gamma)
        .collect();
    for format in [Format::I2S, Format::TL1, Format::TL2] {
        let packed = quant::quantize_to_vec(format, &src, 4, 256).unwrap();
        let mut codes = vec![0i8; src.len()];
        assert_eq!(
            quant::unpack(format, &packed, 4, 256, &mut codes).unwrap(),
            Scale::Tensor(gamma)
        );
    }
}

#[test]
fn pack_unpack_round_trip_and_reject_bad_input() {
    for format in Format::ALL {
        let (rows, cols) = (2, 4 * format.row_multiple());
        let n = rows * cols;
        let t = common::codes(n, 11);
        let scale = if format.has_tensor_scale() {
            Scale::Tensor(0.5)
        } else {
            Scale::PerBlock((0..n / 256).map(|b| 0.5 + b as f32).collect())
        };
        let mut packed = vec![0u8; format.packed_size(rows, cols).unwrap()];
        quant::pack(format, &t, &scale, rows, cols, &mut packed).unwrap();
        let mut back = vec![0i8; n];
        assert_eq!(
            quant::unpack(format, &packed, rows, cols, &mut back).unwrap(),
            scale
        );
        assert_eq!(back, t);

        let mut bad = t.clone();
        bad[5] = 2;
        assert!(matches!(
            quant::pack(format, &bad, &scale, rows, cols, &mut packed),
            Err(QuantError::BadCode {
                index: 5,
                code: 2,
                ..
            })
        ));
        let wrong = if format.has_tensor_scale() {
            Scale::PerBlock(vec![1.0])
        } else {
            Scale::Tensor(1.0)
        };
        assert!(matches!(
            quant::pack(format, &t, &wrong, rows, cols, &mut packed),
            Err(QuantError::Scale { .. })
        ));
        assert!(matches!(
            quant::unpack(format, &packed[1..], rows, cols, &mut back),
            Err(QuantError::BufferSize { .. })
        ));
    }
}

#[test]
fn conversions_among_tensor_formats_are_lossless() {
    for (rows, cols) in [(2, 384), (3, 1280)] {
        let src = common::gaussian(rows * cols, 1.0, 5);
        let i2s = quant::quantize_to_vec(Format::I2S, &src, rows, cols).unwrap();
        let tl1 = quant::convert(Format::I2S, Format::TL1, &i2s, rows, cols).unwrap();
        let tl2 = quant::convert(Format::TL1, Format::TL2, &tl1, rows, cols).unwrap();
        assert_eq!(
            tl1,
            quant::quantize_to_vec(Format::TL1, &src, rows, cols).unwrap()
        );
        assert_eq!(
            tl2,
            quant::quantize_to_vec(Format::TL2, &src, rows, cols).unwrap()
        );
        assert_eq!(
            quant::convert(Format::TL2, Format::I2S, &tl2, rows, cols).unwrap(),
            i2s
        );
        let v = quant::dequantize_to_vec(Format::I2S, &i2s, rows, cols).unwrap();
        assert_eq!(
            quant::dequantize_to_vec(Format::TL2, &tl2, rows, cols).unwrap(),
            v
        );
    }
}

#[test]
fn conversions_with_tq_formats() {
    let (rows, cols) = (2, 512);
    let src = common::gaussian(rows * cols, 1.0, 9);
    // TQ1_0 <-> TQ2_0 is lossless.
    let tq2 = quant::quantize_to_vec(Format::TQ2_0, &src, rows, cols).unwrap();
    let tq1 = quant::convert(Format::TQ2_0, Format::TQ1_0, &tq2, rows, cols).unwrap();
    assert_eq!(
        tq1,
        quant::quantize_to_vec(Format::TQ1_0, &src, rows, cols).unwrap()
    );
    assert_eq!(
        quant::convert(Format::TQ1_0, Format::TQ2_0, &tq1, rows, cols).unwrap(),
        tq2
    );
    // Gaussian blocks have different absmax: no per-tensor form.
    assert!(matches!(
        quant::convert(Format::TQ2_0, Format::I2S, &tq2, rows, cols),
        Err(QuantError::Unrepresentable { .. })
    ));
    // Tensor scale -> TQ equals ggml quantizing the dequantized tensor, and back.
    let mut ternary: Vec<f32> = common::codes(rows * cols, 4)
        .iter()
        .map(|&c| c as f32 * 0.75)
        .collect();
    ternary[256..512].fill(0.0);
    let i2s = quant::quantize_to_vec(Format::I2S, &ternary, rows, cols).unwrap();
    for tq in [Format::TQ1_0, Format::TQ2_0] {
        let via = quant::convert(Format::I2S, tq, &i2s, rows, cols).unwrap();
        assert_eq!(
            via,
            quant::quantize_to_vec(tq, &ternary, rows, cols).unwrap(),
            "{tq}"
        );
        assert_eq!(
            quant::convert(tq, Format::I2S, &via, rows, cols).unwrap(),
            i2s,
            "{tq}"
        );
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    for format in Format::ALL {
        let m = format.row_multiple();
        let name = format.name();
        let src = vec![0.5f32; 2 * m];
        let mut dst = vec![0u8; format.packed_size(1, 2 * m).unwrap()];
        assert_eq!(
            quant::quantize(format, &[], 0, m, &mut dst),
            Err(QuantError::Empty { format: name })
        );
        assert_eq!(
            quant::quantize(format, &src, 1, 0, &mut dst),
            Err(QuantError::Empty { format: name })
        );
        assert!(matches!(
            quant::quantize(format, &src[..m + 16], 1, m + 16, &mut dst),
            Err(QuantError::NotBlockMultiple { .. })
        ));
        assert!(matches!(
            quant::quantize(format, &src[1..], 1, 2 * m, &mut dst),
            Err(QuantError::BufferSize {
                what: "f32 input",
                ..
            })
        ));
        assert!(matches!(
            quant::quantize(format, &src, 1, 2 * m, &mut dst[1..]),
            Err(QuantError::BufferSize {
                what: "packed output",
                ..
            })
        ));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut s = src.clone();
            s[m + 3] = bad;
            match quant::quantize(format, &s, 1, 2 * m, &mut dst) {
                Err(QuantError::NonFinite { index, .. }) => assert_eq!(index, m + 3),
                other => panic!("{format}: {other:?}"),
            }
        }
        quant::quantize(format, &src, 1, 2 * m, &mut dst).unwrap();
        let mut out = vec![0f32; 2 * m];
        assert!(matches!(
            quant::dequantize(format, &dst, 1, 2 * m, &mut out[1..]),
            Err(QuantError::BufferSize {
                what: "f32 output",
                ..
            })
        ));
        let err = quant::quantize(format, &src, 1, 2 * m, &mut dst[1..]).unwrap_err();
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn corrupt_packed_data_is_rejected() {
    let cases: [(Format, usize, u8); 4] = [
        (Format::I2S, 3, 0xff),   // code 3
        (Format::TL1, 3, 0xf4),   // index 15
        (Format::TL2, 3, 0x0e),   // magnitude 14
        (Format::TQ2_0, 3, 0xff), // code 3
    ];
    for (format, at, byte) in cases {
        let cols = 4 * format.row_multiple().max(96);
        let src = common::gaussian(cols, 1.0, 1);
        let mut packed = quant::quantize_to_vec(format, &src, 1, cols).unwrap();
        packed[at] = byte;
        let mut out = vec![0f32; cols];
        let mut codes = vec![0i8; cols];
        assert!(
            matches!(
                quant::dequantize(format, &packed, 1, cols, &mut out),
                Err(QuantError::Corrupt { .. })
            ),
            "{format}"
        );
        assert!(
            matches!(
                quant::unpack(format, &packed, 1, cols, &mut codes),
                Err(QuantError::Corrupt { .. })
            ),
            "{format}"
        );
    }
    // Non-finite scales.
    let src = common::gaussian(256, 1.0, 2);
    for format in Format::ALL {
        let mut packed = quant::quantize_to_vec(format, &src, 1, 256).unwrap();
        let at = if format.has_tensor_scale() {
            packed.len() - 32
        } else {
            format.block_bytes() - 2
        };
        let nan: [u8; 4] = f32::NAN.to_le_bytes();
        packed[at..at + 2].copy_from_slice(&[0x00, 0x7c]); // f16 inf
        if format.has_tensor_scale() {
            packed[at..at + 4].copy_from_slice(&nan);
        }
        let mut out = vec![0f32; 256];
        assert!(
            matches!(
                quant::dequantize(format, &packed, 1, 256, &mut out),
                Err(QuantError::Corrupt { .. })
            ),
            "{format}"
        );
    }
}
