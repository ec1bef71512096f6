//! Reproduces every vector of `vectors/shared-v1.json` (PROTOCOL.md's, made
//! with libsodium), `vectors/additions-v1.json` and `vectors/invalid.json`
//! (both made with OpenSSL by the scripts beside them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use data_encoding::{BASE64, HEXLOWER};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tillcode_protocol::{
    CodeError, DeviceHandle, EnrollmentCode, LinkCode, MerchantId, NumericCode, NumericHandle,
    OfflineToken, OnlineKey, PaymentCode, RequestParts, SignatureParams, check_created,
    content_digest, content_digest_matches, device_session_message, enroll_terminal_message,
    key_fingerprint, link_device_message, parse_public_key, parse_signature,
    register_device_message, sign_request, totp, verify_signature, verify_strict,
};
use uuid::Uuid;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {v}"))
}

fn hex(v: &Value, field: &str) -> Vec<u8> {
    HEXLOWER.decode(s(v, field).as_bytes()).unwrap()
}

fn array<const N: usize>(v: &Value, field: &str) -> [u8; N] {
    hex(v, field).try_into().unwrap()
}

fn signing_key(v: &Value) -> SigningKey {
    SigningKey::from_bytes(&array(v, "seed"))
}

fn merchant(v: &Value, field: &str) -> MerchantId {
    s(v, field).parse().unwrap()
}

/// "valid", or the problem slug the refusal maps to.
fn verdict<T>(result: Result<T, CodeError>) -> String {
    match result {
        Ok(_) => "valid".into(),
        Err(e) => e.problem_type().slug().into(),
    }
}

fn name(v: &Value) -> &str {
    v["name"].as_str().unwrap_or("(unnamed)")
}

#[test]
fn shared_offline_vectors_reproduce_payloads_messages_fingerprints_and_verdicts() {
    let v = load("shared-v1.json");
    for case in v["offline"].as_array().unwrap() {
        let expected = s(case, "verdict");
        if case.get("seed").is_some() {
            let key = signing_key(case);
            assert_eq!(
                key.verifying_key().as_bytes().as_slice(),
                hex(case, "public_key")
            );
            let token = OfflineToken::sign(
                &key,
                merchant(case, "merchant_id"),
                DeviceHandle::from_bytes(array(case, "device_handle")),
                case["issued_at_ms"].as_u64().unwrap(),
                array(case, "nonce"),
            );
            if expected == "valid" {
                assert_eq!(token.payload(), s(case, "payload"), "{}", name(case));
            }
            if case.get("signed_message").is_some() {
                let m = token.signed_message(merchant(case, "merchant_id"));
                assert_eq!(m, hex(case, "signed_message"));
                let fp = token.fingerprint(merchant(case, "merchant_id"));
                assert_eq!(fp.as_slice(), hex(case, "fingerprint"));
            }
            let got = OfflineToken::parse(s(case, "payload")).and_then(|t| {
                let key = parse_public_key(&hex(case, "public_key"))?;
                t.verify(merchant(case, "verify_with_merchant"), &key)
            });
            assert_eq!(verdict(got), expected, "{}", name(case));
        } else if case.get("payload").is_some() {
            let got = PaymentCode::parse(s(case, "payload"));
            assert_eq!(verdict(got), expected, "{}", name(case));
        } else {
            let got = parse_public_key(&hex(case, "public_key"));
            assert_eq!(verdict(got), expected, "{}", name(case));
        }
    }
}

#[test]
fn shared_online_vectors_reproduce_payload_fingerprint_and_verdicts() {
    let v = load("shared-v1.json");
    for case in v["online"].as_array().unwrap() {
        if case.get("key").is_some() {
            let key = OnlineKey::from_bytes(array(case, "key"));
            assert_eq!(key.payload(), s(case, "payload"));
            assert_eq!(key.fingerprint().as_slice(), hex(case, "fingerprint"));
            assert_eq!(OnlineKey::parse(s(case, "payload")), Ok(key));
        }
        let got = PaymentCode::parse(s(case, "payload"));
        assert_eq!(verdict(got), s(case, "verdict"), "{}", name(case));
    }
}

#[test]
fn shared_link_vectors_reproduce_payload_and_stored_hash() {
    let v = load("shared-v1.json");
    for case in v["link"].as_array().unwrap() {
        let link = LinkCode::from_bytes(array(case, "body"));
        assert_eq!(link.payload(), s(case, "payload"));
        assert_eq!(link.stored_hash().as_slice(), hex(case, "stored_hash"));
        assert_eq!(LinkCode::parse(s(case, "payload")), Ok(link));
    }
}

