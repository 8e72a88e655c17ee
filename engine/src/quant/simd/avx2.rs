//! AVX2 (+FMA, F16C) paths.
//!
//! Quantizers turn 32 floats into 32 code bytes (`c = 1 - [v >= hi] + [v <= lo]`
//! from the all-ones compare masks, narrowed with `packs`/`packus`) and
//! combine code bytes per format; dequantizers widen codes to 32-bit lanes
//! and look them up with `vpermps` in an 8-entry table of `t x scale`.
//! Every function is bit-identical to the scalar reference named in its doc.

use core::arch::x86_64::*;

use super::tables;
use crate::quant::codes::{ternarize, value_table};
use crate::quant::dispatch::{tq_dequantize_scalar, BlockCodec, TqFault};
use crate::quant::tensor_scale::{fold_lanes, AbsStats, LANES};
use crate::quant::{i2s, tl1, tl2, tq1_0, tq2_0, tq_common};

// ---------------------------------------------------------------- helpers

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld(x: &[f32; 8]) -> __m256 {
    // SAFETY: `x` is 32 readable bytes; loadu has no alignment requirement.
    unsafe { _mm256_loadu_ps(x.as_ptr()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn st(y: &mut [f32], v: __m256) {
    assert!(y.len() >= 8);
    // SAFETY: checked above that `y` has 8 writable floats; storeu is unaligned.
    unsafe { _mm256_storeu_ps(y.as_mut_ptr(), v) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld8b(b: &[u8]) -> __m128i {
    assert!(b.len() >= 8);
    // SAFETY: checked above that 8 bytes are readable; loadl is unaligned.
    unsafe { _mm_loadl_epi64(b.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld16b(b: &[u8]) -> __m128i {
    assert!(b.len() >= 16);
    // SAFETY: checked above that 16 bytes are readable; loadu is unaligned.
    unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn ld32b(b: &[u8]) -> __m256i {
    assert!(b.len() >= 32);
    // SAFETY: checked above that 32 bytes are readable; loadu is unaligned.
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn st16b(out: &mut [u8], v: __m128i) {
    assert!(out.len() >= 16);
    // SAFETY: checked above that 16 bytes are writable; storeu is unaligned.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), v) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn st32b(out: &mut [u8], v: __m256i) {
    assert!(out.len() >= 32);
    // SAFETY: checked above that 32 bytes are writable; storeu is unaligned.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) }
}

/// Codes (`0..=2`) of 32 consecutive values `x[0..4]` as bytes in order:
/// `+1` where `v * mul >= hi`, `-1` where `<= lo` (no product for absmean).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn codes32(x: &[[f32; 8]], mul: Option<__m256>, hi: __m256, lo: __m256) -> __m256i {
    let one = _mm256_set1_epi32(1);
    let mut c = [_mm256_setzero_si256(); 4];
    for (ci, xi) in c.iter_mut().zip(x) {
        let v = match mul {
            Some(m) => _mm256_mul_ps(ld(xi), m),
            None => ld(xi),
        };
        let pos = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GE_OQ>(v, hi));
        let neg = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LE_OQ>(v, lo));
        *ci = _mm256_sub_epi32(_mm256_add_epi32(one, neg), pos);
    }
    let ab = _mm256_packs_epi32(c[0], c[1]);
    let cd = _mm256_packs_epi32(c[2], c[3]);
    let bytes = _mm256_packus_epi16(ab, cd);
    _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

/// Four planes of 32 values (`x` = 16 chunks of 8) packed 2 bits each at
/// `shifts[p]`: I2S (6, 4, 2, 0) and TQ2_0 halves (0, 2, 4, 6).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn pack_planes(
    x: &[[f32; 8]],
    shifts: [u32; 4],
    mul: Option<__m256>,
    hi: __m256,
    lo: __m256,
) -> __m256i {
    let mut acc = _mm256_setzero_si256();
    for (p, &s) in shifts.iter().enumerate() {
        let c = codes32(&x[4 * p..], mul, hi, lo);
        // Codes are < 4, so a 16-bit shift never carries into the next byte.
        acc = _mm256_or_si256(acc, _mm256_sll_epi16(c, _mm_cvtsi32_si128(s as i32)));
    }
    acc
}

/// `vpermps` table: lane `i` is `table[i & 3]` (code 3 maps to lane 2's
/// value; the decoders reject code 3 before trusting the output).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn table8(t: &[f32; 3]) -> __m256 {
    let mut lanes = [0f32; 8];
    for (i, l) in lanes.iter_mut().enumerate() {
        *l = t[(i & 3).min(2)];
    }
    ld(&lanes)
}

/// Dequantizes 16 code bytes (`0..=2`) into `y[0..16]`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn codes16_to_f32(codes: __m128i, t: __m256, y: &mut [f32]) {
    let lo = _mm256_cvtepu8_epi32(codes);
    let hi = _mm256_cvtepu8_epi32(_mm_bsrli_si128::<8>(codes));
    st(y, _mm256_permutevar8x32_ps(t, lo));
    st(&mut y[8..], _mm256_permutevar8x32_ps(t, hi));
}

/// Whether any byte of `v` holds a 2-bit field equal to 3 (unused code).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn has_code3(v: __m256i) -> bool {
    let both = _mm256_and_si256(v, _mm256_srli_epi16::<1>(v));
    _mm256_testz_si256(both, _mm256_set1_epi8(0x55)) == 0
}

/// Two-bit planes of a 32-byte group (`qs`) into floats: plane `p` at
/// `shifts[p]` goes to `y[32 p..32 p + 32]`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn unpack_planes(qs: &[u8], shifts: [u32; 4], t: __m256, y: &mut [f32]) {
    for g in 0..4 {
        let w = _mm256_cvtepu8_epi32(ld8b(&qs[8 * g..]));
        for (p, &s) in shifts.iter().enumerate() {
            let idx = _mm256_srl_epi32(w, _mm_cvtsi32_si128(s as i32));
            st(&mut y[32 * p + 8 * g..], _mm256_permutevar8x32_ps(t, idx));
        }
    }
}

// ----------------------------------------------------- tensor-scale formats

/// [`crate::quant::tensor_scale::abs_stats`].
#[target_feature(enable = "avx2,fma,f16c")]
pub fn abs_stats(src: &[f32]) -> AbsStats {
    let (chunks, rest) = src.as_chunks::<16>();
    let sign = _mm256_set1_ps(-0.0);
    let zero = _mm256_setzero_ps();
    let fmax = _mm256_set1_ps(f32::MAX);
    let inf = _mm256_set1_ps(f32::INFINITY);
    let mut acc = [_mm256_setzero_pd(); 4];
    let mut vmax = zero;
    let mut vmin = inf;
    let mut bad = _mm256_setzero_ps();
    for c in chunks {
        let (h0, _) = c.as_chunks::<8>();
        for (k, x) in h0.iter().enumerate() {
            let a = _mm256_andnot_ps(sign, ld(x));
            acc[2 * k] = _mm256_add_pd(acc[2 * k], _mm256_cvtps_pd(_mm256_castps256_ps128(a)));
            acc[2 * k + 1] = _mm256_add_pd(
                acc[2 * k + 1],
                _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(a)),
            );
            vmax = _mm256_max_ps(vmax, a);
            let nz = _mm256_cmp_ps::<_CMP_NEQ_OQ>(a, zero);
            vmin = _mm256_min_ps(vmin, _mm256_blendv_ps(inf, a, nz));
            bad = _mm256_or_ps(bad, _mm256_cmp_ps::<_CMP_NLE_UQ>(a, fmax));
        }
    }
    let mut lanes = [0f64; LANES];
    for (k, a) in acc.iter().enumerate() {
        // SAFETY: `lanes` holds 16 f64; store `k` writes lanes 4k..4k+4, unaligned.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr().add(4 * k), *a) };
    }
    let mut m = [0f32; 8];
    let mut n = [0f32; 8];
    // SAFETY: `m` and `n` hold 8 f32 each; unaligned stores.
    unsafe {
        _mm256_storeu_ps(m.as_mut_ptr(), vmax);
        _mm256_storeu_ps(n.as_mut_ptr(), vmin);
    }
    let mut max_abs = m.iter().fold(0f32, |a, &b| a.max(b));
    let mut min_nonzero = n.iter().fold(f32::INFINITY, |a, &b| a.min(b));
    let mut all_finite = _mm256_movemask_ps(bad) == 0;
    for (i, &w) in rest.iter().enumerate() {
        let a = w.abs();
        lanes[i] += a as f64;
        all_finite &= a <= f32::MAX;
        max_abs = max_abs.max(a);
        if a != 0.0 {
            min_nonzero = min_nonzero.min(a);
        }
    }
    AbsStats {
        sum: fold_lanes(lanes),
        max_abs,
        min_nonzero,
        all_finite,
    }
}

/// [`i2s::quantize_body`].
#[target_feature(enable = "avx2,fma,f16c")]
pub fn encode_i2s(src: &[f32], half: f32, dst: &mut [u8]) {
    let (xs, _) = src.as_chunks::<8>();
    let (hi, lo) = (_mm256_set1_ps(half), _mm256_set1_ps(-half));
    let shifts = [0, 1, 2, 3].map(i2s::plane_shift);
    for (x, out) in xs
        .chunks_exact(16)
        .zip(dst.chunks_exact_mut(i2s::BLOCK_BYTES))
    {
        st32b(out, pack_planes(x, shifts, None, hi, lo));
    }
}

/// Pair indices `3 c(w0) + c(w1)` of 64 values as 32 bytes in pair order.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn tl1_pairs(x: &[[f32; 8]], hi: __m256, lo: __m256) -> __m256i {
    let weights = _mm256_set1_epi16(0x0103);
    let a = _mm256_maddubs_epi16(codes32(x, None, hi, lo), weights);
    let b = _mm256_maddubs_epi16(codes32(&x[4..], None, hi, lo), weights);
    _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi16(a, b))
}

