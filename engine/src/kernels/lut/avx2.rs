//! AVX2 lookup kernels. Without `vpermw`, each i16 entry takes two `pshufb`
//! lookups into 16-byte tables (low bytes, high bytes) and the halves are
//! joined back into i16 with `vpunpck{l,h}bw`. Both formats look up 32
//! indices per `pshufb`, one per byte:
//!
//! ```text
//! TL1: codes are nibbles, two to a byte: idx = bytes & 15, bytes >> 4 & 15
//! TL2: magnitudes are nibbles too: idx = m & 15, m >> 4 & 15, r;
//!      the sign flips the entry's bytes before the join (see [`triples`])
//! ```
//!
//! See [`pairs`] and [`triples`] for where each i16 lands.

#![allow(clippy::needless_range_loop)]

use super::{
    tile_negatives, triple_sign_bit, Lut, Span, FLUSH_GROUPS, PAIR_FLUSH_GROUPS, RECORD_BYTES,
    WINDOW_GROUPS,
};
use std::arch::x86_64::*;

/// One token's tables in the AVX2 encoding (see the module docs of
/// [`super`]): entry `e` of group `g` is `sum_j weight_j(e) * x[width g + j]`
/// for the positive codes, as 16 i16 lanes, then split into 16 low and 16
/// high bytes ([`low_high`]).
///
/// # Safety
/// AVX2 must be supported and `out.len() == groups * 32`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn build_tables(lut: Lut, x: &[i8], groups: usize, out: &mut [u8]) {
    debug_assert_eq!(out.len(), groups * 32);
    match lut {
        Lut::Pairs => pair_tables(x, groups, out),
        Lut::Triples => triple_tables(x, groups, out),
    }
}

/// Weight `j` of each of the 16 entries (0 past the format's codes).
fn entry_weights(lut: Lut, j: usize) -> [i8; 16] {
    std::array::from_fn(|c| {
        if c < lut.used_codes() {
            lut.weights(c as u16)[j]
        } else {
            0
        }
    })
}

/// 16 i16 entries -> their 16 low bytes, then their 16 high bytes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn low_high(e: __m256i) -> __m256i {
    // Per 128-bit lane: the 8 low bytes, then the 8 high bytes.
    let split = _mm256_setr_epi8(
        0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5,
        7, 9, 11, 13, 15,
    );
    // Quadwords (lo 0..8, hi 0..8, lo 8..16, hi 8..16) -> (lo, lo, hi, hi).
    _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_shuffle_epi8(e, split))
}

/// The 8 TL1 codes with a nonzero entry, in the order of a 128-bit lane's
/// i16 entries in [`pair_tables`] (the ninth code, weights (0, 0), is the
/// zero that its split shuffle inserts).
fn pair_lane_codes() -> [u16; 8] {
    let mut codes = (0..9u16).filter(|&c| Lut::Pairs.weights(c) != [0; 3]);
    std::array::from_fn(|_| codes.next().expect("8 nonzero TL1 codes"))
}

/// `vpmaddubsw` weights: byte `2i` is `p[i]`, byte `2i + 1` is `q[i]`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn interleave(p: [i8; 16], q: [i8; 16]) -> __m256i {
    let v: [i8; 32] = std::array::from_fn(|i| if i % 2 == 0 { p[i / 2] } else { q[i / 2] });
    // SAFETY: `v` is 32 bytes.
    _mm256_loadu_si256(v.as_ptr().cast())
}

