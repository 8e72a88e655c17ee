//! AVX-512 (F/BW/VL/DQ) paths.
//!
//! Quantizers compare 16 floats at a time into bit masks (`P`: code +1,
//! `Z`: code 0) and turn masks into packed bytes with `vmovdqu8` under mask;
//! dequantizers turn 2-bit codes into floats with `vpermps` from a 16-entry
//! table of `t x scale`. Every function is bit-identical to the scalar
//! reference named in its doc.

use core::arch::x86_64::*;

use super::tables;
use crate::quant::codes::{ternarize, value_table};
use crate::quant::dispatch::{tq_dequantize_scalar, BlockCodec, TqFault};
use crate::quant::tensor_scale::{fold_lanes, AbsStats, LANES};
use crate::quant::{i2s, tl1, tl2, tq1_0, tq2_0, tq_common};

// ---------------------------------------------------------------- helpers

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn ld(x: &[f32; 16]) -> __m512 {
    // SAFETY: `x` is 64 readable bytes; loadu has no alignment requirement.
    unsafe { _mm512_loadu_ps(x.as_ptr()) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn st(y: &mut [f32], v: __m512) {
    assert!(y.len() >= 16);
    // SAFETY: checked above that `y` has 16 writable floats; storeu is unaligned.
    unsafe { _mm512_storeu_ps(y.as_mut_ptr(), v) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn ld16b(b: &[u8]) -> __m128i {
    assert!(b.len() >= 16);
    // SAFETY: checked above that 16 bytes are readable; loadu is unaligned.
    unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn ld32b(b: &[u8]) -> __m256i {
    assert!(b.len() >= 32);
    // SAFETY: checked above that 32 bytes are readable; loadu is unaligned.
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn st16b(out: &mut [u8], v: __m128i) {
    assert!(out.len() >= 16);
    // SAFETY: checked above that 16 bytes are writable; storeu is unaligned.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), v) }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn st32b(out: &mut [u8], v: __m256i) {
    assert!(out.len() >= 32);
    // SAFETY: checked above that 32 bytes are writable; storeu is unaligned.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) }
}

/// `(P, Z)` masks of 16 values: `P` where `v * mul >= hi`, `Z` where
/// neither `>= hi` nor `<= lo` (NaN products land in `Z`, like the scalar
/// comparisons).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn pz(v: __m512, mul: __m512, hi: __m512, lo: __m512) -> (u16, u16) {
    let p = _mm512_mul_ps(v, mul);
    let pos = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(p, hi);
    let neg = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(p, lo);
    (pos, !(pos | neg))
}

/// [`pz`] without the product, for absmean thresholds.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn pz1(v: __m512, hi: __m512, lo: __m512) -> (u16, u16) {
    let pos = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(v, hi);
    let neg = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(v, lo);
    (pos, !(pos | neg))
}

/// `(P, Z)` of 32 consecutive values `x[0]`, `x[1]`, scaled by `mul` first
/// when given (TQ) or compared as they are (absmean).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn pz32(x: &[[f32; 16]], mul: Option<__m512>, hi: __m512, lo: __m512) -> (u32, u32) {
    let ((p0, z0), (p1, z1)) = match mul {
        Some(m) => (pz(ld(&x[0]), m, hi, lo), pz(ld(&x[1]), m, hi, lo)),
        None => (pz1(ld(&x[0]), hi, lo), pz1(ld(&x[1]), hi, lo)),
    };
    (p0 as u32 | (p1 as u32) << 16, z0 as u32 | (z1 as u32) << 16)
}

/// 32 bytes holding the 2-bit code `2P + Z` of 32 values at bit `shift`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn plane_bits(p: u32, z: u32, shift: u32) -> __m256i {
    let hi = _mm256_maskz_mov_epi8(p, _mm256_set1_epi8((2u8 << shift) as i8));
    let lo = _mm256_maskz_mov_epi8(z, _mm256_set1_epi8((1u8 << shift) as i8));
    _mm256_or_si256(hi, lo)
}

/// Four planes of 32 values (`x` = 8 chunks of 16) packed 2 bits each at
/// `shifts[p]`: I2S (6, 4, 2, 0) and TQ2_0 halves (0, 2, 4, 6).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn pack_planes(
    x: &[[f32; 16]],
    shifts: [u32; 4],
    mul: Option<__m512>,
    hi: __m512,
    lo: __m512,
) -> __m256i {
    let mut acc = _mm256_setzero_si256();
    for (p, &s) in shifts.iter().enumerate() {
        let (pm, zm) = pz32(&x[2 * p..], mul, hi, lo);
        acc = _mm256_or_si256(acc, plane_bits(pm, zm, s));
    }
    acc
}

/// `vpermps` table: lane `i` is `table[i & 3]` (code 3 maps to lane 2's
/// value; the decoders reject code 3 before trusting the output).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn table16(t: &[f32; 3]) -> __m512 {
    let mut lanes = [0f32; 16];
    for (i, l) in lanes.iter_mut().enumerate() {
        *l = t[(i & 3).min(2)];
    }
    ld(&lanes)
}

