//! Lookup-table kernels for TL1 (weight pairs) and TL2 (weight triples).
//!
//! Instead of multiplying, the kernel looks up precomputed partial sums: for
//! every group of activations (a pair for TL1, a triple for TL2) a table
//! holds the signed sum for each possible weight group, and each row adds
//! the entry its weights select. Entries are exact i16 (bitnet.cpp rounds
//! its tables to int8; we keep them exact so every path equals the scalar
//! integer reference).
//!
//! # In-memory weight layout (built at load time from codes)
//!
//! Rows are grouped in tiles (128 rows for TL1, 96 for TL2; the last tile is
//! padded with zero weights). A tile is a run of 64-byte records, one per
//! weight group along `k`, so one table serves the whole tile.
//!
//! TL1: a record is 32 little-endian u16 lanes; lane `j` packs the 4-bit
//! codes of rows `j`, `32 + j`, `64 + j`, `96 + j`, so `lane >> 4n` puts row
//! `32n + j`'s code in the low bits of every lane at once, which is exactly
//! the index `vpermw` reads (its upper index bits are ignored, see the
//! AVX-512 file):
//!
//! ```text
//! TL1 record (pair g = weights 2g, 2g+1), lane j:
//!   bit 15..12 | 11..8    | 7..4     | 3..0
//!   row 96+j   | row 64+j | row 32+j | row j     index = 3 (w0 + 1) + (w1 + 1)
//! ```
//!
//! That is TL1's [`Encoding::Split`]. With AVX-512 VBMI, a matrix of at
//! least [`QUAD_MIN_TILES`] tiles is packed in [`Encoding::Quads`] instead:
//! two adjacent pairs (a quad, groups 2q and 2q + 1) of a row share one
//! byte, their joint code `c0 + 9 c1` (0..80, 7 bits), the index of
//! `vpermt2b` into a 128-entry byte table. A quad record is the two pair
//! records' 128 bytes, one byte per row, ordered so that interleaving the
//! looked-up low and high bytes of each 64-byte half (`vpunpck{l,h}bw`,
//! per 128-bit lane) gives the i16 entries of 32 consecutive rows each
//! ([`quad_byte`]):
//!
//! ```text
//! TL1 quad record (groups 2q, 2q+1), byte 64 h + 16 L + j:
//!   j < 8 : row 64 h + 8 L + j          (-> vpunpcklbw word 8 L + j)
//!   j >= 8: row 64 h + 32 + 8 L + j - 8 (-> vpunpckhbw word 8 L + j - 8)
//!   value : c0 + 9 c1, c0 / c1 the TL1 codes of pairs 2q / 2q+1
//! ```
//!
//! Per 256 products that is one load, 2 `vpermt2b`, 2 unpacks and 2 adds,
//! against 3 shifts, 4 `vpermw` and 4 adds in `Split`; TL1 stays 2 bits per
//! weight, and TL1 groups always come in whole quads ([`Lut::groups`]).
//!
//! TL2: a code is a 4-bit magnitude and a sign (as in
//! `quant::tl2::triple_code`); the record keeps magnitudes in nibbles and
//! the three signs of a byte position together, so a byte vector of
//! magnitudes is a `pshufb` index as loaded (or after one mask or shift)
//! and a sign is one compare away:
//!
//! ```text
//! TL2 record (triple g = weights 3g..3g+2, past-the-end weights 0), b < 32:
//!   byte b      : bits 7..4 magnitude of row 32+b | 3..0 magnitude of row b
//!   byte 32 + b : bit 7 = 0 | 6, 5, 4 signs of rows 64+b, 32+b, b
//!                 | 3..0 magnitude of row 64+b
//! ```
//!
//! That is TL2's [`Encoding::Split`], what the AVX2 kernel reads. The
//! AVX-512 kernel reads [`Encoding::Lanes`]: the same 64 bytes hold each
//! row's 5-bit code (sign | magnitude, the index into the 32-entry table)
//! whole, three rows per little-endian u16 lane, so `lane >> 5n` is the
//! `vpermw` index of row set `n` as it stands (`vpermw` ignores bits 5..15):
//!
//! ```text
//! TL2 Lanes record, lane j:
//!   bit 15 = 0 | 14..10 row 64+j | 9..5 row 32+j | 4..0 row j
//! ```
//!
//! Against `Split`, which needs both halves widened to u16 lanes and a
//! shift or two per index, that made the AVX-512 kernel ~40% faster on Zen
//! 4 (2560 x 2560, 1 thread). A matrix is packed in the encoding of the
//! level that will run it ([`Encoding::for_level`]); a SIMD kernel handed
//! the other one re-encodes the records first ([`reencode`]: the same dots,
//! only slower), scalar reads both.
//!
//! After a TL2 tile's records, a trailer holds the number of negative codes
//! of each of its 96 rows (i32, little-endian): weight-only data that lets
//! the AVX2 kernel negate entries by flipping bits (`!e = -e - 1`) and add
//! the 1 per negative code back once per row, not once per group. TL1
//! tiles have no trailer.
//!
//! That is 2 bits per weight for TL1 (as the file) and 16 / 9 = 1.78 bits
//! for TL2 (plus 384 trailer bytes per 96-row tile) (the file's 1.67 packs signs separately, which suits a per-row
//! decoder, not a table shared by many rows).
//!
//! # Tables (built per token per call)
//!
//! For group `g`, entry `e` is the sum of the group's activations times the
//! weights that code `e` stands for. TL1: 16 i16 (9 used); TL2: 32 i16, the
//! magnitudes' sums then their negations (14 used of each half). Scalar and
//! AVX-512 store entries little-endian; AVX2 stores the 16 low bytes then the
//! 16 high bytes of the (TL2: positive) entries, for two `pshufb`.
//!
//! TL1 quads: per quad 192 bytes, entry `c0 + 9 c1` being pair 2q's entry
//! `c0` plus pair 2q+1's entry `c1` (joint codes 81..95 are 0):
//!
//! ```text
//! bytes   0..64 : low bytes of codes 0..63     (vpermt2b table 0, low)
//! bytes  64..128: high bytes of codes 0..63    (table 0, high)
//! bytes 128..160: low bytes of codes 64..95    (table 1, low; broadcast)
//! bytes 160..192: high bytes of codes 64..95   (table 1, high; broadcast)
//! ```

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod scalar;

