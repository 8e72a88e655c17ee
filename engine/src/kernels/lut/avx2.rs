//! AVX2 lookup kernel: `pshufb` looks up 32 rows at once in a 16-byte table,
//! so each i16 entry takes two lookups (low bytes, high bytes) that
//! `punpck{l,h}bw` zip back into i16 lanes. The zip works per 128-bit lane,
//! which permutes rows within a 32-row half (fixed, undone at the store):
//!
//! ```text
//! zip lo: i16 lanes 0..7 = rows 0..7,  lanes 8..15 = rows 16..23
//! zip hi: i16 lanes 0..7 = rows 8..15, lanes 8..15 = rows 24..31
//! ```
//!
//! TL2 signs become +-1 per i16 lane (same permutation) for `psignw`.

#![allow(clippy::needless_range_loop)]

use super::{Lut, FLUSH_GROUPS, TABLE_BYTES, TILE_ROWS};
use std::arch::x86_64::*;

/// # Safety
/// AVX2 must be supported; `w` holds `out.len() / 64` tiles of `groups`
/// records and `tables` `groups` tables (checked by the caller).
pub(super) unsafe fn dots(lut: Lut, w: &[u8], groups: usize, tables: &[u8], out: &mut [i32]) {
    match lut {
        Lut::Pairs => run::<false>(w, groups, tables, out),
        Lut::Triples => run::<true>(w, groups, tables, out),
    }
}

#[target_feature(enable = "avx2")]
unsafe fn run<const TRIPLES: bool>(w: &[u8], groups: usize, tables: &[u8], out: &mut [i32]) {
    let rb = if TRIPLES { 40 } else { 32 };
    let tile_bytes = groups * rb;
    for t in 0..out.len() / TILE_ROWS {
        tile::<TRIPLES>(
            w.as_ptr().add(t * tile_bytes),
            groups,
            tables.as_ptr(),
            out.as_mut_ptr().add(t * TILE_ROWS),
        );
    }
}

/// +-1 per i16 lane from 32 sign bits, in the zip order of `which` (0: lo).
#[inline(always)]
unsafe fn signs(bits: u32, which: usize) -> __m256i {
    let x = _mm256_set1_epi32(bits as i32);
    let z = -128i8; // pshufb: a set top bit selects zero
    let (b0, b1) = if which == 0 { (0, 2) } else { (1, 3) };
    let ctrl = _mm256_setr_epi8(
        b0, z, b0, z, b0, z, b0, z, b0, z, b0, z, b0, z, b0, z, //
        b1, z, b1, z, b1, z, b1, z, b1, z, b1, z, b1, z, b1, z,
    );
    let sel = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    let set = _mm256_cmpeq_epi16(_mm256_and_si256(_mm256_shuffle_epi8(x, ctrl), sel), sel);
    _mm256_or_si256(set, _mm256_set1_epi16(1))
}

#[inline(always)]
unsafe fn tile<const TRIPLES: bool>(w: *const u8, groups: usize, tables: *const u8, out: *mut i32) {
    let rb = if TRIPLES { 40 } else { 32 };
    let zero = _mm256_setzero_si256();
    let m0f = _mm256_set1_epi8(0x0f);
    // acc[h][j][half]: rows 32h + 16 half + 8j .. + 8.
    let mut acc = [[[zero; 2]; 2]; 2];
    let mut g0 = 0;
    while g0 < groups {
        let g1 = (g0 + FLUSH_GROUPS).min(groups);
        let mut acc16 = [[zero; 2]; 2];
        for g in g0..g1 {
            // SAFETY (whole loop): g < groups lies inside the caller's
            // record and table slices.
            let tab = tables.add(g * TABLE_BYTES);
            let tl = _mm256_broadcastsi128_si256(_mm_loadu_si128(tab.cast()));
            let th = _mm256_broadcastsi128_si256(_mm_loadu_si128(tab.add(16).cast()));
            let rec = w.add(g * rb);
            let v = _mm256_loadu_si256(rec.cast());
            let idx = [
                _mm256_and_si256(v, m0f),
                _mm256_and_si256(_mm256_srli_epi16::<4>(v), m0f),
            ];
            for h in 0..2 {
                let lo = _mm256_shuffle_epi8(tl, idx[h]);
                let hi = _mm256_shuffle_epi8(th, idx[h]);
                let mut z = [_mm256_unpacklo_epi8(lo, hi), _mm256_unpackhi_epi8(lo, hi)];
                if TRIPLES {
                    let bits = rec.add(32 + 4 * h).cast::<u32>().read_unaligned();
                    z[0] = _mm256_sign_epi16(z[0], signs(bits, 0));
                    z[1] = _mm256_sign_epi16(z[1], signs(bits, 1));
                }
                acc16[h][0] = _mm256_add_epi16(acc16[h][0], z[0]);
                acc16[h][1] = _mm256_add_epi16(acc16[h][1], z[1]);
            }
        }
        for h in 0..2 {
            for j in 0..2 {
                let a = acc16[h][j];
                let lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(a));
                let hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(a));
                acc[h][j][0] = _mm256_add_epi32(acc[h][j][0], lo);
                acc[h][j][1] = _mm256_add_epi32(acc[h][j][1], hi);
            }
        }
        g0 = g1;
    }
    for h in 0..2 {
        for j in 0..2 {
            for half in 0..2 {
                // SAFETY: out holds 64 rows from here.
                let o = out.add(32 * h + 16 * half + 8 * j);
                _mm256_storeu_si256(o.cast(), acc[h][j][half]);
            }
        }
    }
}
