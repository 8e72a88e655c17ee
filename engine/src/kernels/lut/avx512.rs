//! AVX-512 lookup kernel: `vpermw` reads 32 i16 table entries at once, one
//! per lane, with the lane's low 5 bits as the index and the rest ignored.
//!
//! ```text
//! TL1 record lane j (u16): [row 96+j | row 64+j | row 32+j | row j]
//! vpermw(lane >> 0,  T)  -> entries of rows j          (bits 0..3)
//! vpermw(lane >> 4,  T)  -> entries of rows 32 + j
//! ...
//! TL2: m, r = the record's two 32-byte halves widened to u16 lanes
//! vpermw(select(m,      r),      T) -> rows j       (mag bits 0..3, sign bit 4)
//! vpermw(select(m >> 4, r >> 1), T) -> rows 32 + j
//! vpermw(select(r,      r >> 2), T) -> rows 64 + j
//! ```
//!
//! TL1 codes are 4 bits, so bit 4 of the index is the next row's code bit:
//! its 16-entry table is broadcast to both halves of the 32-entry register,
//! which makes that bit harmless. TL2 indices are 5 bits (sign | magnitude)
//! into the full 32-entry table (positive sums, then negated); the signs of
//! the other rows land above bit 4. The TL2 trailer is not read: the table
//! holds the negated entries.
//! i16 partial sums are widened into the i32 output every
//! [`FLUSH_GROUPS`] groups; two tiles share each table load.

// Accumulators are indexed by (tile, row group) on purpose: the arrays are
// fully unrolled into registers.
#![allow(clippy::needless_range_loop)]

use super::{scalar, Lut, Span, FLUSH_GROUPS, PAIR_FLUSH_GROUPS, RECORD_BYTES};
use crate::cpu::SimdLevel;
use std::arch::x86_64::*;

/// # Safety
/// AVX-512 F/BW must be supported; `out.len() == groups * table_bytes`.
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn build_tables(lut: Lut, x: &[i8], groups: usize, out: &mut [u8]) {
    let xs = |i: usize| x.get(i).map_or(0, |&v| v as i16);
    // Per code: the weight multiplying each activation of the group.
    let coef = |j: usize| -> __m512i {
        let e: [i16; 32] = std::array::from_fn(|c| {
            let used = match lut {
                Lut::Pairs => c % 16 < 9,
                Lut::Triples => c % 16 < 14,
            };
            let code = if lut == Lut::Pairs { c % 16 } else { c };
            if used {
                lut.weights(code as u16)[j] as i16
            } else {
                0
            }
        });
        _mm512_loadu_si512(e.as_ptr().cast())
    };
    match lut {
        Lut::Pairs => {
            // 16 pairs per 32-byte activation load, two pairs per output
            // register (lanes 0..15 pair g, 16..31 pair g + 1): `vpermw`
            // spreads a pair's two bytes, offset to unsigned, to its 16
            // lanes, and one `vpmaddubsw` against each code's weight bytes
            // gives the entries plus the offset's share, 128 (w0 + w1).
            let wbytes: [i8; 64] = std::array::from_fn(|b| {
                let c = (b / 2) % 16;
                if c < 9 {
                    lut.weights(c as u16)[b % 2]
                } else {
                    0
                }
            });
            let share: [i16; 32] = std::array::from_fn(|l| {
                let w = lut.weights((l % 16) as u16);
                if l % 16 < 9 {
                    128 * (w[0] as i16 + w[1] as i16)
                } else {
                    0
                }
            });
            let wbytes = _mm512_loadu_si512(wbytes.as_ptr().cast());
            let share = _mm512_loadu_si512(share.as_ptr().cast());
            let second: [i16; 32] = std::array::from_fn(|l| (l >= 16) as i16);
            let second = _mm512_loadu_si512(second.as_ptr().cast());
            let flip = _mm512_set1_epi8(i8::MIN);
            let mut g = 0;
            while g + 16 <= groups {
                let Some(src) = x.get(2 * g..2 * g + 32) else {
                    break;
                };
                // SAFETY: `src` is 32 bytes.
                let xv = _mm512_castsi256_si512(_mm256_loadu_si256(src.as_ptr().cast()));
                let xv = _mm512_xor_si512(xv, flip);
                for i in 0..8 {
                    let idx = _mm512_add_epi16(second, _mm512_set1_epi16(2 * i as i16));
                    let p = _mm512_permutexvar_epi16(idx, xv);
                    let e = _mm512_sub_epi16(_mm512_maddubs_epi16(p, wbytes), share);
                    // SAFETY: groups g + 2i, g + 2i + 1 < groups; their 64
                    // bytes lie inside `out`.
                    _mm512_storeu_si512(out[(g + 2 * i) * 32..][..64].as_mut_ptr().cast(), e);
                }
                g += 16;
            }
            if g < groups {
                let rest = x.get(2 * g..).unwrap_or(&[]);
                scalar::build_tables(SimdLevel::Avx512, lut, rest, groups - g, &mut out[g * 32..]);
            }
        }
        Lut::Triples => {
            let (a, b, c) = (coef(0), coef(1), coef(2));
            for (g, t) in out.chunks_exact_mut(64).enumerate() {
                let x0 = _mm512_set1_epi16(xs(3 * g));
                let x1 = _mm512_set1_epi16(xs(3 * g + 1));
                let x2 = _mm512_set1_epi16(xs(3 * g + 2));
                let e = _mm512_add_epi16(
                    _mm512_add_epi16(_mm512_mullo_epi16(a, x0), _mm512_mullo_epi16(b, x1)),
                    _mm512_mullo_epi16(c, x2),
                );
                // SAFETY: `t` is 64 bytes.
                _mm512_storeu_si512(t.as_mut_ptr().cast(), e);
            }
        }
    }
}

