//! What a plugin is pinned by: the SHA-256 of its file, as the config writes
//! it (`plugins[].sha256`, 64 hex digits) and as the loader compares it.

use crate::values::hex;

/// What the loader accepts for a plugin file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// Only a file whose SHA-256 is exactly this.
    Sha256([u8; 32]),
    /// Any file that passes the ownership and mode checks; the loader warns
    /// with the hash it loaded. Only with `allow_unpinned = true`.
    Unpinned,
}

/// Lowercase hex, as `edge-agent plugin inspect` prints it and the config
/// takes it.
pub fn sha256_hex(digest: &[u8; 32]) -> String {
    hex::encode(digest)
}

/// Parses 64 hex digits (either case) into a digest; the error says what is
/// wrong with the text.
pub fn parse_sha256_hex(text: &str) -> Result<[u8; 32], String> {
    if let Some(c) = text.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "{c:?} is not a hex digit; a SHA-256 is 64 hex digits \
             (`edge-agent plugin inspect PATH` prints it)"
        ));
    }
    if text.len() != 64 {
        return Err(format!(
            "{} hex digits; a SHA-256 is 64 (`edge-agent plugin inspect PATH` prints it)",
            text.len()
        ));
    }
    hex::decode(text.as_bytes())
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| "not a SHA-256".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_accepts_either_case() {
        let mut digest = [0u8; 32];
        for (i, b) in digest.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37);
        }
        let text = sha256_hex(&digest);
        assert_eq!(text.len(), 64);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(parse_sha256_hex(&text), Ok(digest));
        assert_eq!(parse_sha256_hex(&text.to_uppercase()), Ok(digest));
        assert!(text.starts_with("00254a6f"), "{text}");
    }

    #[test]
    fn bad_hex_says_what_is_wrong() {
        let short = parse_sha256_hex("abc").unwrap_err();
        assert!(short.contains("3 hex digits; a SHA-256 is 64"), "{short}");
        let bad = parse_sha256_hex(&"g".repeat(64)).unwrap_err();
        assert!(bad.contains("'g' is not a hex digit"), "{bad}");
    }
}