use super::aligned::Aligned;
use crate::cpu::SimdLevel;
use crate::quant::{tl1, tl2};

/// Bytes of one record (one weight group of one tile).
pub(crate) const RECORD_BYTES: usize = 64;
/// Groups between widenings of the i16 accumulators to i32: entries are at
/// most 3 * 128 = 384 in magnitude, 64 * 384 < 2^15.
pub(crate) const FLUSH_GROUPS: usize = 64;
/// Groups between flushes of the TL1 kernels: a pair's entry is at most 256
/// in magnitude (both weights -1, both activations -128), so 127 groups fit
/// i16 (and the AVX2 kernel's `highs`, one of -1, 0, 1 per group, fit i8);
/// 128 fails `full_scale_sums_survive_every_flush`.
pub(crate) const PAIR_FLUSH_GROUPS: usize = 127;
/// Joint codes of a TL1 quad with a table entry (9 x 9; the rest of its
/// 128 are 0).
pub(crate) const QUAD_CODES: usize = 81;
/// The fewest tiles a TL1 matrix needs to be packed in quads. Zen 4, 1
/// thread, k = 2560, `kernel_probe tl1 <rows> 2560 1 1`, min of 4
/// alternating runs, split against quads: 128 rows 2.99 against 4.02 us,
/// 256 rows 5.11 against 5.13, 384 rows 7.53 against 6.67, 640 rows 12.41
/// against 10.02.
pub(crate) const QUAD_MIN_TILES: usize = 3;
/// Quads between flushes of the AVX-512 TL1 quad kernel: a quad's entry
/// is at most 4 * 128 = 512 in magnitude, 63 * 512 = 32256 fits i16, 64
/// quads would not.
pub(crate) const QUAD_FLUSH_QUADS: usize = 63;
/// Groups between flushes of the AVX-512 TL2 kernel, whose lookups return
/// the entries themselves (at most 384 in magnitude): 85 * 384 = 32640
/// fits i16, 86 groups would not.
pub(crate) const TRIPLE_FLUSH_GROUPS: usize = 85;
/// TL2 groups whose activations one 16-byte load holds (the SIMD table
/// builds spread them from there with `vpshufb`).
pub(crate) const WINDOW_GROUPS: usize = 16 / 3;

