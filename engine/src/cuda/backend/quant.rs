//! I2S / TL1 / TL2 quantize and dequantize on the device, byte-identical to
//! the file layouts of [`crate::quant`] (see `kernels/quant.cu`).
//!
//! gamma is computed on the device by the CPU's rule (common magnitude of an
//! already-ternary tensor, else `max(absmean, MIN_GAMMA)`). Its f64 sum is
//! reduced in a different order than the CPU's 16-lane sum, so the f32 gamma
//! can differ from the CPU's only when the two f64 sums straddle an f32
//! rounding boundary; given the same gamma the codes are identical.

use super::buffer::GpuBuffer;
use super::{config, int_arg, CudaBackend};
use crate::cuda::source::Module;
use crate::cuda::{launch, CudaError};
use crate::quant::format::TENSOR_SCALE_BYTES;
use crate::quant::{Format, QuantError};
use cudarc::driver::PushKernelArg;

/// No invalid code seen (the status word starts here; kernels atomicMin it).
const NO_BAD_INDEX: u64 = u64::MAX;

fn kernels(format: Format) -> Result<(&'static str, &'static str), CudaError> {
    match format {
        Format::I2S => Ok(("i2s_quantize", "i2s_dequantize")),
        Format::TL1 => Ok(("tl1_quantize", "tl1_dequantize")),
        Format::TL2 => Ok(("tl2_quantize", "tl2_dequantize")),
        f => Err(CudaError::shape(
            "quantize",
            format!("{f} has per-block scales; the GPU handles i2s, tl1 and tl2"),
        )),
    }
}

/// Grid of the per-block kernels: items = packed blocks (I2S/TL1) or
/// TL2 blocks plus one tail item per row.
fn block_items(format: Format, rows: usize, cols: usize) -> usize {
    let b = format.block_weights();
    match format {
        Format::TL2 => rows * (cols / b + usize::from(!cols.is_multiple_of(b))),
        _ => rows * cols / b,
    }
}

impl CudaBackend {
    /// Quantizes `x` (`rows x cols` f32) into a packed tensor of
    /// `format.packed_size(rows, cols)` bytes, trailer included.
    pub fn quantize(
        &self,
        format: Format,
        x: &GpuBuffer<f32>,
        rows: usize,
        cols: usize,
    ) -> Result<GpuBuffer<u8>, CudaError> {
        let (qk, _) = kernels(format)?;
        let size = format.packed_size(rows, cols)?;
        let n = rows * cols;
        if x.len() != n {
            return Err(QuantError::BufferSize {
                format: format.name(),
                what: "f32 input",
                expected: n,
                got: x.len(),
            }
            .into());
        }
        let n_i64 = n as i64;
        let mut out = self.zeros::<u8>(size)?;
        let mut gamma = self.zeros::<f32>(1)?;
        let mut status = self.upload(&[NO_BAD_INDEX, 0])?;

        let shape = launch::stats_partial(n)?;
        let parts = shape.blocks();
        let mut psum = self.zeros::<f64>(parts)?;
        let mut pmax = self.zeros::<f32>(parts)?;
        let mut pmin = self.zeros::<f32>(parts)?;
        let mut pbad = self.zeros::<u64>(parts)?;
        let (mut head, mut trailer) = out.slice.split_at_mut(size - TENSOR_SCALE_BYTES);
        {
            let f = self.function(Module::Quant, "abs_stats_partial")?;
            let mut b = self.stream().launch_builder(&f);
            b.arg(&x.slice)
                .arg(&n_i64)
                .arg(&mut psum.slice)
                .arg(&mut pmax.slice)
                .arg(&mut pmin.slice)
                .arg(&mut pbad.slice);
            // SAFETY: arguments match `abs_stats_partial`; `x` holds n floats
            // and each partial buffer one entry per block of `shape`.
            let r = unsafe { b.launch(config(shape)) };
            self.launched("abs_stats_partial", shape, r)?;
        }
        {
            let one = launch::single("abs_stats_final")?;
            let parts_i = int_arg("abs_stats_final", "parts", parts)?;
            let f = self.function(Module::Quant, "abs_stats_final")?;
            let mut b = self.stream().launch_builder(&f);
            b.arg(&psum.slice)
                .arg(&pmax.slice)
                .arg(&pmin.slice)
                .arg(&pbad.slice)
                .arg(&parts_i)
                .arg(&n_i64)
                .arg(&mut gamma.slice)
                .arg(&mut trailer)
                .arg(&mut status.slice);
            // SAFETY: arguments match `abs_stats_final`; the partial buffers
            // hold `parts` entries, gamma one float, the trailer view starts
            // 4-byte aligned with TENSOR_SCALE_BYTES bytes, status two words.
            let r = unsafe { b.launch(config(one)) };
            self.launched("abs_stats_final", one, r)?;
        }
        {
            let items = block_items(format, rows, cols);
            let shape = launch::per_weight_block(qk, items)?;
            let f = self.function(Module::Quant, qk)?;
            let mut b = self.stream().launch_builder(&f);
            let (rows_i, cols_i) = (int_arg(qk, "rows", rows)?, int_arg(qk, "cols", cols)?);
            let blocks = items as i64;
            b.arg(&x.slice).arg(&mut head).arg(&gamma.slice);
            if format == Format::TL2 {
                b.arg(&rows_i).arg(&cols_i);
            } else {
                b.arg(&blocks);
            }
            // SAFETY: arguments match `<fmt>_quantize`; `head` is exactly the
            // packed body (rows x row_bytes), `x` holds rows x cols floats and
            // the grid has one warp per item of `block_items`.
            let r = unsafe { b.launch(config(shape)) };
            self.launched(qk, shape, r)?;
        }
        let st = self.download(&status)?;
        if (st[0] as usize) < n {
            let i = st[0] as usize;
            let v = self.download_one(x, i)?;
            return Err(QuantError::NonFinite {
                format: format.name(),
                index: i,
                value: v,
            }
            .into());
        }
        Ok(out)
    }