/// [`tl1::quantize_body`].
#[target_feature(enable = "avx2,fma,f16c")]
pub fn encode_tl1(src: &[f32], half: f32, dst: &mut [u8]) {
    let (xs, _) = src.as_chunks::<8>();
    let (hi, lo) = (_mm256_set1_ps(half), _mm256_set1_ps(-half));
    for (x, out) in xs
        .chunks_exact(16)
        .zip(dst.chunks_exact_mut(tl1::BLOCK_BYTES))
    {
        let first = tl1_pairs(x, hi, lo);
        let second = tl1_pairs(&x[8..], hi, lo);
        st32b(out, _mm256_or_si256(first, _mm256_slli_epi16::<4>(second)));
    }
}

/// [`tl2::quantize_body`]: codes with SIMD, triples through a 27-entry table.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn encode_tl2(src: &[f32], cols: usize, half: f32, dst: &mut [u8]) {
    let lay = tl2::RowLayout::new(cols);
    let (hi, lo) = (_mm256_set1_ps(half), _mm256_set1_ps(-half));
    let enc = tables::TL2_ENCODE;
    let mut c = [0u8; tl2::BLOCK];
    let mut t = [0i8; tl2::BLOCK];
    for (row, out) in src
        .chunks_exact(cols)
        .zip(dst.chunks_exact_mut(lay.row_bytes))
    {
        let (xs, _) = row.as_chunks::<8>();
        let (mags, rest) = out.split_at_mut(lay.signs_at);
        let (signs, tail) = rest.split_at_mut(lay.tail_at - lay.signs_at);
        for b in 0..lay.blocks {
            let x = &xs[12 * b..12 * b + 12];
            for g in 0..3 {
                st32b(&mut c[32 * g..], codes32(&x[4 * g..], None, hi, lo));
            }
            let mut word = 0u32;
            let mut m = [0u8; tl2::TRIPLES];
            for (k, mk) in m.iter_mut().enumerate() {
                let e =
                    enc[9 * c[3 * k] as usize + 3 * c[3 * k + 1] as usize + c[3 * k + 2] as usize];
                *mk = e & 15;
                word |= ((e >> 4) as u32) << k;
            }
            for (l, o) in mags[b * tl2::MAG_BYTES..(b + 1) * tl2::MAG_BYTES]
                .iter_mut()
                .enumerate()
            {
                *o = m[l] | m[l + 16] << 4;
            }
            signs[b * tl2::SIGN_BYTES..(b + 1) * tl2::SIGN_BYTES]
                .copy_from_slice(&word.to_le_bytes());
        }
        let tx = &row[lay.blocks * tl2::BLOCK..];
        let tt = &mut t[..tx.len()];
        for (ti, &w) in tt.iter_mut().zip(tx) {
            *ti = ternarize(w, half);
        }
        tl1::encode_run(tt, tail);
    }
}

