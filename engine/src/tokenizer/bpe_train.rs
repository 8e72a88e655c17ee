//! Learns byte-level BPE merges from a text, deterministically.
//!
//! Pre-tokens follow the shape of LLaMA-3's pattern (`llama-bpe` in
//! llama.cpp) for ASCII text, so merges never cross what the runtime
//! tokenizer will keep apart: contractions (`'s`, `'ll`), an optional leading
//! non-alphanumeric character plus a run of letters (` river`), runs of up to
//! three digits, punctuation runs with an optional leading space, and
//! whitespace. Each step merges the most frequent adjacent pair (down to pairs seen once,
//! as Hugging Face's trainer does by default); ties go to the
//! lexicographically smallest pair, so the result depends on the text
//! alone.

use super::byte_level;
use std::collections::{BTreeMap, HashMap};

/// Splits ASCII-ish text into pre-tokens.
pub fn pretokenize(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let letter = |c: u8| c.is_ascii_alphabetic() || c >= 0x80;
    while i < b.len() {
        let start = i;
        let c = b[i];
        if c == b'\'' {
            let rest = &text[i + 1..];
            let lower = rest.get(..2).map(|s| s.to_ascii_lowercase());
            let one = rest.get(..1).map(|s| s.to_ascii_lowercase());
            let n = match (lower.as_deref(), one.as_deref()) {
                (Some("re" | "ve" | "ll"), _) => 3,
                (_, Some("s" | "t" | "m" | "d")) => 2,
                _ => 0,
            };
            if n > 0 {
                out.push(&text[i..i + n]);
                i += n;
                continue;
            }
        }
        if letter(c)
            || (!c.is_ascii_digit()
                && c != b'\r'
                && c != b'\n'
                && i + 1 < b.len()
                && letter(b[i + 1]))
        {
            i += 1;
            while i < b.len() && letter(b[i]) {
                i += 1;
            }
        } else if c.is_ascii_digit() {
            while i < b.len() && i - start < 3 && b[i].is_ascii_digit() {
                i += 1;
            }
        } else if c.is_ascii_whitespace() {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            // `\s+(?!\S)`: leave the last space to prefix the next word.
            if i < b.len() && i - start > 1 && b[i - 1] == b' ' {
                i -= 1;
            }
        } else {
            i += 1;
            while i < b.len()
                && !b[i].is_ascii_whitespace()
                && !letter(b[i])
                && !b[i].is_ascii_digit()
            {
                i += 1;
            }
        }
        out.push(&text[start..i]);
    }
    out
}

/// Up to `max_merges` merges `(left, right)` in byte-level spelling, in the
/// order learned. Stops early when every pre-token is a single symbol.
pub fn learn_merges(text: &str, max_merges: usize) -> Vec<(String, String)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for w in pretokenize(text) {
        *counts.entry(w).or_default() += 1;
    }
    let mut words: Vec<(Vec<String>, usize)> = counts
        .into_iter()
        .map(|(w, n)| {
            let syms = w
                .bytes()
                .map(|b| byte_level::byte_to_char(b).to_string())
                .collect();
            (syms, n)
        })
        .collect();
    let mut merges = Vec::new();
    while merges.len() < max_merges {
        let mut pairs: HashMap<(&str, &str), usize> = HashMap::new();
        for (syms, n) in &words {
            for w in syms.windows(2) {
                *pairs.entry((&w[0], &w[1])).or_default() += n;
            }
        }
        let best = pairs
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)));
        let Some(((l, r), _)) = best else { break };
        let (l, r) = (l.to_owned(), r.to_owned());
        for (syms, _) in &mut words {
            let mut i = 0;
            while i + 1 < syms.len() {
                if syms[i] == l && syms[i + 1] == r {
                    let right = syms.remove(i + 1);
                    syms[i].push_str(&right);
                }
                i += 1;
            }
        }
        merges.push((l, r));
    }
    merges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretokens_cover_the_text_and_keep_leading_spaces() {
        let text = "The river's 2024 count: 1250 people.\n\nIt ran  fast.";
        let toks = pretokenize(text);
        assert_eq!(toks.concat(), text);
        assert!(toks.contains(&" river"));
        assert!(toks.contains(&"'s"));
        assert!(toks.contains(&"202"));
        assert!(toks.contains(&" fast"));
    }

    #[test]
    fn merges_are_deterministic_and_frequency_first() {
        let text = "aaab aaab aaab ab";
        let m = learn_merges(text, 10);
        assert_eq!(m, learn_merges(text, 10));
        assert_eq!(m[0], ("a".to_string(), "a".to_string()));
        assert!(m.iter().all(|(l, r)| !l.is_empty() && !r.is_empty()));
    }
}
