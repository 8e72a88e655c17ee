//! AVX2 lookup kernel. Without `vpermw`, each i16 entry takes two `pshufb`
//! lookups into 16-byte tables (low bytes, high bytes) indexed by the code
//! in the low byte of each u16 lane; the results are recombined per lane,
//! so rows stay in the natural lane order:
//!
//! ```text
//! c = (lane >> bits * l) & 15               row 32 l + j in lane j
//! v = (pshufb(lo, c) & 0xff) | pshufb(hi, c) << 8
//! TL2: v = psignw(v, 1 - 2 * sign)          (sign = bit 4 of the code)
//! ```

#![allow(clippy::needless_range_loop)]

use super::{Lut, FLUSH_GROUPS, RECORD_BYTES};
use std::arch::x86_64::*;

/// # Safety
/// AVX2 must be supported; `w` holds `out.len() / tile_rows` tiles of
/// `groups` records and `tables` `groups` tables (checked by the caller).
pub(super) unsafe fn dots(lut: Lut, w: &[u8], groups: usize, tables: &[u8], out: &mut [i32]) {
    out.fill(0);
    match lut {
        Lut::Pairs => run::<false>(w, groups, tables, out),
        Lut::Triples => run::<true>(w, groups, tables, out),
    }
}

#[target_feature(enable = "avx2")]
unsafe fn run<const TRIPLES: bool>(w: &[u8], groups: usize, tables: &[u8], out: &mut [i32]) {
    let tr = if TRIPLES { 96 } else { 128 };
    let tile_bytes = groups * RECORD_BYTES;
    for t in 0..out.len() / tr {
        tile::<TRIPLES>(
            w.as_ptr().add(t * tile_bytes),
            groups,
            tables.as_ptr(),
            out.as_mut_ptr().add(t * tr),
        );
    }
}

#[inline(always)]
unsafe fn tile<const TRIPLES: bool>(w: *const u8, groups: usize, tables: *const u8, out: *mut i32) {
    let (bits, codes) = if TRIPLES { (5, 3) } else { (4, 4) };
    let zero = _mm256_setzero_si256();
    let low4 = _mm256_set1_epi16(0x0f);
    let low8 = _mm256_set1_epi16(0xff);
    let ones = _mm256_set1_epi16(1);
    let mut g0 = 0;
    while g0 < groups {
        let g1 = (g0 + FLUSH_GROUPS).min(groups);
        // acc[h][l]: rows 32 l + 16 h .. + 16.
        let mut acc = [[zero; 4]; 2];
        for g in g0..g1 {
            // SAFETY (whole loop): g < groups lies inside the caller's
            // record and table slices.
            let tab = tables.add(g * 32);
            let tl = _mm256_broadcastsi128_si256(_mm_loadu_si128(tab.cast()));
            let th = _mm256_broadcastsi128_si256(_mm_loadu_si128(tab.add(16).cast()));
            for h in 0..2 {
                let lanes = _mm256_loadu_si256(w.add(g * RECORD_BYTES + 32 * h).cast());
                for l in 0..codes {
                    let c = _mm256_srl_epi16(lanes, _mm_cvtsi32_si128((bits * l) as i32));
                    let idx = _mm256_and_si256(c, low4);
                    let lo = _mm256_and_si256(_mm256_shuffle_epi8(tl, idx), low8);
                    let hi = _mm256_slli_epi16::<8>(_mm256_shuffle_epi8(th, idx));
                    let mut v = _mm256_or_si256(lo, hi);
                    if TRIPLES {
                        let sign =
                            _mm256_srli_epi16::<3>(_mm256_and_si256(c, _mm256_set1_epi16(16)));
                        v = _mm256_sign_epi16(v, _mm256_sub_epi16(ones, sign));
                    }
                    acc[h][l] = _mm256_add_epi16(acc[h][l], v);
                }
            }
        }
        for h in 0..2 {
            for l in 0..codes {
                let a = acc[h][l];
                let halves = [
                    _mm256_cvtepi16_epi32(_mm256_castsi256_si128(a)),
                    _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(a)),
                ];
                for (q, v) in halves.into_iter().enumerate() {
                    // SAFETY: rows 32 l + 16 h + 8 q .. + 8 lie in the tile.
                    let o = out.add(32 * l + 16 * h + 8 * q).cast();
                    _mm256_storeu_si256(o, _mm256_add_epi32(_mm256_loadu_si256(o), v));
                }
            }
        }
        g0 = g1;
    }
}
