//! The headers of a signed terminal request (`docs/protocol.md`, section
//! 11): `Content-Digest` when there is a body, `Idempotency-Key` when one is
//! given, and the RFC 9421 `Signature-Input` and `Signature` over both and
//! over the method, path and query, made by `tillcode_protocol`'s signer
//! with this terminal's key.
//!
//! Each call signs afresh, with the clock's time as `created` and a new
//! nonce: the server accepts a nonce once and a `created` within 30 s, so a
//! retried request must be signed again, never resent with old headers.

use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::OsRng;
use serde::Serialize;
use tillcode_protocol::content_digest::content_digest;
use tillcode_protocol::http_signature::{
    HttpSignatureError, RequestParts, SignatureParams, new_nonce, sign_request,
};
use uuid::Uuid;

use crate::home::keyid;
use crate::{IdempotencyKey, TerminalKey};

/// What is signed: the request line's parts and the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    /// `GET`, `POST`, ... as sent.
    pub method: &'a str,
    /// The path as the server receives it (percent-encoded, with any prefix
    /// the API is mounted under), starting with `/`.
    pub path: &'a str,
    /// The query without `?`, when there is one.
    pub query: Option<&'a str>,
    /// The body's exact bytes, when the request has one.
    pub body: Option<&'a [u8]>,
}

/// Every header that makes a request signed, in the order they are sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignedHeaders {
    #[serde(rename = "Content-Digest", skip_serializing_if = "Option::is_none")]
    pub content_digest: Option<String>,
    #[serde(rename = "Idempotency-Key", skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(rename = "Signature-Input")]
    pub signature_input: String,
    #[serde(rename = "Signature")]
    pub signature: String,
}

impl SignedHeaders {
    /// `(name, value)` pairs, ready for any HTTP client.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = Vec::with_capacity(4);
        if let Some(digest) = &self.content_digest {
            pairs.push(("Content-Digest", digest.as_str()));
        }
        if let Some(key) = &self.idempotency_key {
            pairs.push(("Idempotency-Key", key.as_str()));
        }
        pairs.push(("Signature-Input", self.signature_input.as_str()));
        pairs.push(("Signature", self.signature.as_str()));
        pairs
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot sign the request: {0}")]
    Refused(#[from] HttpSignatureError),
    #[error("the system clock is before 1970; cannot date the request signature")]
    Clock,
}

/// Signs requests as one terminal.
pub struct RequestSigner<'a> {
    key: &'a TerminalKey,
    keyid: String,
}

