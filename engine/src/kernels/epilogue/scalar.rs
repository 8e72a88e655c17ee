//! Scalar reference: the definition the SIMD paths reproduce bit for bit.

pub(super) fn scale_i32(dots: &[i32], offset: i32, factor: f64, out: &mut [f32]) {
    for (o, &d) in out.iter_mut().zip(dots) {
        *o = (d.wrapping_sub(offset) as f64 * factor) as f32;
    }
}

pub(super) fn scale_f64(sums: &[f64], factor: f64, out: &mut [f32]) {
    for (o, &s) in out.iter_mut().zip(sums) {
        *o = (s * factor) as f32;
    }
}