/// # Safety
/// AVX-512 F/BW must be supported; `w` holds `out.len() / tile_rows` tiles
/// of `span.stride` records, the span lies inside them, and `tables` holds
/// `span.len` tables (checked by the caller).
pub(super) unsafe fn dots(lut: Lut, w: &[u8], span: Span, tables: &[u8], out: &mut [i32]) {
    out.fill(0);
    match lut {
        Lut::Pairs => run::<false>(w, span, tables, out),
        Lut::Triples => run::<true>(w, span, tables, out),
    }
}

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn run<const TRIPLES: bool>(w: &[u8], span: Span, tables: &[u8], out: &mut [i32]) {
    let tr = if TRIPLES { 96 } else { 128 };
    let tile_bytes = if TRIPLES { Lut::Triples } else { Lut::Pairs }.tile_bytes(span.stride);
    let groups = span.len;
    let tiles = out.len() / tr;
    let mut t = 0;
    while t < tiles {
        let n = if t + 2 <= tiles { 2 } else { 1 };
        let args = (
            w.as_ptr().add(t * tile_bytes + span.start * RECORD_BYTES),
            tile_bytes,
            groups,
            tables.as_ptr(),
            out.as_mut_ptr().add(t * tr),
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
    let (tr, codes) = if TRIPLES { (96, 3) } else { (128, 4) };
    let zero = _mm512_setzero_si512();
    let mut g0 = 0;
    while g0 < groups {
        let flush = if TRIPLES {
            FLUSH_GROUPS
        } else {
            PAIR_FLUSH_GROUPS
        };
        let g1 = (g0 + flush).min(groups);
        let mut acc = [[zero; 4]; N];
        for g in g0..g1 {
            // SAFETY (whole loop): g < groups and n < N tiles lie inside the
            // caller's weight and table slices.
            let tab = if TRIPLES {
                _mm512_loadu_si512(tables.add(g * 64).cast())
            } else {
                _mm512_broadcast_i64x4(_mm256_loadu_si256(tables.add(g * 32).cast()))
            };
            for n in 0..N {
                let rec = w.add(n * tile_bytes + g * RECORD_BYTES);
                let idx = if TRIPLES {
                    // Bytes to u16 lanes: m = (mag 32+j | mag j),
                    // r = (signs | mag 64+j); each index takes its
                    // magnitude's 4 bits and its sign as bit 4.
                    let m = _mm512_cvtepu8_epi16(_mm256_loadu_si256(rec.cast()));
                    let r = _mm512_cvtepu8_epi16(_mm256_loadu_si256(rec.add(32).cast()));
                    [
                        select_low4(m, r),
                        select_low4(_mm512_srli_epi16::<4>(m), _mm512_srli_epi16::<1>(r)),
                        select_low4(r, _mm512_srli_epi16::<2>(r)),
                        zero,
                    ]
                } else {
                    let u = _mm512_loadu_si512(rec.cast());
                    [
                        u,
                        _mm512_srli_epi16::<4>(u),
                        _mm512_srli_epi16::<8>(u),
                        _mm512_srli_epi16::<12>(u),
                    ]
                };
                for l in 0..codes {
                    let v = _mm512_permutexvar_epi16(idx[l], tab);
                    acc[n][l] = _mm512_add_epi16(acc[n][l], v);
                }
            }
        }
        for n in 0..N {
            for l in 0..codes {
                let a = acc[n][l];
                let halves = [
                    _mm512_cvtepi16_epi32(_mm512_castsi512_si256(a)),
                    _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64::<1>(a)),
                ];
                for (h, v) in halves.into_iter().enumerate() {
                    // SAFETY: rows n * tr + 32 l + 16 h .. + 16 lie in `out`.
                    let o = out.add(n * tr + 32 * l + 16 * h).cast();
                    _mm512_storeu_si512(o, _mm512_add_epi32(_mm512_loadu_si512(o), v));
                }
            }
        }
        g0 = g1;
    }
}

/// Bits 0..3 of `low`, the other bits of `high` (`vpternlogd`, bitwise
/// select: 0xE4 is `c ? a : b` for a = 0xF0, b = 0xCC, c = 0xAA).
#[inline(always)]
unsafe fn select_low4(low: __m512i, high: __m512i) -> __m512i {
    _mm512_ternarylogic_epi32::<0xE4>(low, high, _mm512_set1_epi16(0x0f))
}
