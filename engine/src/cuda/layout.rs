//! The GPU weight layout "W2": ternary weights repacked once at upload so the
//! W2A8 kernels read them with coalesced 16-byte loads and feed `__dp4a`
//! without any shuffling.
//!
//! Every file format (I2S, TL1, TL2) is lossless ternary plus one f32 scale,
//! so all of them become the same W2 matrix on the device: the GPU kernels
//! exist once, and a format differs only in how its bytes are unpacked on
//! upload. (bitnet.cpp's GPU path makes the same choice: it converts I2_S to
//! its own interleaved layout before inference.)
//!
//! **Word.** 16 weights of a row (a *group*) make one `u32`, 2 bits each,
//! storing `code = w + 1` (0, 1, 2). Weight `p` of the group sits in slot
//! `4 * (p % 4) + p / 4` (bitnet.cpp's interleave 0,4,8,12,1,5,...), bits
//! `2 * slot .. 2 * slot + 1`:
//!
//! ```text
//! bit   31..30 29..28 ... 9..8 7..6 5..4 3..2 1..0
//! slot    15     14   ...   4    3    2    1    0
//! p       15     11   ...   1   12    8    4    0
//! ```
//!
//! so `(word >> 2j) & 0x03030303` holds the codes of weights `4j .. 4j+3`
//! in bytes 0..3, exactly the four int8 activations of the `j`-th `int32` of
//! the group: one shift, one mask, one `__dp4a` per four weights. Codes are
//! `w + 1`, so the kernel computes `sum(code * x) - sum(x)` with `sum(x)`
//! produced once per token by the activation quantizer.
//!
//! **Row.** A row of `cols` weights has `groups = cols / 16` words. Whole
//! *super-groups* of [`SUPER_GROUPS`] groups (32 lanes x 4 words = 2048
//! weights) are stored lane-major: word `4 * lane + q` of super-group `c`
//! holds group `128 c + 32 q + lane`. A warp then loads one `uint4` per lane
//! (512 contiguous bytes) and lane `l`'s four groups read activation vectors
//! `l, l + 32, l + 64, l + 96` from shared memory: conflict-free. Groups
//! after the last whole super-group are stored in order. Rows are padded to
//! [`ROW_ALIGN_WORDS`] words so every row starts 16-byte aligned.

use super::launch::WARP;
use super::CudaError;

/// Ternary weights per `u32` word.
pub const WEIGHTS_PER_WORD: usize = 16;
/// Words one lane loads at once (`uint4`).
pub const WORDS_PER_LOAD: usize = 4;
/// Groups in one lane-major super-group.
pub const SUPER_GROUPS: usize = WARP * WORDS_PER_LOAD;
/// Row starts are aligned to this many words (16 bytes).
pub const ROW_ALIGN_WORDS: usize = WORDS_PER_LOAD;
/// Rows must be a multiple of this many weights: whole words whose
/// activation `int4` vectors are 16-byte aligned.
pub const COLS_MULTIPLE: usize = WEIGHTS_PER_WORD;

/// Bit slot (0..16) of weight `p` (0..16) inside its word.
pub const fn slot(p: usize) -> usize {
    4 * (p % 4) + p / 4
}

/// Shape of a W2 matrix and its buffer size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct W2Layout {
    pub rows: usize,
    pub cols: usize,
}

impl W2Layout {
    pub fn new(rows: usize, cols: usize) -> Result<Self, CudaError> {
        if rows == 0 || cols == 0 {
            return Err(CudaError::shape(
                "w2_layout",
                format!("empty matrix {rows} x {cols}"),
            ));
        }
        if !cols.is_multiple_of(COLS_MULTIPLE) {
            return Err(CudaError::shape(
                "w2_layout",
                format!("cols {cols} is not a multiple of {COLS_MULTIPLE}"),
            ));
        }
        rows.checked_mul(cols.div_ceil(WEIGHTS_PER_WORD) + ROW_ALIGN_WORDS)
            .ok_or_else(|| CudaError::shape("w2_layout", format!("{rows} x {cols} overflows")))?;
        Ok(W2Layout { rows, cols })
    }