/// TL1: one `vpmaddubsw` per group on the pair broadcast to every i16
/// lane, offset to unsigned (`x + 128`, so -128 is exact too) against the
/// signed weights, less the offset's share:
///
/// ```text
/// bytes of lane c:   (x0 + 128, x1 + 128)  x  (a_c, b_c)
/// entry c = a_c (x0 + 128) + b_c (x1 + 128) - 128 (a_c + b_c)
/// ```
///
/// (at most 2 * 255 in magnitude: no saturation). Both 128-bit lanes hold
/// the 8 nonzero entries ([`pair_lane_codes`]), so one in-lane `vpshufb`
/// writes the low bytes in code order into lane 0 and the high bytes into
/// lane 1, with a zero byte at the (0, 0) code and past code 8: the table
/// as stored, no lane-crossing permute.
///
/// ```text
/// i16 lanes, both halves: e(0) e(1) e(2) e(3) e(5) e(6) e(7) e(8)
/// stored, lane 0:  L(0) L(1) L(2) L(3) 0 L(5) L(6) L(7) L(8) 0 0 0 0 0 0 0
///         lane 1:  H(0) H(1) H(2) H(3) 0 H(5) H(6) H(7) H(8) 0 0 0 0 0 0 0
/// ```
///
/// Best of 3000 builds against the previous code (two `vpsignw` per group
/// on values read one by one through bounds checks and general
/// registers): 1.33 against 1.75 us per token at k = 2560, 3.45 against
/// 4.65 at k = 6912. Then 16 groups per 32-byte load, each pair spread to
/// every lane by one `vpshufb` instead of a general register and
/// `vpbroadcastw`: 1.17-1.28 against 1.35 us (2.0 in the host's slow
/// phases, where the new code stayed at 1.28) at k = 2560, 3.15-3.47
/// against 3.57 at 6912, alternating builds. Then the lane layout above
/// instead of 16 entries split by a `vpshufb` and a `vpermq`: best of 3000
/// builds each, both alternating in one process, 0.76 against 1.08 us at
/// k = 2560, 2.00 against 2.91 at 6912.
#[target_feature(enable = "avx2")]
unsafe fn pair_tables(x: &[i8], groups: usize, out: &mut [u8]) {
    let codes = pair_lane_codes();
    let (a, b) = (
        codes.map(|c| Lut::Pairs.weights(c)[0]),
        codes.map(|c| Lut::Pairs.weights(c)[1]),
    );
    let both_lanes = |v: [i8; 8]| -> [i8; 16] { std::array::from_fn(|i| v[i % 8]) };
    let w = interleave(both_lanes(a), both_lanes(b));
    let offset: [i16; 16] = std::array::from_fn(|i| 128 * (a[i % 8] as i16 + b[i % 8] as i16));
    // Output byte i of lane 0 (1): the low (high) byte of code i's entry.
    let split: [i8; 32] = std::array::from_fn(|i| {
        let code = (i % 16) as u16;
        match codes.iter().position(|&c| c == code) {
            Some(k) => (2 * k + i / 16) as i8,
            None => i8::MIN,
        }
    });
    // SAFETY: both arrays are 32 bytes.
    let offset = _mm256_loadu_si256(offset.as_ptr().cast());
    let split = _mm256_loadu_si256(split.as_ptr().cast());
    let flip = _mm256_set1_epi8(i8::MIN);
    // `u`: the pair, offset to unsigned, in every i16 lane.
    let table = |u: __m256i| {
        _mm256_shuffle_epi8(_mm256_sub_epi16(_mm256_maddubs_epi16(u, w), offset), split)
    };
    // Pair j of a 128-bit lane to every i16 lane.
    let spread: [__m256i; 8] =
        std::array::from_fn(|j| _mm256_set1_epi16((((2 * j + 1) << 8) | (2 * j)) as i16));
    let whole = groups.min(x.len() / 2);
    let blocked = whole / 16 * 16;
    for g0 in (0..blocked).step_by(16) {
        // SAFETY: 2 g0 + 32 <= 2 whole <= x.len().
        let u = _mm256_xor_si256(_mm256_loadu_si256(x.as_ptr().add(2 * g0).cast()), flip);
        let halves = [
            _mm256_permute2x128_si256::<0x00>(u, u),
            _mm256_permute2x128_si256::<0x11>(u, u),
        ];
        for (i, half) in halves.into_iter().enumerate() {
            for (j, s) in spread.iter().enumerate() {
                let t = table(_mm256_shuffle_epi8(half, *s));
                // SAFETY: group g0 + 8 i + j < blocked <= groups, and `out`
                // holds 32 bytes per group.
                _mm256_storeu_si256(out.as_mut_ptr().add(32 * (g0 + 8 * i + j)).cast(), t);
            }
        }
    }
    for (g, t) in out.chunks_exact_mut(32).enumerate().skip(blocked) {
        let pair = if g < whole {
            // SAFETY: 2 g + 1 < x.len() for g < whole.
            std::ptr::read_unaligned(x.as_ptr().add(2 * g).cast::<i16>())
        } else {
            let at = |i: usize| x.get(i).map_or(0, |&v| v as u8);
            i16::from_le_bytes([at(2 * g), at(2 * g + 1)])
        };
        let u = _mm256_xor_si256(_mm256_set1_epi16(pair), flip);
        // SAFETY: `t` is 32 bytes.
        _mm256_storeu_si256(t.as_mut_ptr().cast(), table(u));
    }
}

