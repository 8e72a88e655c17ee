//! AVX-512 lookup kernel: `vpermw` reads 32 i16 table entries at once, one
//! per row. The 32-byte table of a group is broadcast to both halves of a
//! zmm, so `vpermw`'s fifth index bit (the other row's low nibble bit) is
//! harmless and the low-nibble rows need no mask:
//!
//! ```text
//! record byte i -> u16 lane i = hi << 4 | lo
//! rows 0..31:  vpermw(u16,      table x 2)   (index bits 0..4, bit 4 ignored)
//! rows 32..63: vpermw(u16 >> 4, table x 2)
//! TL2 sign:    neg += v where sign bit set (mask straight from the record);
//!              dot = all - 2 * neg
//! ```
//!
//! i16 partial sums are widened to i32 every [`FLUSH_GROUPS`] groups; two
//! tiles (128 rows) share each table load.

// Register tiles are indexed by (tile, half) on purpose: the arrays are
// fully unrolled into registers.
#![allow(clippy::needless_range_loop)]

use super::{Lut, FLUSH_GROUPS, TABLE_BYTES, TILE_ROWS};
use std::arch::x86_64::*;

/// # Safety
/// AVX-512 F/BW must be supported; `w` holds `out.len() / 64` tiles of
/// `groups` records and `tables` `groups` tables (checked by the caller).
pub(super) unsafe fn dots(lut: Lut, w: &[u8], groups: usize, tables: &[u8], out: &mut [i32]) {
    match lut {
        Lut::Pairs => run::<false>(w, groups, tables, out),
        Lut::Triples => run::<true>(w, groups, tables, out),
    }
}

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn run<const TRIPLES: bool>(w: &[u8], groups: usize, tables: &[u8], out: &mut [i32]) {
    let rb = if TRIPLES { 40 } else { 32 };
    let tile_bytes = groups * rb;
    let tiles = out.len() / TILE_ROWS;
    let mut t = 0;
    while t < tiles {
        let n = if t + 2 <= tiles { 2 } else { 1 };
        let args = (
            w.as_ptr().add(t * tile_bytes),
            tile_bytes,
            groups,
            tables.as_ptr(),
            out.as_mut_ptr().add(t * TILE_ROWS),
        );
        if n == 2 {
            tiles_n::<2, TRIPLES>(args);
        } else {
            tiles_n::<1, TRIPLES>(args);
        }
        t += n;
    }
}

type Args = (*const u8, usize, usize, *const u8, *mut i32);

#[inline(always)]
unsafe fn tiles_n<const N: usize, const TRIPLES: bool>((w, tile_bytes, groups, tables, out): Args) {
    let rb = if TRIPLES { 40 } else { 32 };
    let zero = _mm512_setzero_si512();
    // Per tile: rows 0..15, 16..31, 32..47, 48..63.
    let mut acc = [[zero; 4]; N];
    let mut g0 = 0;
    while g0 < groups {
        let g1 = (g0 + FLUSH_GROUPS).min(groups);
        let mut all = [[zero; 2]; N];
        let mut neg = [[zero; 2]; N];
        for g in g0..g1 {
            // SAFETY (whole loop): g < groups and n < N tiles lie inside the
            // caller's weight and table slices.
            let tab =
                _mm512_broadcast_i64x4(_mm256_loadu_si256(tables.add(g * TABLE_BYTES).cast()));
            for n in 0..N {
                let rec = w.add(n * tile_bytes + g * rb);
                let u = _mm512_cvtepu8_epi16(_mm256_loadu_si256(rec.cast()));
                let va = _mm512_permutexvar_epi16(u, tab);
                let vb = _mm512_permutexvar_epi16(_mm512_srli_epi16::<4>(u), tab);
                all[n][0] = _mm512_add_epi16(all[n][0], va);
                all[n][1] = _mm512_add_epi16(all[n][1], vb);
                if TRIPLES {
                    let ka = rec.add(32).cast::<u32>().read_unaligned();
                    let kb = rec.add(36).cast::<u32>().read_unaligned();
                    neg[n][0] = _mm512_mask_add_epi16(neg[n][0], ka, neg[n][0], va);
                    neg[n][1] = _mm512_mask_add_epi16(neg[n][1], kb, neg[n][1], vb);
                }
            }
        }
        for n in 0..N {
            for h in 0..2 {
                // The true sum fits i16 (see FLUSH_GROUPS), so the wrapping
                // i16 arithmetic of all - 2 * neg is exact.
                let d = if TRIPLES {
                    _mm512_sub_epi16(all[n][h], _mm512_add_epi16(neg[n][h], neg[n][h]))
                } else {
                    all[n][h]
                };
                let lo = _mm512_cvtepi16_epi32(_mm512_castsi512_si256(d));
                let hi = _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64::<1>(d));
                acc[n][2 * h] = _mm512_add_epi32(acc[n][2 * h], lo);
                acc[n][2 * h + 1] = _mm512_add_epi32(acc[n][2 * h + 1], hi);
            }
        }
        g0 = g1;
    }
    for n in 0..N {
        for j in 0..4 {
            // SAFETY: out holds N whole tiles of 64 rows from here.
            _mm512_storeu_si512(out.add(n * TILE_ROWS + 16 * j).cast(), acc[n][j]);
        }
    }
}
