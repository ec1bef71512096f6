//! RFC 9530 `Content-Digest` as the server checks it against a signed
//! request's body. The first line is the header, the rest the body.
//!
//! Properties: nothing panics; the digest the signer writes always matches
//! its body; a header that matches a body keeps matching through
//! `content_digest_matches`; a non-empty body without a header is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tillcode_protocol::{
    DigestError, content_digest, content_digest_matches, verify_content_digest,
};

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, &[][..]),
    };
    if let Ok(header) = std::str::from_utf8(header) {
        let verdict = verify_content_digest(header, body);
        assert_eq!(content_digest_matches(Some(header), body), verdict);
        if verdict.is_ok() {
            // No second body matches: flipping a byte (or adding one) breaks it.
            let mut other = body.to_vec();
            match other.first_mut() {
                Some(b) => *b ^= 1,
                None => other.push(0),
            }
            assert!(verify_content_digest(header, &other).is_err());
        }
    }
    let written = content_digest(body);
    assert_eq!(verify_content_digest(&written, body), Ok(()));
    let missing = content_digest_matches(None, body);
    if body.is_empty() {
        assert_eq!(missing, Ok(()));
    } else {
        assert_eq!(missing, Err(DigestError::Missing));
    }
});
