//! Bytes as hex text and back: how digests (`plugins[].sha256`), queue keys
//! and binary payloads are shown to a person, and how the module's hex mode
//! (`+UMQTTC` read in hex) is read.

use std::fmt::Write as _;

/// Lowercase hex, two digits a byte.
pub fn encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// Hex text of either case (surrounding ASCII white space ignored) into
/// bytes; `None` for an odd number of digits or a character that is not one.
pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
    let text = text.trim_ascii();
    if text.len() % 2 != 0 {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    text.chunks_exact(2)
        .map(|pair| u8::try_from(digit(pair[0])? << 4 | digit(pair[1])?).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips_through_its_lowercase_spelling() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = encode(&bytes);
        assert_eq!(text.len(), 512);
        assert!(text.starts_with("000102"));
        assert!(text.ends_with("fdfeff"));
        assert_eq!(decode(text.as_bytes()), Some(bytes.clone()));
        assert_eq!(decode(text.to_uppercase().as_bytes()), Some(bytes));
    }

    #[test]
    fn odd_lengths_and_non_digits_are_refused() {
        assert_eq!(decode(b"abc"), None);
        assert_eq!(decode(b"zz"), None);
        assert_eq!(decode(b"+1"), None);
        assert_eq!(decode(b" 4142\r\n"), Some(b"AB".to_vec()));
        assert_eq!(decode(b""), Some(Vec::new()));
    }
}