/// Dequantizes 16 code bytes (`0..=2`) at `codes` into `y`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn codes16_to_f32(codes: __m128i, t: __m512, y: &mut [f32]) {
    let idx = _mm512_cvtepu8_epi32(codes);
    st(y, _mm512_permutexvar_ps(idx, t));
}

/// Whether any byte of `v` holds a 2-bit field equal to 3 (unused code).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn has_code3(v: __m256i) -> bool {
    let both = _mm256_and_si256(v, _mm256_srli_epi16::<1>(v));
    _mm256_test_epi8_mask(both, _mm256_set1_epi8(0x55)) != 0
}

// ----------------------------------------------------- tensor-scale formats

/// [`crate::quant::tensor_scale::abs_stats`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
pub fn abs_stats(src: &[f32]) -> AbsStats {
    let (chunks, rest) = src.as_chunks::<16>();
    let zero = _mm512_setzero_ps();
    let fmax = _mm512_set1_ps(f32::MAX);
    let mut acc_lo = _mm512_setzero_pd();
    let mut acc_hi = _mm512_setzero_pd();
    let mut vmax = zero;
    let mut vmin = _mm512_set1_ps(f32::INFINITY);
    let mut bad: u16 = 0;
    for c in chunks {
        let a = _mm512_abs_ps(ld(c));
        acc_lo = _mm512_add_pd(acc_lo, _mm512_cvtps_pd(_mm512_castps512_ps256(a)));
        acc_hi = _mm512_add_pd(acc_hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps::<1>(a)));
        vmax = _mm512_max_ps(vmax, a);
        let nz = _mm512_cmp_ps_mask::<_CMP_NEQ_OQ>(a, zero);
        vmin = _mm512_mask_min_ps(vmin, nz, vmin, a);
        bad |= _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(a, fmax);
    }
    let mut lanes = [0f64; LANES];
    // SAFETY: `lanes` holds 16 f64; each store writes 8 of them, unaligned.
    unsafe {
        _mm512_storeu_pd(lanes.as_mut_ptr(), acc_lo);
        _mm512_storeu_pd(lanes.as_mut_ptr().add(8), acc_hi);
    }
    let mut max_abs = _mm512_reduce_max_ps(vmax);
    let mut min_nonzero = _mm512_reduce_min_ps(vmin);
    let mut all_finite = bad == 0;
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
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
pub fn encode_i2s(src: &[f32], half: f32, dst: &mut [u8]) {
    let (xs, _) = src.as_chunks::<16>();
    let (hi, lo) = (_mm512_set1_ps(half), _mm512_set1_ps(-half));
    let shifts = [0, 1, 2, 3].map(i2s::plane_shift);
    for (x, out) in xs
        .chunks_exact(8)
        .zip(dst.chunks_exact_mut(i2s::BLOCK_BYTES))
    {
        st32b(out, pack_planes(x, shifts, None, hi, lo));
    }
}

