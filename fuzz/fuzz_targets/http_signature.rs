//! RFC 9421 request signatures as the server reads them from a terminal's
//! request: `Signature-Input` and `Signature` (RFC 9651 structured fields),
//! the `keyid` in them, and the request parts they cover.
//!
//! The input is seven lines, so that seeds stay readable: method, path,
//! `?query` (empty line: no query), Content-Digest, Idempotency-Key (empty
//! line: no such header), Signature-Input, Signature.
//!
//! Properties: nothing panics; what parses re-parses to the same thing from
//! its own `@signature-params` (the normal form is a fixed point); no parsed
//! signature verifies under a key nobody signed with; and every request
//! `sign_request` accepts to sign parses and verifies.
#![no_main]

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use tillcode_protocol::{
    KeyId, RequestParts, SignatureParams, check_created, parse_signature, sign_request,
    verify_signature,
};

/// The seed of the signing key in `protocol/tests/vectors/shared-v1.json`
/// (`http_signatures`), so the vector seed verifies.
const VECTOR_SEED: [u8; 32] = [
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
];

/// An empty line is a header the request does not have.
fn header(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let mut next = || lines.next().unwrap_or("");
    let (method, path, query) = (next(), next(), next());
    let (content_digest, idempotency_key) = (next(), next());
    let (signature_input, signature) = (next(), next());
    let parts = RequestParts {
        method,
        path,
        query: query.strip_prefix('?'),
        content_digest: header(content_digest),
        idempotency_key: header(idempotency_key),
        authority: None,
        headers: &[],
    };

    for line in text.split('\n') {
        if let Ok(keyid) = line.parse::<KeyId>() {
            assert_eq!(keyid.to_string(), line, "one key id, one spelling");
        }
    }

    if let Ok(signed) = parse_signature(signature_input, signature, &parts) {
        let normal = format!("tc={}", signed.signature_params());
        assert_eq!(
            parse_signature(&normal, signature, &parts).as_ref(),
            Ok(&signed),
            "the received @signature-params re-parse to the same signature"
        );
        let _ = check_created(signed.created, 1_795_000_000, 30);
        let vector_key = SigningKey::from_bytes(&VECTOR_SEED).verifying_key();
        let _ = verify_signature(&signed, &parts, &vector_key);
        let stranger = SigningKey::from_bytes(&[0x42; 32]).verifying_key();
        assert!(verify_signature(&signed, &parts, &stranger).is_err());
    }

    // Signing these parts, if the signer accepts them, gives headers that the
    // verifier accepts: both ends agree on every request a till can send.
    let key = SigningKey::from_bytes(&VECTOR_SEED);
    let params = SignatureParams {
        created: 1_795_000_000,
        nonce: "Zq2v0a9R2YJ4mK1xQe7bWg".to_owned(),
        keyid: "terminal:0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa".to_owned(),
    };
    if let Ok(headers) = sign_request(&key, &parts, &params) {
        let signed = parse_signature(&headers.signature_input, &headers.signature, &parts)
            .unwrap_or_else(|e| panic!("a signed request does not parse: {e} {parts:?}"));
        assert_eq!(signed.created, params.created);
        verify_signature(&signed, &parts, &key.verifying_key())
            .unwrap_or_else(|e| panic!("a signed request does not verify: {e} {parts:?}"));
    }
});