/// How a record holds its codes (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// TL1: four 4-bit codes per u16 lane, `vpermw` indices (AVX-512
    /// without VBMI, AVX2, scalar). TL2: magnitude nibbles and sign bytes,
    /// `pshufb` indices (AVX2, scalar).
    Split,
    /// TL2 only: 5-bit codes, three per u16 lane: `vpermw` indices
    /// (AVX-512).
    Lanes,
    /// TL1 only: one byte per row for two groups, the 7-bit joint code
    /// `c0 + 9 c1`: `vpermt2b` indices (AVX-512 with VBMI).
    Quads,
}

impl Encoding {
    /// The encoding whose kernel at `level` runs fastest for a matrix of
    /// `rows` rows. TL1 quads build 192 table bytes per two groups, not 64,
    /// which only pays from [`QUAD_MIN_TILES`] tiles on.
    pub fn for_level(lut: Lut, level: SimdLevel, rows: usize) -> Encoding {
        match (lut, level) {
            (Lut::Triples, SimdLevel::Avx512) => Encoding::Lanes,
            (Lut::Pairs, SimdLevel::Avx512)
                if level.has_vbmi() && rows.div_ceil(lut.tile_rows()) >= QUAD_MIN_TILES =>
            {
                Encoding::Quads
            }
            _ => Encoding::Split,
        }
    }

    /// The encoding the kernel at `level` reads when handed records in
    /// this one (others are re-encoded first, see [`reencode`]). AVX-512
    /// runs TL1 `Split` too, so its non-VBMI kernel is tested here.
    pub fn read_at(self, lut: Lut, level: SimdLevel) -> Encoding {
        match (lut, level) {
            (Lut::Pairs, SimdLevel::Avx512) if self == Encoding::Quads && level.has_vbmi() => {
                Encoding::Quads
            }
            (Lut::Pairs, _) => Encoding::Split,
            (Lut::Triples, SimdLevel::Avx512) => Encoding::Lanes,
            (Lut::Triples, SimdLevel::Avx2) => Encoding::Split,
            (Lut::Triples, SimdLevel::Scalar) => self,
        }
    }
}

/// Which lookup kernel a matrix uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lut {
    /// TL1: two weights per 4-bit index, four rows per lane.
    Pairs,
    /// TL2: three weights per 5-bit sign + magnitude, three rows per lane.
    Triples,
}

impl Lut {
    /// Codes with a table entry: TL1 9, TL2 14 magnitudes (each also
    /// negated); the rest of a table's 16 (per half) are 0.
    pub const fn used_codes(self) -> usize {
        match self {
            Lut::Pairs => 9,
            Lut::Triples => 14,
        }
    }

    /// Weights per group.
    pub fn width(self) -> usize {
        match self {
            Lut::Pairs => 2,
            Lut::Triples => 3,
        }
    }

    /// Rows per tile (row codes per lane x 32 lanes).
    pub fn tile_rows(self) -> usize {
        match self {
            Lut::Pairs => 128,
            Lut::Triples => 96,
        }
    }

    /// Groups of a row of `cols` weights. TL1 counts whole quads (an even
    /// number of pairs; a last odd pair's partner is padding with zero
    /// activations), so every TL1 encoding has the same groups.
    pub fn groups(self, cols: usize) -> usize {
        match self {
            Lut::Pairs => 2 * cols.div_ceil(4),
            Lut::Triples => cols.div_ceil(3),
        }
    }

    /// Bytes after a tile's records (see the module docs).
    pub fn trailer_bytes(self) -> usize {
        match self {
            Lut::Pairs => 0,
            Lut::Triples => 4 * self.tile_rows(),
        }
    }

    /// Bytes of one tile of `groups` records and its trailer.
    pub fn tile_bytes(self, groups: usize) -> usize {
        groups * RECORD_BYTES + self.trailer_bytes()
    }

    /// Table bytes per group for the kernel at `level` handed records in
    /// `enc` (TL1 quads: 256 bytes per two groups).
    pub fn table_bytes(self, level: SimdLevel, enc: Encoding) -> usize {
        match (self, level, enc.read_at(self, level)) {
            (Lut::Pairs, _, Encoding::Quads) => 96,
            (Lut::Triples, SimdLevel::Scalar | SimdLevel::Avx512, _) => 64,
            _ => 32,
        }
    }