/// TL2, as TL1 ([`pair_tables`]) with a second `vpmaddubsw` for the third
/// weight: the group's three activations, offset to unsigned, are spread
/// from a 16-byte window (5 groups) as the pair `(u0, u1)` and as `(u2,
/// 0)` into every i16 lane, against the 16 codes' weights:
///
/// ```text
/// entry c = (a_c u0 + b_c u1) + (c_c u2 + 0) - 128 (a_c + b_c + c_c),   u = x + 128
/// ```
///
/// (at most 3 * 255 in magnitude). Per group: 2 spreads, 2 multiplies, an
/// add, the offset and [`low_high`]. Best of 3000 builds each, alternating
/// in one process with the previous build (three `vpsignw` on activations
/// broadcast from an i16 copy): 0.90 against 1.00 us per token at k =
/// 2560, 2.40 against 2.65 at 6912. (That one took 1.1-1.4 and 3.0 against
/// 1.7 and 4.7 for values read one by one.)
#[target_feature(enable = "avx2")]
unsafe fn triple_tables(x: &[i8], groups: usize, out: &mut [u8]) {
    let (a, b, c) = (
        entry_weights(Lut::Triples, 0),
        entry_weights(Lut::Triples, 1),
        entry_weights(Lut::Triples, 2),
    );
    let w01 = interleave(a, b);
    let w2 = interleave(c, [0; 16]);
    let offset: [i16; 16] =
        std::array::from_fn(|i| 128 * (a[i] as i16 + b[i] as i16 + c[i] as i16));
    // SAFETY: `offset` is 32 bytes.
    let offset = _mm256_loadu_si256(offset.as_ptr().cast());
    let flip = _mm256_set1_epi8(i8::MIN);
    // Group j of a window: bytes (3j, 3j + 1) and (3j + 2, zero) to every
    // i16 lane (a `vpshufb` index with bit 7 set writes 0).
    let spread = |j: usize| {
        let p = 3 * j as u16;
        (
            _mm256_set1_epi16((((p + 1) << 8) | p) as i16),
            _mm256_set1_epi16((0x8000 | (p + 2)) as i16),
        )
    };
    let spreads: [(__m256i, __m256i); WINDOW_GROUPS] = std::array::from_fn(spread);
    // `u`: a window, offset to unsigned, in both 128-bit lanes.
    let table = |u: __m256i, (s01, s2): (__m256i, __m256i)| {
        let e = _mm256_add_epi16(
            _mm256_maddubs_epi16(_mm256_shuffle_epi8(u, s01), w01),
            _mm256_maddubs_epi16(_mm256_shuffle_epi8(u, s2), w2),
        );
        low_high(_mm256_sub_epi16(e, offset))
    };
    // Whole windows of groups whose 16 bytes lie inside `x`.
    let windows = (groups / WINDOW_GROUPS).min(x.len().saturating_sub(1) / (3 * WINDOW_GROUPS));
    for wi in 0..windows {
        let g0 = wi * WINDOW_GROUPS;
        // SAFETY: 3 g0 + 16 <= 15 windows + 1 <= x.len() (windows <=
        // (x.len() - 1) / 15).
        let v = _mm_loadu_si128(x.as_ptr().add(3 * g0).cast());
        let u = _mm256_xor_si256(_mm256_broadcastsi128_si256(v), flip);
        for (j, s) in spreads.iter().enumerate() {
            // SAFETY: group g0 + j < 5 windows <= groups, and `out` holds
            // 32 bytes per group.
            let o = out.as_mut_ptr().add(32 * (g0 + j));
            _mm256_storeu_si256(o.cast(), table(u, *s));
        }
    }
    for (g, t) in out
        .chunks_exact_mut(32)
        .enumerate()
        .skip(windows * WINDOW_GROUPS)
    {
        let v: [i8; 16] = std::array::from_fn(|i| {
            if i < 3 {
                x.get(3 * g + i).copied().unwrap_or(0)
            } else {
                0
            }
        });
        // SAFETY: `v` is 16 bytes.
        let v = _mm_loadu_si128(v.as_ptr().cast());
        let u = _mm256_xor_si256(_mm256_broadcastsi128_si256(v), flip);
        // SAFETY: `t` is 32 bytes.
        _mm256_storeu_si256(t.as_mut_ptr().cast(), table(u, spreads[0]));
    }
}

