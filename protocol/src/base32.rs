//! `B32` of PROTOCOL.md: RFC 4648 base32, alphabet `A-Z2-7`, no padding.
//!
//! Strict on purpose: one byte string has exactly one text form, so a payload
//! that decodes is the payload that was signed, and a scanner that changed
//! case or dropped a character is caught here rather than as a bad signature.

use data_encoding::BASE32_NOPAD;

use crate::CodeError;

pub fn encode(bytes: &[u8]) -> String {
    BASE32_NOPAD.encode(bytes)
}

/// Refuses lowercase, padding, any character outside `A-Z2-7`, a length no
/// byte string encodes to, and non-zero trailing bits.
pub fn decode(text: &str) -> Result<Vec<u8>, CodeError> {
    BASE32_NOPAD
        .decode(text.as_bytes())
        .map_err(|_| CodeError::Malformed("not strict base32 (A-Z2-7, no padding)"))
}

/// Characters of `B32` for `bytes` bytes.
pub(crate) const fn encoded_len(bytes: usize) -> usize {
    (bytes * 8).div_ceil(5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_test_vectors_encode_without_padding() {
        let cases = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (plain, b32) in cases {
            assert_eq!(encode(plain.as_bytes()), b32);
            assert_eq!(decode(b32).unwrap(), plain.as_bytes());
            assert_eq!(encoded_len(plain.len()), b32.len());
        }
    }

    #[test]
    fn lowercase_is_refused() {
        assert!(decode("mzxw6ytboi").is_err());
        assert!(decode("MZXW6YTBOi").is_err());
    }

    #[test]
    fn non_zero_trailing_bits_are_refused() {
        // "f" is 01100110: "MY" carries 10 bits, the last two must be zero.
        assert_eq!(decode("MY").unwrap(), b"f");
        for text in ["MZ", "M2", "M3"] {
            assert!(decode(text).is_err(), "{text}");
        }
    }

    #[test]
    fn padding_digits_outside_the_alphabet_and_impossible_lengths_are_refused() {
        for text in [
            "MY======", "MZXW6===", "MZXW1", "MZXW8", "MZXW0", "MZ W6", "M", "MZX", "MZXW6Y=",
            "MZXW6\n", "ÄÄ",
        ] {
            assert!(decode(text).is_err(), "{text:?}");
        }
    }
}