/// [`i2s::dequantize_body`].
#[target_feature(enable = "avx2,fma,f16c")]
pub fn decode_i2s(src: &[u8], table: &[f32; 3], dst: &mut [f32]) -> Result<(), usize> {
    let t = table8(table);
    let shifts = [0, 1, 2, 3].map(i2s::plane_shift);
    let mut bad = false;
    for (b, y) in src
        .chunks_exact(i2s::BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(i2s::BLOCK))
    {
        bad |= has_code3(ld32b(b));
        unpack_planes(b, shifts, t, y);
    }
    if bad {
        return i2s::dequantize_body(src, table, dst);
    }
    Ok(())
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn bcast16(t: &[u8; 16]) -> __m256i {
    _mm256_broadcastsi128_si256(ld16b(t))
}

/// Floats of 64 weights from 32 TL1 indices (one per byte).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn tl1_nibbles(nib: __m256i, c0: __m256i, c1: __m256i, t: __m256, y: &mut [f32]) {
    let a = _mm256_shuffle_epi8(c0, nib);
    let b = _mm256_shuffle_epi8(c1, nib);
    // unpacklo: pairs 0..8 | 16..24; unpackhi: pairs 8..16 | 24..32.
    let lo = _mm256_unpacklo_epi8(a, b);
    let hi = _mm256_unpackhi_epi8(a, b);
    codes16_to_f32(_mm256_castsi256_si128(lo), t, &mut y[0..]);
    codes16_to_f32(_mm256_castsi256_si128(hi), t, &mut y[16..]);
    codes16_to_f32(_mm256_extracti128_si256::<1>(lo), t, &mut y[32..]);
    codes16_to_f32(_mm256_extracti128_si256::<1>(hi), t, &mut y[48..]);
}

