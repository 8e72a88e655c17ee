//! GPT-2's byte-level alphabet: every byte maps to one printable Unicode
//! character, so any byte string is a string of "visible" symbols and a
//! space never appears inside a token (it becomes `Ġ`, U+0120). llama.cpp's
//! BPE tokenizer (`tokenizer.ggml.model = "gpt2"`) expects tokens and merges
//! spelled in this alphabet.
//!
//! ```text
//! bytes '!'..='~', 0xA1..=0xAC, 0xAE..=0xFF  ->  the same code point
//! the other 68 bytes, in increasing order   ->  U+0100, U+0101, ...
//!   (0x00 -> U+0100 'Ā', 0x20 ' ' -> U+0120 'Ġ', 0x0A '\n' -> U+010A 'Ċ')
//! ```

fn is_printable(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// The character byte `b` is spelled with.
pub fn byte_to_char(b: u8) -> char {
    if is_printable(b) {
        return char::from(b);
    }
    let rank = (0..b).filter(|&x| !is_printable(x)).count() as u32;
    char::from_u32(0x100 + rank).expect("U+0100..U+0143 are valid chars")
}

/// Inverse of [`byte_to_char`].
pub fn char_to_byte(c: char) -> Option<u8> {
    (0..=255u8).find(|&b| byte_to_char(b) == c)
}

/// Spells `bytes` in the byte-level alphabet.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| byte_to_char(b)).collect()
}

/// Turns a byte-level spelling back into bytes.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    s.chars().map(char_to_byte).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_gpt2_and_is_a_bijection() {
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(0), 'Ā');
        assert_eq!(byte_to_char(b'a'), 'a');
        assert_eq!(byte_to_char(0xAD), '\u{143}');
        let all: std::collections::HashSet<char> = (0..=255u8).map(byte_to_char).collect();
        assert_eq!(all.len(), 256);
        let bytes: Vec<u8> = (0..=255u8).collect();
        assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
    }
}
