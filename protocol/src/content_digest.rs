//! RFC 9530 `Content-Digest`: the hash of a request body that request
//! signatures cover (docs/protocol.md, section 11), so that the signature
//! protects the body without signing its bytes directly.
//!
//! Tillcode sends exactly `sha-256=:<base64 of SHA-256(body)>:`. The verifier
//! also understands `sha-512` and skips algorithms it does not know, as
//! RFC 9530 allows, but needs at least one digest it can check, and every
//! digest it can check must match.
//!
//! The header is an RFC 9651 Dictionary; this parser accepts the subset any
//! RFC 9530 sender produces (members `key=:base64:` separated by commas with
//! optional whitespace) and refuses everything else rather than guess:
//! parameters, non-byte-sequence values, base64 that is unpadded or has
//! non-zero trailing bits, and the same algorithm twice (RFC 9651 would keep
//! the last, which lets two parsers disagree on what was signed). It is
//! hand-written rather than `sfv`'s because `sfv` does exactly that keeping.

use data_encoding::BASE64;
use sha2::{Digest, Sha256, Sha512};

use crate::ProblemType;

/// Why a body was refused against its `Content-Digest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    #[error("malformed Content-Digest header: {reason}")]
    Malformed { reason: &'static str },
    #[error("Content-Digest holds no sha-256 or sha-512 digest")]
    NoSupportedAlgorithm,
    #[error("the body does not match its Content-Digest {algorithm} digest")]
    Mismatch { algorithm: &'static str },
    /// A non-empty body came without a `Content-Digest` header.
    #[error("the request has a body but no Content-Digest header")]
    Missing,
}

impl DigestError {
    /// Every refusal is `digest-mismatch`: whatever the cause, the signature
    /// does not cover the body that arrived.
    pub fn problem_type(&self) -> ProblemType {
        ProblemType::DigestMismatch
    }
}

/// The `Content-Digest` header value for `body`: `sha-256=:<base64>:`.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", BASE64.encode(&Sha256::digest(body)))
}

/// Checks a received `Content-Digest` header value against `body`.
pub fn verify_content_digest(header: &str, body: &[u8]) -> Result<(), DigestError> {
    let members = parse_members(header)?;
    let mut checked = false;
    for (key, digest) in &members {
        let (algorithm, expected): (&'static str, Vec<u8>) = match *key {
            "sha-256" => ("sha-256", Sha256::digest(body).to_vec()),
            "sha-512" => ("sha-512", Sha512::digest(body).to_vec()),
            _ => continue,
        };
        if digest.len() != expected.len() {
            return Err(DigestError::Malformed {
                reason: "a digest has the wrong length for its algorithm",
            });
        }
        if *digest != expected {
            return Err(DigestError::Mismatch { algorithm });
        }
        checked = true;
    }
    if checked {
        Ok(())
    } else {
        Err(DigestError::NoSupportedAlgorithm)
    }
}

/// The check a server makes on every signed request: the body matches its
/// `Content-Digest` header, and a non-empty body has one (else
/// [`DigestError::Missing`]). No header and an empty body is a request
/// without a body, which the signature covers without a digest.
pub fn content_digest_matches(header: Option<&str>, body: &[u8]) -> Result<(), DigestError> {
    match header {
        Some(header) => verify_content_digest(header, body),
        None if body.is_empty() => Ok(()),
        None => Err(DigestError::Missing),
    }
}

fn malformed(reason: &'static str) -> DigestError {
    DigestError::Malformed { reason }
}

/// Every member of the dictionary, in order, with its decoded bytes.
fn parse_members(header: &str) -> Result<Vec<(&str, Vec<u8>)>, DigestError> {
    let input = header.trim_matches(' ');
    if input.is_empty() {
        return Err(malformed("the header is empty"));
    }
    let mut members: Vec<(&str, Vec<u8>)> = Vec::new();
    // Splitting on ',' is safe: neither keys nor base64 can contain one.
    for member in input.split(',') {
        let member = member.trim_matches([' ', '\t']);
        let (key, value) = member
            .split_once('=')
            .ok_or(malformed("a member has no value"))?;
        if !is_dictionary_key(key) {
            return Err(malformed("an algorithm name is not a lowercase key"));
        }
        let encoded = value
            .strip_prefix(':')
            .and_then(|v| v.strip_suffix(':'))
            .ok_or(malformed("a value is not a :byte sequence:"))?;
        let bytes = BASE64
            .decode(encoded.as_bytes())
            .map_err(|_| malformed("a value is not padded base64"))?;
        if members.iter().any(|(seen, _)| *seen == key) {
            return Err(malformed("an algorithm appears twice"));
        }
        members.push((key, bytes));
    }
    Ok(members)
}