/// Even (`EVEN`) / odd (`ODD`) lanes of two concatenated registers.
const EVEN: [i32; 16] = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30];
const ODD: [i32; 16] = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31];

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn idx16(i: &[i32; 16]) -> __m512i {
    // SAFETY: `i` is 16 readable i32; loadu is unaligned.
    unsafe { _mm512_loadu_si512(i.as_ptr().cast()) }
}

/// TL1 indices of a run of 128 values (64 pairs) as 32 packed bytes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn tl1_block(x: &[[f32; 16]], hi: __m512, lo: __m512) -> __m256i {
    let (even, odd) = (idx16(&EVEN), idx16(&ODD));
    let (mut pe, mut ze, mut po, mut zo) = (0u64, 0u64, 0u64, 0u64);
    for g in 0..4 {
        let (a, b) = (ld(&x[2 * g]), ld(&x[2 * g + 1]));
        let (p, z) = pz1(_mm512_permutex2var_ps(a, even, b), hi, lo);
        pe |= (p as u64) << (16 * g);
        ze |= (z as u64) << (16 * g);
        let (p, z) = pz1(_mm512_permutex2var_ps(a, odd, b), hi, lo);
        po |= (p as u64) << (16 * g);
        zo |= (z as u64) << (16 * g);
    }
    // Byte i = index of pair i: 3 c(w0) + c(w1) with c = 2P + Z.
    let first = _mm512_or_si512(
        _mm512_maskz_mov_epi8(pe, _mm512_set1_epi8(6)),
        _mm512_maskz_mov_epi8(ze, _mm512_set1_epi8(3)),
    );
    let second = _mm512_or_si512(
        _mm512_maskz_mov_epi8(po, _mm512_set1_epi8(2)),
        _mm512_maskz_mov_epi8(zo, _mm512_set1_epi8(1)),
    );
    let idx = _mm512_add_epi8(first, second);
    let low = _mm512_castsi512_si256(idx);
    let high = _mm512_extracti64x4_epi64::<1>(idx);
    _mm256_or_si256(low, _mm256_slli_epi16::<4>(high))
}

/// [`tl1::quantize_body`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
pub fn encode_tl1(src: &[f32], half: f32, dst: &mut [u8]) {
    let (xs, _) = src.as_chunks::<16>();
    let (hi, lo) = (_mm512_set1_ps(half), _mm512_set1_ps(-half));
    for (x, out) in xs
        .chunks_exact(8)
        .zip(dst.chunks_exact_mut(tl1::BLOCK_BYTES))
    {
        st32b(out, tl1_block(x, hi, lo));
    }
}

/// Lane `k` of triple component `c` is value `3k + c` of 48 (three registers).
fn triple_gather(c: usize) -> ([i32; 16], u16) {
    let mut idx = [0i32; 16];
    let mut from_third = 0u16;
    for (k, i) in idx.iter_mut().enumerate() {
        *i = (3 * k + c) as i32;
        if *i >= 32 {
            from_third |= 1 << k;
        }
    }
    (idx, from_third)
}

/// `m | s << 4` of 16 triples (48 values) as 16 bytes, and the 16 signs.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn tl2_half(
    x: &[[f32; 16]],
    gathers: &[([i32; 16], u16); 3],
    hi: __m512,
    lo: __m512,
) -> (__m128i, u16) {
    let (r0, r1, r2) = (ld(&x[0]), ld(&x[1]), ld(&x[2]));
    let mut d = _mm512_setzero_si512();
    for (c, weight) in [9, 3, 1].into_iter().enumerate() {
        let idx = idx16(&gathers[c].0);
        let v = _mm512_permutex2var_ps(r0, idx, r1);
        let v = _mm512_mask_permutexvar_ps(v, gathers[c].1, idx, r2);
        let pos = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(v, hi);
        let neg = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(v, lo);
        let w = _mm512_set1_epi32(weight);
        d = _mm512_mask_add_epi32(d, pos, d, w);
        d = _mm512_mask_sub_epi32(d, neg, d, w);
    }
    let sign = _mm512_cmplt_epi32_mask(d, _mm512_setzero_si512());
    (_mm512_cvtepi32_epi8(_mm512_abs_epi32(d)), sign)
}