    /// The code of one row's weight group.
    fn code(self, w: &[i8]) -> u16 {
        match self {
            Lut::Pairs => tl1::pair_index(w[0], w[1]) as u16,
            Lut::Triples => {
                let (m, negative) = tl2::triple_code(w[0], w[1], w[2]);
                m as u16 | (negative as u16) << 4
            }
        }
    }

    /// The weights a code stands for (inverse of `code`).
    const fn weights(self, code: u16) -> [i8; 3] {
        match self {
            Lut::Pairs => {
                let (a, b) = tl1::pair_of(code as u8);
                [a, b, 0]
            }
            Lut::Triples => tl2::triple_of((code & 15) as u8, code & 16 != 0),
        }
    }
}

/// The sign bit of TL2 row set `set` (rows `32 set .. 32 set + 32`) in the
/// second half of a record (see the module docs).
pub(crate) const fn triple_sign_bit(set: usize) -> u8 {
    1 << (4 + set)
}

/// Packs row-major codes into tiles (see the module docs).
pub(crate) fn pack(lut: Lut, enc: Encoding, codes: &[i8], rows: usize, cols: usize) -> Aligned<u8> {
    assert!(enc != Encoding::Lanes || lut == Lut::Triples);
    assert!(enc != Encoding::Quads || lut == Lut::Pairs);
    let (groups, tr, width) = (lut.groups(cols), lut.tile_rows(), lut.width());
    let tiles = rows.div_ceil(tr);
    let mut data = Aligned::zeroed(tiles * lut.tile_bytes(groups));
    let weight = |r: usize, k: usize| -> i8 {
        if r < rows && k < cols {
            codes[r * cols + k]
        } else {
            0
        }
    };
    for (t, tile) in data
        .as_mut_slice()
        .chunks_exact_mut(lut.tile_bytes(groups))
        .enumerate()
    {
        let (records, trailer) = tile.split_at_mut(groups * RECORD_BYTES);
        let mut negatives = vec![0i32; tr];
        for g in 0..groups {
            for (i, n) in negatives.iter_mut().enumerate() {
                let r = t * tr + i;
                let w: [i8; 3] = std::array::from_fn(|j| {
                    if j < width {
                        weight(r, g * width + j)
                    } else {
                        0
                    }
                });
                let code = lut.code(&w[..width]);
                put_code(lut, enc, records, g, i, code);
                *n += (lut == Lut::Triples && code & 16 != 0) as i32;
            }
        }
        if lut == Lut::Triples {
            for (dst, n) in trailer.chunks_exact_mut(4).zip(negatives) {
                dst.copy_from_slice(&n.to_le_bytes());
            }
        }
    }
    data
}

/// The trailer of a TL2 tile (`tile_bytes(groups)` bytes): the number of
/// negative codes of each tile row.
pub(crate) fn tile_negatives(tile: &[u8], groups: usize) -> impl Iterator<Item = i32> + '_ {
    tile[groups * RECORD_BYTES..]
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The byte of tile row `i` in a TL1 quad record (see the module docs).
pub(crate) const fn quad_byte(i: usize) -> usize {
    let (half, r) = (i / 64, i % 64);
    64 * half + 16 * (r % 32 / 8) + 8 * (r / 32) + r % 8
}

/// Adds tile row `i`'s code for group `g` into a tile's zeroed records
/// (the inverse of [`record_code`]).
fn put_code(lut: Lut, enc: Encoding, records: &mut [u8], g: usize, i: usize, code: u16) {
    if enc == Encoding::Quads {
        let weight = if g.is_multiple_of(2) { 1 } else { 9 };
        records[g / 2 * 2 * RECORD_BYTES + quad_byte(i)] += code as u8 * weight;
        return;
    }
    let rec = &mut records[g * RECORD_BYTES..][..RECORD_BYTES];
    let (set, b) = (i / 32, i % 32);
    let mut or_lane = |shift: usize| {
        let lane = 2 * b;
        let v = u16::from_le_bytes([rec[lane], rec[lane + 1]]) | code << shift;
        rec[lane..lane + 2].copy_from_slice(&v.to_le_bytes());
    };
    match (lut, enc) {
        (Lut::Pairs, _) => or_lane(4 * set),
        (Lut::Triples, Encoding::Lanes) => or_lane(5 * set),
        (Lut::Triples, _) => {
            let magnitude = (code & 15) as u8;
            match set {
                0 => rec[b] |= magnitude,
                1 => rec[b] |= magnitude << 4,
                _ => rec[32 + b] |= magnitude,
            }
            if code & 16 != 0 {
                rec[32 + b] |= triple_sign_bit(set);
            }
        }
    }
}

