//! AVX-512 lookup kernel: `vpermw` reads 32 i16 table entries at once, one
//! per lane, with the lane's low 5 bits as the index and the rest ignored.
//!
//! ```text
//! TL1 record lane j (u16): [row 96+j | row 64+j | row 32+j | row j]
//! vpermw(lane >> 0,  T)  -> entries of rows j          (bits 0..3)
//! vpermw(lane >> 4,  T)  -> entries of rows 32 + j
//! ...
//! TL2 Lanes record lane j: [0 | row 64+j | row 32+j | row j], 5 bits each
//! vpermw(lane >> 0,  T)  -> entries of rows j          (bits 0..4)
//! vpermw(lane >> 5,  T)  -> entries of rows 32 + j
//! vpermw(lane >> 10, T)  -> entries of rows 64 + j
//! ```
//!
//! TL1 codes are 4 bits, so bit 4 of the index is the next row's code bit:
//! its 16-entry table is broadcast to both halves of the 32-entry register,
//! which makes that bit harmless. TL2 codes are 5 bits (sign | magnitude),
//! indices into the full 32-entry table (positive sums, then negated), so
//! the kernel reads only `Encoding::Lanes` records (`lut::span_dots`
//! re-encodes others) and not the TL2 trailer.
//! i16 partial sums are widened into the i32 output every
//! [`PAIR_FLUSH_GROUPS`] (TL1) or [`TRIPLE_FLUSH_GROUPS`] (TL2) groups; up
//! to three tiles share each table load.
//!
//! TL1 `Quads` (AVX-512 VBMI, matrices of 3 tiles or more) take another
//! kernel, [`run_quads`]: per 64 rows of a quad record one `vpermt2b` each
//! into the low and the high bytes of the 128-entry quad table, the two
//! interleaved into i16 entries, 6 vector ops per 256 products where
//! `Split` needs 11 and I2S 11. A throwaway Rust loop of that mix over
//! L1-resident records (3 tiles per table load) ran 3.0 TSC cycles per 256
//! products on Zen 4, against 4.3 for an I2S-like loop and 4.9 for the
//! `Split` loop below. Its cost is the table build: 192 bytes per quad
//! where `Split` builds 64, about 16 cycles per quad (k = 2560, 128 rows:
//! 4.0 us against 3.0 for `Split`; `lut::QUAD_MIN_TILES`). A build from
//! the activations with `vpmaddubsw` instead of `vpermw` from the pair
//! tables measured the same; N = 4 or 5 tiles per table load (640 rows in
//! one pass) was slower than 3 (spills).
//!
//! What bounds TL1 `Split`: a record costs 4 `vpermw` + 3 `vpsrlw` + 4
//! `vpaddw`. An asm loop of exactly that mix over L1-resident records (3
//! per table load, as this kernel) runs 6.1-6.3 cycles per record on Zen 4,
//! where 4 `vpermw` alone would take 4: the shifts and adds share its
//! pipes (mixed pairs `vpermw` + `vpsrlw` 1.3 cycles, + `vpaddw` 1.14,
//! each alone 1 per cycle). The I2S loop does its 256 products in ~5.7, so
//! TL1 stays some 6-8% behind I2S before its table build. Replacing a
//! shift by a load one byte on (`u >> 8` as the record at +1) ran no
//! faster: every such load splits a cache line.
//!
//! Also measured and not kept. Byte tables of four pairs at once: `vpermb`
//! with a 6-bit index (2-bit pair selector | code), each entry split into
//! two i8 halves (`e >> 1`, `e - (e >> 1)`) that `vpdpbusd` against ones
//! sums straight into i32 (no flush): per record 1 shift, 2 `vpternlogd`,
//! 4 `vpermb` and 4 `vpdpbusd`, the same 11 vector ops, ran as fast as this
//! loop (throwaway Rust loops, L1-resident, `taskset -c 1`, 5.0-5.4 TSC
//! cycles per record for both; an I2S-like loop 4.5-4.7). Blocking `k` so
//! a block's tables stay in L1 (254 or 508 groups): 1-3% slower at 640 x
//! 2560 and 2560 x 6912. Prefetching records 16 groups ahead: no gain.