/// RFC 9651 `key`: `( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )`.
fn is_dictionary_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'*')
        && bytes.all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b'*')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example body of RFC 9530 (sections 2 and B), and its digests as
    /// published there; both recomputed with Python's hashlib and base64.
    const RFC_BODY: &[u8] = br#"{"hello": "world"}"#;
    const RFC_SHA_256: &str = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
    const RFC_SHA_512: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

    #[test]
    fn the_rfc_9530_example_body_gets_its_published_sha_256_digest() {
        assert_eq!(content_digest(RFC_BODY), RFC_SHA_256);
        assert_eq!(verify_content_digest(RFC_SHA_256, RFC_BODY), Ok(()));
    }

    #[test]
    fn the_rfc_9530_sha_512_example_verifies() {
        assert_eq!(verify_content_digest(RFC_SHA_512, RFC_BODY), Ok(()));
    }

    #[test]
    fn the_empty_body_has_the_sha_256_of_nothing() {
        let header = "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:";
        assert_eq!(content_digest(b""), header);
        assert_eq!(verify_content_digest(header, b""), Ok(()));
    }

    /// The signed redemption request of `shared-v1.json` (`http_signatures`).
    #[test]
    fn the_protocol_vector_request_body_gets_its_recorded_digest() {
        let body = br#"{"code":"TC1FRU7ADJ6ELOPSAAAAAGQ64VS6POQ3FQ6U7QGH5Z6YF6KMGIHYBJ3VIOL3TIDURHA76VIME6LS6J5DTEEUBA3SUBMOLTAWQZPPUYJNOCFOSQFJNF4QONQR4LYGJJMGLGXMVORJECI","amount":30}"#;
        assert_eq!(
            content_digest(body),
            "sha-256=:nOstghnQq3Hr1w3fGRpiIWchcfgeyIBc9dIbjh2u5S4=:"
        );
    }

    #[test]
    fn a_changed_body_is_a_mismatch() {
        assert_eq!(
            verify_content_digest(RFC_SHA_256, br#"{"hello": "world!"}"#),
            Err(DigestError::Mismatch {
                algorithm: "sha-256"
            })
        );
        assert_eq!(
            verify_content_digest(RFC_SHA_512, b""),
            Err(DigestError::Mismatch {
                algorithm: "sha-512"
            })
        );
    }

    #[test]
    fn several_digests_with_whitespace_around_commas_all_count() {
        let both = format!(" {RFC_SHA_512},\t{RFC_SHA_256} ");
        assert_eq!(verify_content_digest(&both, RFC_BODY), Ok(()));

        let wrong_512 = format!("{},{RFC_SHA_256}", RFC_SHA_512.replace("WZDP", "WZDQ"));
        assert_eq!(
            verify_content_digest(&wrong_512, RFC_BODY),
            Err(DigestError::Mismatch {
                algorithm: "sha-512"
            })
        );
    }

    /// Real MD5 and SHA-1 digests of the RFC body (Python hashlib).
    #[test]
    fn unknown_algorithms_are_skipped_but_cannot_stand_alone() {
        let md5 = "md5=:Sd/dVLAcvNLSq16eXua5uQ==:";
        let sha1 = "sha=:07CavjDP4u3/TungoUHJO/Wzr4c=:";
        assert_eq!(
            verify_content_digest(&format!("{md5}, {sha1}"), RFC_BODY),
            Err(DigestError::NoSupportedAlgorithm)
        );
        assert_eq!(
            verify_content_digest(&format!("{md5}, {RFC_SHA_256}, {sha1}"), RFC_BODY),
            Ok(())
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let digest = "X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=";
        let cases = [
            String::new(),
            "   ".into(),
            "sha-256".into(),
            "sha-256=".into(),
            format!("sha-256={digest}"),
            format!("sha-256=:{digest}"),
            format!("sha-256=\"{digest}\""),
            format!("sha-256 = :{digest}:"),
            format!("SHA-256=:{digest}:"),
            format!("-sha-256=:{digest}:"),
            format!("sha-256=:{digest}:,"),
            format!(",sha-256=:{digest}:"),
            format!("sha-256=:{digest}:;q=1"),
            format!("sha-256=:{digest}: sha-512=:{digest}:"),
            format!("sha-256=:{digest}:, sha-256=:{digest}:"),
            // Unpadded, non-zero trailing bits, URL-safe alphabet, line break.
            format!("sha-256=:{}:", digest.trim_end_matches('=')),
            format!("sha-256=:{}:", digest.replace("DBPE=", "DBPF=")),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE_:".into(),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDU\noyWxBf7kbu9DBPE=:".into(),
            // A sha-256 value of 31 and of 64 bytes.
            format!("sha-256=:{}:", BASE64.encode(&[0u8; 31])),
            format!("sha-256=:{}:", BASE64.encode(&[0u8; 64])),
            // Unknown algorithms are skipped, not left unparsed.
            format!("md5=:not base64:, sha-256=:{digest}:"),
        ];
        for header in &cases {
            let result = verify_content_digest(header, RFC_BODY);
            assert!(
                matches!(result, Err(DigestError::Malformed { .. })),
                "{header:?} gave {result:?}"
            );
        }
    }

    #[test]
    fn a_body_without_a_content_digest_is_refused_but_an_empty_one_needs_none() {
        assert_eq!(content_digest_matches(None, b""), Ok(()));
        assert_eq!(
            content_digest_matches(None, RFC_BODY),
            Err(DigestError::Missing)
        );
        assert_eq!(content_digest_matches(Some(RFC_SHA_256), RFC_BODY), Ok(()));
        assert_eq!(
            content_digest_matches(Some(RFC_SHA_256), b""),
            Err(DigestError::Mismatch {
                algorithm: "sha-256"
            })
        );
        // A header sent with an empty body is checked like any other.
        let empty = content_digest(b"");
        assert_eq!(content_digest_matches(Some(&empty), b""), Ok(()));
    }

    #[test]
    fn every_digest_refusal_is_a_digest_mismatch_problem() {
        let refusals = [
            DigestError::Malformed { reason: "x" },
            DigestError::NoSupportedAlgorithm,
            DigestError::Mismatch {
                algorithm: "sha-256",
            },
            DigestError::Missing,
        ];
        for err in refusals {
            assert_eq!(err.problem_type().slug(), "digest-mismatch", "{err}");
            assert_eq!(err.problem_type().status(), 401);
        }
    }

    #[test]
    fn dictionary_keys_follow_rfc_9651() {
        for key in ["sha-256", "*", "a", "a1_-.*"] {
            assert!(is_dictionary_key(key), "{key}");
        }
        for key in ["", "1a", "-a", "Sha", "a b", "é"] {
            assert!(!is_dictionary_key(key), "{key}");
        }
    }
}