/// # Safety
/// AVX2 must be supported; `w` holds `out.len() / tile_rows` tiles of
/// `span.stride` records, the span lies inside them, and `tables` holds
/// `span.len` tables (checked by the caller). Rows from `rows` on are
/// padding (see [`super::dots`]).
pub(super) unsafe fn dots(
    lut: Lut,
    w: &[u8],
    span: Span,
    tables: &[u8],
    out: &mut [i32],
    rows: usize,
) {
    out.fill(0);
    match lut {
        Lut::Pairs => pairs(w, span, tables, out),
        Lut::Triples => triples(w, span, tables, out, rows),
    }
}

/// TL1, byte lookups: a record's bytes hold two 4-bit codes each (byte
/// `2j` rows `j` | `32 + j`, byte `2j + 1` rows `64 + j` | `96 + j`), so one
/// mask (or shift + mask) gives 32 indices and one `pshufb` pair the low
/// bytes `L` and high bytes `H` of 32 entries. A pair's entry is at most
/// 2 * 128 in magnitude, so `H` is -1, 0 or 1 and the halves are summed
/// apart instead of joined per group:
///
/// ```text
/// idx = bytes & 15 (n = 0) or bytes >> 4 & 15 (n = 1)
/// whole += L as u16 lanes        (even byte + 256 odd byte, wrapping)
/// odds  += vpmaddubsw(L, (0, 1)) (odd bytes as i16)
/// highs += H                     (i8, at most 127 groups per flush)
/// flush: even rows = whole - 256 odds + 256 highs_even
///        odd rows  = odds + 256 highs_odd
/// ```
///
/// Per 32 bytes of records: 2 index ops (one shift), 4 lookups, 2
/// multiplies and 6 adds for 64 lookups (128 weights); joining with
/// `vpunpck{l,h}bw` instead took 4 lookups, 4 unpacks and 4 adds, 9 of 14
/// ops on the shuffle pipes against 5 of 14 now. Paired runs, 1 thread,
/// min: 2048 x 2048 49.4-50.3 against 53.7-54.3 us, 6912 x 2560 204-210
/// against 225-233 (the previous kernel joined both halves in one pass;
/// doing so here needs 12 accumulators, which spilled and measured slower).
#[target_feature(enable = "avx2")]
unsafe fn pairs(w: &[u8], span: Span, tables: &[u8], out: &mut [i32]) {
    let tile_bytes = Lut::Pairs.tile_bytes(span.stride);
    for t in 0..out.len() / 128 {
        pairs_tile(
            w.as_ptr().add(t * tile_bytes + span.start * RECORD_BYTES),
            span.len,
            tables.as_ptr(),
            &mut out[t * 128..][..128],
        );
    }
}