/// [`tl1::dequantize_body`].
#[target_feature(enable = "avx2,fma,f16c")]
pub fn decode_tl1(src: &[u8], table: &[f32; 3], dst: &mut [f32]) -> Result<(), usize> {
    let t = table8(table);
    let (c0, c1) = tables::TL1_CODES;
    let (c0, c1) = (bcast16(&c0), bcast16(&c1));
    let mask = _mm256_set1_epi8(0x0f);
    let eight = _mm256_set1_epi8(tl1::MAX_INDEX as i8);
    let mut bad = _mm256_setzero_si256();
    for (b, y) in src
        .chunks_exact(tl1::BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(tl1::BLOCK))
    {
        let v = ld32b(b);
        let lo = _mm256_and_si256(v, mask);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask);
        bad = _mm256_or_si256(bad, _mm256_cmpgt_epi8(_mm256_max_epu8(lo, hi), eight));
        tl1_nibbles(lo, c0, c1, t, &mut y[..64]);
        tl1_nibbles(hi, c0, c1, t, &mut y[64..]);
    }
    if _mm256_movemask_epi8(bad) != 0 {
        return tl1::dequantize_body(src, table, dst);
    }
    Ok(())
}

/// Constants of [`decode_tl2`] for the six 16-weight groups of a block:
/// group `h` covers weights `16 h..16 h + 16`, i.e. triples from
/// `start(h) = 16 h / 3` on. `rep[h]` picks, for each weight, its triple
/// within a 16-byte window at `start(h)`; `j1[h]` / `j2[h]` mark the weights
/// that are the second / third of their triple.
struct Tl2Groups {
    rep: [__m128i; 6],
    j1: [__m128i; 6],
    j2: [__m128i; 6],
}

