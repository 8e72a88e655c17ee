//! The key-value section of a GGUF file: insertion order kept (a writer
//! copies it back unchanged), lookups by key in O(1), typed getters whose
//! errors name the file and the key.

use super::{GgufError, Value};
use std::collections::HashMap;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    entries: Vec<(String, Value)>,
    index: HashMap<String, usize>,
}

impl Metadata {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key`, replacing an existing value in place (order is kept).
    pub fn set(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
            }
        }
    }

    /// Adds a new key; `false` if it already exists (the parser's duplicate check).
    pub(crate) fn insert_new(&mut self, key: String, value: Value) -> bool {
        if self.index.contains_key(&key) {
            return false;
        }
        self.set(key, value);
        true
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.index.remove(key)?;
        let (_, v) = self.entries.remove(i);
        for idx in self.index.values_mut() {
            if *idx > i {
                *idx -= 1;
            }
        }
        Some(v)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn required<'a>(&'a self, path: &str, key: &str) -> Result<&'a Value, GgufError> {
        self.get(key).ok_or_else(|| GgufError::MissingKey {
            path: path.to_owned(),
            key: key.to_owned(),
        })
    }

    fn wrong_type(path: &str, key: &str, expected: &str, found: &Value) -> GgufError {
        GgufError::KeyType {
            path: path.to_owned(),
            key: key.to_owned(),
            expected: expected.to_owned(),
            found: format!("{} {}", found.type_name(), found),
        }
    }

    /// A required non-negative integer of any width.
    pub fn u64(&self, path: &str, key: &str) -> Result<u64, GgufError> {
        let v = self.required(path, key)?;
        v.as_u64()
            .ok_or_else(|| Self::wrong_type(path, key, "a non-negative integer", v))
    }

    pub fn opt_u64(&self, path: &str, key: &str) -> Result<Option<u64>, GgufError> {
        if self.contains(key) {
            self.u64(path, key).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A required float (f32 or f64).
    pub fn f64(&self, path: &str, key: &str) -> Result<f64, GgufError> {
        let v = self.required(path, key)?;
        v.as_f64()
            .ok_or_else(|| Self::wrong_type(path, key, "a float", v))
    }

    pub fn opt_f64(&self, path: &str, key: &str) -> Result<Option<f64>, GgufError> {
        if self.contains(key) {
            self.f64(path, key).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn str<'a>(&'a self, path: &str, key: &str) -> Result<&'a str, GgufError> {
        let v = self.required(path, key)?;
        v.as_str()
            .ok_or_else(|| Self::wrong_type(path, key, "a string", v))
    }

    pub fn opt_str<'a>(&'a self, path: &str, key: &str) -> Result<Option<&'a str>, GgufError> {
        if self.contains(key) {
            self.str(path, key).map(Some)
        } else {
            Ok(None)
        }
    }
}
