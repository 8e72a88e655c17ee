//! Buffers whose first element sits on a cache-line boundary.
//!
//! The kernels load 64 bytes at a time; a buffer that starts 16 bytes into a
//! line (what the allocator gives a large `Vec<u8>`) turns every load into
//! two cache-line accesses. Over-allocating by one line and starting at the
//! first aligned byte avoids that without any unsafe code.

/// Alignment of kernel operands in bytes (one cache line, one zmm register).
pub const ALIGN: usize = 64;

/// A zero-initialised buffer of `T` (bytes for tables, i32 for partial dots:
/// a primitive whose size divides [`ALIGN`]) aligned to [`ALIGN`].
#[derive(Debug, Default)]
pub struct Aligned<T: Copy + Default> {
    buf: Vec<T>,
    start: usize,
    len: usize,
}

impl<T: Copy + Default> Aligned<T> {
    pub fn zeroed(len: usize) -> Self {
        let mut a = Aligned {
            buf: Vec::new(),
            start: 0,
            len: 0,
        };
        a.resize_zeroed(len);
        a
    }

    /// Sets the length to `len`, every element zero, keeping the allocation
    /// when it is big enough.
    pub fn resize_zeroed(&mut self, len: usize) {
        self.resize_for_overwrite(len);
        self.as_mut_slice().fill(T::default());
    }

    /// Sets the length to `len` without clearing: for a buffer the caller
    /// overwrites whole (a call's lookup tables), the elements left from
    /// the last use are never read, and the memset is not paid per call.
    pub fn resize_for_overwrite(&mut self, len: usize) {
        let size = std::mem::size_of::<T>();
        debug_assert!(ALIGN.is_multiple_of(size) && std::mem::align_of::<T>() == size);
        // At most this many elements before the first aligned one.
        let slack = ALIGN / size - 1;
        let need = len + slack;
        if self.buf.len() < need {
            self.buf = vec![T::default(); need];
        }
        self.start = self.buf.as_ptr().align_offset(ALIGN).min(slack);
        self.len = len;
    }

    pub fn as_slice(&self) -> &[T] {
        &self.buf[self.start..self.start + self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.buf[self.start..self.start + self.len]
    }

    /// The allocation's capacity in elements (tests of buffer reuse).
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

impl<T: Copy + Default> Clone for Aligned<T> {
    fn clone(&self) -> Self {
        let mut a = Aligned::zeroed(self.len);
        a.as_mut_slice().copy_from_slice(self.as_slice());
        a
    }
}

impl<T: Copy + Default + PartialEq> PartialEq for Aligned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_a_line_and_survives_clone_and_resize() {
        let mut a = Aligned::<u8>::zeroed(1000);
        assert_eq!(a.as_slice().as_ptr() as usize % ALIGN, 0);
        a.as_mut_slice()[999] = 7;
        let b = a.clone();
        assert_eq!(b.as_slice().as_ptr() as usize % ALIGN, 0);
        assert_eq!(b, a);
        a.resize_zeroed(10);
        assert_eq!(a.as_slice(), &[0; 10]);
        assert_eq!(a.as_slice().as_ptr() as usize % ALIGN, 0);
    }

    #[test]
    fn wider_elements_start_on_a_line_too() {
        for len in [1, 15, 16, 17, 640, 6912] {
            let mut a = Aligned::<i32>::zeroed(len);
            assert_eq!(a.as_slice().as_ptr() as usize % ALIGN, 0);
            assert_eq!(a.as_slice().len(), len);
            a.as_mut_slice()[len - 1] = -1;
            a.resize_for_overwrite(len / 2 + 1);
            assert_eq!(a.as_slice().as_ptr() as usize % ALIGN, 0);
        }
    }
}