impl Tl2Groups {
    const fn start(h: usize) -> usize {
        16 * h / 3
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn new() -> Self {
        let mut g = Tl2Groups {
            rep: [_mm_setzero_si128(); 6],
            j1: [_mm_setzero_si128(); 6],
            j2: [_mm_setzero_si128(); 6],
        };
        for h in 0..6 {
            let (mut rep, mut j1, mut j2) = ([0u8; 16], [0u8; 16], [0u8; 16]);
            for l in 0..16 {
                let w = 16 * h + l;
                rep[l] = (w / 3 - Self::start(h)) as u8;
                j1[l] = if w % 3 == 1 { 0xff } else { 0 };
                j2[l] = if w % 3 == 2 { 0xff } else { 0 };
            }
            g.rep[h] = ld16b(&rep);
            g.j1[h] = ld16b(&j1);
            g.j2[h] = ld16b(&j2);
        }
        g
    }
}

/// [`tl2::dequantize_body`] with byte shuffles: per block the 32 magnitudes
/// and sign bytes go to small stack buffers; each 16-weight group gathers
/// its triples' magnitudes (`pshufb`), looks up the code of weight `j` of
/// the triple in three 16-entry tables ([`tables::TL2_CODES`] at sign 0),
/// negates where the sign is set (`2 - c`) and widens the codes to floats.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn decode_tl2(src: &[u8], cols: usize, table: &[f32; 3], dst: &mut [f32]) -> Result<(), usize> {
    let lay = tl2::RowLayout::new(cols);
    let t = table8(table);
    let dec = tables::TL2_CODES;
    let codes_at_sign0 = [0, 1, 2].map(|j| ld16b(&dec[j][..16]));
    let groups = Tl2Groups::new();
    let (nibble, thirteen, two) = (
        _mm_set1_epi8(0x0f),
        _mm_set1_epi8(tl2::MAX_MAGNITUDE as i8),
        _mm_set1_epi8(2),
    );
    let bit = _mm_set_epi8(-128, 64, 32, 16, 8, 4, 2, 1, -128, 64, 32, 16, 8, 4, 2, 1);
    let spread_lo = _mm_set_epi8(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    let spread_hi = _mm_set_epi8(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2);
    // Triple k's magnitude / sign byte at k; padded so every window fits.
    let (mut mbuf, mut sbuf) = ([0u8; 48], [0u8; 48]);
    let mut bad = _mm_setzero_si128();
    for (b, y) in src
        .chunks_exact(lay.row_bytes)
        .zip(dst.chunks_exact_mut(cols))
    {
        let (body, _) = y.split_at_mut(lay.blocks * tl2::BLOCK);
        for (blk, yb) in body.chunks_exact_mut(tl2::BLOCK).enumerate() {
            let mags = ld16b(&b[blk * tl2::MAG_BYTES..]);
            let lo = _mm_and_si128(mags, nibble);
            let hi = _mm_and_si128(_mm_srli_epi16::<4>(mags), nibble);
            bad = _mm_or_si128(bad, _mm_cmpgt_epi8(_mm_max_epu8(lo, hi), thirteen));
            st16b(&mut mbuf[..16], lo);
            st16b(&mut mbuf[16..32], hi);
            let s = &b[lay.signs_at + blk * tl2::SIGN_BYTES..];
            let word = _mm_set1_epi32(i32::from_le_bytes([s[0], s[1], s[2], s[3]]));
            for (half, spread) in [spread_lo, spread_hi].into_iter().enumerate() {
                let bits = _mm_and_si128(_mm_shuffle_epi8(word, spread), bit);
                st16b(&mut sbuf[16 * half..], _mm_cmpeq_epi8(bits, bit));
            }
            for (h, yg) in yb.chunks_exact_mut(16).enumerate() {
                let at = Tl2Groups::start(h);
                let m = _mm_shuffle_epi8(ld16b(&mbuf[at..]), groups.rep[h]);
                let neg = _mm_shuffle_epi8(ld16b(&sbuf[at..]), groups.rep[h]);
                let c = _mm_shuffle_epi8(codes_at_sign0[0], m);
                let c = _mm_blendv_epi8(c, _mm_shuffle_epi8(codes_at_sign0[1], m), groups.j1[h]);
                let c = _mm_blendv_epi8(c, _mm_shuffle_epi8(codes_at_sign0[2], m), groups.j2[h]);
                let c = _mm_blendv_epi8(c, _mm_sub_epi8(two, c), neg);
                codes16_to_f32(c, t, yg);
            }
        }
        let tail0 = lay.blocks * tl2::BLOCK;
        if tl1::dequantize_runs(
            &b[lay.tail_at..],
            lay.tail_weights / 4,
            table,
            &mut y[tail0..],
        )
        .is_err()
        {
            bad = _mm_set1_epi8(-1);
        }
    }
    if _mm_movemask_epi8(bad) != 0 {
        return tl2::dequantize_body(src, cols, table, dst);
    }
    Ok(())
}

// ------------------------------------------------------------- TQ formats

/// Absmax of a 256-block (32 chunks of 8) and whether it is all finite.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn block_absmax(x: &[[f32; 8]]) -> (f32, bool) {
    let sign = _mm256_set1_ps(-0.0);
    let fmax = _mm256_set1_ps(f32::MAX);
    let mut vmax = _mm256_setzero_ps();
    let mut bad = _mm256_setzero_ps();
    for c in x {
        let a = _mm256_andnot_ps(sign, ld(c));
        vmax = _mm256_max_ps(vmax, a);
        bad = _mm256_or_ps(bad, _mm256_cmp_ps::<_CMP_NLE_UQ>(a, fmax));
    }
    let mut m = [0f32; 8];
    // SAFETY: `m` holds 8 f32; unaligned store.
    unsafe { _mm256_storeu_ps(m.as_mut_ptr(), vmax) };
    (
        m.iter().fold(0f32, |a, &b| a.max(b)),
        _mm256_movemask_ps(bad) == 0,
    )
}

