//! The runtime tokenizer, built from a model's `tokenizer.ggml.*` metadata
//! as llama.cpp builds it (`src/llama-vocab.cpp`):
//!
//! * `gpt2` — byte-level BPE (GPT-2, LLaMA-3): text is cut into words by the
//!   pre-tokenizer regex ([`super::pre`]), each word is spelled in the
//!   byte-level alphabet ([`super::byte_level`]) and merged pair by pair,
//!   lowest merge rank first. LLaMA-3 first looks the whole word up.
//! * `llama` — SentencePiece BPE: spaces become `▁` (a leading one is
//!   added), characters are merged pair by pair, highest score first;
//!   pieces missing from the vocabulary fall back to `<0xNN>` byte tokens.
//!
//! Control and user-defined tokens (`<|begin_of_text|>` ...) are matched
//! verbatim in the text before any of that when `parse_special` is set.

use super::byte_level;
use super::error::TokenizerError;
use super::pre::{PreKind, PreTokenizer};
use crate::gguf::keys;
use crate::gguf::{Array, GgufFile, Metadata};
use std::collections::HashMap;

/// llama.cpp `llama_token_type`.
pub mod token_type {
    pub const NORMAL: i32 = 1;
    pub const UNKNOWN: i32 = 2;
    pub const CONTROL: i32 = 3;
    pub const USER_DEFINED: i32 = 4;
    pub const UNUSED: i32 = 5;
    pub const BYTE: i32 = 6;
}

const SPM_SPACE: char = '\u{2581}';

#[derive(Debug)]
enum Model {
    Bpe {
        pre: PreTokenizer,
        /// `(left, right)` -> merge rank.
        ranks: HashMap<(String, String), usize>,
    },
    Spm {
        scores: Vec<f32>,
        add_space_prefix: bool,
    },
}

#[derive(Debug)]
pub struct Tokenizer {
    model: Model,
    tokens: Vec<String>,
    types: Vec<i32>,
    ids: HashMap<String, u32>,
    /// Control and user-defined tokens, longest first (for verbatim matching).
    specials: Vec<(String, u32)>,
    bos: Option<u32>,
    eos: Option<u32>,
    add_bos: bool,
}

fn missing(path: &str, key: &str) -> TokenizerError {
    TokenizerError::MissingKey {
        path: path.to_owned(),
        key: key.to_owned(),
    }
}

fn bad(path: &str, key: &str, reason: impl Into<String>) -> TokenizerError {
    TokenizerError::BadKey {
        path: path.to_owned(),
        key: key.to_owned(),
        reason: reason.into(),
    }
}

fn opt_id(path: &str, md: &Metadata, key: &str, n: usize) -> Result<Option<u32>, TokenizerError> {
    match md.get(key) {
        None => Ok(None),
        Some(v) => {
            let id = v.as_u64().ok_or_else(|| {
                bad(
                    path,
                    key,
                    format!("expected an integer, found {}", v.type_name()),
                )
            })?;
            if id as usize >= n {
                return Err(bad(
                    path,
                    key,
                    format!("id {id} is outside the vocabulary of {n}"),
                ));
            }
            Ok(Some(id as u32))
        }
    }
}

impl Tokenizer {
    pub fn from_gguf(file: &GgufFile) -> Result<Tokenizer, TokenizerError> {
        Self::from_metadata(file.path(), file.metadata())
    }

