//! Scalar reference of the lookup kernels: one table read per row and group.

use super::{Lut, TABLE_BYTES, TILE_ROWS};

pub(super) fn dots(lut: Lut, w: &[u8], groups: usize, tables: &[u8], out: &mut [i32]) {
    let rb = lut.record_bytes();
    for (tile, o) in w
        .chunks_exact(groups * rb)
        .zip(out.chunks_exact_mut(TILE_ROWS))
    {
        for (i, o) in o.iter_mut().enumerate() {
            let mut acc = 0i32;
            for (rec, t) in tile.chunks_exact(rb).zip(tables.chunks_exact(TABLE_BYTES)) {
                let nibble = ((rec[i % 32] >> (4 * (i / 32))) & 15) as usize;
                let v = i16::from_le_bytes([t[2 * nibble], t[2 * nibble + 1]]) as i32;
                let negative = lut == Lut::Triples && (rec[32 + i / 8] >> (i % 8)) & 1 == 1;
                acc += if negative { -v } else { v };
            }
            *o = acc;
        }
    }
}
