//! A complete byte-level BPE vocabulary of any size >= 258, for synthetic
//! models that llama.cpp and the `gguf` package can load.
//!
//! ```text
//! id 0..256            the 256 byte tokens, byte order, type NORMAL
//! id 256..256+m        one token per learned merge, merge order, NORMAL
//! next                 <|begin_of_text|> (bos), <|end_of_text|> (eos), CONTROL
//! rest up to the size  <|reserved_special_token_K|>, CONTROL
//! ```
//!
//! Merges are learned from [`super::corpus::ENGLISH`]; when the requested
//! size needs more merges than the text supports (a few thousand) (LLaMA-3's 128 256), the
//! remainder is reserved control tokens, as LLaMA-3 itself reserves 256.

use super::{bpe_train, byte_level, corpus};
use crate::gguf::keys;
use crate::gguf::{Array, Metadata, Value};

/// llama.cpp `llama_token_type` values.
pub const TOKEN_TYPE_NORMAL: i32 = 1;
pub const TOKEN_TYPE_CONTROL: i32 = 3;
pub const BOS: &str = "<|begin_of_text|>";
pub const EOS: &str = "<|end_of_text|>";
pub const MIN_VOCAB: usize = 258;

#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticVocab {
    pub tokens: Vec<String>,
    pub token_types: Vec<i32>,
    /// `"left right"`, llama.cpp's spelling.
    pub merges: Vec<String>,
    pub bos: u32,
    pub eos: u32,
}

impl SyntheticVocab {
    /// A vocabulary of exactly `size` tokens (`size >= MIN_VOCAB`).
    pub fn new(size: usize) -> Option<SyntheticVocab> {
        if size < MIN_VOCAB {
            return None;
        }
        let mut tokens: Vec<String> = (0..=255u8)
            .map(|b| byte_level::byte_to_char(b).to_string())
            .collect();
        let learned = bpe_train::learn_merges(corpus::ENGLISH, size - MIN_VOCAB);
        let mut merges = Vec::with_capacity(learned.len());
        for (l, r) in learned {
            tokens.push(format!("{l}{r}"));
            merges.push(format!("{l} {r}"));
        }
        let mut token_types = vec![TOKEN_TYPE_NORMAL; tokens.len()];
        let bos = tokens.len() as u32;
        tokens.push(BOS.into());
        tokens.push(EOS.into());
        for k in 0..size - tokens.len() {
            tokens.push(format!("<|reserved_special_token_{k}|>"));
        }
        token_types.resize(tokens.len(), TOKEN_TYPE_CONTROL);
        Some(SyntheticVocab {
            tokens,
            token_types,
            merges,
            bos,
            eos: bos + 1,
        })
    }

    /// Writes the `tokenizer.ggml.*` keys llama.cpp reads for a GPT-2 BPE.
    pub fn write_metadata(&self, md: &mut Metadata) {
        md.set(keys::TOKENIZER_MODEL, Value::String("gpt2".into()));
        md.set(keys::TOKENIZER_PRE, Value::String("llama-bpe".into()));
        md.set(
            keys::TOKENIZER_TOKENS,
            Value::Array(Array::String(self.tokens.clone())),
        );
        md.set(
            keys::TOKENIZER_TOKEN_TYPE,
            Value::Array(Array::I32(self.token_types.clone())),
        );
        md.set(
            keys::TOKENIZER_MERGES,
            Value::Array(Array::String(self.merges.clone())),
        );
        md.set(keys::TOKENIZER_BOS_ID, Value::U32(self.bos));
        md.set(keys::TOKENIZER_EOS_ID, Value::U32(self.eos));
        md.set(keys::TOKENIZER_ADD_BOS, Value::Bool(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn vocab_is_exact_size_unique_and_merge_closed() {
        for size in [MIN_VOCAB, 512, 4096] {
            let v = SyntheticVocab::new(size).unwrap();
            assert_eq!(v.tokens.len(), size);
            assert_eq!(v.token_types.len(), size);
            let set: HashSet<&str> = v.tokens.iter().map(String::as_str).collect();
            assert_eq!(set.len(), size, "tokens must be unique");
            // Every merge's parts and result are tokens: what llama.cpp needs.
            for m in &v.merges {
                let (l, r) = m.split_once(' ').unwrap();
                assert!(set.contains(l) && set.contains(r));
                assert!(set.contains(format!("{l}{r}").as_str()));
            }
            assert_eq!(v.tokens[v.bos as usize], BOS);
            assert_eq!(v.tokens[v.eos as usize], EOS);
        }
        assert!(SyntheticVocab::new(100).is_none());
        // The text supports a real vocabulary, not a handful of merges.
        let n = SyntheticVocab::new(4096).unwrap().merges.len();
        assert!(n > 500, "{n} merges");
    }
}