// Accumulators are indexed by (tile, row group) on purpose: the arrays are
// fully unrolled into registers.
#![allow(clippy::needless_range_loop)]

use super::{
    Encoding, Lut, Span, PAIR_FLUSH_GROUPS, QUAD_CODES, QUAD_FLUSH_QUADS, RECORD_BYTES,
    TRIPLE_FLUSH_GROUPS, WINDOW_GROUPS,
};
use std::arch::x86_64::*;

/// The constant operands of a table build, made at compile time from
/// [`Lut::weights`] so a call pays nothing for them. Lane `l` holds code
/// `l % 16` (TL1) or `l` (TL2: magnitudes, then negated), unused codes 0:
///
/// ```text
/// weights01 bytes 2l, 2l+1: w0, w1 of the code    share lane l: 128 (w0 + w1 + w2)
/// weights2  bytes 2l, 2l+1: w2, 0                 (what the +128 offset adds)
/// spread01[g] bytes 2l, 2l+1: 3g, 3g + 1          (window bytes of group g's x0, x1)
/// spread2[g]  bytes 2l, 2l+1: 3g + 2, 0x80        (x2, and a vpshufb zero)
/// ```
struct BuildOperands {
    weights01: [i8; 64],
    weights2: [i8; 64],
    share: [i16; 32],
    spread01: [[i8; 64]; WINDOW_GROUPS],
    spread2: [[i8; 64]; WINDOW_GROUPS],
}

const fn build_operands(lut: Lut) -> BuildOperands {
    let mut o = BuildOperands {
        weights01: [0; 64],
        weights2: [0; 64],
        share: [0; 32],
        spread01: [[0; 64]; WINDOW_GROUPS],
        spread2: [[0; 64]; WINDOW_GROUPS],
    };
    let mut l = 0;
    while l < 32 {
        let code = match lut {
            Lut::Pairs => l % 16,
            Lut::Triples => l,
        };
        if l % 16 < lut.used_codes() {
            let w = lut.weights(code as u16);
            o.weights01[2 * l] = w[0];
            o.weights01[2 * l + 1] = w[1];
            o.weights2[2 * l] = w[2];
            o.share[l] = 128 * (w[0] as i16 + w[1] as i16 + w[2] as i16);
        }
        let mut g = 0;
        while g < WINDOW_GROUPS {
            o.spread01[g][2 * l] = 3 * g as i8;
            o.spread01[g][2 * l + 1] = 3 * g as i8 + 1;
            o.spread2[g][2 * l] = 3 * g as i8 + 2;
            o.spread2[g][2 * l + 1] = i8::MIN;
            g += 1;
        }
        l += 1;
    }
    o
}

static PAIR_OPERANDS: BuildOperands = build_operands(Lut::Pairs);
static TRIPLE_OPERANDS: BuildOperands = build_operands(Lut::Triples);

/// The constant operands that turn a register of two pair tables (lanes
/// 0..15 pair 2q, 16..31 pair 2q + 1) into quad `q`'s byte tables. Joint
/// code `c = 32 r + l` (register `r`, lane `l`; the 81 used need three):
///
/// ```text
/// first[r][l]  = c % 9        second[r][l] = 16 + c / 9    (c < 81)
///              = 15 (entry 0)              = 31 (entry 0)  (c >= 81)
/// low[b] = 2b, high[b] = 2b + 1: the low / high byte of i16 entry b of
/// the register pair (e0, e1)
/// rest[b] = 2b (b < 32), 2 (b - 32) + 1 (b >= 32): low bytes of e2's 32
/// entries, then their high bytes
/// ```
struct QuadOperands {
    first: [[i16; 32]; 3],
    second: [[i16; 32]; 3],
    low: [u8; 64],
    high: [u8; 64],
    rest: [u8; 64],
}

