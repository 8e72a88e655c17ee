//! Helpers for the GGUF tests: a byte-level builder for malformed files and
//! small synthetic models.
#![allow(dead_code)]

use engine::gguf::{GgufFile, GgufWriter, Metadata, TensorSpec};
use engine::synth::{self, Preset, SynthOptions, WeightType};
use indicatif::ProgressBar;
use std::path::{Path, PathBuf};

/// Writes GGUF fields one by one, valid or not.
#[derive(Default, Clone)]
pub struct Raw {
    pub buf: Vec<u8>,
}

impl Raw {
    pub fn header(version: u32, n_tensors: u64, n_kv: u64) -> Raw {
        let mut r = Raw::default();
        r.buf.extend_from_slice(b"GGUF");
        r.u32(version).u64(n_tensors).u64(n_kv);
        r
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn str(&mut self, s: &[u8]) -> &mut Self {
        self.u64(s.len() as u64);
        self.buf.extend_from_slice(s);
        self
    }
    pub fn kv_u32(&mut self, key: &str, v: u32) -> &mut Self {
        self.str(key.as_bytes()).u32(4).u32(v)
    }
    pub fn kv_str(&mut self, key: &str, v: &str) -> &mut Self {
        self.str(key.as_bytes()).u32(8).str(v.as_bytes())
    }
    pub fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
        self.str(name.as_bytes()).u32(dims.len() as u32);
        for &d in dims {
            self.u64(d);
        }
        self.u32(ty).u64(offset)
    }
    pub fn pad(&mut self, align: usize) -> &mut Self {
        while self.buf.len() % align != 0 {
            self.buf.push(0);
        }
        self
    }
    pub fn zeros(&mut self, n: usize) -> &mut Self {
        self.buf.resize(self.buf.len() + n, 0);
        self
    }
    pub fn parse(&self, name: &str) -> Result<GgufFile, String> {
        GgufFile::from_bytes(name, self.buf.clone()).map_err(|e| e.to_string())
    }
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn synth_opts(preset: Preset, ty: &str, seed: u64) -> SynthOptions {
    SynthOptions::new(preset, ty.parse::<WeightType>().unwrap(), seed)
}

/// A small model (2 layers, hidden 256, vocab 300) of weight type `ty`.
pub fn small_opts(ty: &str, seed: u64) -> SynthOptions {
    SynthOptions {
        vocab: Some(300),
        ..synth_opts(Preset::Tiny, ty, seed)
    }
}

pub fn write_synth(dir: &Path, name: &str, opts: &SynthOptions) -> PathBuf {
    let path = dir.join(name);
    synth::write_model(&path, opts, &ProgressBar::hidden()).expect("synth");
    path
}

/// Copies `src` to `dst` after letting `edit` change metadata and layout;
/// tensors keep their bytes (by name) or get zeros when the edit added one.
pub fn rewrite(src: &Path, dst: &Path, edit: impl FnOnce(&mut Metadata, &mut Vec<TensorSpec>)) {
    let f = GgufFile::open(src).unwrap();
    let mut md = f.metadata().clone();
    let mut specs: Vec<TensorSpec> = f
        .tensor_infos()
        .iter()
        .map(|t| TensorSpec::new(t.name.clone(), &t.dims, t.ty))
        .collect();
    edit(&mut md, &mut specs);
    let mut w = GgufWriter::create(dst, &md, specs.clone()).unwrap();
    for s in &specs {
        match f.info(&s.name) {
            Some(info) if info.ty == s.ty && info.dims == s.dims => w
                .write_tensor(&s.name, f.tensor(&s.name).unwrap().bytes)
                .unwrap(),
            _ => {
                let n = s.ty.byte_size(&s.dims).unwrap() as usize;
                w.write_tensor(&s.name, &vec![0u8; n]).unwrap()
            }
        }
    }
    w.finish().unwrap();
}