    /// Words of real data per row.
    pub fn groups(&self) -> usize {
        self.cols / WEIGHTS_PER_WORD
    }

    /// Words from one row start to the next (16-byte aligned).
    pub fn row_words(&self) -> usize {
        self.groups().next_multiple_of(ROW_ALIGN_WORDS)
    }

    /// Words of the whole device buffer.
    pub fn total_words(&self) -> usize {
        self.rows * self.row_words()
    }

    /// Whole lane-major super-groups per row.
    pub fn full_supers(&self) -> usize {
        self.groups() / SUPER_GROUPS
    }

    /// Word index within a row of group `g`.
    pub fn word_of_group(&self, g: usize) -> usize {
        let c = g / SUPER_GROUPS;
        if c < self.full_supers() {
            let r = g % SUPER_GROUPS;
            c * SUPER_GROUPS + (r % WARP) * WORDS_PER_LOAD + r / WARP
        } else {
            g
        }
    }
}

/// Encodes 16 ternary weights as one word (see the module diagram).
fn encode_word(w: &[i8]) -> Result<u32, i8> {
    let mut word = 0u32;
    for (p, &v) in w.iter().enumerate() {
        if !(-1..=1).contains(&v) {
            return Err(v);
        }
        word |= ((v + 1) as u32) << (2 * slot(p));
    }
    Ok(word)
}

/// Repacks row-major ternary weights (`-1, 0, +1`) into the W2 layout.
pub fn repack(weights: &[i8], layout: W2Layout) -> Result<Vec<u32>, CudaError> {
    let W2Layout { rows, cols } = layout;
    if weights.len() != rows * cols {
        return Err(CudaError::shape(
            "w2_repack",
            format!("{} weights for a {rows} x {cols} matrix", weights.len()),
        ));
    }
    let row_words = layout.row_words();
    let mut out = vec![0u32; layout.total_words()];
    for (r, (src, dst)) in weights
        .chunks_exact(cols)
        .zip(out.chunks_exact_mut(row_words))
        .enumerate()
    {
        for (g, w) in src.chunks_exact(WEIGHTS_PER_WORD).enumerate() {
            dst[layout.word_of_group(g)] = encode_word(w).map_err(|v| {
                CudaError::shape(
                    "w2_repack",
                    format!(
                        "weight {v} at row {r}, col {} is not ternary",
                        g * WEIGHTS_PER_WORD
                    ),
                )
            })?;
        }
    }
    Ok(out)
}