#[inline(never)]
#[target_feature(enable = "avx2")]
unsafe fn pairs_tile(w: *const u8, groups: usize, tables: *const u8, out: &mut [i32]) {
    // What makes the flush's 128-dot pointer sound.
    assert_eq!(out.len(), 128);
    let zero = _mm256_setzero_si256();
    let low4 = _mm256_set1_epi8(0x0f);
    let odd = _mm256_set1_epi16(0x0100);
    let mut g0 = 0;
    while g0 < groups {
        let g1 = (g0 + PAIR_FLUSH_GROUPS).min(groups);
        // One record half at a time (the other's accumulators would not
        // fit in registers); the block's second pass reads L1.
        for h in 0..2 {
            // Per nibble n: the sum of L as u16 lanes, of L's odd bytes,
            // and of H as i8 bytes.
            let mut whole = [zero; 2];
            let mut odds = [zero; 2];
            let mut highs = [zero; 2];
            for g in g0..g1 {
                // SAFETY (whole loop): g < groups lies inside the caller's
                // record and table slices.
                let tab = tables.add(g * 32);
                let tl = _mm256_broadcastsi128_si256(_mm_loadu_si128(tab.cast()));
                let th = _mm256_broadcastsi128_si256(_mm_loadu_si128(tab.add(16).cast()));
                let bytes = _mm256_loadu_si256(w.add(g * RECORD_BYTES + 32 * h).cast());
                for n in 0..2 {
                    let idx = if n == 0 {
                        _mm256_and_si256(bytes, low4)
                    } else {
                        _mm256_and_si256(_mm256_srli_epi16::<4>(bytes), low4)
                    };
                    let lo = _mm256_shuffle_epi8(tl, idx);
                    let hi = _mm256_shuffle_epi8(th, idx);
                    whole[n] = _mm256_add_epi16(whole[n], lo);
                    odds[n] = _mm256_add_epi16(odds[n], _mm256_maddubs_epi16(lo, odd));
                    highs[n] = _mm256_add_epi8(highs[n], hi);
                }
            }
            // SAFETY: AVX2 (this function's target); `out` is the tile's
            // 128 dots (`pairs` slices them), unused while the flush runs.
            pairs_flush(whole, odds, highs, h, out.as_mut_ptr());
        }
        g0 = g1;
    }
}