const fn quad_operands() -> QuadOperands {
    let mut o = QuadOperands {
        first: [[15; 32]; 3],
        second: [[31; 32]; 3],
        low: [0; 64],
        high: [0; 64],
        rest: [0; 64],
    };
    let mut c = 0;
    while c < QUAD_CODES {
        o.first[c / 32][c % 32] = (c % 9) as i16;
        o.second[c / 32][c % 32] = 16 + (c / 9) as i16;
        c += 1;
    }
    let mut b = 0;
    while b < 64 {
        o.low[b] = 2 * b as u8;
        o.high[b] = 2 * b as u8 + 1;
        o.rest[b] = (2 * (b % 32) + b / 32) as u8;
        b += 1;
    }
    o
}

static QUAD_OPERANDS: QuadOperands = quad_operands();

/// Activations `start..` as a window of N bytes, zero past the end (as the
/// scalar tables read them).
fn window<const N: usize>(x: &[i8], start: usize) -> [i8; N] {
    match x.get(start..start + N) {
        Some(s) => s.try_into().expect("N bytes"),
        None => std::array::from_fn(|i| x.get(start + i).copied().unwrap_or(0)),
    }
}

/// TL1 pair tables, two pairs per register (lanes 0..15 pair g, 16..31
/// pair g + 1), from 16 pairs of activations: `vpermw` spreads a pair's
/// two bytes, offset to unsigned, to its 16 lanes, and one `vpmaddubsw`
/// against each code's weight bytes gives the entries plus the offset's
/// share, 128 (w0 + w1).
struct PairBuild {
    wbytes: __m512i,
    share: __m512i,
    flip: __m512i,
    spread: [__m512i; 8],
}

impl PairBuild {
    #[inline(always)]
    unsafe fn new() -> Self {
        let second: [i16; 32] = std::array::from_fn(|l| (l >= 16) as i16);
        let second = _mm512_loadu_si512(second.as_ptr().cast());
        PairBuild {
            wbytes: _mm512_loadu_si512(PAIR_OPERANDS.weights01.as_ptr().cast()),
            share: _mm512_loadu_si512(PAIR_OPERANDS.share.as_ptr().cast()),
            flip: _mm512_set1_epi8(i8::MIN),
            spread: std::array::from_fn(|i| {
                _mm512_add_epi16(second, _mm512_set1_epi16(2 * i as i16))
            }),
        }
    }

    /// The 16 pairs of 32 activation bytes, offset to unsigned.
    #[inline(always)]
    unsafe fn load(&self, src: &[i8; 32]) -> __m512i {
        let xv = _mm512_castsi256_si512(_mm256_loadu_si256(src.as_ptr().cast()));
        _mm512_xor_si512(xv, self.flip)
    }

    /// Pairs 2i and 2i + 1 of `xv`.
    #[inline(always)]
    unsafe fn entries(&self, xv: __m512i, i: usize) -> __m512i {
        let p = _mm512_permutexvar_epi16(self.spread[i], xv);
        _mm512_sub_epi16(_mm512_maddubs_epi16(p, self.wbytes), self.share)
    }
}