/// The code of tile row `i` for group `g` in a tile's records.
#[inline(always)]
pub(crate) fn record_code(lut: Lut, enc: Encoding, records: &[u8], g: usize, i: usize) -> u16 {
    if enc == Encoding::Quads {
        let joint = records[g / 2 * 2 * RECORD_BYTES + quad_byte(i)] as u16;
        return if g.is_multiple_of(2) {
            joint % 9
        } else {
            joint / 9
        };
    }
    let rec = &records[g * RECORD_BYTES..][..RECORD_BYTES];
    let (set, b) = (i / 32, i % 32);
    let lane = || u16::from_le_bytes([rec[2 * b], rec[2 * b + 1]]);
    match (lut, enc) {
        (Lut::Pairs, _) => (lane() >> (4 * set)) & 15,
        (Lut::Triples, Encoding::Lanes) => (lane() >> (5 * set)) & 31,
        (Lut::Triples, _) => {
            let magnitude = match set {
                0 => rec[b] & 15,
                1 => rec[b] >> 4,
                _ => rec[32 + b] & 15,
            };
            let negative = rec[32 + b] & triple_sign_bit(set) != 0;
            magnitude as u16 | (negative as u16) << 4
        }
    }
}

/// Tiles (`groups` records and a trailer each) with their records
/// re-encoded from `from` to `to`: what a kernel reads when handed a matrix
/// packed for another level.
pub(crate) fn reencode(lut: Lut, w: &[u8], groups: usize, from: Encoding, to: Encoding) -> Vec<u8> {
    let mut out = vec![0u8; w.len()];
    let tb = lut.tile_bytes(groups);
    let n = groups * RECORD_BYTES;
    for (src, dst) in w.chunks_exact(tb).zip(out.chunks_exact_mut(tb)) {
        for g in 0..groups {
            for i in 0..lut.tile_rows() {
                let code = record_code(lut, from, &src[..n], g, i);
                put_code(lut, to, &mut dst[..n], g, i, code);
            }
        }
        dst[n..].copy_from_slice(&src[n..]);
    }
    out
}

/// Decodes the codes of row `r` (tests and debugging).
pub(crate) fn row_codes(lut: Lut, enc: Encoding, data: &[u8], r: usize, cols: usize) -> Vec<i8> {
    let groups = lut.groups(cols);
    let tr = lut.tile_rows();
    let tile = &data[(r / tr) * lut.tile_bytes(groups)..][..groups * RECORD_BYTES];
    let mut out: Vec<i8> = (0..groups)
        .flat_map(|g| lut.weights(record_code(lut, enc, tile, g, r % tr)))
        .collect();
    if lut == Lut::Pairs {
        out = out.chunks(3).flat_map(|c| [c[0], c[1]]).collect();
    }
    out.truncate(cols);
    out
}

/// Builds one token's tables (`groups * table_bytes(level, enc)` bytes)
/// for the kernel at `level` handed records in `enc`. `x` is the token's
/// zero-padded int8 activations.
pub(crate) fn build_tables(
    level: SimdLevel,
    lut: Lut,
    enc: Encoding,
    x: &[i8],
    groups: usize,
    out: &mut [u8],
) {
    assert_eq!(out.len(), groups * lut.table_bytes(level, enc));
    let quads = enc.read_at(lut, level) == Encoding::Quads;
    assert!(
        !quads || groups.is_multiple_of(2),
        "TL1 quad tables cover whole quads"
    );
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => {
            assert!(level.is_supported());
            // SAFETY: AVX-512 F/BW supported (checked above), and VBMI
            // where `quads` (`read_at` gives quads only then); the output
            // length and whole quads are checked above and activations are
            // read with bounds checks.
            unsafe { avx512::build_tables(lut, quads, x, groups, out) }
        }
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => {
            assert!(level.is_supported());
            // SAFETY: AVX2 supported (checked above); the output length is
            // checked above and activations are read with bounds checks.
            unsafe { avx2::build_tables(lut, x, groups, out) }
        }
        _ => scalar::build_tables(level, lut, enc, x, groups, out),
    }
}

