//! Fuzz-style properties: no input makes a decoder panic, and every refusal
//! is a typed error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use tillcode_protocol::http_signature::signature_base;
use tillcode_protocol::{
    CodeError, DeviceHandle, EnrollmentCode, HttpSignatureError, KeyId, LinkCode, NumericCode,
    NumericHandle, OfflineToken, OnlineKey, PaymentCode, RequestParts, SignatureParams, base32,
    content_digest_matches, parse_public_key, parse_public_key_base32, parse_signature,
    sign_request, verify_content_digest, verify_signature, verify_strict,
};

/// Text that looks like a payload often enough to get past the first checks.
fn payload_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,300}",
        "TC1[KFLZ1a ]?[A-Z2-7=a-z0-9 ]{0,200}",
        "[0-9 ]{0,40}",
        "[BCDFGHJKLMNPQRSTVWXZAEIOUY \\-a-z]{0,20}",
        proptest::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn decode_everything(text: &str) {
    let _ = PaymentCode::parse(text);
    let _ = OnlineKey::parse(text);
    let _ = OfflineToken::parse(text);
    let _ = LinkCode::parse(text);
    let _ = NumericCode::parse(text);
    let _ = NumericHandle::parse(text);
    let _ = EnrollmentCode::parse(text);
    let _ = base32::decode(text);
    let _ = text.parse::<DeviceHandle>();
    let _ = parse_public_key_base32(text);
}

proptest! {
    #[test]
    fn no_text_makes_a_decoder_panic(text in payload_like()) {
        decode_everything(&text);
    }

    #[test]
    fn any_135_base32_characters_after_tc1f_decode_and_fail_verification(
        body in proptest::collection::vec(any::<u8>(), 84),
    ) {
        let text = format!("TC1F{}", base32::encode(&body));
        let token = OfflineToken::parse(&text).unwrap();
        prop_assert_eq!(token.body().to_vec(), body);
        let key = SigningKey::from_bytes(&[1; 32]).verifying_key();
        let merchant = tillcode_protocol::MerchantId::from_uuid(uuid::Uuid::nil());
        prop_assert_eq!(token.verify(merchant, &key), Err(CodeError::BadSignature));
    }

    #[test]
    fn no_bytes_make_key_parsing_or_verification_panic(
        key in proptest::collection::vec(any::<u8>(), 0..40),
        message in proptest::collection::vec(any::<u8>(), 0..100),
        signature in proptest::collection::vec(any::<u8>(), 0..70),
    ) {
        let _ = parse_public_key(&key);
        let honest = SigningKey::from_bytes(&[2; 32]).verifying_key();
        prop_assert!(verify_strict(&honest, &message, &signature).is_err());
        if let Ok(key) = <[u8; 32]>::try_from(key.as_slice())
            && let Ok(raw) = ed25519_dalek::VerifyingKey::from_bytes(&key)
        {
            let _ = verify_strict(&raw, &message, &signature);
        }
    }

    #[test]
    fn base32_decodes_exactly_what_it_encoded(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let text = base32::encode(&bytes);
        prop_assert_eq!(base32::decode(&text), Ok(bytes));
        prop_assert!(base32::decode(&text.to_lowercase()).is_err() || !text.bytes().any(|b| b.is_ascii_uppercase()));
    }
}

/// The shared vector's request signature (`shared-v1.json`, `http_signatures[0]`).
const SIGNATURE_INPUT: &str = r#"tc=("@method" "@path" "@query" "content-digest" "idempotency-key");created=1795000000;keyid="terminal:0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa";alg="ed25519";nonce="Zq2v0a9R2YJ4mK1xQe7bWg";tag="tillcode/v1""#;
const SIGNATURE: &str =
    "tc=:KXNPgoO7I6TD3h0G5ClyTJlR0zDkjBNBbFZLdOAk4b4qwF0Q2SntBJKbYZq/zPbIYNe5nFJehIb3srruvUvvAA==:";