/// [`tq2_0::quantize_body`]; `false` when some value is not finite.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn quantize_tq2(src: &[f32], dst: &mut [u8]) -> bool {
    let (xs, _) = src.as_chunks::<8>();
    let (hi, lo) = (_mm256_set1_ps(0.5), _mm256_set1_ps(-0.5));
    for (x, out) in xs
        .chunks_exact(32)
        .zip(dst.chunks_exact_mut(tq2_0::BLOCK_BYTES))
    {
        let (d, finite) = block_absmax(x);
        if !finite {
            return false;
        }
        let id = _mm256_set1_ps(tq_common::inverse(d));
        for h in 0..2 {
            st32b(
                &mut out[32 * h..],
                pack_planes(&x[16 * h..], [0, 2, 4, 6], Some(id), hi, lo),
            );
        }
        out[tq2_0::SCALE_AT..].copy_from_slice(&tq_common::scale_bytes(d));
    }
    true
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn times3_256(x: __m256i) -> __m256i {
    _mm256_add_epi8(x, _mm256_add_epi8(x, x))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn times3_128(x: __m128i) -> __m128i {
    _mm_add_epi8(x, _mm_add_epi8(x, x))
}

/// TQ1_0's stored byte of 16 values in 16-bit lanes (see [`tables::TQ1_DIV_MUL`]).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn tq1_store16(v: __m128i) -> __m256i {
    let w = _mm256_cvtepu8_epi16(v);
    let t = _mm256_add_epi16(
        _mm256_mullo_epi16(w, _mm256_set1_epi16(13)),
        _mm256_set1_epi16(242),
    );
    let q = _mm256_srli_epi16::<{ tables::TQ1_DIV_SHIFT as i32 }>(_mm256_mulhi_epu16(
        t,
        _mm256_set1_epi16(tables::TQ1_DIV_MUL as i16),
    ));
    _mm256_add_epi16(w, q)
}

/// 32 stored bytes of 32 base-3 values.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn tq1_store32(v: __m256i) -> __m256i {
    let a = tq1_store16(_mm256_castsi256_si128(v));
    let b = tq1_store16(_mm256_extracti128_si256::<1>(v));
    _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi16(a, b))
}