/// Adds one record half's block sums to the tile's i32 dots (see
/// [`pairs`] for the arithmetic). `out` (the tile's 128 dots) comes
/// through `black_box` so that LLVM cannot keep the dots in registers
/// across blocks: it did when this was inlined with a slice, and the inner
/// loop, short of registers, reloaded a constant every group. A
/// non-inlined flush avoided that (1 thread, both builds at once on the
/// two cores, min: 2048 x 2048 49.7-49.9 against 50.3-50.6 us, 6912 x 2560
/// 206.4-207.6 against 209.0-211.0); inlined behind the opaque pointer it
/// also saves the call and the accumulators' trip through the stack:
/// 2048 x 2048 47.5-47.9 against 48.2-48.5, 2560 x 2560 74.2-74.8 against
/// 75.6-76.4, 6912 x 2560 198.3-200.5 against 200.5-201.9 (6 rounds each;
/// 640 x 2560 equal).
///
/// # Safety
/// AVX2 must be supported (inlined into [`pairs_tile`]) and `out` must
/// point to 128 i32 that nothing else uses during the call.
#[inline(always)]
unsafe fn pairs_flush(
    whole: [__m256i; 2],
    odds: [__m256i; 2],
    highs: [__m256i; 2],
    h: usize,
    out: *mut i32,
) {
    // SAFETY: the caller passes its tile's 128 dots, not otherwise in use.
    let out = std::slice::from_raw_parts_mut(std::hint::black_box(out), 128);
    let high = _mm256_set1_epi16(0xff00u16 as i16);
    for n in 0..2 {
        let o = odds[n];
        let even = _mm256_add_epi16(
            _mm256_sub_epi16(whole[n], _mm256_slli_epi16::<8>(o)),
            _mm256_slli_epi16::<8>(highs[n]),
        );
        let odd_rows = _mm256_add_epi16(o, _mm256_and_si256(highs[n], high));
        for (v, base) in [(even, 16 * h + 32 * n), (odd_rows, 16 * h + 32 * (n + 2))] {
            let halves = [
                _mm256_cvtepi16_epi32(_mm256_castsi256_si128(v)),
                _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(v)),
            ];
            for (q, v) in halves.into_iter().enumerate() {
                let o = &mut out[base + 8 * q..][..8];
                // SAFETY: `o` is 8 i32.
                let sum = _mm256_add_epi32(_mm256_loadu_si256(o.as_ptr().cast()), v);
                _mm256_storeu_si256(o.as_mut_ptr().cast(), sum);
            }
        }
    }
}

/// TL2: a record's first 32 bytes hold the magnitudes of rows `b` (low
/// nibble) and `32 + b` (high nibble), its last 32 the magnitudes of rows
/// `64 + b` and the three signs (see the module docs of [`super`]). Per row
/// set `s` the index vector is `m & 15`, `m >> 4 & 15` or `r` itself (bits
/// 4..6 are signs, which `pshufb` ignores; bit 7 is 0), one `pshufb` pair
/// looks up the low and high bytes of 32 positive entries, and the sign is
/// applied to the bytes before they are joined:
///
/// ```text
/// n = (r & bit_s) == bit_s       0xff where row 32 s + b is negative
/// L ^= n, H ^= n                 i16 e -> !e = -e - 1 where negative
/// acc_lo += unpacklo(L, H), acc_hi += unpackhi(L, H)
/// dot = acc + (negative codes of the row)
/// ```
///
/// The sums of a span of `k` are short by the row's negative codes in the
/// span; whoever adds up spans that cover a tile adds the tile trailer's
/// whole-row counts once ([`add_negatives`]). Counting them in the loop
/// instead costs three more registers and measured slower (2048 x 2048
/// 1t, min 57 against 48 us).
///
/// Per group (96 rows x 3 weights): one shift and 12 byte shuffles
/// (`pshufb`, `vpunpck`), about 20 simple ALU ops (LLVM turns two of the
/// sign tests into a shift and a compare). The previous layout (three
/// 5-bit codes per u16 lane) needed a `vpackuswb` per row set, 6 shifts
/// and a `vpsignw` per 16 rows: 21 of its 45 ops on the shuffle pipes.
/// Paired runs, 1 thread, min: 2048 x 2048 about 50 against 63 us.
#[target_feature(enable = "avx2")]
unsafe fn triples(w: &[u8], span: Span, tables: &[u8], out: &mut [i32], rows: usize) {
    let tile_bytes = Lut::Triples.tile_bytes(span.stride);
    let tiles = w.chunks_exact(tile_bytes).zip(out.chunks_exact_mut(96));
    for (t, (tile, o)) in tiles.enumerate() {
        let first = tile.as_ptr().add(span.start * RECORD_BYTES);
        let (g, tab) = (span.len, tables.as_ptr());
        // Row sets of 32 with a row that exists (a matrix of 640 rows ends
        // in a tile of 64): 1 thread, both builds at once, min 640 x 2560
        // 19.1-19.3 against 19.8-20.1 us, 2048 x 2048 47.2-47.6 against
        // 48.6-48.8.
        match rows.saturating_sub(96 * t).div_ceil(32) {
            0 => {}
            1 => triples_tile::<1>(first, g, tab, o),
            2 => triples_tile::<2>(first, g, tab, o),
            _ => triples_tile::<3>(first, g, tab, o),
        }
    }
}

