//! Scalar reference of the lookup kernels: one table read per row and group.

use super::{record_code, Encoding, Lut, Span, RECORD_BYTES};
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

pub(super) fn build_tables(level: SimdLevel, lut: Lut, x: &[i8], groups: usize, out: &mut [u8]) {
    debug_assert_eq!(out.len(), groups * lut.table_bytes(level));
    let tb = lut.table_bytes(level);
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
    let tb = lut.table_bytes(SimdLevel::Scalar);
    let tr = lut.tile_rows();
    for (tile, o) in w
        .chunks_exact(lut.tile_bytes(span.stride))
        .zip(out.chunks_exact_mut(tr))
    {
        let tile = &tile[span.start * RECORD_BYTES..(span.start + span.len) * RECORD_BYTES];
        for (i, o) in o.iter_mut().enumerate() {
            *o = tile
                .chunks_exact(RECORD_BYTES)
                .zip(tables.chunks_exact(tb))
                .map(|(rec, t)| {
                    let c = record_code(lut, enc, rec, i) as usize;
                    i16::from_le_bytes([t[2 * c], t[2 * c + 1]]) as i32
                })
                .sum();
        }
    }
}
