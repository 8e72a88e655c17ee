//! Parses the GGUF header, metadata and tensor infos from untrusted bytes and
//! validates every tensor's place in the data section. Nothing here reads
//! tensor data, so parsing a 1.2 GB model touches only its first pages.
//!
//! ```text
//! offset 0   "GGUF"  u32 version (2|3)  u64 n_tensors  u64 n_kv
//!            n_kv x { string key, u32 value type, value }
//!            n_tensors x { string name, u32 n_dims, u64 dims[n_dims],
//!                          u32 type, u64 offset (relative to data) }
//!            zero padding to general.alignment (default 32)
//! data       tensor bytes, each tensor at data + offset, offset % alignment == 0
//! ```

use super::cursor::Cursor;
use super::tensor::TensorInfo;
use super::value::{Array, Value, ValueType};
use super::{GgufError, Metadata, TensorType};
use std::collections::HashMap;

pub const MAGIC: &[u8; 4] = b"GGUF";
pub const DEFAULT_ALIGNMENT: u64 = 32;
pub const ALIGNMENT_KEY: &str = "general.alignment";
/// ggml's `GGML_MAX_DIMS`.
pub const MAX_DIMS: u32 = 4;
/// ggml's `GGML_MAX_NAME` (64, including the terminating NUL).
pub const MAX_NAME_BYTES: usize = 63;
/// The spec's limit on key length.
pub const MAX_KEY_BYTES: u64 = 65535;
/// Arrays nest in the spec; real files nest at most once. The bound keeps a
/// crafted file from exhausting the stack.
const MAX_ARRAY_DEPTH: usize = 4;

/// What the header says, tensors validated against the file length.
#[derive(Debug)]
pub struct Parsed {
    pub version: u32,
    pub alignment: u64,
    pub data_offset: u64,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    pub by_name: HashMap<String, usize>,
}

pub fn parse(path: &str, bytes: &[u8]) -> Result<Parsed, GgufError> {
    let mut c = Cursor::new(path, bytes);
    let magic = c.take(4, &|| "magic".into())?;
    if magic != MAGIC {
        return Err(GgufError::BadMagic {
            path: path.to_owned(),
            found: String::from_utf8_lossy(magic).into_owned(),
        });
    }
    let version = c.u32(&|| "version".into())?;
    if version.swap_bytes() == 2 || version.swap_bytes() == 3 {
        return Err(GgufError::BigEndian {
            path: path.to_owned(),
            raw: version,
        });
    }
    if version != 2 && version != 3 {
        return Err(GgufError::UnsupportedVersion {
            path: path.to_owned(),
            version,
        });
    }
    let n_tensors = c.u64(&|| "tensor count".into())?;
    let n_kv = c.u64(&|| "metadata count".into())?;
    // Smallest kv: 8-byte key length + 4-byte type + 1-byte value.
    let n_kv = c.bounded_count(n_kv, 13, "metadata count")?;
    let metadata = parse_metadata(&mut c, n_kv)?;
    let alignment = alignment(path, &metadata)?;

    // Smallest tensor info: 8-byte name length + 4 n_dims + 4 type + 8 offset.
    let n_tensors = c.bounded_count(n_tensors, 24, "tensor count")?;
    let mut tensors = Vec::with_capacity(n_tensors);
    let mut by_name = HashMap::with_capacity(n_tensors);
    for i in 0..n_tensors {
        let info = parse_tensor_info(&mut c, i)?;
        if by_name.insert(info.name.clone(), i).is_some() {
            return Err(GgufError::DuplicateTensor {
                path: path.to_owned(),
                name: info.name,
            });
        }
        tensors.push(info);
    }
    let data_offset = align_up(c.pos(), alignment);
    check_data_section(path, bytes.len() as u64, data_offset, alignment, &tensors)?;
    Ok(Parsed {
        version,
        alignment,
        data_offset,
        metadata,
        tensors,
        by_name,
    })
}

pub fn align_up(offset: u64, alignment: u64) -> u64 {
    offset.div_ceil(alignment) * alignment
}

fn alignment(path: &str, metadata: &Metadata) -> Result<u64, GgufError> {
    let Some(v) = metadata.get(ALIGNMENT_KEY) else {
        return Ok(DEFAULT_ALIGNMENT);
    };
    let Value::U32(a) = *v else {
        return Err(GgufError::KeyType {
            path: path.to_owned(),
            key: ALIGNMENT_KEY.to_owned(),
            expected: "u32".into(),
            found: format!("{} {}", v.type_name(), v),
        });
    };
    if a == 0 || !a.is_power_of_two() {
        return Err(GgufError::invalid(
            path,
            format!("key '{ALIGNMENT_KEY}'"),
            format!("alignment {a} is not a power of two"),
        ));
    }
    Ok(a.into())
}