/// # Safety
/// AVX-512 F/BW must be supported, and VBMI if `quads`; `out.len() ==
/// groups * table_bytes`, `groups` even if `quads`.
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn build_tables(lut: Lut, quads: bool, x: &[i8], groups: usize, out: &mut [u8]) {
    match lut {
        Lut::Pairs if quads => build_quad_tables(x, groups, out),
        Lut::Pairs => {
            let build = PairBuild::new();
            let mut g = 0;
            // Whole blocks of 16 pairs: 8 plain stores of 64 bytes, read
            // in place. Every output through the tail's masked store (as
            // before) cost Zen 4 ~3.2 cycles per 64 bytes of table, this
            // loop ~2.4 (perf share of TL1 128 x 8192); TL1 640 x 2560 1t
            // min 12.28-12.46 -> 11.91-12.00 us.
            while let (Some(src), Some(dst)) =
                (x.get(2 * g..2 * g + 32), out.get_mut(g * 32..(g + 16) * 32))
            {
                let xv = build.load(src.try_into().expect("32 bytes"));
                for i in 0..8 {
                    // SAFETY: `dst` is 512 bytes.
                    _mm512_storeu_si512(dst.as_mut_ptr().add(64 * i).cast(), build.entries(xv, i));
                }
                g += 16;
            }
            while g < groups {
                let xv = build.load(&window::<32>(x, 2 * g));
                for i in 0..8.min((groups - g).div_ceil(2)) {
                    let dst = &mut out[(g + 2 * i) * 32..];
                    // Both pairs' 64 bytes, or the last pair's 32.
                    let mask: __mmask32 = if dst.len() >= 64 { !0 } else { 0xffff };
                    debug_assert!(dst.len() >= 32);
                    // SAFETY: the mask writes 64 bytes only where `dst`
                    // holds them, else 32, which the last pair has.
                    _mm512_mask_storeu_epi16(dst.as_mut_ptr().cast(), mask, build.entries(xv, i));
                }
                g += 16;
            }
        }
        Lut::Triples => {
            // As TL1, on `vpmaddubsw`: a 16-byte activation window (5
            // groups) broadcast to the four 128-bit lanes, offset to
            // unsigned; per group one `vpshufb` spreads (x0, x1) to every
            // lane and one spreads (x2, 0) (index bit 7 gives the 0), and
            // two `vpmaddubsw` against the codes' weight bytes give the
            // entries plus the offset's share, 128 (w0 + w1 + w2).
            let ops = &TRIPLE_OPERANDS;
            let load = |v: &[i8; 64]| _mm512_loadu_si512(v.as_ptr().cast());
            let pairs: [__m512i; WINDOW_GROUPS] = std::array::from_fn(|g| load(&ops.spread01[g]));
            let thirds: [__m512i; WINDOW_GROUPS] = std::array::from_fn(|g| load(&ops.spread2[g]));
            let w01 = load(&ops.weights01);
            let w2 = load(&ops.weights2);
            let share = _mm512_loadu_si512(ops.share.as_ptr().cast());
            let flip = _mm512_set1_epi8(i8::MIN);
            let mut g = 0;
            while g < groups {
                let src = window::<16>(x, 3 * g);
                // SAFETY: `src` is 16 bytes.
                let win = _mm512_broadcast_i32x4(_mm_loadu_si128(src.as_ptr().cast()));
                let win = _mm512_xor_si512(win, flip);
                for j in 0..WINDOW_GROUPS.min(groups - g) {
                    let p = _mm512_maddubs_epi16(_mm512_shuffle_epi8(win, pairs[j]), w01);
                    let q = _mm512_maddubs_epi16(_mm512_shuffle_epi8(win, thirds[j]), w2);
                    let e = _mm512_sub_epi16(_mm512_add_epi16(p, q), share);
                    let dst = &mut out[(g + j) * 64..][..64];
                    // SAFETY: `dst` is 64 bytes.
                    _mm512_storeu_si512(dst.as_mut_ptr().cast(), e);
                }
                g += WINDOW_GROUPS;
            }
        }
    }
}