/// Which records of each tile a [`span_dots`] call reads: `len` groups from
/// group `start`, of tiles that hold `stride` groups each (and a trailer). A GEMV on
/// several threads can give each thread a span of `k` (and the tables of
/// that span only) instead of whole tiles of rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub start: usize,
    pub len: usize,
    pub stride: usize,
}

impl Span {
    /// Every group of tiles of `groups` groups.
    pub fn all(groups: usize) -> Self {
        Span {
            start: 0,
            len: groups,
            stride: groups,
        }
    }
}

/// Exact dots of the rows of whole tiles (`w`, contiguous, of `groups`
/// records each) with one token's tables: `out[tile_rows * tile + i]`.
/// Only the first `rows` rows of the tiles exist; the others are padding
/// (zero codes, so zero dots), which a kernel may skip (AVX2 TL2 skips the
/// row sets of 32 that hold only padding), leaving their dots at 0.
///
/// Panics on mismatched slices (the public API checks shapes first; the
/// check is what keeps the unsafe loads in bounds).
#[allow(clippy::too_many_arguments)]
pub(crate) fn dots(
    level: SimdLevel,
    lut: Lut,
    enc: Encoding,
    w: &[u8],
    groups: usize,
    tables: &[u8],
    out: &mut [i32],
    rows: usize,
) {
    span_dots(level, lut, enc, w, Span::all(groups), tables, out, rows);
    add_correction(level, lut, w, groups, out);
}

/// Dots of the rows of whole tiles over the groups of `span`, with one
/// token's tables for those groups, each short by an amount that depends
/// only on the row (see [`add_correction`]): spans that together cover a
/// tile, added up, plus the correction once, are the exact dots. This lets
/// threads split a tile's `k` without each counting what the tile already
/// stores. `rows` as for [`dots`].
///
/// Panics on mismatched slices, as [`dots`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn span_dots(
    level: SimdLevel,
    lut: Lut,
    enc: Encoding,
    w: &[u8],
    span: Span,
    tables: &[u8],
    out: &mut [i32],
    rows: usize,
) {
    let tr = lut.tile_rows();
    let tiles = out.len() / tr;
    assert_eq!(out.len(), tiles * tr);
    assert!(rows <= out.len());
    assert_eq!(w.len(), tiles * lut.tile_bytes(span.stride));
    assert!(span.start + span.len <= span.stride);
    assert_eq!(tables.len(), span.len * lut.table_bytes(level, enc));
    let home = enc.read_at(lut, level);
    assert!(
        home != Encoding::Quads || (span.start.is_multiple_of(2) && span.len.is_multiple_of(2)),
        "a TL1 quad span covers whole quads"
    );
    let copy;
    let w = if enc == home {
        w
    } else {
        copy = reencode(lut, w, span.stride, enc, home);
        &copy[..]
    };
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => {
            assert!(level.is_supported());
            // SAFETY: AVX-512 F/BW supported (checked above), VBMI where
            // `home` is quads (`read_at`); slice lengths match the tile
            // count and the span, whole quads for quads (asserted above;
            // re-encoding keeps them), TL2 records are `Lanes`.
            unsafe { avx512::dots(lut, home, w, span, tables, out) }
        }
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => {
            assert!(level.is_supported());
            // SAFETY: AVX2 supported (checked above); lengths asserted above
            // (re-encoding keeps them), TL2 records are `Split`.
            unsafe { avx2::dots(lut, w, span, tables, out, rows) }
        }
        _ => scalar::dots(lut, home, w, span, tables, out),
    }
}

