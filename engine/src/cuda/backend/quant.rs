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

/// Device scratch reused by every quantize/dequantize call (sized for the
/// largest tensor-scale grid), so a call allocates nothing beyond its result.
#[derive(Debug)]
pub(crate) struct QuantScratch {
    psum: GpuBuffer<f64>,
    pmax: GpuBuffer<f32>,
    pmin: GpuBuffer<f32>,
    pbad: GpuBuffer<u64>,
    gamma: GpuBuffer<f32>,
    status: GpuBuffer<u64>,
}

impl CudaBackend {
    fn with_scratch<R>(
        &self,
        f: impl FnOnce(&mut QuantScratch) -> Result<R, CudaError>,
    ) -> Result<R, CudaError> {
        let mut slot = self.quant_scratch.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            let parts = launch::STATS_MAX_BLOCKS;
            *slot = Some(QuantScratch {
                psum: self.zeros(parts)?,
                pmax: self.zeros(parts)?,
                pmin: self.zeros(parts)?,
                pbad: self.zeros(parts)?,
                gamma: self.zeros(1)?,
                status: self.zeros(2)?,
            });
        }
        let scratch = slot.as_mut().expect("initialised above");
        self.upload_into(&[NO_BAD_INDEX, 0], &mut scratch.status)?;
        f(scratch)
    }

    /// Quantizes `x` (`rows x cols` f32) into a new packed tensor of
    /// `format.packed_size(rows, cols)` bytes, trailer included.
    pub fn quantize(
        &self,
        format: Format,
        x: &GpuBuffer<f32>,
        rows: usize,
        cols: usize,
    ) -> Result<GpuBuffer<u8>, CudaError> {
        let mut out = self.zeros::<u8>(format.packed_size(rows, cols)?)?;
        self.quantize_into(format, x, rows, cols, &mut out)?;
        Ok(out)
    }

    /// [`CudaBackend::quantize`] into an existing buffer of exactly
    /// `format.packed_size(rows, cols)` bytes (every byte is written).
    pub fn quantize_into(
        &self,
        format: Format,
        x: &GpuBuffer<f32>,
        rows: usize,
        cols: usize,
        out: &mut GpuBuffer<u8>,
    ) -> Result<(), CudaError> {
        let (qk, _) = kernels(format)?;
        let size = format.packed_size(rows, cols)?;
        let n = rows * cols;
        let bad_len = |what, expected, got| -> CudaError {
            QuantError::BufferSize {
                format: format.name(),
                what,
                expected,
                got,
            }
            .into()
        };
        if x.len() != n {
            return Err(bad_len("f32 input", n, x.len()));
        }
        if out.len() != size {
            return Err(bad_len("packed output", size, out.len()));
        }
        let n_i64 = n as i64;
        let shape = launch::stats_partial(n)?;
        let parts = shape.blocks();
        let (mut head, mut trailer) = out.slice.split_at_mut(size - TENSOR_SCALE_BYTES);
        let bad = self.with_scratch(|s| {
            {
                let f = self.function(Module::Quant, "abs_stats_partial")?;
                let mut b = self.stream().launch_builder(&f);
                b.arg(&x.slice)
                    .arg(&n_i64)
                    .arg(&mut s.psum.slice)
                    .arg(&mut s.pmax.slice)
                    .arg(&mut s.pmin.slice)
                    .arg(&mut s.pbad.slice);
                // SAFETY: arguments match `abs_stats_partial`; `x` holds n
                // floats and each partial buffer STATS_MAX_BLOCKS >= blocks
                // of `shape` entries.
                let r = unsafe { b.launch(config(shape)) };
                self.launched("abs_stats_partial", shape, r)?;
            }
            {
                let one = launch::single("abs_stats_final")?;
                let parts_i = int_arg("abs_stats_final", "parts", parts)?;
                let f = self.function(Module::Quant, "abs_stats_final")?;
                let mut b = self.stream().launch_builder(&f);
                b.arg(&s.psum.slice)
                    .arg(&s.pmax.slice)
                    .arg(&s.pmin.slice)
                    .arg(&s.pbad.slice)
                    .arg(&parts_i)
                    .arg(&n_i64)
                    .arg(&mut s.gamma.slice)
                    .arg(&mut trailer)
                    .arg(&mut s.status.slice);
                // SAFETY: arguments match `abs_stats_final`; the partial
                // buffers hold at least `parts` entries, gamma one float, the
                // trailer view starts 4-byte aligned with TENSOR_SCALE_BYTES
                // bytes, status two words.
                let r = unsafe { b.launch(config(one)) };
                self.launched("abs_stats_final", one, r)?;
            }
            {
                let items = launch::quant_items(format, rows, cols);
                let shape = launch::per_weight_block(qk, items)?;
                let f = self.function(Module::Quant, qk)?;
                let mut b = self.stream().launch_builder(&f);
                let (rows_i, cols_i) = (int_arg(qk, "rows", rows)?, int_arg(qk, "cols", cols)?);
                let blocks = items as i64;
                b.arg(&x.slice).arg(&mut head).arg(&s.gamma.slice);
                if format == Format::TL2 {
                    b.arg(&rows_i).arg(&cols_i);
                } else {
                    b.arg(&blocks);
                }
                // SAFETY: arguments match `<fmt>_quantize`; `head` is exactly
                // the packed body (rows x row_bytes), `x` holds rows x cols
                // floats and the grid has one warp per item of `quant_items`.
                let r = unsafe { b.launch(config(shape)) };
                self.launched(qk, shape, r)?;
            }
            Ok(self.download(&s.status)?[0])
        })?;
        if (bad as usize) < n {
            let i = bad as usize;
            let v = self.download_one(x, i)?;
            return Err(QuantError::NonFinite {
                format: format.name(),
                index: i,
                value: v,
            }
            .into());
        }
        Ok(())
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
        let items = launch::quant_items(format, rows, cols);
        let shape = launch::per_weight_block(dk, items)?;
        let (rows_i, cols_i) = (int_arg(dk, "rows", rows)?, int_arg(dk, "cols", cols)?);
        let blocks = items as i64;
        let st = self.with_scratch(|s| {
            let f = self.function(Module::Quant, dk)?;
            let mut b = self.stream().launch_builder(&f);
            b.arg(&packed.slice).arg(&mut out.slice);
            if format == Format::TL2 {
                b.arg(&rows_i).arg(&cols_i);
            } else {
                b.arg(&blocks);
            }
            b.arg(&mut s.status.slice);
            // SAFETY: arguments match `<fmt>_dequantize`; `packed` is exactly
            // packed_size bytes (gamma read from its trailer), `out` rows x cols.
            let r = unsafe { b.launch(config(shape)) };
            self.launched(dk, shape, r)?;
            self.download(&s.status)
        })?;
        if st[1] != 0 {
            let at = size - TENSOR_SCALE_BYTES;
            let b = self
                .stream()
                .memcpy_dtov(&packed.slice.slice(at..at + 4))
                .map_err(super::driver_err("reading a non-finite tensor scale"))?;
            self.synchronize()?;
            let gamma = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            return Err(QuantError::Corrupt {
                format: format.name(),
                reason: format!("tensor scale is {gamma}"),
            }
            .into());
        }
        if st[0] != NO_BAD_INDEX {
            return Err(QuantError::Corrupt {
                format: format.name(),
                reason: format!("invalid code for the weight at index {}", st[0]),
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
    fn per_block_scale_formats_are_rejected() {
        assert!(kernels(Format::TQ2_0).is_err());
        assert!(kernels(Format::TQ1_0).is_err());
        assert!(kernels(Format::TL2).is_ok());
    }
}
