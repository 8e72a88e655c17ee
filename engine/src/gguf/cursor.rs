//! A little-endian cursor over untrusted bytes. Every read checks the bytes
//! left first, so a truncated file becomes [`GgufError::Truncated`] naming
//! what was being read, and no length read from the file is trusted for an
//! allocation before it has been bounded by the bytes that remain.

use super::GgufError;

pub(crate) struct Cursor<'a> {
    path: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(path: &'a str, bytes: &'a [u8]) -> Self {
        Cursor {
            path,
            bytes,
            pos: 0,
        }
    }

    pub fn path(&self) -> &'a str {
        self.path
    }

    pub fn pos(&self) -> u64 {
        self.pos as u64
    }

    pub fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    pub fn file_len(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn take(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<&'a [u8], GgufError> {
        if n > self.remaining() {
            return Err(GgufError::Truncated {
                path: self.path.to_owned(),
                what: what(),
                offset: self.pos(),
                needed: n,
                len: self.file_len(),
            });
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.bytes[start..self.pos])
    }

    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N], GgufError> {
        let b = self.take(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub fn u8(&mut self, what: &dyn Fn() -> String) -> Result<u8, GgufError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u16(&mut self, what: &dyn Fn() -> String) -> Result<u16, GgufError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A GGUF string: u64 length, then that many UTF-8 bytes.
    pub fn string(&mut self, what: &dyn Fn() -> String) -> Result<String, GgufError> {
        let len = self.u64(&|| format!("length of {}", what()))?;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|e| GgufError::invalid(self.path, what(), format!("not valid UTF-8 ({e})")))
    }

    /// Errors unless `count` items of at least `min_size` bytes each fit in
    /// what is left of the file; returns `count` as a safe capacity.
    pub fn bounded_count(&self, count: u64, min_size: u64, what: &str) -> Result<usize, GgufError> {
        match count.checked_mul(min_size) {
            Some(bytes) if bytes <= self.remaining() => Ok(count as usize),
            _ => Err(GgufError::Absurd {
                path: self.path.to_owned(),
                what: what.to_owned(),
                value: count,
                len: self.file_len(),
            }),
        }
    }
}