impl<'a> RequestSigner<'a> {
    pub fn new(key: &'a TerminalKey, terminal_id: Uuid) -> Self {
        Self {
            key,
            keyid: keyid(terminal_id),
        }
    }

    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// Signs `target` now, with a fresh nonce from the OS.
    pub fn sign(
        &self,
        target: &Target<'_>,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<SignedHeaders, SignError> {
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| SignError::Clock)?
            .as_secs();
        self.sign_with(target, idempotency_key, created, new_nonce(&mut OsRng))
    }

    /// Signs `target` with the given time and nonce: for test vectors, and
    /// for tills with their own clock or randomness.
    pub fn sign_with(
        &self,
        target: &Target<'_>,
        idempotency_key: Option<&IdempotencyKey>,
        created: u64,
        nonce: String,
    ) -> Result<SignedHeaders, SignError> {
        let digest = target.body.map(content_digest);
        let idempotency_key = idempotency_key.map(|k| k.as_str().to_owned());
        let parts = RequestParts {
            method: target.method,
            path: target.path,
            query: target.query,
            content_digest: digest.as_deref(),
            idempotency_key: idempotency_key.as_deref(),
            authority: None,
            headers: &[],
        };
        let params = SignatureParams {
            created,
            nonce,
            keyid: self.keyid.clone(),
        };
        let headers = sign_request(self.key.signing_key(), &parts, &params)?;
        Ok(SignedHeaders {
            content_digest: digest,
            idempotency_key,
            signature_input: headers.signature_input,
            signature: headers.signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use tillcode_protocol::content_digest::verify_content_digest;
    use tillcode_protocol::http_signature::{check_created, parse_signature, verify_signature};

    use super::*;

    /// `shared-v1.json`, `http_signatures[0]`.
    const VECTOR_TERMINAL: &str = "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa";
    const VECTOR_BODY: &str = r#"{"code":"TC1FRU7ADJ6ELOPSAAAAAGQ64VS6POQ3FQ6U7QGH5Z6YF6KMGIHYBJ3VIOL3TIDURHA76VIME6LS6J5DTEEUBA3SUBMOLTAWQZPPUYJNOCFOSQFJNF4QONQR4LYGJJMGLGXMVORJECI","amount":30}"#;

    fn vector_key() -> TerminalKey {
        TerminalKey::from_seed(&std::array::from_fn(|i| 0x20 + i as u8))
    }

    fn redemption(body: &[u8]) -> Target<'_> {
        Target {
            method: "POST",
            path: "/v1/redemptions",
            query: None,
            body: Some(body),
        }
    }

    fn parts<'a>(target: &Target<'a>, headers: &'a SignedHeaders) -> RequestParts<'a> {
        RequestParts {
            method: target.method,
            path: target.path,
            query: target.query,
            content_digest: headers.content_digest.as_deref(),
            idempotency_key: headers.idempotency_key.as_deref(),
            authority: None,
            headers: &[],
        }
    }

    #[test]
    fn the_shared_vector_request_gets_the_recorded_headers_byte_for_byte() {
        let key = vector_key();
        let signer = RequestSigner::new(&key, VECTOR_TERMINAL.parse().unwrap());
        let order = IdempotencyKey::parse("order-1042").unwrap();
        let headers = signer
            .sign_with(
                &redemption(VECTOR_BODY.as_bytes()),
                Some(&order),
                1_795_000_000,
                "Zq2v0a9R2YJ4mK1xQe7bWg".into(),
            )
            .unwrap();
        assert_eq!(
            headers.content_digest.as_deref(),
            Some("sha-256=:nOstghnQq3Hr1w3fGRpiIWchcfgeyIBc9dIbjh2u5S4=:")
        );
        assert_eq!(headers.idempotency_key.as_deref(), Some("order-1042"));
        assert_eq!(
            headers.signature_input,
            "tc=(\"@method\" \"@path\" \"@query\" \"content-digest\" \"idempotency-key\");\
             created=1795000000;keyid=\"terminal:0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa\";\
             alg=\"ed25519\";nonce=\"Zq2v0a9R2YJ4mK1xQe7bWg\";tag=\"tillcode/v1\""
        );
        assert_eq!(
            headers.signature,
            "tc=:KXNPgoO7I6TD3h0G5ClyTJlR0zDkjBNBbFZLdOAk4b4qwF0Q2SntBJKbYZq/zPbIYNe5nFJehIb3srruvUvvAA==:"
        );
    }

    #[test]
    fn a_signed_request_verifies_with_the_protocol_verifier_and_is_dated_now() {
        let key = TerminalKey::generate().unwrap();
        let terminal = Uuid::now_v7();
        let signer = RequestSigner::new(&key, terminal);
        let body = br#"{"code":"TC1K","amount":5}"#;
        let target = redemption(body);
        let idem = IdempotencyKey::generate().unwrap();
        let headers = signer.sign(&target, Some(&idem)).unwrap();

        verify_content_digest(headers.content_digest.as_deref().unwrap(), body).unwrap();
        let parts = parts(&target, &headers);
        let signed = parse_signature(&headers.signature_input, &headers.signature, &parts).unwrap();
        assert_eq!(signed.keyid.to_string(), format!("terminal:{terminal}"));
        verify_signature(&signed, &parts, &key.verifying_key()).unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        check_created(signed.created, now, 5).unwrap();
    }

    #[test]
    fn two_signatures_of_the_same_request_have_different_nonces() {
        let key = TerminalKey::generate().unwrap();
        let signer = RequestSigner::new(&key, Uuid::now_v7());
        let target = redemption(b"{}");
        let a = signer.sign(&target, None).unwrap();
        let b = signer.sign(&target, None).unwrap();
        assert_eq!(a.content_digest, b.content_digest);
        assert_ne!(a.signature_input, b.signature_input);
        assert_ne!(a.signature, b.signature);
    }

    #[test]
    fn a_get_without_body_or_key_carries_neither_header_but_signs_the_query() {
        let key = TerminalKey::generate().unwrap();
        let signer = RequestSigner::new(&key, Uuid::now_v7());
        let target = Target {
            method: "GET",
            path: "/v1/terminal/transactions",
            query: Some("limit=5"),
            body: None,
        };
        let headers = signer.sign(&target, None).unwrap();
        assert_eq!(headers.content_digest, None);
        assert_eq!(headers.idempotency_key, None);
        assert!(
            headers
                .signature_input
                .starts_with("tc=(\"@method\" \"@path\" \"@query\");"),
            "{}",
            headers.signature_input
        );
        let names: Vec<_> = headers.pairs().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["Signature-Input", "Signature"]);

        let parts = parts(&target, &headers);
        let signed = parse_signature(&headers.signature_input, &headers.signature, &parts).unwrap();
        verify_signature(&signed, &parts, &key.verifying_key()).unwrap();
        // Another query is another request.
        let other = RequestParts {
            query: Some("limit=500"),
            ..parts
        };
        assert!(verify_signature(&signed, &other, &key.verifying_key()).is_err());
    }

    #[test]
    fn a_tampered_body_no_longer_matches_the_signed_digest() {
        let key = TerminalKey::generate().unwrap();
        let signer = RequestSigner::new(&key, Uuid::now_v7());
        let headers = signer.sign(&redemption(br#"{"amount":5}"#), None).unwrap();
        assert!(
            verify_content_digest(
                headers.content_digest.as_deref().unwrap(),
                br#"{"amount":500}"#
            )
            .is_err()
        );
    }

    #[test]
    fn headers_serialize_under_their_http_names_for_scripts() {
        let key = vector_key();
        let signer = RequestSigner::new(&key, VECTOR_TERMINAL.parse().unwrap());
        let headers = signer
            .sign_with(
                &redemption(b"{}"),
                Some(&IdempotencyKey::parse("k1").unwrap()),
                1,
                "AAAAAAAAAAAAAAAAAAAAAA".into(),
            )
            .unwrap();
        let json = serde_json::to_value(&headers).unwrap();
        let mut names: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "Content-Digest",
                "Idempotency-Key",
                "Signature",
                "Signature-Input"
            ]
        );
    }

    #[test]
    fn a_path_that_cannot_be_signed_is_refused_rather_than_signed_ambiguously() {
        let key = vector_key();
        let signer = RequestSigner::new(&key, Uuid::now_v7());
        let target = Target {
            method: "POST",
            path: "v1/no-leading-slash",
            query: None,
            body: None,
        };
        assert!(matches!(
            signer.sign(&target, None),
            Err(SignError::Refused(_))
        ));
    }
}