/// Inverse of [`repack`]: row-major ternary weights from W2 words.
pub fn unrepack(words: &[u32], layout: W2Layout) -> Result<Vec<i8>, CudaError> {
    if words.len() != layout.total_words() {
        return Err(CudaError::shape(
            "w2_unrepack",
            format!(
                "{} words, layout needs {}",
                words.len(),
                layout.total_words()
            ),
        ));
    }
    let mut out = Vec::with_capacity(layout.rows * layout.cols);
    for (r, row) in words.chunks_exact(layout.row_words()).enumerate() {
        for g in 0..layout.groups() {
            let word = row[layout.word_of_group(g)];
            for p in 0..WEIGHTS_PER_WORD {
                let code = (word >> (2 * slot(p))) & 3;
                if code == 3 {
                    return Err(CudaError::Corrupt {
                        kernel: "w2_unrepack",
                        detail: format!("code 3 at row {r}, col {}", g * WEIGHTS_PER_WORD + p),
                    });
                }
                out.push(code as i8 - 1);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn ternary(n: usize, seed: u64) -> Vec<i8> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_range(-1..=1)).collect()
    }

    /// What one lane of `gemv_w2a8` computes for a word and its activation
    /// vector: four `__dp4a` of masked shifts (emulated byte by byte).
    fn dp4a_group(word: u32, act: &[i8]) -> i32 {
        let mut acc = 0i32;
        for j in 0..4 {
            let codes = (word >> (2 * j)) & 0x0303_0303;
            for b in 0..4 {
                acc += ((codes >> (8 * b)) & 0xff) as i32 * act[4 * j + b] as i32;
            }
        }
        acc
    }

    #[test]
    fn slots_are_a_permutation_with_bitnet_cpp_interleave() {
        let slots: Vec<usize> = (0..16).map(slot).collect();
        let mut sorted = slots.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..16).collect::<Vec<_>>());
        // Slot s holds weight perm[s] with perm = 0,4,8,12,1,5,9,13,...
        let mut perm = [0usize; 16];
        for (p, &s) in slots.iter().enumerate() {
            perm[s] = p;
        }
        assert_eq!(perm, [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15]);
    }

    #[test]
    fn repack_round_trips_on_odd_shapes() {
        for (rows, cols) in [
            (1, 16),
            (3, 48),
            (5, 2048),
            (2, 2560),
            (7, 6912),
            (1, 4096 + 16),
        ] {
            let l = W2Layout::new(rows, cols).unwrap();
            let w = ternary(rows * cols, (rows * cols) as u64);
            let words = repack(&w, l).unwrap();
            assert_eq!(words.len(), l.total_words());
            assert_eq!(unrepack(&words, l).unwrap(), w, "{rows} x {cols}");
        }
    }

    #[test]
    fn word_positions_are_a_permutation_of_each_row() {
        for cols in [16, 2048, 2560, 6912, 8192] {
            let l = W2Layout::new(1, cols).unwrap();
            let mut seen: Vec<usize> = (0..l.groups()).map(|g| l.word_of_group(g)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..l.groups()).collect::<Vec<_>>(), "cols {cols}");
        }
        // In a full super-group lane l's uint4 holds groups l, l+32, l+64, l+96.
        let l = W2Layout::new(1, 2048).unwrap();
        assert_eq!(l.word_of_group(0), 0);
        assert_eq!(l.word_of_group(32), 1);
        assert_eq!(l.word_of_group(1), 4);
        assert_eq!(l.word_of_group(97), 7);
    }

    #[test]
    fn the_kernels_dp4a_arithmetic_gives_the_exact_dot_product() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (rows, cols) = (4, 2560 + 2048);
        let l = W2Layout::new(rows, cols).unwrap();
        let w = ternary(rows * cols, 11);
        let x: Vec<i8> = (0..cols).map(|_| rng.gen_range(-128..=127)).collect();
        let xsum: i32 = x.iter().map(|&v| v as i32).sum();
        let words = repack(&w, l).unwrap();
        for r in 0..rows {
            let row = &words[r * l.row_words()..];
            let got: i32 = (0..l.groups())
                .map(|g| dp4a_group(row[l.word_of_group(g)], &x[g * 16..g * 16 + 16]))
                .sum::<i32>()
                - xsum;
            let want: i32 = (0..cols)
                .map(|k| w[r * cols + k] as i32 * x[k] as i32)
                .sum();
            assert_eq!(got, want, "row {r}");
        }
    }

    #[test]
    fn buffer_sizes_pad_rows_to_16_bytes() {
        let l = W2Layout::new(3, 6912).unwrap();
        assert_eq!(l.groups(), 432);
        assert_eq!(l.row_words(), 432);
        assert_eq!(l.full_supers(), 3);
        let l = W2Layout::new(3, 48).unwrap();
        assert_eq!((l.groups(), l.row_words(), l.total_words()), (3, 4, 12));
        assert!(W2Layout::new(2, 40).is_err());
        assert!(W2Layout::new(0, 64).is_err());
        assert!(W2Layout::new(usize::MAX / 2, 64).is_err());
    }

    #[test]
    fn bad_weights_and_sizes_are_typed_errors() {
        let l = W2Layout::new(1, 16).unwrap();
        let mut w = vec![0i8; 16];
        w[5] = 2;
        assert!(matches!(
            repack(&w, l),
            Err(CudaError::Shape {
                kernel: "w2_repack",
                ..
            })
        ));
        assert!(repack(&w[..8], l).is_err());
        assert!(matches!(
            unrepack(&[u32::MAX, 0, 0, 0], l),
            Err(CudaError::Corrupt { .. })
        ));
    }
}