/// Adds what [`span_dots`] leaves out of each row of the tiles of `w`:
/// for AVX2 TL2 the rows' negative codes (the tile trailers; its lookups
/// give `-e - 1` for a negative code), nothing elsewhere.
pub(crate) fn add_correction(level: SimdLevel, lut: Lut, w: &[u8], groups: usize, out: &mut [i32]) {
    if level == SimdLevel::Avx2 && lut == Lut::Triples {
        #[cfg(target_arch = "x86_64")]
        avx2::add_negatives(w, groups, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One token's tables at `level` and the whole dots of `n` tile rows.
    struct Whole {
        tables: Vec<u8>,
        dots: Vec<i32>,
    }

    #[allow(clippy::too_many_arguments)]
    fn whole_dots(
        level: SimdLevel,
        lut: Lut,
        enc: Encoding,
        data: &[u8],
        x: &[i8],
        groups: usize,
        n: usize,
        rows: usize,
    ) -> Whole {
        let mut tables = vec![0u8; groups * lut.table_bytes(level, enc)];
        build_tables(level, lut, enc, x, groups, &mut tables);
        let mut out = vec![0i32; n];
        dots(level, lut, enc, data, groups, &tables, &mut out, rows);
        Whole { tables, dots: out }
    }

    /// Every format with every record encoding it has.
    const KINDS: [(Lut, Encoding); 4] = [
        (Lut::Pairs, Encoding::Split),
        (Lut::Pairs, Encoding::Quads),
        (Lut::Triples, Encoding::Split),
        (Lut::Triples, Encoding::Lanes),
    ];

    #[test]
    fn codes_round_trip_through_tiles() {
        for (lut, enc) in KINDS {
            let (rows, cols) = (lut.tile_rows() + 5, 64);
            let codes: Vec<i8> = (0..rows * cols).map(|i| ((i * 7) % 3) as i8 - 1).collect();
            let data = pack(lut, enc, &codes, rows, cols);
            for r in 0..rows {
                assert_eq!(
                    row_codes(lut, enc, data.as_slice(), r, cols),
                    &codes[r * cols..][..cols],
                    "{lut:?} {enc:?} row {r}"
                );
            }
        }
    }

    /// Re-encoding either encoding of a format gives the bytes packing
    /// writes in the other: TL2 lanes and split (a last short triple), TL1
    /// quads and split (a last odd pair, padding).
    #[test]
    fn encodings_reencode_into_each_other() {
        let cases = [
            (Lut::Triples, Encoding::Lanes, 2 * 96 + 5, 3 * 40 + 1),
            (Lut::Pairs, Encoding::Quads, 128 + 77, 2 * 41),
        ];
        for (lut, other, rows, cols) in cases {
            let codes: Vec<i8> = (0..rows * cols)
                .map(|i| (i * 5 % 7 % 3) as i8 - 1)
                .collect();
            let a = pack(lut, other, &codes, rows, cols);
            let s = pack(lut, Encoding::Split, &codes, rows, cols);
            assert_ne!(a.as_slice(), s.as_slice(), "{lut:?}");
            let groups = lut.groups(cols);
            let split = Encoding::Split;
            assert_eq!(
                reencode(lut, a.as_slice(), groups, other, split),
                s.as_slice()
            );
            assert_eq!(
                reencode(lut, s.as_slice(), groups, split, other),
                a.as_slice()
            );
        }
        assert_eq!(
            Lut::Pairs.groups(2 * 41),
            42,
            "TL1 groups round up to whole quads"
        );
    }

    /// Quad record bytes hold rows so that `vpunpck{l,h}bw` of each 64-byte
    /// half give rows in order: every byte is one row's.
    #[test]
    fn quad_bytes_cover_each_record_byte_once() {
        let mut seen = [false; 128];
        for i in 0..128 {
            assert!(!std::mem::replace(&mut seen[quad_byte(i)], true), "row {i}");
        }
        // Row 8 is word 8 of the low interleave: lane 1, byte 0.
        assert_eq!(quad_byte(8), 16);
        // Row 32 is word 0 of the high interleave: lane 0, byte 8.
        assert_eq!(quad_byte(32), 8);
        assert_eq!(quad_byte(64 + 63), 64 + 63);
    }

    /// Every int8 value (-128 included), with activations that end inside
    /// the last group (`x` of `cols` values) and ones that run past it.
    #[test]
    fn simd_tables_equal_scalar_tables() {
        let all: Vec<i8> = (0..300).map(|i| (i * 37 % 256) as u8 as i8).collect();
        for (lut, enc) in KINDS {
            for (cols, len) in [(3, 3), (3, 300), (32, 32), (97, 97), (250, 250), (256, 300)] {
                let x = &all[..len];
                let groups = lut.groups(cols);
                for level in SimdLevel::supported() {
                    let mut want = vec![0u8; groups * lut.table_bytes(level, enc)];
                    scalar::build_tables(level, lut, enc, x, groups, &mut want);
                    let mut got = vec![1u8; want.len()];
                    build_tables(level, lut, enc, x, groups, &mut got);
                    assert_eq!(got, want, "{lut:?} {enc:?} {level} {cols}");
                }
            }
        }
    }

    /// Any cut of `k` into spans, summed, plus the correction once, gives
    /// the whole-tile dots at every level (what a GEMV that splits a tile
    /// between threads relies on).
    #[test]
    fn spans_plus_correction_equal_whole_dots() {
        for (lut, enc) in KINDS {
            let (rows, cols) = (2 * lut.tile_rows() - 7, 3 * 200);
            let codes: Vec<i8> = (0..rows * cols)
                .map(|i| (i * 7 % 11 % 3) as i8 - 1)
                .collect();
            let data = pack(lut, enc, &codes, rows, cols);
            let x: Vec<i8> = (0..cols).map(|i| (i * 53 % 255) as i8).collect();
            let groups = lut.groups(cols);
            let n = 2 * lut.tile_rows();
            for level in SimdLevel::supported() {
                let tb = lut.table_bytes(level, enc);
                // A quad span starts and ends on a quad.
                let a = match enc.read_at(lut, level) {
                    Encoding::Quads => 2,
                    _ => 1,
                };
                let Whole { tables, dots: want } =
                    whole_dots(level, lut, enc, data.as_slice(), &x, groups, n, rows);
                for cuts in [
                    vec![0, groups],
                    vec![0, a, groups],
                    vec![0, 8, 77 / a * a, 160, groups],
                ] {
                    let mut got = vec![0i32; n];
                    for c in cuts.windows(2) {
                        let span = Span {
                            start: c[0],
                            len: c[1] - c[0],
                            stride: groups,
                        };
                        let mut part = vec![0i32; n];
                        let t = &tables[c[0] * tb..c[1] * tb];
                        span_dots(level, lut, enc, data.as_slice(), span, t, &mut part, rows);
                        for (g, p) in got.iter_mut().zip(&part) {
                            *g += p;
                        }
                    }
                    add_correction(level, lut, data.as_slice(), groups, &mut got);
                    assert_eq!(got, want, "{lut:?} {enc:?} {level} cuts {cuts:?}");
                }
            }
        }
    }

    /// Every level's dots equal the scalar reference's, in every encoding
    /// (a kernel handed another level's encoding re-encodes first).
    #[test]
    fn every_level_equals_scalar_dots() {
        for (lut, enc) in KINDS {
            let (rows, cols) = (3 * lut.tile_rows() + 9, 2 * 3 * 67);
            let codes: Vec<i8> = (0..rows * cols)
                .map(|i| ((i * 2654435761usize) >> 7) as i8 % 2)
                .collect();
            let data = pack(lut, enc, &codes, rows, cols);
            let x: Vec<i8> = (0..cols).map(|i| (i * 97 % 256) as u8 as i8).collect();
            let (groups, n) = (lut.groups(cols), 4 * lut.tile_rows());
            let want = whole_dots(
                SimdLevel::Scalar,
                lut,
                enc,
                data.as_slice(),
                &x,
                groups,
                n,
                rows,
            );
            let valid = |v: &[i32]| v[..rows].to_vec();
            for level in SimdLevel::supported() {
                let got = whole_dots(level, lut, enc, data.as_slice(), &x, groups, n, rows);
                assert_eq!(
                    valid(&got.dots),
                    valid(&want.dots),
                    "{lut:?} {enc:?} {level}"
                );
            }
        }
    }

    #[test]
    fn full_scale_sums_survive_every_flush() {
        // Activations -128 (the int8 minimum, which the quantizer never
        // emits but the kernels accept) against all -1 weights: the largest
        // entry of each format in every group, over more groups than any
        // flush interval.
        for (lut, enc) in KINDS {
            let (rows, cols) = (lut.tile_rows() + 3, 3 * 300);
            let data = pack(lut, enc, &vec![-1; rows * cols], rows, cols);
            let x = vec![-128i8; cols];
            let groups = lut.groups(cols);
            let tiles = rows.div_ceil(lut.tile_rows());
            let want = vec![128 * cols as i32; tiles * lut.tile_rows()];
            for level in SimdLevel::supported() {
                let out = whole_dots(
                    level,
                    lut,
                    enc,
                    data.as_slice(),
                    &x,
                    groups,
                    want.len(),
                    rows,
                );
                let out = out.dots;
                let valid = |v: &[i32]| v[..rows].to_vec();
                assert_eq!(valid(&out), valid(&want), "{lut:?} {enc:?} {level}");
            }
        }
    }
}
