//! The frame around every QR payload: `TC`, the version digit, a kind
//! letter, then `B32(body)`.

use crate::{CodeError, base32};

const MAGIC: &str = "TC";
const VERSION: u8 = b'1';
/// `TC1` and the kind letter.
pub(crate) const PREFIX_LEN: usize = 4;
/// Longer than any payload of this version; checked first so that no decoder
/// works on megabytes of input.
pub(crate) const MAX_LEN: usize = 256;

pub(crate) const KIND_ONLINE: u8 = b'K';
pub(crate) const KIND_OFFLINE: u8 = b'F';
pub(crate) const KIND_LINK: u8 = b'L';

pub(crate) fn encode(kind: u8, body: &[u8]) -> String {
    let mut text = String::with_capacity(PREFIX_LEN + base32::encoded_len(body.len()));
    text.push_str(MAGIC);
    text.push(char::from(VERSION));
    text.push(char::from(kind));
    text.push_str(&base32::encode(body));
    text
}

/// The kind letter of a `TC1` payload, checking only the prefix.
pub(crate) fn kind(text: &str) -> Result<u8, CodeError> {
    if text.len() > MAX_LEN {
        return Err(CodeError::Malformed("too long for any payload"));
    }
    let Some(rest) = text.as_bytes().strip_prefix(MAGIC.as_bytes()) else {
        return Err(CodeError::Malformed(
            "not a Tillcode payload (no TC prefix)",
        ));
    };
    match rest {
        [VERSION, kind, ..] => Ok(*kind),
        [VERSION] | [] => Err(CodeError::Malformed("truncated prefix")),
        _ => Err(CodeError::Malformed("unsupported payload version")),
    }
}

/// The body of a payload of kind `expected`, exactly `N` bytes.
pub(crate) fn decode<const N: usize>(text: &str, expected: u8) -> Result<[u8; N], CodeError> {
    if kind(text)? != expected {
        return Err(CodeError::Malformed("wrong kind of code"));
    }
    // ASCII prefix of 4 bytes checked above, so this is a char boundary.
    let body = &text[PREFIX_LEN..];
    if body.len() != base32::encoded_len(N) {
        return Err(CodeError::Malformed("wrong length for this kind of code"));
    }
    base32::decode(body)?
        .try_into()
        .map_err(|_| CodeError::Malformed("wrong length for this kind of code"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_round_trips_through_its_frame() {
        let text = encode(KIND_ONLINE, &[7; 16]);
        assert!(text.starts_with("TC1K"));
        assert_eq!(decode::<16>(&text, KIND_ONLINE), Ok([7; 16]));
    }

    #[test]
    fn the_prefix_is_checked_before_the_body() {
        let body = "A".repeat(26);
        let malformed = |text: &str| decode::<16>(text, KIND_ONLINE).unwrap_err();
        assert_eq!(
            malformed(&format!("TC2K{body}")),
            CodeError::Malformed("unsupported payload version")
        );
        assert_eq!(
            malformed(&format!("TC1L{body}")),
            CodeError::Malformed("wrong kind of code")
        );
        assert_eq!(
            malformed(&format!("tc1K{body}")),
            CodeError::Malformed("not a Tillcode payload (no TC prefix)")
        );
        for short in ["", "T", "TC", "TC1"] {
            assert!(
                matches!(malformed(short), CodeError::Malformed(_)),
                "{short:?}"
            );
        }
    }

    #[test]
    fn a_multibyte_character_after_the_prefix_is_refused_without_panicking() {
        assert!(decode::<16>("TC1Ké", KIND_ONLINE).is_err());
        assert!(decode::<16>("TC1é", KIND_ONLINE).is_err());
        assert!(kind("TCé").is_err());
    }
}