/// Header text: anything, structured-field look-alikes, and the vector's
/// headers with one stretch replaced by random text.
fn header_like(valid: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,200}",
        proptest::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        "(tc|sig1)=[(\"@a-z;=:/ )0-9A-Za-z+,?-]{0,120}",
        (0..valid.len(), 0usize..8, "\\PC{0,8}").prop_map(move |(at, cut, with)| {
            let bytes = valid.as_bytes();
            let end = (at + cut).min(bytes.len());
            let mut text = bytes[..at].to_vec();
            text.extend_from_slice(with.as_bytes());
            text.extend_from_slice(&bytes[end..]);
            String::from_utf8_lossy(&text).into_owned()
        }),
    ]
}

fn request_parts() -> impl Strategy<
    Value = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
> {
    (
        prop_oneof!["POST", "GET", "\\PC{0,8}"],
        prop_oneof!["/v1/redemptions", "/[!-~]{0,30}", "\\PC{0,30}"],
        proptest::option::of("\\PC{0,20}"),
        proptest::option::of(prop_oneof![
            "sha-256=:nOstghnQq3Hr1w3fGRpiIWchcfgeyIBc9dIbjh2u5S4=:",
            "\\PC{0,60}"
        ]),
        proptest::option::of(prop_oneof!["order-1042", "\\PC{0,20}"]),
    )
}

proptest! {
    #[test]
    fn no_signature_headers_make_the_parser_or_verifier_panic(
        input in header_like(SIGNATURE_INPUT),
        signature in header_like(SIGNATURE),
        (method, path, query, digest, idempotency_key) in request_parts(),
    ) {
        let key = SigningKey::from_bytes(&[0x20; 32]).verifying_key();
        let parts = RequestParts {
            method: &method,
            path: &path,
            query: query.as_deref(),
            content_digest: digest.as_deref(),
            idempotency_key: idempotency_key.as_deref(),
            authority: None,
            headers: &[],
        };
        for (input, signature) in [(input.as_str(), signature.as_str()), (input.as_str(), SIGNATURE), (SIGNATURE_INPUT, signature.as_str())] {
            if let Ok(signed) = parse_signature(input, signature, &parts) {
                let _ = verify_signature(&signed, &parts, &key);
            }
        }
        let _ = signature_base(&parts, &input);
        let _ = input.parse::<KeyId>();
        let _ = verify_content_digest(&input, input.as_bytes());
        let _ = content_digest_matches(digest.as_deref(), input.as_bytes());
    }

    #[test]
    fn any_request_that_can_be_signed_verifies_and_nothing_else_does(
        (method, path, query, digest, idempotency_key) in request_parts(),
        created in 0u64..=999_999_999_999_999,
        nonce_bytes in any::<[u8; 16]>(),
        terminal in any::<bool>(),
        id in any::<u128>(),
    ) {
        let key = SigningKey::from_bytes(&[0x21; 32]);
        let uuid = uuid::Uuid::from_u128(id);
        let keyid = if terminal { KeyId::Terminal(uuid) } else { KeyId::Device(uuid) };
        let params = SignatureParams {
            created,
            nonce: data_encoding::BASE64URL_NOPAD.encode(&nonce_bytes),
            keyid: keyid.to_string(),
        };
        let parts = RequestParts {
            method: &method,
            path: &path,
            query: query.as_deref(),
            content_digest: digest.as_deref(),
            idempotency_key: idempotency_key.as_deref(),
            authority: None,
            headers: &[],
        };
        match sign_request(&key, &parts, &params) {
            Ok(headers) => {
                let signed = parse_signature(&headers.signature_input, &headers.signature, &parts).unwrap();
                prop_assert_eq!(signed.keyid, keyid);
                prop_assert_eq!(signed.created, created);
                prop_assert_eq!(verify_signature(&signed, &parts, &key.verifying_key()), Ok(()));
                let other = SigningKey::from_bytes(&[0x22; 32]).verifying_key();
                prop_assert_eq!(verify_signature(&signed, &parts, &other), Err(HttpSignatureError::BadSignature));
            }
            // Only parts that cannot go in a signature base are refused.
            Err(e) => {
                prop_assert!(matches!(e, HttpSignatureError::Malformed(_)));
                prop_assert!(signature_base(&parts, "()").is_err());
            }
        }
    }
}
