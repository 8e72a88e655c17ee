//! Streaming GGUF v3 writer.
//!
//! The header needs every tensor's offset, and offsets follow from shapes
//! and types alone, so the writer lays out the whole file up front and then
//! accepts tensor data one tensor (or one chunk) at a time: a 1.2 GB model is
//! never held in memory. Everything goes to a temporary file in the target
//! directory that is renamed over `path` only by [`GgufWriter::finish`]; a
//! failed or abandoned write leaves no partial model behind.

use super::parse::{align_up, ALIGNMENT_KEY, DEFAULT_ALIGNMENT, MAGIC, MAX_DIMS, MAX_NAME_BYTES};
use super::value::{Array, Value};
use super::{GgufError, Metadata, TensorType};
use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub const VERSION: u32 = 3;

/// A tensor to be written: name, GGUF dims (ne0 first) and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub dims: Vec<u64>,
    pub ty: TensorType,
}

impl TensorSpec {
    pub fn new(name: impl Into<String>, dims: &[u64], ty: TensorType) -> Self {
        TensorSpec {
            name: name.into(),
            dims: dims.to_vec(),
            ty,
        }
    }
}

struct Slot {
    spec: TensorSpec,
    size: u64,
}

pub struct GgufWriter {
    path: PathBuf,
    display: String,
    out: BufWriter<tempfile::NamedTempFile>,
    alignment: u64,
    slots: Vec<Slot>,
    /// Index of the tensor being written (or next to write).
    next: usize,
    /// Bytes of the current tensor written so far; `None` between tensors.
    in_tensor: Option<u64>,
    written: u64,
}

impl std::fmt::Debug for GgufWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufWriter")
            .field("path", &self.display)
            .field("tensors", &self.slots.len())
            .field("next", &self.next)
            .finish()
    }
}

