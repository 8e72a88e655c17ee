//! Pre-tokenization of byte-level BPE: the regular expressions llama.cpp
//! uses to cut text into words before merging (`llama-vocab.cpp`,
//! `LLAMA_VOCAB_PRE_TYPE_LLAMA3` and `_DEFAULT`). Merges never cross a word
//! boundary, so these must match the reference exactly.

use fancy_regex::Regex;

/// LLaMA-3 (`tokenizer.ggml.pre = "llama-bpe"`).
pub const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// GPT-2 (`"default"`, `"gpt-2"`, or no `pre` key).
pub const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreKind {
    Llama3,
    Gpt2,
}

impl PreKind {
    /// The kind named by `tokenizer.ggml.pre`, `None` for an unknown name.
    pub fn from_name(pre: Option<&str>) -> Option<PreKind> {
        match pre {
            None | Some("default" | "gpt-2" | "gpt2") => Some(PreKind::Gpt2),
            Some("llama-bpe" | "llama3" | "llama-v3" | "smaug-bpe") => Some(PreKind::Llama3),
            Some(_) => None,
        }
    }

    /// LLaMA-3 looks a whole word up before merging (llama.cpp's
    /// `ignore_merges`).
    pub fn ignores_merges(self) -> bool {
        self == PreKind::Llama3
    }
}

#[derive(Debug)]
pub struct PreTokenizer {
    re: Regex,
    pub kind: PreKind,
}

impl PreTokenizer {
    pub fn new(kind: PreKind) -> PreTokenizer {
        let pattern = match kind {
            PreKind::Llama3 => LLAMA3,
            PreKind::Gpt2 => GPT2,
        };
        PreTokenizer {
            re: Regex::new(pattern).expect("the two patterns are valid"),
            kind,
        }
    }

    /// The words of `text`, in order, covering it entirely.
    pub fn split<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let mut out = Vec::new();
        let mut last = 0;
        for m in self.re.find_iter(text) {
            // A backtracking limit error leaves the rest as one word.
            let Ok(m) = m else { break };
            if m.start() > last {
                out.push(&text[last..m.start()]);
            }
            out.push(m.as_str());
            last = m.end();
        }
        if last < text.len() {
            out.push(&text[last..]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama3_splits_like_the_reference() {
        let p = PreTokenizer::new(PreKind::Llama3);
        assert_eq!(
            p.split("Hello world, it's 12345 apples!\n\n  ok"),
            vec![
                "Hello", " world", ",", " it", "'s", " ", "123", "45", " apples", "!\n\n", " ",
                " ok"
            ]
        );
        let g = PreTokenizer::new(PreKind::Gpt2);
        assert_eq!(g.split("it's 12345"), vec!["it", "'s", " 12345"]);
        assert_eq!(PreKind::from_name(Some("llama-bpe")), Some(PreKind::Llama3));
        assert_eq!(PreKind::from_name(Some("qwen2")), None);
    }
}
