//! Constants the SIMD paths share, derived from the format modules so the
//! layouts keep one source of truth.

use crate::quant::{tl1, tl2};

/// `ceil(v * 256 / 243)` for `v <= 242` is `v + floor((13 v + 242) / 243)`,
/// and for `w <= 13 * 242 + 242` that floor is `mulhi16(w, TQ1_DIV_MUL) >> 3`
/// (checked exhaustively in the tests below). This is TQ1_0's byte store
/// without a division, in 16-bit lanes.
pub const TQ1_DIV_MUL: u16 = 2158;
pub const TQ1_DIV_SHIFT: u32 = 3;

/// TQ1_0's stored byte through the multiply-high formula (the SIMD form).
#[cfg(test)]
#[inline(always)]
pub fn tq1_store_mulhi(v: u16) -> u16 {
    let w = v * 13 + 242;
    v + (((w as u32 * TQ1_DIV_MUL as u32) >> 16) >> TQ1_DIV_SHIFT) as u16
}

/// Per TL1 index `i` (0..16): code `w0 + 1` and code `w1 + 1`, 1 (a zero
/// weight) for the invalid indices 9..15, which the decoders reject anyway.
pub fn tl1_code_tables() -> ([u8; 16], [u8; 16]) {
    let mut c0 = [1u8; 16];
    let mut c1 = [1u8; 16];
    for i in 0..=tl1::MAX_INDEX {
        let (w0, w1) = tl1::pair_of(i);
        c0[i as usize] = (w0 + 1) as u8;
        c1[i as usize] = (w1 + 1) as u8;
    }
    (c0, c1)
}

/// Per TL2 5-bit code `m | s << 4` and weight `c` of the triple: the code
/// `w_c + 1`, 1 for magnitudes above 13 (rejected by the decoders).
pub fn tl2_code_tables() -> [[u8; 32]; 3] {
    let mut t = [[1u8; 32]; 3];
    for i in 0..32u8 {
        let (m, s) = (i & 15, i >> 4 == 1);
        if m <= tl2::MAX_MAGNITUDE {
            let w = tl2::triple_of(m, s);
            for c in 0..3 {
                t[c][i as usize] = (w[c] + 1) as u8;
            }
        }
    }
    t
}

/// Magnitude and sign (`m | s << 4`) of the triple with codes `(c0, c1, c2)`
/// indexed by `9 c0 + 3 c1 + c2`.
pub fn tl2_encode_table() -> [u8; 27] {
    let mut t = [0u8; 27];
    for (v, e) in t.iter_mut().enumerate() {
        let w = [
            (v / 9) as i8 - 1,
            ((v / 3) % 3) as i8 - 1,
            (v % 3) as i8 - 1,
        ];
        let (m, s) = tl2::triple_code(w[0], w[1], w[2]);
        *e = m | (s as u8) << 4;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::tq1_0;

    #[test]
    fn tq1_mulhi_store_equals_division_for_every_value() {
        for v in 0..=242u16 {
            assert_eq!(tq1_store_mulhi(v), tq1_0::store(v) as u16, "v = {v}");
        }
    }

    #[test]
    fn tl2_tables_invert_each_other() {
        let enc = tl2_encode_table();
        let dec = tl2_code_tables();
        for (v, &e) in enc.iter().enumerate() {
            let codes = [dec[0][e as usize], dec[1][e as usize], dec[2][e as usize]];
            assert_eq!(
                9 * codes[0] as usize + 3 * codes[1] as usize + codes[2] as usize,
                v
            );
        }
    }
}