/// What [`triples`] leaves out of each row: its negative codes (from the
/// trailer), so that spans covering a tile plus this once are exact.
pub(super) fn add_negatives(w: &[u8], groups: usize, out: &mut [i32]) {
    let tile_bytes = Lut::Triples.tile_bytes(groups);
    for (tile, o) in w.chunks_exact(tile_bytes).zip(out.chunks_exact_mut(96)) {
        for (o, n) in o.iter_mut().zip(tile_negatives(tile, groups)) {
            *o += n;
        }
    }
}

/// Adds to `out` the dots of the first `SETS` row sets (of 32) of one tile
/// over `groups` groups from `w`, less the rows' negative codes in those
/// groups; the other sets' dots are left as they are. Not inlined: inlined
/// into its caller, LLVM rotated the accumulators through 16 moves and a
/// spill per group.
#[inline(never)]
#[target_feature(enable = "avx2")]
unsafe fn triples_tile<const SETS: usize>(
    w: *const u8,
    groups: usize,
    tables: *const u8,
    out: &mut [i32],
) {
    let zero = _mm256_setzero_si256();
    let low4 = _mm256_set1_epi8(0x0f);
    let bits: [__m256i; 3] = std::array::from_fn(|s| _mm256_set1_epi8(triple_sign_bit(s) as i8));
    let mut g0 = 0;
    while g0 < groups {
        let g1 = (g0 + FLUSH_GROUPS).min(groups);
        // acc[s][u]: row set s, unpack u (lo, hi).
        let mut acc = [[zero; 2]; 3];
        for g in g0..g1 {
            // SAFETY (whole loop): g < groups lies inside the caller's
            // record and table slices.
            let tab = tables.add(g * 32);
            let tl = _mm256_broadcastsi128_si256(_mm_loadu_si128(tab.cast()));
            let th = _mm256_broadcastsi128_si256(_mm_loadu_si128(tab.add(16).cast()));
            let m = _mm256_loadu_si256(w.add(g * RECORD_BYTES).cast());
            let r = _mm256_loadu_si256(w.add(g * RECORD_BYTES + 32).cast());
            let idx = [
                _mm256_and_si256(m, low4),
                _mm256_and_si256(_mm256_srli_epi16::<4>(m), low4),
                r,
            ];
            for s in 0..SETS {
                let n = _mm256_cmpeq_epi8(_mm256_and_si256(r, bits[s]), bits[s]);
                let lo = _mm256_xor_si256(_mm256_shuffle_epi8(tl, idx[s]), n);
                let hi = _mm256_xor_si256(_mm256_shuffle_epi8(th, idx[s]), n);
                acc[s][0] = _mm256_add_epi16(acc[s][0], _mm256_unpacklo_epi8(lo, hi));
                acc[s][1] = _mm256_add_epi16(acc[s][1], _mm256_unpackhi_epi8(lo, hi));
            }
        }
        for s in 0..SETS {
            // i16 k of unpack u is row 32 s + 16 (k / 8) + 8 u + k % 8.
            for u in 0..2 {
                let a = acc[s][u];
                let halves = [
                    _mm256_cvtepi16_epi32(_mm256_castsi256_si128(a)),
                    _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(a)),
                ];
                for (q, v) in halves.into_iter().enumerate() {
                    let o = &mut out[32 * s + 16 * q + 8 * u..][..8];
                    // SAFETY: `o` is 8 i32.
                    let sum = _mm256_add_epi32(_mm256_loadu_si256(o.as_ptr().cast()), v);
                    _mm256_storeu_si256(o.as_mut_ptr().cast(), sum);
                }
            }
        }
        g0 = g1;
    }
}
