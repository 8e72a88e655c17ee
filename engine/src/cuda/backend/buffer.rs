//! Typed device buffers. The wrapper keeps cudarc types out of the public
//! API, so the feature-off stub can offer the same signatures.

use super::{driver_err, CudaBackend};
use crate::cuda::CudaError;
use cudarc::driver::{CudaSlice, DeviceRepr, ValidAsZeroBits};

mod sealed {
    pub trait Sealed {}
}

/// Element types the kernels use.
pub trait GpuElem: DeviceRepr + ValidAsZeroBits + Copy + Default + Unpin + sealed::Sealed {}

macro_rules! elem {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl GpuElem for $t {}
    )*};
}
elem!(f32, f64, i8, u8, u16, i32, u32, u64);

/// `len` elements of `T` in device memory.
#[derive(Debug)]
pub struct GpuBuffer<T: GpuElem> {
    pub(crate) slice: CudaSlice<T>,
}

impl<T: GpuElem> GpuBuffer<T> {
    pub fn len(&self) -> usize {
        self.slice.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slice.is_empty()
    }

    /// Bytes of device memory.
    pub fn num_bytes(&self) -> usize {
        self.slice.num_bytes()
    }
}

impl CudaBackend {
    /// Copies `host` into a new device buffer.
    pub fn upload<T: GpuElem>(&self, host: &[T]) -> Result<GpuBuffer<T>, CudaError> {
        if host.is_empty() {
            return Err(CudaError::shape("upload", "empty buffer"));
        }
        let slice = self
            .stream()
            .memcpy_stod(host)
            .map_err(driver_err(format!("uploading {} elements", host.len())))?;
        Ok(GpuBuffer { slice })
    }

    /// Overwrites `dst` with `host` (same length).
    pub fn upload_into<T: GpuElem>(
        &self,
        host: &[T],
        dst: &mut GpuBuffer<T>,
    ) -> Result<(), CudaError> {
        if host.len() != dst.len() {
            return Err(CudaError::shape(
                "upload_into",
                format!(
                    "{} host elements into a buffer of {}",
                    host.len(),
                    dst.len()
                ),
            ));
        }
        self.stream()
            .memcpy_htod(host, &mut dst.slice)
            .map_err(driver_err(format!("uploading {} elements", host.len())))
    }

    /// A zero-filled device buffer.
    pub fn zeros<T: GpuElem>(&self, len: usize) -> Result<GpuBuffer<T>, CudaError> {
        if len == 0 {
            return Err(CudaError::shape("zeros", "empty buffer"));
        }
        let slice = self
            .stream()
            .alloc_zeros(len)
            .map_err(driver_err(format!("allocating {len} elements")))?;
        Ok(GpuBuffer { slice })
    }

    /// Copies a device buffer back (waits for the queued work first).
    pub fn download<T: GpuElem>(&self, buf: &GpuBuffer<T>) -> Result<Vec<T>, CudaError> {
        let v = self
            .stream()
            .memcpy_dtov(&buf.slice)
            .map_err(driver_err(format!("downloading {} elements", buf.len())))?;
        self.synchronize()?;
        Ok(v)
    }
}
