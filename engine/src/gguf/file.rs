//! An opened GGUF file: the parsed header over a memory map (or, for tests
//! and the fuzzer, an owned buffer), handing out zero-copy tensor views.

use super::parse::{self, Parsed};
use super::tensor::{TensorInfo, TensorView};
use super::{GgufError, Metadata};
use std::path::Path;

enum Backing {
    Mmap(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Backing {
    fn bytes(&self) -> &[u8] {
        match self {
            Backing::Mmap(m) => m,
            Backing::Owned(v) => v,
        }
    }
}

pub struct GgufFile {
    path: String,
    backing: Backing,
    parsed: Parsed,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("version", &self.parsed.version)
            .field("tensors", &self.parsed.tensors.len())
            .finish()
    }
}

impl GgufFile {
    /// Maps and parses `path`. Only the header pages are read; tensor data
    /// is paged in when a view is first touched.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile, GgufError> {
        let display = path.as_ref().display().to_string();
        let file = std::fs::File::open(path.as_ref()).map_err(|e| GgufError::io(&display, e))?;
        let len = file
            .metadata()
            .map_err(|e| GgufError::io(&display, e))?
            .len();
        // Mapping an empty file fails on some systems; report it as truncated.
        let backing = if len == 0 {
            Backing::Owned(Vec::new())
        } else {
            Backing::Mmap(super::mmap::map(&display, &file)?)
        };
        Self::from_backing(display, backing)
    }

    /// Parses an in-memory file; `path` only labels error messages.
    pub fn from_bytes(path: impl Into<String>, bytes: Vec<u8>) -> Result<GgufFile, GgufError> {
        Self::from_backing(path.into(), Backing::Owned(bytes))
    }

    fn from_backing(path: String, backing: Backing) -> Result<GgufFile, GgufError> {
        let parsed = parse::parse(&path, backing.bytes())?;
        Ok(GgufFile {
            path,
            backing,
            parsed,
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn version(&self) -> u32 {
        self.parsed.version
    }

    pub fn alignment(&self) -> u64 {
        self.parsed.alignment
    }

    /// File offset of the tensor data section.
    pub fn data_offset(&self) -> u64 {
        self.parsed.data_offset
    }

    pub fn file_len(&self) -> u64 {
        self.backing.bytes().len() as u64
    }

    pub fn metadata(&self) -> &Metadata {
        &self.parsed.metadata
    }

    pub fn tensor_infos(&self) -> &[TensorInfo] {
        &self.parsed.tensors
    }

    pub fn info(&self, name: &str) -> Option<&TensorInfo> {
        self.parsed
            .by_name
            .get(name)
            .map(|&i| &self.parsed.tensors[i])
    }

    pub fn contains(&self, name: &str) -> bool {
        self.parsed.by_name.contains_key(name)
    }

    /// The view of tensor `name`, or [`GgufError::MissingTensor`].
    pub fn tensor(&self, name: &str) -> Result<TensorView<'_>, GgufError> {
        let info = self.info(name).ok_or_else(|| GgufError::MissingTensor {
            path: self.path.clone(),
            tensor: name.to_owned(),
        })?;
        Ok(self.view(info))
    }

    /// Views of every tensor, in file order.
    pub fn tensors(&self) -> impl Iterator<Item = TensorView<'_>> {
        self.parsed.tensors.iter().map(|info| self.view(info))
    }

    fn view<'a>(&'a self, info: &'a TensorInfo) -> TensorView<'a> {
        // parse::check_data_section proved this range lies inside the file.
        let start = (self.parsed.data_offset + info.offset) as usize;
        TensorView {
            info,
            bytes: &self.backing.bytes()[start..start + info.size as usize],
            path: &self.path,
        }
    }

    /// Metadata lookups whose errors name this file.
    pub fn get_u64(&self, key: &str) -> Result<u64, GgufError> {
        self.parsed.metadata.u64(&self.path, key)
    }

    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        self.parsed.metadata.str(&self.path, key)
    }
}
