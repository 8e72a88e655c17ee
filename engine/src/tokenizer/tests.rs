//! Tokenizer tests on hand-made vocabularies whose expected tokens can be
//! worked out by hand, and round trips on the synthetic LLaMA-3-style one.

use super::vocab::token_type::{BYTE, CONTROL, NORMAL};
use super::{byte_level, StreamDecoder, SyntheticVocab, Tokenizer, TokenizerError};
use crate::gguf::keys;
use crate::gguf::{Array, Metadata, Value};

fn bpe(tokens: &[&str], merges: &[&str], pre: &str) -> Tokenizer {
    let mut md = Metadata::new();
    md.set(keys::TOKENIZER_MODEL, Value::String("gpt2".into()));
    md.set(keys::TOKENIZER_PRE, Value::String(pre.into()));
    let mut all: Vec<String> = (0..=255u8)
        .map(|b| byte_level::byte_to_char(b).to_string())
        .collect();
    all.extend(tokens.iter().map(|t| t.to_string()));
    md.set(keys::TOKENIZER_TOKENS, Value::Array(Array::String(all)));
    md.set(
        keys::TOKENIZER_MERGES,
        Value::Array(Array::String(
            merges.iter().map(|m| m.to_string()).collect(),
        )),
    );
    Tokenizer::from_metadata("test.gguf", &md).unwrap()
}

#[test]
fn bpe_merges_lowest_rank_first() {
    // ids: 256 "ab", 257 "bc", 258 "abc".
    let t = bpe(&["ab", "bc", "abc"], &["a b", "ab c"], "default");
    assert_eq!(t.encode("abc", false, false), vec![258]);
    assert_eq!(t.encode("abd", false, false), vec![256, b'd' as u32]);
    // "b c" ranked first: a + bc, and no merge joins them.
    let t = bpe(&["ab", "bc", "abc"], &["b c", "a b"], "default");
    assert_eq!(t.encode("abc", false, false), vec![b'a' as u32, 257]);
    // LLaMA-3 looks the whole word up before merging.
    let t = bpe(&["ab", "bc", "abc"], &["b c", "a b"], "llama-bpe");
    assert_eq!(t.encode("abc", false, false), vec![258]);
    // Words never merge across the pre-tokenizer's boundaries: " a" and "b".
    let t = bpe(&["ab"], &["a b"], "default");
    assert_eq!(t.encode("a,b", false, false), vec![97, 44, 98]);
}

#[test]
fn synthetic_vocab_round_trips_with_bos_and_specials() {
    let v = SyntheticVocab::new(1024).unwrap();
    let mut md = Metadata::new();
    v.write_metadata(&mut md);
    let t = Tokenizer::from_metadata("synth.gguf", &md).unwrap();
    assert_eq!((t.bos(), t.eos()), (Some(v.bos), Some(v.eos)));
    for text in [
        "Hello world, it's 12345 apples!\n\n  ok",
        "naïve café — ünïcödé ✓",
        "",
    ] {
        let ids = t.encode(text, true, false);
        assert_eq!(ids.first(), Some(&v.bos));
        assert_eq!(t.decode(&ids).unwrap(), text, "{ids:?}");
    }
    // Merges make common words shorter than their bytes.
    assert!(t.encode(" the river", false, false).len() < " the river".len());
    // Control tokens are parsed only when asked, and print as nothing.
    let ids = t.encode("a<|end_of_text|>b", false, true);
    assert_eq!(ids, vec![97, v.eos, 98]);
    assert!(t.is_end_of_generation(v.eos));
    assert_eq!(t.decode(&ids).unwrap(), "ab");
    assert!(t.encode("a<|end_of_text|>b", false, false).len() > 3);
    assert_eq!(
        t.decode(&[5000]),
        Err(TokenizerError::UnknownToken {
            token: 5000,
            vocab: 1024
        })
    );
}

#[test]
fn sentencepiece_prefers_high_scores_and_falls_back_to_bytes() {
    let tokens = [
        "<unk>",
        "<s>",
        "</s>",
        "\u{2581}",
        "a",
        "b",
        "\u{2581}a",
        "ab",
        "\u{2581}ab",
        "<0xC3>",
        "<0xA9>",
    ];
    let types = [
        2, CONTROL, CONTROL, NORMAL, NORMAL, NORMAL, NORMAL, NORMAL, NORMAL, BYTE, BYTE,
    ];
    let scores = [0.0, 0.0, 0.0, -1.0, -2.0, -2.0, -3.0, -0.5, -0.1, 0.0, 0.0];
    let mut md = Metadata::new();
    md.set(keys::TOKENIZER_MODEL, Value::String("llama".into()));
    md.set(
        keys::TOKENIZER_TOKENS,
        Value::Array(Array::String(
            tokens.iter().map(|s| s.to_string()).collect(),
        )),
    );
    md.set(
        keys::TOKENIZER_TOKEN_TYPE,
        Value::Array(Array::I32(types.to_vec())),
    );
    md.set(
        "tokenizer.ggml.scores",
        Value::Array(Array::F32(scores.to_vec())),
    );
    md.set(keys::TOKENIZER_BOS_ID, Value::U32(1));
    let t = Tokenizer::from_metadata("spm.gguf", &md).unwrap();
    // "▁ab": pairs "▁a" (-3.0) and "ab" (-0.5): "ab" first, then "▁ab".
    assert_eq!(t.encode("ab", true, false), vec![1, 8]);
    // "é" is not a piece: its two UTF-8 bytes.
    assert_eq!(t.encode("é", false, false), vec![3, 9, 10]);
    assert_eq!(t.decode(&[1, 8, 3, 9, 10]).unwrap(), "ab é");
}

#[test]
fn metadata_errors_name_the_key() {
    let mut md = Metadata::new();
    md.set(keys::TOKENIZER_MODEL, Value::String("rwkv".into()));
    md.set(
        keys::TOKENIZER_TOKENS,
        Value::Array(Array::String(vec!["a".into()])),
    );
    let e = Tokenizer::from_metadata("m.gguf", &md).unwrap_err();
    assert!(e.to_string().contains("rwkv"), "{e}");
    md.set(keys::TOKENIZER_MODEL, Value::String("gpt2".into()));
    let e = Tokenizer::from_metadata("m.gguf", &md).unwrap_err();
    assert!(e.to_string().contains(keys::TOKENIZER_MERGES), "{e}");
    md.set(keys::TOKENIZER_PRE, Value::String("qwen2".into()));
    let e = Tokenizer::from_metadata("m.gguf", &md).unwrap_err();
    assert!(matches!(e, TokenizerError::UnsupportedPre { .. }), "{e}");
}

#[test]
fn stream_decoder_holds_back_split_characters() {
    let mut d = StreamDecoder::default();
    let e = "é".as_bytes();
    assert_eq!(d.push(b"a"), "a");
    assert_eq!(d.push(&e[..1]), "");
    assert_eq!(d.push(&e[1..]), "é");
    assert_eq!(d.push(&[0xE2]), "");
    assert_eq!(d.finish(), "\u{FFFD}");
}