#[test]
fn shared_numeric_vectors_reproduce_totp_codes_and_verdicts() {
    let v = load("shared-v1.json");
    for case in v["numeric"].as_array().unwrap() {
        let Some(handle) = case.get("handle") else {
            let got = PaymentCode::parse(s(case, "code"));
            assert_eq!(verdict(got), s(case, "verdict"), "{}", name(case));
            continue;
        };
        let handle = NumericHandle::parse(handle.as_str().unwrap()).unwrap();
        let secret: [u8; 32] = array(case, "secret");
        let unix_s = case["unix_s"].as_u64().unwrap();
        let step = tillcode_protocol::time_step(unix_s);
        assert_eq!(format!("{:08}", totp(&secret, step)), s(case, "totp"));
        let code = NumericCode::generate(handle, &secret, unix_s);
        assert_eq!(code.digits(), s(case, "code"));
        let parsed = NumericCode::parse(s(case, "code")).unwrap();
        assert_eq!(parsed, code);
        assert_eq!(parsed.verify(&secret, unix_s), Ok(step));
        assert_eq!(
            PaymentCode::parse(&code.display()),
            Ok(PaymentCode::Numeric(code))
        );
    }
}

#[test]
fn shared_proof_vectors_reproduce_messages_and_signatures() {
    let v = load("shared-v1.json");
    let cases = v["proofs"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let key = signing_key(case);
        let public = key.verifying_key();
        let device_name = s(case, "device_name");
        let message = match s(case, "kind") {
            "register-device" => register_device_message(
                merchant(case, "merchant_id"),
                &array(case, "challenge"),
                &public,
                device_name,
            ),
            "link-device" => link_device_message(
                &LinkCode::from_bytes(array(case, "link_body")),
                &public,
                device_name,
            ),
            "enroll-terminal" => {
                let code = EnrollmentCode::parse(s(case, "code")).unwrap();
                enroll_terminal_message(&code, &public, device_name)
            }
            other => panic!("unknown proof kind {other}"),
        };
        assert_eq!(
            HEXLOWER.encode(&message),
            s(case, "message"),
            "{}",
            s(case, "kind")
        );
        let signature = hex(case, "signature");
        // Ed25519 signing is deterministic: libsodium and dalek must agree.
        assert_eq!(
            ed25519_dalek::Signer::sign(&key, &message)
                .to_bytes()
                .as_slice(),
            signature
        );
        let screened = parse_public_key(public.as_bytes()).unwrap();
        assert_eq!(verify_strict(&screened, &message, &signature), Ok(()));
    }
}

#[test]
fn shared_enrollment_code_vectors_normalise_or_refuse() {
    let v = load("shared-v1.json");
    for case in v["enrollment_codes"].as_array().unwrap() {
        let parsed = EnrollmentCode::parse(s(case, "input"));
        if case["valid"].as_bool().unwrap() {
            assert_eq!(parsed.unwrap().as_str(), s(case, "normalized"));
        } else {
            assert!(parsed.is_err(), "{}", s(case, "input"));
            assert!(case["normalized"].is_null());
        }
    }
}

/// The path and query of an absolute URL, as a server sees them.
fn path_and_query(url: &str) -> (&str, Option<&str>) {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let target = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

#[test]
fn shared_http_signature_vectors_have_the_content_digest_of_their_body() {
    let v = load("shared-v1.json");
    for case in v["http_signatures"].as_array().unwrap() {
        let key = signing_key(case);
        assert_eq!(
            key.verifying_key().as_bytes().as_slice(),
            hex(case, "public_key")
        );
        let body = s(case, "body").as_bytes();
        let digest = Sha256::digest(body);
        let header = format!("sha-256=:{}:", BASE64.encode(&digest));
        assert_eq!(header, s(&case["headers"], "Content-Digest"));
        assert_eq!(content_digest(body), header);
        assert_eq!(content_digest_matches(Some(&header), body), Ok(()));
        // The body carries the shared offline token, which must still parse.
        let body: Value = serde_json::from_str(s(case, "body")).unwrap();
        assert!(PaymentCode::parse(s(&body, "code")).is_ok());
    }
}

fn request_parts<'a>(case: &'a Value) -> RequestParts<'a> {
    let headers = &case["headers"];
    let (path, query) = path_and_query(s(case, "url"));
    RequestParts {
        method: s(case, "method"),
        path,
        query,
        content_digest: headers["Content-Digest"].as_str(),
        idempotency_key: headers["Idempotency-Key"].as_str(),
        authority: None,
        headers: &[],
    }
}

#[test]
fn shared_http_signature_vectors_verify_on_the_server_side() {
    let v = load("shared-v1.json");
    for case in v["http_signatures"].as_array().unwrap() {
        let headers = &case["headers"];
        let parts = request_parts(case);
        let public = parse_public_key(&hex(case, "public_key")).unwrap();
        let got = parse_signature(
            s(headers, "Signature-Input"),
            s(headers, "Signature"),
            &parts,
        )
        .and_then(|signed| {
            verify_signature(&signed, &parts, &public)?;
            check_created(signed.created, case["created"].as_u64().unwrap(), 30)
        });
        let got = match got {
            Ok(()) => "valid".to_owned(),
            Err(e) => e.problem_type().slug().to_owned(),
        };
        assert_eq!(got, s(case, "verdict"), "{}", name(case));
        assert_eq!(
            content_digest_matches(
                headers["Content-Digest"].as_str(),
                s(case, "body").as_bytes()
            ),
            Ok(())
        );
    }
}