/// [`tl2::quantize_body`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
pub fn encode_tl2(src: &[f32], cols: usize, half: f32, dst: &mut [u8]) {
    let lay = tl2::RowLayout::new(cols);
    let (hi, lo) = (_mm512_set1_ps(half), _mm512_set1_ps(-half));
    let gathers = [triple_gather(0), triple_gather(1), triple_gather(2)];
    let mut t = [0i8; tl2::BLOCK];
    for (row, out) in src
        .chunks_exact(cols)
        .zip(dst.chunks_exact_mut(lay.row_bytes))
    {
        let (xs, _) = row.as_chunks::<16>();
        let (mags, rest) = out.split_at_mut(lay.signs_at);
        let (signs, tail) = rest.split_at_mut(lay.tail_at - lay.signs_at);
        for b in 0..lay.blocks {
            let x = &xs[6 * b..6 * b + 6];
            let (m0, s0) = tl2_half(&x[..3], &gathers, hi, lo);
            let (m1, s1) = tl2_half(&x[3..], &gathers, hi, lo);
            st16b(
                &mut mags[b * tl2::MAG_BYTES..],
                _mm_or_si128(m0, _mm_slli_epi16::<4>(m1)),
            );
            let word = s0 as u32 | (s1 as u32) << 16;
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
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
pub fn decode_i2s(src: &[u8], table: &[f32; 3], dst: &mut [f32]) -> Result<(), usize> {
    let t = table16(table);
    let mut bad = false;
    for (b, y) in src
        .chunks_exact(i2s::BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(i2s::BLOCK))
    {
        bad |= has_code3(ld32b(b));
        for h in 0..2 {
            let w = _mm512_cvtepu8_epi32(ld16b(&b[16 * h..]));
            for p in 0..4 {
                let s = _mm_cvtsi32_si128(i2s::plane_shift(p) as i32);
                let idx = _mm512_srl_epi32(w, s);
                st(&mut y[32 * p + 16 * h..], _mm512_permutexvar_ps(idx, t));
            }
        }
    }
    if bad {
        return i2s::dequantize_body(src, table, dst);
    }
    Ok(())
}

/// Per-lane codes of 32 TL1 indices (`nib`, one per byte) as the codes of
/// 64 weights in order, written to `y` as floats.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn tl1_nibbles(nib: __m256i, c0: __m256i, c1: __m256i, t: __m512, y: &mut [f32]) {
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

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn bcast16(t: &[u8; 16]) -> __m256i {
    _mm256_broadcastsi128_si256(ld16b(t))
}

/// TL1 runs of `run_bytes` bytes (a multiple of 32), or scalar for shorter runs.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn decode_tl1_blocks(src: &[u8], table: &[f32; 3], dst: &mut [f32]) -> bool {
    let t = table16(table);
    let (c0, c1) = tables::tl1_code_tables();
    let (c0, c1) = (bcast16(&c0), bcast16(&c1));
    let mask = _mm256_set1_epi8(0x0f);
    let eight = _mm256_set1_epi8(tl1::MAX_INDEX as i8);
    let mut bad = 0u32;
    for (b, y) in src
        .chunks_exact(tl1::BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(tl1::BLOCK))
    {
        let v = ld32b(b);
        let lo = _mm256_and_si256(v, mask);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask);
        bad |= _mm256_cmpgt_epu8_mask(lo, eight) | _mm256_cmpgt_epu8_mask(hi, eight);
        tl1_nibbles(lo, c0, c1, t, &mut y[..64]);
        tl1_nibbles(hi, c0, c1, t, &mut y[64..]);
    }
    bad == 0
}

/// [`tl1::dequantize_body`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
pub fn decode_tl1(src: &[u8], table: &[f32; 3], dst: &mut [f32]) -> Result<(), usize> {
    if decode_tl1_blocks(src, table, dst) {
        Ok(())
    } else {
        tl1::dequantize_body(src, table, dst)
    }
}

/// Lane `j` of output register `r` (of 3 per 16 triples) takes triple
/// `(16 r + j) / 3`, weight `(16 r + j) % 3` of it.
fn tl2_out_lanes(r: usize) -> ([i32; 16], u16, u16) {
    let mut idx = [0i32; 16];
    let (mut k1, mut k2) = (0u16, 0u16);
    for (j, i) in idx.iter_mut().enumerate() {
        let q = 16 * r + j;
        *i = (q / 3) as i32;
        match q % 3 {
            1 => k1 |= 1 << j,
            2 => k2 |= 1 << j,
            _ => {}
        }
    }
    (idx, k1, k2)
}

/// [`tl2::dequantize_body`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
pub fn decode_tl2(src: &[u8], cols: usize, table: &[f32; 3], dst: &mut [f32]) -> Result<(), usize> {
    let lay = tl2::RowLayout::new(cols);
    // Per weight c of a triple: 32-entry float table indexed by m | s << 4.
    let codes = tables::tl2_code_tables();
    let mut ft = [[0f32; 32]; 3];
    for c in 0..3 {
        for i in 0..32 {
            ft[c][i] = table[codes[c][i] as usize];
        }
    }
    let mut ftv = [(_mm512_setzero_ps(), _mm512_setzero_ps()); 3];
    for (v, f) in ftv.iter_mut().zip(&ft) {
        let (halves, _) = f.as_chunks::<16>();
        *v = (ld(&halves[0]), ld(&halves[1]));
    }
    let lanes = [tl2_out_lanes(0), tl2_out_lanes(1), tl2_out_lanes(2)];
    let lane_idx = [idx16(&lanes[0].0), idx16(&lanes[1].0), idx16(&lanes[2].0)];
    let (mask, thirteen, sixteen) = (
        _mm512_set1_epi32(0x0f),
        _mm512_set1_epi32(tl2::MAX_MAGNITUDE as i32),
        _mm512_set1_epi32(16),
    );
    let mut bad = 0u16;
    for (b, y) in src
        .chunks_exact(lay.row_bytes)
        .zip(dst.chunks_exact_mut(cols))
    {
        for blk in 0..lay.blocks {
            let mz = _mm512_cvtepu8_epi32(ld16b(&b[blk * tl2::MAG_BYTES..]));
            let s = &b[lay.signs_at + blk * tl2::SIGN_BYTES..];
            let word = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
            let m = [_mm512_and_si512(mz, mask), _mm512_srli_epi32::<4>(mz)];
            let signs = [word as u16, (word >> 16) as u16];
            for q in 0..2 {
                bad |= _mm512_cmpgt_epi32_mask(m[q], thirteen);
                let cv = _mm512_mask_or_epi32(m[q], signs[q], m[q], sixteen);
                for r in 0..3 {
                    let g = _mm512_permutexvar_epi32(lane_idx[r], cv);
                    let v0 = _mm512_permutex2var_ps(ftv[0].0, g, ftv[0].1);
                    let v1 = _mm512_permutex2var_ps(ftv[1].0, g, ftv[1].1);
                    let v2 = _mm512_permutex2var_ps(ftv[2].0, g, ftv[2].1);
                    let v = _mm512_mask_blend_ps(lanes[r].1, v0, v1);
                    let v = _mm512_mask_blend_ps(lanes[r].2, v, v2);
                    st(&mut y[blk * tl2::BLOCK + 48 * q + 16 * r..], v);
                }
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
            bad = 1;
        }
    }
    if bad != 0 {
        return tl2::dequantize_body(src, cols, table, dst);
    }
    Ok(())
}

// ------------------------------------------------------------- TQ formats

/// Absmax of a 256-block and whether it is all finite.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn block_absmax(x: &[[f32; 16]]) -> (f32, bool) {
    let fmax = _mm512_set1_ps(f32::MAX);
    let mut vmax = _mm512_setzero_ps();
    let mut bad = 0u16;
    for c in x {
        let a = _mm512_abs_ps(ld(c));
        vmax = _mm512_max_ps(vmax, a);
        bad |= _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(a, fmax);
    }
    (_mm512_reduce_max_ps(vmax), bad == 0)
}

/// [`tq2_0::quantize_body`]; `false` when some value is not finite.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
pub fn quantize_tq2(src: &[f32], dst: &mut [u8]) -> bool {
    let (xs, _) = src.as_chunks::<16>();
    let (hi, lo) = (_mm512_set1_ps(0.5), _mm512_set1_ps(-0.5));
    for (x, out) in xs
        .chunks_exact(16)
        .zip(dst.chunks_exact_mut(tq2_0::BLOCK_BYTES))
    {
        let (d, finite) = block_absmax(x);
        if !finite {
            return false;
        }
        let id = _mm512_set1_ps(tq_common::inverse(d));
        for h in 0..2 {
            st32b(
                &mut out[32 * h..],
                pack_planes(&x[8 * h..], [0, 2, 4, 6], Some(id), hi, lo),
            );
        }
        out[tq2_0::SCALE_AT..].copy_from_slice(&tq_common::scale_bytes(d));
    }
    true
}

/// `3 x` for byte lanes holding at most 85.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn times3_256(x: __m256i) -> __m256i {
    _mm256_add_epi8(x, _mm256_add_epi8(x, x))
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn times3_128(x: __m128i) -> __m128i {
    _mm_add_epi8(x, _mm_add_epi8(x, x))
}

/// TQ1_0's stored byte `v + ((13 v + 242) * 2158 >> 16 >> 3)` of 32 values.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn tq1_store32(v: __m256i) -> __m256i {
    let w = _mm512_cvtepu8_epi16(v);
    let t = _mm512_add_epi16(
        _mm512_mullo_epi16(w, _mm512_set1_epi16(13)),
        _mm512_set1_epi16(242),
    );
    let q = _mm512_srli_epi16::<{ tables::TQ1_DIV_SHIFT }>(_mm512_mulhi_epu16(
        t,
        _mm512_set1_epi16(tables::TQ1_DIV_MUL as i16),
    ));
    _mm512_cvtepi16_epi8(_mm512_add_epi16(w, q))
}