    /// Dequantizes a packed tensor into `out` (`rows x cols` f32).
    pub fn dequantize(
        &self,
        format: Format,
        packed: &GpuBuffer<u8>,
        rows: usize,
        cols: usize,
        out: &mut GpuBuffer<f32>,
    ) -> Result<(), CudaError> {
        let (_, dk) = kernels(format)?;
        let size = format.packed_size(rows, cols)?;
        let bad_len = |what, expected, got| -> CudaError {
            QuantError::BufferSize {
                format: format.name(),
                what,
                expected,
                got,
            }
            .into()
        };
        if packed.len() != size {
            return Err(bad_len("packed input", size, packed.len()));
        }
        if out.len() != rows * cols {
            return Err(bad_len("f32 output", rows * cols, out.len()));
        }
        let mut status = self.upload(&[NO_BAD_INDEX, 0])?;
        let items = block_items(format, rows, cols);
        let shape = launch::per_weight_block(dk, items)?;
        let (rows_i, cols_i) = (int_arg(dk, "rows", rows)?, int_arg(dk, "cols", cols)?);
        let blocks = items as i64;
        let f = self.function(Module::Quant, dk)?;
        let mut b = self.stream().launch_builder(&f);
        b.arg(&packed.slice).arg(&mut out.slice);
        if format == Format::TL2 {
            b.arg(&rows_i).arg(&cols_i);
        } else {
            b.arg(&blocks);
        }
        b.arg(&mut status.slice);
        // SAFETY: arguments match `<fmt>_dequantize`; `packed` is exactly
        // packed_size bytes (gamma read from its trailer), `out` rows x cols.
        let r = unsafe { b.launch(config(shape)) };
        self.launched(dk, shape, r)?;
        let st = self.download(&status)?;
        if st[1] != 0 {
            return Err(QuantError::Corrupt {
                format: format.name(),
                reason: "tensor scale is not finite".into(),
            }
            .into());
        }
        if st[0] != NO_BAD_INDEX {
            return Err(QuantError::Corrupt {
                format: format.name(),
                reason: format!("invalid code at weight {}", st[0]),
            }
            .into());
        }
        Ok(())
    }

    fn download_one(&self, x: &GpuBuffer<f32>, i: usize) -> Result<f32, CudaError> {
        let v = self
            .stream()
            .memcpy_dtov(&x.slice.slice(i..i + 1))
            .map_err(super::driver_err("reading a non-finite input"))?;
        self.synchronize()?;
        Ok(v[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_cover_blocks_and_tl2_tails() {
        assert_eq!(block_items(Format::I2S, 3, 256), 6);
        assert_eq!(block_items(Format::TL1, 1, 128), 1);
        assert_eq!(block_items(Format::TL2, 2, 96 * 3), 6);
        assert_eq!(block_items(Format::TL2, 2, 96 * 3 + 64), 8);
        assert!(kernels(Format::TQ2_0).is_err());
    }
}
