//! Scalar reference of the lookup kernels: one table read per row and group.

use super::{record_code, Encoding, Lut, Span, QUAD_CODES, RECORD_BYTES};
use crate::cpu::SimdLevel;

/// Table entries of one group, in code order (see the module docs).
pub(super) fn entries(lut: Lut, x: &[i8], g: usize) -> [i16; 32] {
    let xs = |j: usize| x.get(g * lut.width() + j).map_or(0, |&v| v as i16);
    let mut e = [0i16; 32];
    for (code, v) in e.iter_mut().enumerate().take(lut.used_codes()) {
        let w = lut.weights(code as u16);
        *v = (0..lut.width()).map(|j| w[j] as i16 * xs(j)).sum();
    }
    if lut == Lut::Triples {
        for m in 0..16 {
            e[16 + m] = -e[m];
        }
    }
    e
}

pub(super) fn build_tables(
    level: SimdLevel,
    lut: Lut,
    enc: Encoding,
    x: &[i8],
    groups: usize,
    out: &mut [u8],
) {
    debug_assert_eq!(out.len(), groups * lut.table_bytes(level, enc));
    let tb = lut.table_bytes(level, enc);
    if enc.read_at(lut, level) == Encoding::Quads {
        // 128 low bytes, then 128 high bytes, of the entries of joint
        // codes c0 + 9 c1 (0 past the 81 used).
        for (q, t) in out.chunks_exact_mut(2 * tb).enumerate() {
            let (e0, e1) = (entries(lut, x, 2 * q), entries(lut, x, 2 * q + 1));
            t.fill(0);
            for code in 0..QUAD_CODES {
                let e = e0[code % 9] + e1[code / 9];
                let (lo, hi) = match code {
                    0..64 => (code, 64 + code),
                    _ => (64 + code, 96 + code),
                };
                [t[lo], t[hi]] = e.to_le_bytes();
            }
        }
        return;
    }
    for (g, t) in out.chunks_exact_mut(tb).enumerate() {
        let e = entries(lut, x, g);
        if level == SimdLevel::Avx2 {
            // 16 low bytes, then 16 high bytes (TL2: positive half only).
            for j in 0..16 {
                let [lo, hi] = e[j].to_le_bytes();
                t[j] = lo;
                t[16 + j] = hi;
            }
        } else {
            for (j, pair) in t.chunks_exact_mut(2).enumerate() {
                pair.copy_from_slice(&e[j].to_le_bytes());
            }
        }
    }
}

pub(super) fn dots(lut: Lut, enc: Encoding, w: &[u8], span: Span, tables: &[u8], out: &mut [i32]) {
    let tb = lut.table_bytes(SimdLevel::Scalar, enc);
    let tr = lut.tile_rows();
    debug_assert_ne!(enc, Encoding::Quads, "scalar reads TL1 split records");
    for (tile, o) in w
        .chunks_exact(lut.tile_bytes(span.stride))
        .zip(out.chunks_exact_mut(tr))
    {
        let records = &tile[..span.stride * RECORD_BYTES];
        for (i, o) in o.iter_mut().enumerate() {
            *o = tables
                .chunks_exact(tb)
                .enumerate()
                .map(|(j, t)| {
                    let c = record_code(lut, enc, records, span.start + j, i) as usize;
                    i16::from_le_bytes([t[2 * c], t[2 * c + 1]]) as i32
                })
                .sum();
        }
    }
}