/// [`tq1_0::quantize_body`]; `false` when some value is not finite.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn quantize_tq1(src: &[f32], dst: &mut [u8]) -> bool {
    let (xs, _) = src.as_chunks::<8>();
    let (hi, lo) = (_mm256_set1_ps(0.5), _mm256_set1_ps(-0.5));
    for (x, out) in xs
        .chunks_exact(32)
        .zip(dst.chunks_exact_mut(tq1_0::BLOCK_BYTES))
    {
        let (d, finite) = block_absmax(x);
        if !finite {
            return false;
        }
        let id = _mm256_set1_ps(tq_common::inverse(d));
        let mut ch = [_mm256_setzero_si256(); 8];
        for (i, c) in ch.iter_mut().enumerate() {
            *c = codes32(&x[4 * i..], Some(id), hi, lo);
        }
        // Bytes 0..32: digits are the 32-weight planes 0..5.
        let mut a = ch[0];
        for p in &ch[1..5] {
            a = _mm256_add_epi8(times3_256(a), *p);
        }
        // Bytes 32..48: 16-weight planes from weight 160.
        let quarters = [
            _mm256_castsi256_si128(ch[5]),
            _mm256_extracti128_si256::<1>(ch[5]),
            _mm256_castsi256_si128(ch[6]),
            _mm256_extracti128_si256::<1>(ch[6]),
            _mm256_castsi256_si128(ch[7]),
        ];
        let mut b = quarters[0];
        for p in &quarters[1..] {
            b = _mm_add_epi8(times3_128(b), *p);
        }
        // Bytes 48..52: weights 240..256, digit k of byte j is weight 240 + 4k + j.
        let c = _mm256_extracti128_si256::<1>(ch[7]);
        let mut cv = c;
        cv = _mm_add_epi8(times3_128(cv), _mm_bsrli_si128::<4>(c));
        cv = _mm_add_epi8(times3_128(cv), _mm_bsrli_si128::<8>(c));
        cv = _mm_add_epi8(times3_128(cv), _mm_bsrli_si128::<12>(c));
        cv = times3_128(cv);
        st32b(&mut out[..32], tq1_store32(a));
        let mut tail = [0u8; 32];
        st32b(&mut tail, tq1_store32(_mm256_set_m128i(cv, b)));
        out[32..tq1_0::SCALE_AT].copy_from_slice(&tail[..tq1_0::SCALE_AT - 32]);
        out[tq1_0::SCALE_AT..].copy_from_slice(&tq_common::scale_bytes(d));
    }
    true
}

/// Scale of a TQ block as a `vpermps` table, or `None` when not finite.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn tq_table(b: &[u8], at: usize) -> Option<__m256> {
    let d = tq_common::scale_value([b[at], b[at + 1]]);
    d.is_finite().then(|| table8(&value_table(d)))
}

/// [`crate::quant::dispatch::tq_dequantize`] for TQ2_0.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn dequantize_tq2(src: &[u8], dst: &mut [f32]) -> Result<(), TqFault> {
    let mut ok = true;
    for (b, y) in src
        .chunks_exact(tq2_0::BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(tq2_0::BLOCK))
    {
        let Some(t) = tq_table(b, tq2_0::SCALE_AT) else {
            ok = false;
            break;
        };
        for h in 0..2 {
            ok &= !has_code3(ld32b(&b[32 * h..]));
            unpack_planes(&b[32 * h..], [0, 2, 4, 6], t, &mut y[128 * h..]);
        }
    }
    if ok {
        Ok(())
    } else {
        tq_dequantize_scalar(BlockCodec::TQ2_0, src, dst)
    }
}

/// Trits `k = 0..5` of 16 TQ1_0 bytes as 5 x 16 codes at `codes[16 k..]`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn tq1_digits16(v: __m128i, codes: &mut [u8], stride: usize) {
    let w = _mm256_cvtepu8_epi16(v);
    let low = _mm256_set1_epi16(0xff);
    let mut pow = 1i16;
    for k in 0..5 {
        let x = _mm256_and_si256(_mm256_mullo_epi16(w, _mm256_set1_epi16(pow)), low);
        let c = _mm256_srli_epi16::<8>(_mm256_add_epi16(x, _mm256_add_epi16(x, x)));
        let packed = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi16(c, c));
        st16b(&mut codes[stride * k..], _mm256_castsi256_si128(packed));
        pow *= 3;
    }
}

/// [`crate::quant::dispatch::tq_dequantize`] for TQ1_0.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn dequantize_tq1(src: &[u8], dst: &mut [f32]) -> Result<(), TqFault> {
    let mut codes = [0u8; tq_common::BLOCK];
    for (bi, (b, y)) in src
        .chunks_exact(tq1_0::BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(tq1_0::BLOCK))
        .enumerate()
    {
        let Some(t) = tq_table(b, tq1_0::SCALE_AT) else {
            return Err(TqFault::Scale(bi));
        };
        tq1_digits16(ld16b(b), &mut codes, 32);
        tq1_digits16(ld16b(&b[16..]), &mut codes[16..], 32);
        tq1_digits16(ld16b(&b[32..]), &mut codes[160..], 16);
        for (j, &v) in b[48..tq1_0::SCALE_AT].iter().enumerate() {
            for k in 0..4 {
                codes[240 + 4 * k + j] = tq1_0::digit(v, k as u32);
            }
        }
        for (i, yc) in y.chunks_exact_mut(16).enumerate() {
            codes16_to_f32(ld16b(&codes[16 * i..]), t, yc);
        }
    }
    Ok(())
}