    pub fn from_metadata(path: &str, md: &Metadata) -> Result<Tokenizer, TokenizerError> {
        let model_name = md
            .get(keys::TOKENIZER_MODEL)
            .ok_or_else(|| missing(path, keys::TOKENIZER_MODEL))?
            .as_str()
            .ok_or_else(|| bad(path, keys::TOKENIZER_MODEL, "expected a string"))?;
        let tokens = md
            .get(keys::TOKENIZER_TOKENS)
            .ok_or_else(|| missing(path, keys::TOKENIZER_TOKENS))?
            .as_array()
            .and_then(|a| a.as_strings())
            .ok_or_else(|| bad(path, keys::TOKENIZER_TOKENS, "expected an array of strings"))?
            .to_vec();
        let n = tokens.len();
        if n == 0 {
            return Err(bad(path, keys::TOKENIZER_TOKENS, "empty vocabulary"));
        }
        let types = match md
            .get(keys::TOKENIZER_TOKEN_TYPE)
            .and_then(|v| v.as_array())
        {
            None => vec![token_type::NORMAL; n],
            Some(Array::I32(t)) if t.len() == n => t.clone(),
            Some(a) => {
                return Err(bad(
                    path,
                    keys::TOKENIZER_TOKEN_TYPE,
                    format!(
                        "expected {n} i32 values, found {} of {}",
                        a.len(),
                        a.element_type().name()
                    ),
                ))
            }
        };
        let model = match model_name {
            "gpt2" => {
                let pre_name = match md.get(keys::TOKENIZER_PRE) {
                    None => None,
                    Some(v) => Some(
                        v.as_str()
                            .ok_or_else(|| bad(path, keys::TOKENIZER_PRE, "expected a string"))?,
                    ),
                };
                let kind =
                    PreKind::from_name(pre_name).ok_or_else(|| TokenizerError::UnsupportedPre {
                        path: path.to_owned(),
                        pre: pre_name.unwrap_or_default().to_owned(),
                    })?;
                let merges = md
                    .get(keys::TOKENIZER_MERGES)
                    .ok_or_else(|| missing(path, keys::TOKENIZER_MERGES))?
                    .as_array()
                    .and_then(|a| a.as_strings())
                    .ok_or_else(|| {
                        bad(path, keys::TOKENIZER_MERGES, "expected an array of strings")
                    })?;
                let mut ranks = HashMap::with_capacity(merges.len());
                for (rank, m) in merges.iter().enumerate() {
                    let (l, r) = m.split_once(' ').ok_or_else(|| {
                        bad(
                            path,
                            keys::TOKENIZER_MERGES,
                            format!("merge {rank} '{m}' has no space"),
                        )
                    })?;
                    ranks.entry((l.to_owned(), r.to_owned())).or_insert(rank);
                }
                Model::Bpe {
                    pre: PreTokenizer::new(kind),
                    ranks,
                }
            }
            "llama" => {
                let key = "tokenizer.ggml.scores";
                let scores = match md.get(key).and_then(|v| v.as_array()) {
                    Some(Array::F32(s)) if s.len() == n => s.clone(),
                    Some(_) => return Err(bad(path, key, format!("expected {n} f32 values"))),
                    None => return Err(missing(path, key)),
                };
                let add_space_prefix = md
                    .get("tokenizer.ggml.add_space_prefix")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(true);
                Model::Spm {
                    scores,
                    add_space_prefix,
                }
            }
            other => {
                return Err(TokenizerError::UnsupportedModel {
                    path: path.to_owned(),
                    model: other.to_owned(),
                })
            }
        };
        let mut ids = HashMap::with_capacity(n);
        for (i, t) in tokens.iter().enumerate() {
            ids.entry(t.clone()).or_insert(i as u32);
        }
        let mut specials: Vec<(String, u32)> = tokens
            .iter()
            .zip(&types)
            .enumerate()
            .filter(|(_, (t, &ty))| {
                !t.is_empty() && (ty == token_type::CONTROL || ty == token_type::USER_DEFINED)
            })
            .map(|(i, (t, _))| (t.clone(), i as u32))
            .collect();
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        let add_bos_default = matches!(model, Model::Spm { .. });
        Ok(Tokenizer {
            bos: opt_id(path, md, keys::TOKENIZER_BOS_ID, n)?,
            eos: opt_id(path, md, keys::TOKENIZER_EOS_ID, n)?,
            add_bos: md
                .get(keys::TOKENIZER_ADD_BOS)
                .and_then(|v| v.as_bool())
                .unwrap_or(add_bos_default),
            model,
            tokens,
            types,
            ids,
            specials,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// Whether the model wants BOS in front of a prompt.
    pub fn adds_bos(&self) -> bool {
        self.add_bos && self.bos.is_some()
    }

    /// Whether generation should stop at `token`: EOS, or any control token
    /// llama.cpp treats as end of generation (`<|eot_id|>`, `<|end_of_text|>`).
    pub fn is_end_of_generation(&self, token: u32) -> bool {
        if Some(token) == self.eos {
            return true;
        }
        matches!(
            self.tokens.get(token as usize).map(String::as_str),
            Some("<|eot_id|>" | "<|end_of_text|>" | "<|im_end|>" | "</s>")
        ) && self.types.get(token as usize) == Some(&token_type::CONTROL)
    }

    /// Token ids of `text`. `add_bos`: put BOS first when the model asks for
    /// it; `parse_special`: recognise control tokens written in the text.
    pub fn encode(&self, text: &str, add_bos: bool, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::new();
        if add_bos && self.adds_bos() {
            out.extend(self.bos);
        }
        let mut first = true;
        for frag in self.fragments(text, parse_special) {
            match frag {
                Fragment::Special(id) => out.push(id),
                Fragment::Text(t) => match &self.model {
                    Model::Bpe { pre, ranks } => self.encode_bpe(pre, ranks, t, &mut out),
                    Model::Spm {
                        scores,
                        add_space_prefix,
                    } => self.encode_spm(scores, *add_space_prefix && first, t, &mut out),
                },
            }
            first = false;
        }
        out
    }

    fn fragments<'t>(&self, text: &'t str, parse_special: bool) -> Vec<Fragment<'t>> {
        let mut out = Vec::new();
        if !parse_special || self.specials.is_empty() {
            if !text.is_empty() {
                out.push(Fragment::Text(text));
            }
            return out;
        }
        let mut rest = text;
        let mut plain = 0;
        while plain < rest.len() {
            let hit = self
                .specials
                .iter()
                .find(|(s, _)| rest[plain..].starts_with(s.as_str()));
            match hit {
                Some((s, id)) => {
                    if plain > 0 {
                        out.push(Fragment::Text(&rest[..plain]));
                    }
                    out.push(Fragment::Special(*id));
                    rest = &rest[plain + s.len()..];
                    plain = 0;
                }
                None => {
                    plain += rest[plain..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        if !rest.is_empty() {
            out.push(Fragment::Text(rest));
        }
        out
    }

    fn encode_bpe(
        &self,
        pre: &PreTokenizer,
        ranks: &HashMap<(String, String), usize>,
        text: &str,
        out: &mut Vec<u32>,
    ) {
        for word in pre.split(text) {
            let spelled = byte_level::encode(word.as_bytes());
            if pre.kind.ignores_merges() {
                if let Some(&id) = self.ids.get(&spelled) {
                    out.push(id);
                    continue;
                }
            }
            let mut parts: Vec<String> = spelled.chars().map(String::from).collect();
            loop {
                let best = parts
                    .windows(2)
                    .enumerate()
                    .filter_map(|(i, w)| ranks.get(&(w[0].clone(), w[1].clone())).map(|&r| (r, i)))
                    .min();
                let Some((_, i)) = best else { break };
                let right = parts.remove(i + 1);
                parts[i].push_str(&right);
            }
            for p in parts {
                match self.ids.get(&p) {
                    Some(&id) => out.push(id),
                    // A piece the vocabulary lacks: its single-byte tokens.
                    None => out.extend(
                        p.chars()
                            .filter_map(|c| self.ids.get(&c.to_string()).copied()),
                    ),
                }
            }
        }
    }

    fn encode_spm(&self, scores: &[f32], space_prefix: bool, text: &str, out: &mut Vec<u32>) {
        let mut s = String::with_capacity(text.len() + 3);
        if space_prefix {
            s.push(SPM_SPACE);
        }
        s.extend(text.chars().map(|c| if c == ' ' { SPM_SPACE } else { c }));
        let mut parts: Vec<String> = s.chars().map(String::from).collect();
        loop {
            let mut best: Option<(f32, usize)> = None;
            for i in 0..parts.len().saturating_sub(1) {
                let joined = format!("{}{}", parts[i], parts[i + 1]);
                if let Some(&id) = self.ids.get(&joined) {
                    let sc = scores[id as usize];
                    if best.is_none_or_lower(sc) {
                        best = Some((sc, i));
                    }
                }
            }
            let Some((_, i)) = best else { break };
            let right = parts.remove(i + 1);
            parts[i].push_str(&right);
        }
        for p in parts {
            match self.ids.get(&p) {
                Some(&id) => out.push(id),
                None => {
                    for b in p.as_bytes() {
                        if let Some(&id) = self.ids.get(&format!("<0x{b:02X}>")) {
                            out.push(id);
                        }
                    }
                }
            }
        }
    }

    /// The bytes token `id` stands for in generated text (empty for control
    /// tokens, which are not text).
    pub fn token_bytes(&self, id: u32) -> Result<Vec<u8>, TokenizerError> {
        let t = self
            .tokens
            .get(id as usize)
            .ok_or(TokenizerError::UnknownToken {
                token: id,
                vocab: self.tokens.len(),
            })?;
        let ty = self.types[id as usize];
        if ty == token_type::CONTROL || ty == token_type::UNKNOWN || ty == token_type::UNUSED {
            return Ok(Vec::new());
        }
        Ok(match &self.model {
            Model::Bpe { .. } if ty == token_type::USER_DEFINED => t.as_bytes().to_vec(),
            Model::Bpe { .. } => byte_level::decode(t).unwrap_or_else(|| t.as_bytes().to_vec()),
            Model::Spm { .. } => {
                if ty == token_type::BYTE {
                    let hex = t.trim_start_matches("<0x").trim_end_matches('>');
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => vec![b],
                        Err(_) => t.as_bytes().to_vec(),
                    }
                } else {
                    t.replace(SPM_SPACE, " ").into_bytes()
                }
            }
        })
    }

    /// The text of `ids` (invalid UTF-8 replaced by U+FFFD).
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let mut bytes = Vec::new();
        for &id in ids {
            bytes.extend(self.token_bytes(id)?);
        }
        let mut s = String::from_utf8_lossy(&bytes).into_owned();
        if let Model::Spm {
            add_space_prefix: true,
            ..
        } = self.model
        {
            if s.starts_with(' ') {
                s.remove(0);
            }
        }
        Ok(s)
    }
}

trait LowerScore {
    fn is_none_or_lower(&self, score: f32) -> bool;
}

impl LowerScore for Option<(f32, usize)> {
    /// SentencePiece keeps the first pair of the highest score.
    fn is_none_or_lower(&self, score: f32) -> bool {
        match self {
            None => true,
            Some((s, _)) => score > *s,
        }
    }
}

enum Fragment<'t> {
    Text(&'t str),
    Special(u32),
}

/// Turns a stream of token bytes into text pieces that are whole UTF-8
/// characters, holding back an incomplete multi-byte sequence until the next
/// token completes it.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // An invalid byte (not just an unfinished one): emit lossily.
            Err(_) => self.pending.len(),
        };
        let text = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
        self.pending.drain(..valid);
        text
    }

    /// Whatever is left at the end of the stream.
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
}