/// [`tq1_0::quantize_body`]; `false` when some value is not finite.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
pub fn quantize_tq1(src: &[f32], dst: &mut [u8]) -> bool {
    let (xs, _) = src.as_chunks::<16>();
    let (hi, lo) = (_mm512_set1_ps(0.5), _mm512_set1_ps(-0.5));
    for (x, out) in xs
        .chunks_exact(16)
        .zip(dst.chunks_exact_mut(tq1_0::BLOCK_BYTES))
    {
        let (d, finite) = block_absmax(x);
        if !finite {
            return false;
        }
        let id = _mm512_set1_ps(tq_common::inverse(d));
        // z[i]: codes of weights 64 i .. 64 i + 64, one byte each.
        let mut z = [_mm512_setzero_si512(); 4];
        for (i, zi) in z.iter_mut().enumerate() {
            let (p0, z0) = pz32(&x[4 * i..], Some(id), hi, lo);
            let (p1, z1) = pz32(&x[4 * i + 2..], Some(id), hi, lo);
            let p = p0 as u64 | (p1 as u64) << 32;
            let zz = z0 as u64 | (z1 as u64) << 32;
            *zi = _mm512_or_si512(
                _mm512_maskz_mov_epi8(p, _mm512_set1_epi8(2)),
                _mm512_maskz_mov_epi8(zz, _mm512_set1_epi8(1)),
            );
        }
        // Bytes 0..32: digits are the 32-weight planes 0..5.
        let planes = [
            _mm512_castsi512_si256(z[0]),
            _mm512_extracti64x4_epi64::<1>(z[0]),
            _mm512_castsi512_si256(z[1]),
            _mm512_extracti64x4_epi64::<1>(z[1]),
            _mm512_castsi512_si256(z[2]),
        ];
        let mut a = planes[0];
        for p in &planes[1..] {
            a = _mm256_add_epi8(times3_256(a), *p);
        }
        // Bytes 32..48: 16-weight planes from weight 160.
        let quarters = [
            _mm512_extracti32x4_epi32::<2>(z[2]),
            _mm512_extracti32x4_epi32::<3>(z[2]),
            _mm512_extracti32x4_epi32::<0>(z[3]),
            _mm512_extracti32x4_epi32::<1>(z[3]),
            _mm512_extracti32x4_epi32::<2>(z[3]),
        ];
        let mut b = quarters[0];
        for p in &quarters[1..] {
            b = _mm_add_epi8(times3_128(b), *p);
        }
        // Bytes 48..52: weights 240..256, digit k of byte j is weight 240 + 4k + j.
        let c = _mm512_extracti32x4_epi32::<3>(z[3]);
        let mut cv = c;
        cv = _mm_add_epi8(times3_128(cv), _mm_bsrli_si128::<4>(c));
        cv = _mm_add_epi8(times3_128(cv), _mm_bsrli_si128::<8>(c));
        cv = _mm_add_epi8(times3_128(cv), _mm_bsrli_si128::<12>(c));
        cv = times3_128(cv);
        let low = tq1_store32(a);
        let high = tq1_store32(_mm256_set_m128i(cv, b));
        st32b(&mut out[..32], low);
        let mut tail = [0u8; 32];
        st32b(&mut tail, high);
        out[32..tq1_0::SCALE_AT].copy_from_slice(&tail[..tq1_0::SCALE_AT - 32]);
        out[tq1_0::SCALE_AT..].copy_from_slice(&tq_common::scale_bytes(d));
    }
    true
}