/// TL1 quad tables (layout in the `lut` module docs): an entry is the sum
/// of its two pairs' entries, so two `vpermw` from the register of both
/// pair tables and one add give 32 entries; `vpermt2b` gathers 64 low or
/// high bytes of codes 0..63 from two such registers, and one `vpermb`
/// both halves of codes 64..95 from the third.
///
/// # Safety
/// AVX-512 F/BW/VBMI must be supported; `groups` is even and `out.len() ==
/// groups * 96`.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn build_quad_tables(x: &[i8], groups: usize, out: &mut [u8]) {
    let build = PairBuild::new();
    let ops = &QUAD_OPERANDS;
    let load = |v: &[i16; 32]| _mm512_loadu_si512(v.as_ptr().cast());
    let first: [__m512i; 3] = std::array::from_fn(|r| load(&ops.first[r]));
    let second: [__m512i; 3] = std::array::from_fn(|r| load(&ops.second[r]));
    let low = _mm512_loadu_si512(ops.low.as_ptr().cast());
    let high = _mm512_loadu_si512(ops.high.as_ptr().cast());
    let rest = _mm512_loadu_si512(ops.rest.as_ptr().cast());
    let mut g = 0;
    while g < groups {
        let src = match x.get(2 * g..2 * g + 32) {
            Some(s) => s.try_into().expect("32 bytes"),
            None => window::<32>(x, 2 * g),
        };
        let xv = build.load(&src);
        for i in 0..8.min((groups - g) / 2) {
            let pairs = build.entries(xv, i);
            let e: [__m512i; 3] = std::array::from_fn(|r| {
                let a = _mm512_permutexvar_epi16(first[r], pairs);
                _mm512_add_epi16(a, _mm512_permutexvar_epi16(second[r], pairs))
            });
            let bytes = [
                _mm512_permutex2var_epi8(e[0], low, e[1]),
                _mm512_permutex2var_epi8(e[0], high, e[1]),
                _mm512_permutexvar_epi8(rest, e[2]),
            ];
            let dst = &mut out[(g / 2 + i) * 192..][..192];
            for (j, v) in bytes.into_iter().enumerate() {
                // SAFETY: `dst` is 256 bytes.
                _mm512_storeu_si512(dst.as_mut_ptr().add(64 * j).cast(), v);
            }
        }
        g += 16;
    }
}

/// # Safety
/// AVX-512 F/BW must be supported, and VBMI for `Encoding::Quads`; `w`
/// holds `out.len() / tile_rows` tiles of `span.stride` records in `enc`
/// (TL2: `Encoding::Lanes`), the span lies inside them (whole quads for
/// quads), and `tables` holds `span.len` tables (checked by the caller).
pub(super) unsafe fn dots(
    lut: Lut,
    enc: Encoding,
    w: &[u8],
    span: Span,
    tables: &[u8],
    out: &mut [i32],
) {
    out.fill(0);
    match lut {
        Lut::Pairs if enc == Encoding::Quads => run_quads(w, span, tables, out),
        Lut::Pairs => run::<false>(w, span, tables, out),
        Lut::Triples => run::<true>(w, span, tables, out),
    }
}