impl GgufWriter {
    /// Validates the layout and writes header, metadata and tensor infos.
    /// Tensors must then be written in the order given here.
    pub fn create(
        path: impl AsRef<Path>,
        metadata: &Metadata,
        tensors: Vec<TensorSpec>,
    ) -> Result<GgufWriter, GgufError> {
        let path = path.as_ref().to_path_buf();
        let display = path.display().to_string();
        let alignment = match metadata.get(ALIGNMENT_KEY) {
            None => DEFAULT_ALIGNMENT,
            Some(Value::U32(a)) if a.is_power_of_two() => u64::from(*a),
            Some(v) => {
                return Err(GgufError::invalid(
                    &display,
                    format!("key '{ALIGNMENT_KEY}'"),
                    format!("{} {v} is not a power-of-two u32", v.type_name()),
                ))
            }
        };
        let mut names = HashSet::new();
        let mut slots = Vec::with_capacity(tensors.len());
        for spec in tensors {
            if spec.name.is_empty() || spec.name.len() > MAX_NAME_BYTES {
                return Err(GgufError::tensor(
                    &display,
                    &spec.name,
                    format!(
                        "name length {} is outside 1..={MAX_NAME_BYTES}",
                        spec.name.len()
                    ),
                ));
            }
            if !names.insert(spec.name.clone()) {
                return Err(GgufError::DuplicateTensor {
                    path: display,
                    name: spec.name,
                });
            }
            if spec.dims.is_empty() || spec.dims.len() > MAX_DIMS as usize || spec.dims.contains(&0)
            {
                return Err(GgufError::tensor(
                    &display,
                    &spec.name,
                    format!(
                        "shape {:?} needs 1..={MAX_DIMS} non-zero dimensions",
                        spec.dims
                    ),
                ));
            }
            let size = spec.ty.byte_size(&spec.dims).map_err(|r| {
                GgufError::tensor(
                    &display,
                    &spec.name,
                    format!("{} {:?}: {r}", spec.ty, spec.dims),
                )
            })?;
            slots.push(Slot { spec, size });
        }

        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".gguf-partial-")
            .tempfile_in(&dir)
            .map_err(|e| GgufError::io(&display, e))?;
        let mut w = GgufWriter {
            path,
            display,
            out: BufWriter::with_capacity(1 << 20, tmp),
            alignment,
            slots,
            next: 0,
            in_tensor: None,
            written: 0,
        };
        w.write_header(metadata)?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), GgufError> {
        self.out
            .write_all(bytes)
            .map_err(|e| GgufError::io(&self.display, e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad_to_alignment(&mut self) -> Result<(), GgufError> {
        let pad = align_up(self.written, self.alignment) - self.written;
        self.put(&vec![0u8; pad as usize])
    }

    fn write_header(&mut self, metadata: &Metadata) -> Result<(), GgufError> {
        let mut head = Vec::new();
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&VERSION.to_le_bytes());
        head.extend_from_slice(&(self.slots.len() as u64).to_le_bytes());
        head.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
        for (key, value) in metadata.iter() {
            put_string(&mut head, key);
            head.extend_from_slice(&(value.value_type() as u32).to_le_bytes());
            put_value(&mut head, value);
        }
        let mut offset = 0u64;
        for slot in &self.slots {
            put_string(&mut head, &slot.spec.name);
            head.extend_from_slice(&(slot.spec.dims.len() as u32).to_le_bytes());
            for d in &slot.spec.dims {
                head.extend_from_slice(&d.to_le_bytes());
            }
            head.extend_from_slice(&slot.spec.ty.id().to_le_bytes());
            head.extend_from_slice(&offset.to_le_bytes());
            offset = align_up(offset + slot.size, self.alignment);
        }
        self.put(&head)?;
        self.pad_to_alignment()
    }

    /// Starts the next tensor, which must be `name`.
    pub fn begin_tensor(&mut self, name: &str) -> Result<(), GgufError> {
        if self.in_tensor.is_some() {
            let cur = self.slots[self.next].spec.name.clone();
            return Err(GgufError::tensor(
                &self.display,
                &cur,
                "begun before the previous tensor ended",
            ));
        }
        match self.slots.get(self.next) {
            Some(slot) if slot.spec.name == name => {
                self.in_tensor = Some(0);
                Ok(())
            }
            Some(slot) => Err(GgufError::tensor(
                &self.display,
                name,
                format!("written out of order (expected '{}' next)", slot.spec.name),
            )),
            None => Err(GgufError::tensor(
                &self.display,
                name,
                "not in the layout given to create",
            )),
        }
    }

    /// Appends bytes to the current tensor.
    pub fn write_chunk(&mut self, bytes: &[u8]) -> Result<(), GgufError> {
        let slot = &self.slots[self.next.min(self.slots.len().saturating_sub(1))];
        let Some(done) = self.in_tensor else {
            return Err(GgufError::invalid(
                &self.display,
                "writer",
                "data written outside a tensor",
            ));
        };
        if done + bytes.len() as u64 > slot.size {
            return Err(GgufError::tensor(
                &self.display,
                &slot.spec.name,
                format!(
                    "{} bytes written, layout has {}",
                    done + bytes.len() as u64,
                    slot.size
                ),
            ));
        }
        self.in_tensor = Some(done + bytes.len() as u64);
        self.put(bytes)
    }

    /// Ends the current tensor; its byte count must match its layout.
    pub fn end_tensor(&mut self) -> Result<(), GgufError> {
        let slot = &self.slots[self.next.min(self.slots.len().saturating_sub(1))];
        match self.in_tensor {
            Some(done) if done == slot.size => {}
            Some(done) => {
                return Err(GgufError::tensor(
                    &self.display,
                    &slot.spec.name,
                    format!("{done} bytes written, layout has {}", slot.size),
                ))
            }
            None => {
                return Err(GgufError::invalid(
                    &self.display,
                    "writer",
                    "end_tensor without begin_tensor",
                ))
            }
        }
        self.in_tensor = None;
        self.next += 1;
        self.pad_to_alignment()
    }

    /// Writes the next tensor whole.
    pub fn write_tensor(&mut self, name: &str, bytes: &[u8]) -> Result<(), GgufError> {
        self.begin_tensor(name)?;
        self.write_chunk(bytes)?;
        self.end_tensor()
    }

    /// Flushes and renames the finished file into place; returns its size.
    pub fn finish(self) -> Result<u64, GgufError> {
        if self.in_tensor.is_some() || self.next != self.slots.len() {
            let missing = self
                .slots
                .get(self.next)
                .map_or("?", |s| s.spec.name.as_str());
            return Err(GgufError::tensor(
                &self.display,
                missing,
                "never written; file not created",
            ));
        }
        let display = self.display;
        let tmp = self
            .out
            .into_inner()
            .map_err(|e| GgufError::io(&display, e.into_error()))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| GgufError::io(&display, e))?;
        tmp.persist(&self.path)
            .map_err(|e| GgufError::io(&display, e.error))?;
        Ok(self.written)
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => out.push(u8::from(*x)),
        Value::String(s) => put_string(out, s),
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Array(a) => put_array(out, a),
    }
}

fn put_array(out: &mut Vec<u8>, a: &Array) {
    out.extend_from_slice(&(a.element_type() as u32).to_le_bytes());
    out.extend_from_slice(&(a.len() as u64).to_le_bytes());
    macro_rules! le {
        ($v:expr) => {
            for x in $v {
                out.extend_from_slice(&x.to_le_bytes());
            }
        };
    }
    match a {
        Array::U8(v) => out.extend_from_slice(v),
        Array::I8(v) => out.extend(v.iter().map(|&x| x as u8)),
        Array::U16(v) => le!(v),
        Array::I16(v) => le!(v),
        Array::U32(v) => le!(v),
        Array::I32(v) => le!(v),
        Array::F32(v) => le!(v),
        Array::Bool(v) => out.extend(v.iter().map(|&b| u8::from(b))),
        Array::String(v) => v.iter().for_each(|s| put_string(out, s)),
        Array::Array(v) => v.iter().for_each(|inner| put_array(out, inner)),
        Array::U64(v) => le!(v),
        Array::I64(v) => le!(v),
        Array::F64(v) => le!(v),
    }
}