fn parse_metadata(c: &mut Cursor<'_>, n_kv: usize) -> Result<Metadata, GgufError> {
    let mut metadata = Metadata::new();
    for i in 0..n_kv {
        let key_len_at = c.pos();
        let key = c.string(&|| format!("key of metadata entry {i}"))?;
        if key.len() as u64 > MAX_KEY_BYTES || key.is_empty() {
            return Err(GgufError::invalid(
                c.path(),
                format!("metadata entry {i} at offset {key_len_at}"),
                format!("key length {} is outside 1..={MAX_KEY_BYTES}", key.len()),
            ));
        }
        let ty = c.u32(&|| format!("value type of key '{key}'"))?;
        let ty = ValueType::from_id(ty).ok_or_else(|| GgufError::UnknownValueType {
            path: c.path().to_owned(),
            key: key.clone(),
            ty,
        })?;
        let value = parse_value(c, &key, ty, 0)?;
        if !metadata.insert_new(key.clone(), value) {
            return Err(GgufError::DuplicateKey {
                path: c.path().to_owned(),
                key,
            });
        }
    }
    Ok(metadata)
}

fn parse_value(
    c: &mut Cursor<'_>,
    key: &str,
    ty: ValueType,
    depth: usize,
) -> Result<Value, GgufError> {
    let what = || format!("value of key '{key}'");
    Ok(match ty {
        ValueType::U8 => Value::U8(c.u8(&what)?),
        ValueType::I8 => Value::I8(c.u8(&what)? as i8),
        ValueType::U16 => Value::U16(c.u16(&what)?),
        ValueType::I16 => Value::I16(c.u16(&what)? as i16),
        ValueType::U32 => Value::U32(c.u32(&what)?),
        ValueType::I32 => Value::I32(c.u32(&what)? as i32),
        ValueType::F32 => Value::F32(f32::from_bits(c.u32(&what)?)),
        ValueType::U64 => Value::U64(c.u64(&what)?),
        ValueType::I64 => Value::I64(c.u64(&what)? as i64),
        ValueType::F64 => Value::F64(f64::from_bits(c.u64(&what)?)),
        ValueType::Bool => Value::Bool(parse_bool(c, key)?),
        ValueType::String => Value::String(c.string(&what)?),
        ValueType::Array => Value::Array(parse_array(c, key, depth)?),
    })
}

fn parse_bool(c: &mut Cursor<'_>, key: &str) -> Result<bool, GgufError> {
    match c.u8(&|| format!("value of key '{key}'"))? {
        0 => Ok(false),
        1 => Ok(true),
        b => Err(GgufError::invalid(
            c.path(),
            format!("key '{key}'"),
            format!("bool byte is {b}, expected 0 or 1"),
        )),
    }
}

fn parse_array(c: &mut Cursor<'_>, key: &str, depth: usize) -> Result<Array, GgufError> {
    if depth >= MAX_ARRAY_DEPTH {
        return Err(GgufError::invalid(
            c.path(),
            format!("key '{key}'"),
            format!("arrays nested deeper than {MAX_ARRAY_DEPTH}"),
        ));
    }
    let ty = c.u32(&|| format!("element type of array '{key}'"))?;
    let ty = ValueType::from_id(ty).ok_or_else(|| GgufError::UnknownValueType {
        path: c.path().to_owned(),
        key: key.to_owned(),
        ty,
    })?;
    let len = c.u64(&|| format!("length of array '{key}'"))?;
    let n = c.bounded_count(
        len,
        ty.min_encoded_size(),
        &format!("length of array '{key}'"),
    )?;
    let what = || format!("elements of array '{key}'");
    macro_rules! fixed {
        ($variant:ident, $t:ty, $read:ident, $conv:expr) => {{
            let mut v: Vec<$t> = Vec::with_capacity(n);
            for _ in 0..n {
                v.push($conv(c.$read(&what)?));
            }
            Array::$variant(v)
        }};
    }
    Ok(match ty {
        ValueType::U8 => fixed!(U8, u8, u8, |x| x),
        ValueType::I8 => fixed!(I8, i8, u8, |x: u8| x as i8),
        ValueType::U16 => fixed!(U16, u16, u16, |x| x),
        ValueType::I16 => fixed!(I16, i16, u16, |x: u16| x as i16),
        ValueType::U32 => fixed!(U32, u32, u32, |x| x),
        ValueType::I32 => fixed!(I32, i32, u32, |x: u32| x as i32),
        ValueType::F32 => fixed!(F32, f32, u32, f32::from_bits),
        ValueType::U64 => fixed!(U64, u64, u64, |x| x),
        ValueType::I64 => fixed!(I64, i64, u64, |x: u64| x as i64),
        ValueType::F64 => fixed!(F64, f64, u64, f64::from_bits),
        ValueType::Bool => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(parse_bool(c, key)?);
            }
            Array::Bool(v)
        }
        ValueType::String => {
            let mut v = Vec::with_capacity(n);
            for i in 0..n {
                v.push(c.string(&|| format!("element {i} of array '{key}'"))?);
            }
            Array::String(v)
        }
        ValueType::Array => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(parse_array(c, key, depth + 1)?);
            }
            Array::Array(v)
        }
    })
}