/// Scale of a TQ block as a `vpermps` table, or `None` when not finite.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn tq_table(b: &[u8], at: usize) -> Option<__m512> {
    let d = tq_common::scale_value([b[at], b[at + 1]]);
    d.is_finite().then(|| table16(&value_table(d)))
}

/// [`crate::quant::dispatch::tq_dequantize`] for TQ2_0.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
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
            let qs = &b[32 * h..];
            ok &= !has_code3(ld32b(qs));
            for q in 0..2 {
                let w = _mm512_cvtepu8_epi32(ld16b(&qs[16 * q..]));
                for p in 0..4 {
                    let idx = _mm512_srl_epi32(w, _mm_cvtsi32_si128(2 * p as i32));
                    st(
                        &mut y[128 * h + 32 * p + 16 * q..],
                        _mm512_permutexvar_ps(idx, t),
                    );
                }
            }
        }
    }
    if ok {
        Ok(())
    } else {
        tq_dequantize_scalar(BlockCodec::TQ2_0, src, dst)
    }
}

/// Trits `k = 0..5` of 32 TQ1_0 bytes as 5 x 32 codes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn tq1_digits32(v: __m256i, codes: &mut [u8]) {
    let w = _mm512_cvtepu8_epi16(v);
    let low = _mm512_set1_epi16(0xff);
    let mut pow = 1i16;
    for k in 0..5 {
        let x = _mm512_and_si512(_mm512_mullo_epi16(w, _mm512_set1_epi16(pow)), low);
        let c = _mm512_srli_epi16::<8>(_mm512_add_epi16(x, _mm512_add_epi16(x, x)));
        st32b(&mut codes[32 * k..], _mm512_cvtepi16_epi8(c));
        pow *= 3;
    }
}

/// Trits `k = 0..5` of 16 TQ1_0 bytes as 5 x 16 codes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
fn tq1_digits16(v: __m128i, codes: &mut [u8]) {
    let w = _mm256_cvtepu8_epi16(v);
    let low = _mm256_set1_epi16(0xff);
    let mut pow = 1i16;
    for k in 0..5 {
        let x = _mm256_and_si256(_mm256_mullo_epi16(w, _mm256_set1_epi16(pow)), low);
        let c = _mm256_srli_epi16::<8>(_mm256_add_epi16(x, _mm256_add_epi16(x, x)));
        st16b(&mut codes[16 * k..], _mm256_cvtepi16_epi8(c));
        pow *= 3;
    }
}

/// [`crate::quant::dispatch::tq_dequantize`] for TQ1_0.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")]
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
        tq1_digits32(ld32b(b), &mut codes);
        tq1_digits16(ld16b(&b[32..]), &mut codes[160..]);
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