/// Tiles `0..tiles` as `(first, n)` batches of 1-3 tiles that share each
/// table load (4 tiles as 2 + 2, not 3 + 1).
#[inline(always)]
fn tile_batches(tiles: usize, mut f: impl FnMut(usize, usize)) {
    let mut t = 0;
    while t < tiles {
        let n = match tiles - t {
            1 => 1,
            2 | 4 => 2,
            _ => 3,
        };
        f(t, n);
        t += n;
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn run_quads(w: &[u8], span: Span, tables: &[u8], out: &mut [i32]) {
    let tr = Lut::Pairs.tile_rows();
    let tile_bytes = Lut::Pairs.tile_bytes(span.stride);
    tile_batches(out.len() / tr, |t, n| {
        let args = (
            w.as_ptr().add(t * tile_bytes + span.start * RECORD_BYTES),
            tile_bytes,
            span.len / 2,
            tables.as_ptr(),
            out.as_mut_ptr().add(t * tr),
        );
        match n {
            3 => quad_tiles::<3>(args),
            2 => quad_tiles::<2>(args),
            _ => quad_tiles::<1>(args),
        }
    });
}

/// `N` tiles over the quads of a span. Per 64 rows of a quad record: one
/// load, `vpermt2b` of the low and of the high table bytes, and the two
/// byte vectors interleaved back into i16 entries (`vpunpck{l,h}bw`; the
/// record's row order makes the words land in row order, see
/// `lut::quad_byte`), added to the i16 sums. Codes 64..80 index the second
/// table register's first 17 bytes, so its 32 stored bytes are broadcast.
#[inline(always)]
unsafe fn quad_tiles<const N: usize>((w, tile_bytes, quads, tables, out): Args) {
    let zero = _mm512_setzero_si512();
    let mut q0 = 0;
    while q0 < quads {
        let q1 = (q0 + QUAD_FLUSH_QUADS).min(quads);
        let mut acc = [[zero; 4]; N];
        for q in q0..q1 {
            // SAFETY (whole loop): q < quads and n < N tiles lie inside the
            // caller's weight and table slices.
            let t = tables.add(q * 192);
            let lo0 = _mm512_loadu_si512(t.cast());
            let hi0 = _mm512_loadu_si512(t.add(64).cast());
            let lo1 = _mm512_broadcast_i64x4(_mm256_loadu_si256(t.add(128).cast()));
            let hi1 = _mm512_broadcast_i64x4(_mm256_loadu_si256(t.add(160).cast()));
            for n in 0..N {
                for h in 0..2 {
                    let rec = w.add(n * tile_bytes + q * 2 * RECORD_BYTES + h * 64);
                    let u = _mm512_loadu_si512(rec.cast());
                    let lo = _mm512_permutex2var_epi8(lo0, u, lo1);
                    let hi = _mm512_permutex2var_epi8(hi0, u, hi1);
                    let a = &mut acc[n];
                    a[2 * h] = _mm512_add_epi16(a[2 * h], _mm512_unpacklo_epi8(lo, hi));
                    a[2 * h + 1] = _mm512_add_epi16(a[2 * h + 1], _mm512_unpackhi_epi8(lo, hi));
                }
            }
        }
        flush::<N>(&acc, 4, 128, out);
        q0 = q1;
    }
}

/// Widens i16 sums `acc[n][l]` (rows `n * tr + 32 l ..`, `codes` row sets
/// per tile) into the i32 output.
#[inline(always)]
unsafe fn flush<const N: usize>(acc: &[[__m512i; 4]; N], codes: usize, tr: usize, out: *mut i32) {
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
}

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn run<const TRIPLES: bool>(w: &[u8], span: Span, tables: &[u8], out: &mut [i32]) {
    let tr = if TRIPLES { 96 } else { 128 };
    let tile_bytes = if TRIPLES { Lut::Triples } else { Lut::Pairs }.tile_bytes(span.stride);
    tile_batches(out.len() / tr, |t, n| {
        let args = (
            w.as_ptr().add(t * tile_bytes + span.start * RECORD_BYTES),
            tile_bytes,
            span.len,
            tables.as_ptr(),
            out.as_mut_ptr().add(t * tr),
        );
        match n {
            3 => tiles_n::<3, TRIPLES>(args),
            2 => tiles_n::<2, TRIPLES>(args),
            _ => tiles_n::<1, TRIPLES>(args),
        }
    });
}

type Args = (*const u8, usize, usize, *const u8, *mut i32);

#[inline(always)]
unsafe fn tiles_n<const N: usize, const TRIPLES: bool>((w, tile_bytes, groups, tables, out): Args) {
    let (tr, codes) = if TRIPLES { (96, 3) } else { (128, 4) };
    let zero = _mm512_setzero_si512();
    let mut g0 = 0;
    while g0 < groups {
        let every = if TRIPLES {
            TRIPLE_FLUSH_GROUPS
        } else {
            PAIR_FLUSH_GROUPS
        };
        let g1 = (g0 + every).min(groups);
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
                let u = _mm512_loadu_si512(rec.cast());
                let idx = if TRIPLES {
                    // Three row sets; the fourth index is never read.
                    [u, _mm512_srli_epi16::<5>(u), _mm512_srli_epi16::<10>(u), u]
                } else {
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
        flush::<N>(&acc, codes, tr, out);
        g0 = g1;
    }
}