fn parse_tensor_info(c: &mut Cursor<'_>, i: usize) -> Result<TensorInfo, GgufError> {
    let name = c.string(&|| format!("name of tensor {i}"))?;
    let path = c.path();
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(GgufError::tensor(
            path,
            &name,
            format!("name length {} is outside 1..={MAX_NAME_BYTES}", name.len()),
        ));
    }
    let n_dims = c.u32(&|| format!("dimension count of tensor '{name}'"))?;
    if n_dims == 0 || n_dims > MAX_DIMS {
        return Err(GgufError::tensor(
            path,
            &name,
            format!("{n_dims} dimensions (expected 1..={MAX_DIMS})"),
        ));
    }
    let mut dims = Vec::with_capacity(n_dims as usize);
    for d in 0..n_dims {
        let v = c.u64(&|| format!("dimension {d} of tensor '{name}'"))?;
        if v == 0 {
            return Err(GgufError::tensor(
                path,
                &name,
                format!("dimension {d} is zero"),
            ));
        }
        dims.push(v);
    }
    let ty_id = c.u32(&|| format!("type of tensor '{name}'"))?;
    let ty = TensorType::from_id(ty_id).ok_or_else(|| GgufError::UnknownTensorType {
        path: path.to_owned(),
        tensor: name.clone(),
        ty: ty_id,
    })?;
    let offset = c.u64(&|| format!("data offset of tensor '{name}'"))?;
    let size = ty.byte_size(&dims).map_err(|reason| {
        GgufError::tensor(path, &name, format!("{ty} shape {dims:?}: {reason}"))
    })?;
    Ok(TensorInfo {
        name,
        dims,
        ty,
        offset,
        size,
    })
}

/// Every tensor aligned, inside the file, and not overlapping another.
fn check_data_section(
    path: &str,
    file_len: u64,
    data_offset: u64,
    alignment: u64,
    tensors: &[TensorInfo],
) -> Result<(), GgufError> {
    if tensors.is_empty() {
        return Ok(());
    }
    let data_len = file_len
        .checked_sub(data_offset)
        .ok_or_else(|| GgufError::Truncated {
            path: path.to_owned(),
            what: "padding before the tensor data section".into(),
            offset: data_offset,
            needed: 0,
            len: file_len,
        })?;
    for t in tensors {
        if !t.offset.is_multiple_of(alignment) {
            return Err(GgufError::tensor(
                path,
                &t.name,
                format!(
                    "data offset {} is not a multiple of the alignment {alignment}",
                    t.offset
                ),
            ));
        }
        let end = t.offset.checked_add(t.size).filter(|&e| e <= data_len);
        if end.is_none() {
            return Err(GgufError::tensor(
                path,
                &t.name,
                format!(
                    "data [{}, +{}) lies outside the {data_len}-byte data section (file is {file_len} bytes)",
                    t.offset, t.size
                ),
            ));
        }
    }
    let mut order: Vec<&TensorInfo> = tensors.iter().collect();
    order.sort_by_key(|t| t.offset);
    for w in order.windows(2) {
        if w[0].offset + w[0].size > w[1].offset {
            return Err(GgufError::tensor(
                path,
                &w[1].name,
                format!(
                    "data at offset {} overlaps tensor '{}'",
                    w[1].offset, w[0].name
                ),
            ));
        }
    }
    Ok(())
}