#[test]
fn shared_http_signature_vectors_are_reproduced_by_the_signer() {
    let v = load("shared-v1.json");
    for case in v["http_signatures"].as_array().unwrap() {
        let headers = &case["headers"];
        let parts = request_parts(case);
        let received = parse_signature(
            s(headers, "Signature-Input"),
            s(headers, "Signature"),
            &parts,
        )
        .unwrap();
        let params = SignatureParams {
            created: case["created"].as_u64().unwrap(),
            nonce: received.nonce.clone(),
            keyid: received.keyid.to_string(),
        };
        // Ed25519 is deterministic: libsodium and dalek give the same bytes.
        let signed = sign_request(&signing_key(case), &parts, &params).unwrap();
        assert_eq!(signed.signature_input, s(headers, "Signature-Input"));
        assert_eq!(signed.signature, s(headers, "Signature"));
    }
}

#[test]
fn a_url_gives_its_path_and_query_as_sent() {
    assert_eq!(
        path_and_query("https://api.example.test/v1/redemptions"),
        ("/v1/redemptions", None)
    );
    assert_eq!(
        path_and_query("https://h/a%2Fb?x=1&y"),
        ("/a%2Fb", Some("x=1&y"))
    );
    assert_eq!(path_and_query("https://h"), ("", None));
}

#[test]
fn every_shared_section_is_covered_by_a_test() {
    let v = load("shared-v1.json");
    let mut sections: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    sections.sort();
    assert_eq!(
        sections,
        [
            "about",
            "enrollment_codes",
            "http_signatures",
            "link",
            "numeric",
            "offline",
            "online",
            "proofs"
        ]
    );
}

#[test]
fn device_session_vectors_reproduce_messages_and_signatures() {
    let v = load("additions-v1.json");
    for case in v["device_session"].as_array().unwrap() {
        let key = signing_key(case);
        let device: Uuid = s(case, "device_id").parse().unwrap();
        let message = device_session_message(device, &array(case, "challenge"));
        assert_eq!(HEXLOWER.encode(&message), s(case, "message"));
        let signature = hex(case, "signature");
        assert_eq!(
            ed25519_dalek::Signer::sign(&key, &message)
                .to_bytes()
                .as_slice(),
            signature
        );
        let public = parse_public_key(&hex(case, "public_key")).unwrap();
        assert_eq!(verify_strict(&public, &message, &signature), Ok(()));
    }
}

#[test]
fn numeric_replay_key_vectors_are_reproduced() {
    let v = load("additions-v1.json");
    for case in v["numeric_fingerprints"].as_array().unwrap() {
        let device: Uuid = s(case, "device_id").parse().unwrap();
        let step = case["step"].as_u64().unwrap();
        let fp = tillcode_protocol::numeric_fingerprint(device, step);
        assert_eq!(fp.as_slice(), hex(case, "fingerprint"));
    }
}

#[test]
fn key_fingerprint_vectors_are_reproduced() {
    let v = load("additions-v1.json");
    for case in v["key_fingerprints"].as_array().unwrap() {
        let key = parse_public_key(&hex(case, "public_key")).unwrap();
        assert_eq!(key_fingerprint(&key), s(case, "fingerprint"));
    }
}

fn invalid_case_verdict(case: &Value) -> String {
    match s(case, "kind") {
        "payment_code" => verdict(PaymentCode::parse(s(case, "payload"))),
        "offline_token" => verdict(OfflineToken::parse(s(case, "payload")).and_then(|t| {
            let key = parse_public_key(&hex(case, "public_key"))?;
            t.verify(merchant(case, "merchant_id"), &key)
        })),
        "offline_token_raw_key" => verdict(OfflineToken::parse(s(case, "payload")).and_then(|t| {
            let key = VerifyingKey::from_bytes(&array(case, "public_key")).unwrap();
            t.verify(merchant(case, "merchant_id"), &key)
        })),
        "public_key" => verdict(parse_public_key(&hex(case, "public_key"))),
        "numeric_code" => verdict(
            NumericCode::parse(s(case, "code"))
                .and_then(|c| c.verify(&array(case, "secret"), case["unix_s"].as_u64().unwrap())),
        ),
        "link_code" => verdict(LinkCode::parse(s(case, "payload"))),
        "enrollment_code" => verdict(EnrollmentCode::parse(s(case, "input"))),
        other => panic!("unknown case kind {other}"),
    }
}

#[test]
fn every_invalid_vector_gets_its_verdict() {
    let v = load("invalid.json");
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() > 100);
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let got = invalid_case_verdict(case);
            let expected = s(case, "verdict");
            (got != expected).then(|| {
                format!(
                    "{} / {}: got {got}, want {expected}",
                    s(case, "kind"),
                    name(case)
                )
            })
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
