//! Memory-read roofline: the time to stream a buffer once, with nothing to
//! compute. Benchmarks read the same number of bytes as a GEMV's weights; a
//! kernel close to this time is limited by bandwidth (of whichever cache or
//! DRAM level holds the weights), one well above it by its instructions.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use crate::cpu::SimdLevel;

/// XOR of all 64-bit words of `bytes` (a value the compiler cannot skip),
/// read with the widest loads of `level`. The tail of fewer than 256 bytes
/// is folded in with scalar reads.
pub fn stream_read(level: SimdLevel, bytes: &[u8]) -> u64 {
    let body = bytes.len() / 256 * 256;
    let head = match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 if level.is_supported() => {
            // SAFETY: AVX-512 F is supported and `body` bytes are in bounds.
            unsafe { read_avx512(&bytes[..body]) }
        }
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 if level.is_supported() => {
            // SAFETY: AVX2 is supported and `body` bytes are in bounds.
            unsafe { read_avx2(&bytes[..body]) }
        }
        _ => fold_words(&bytes[..body]),
    };
    head ^ fold_words(&bytes[body..])
}

/// The best of `reps` concurrent reads of a `bytes`-byte buffer split into
/// `threads` contiguous parts, one per thread, in GB/s: the DRAM read
/// bandwidth that decode with that many threads can use (a buffer well
/// beyond the last-level cache). Errors if `threads` or `bytes` is 0.
pub fn read_bandwidth(
    level: SimdLevel,
    threads: usize,
    bytes: usize,
    reps: usize,
) -> Result<f64, String> {
    if threads == 0 || bytes < threads {
        return Err(format!(
            "read bandwidth needs at least one thread and one byte per thread, got {threads} thread(s) and {bytes} bytes"
        ));
    }
    let buffer: Vec<u8> = (0..bytes).map(|i| i as u8).collect();
    let part = bytes.div_ceil(threads);
    let mut best = 0.0f64;
    for _ in 0..reps.max(1) {
        let start = std::sync::Barrier::new(threads + 1);
        let secs = std::thread::scope(|s| {
            for p in buffer.chunks(part) {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    std::hint::black_box(stream_read(level, p));
                });
            }
            start.wait();
            // `scope` returns after every reader has joined.
            std::time::Instant::now()
        })
        .elapsed()
        .as_secs_f64();
        best = best.max(bytes as f64 / secs / 1e9);
    }
    Ok(best)
}

fn fold_words(bytes: &[u8]) -> u64 {
    bytes.chunks(8).fold(0u64, |a, c| {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        a ^ u64::from_le_bytes(w)
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn read_avx512(bytes: &[u8]) -> u64 {
    let mut acc = [_mm512_setzero_si512(); 4];
    for block in bytes.chunks_exact(256) {
        for (i, a) in acc.iter_mut().enumerate() {
            // SAFETY: the block has 256 bytes.
            let v = _mm512_loadu_si512(block.as_ptr().add(64 * i).cast());
            *a = _mm512_xor_si512(*a, v);
        }
    }
    let v = _mm512_xor_si512(
        _mm512_xor_si512(acc[0], acc[1]),
        _mm512_xor_si512(acc[2], acc[3]),
    );
    let mut words = [0u64; 8];
    _mm512_storeu_si512(words.as_mut_ptr().cast(), v);
    words.iter().fold(0, |a, w| a ^ w)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn read_avx2(bytes: &[u8]) -> u64 {
    let mut acc = [_mm256_setzero_si256(); 8];
    for block in bytes.chunks_exact(256) {
        for (i, a) in acc.iter_mut().enumerate() {
            // SAFETY: the block has 256 bytes.
            let v = _mm256_loadu_si256(block.as_ptr().add(32 * i).cast());
            *a = _mm256_xor_si256(*a, v);
        }
    }
    let mut words = [0u64; 4];
    let v = acc
        .iter()
        .fold(_mm256_setzero_si256(), |a, b| _mm256_xor_si256(a, *b));
    _mm256_storeu_si256(words.as_mut_ptr().cast(), v);
    words.iter().fold(0, |a, w| a ^ w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_bandwidth_checks_its_arguments_and_measures() {
        assert!(read_bandwidth(SimdLevel::Scalar, 0, 1 << 20, 1).is_err());
        assert!(read_bandwidth(SimdLevel::Scalar, 2, 1, 1).is_err());
        let gbs = read_bandwidth(SimdLevel::active(), 2, 1 << 20, 2).unwrap();
        assert!(gbs.is_finite() && gbs > 0.0, "{gbs}");
    }

    #[test]
    fn every_level_folds_the_same_words() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 131 % 251) as u8).collect();
        let want = fold_words(&bytes);
        assert_ne!(want, 0);
        for level in SimdLevel::supported() {
            assert_eq!(stream_read(level, &bytes), want, "{level}");
        }
    }
}
