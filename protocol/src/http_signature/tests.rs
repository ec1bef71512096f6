//! The profile against the shared vector (`shared-v1.json`,
//! `http_signatures[0]`, made with libsodium) and every refusal.

use super::*;

const SEED: [u8; 32] = [
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
];
const DIGEST: &str = "sha-256=:nOstghnQq3Hr1w3fGRpiIWchcfgeyIBc9dIbjh2u5S4=:";
const KEYID: &str = "terminal:0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa";
const NONCE: &str = "Zq2v0a9R2YJ4mK1xQe7bWg";
const CREATED: u64 = 1_795_000_000;
const INPUT: &str = r#"tc=("@method" "@path" "@query" "content-digest" "idempotency-key");created=1795000000;keyid="terminal:0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa";alg="ed25519";nonce="Zq2v0a9R2YJ4mK1xQe7bWg";tag="tillcode/v1""#;
const SIGNATURE: &str =
    "tc=:KXNPgoO7I6TD3h0G5ClyTJlR0zDkjBNBbFZLdOAk4b4qwF0Q2SntBJKbYZq/zPbIYNe5nFJehIb3srruvUvvAA==:";

fn key() -> SigningKey {
    SigningKey::from_bytes(&SEED)
}

fn parts() -> RequestParts<'static> {
    RequestParts {
        method: "POST",
        path: "/v1/redemptions",
        query: None,
        content_digest: Some(DIGEST),
        idempotency_key: Some("order-1042"),
        authority: None,
        headers: &[],
    }
}

fn params() -> SignatureParams {
    SignatureParams {
        created: CREATED,
        nonce: NONCE.into(),
        keyid: KEYID.into(),
    }
}

/// Parses and verifies with the vector's key.
fn check(input: &str, signature: &str, parts: &RequestParts<'_>) -> Result<(), HttpSignatureError> {
    let signed = parse_signature(input, signature, parts)?;
    verify_signature(&signed, parts, &key().verifying_key())
}

/// The vector's Signature-Input with one piece of text replaced.
fn input_with(from: &str, to: &str) -> String {
    assert!(INPUT.contains(from), "{from}");
    INPUT.replacen(from, to, 1)
}

#[test]
fn the_shared_vector_verifies() {
    let signed = parse_signature(INPUT, SIGNATURE, &parts()).unwrap();
    assert_eq!(signed.keyid, KEYID.parse().unwrap());
    assert_eq!(signed.created, CREATED);
    assert_eq!(signed.nonce, NONCE);
    assert_eq!(signed.signature_params(), &INPUT[3..]);
    assert_eq!(
        verify_signature(&signed, &parts(), &key().verifying_key()),
        Ok(())
    );
}

#[test]
fn signing_the_shared_vector_request_reproduces_its_headers() {
    let headers = sign_request(&key(), &parts(), &params()).unwrap();
    assert_eq!(headers.signature_input, INPUT);
    assert_eq!(headers.signature, SIGNATURE);
}

#[test]
fn the_shared_vector_signature_base_is_the_documented_one() {
    let base = signature_base(&parts(), &INPUT[3..]).unwrap();
    assert_eq!(
        base,
        format!(
            "\"@method\": POST\n\"@path\": /v1/redemptions\n\"@query\": ?\n\
             \"content-digest\": {DIGEST}\n\"idempotency-key\": order-1042\n\
             \"@signature-params\": {}",
            &INPUT[3..]
        )
    );
}

#[test]
fn a_request_signed_without_body_or_idempotency_key_round_trips() {
    let request = RequestParts {
        method: "GET",
        path: "/v1/devices",
        query: Some("limit=10&after=x%2Fy"),
        content_digest: None,
        idempotency_key: None,
        authority: None,
        headers: &[],
    };
    let headers = sign_request(&key(), &request, &params()).unwrap();
    assert!(
        headers
            .signature_input
            .starts_with(r#"tc=("@method" "@path" "@query");created="#)
    );
    assert_eq!(
        check(&headers.signature_input, &headers.signature, &request),
        Ok(())
    );
    let other_query = RequestParts {
        query: Some("limit=11&after=x%2Fy"),
        ..request
    };
    assert_eq!(
        check(&headers.signature_input, &headers.signature, &other_query),
        Err(HttpSignatureError::BadSignature)
    );
    let no_query = RequestParts {
        query: None,
        ..request
    };
    assert_eq!(
        check(&headers.signature_input, &headers.signature, &no_query),
        Err(HttpSignatureError::BadSignature)
    );
}

#[test]
fn a_tampered_body_digest_does_not_verify() {
    let tampered = RequestParts {
        content_digest: Some("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"),
        ..parts()
    };
    assert_eq!(
        check(INPUT, SIGNATURE, &tampered),
        Err(HttpSignatureError::BadSignature)
    );
}

#[test]
fn a_changed_path_method_or_idempotency_key_does_not_verify() {
    let changed = [
        RequestParts {
            path: "/v1/refunds",
            ..parts()
        },
        RequestParts {
            path: "/v1/redemptions/",
            ..parts()
        },
        RequestParts {
            method: "PUT",
            ..parts()
        },
        RequestParts {
            method: "post",
            ..parts()
        },
        RequestParts {
            idempotency_key: Some("order-1043"),
            ..parts()
        },
        RequestParts {
            query: Some("x=1"),
            ..parts()
        },
    ];
    for request in &changed {
        assert_eq!(
            check(INPUT, SIGNATURE, request),
            Err(HttpSignatureError::BadSignature),
            "{request:?}"
        );
    }
}

#[test]
fn another_key_does_not_verify() {
    let signed = parse_signature(INPUT, SIGNATURE, &parts()).unwrap();
    let other = SigningKey::from_bytes(&[7; 32]).verifying_key();
    assert_eq!(
        verify_signature(&signed, &parts(), &other),
        Err(HttpSignatureError::BadSignature)
    );
}

#[test]
fn a_header_the_signature_does_not_cover_is_refused() {
    // Signed without an idempotency key, sent with one.
    let without = RequestParts {
        idempotency_key: None,
        ..parts()
    };
    let headers = sign_request(&key(), &without, &params()).unwrap();
    assert_eq!(
        check(&headers.signature_input, &headers.signature, &parts()),
        Err(HttpSignatureError::WrongComponents)
    );
    // The vector's signature covers a digest the request no longer carries.
    let no_digest = RequestParts {
        content_digest: None,
        ..parts()
    };
    assert_eq!(
        check(INPUT, SIGNATURE, &no_digest),
        Err(HttpSignatureError::WrongComponents)
    );
}

#[test]
fn verifying_against_other_parts_than_parsed_is_refused() {
    let signed = parse_signature(INPUT, SIGNATURE, &parts()).unwrap();
    let without = RequestParts {
        idempotency_key: None,
        ..parts()
    };
    assert_eq!(
        verify_signature(&signed, &without, &key().verifying_key()),
        Err(HttpSignatureError::WrongComponents)
    );
}

#[test]
fn covered_components_the_profile_cannot_accept_are_refused() {
    let all = r#"("@method" "@path" "@query" "content-digest" "idempotency-key")"#;
    let cases = [
        // A required component missing.
        r#"("@method" "@path" "@query" "content-digest")"#,
        r#"("@method" "@path" "content-digest" "idempotency-key")"#,
        r#"("@method" "@path" "@query" "content-digest" "date")"#,
        // Components the request does not have: no authority, no such header.
        r#"("@method" "@path" "@query" "content-digest" "idempotency-key" "@authority")"#,
        r#"("@method" "@path" "@query" "content-digest" "idempotency-key" "content-type")"#,
        // Derived components the profile does not support.
        r#"("@method" "@target-uri" "@query" "content-digest" "idempotency-key")"#,
        r#"("@method" "@path" "@query" "content-digest" "idempotency-key" "@scheme")"#,
        r#"("@method" "@path" "@query" "content-digest" "idempotency-key" "@request-target")"#,
        // Not a lowercase field name, component parameters, not a string.
        r#"("@method" "@path" "@query" "Content-Digest" "idempotency-key")"#,
        r#"("@method" "@path" "@query" "content-digest";sf "idempotency-key")"#,
        r#"("@method" "@path" "@query" "content-digest";bs "idempotency-key")"#,
        r#"("@method" "@path" "@query" content-digest "idempotency-key")"#,
        r#"("@method" "@path" "@query" "content-digest" "idempotency-key" "")"#,
        // A component twice.
        r#"("@method" "@path" "@query" "content-digest" "idempotency-key" "idempotency-key")"#,
        r#"("@method" "@path" "@query" "@path" "content-digest" "idempotency-key")"#,
        "()",
    ];
    for components in cases {
        assert_eq!(
            check(&input_with(all, components), SIGNATURE, &parts()),
            Err(HttpSignatureError::WrongComponents),
            "{components}"
        );
    }
}

/// `Signature-Input` for `components` with the vector's parameters.
fn input_covering(components: &str) -> String {
    input_with(
        r#"("@method" "@path" "@query" "content-digest" "idempotency-key")"#,
        components,
    )
}

/// Signs `base` with the vector's key: the `Signature` header.
fn sign_base(base: &str) -> String {
    fields::serialize_signature(&key().sign(base.as_bytes()).to_bytes()).unwrap()
}

#[test]
fn components_in_another_order_verify_over_a_base_in_that_order() {
    // As a library that adds content-digest last would sign it.
    let components = r#"("@path" "@method" "idempotency-key" "@query" "content-digest")"#;
    let input = input_covering(components);
    let base = format!(
        "\"@path\": /v1/redemptions\n\"@method\": POST\n\"idempotency-key\": order-1042\n\
         \"@query\": ?\n\"content-digest\": {DIGEST}\n\"@signature-params\": {}",
        &input[3..]
    );
    let signature = sign_base(&base);
    assert_eq!(check(&input, &signature, &parts()), Ok(()));
    // The vector's signature is over the profile's order: it does not verify
    // under this Signature-Input.
    assert_eq!(
        check(&input, SIGNATURE, &parts()),
        Err(HttpSignatureError::BadSignature)
    );
    // Nor does the reordered signature once the request changes.
    let changed = RequestParts {
        idempotency_key: Some("order-1043"),
        ..parts()
    };
    assert_eq!(
        check(&input, &signature, &changed),
        Err(HttpSignatureError::BadSignature)
    );
}

const DATE: &str = "Sun, 06 Dec 2026 21:00:00 GMT";

#[test]
fn a_signature_covering_date_and_authority_besides_the_required_components_verifies() {
    let headers = [
        ("Content-Type", "application/json"),
        ("Date", DATE),
        ("Content-Digest", "ignored: read from content_digest"),
    ];
    let request = RequestParts {
        authority: Some("API.Example.test"),
        headers: &headers,
        ..parts()
    };
    let components =
        r#"("date" "@method" "@authority" "@path" "@query" "content-digest" "idempotency-key")"#;
    let input = input_covering(components);
    let base = format!(
        "\"date\": {DATE}\n\"@method\": POST\n\"@authority\": api.example.test\n\
         \"@path\": /v1/redemptions\n\"@query\": ?\n\"content-digest\": {DIGEST}\n\
         \"idempotency-key\": order-1042\n\"@signature-params\": {}",
        &input[3..]
    );
    let signature = sign_base(&base);
    assert_eq!(check(&input, &signature, &request), Ok(()));

    // The extra components are signed like the others.
    let other_date = [("date", "Sun, 06 Dec 2026 21:00:01 GMT")];
    for changed in [
        RequestParts {
            headers: &other_date,
            ..request
        },
        RequestParts {
            authority: Some("api.example.test:8443"),
            ..request
        },
    ] {
        assert_eq!(
            check(&input, &signature, &changed),
            Err(HttpSignatureError::BadSignature),
            "{changed:?}"
        );
    }
    // A covered component the request no longer has is refused.
    for without in [
        RequestParts {
            headers: &[],
            ..request
        },
        RequestParts {
            authority: None,
            ..request
        },
    ] {
        assert_eq!(
            check(&input, &signature, &without),
            Err(HttpSignatureError::WrongComponents),
            "{without:?}"
        );
    }
}

#[test]
fn a_header_sent_on_several_lines_is_covered_as_one_value() {
    let headers = [("accept", "application/json"), ("Accept", "text/plain ")];
    let request = RequestParts {
        headers: &headers,
        ..parts()
    };
    let components = r#"("@method" "@path" "@query" "content-digest" "idempotency-key" "accept")"#;
    let input = input_covering(components);
    let base = format!(
        "\"@method\": POST\n\"@path\": /v1/redemptions\n\"@query\": ?\n\
         \"content-digest\": {DIGEST}\n\"idempotency-key\": order-1042\n\
         \"accept\": application/json, text/plain\n\"@signature-params\": {}",
        &input[3..]
    );
    assert_eq!(check(&input, &sign_base(&base), &request), Ok(()));
}

#[test]
fn a_covered_extra_header_with_a_control_character_is_refused() {
    let headers = [("date", "Sun\n\"@method\": GET")];
    let request = RequestParts {
        headers: &headers,
        ..parts()
    };
    let input =
        input_covering(r#"("@method" "@path" "@query" "content-digest" "idempotency-key" "date")"#);
    assert!(matches!(
        check(&input, SIGNATURE, &request),
        Err(HttpSignatureError::Malformed(_))
    ));
}

#[test]
fn the_signer_covers_only_the_required_components_in_the_profile_s_order() {
    let headers = [("date", DATE)];
    let request = RequestParts {
        authority: Some("api.example.test"),
        headers: &headers,
        ..parts()
    };
    let signed = sign_request(&key(), &request, &params()).unwrap();
    assert_eq!(signed.signature_input, INPUT);
    assert_eq!(signed.signature, SIGNATURE);
}

#[test]
fn a_signature_under_another_label_only_is_missing() {
    let input = input_with("tc=", "sig1=");
    let signature = SIGNATURE.replacen("tc=", "sig1=", 1);
    assert_eq!(
        check(&input, &signature, &parts()),
        Err(HttpSignatureError::Missing)
    );
    assert_eq!(
        check(&input, SIGNATURE, &parts()),
        Err(HttpSignatureError::Missing)
    );
    assert_eq!(check("", "", &parts()), Err(HttpSignatureError::Missing));
    assert_eq!(check(INPUT, "", &parts()), Err(HttpSignatureError::Missing));
}

#[test]
fn other_labels_beside_tc_are_ignored() {
    let input = format!(r#"sig1=("@method");created=1, {INPUT}"#);
    let signature = format!("{SIGNATURE}, sig1=:AAAA:");
    assert_eq!(check(&input, &signature, &parts()), Ok(()));
}

#[test]
fn a_tag_other_than_tillcode_v1_is_refused() {
    for tag in [r#"tag="tillcode/v2""#, r#"tag="Tillcode/v1""#, r#"tag="""#] {
        assert_eq!(
            check(
                &input_with(r#"tag="tillcode/v1""#, tag),
                SIGNATURE,
                &parts()
            ),
            Err(HttpSignatureError::WrongTag),
            "{tag}"
        );
    }
}

#[test]
fn an_algorithm_other_than_ed25519_is_refused() {
    for alg in [
        r#"alg="rsa-pss-sha512""#,
        r#"alg="ecdsa-p256-sha256""#,
        r#"alg="hmac-sha256""#,
        r#"alg="Ed25519""#,
    ] {
        assert_eq!(
            check(&input_with(r#"alg="ed25519""#, alg), SIGNATURE, &parts()),
            Err(HttpSignatureError::UnknownAlgorithm),
            "{alg}"
        );
    }
}

#[test]
fn a_garbage_keyid_is_refused() {
    for keyid in [
        r#"keyid="terminal:nope""#,
        r#"keyid="merchant:0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa""#,
        r#"keyid="0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa""#,
        r#"keyid="terminal:0190F3C2-6A8E-7B3D-9C41-5E2A7D1B8FAA""#,
        r#"keyid="""#,
        "keyid=terminal",
        "keyid=1",
    ] {
        assert!(
            matches!(
                check(
                    &input_with(&format!("keyid=\"{KEYID}\""), keyid),
                    SIGNATURE,
                    &parts()
                ),
                Err(HttpSignatureError::Malformed(_))
            ),
            "{keyid}"
        );
    }
}

#[test]
fn malformed_parameters_are_refused() {
    let cases = [
        input_with(";created=1795000000", ""),
        input_with(&format!(";keyid=\"{KEYID}\""), ""),
        input_with(r#";alg="ed25519""#, ""),
        input_with(&format!(";nonce=\"{NONCE}\""), ""),
        input_with(r#";tag="tillcode/v1""#, ""),
        input_with("created=1795000000", "created=-1795000000"),
        input_with("created=1795000000", "created=\"1795000000\""),
        input_with("created=1795000000", "created=1795000000.0"),
        input_with(r#"alg="ed25519""#, "alg=ed25519"),
        input_with(r#"tag="tillcode/v1""#, "tag=?1"),
        input_with(
            r#"tag="tillcode/v1""#,
            r#"tag="tillcode/v1";expires=1795000060"#,
        ),
        input_with(r#"tag="tillcode/v1""#, r#"tag="tillcode/v1";x="y""#),
        // Nonces: too short, not base64url, padded, too long.
        input_with(NONCE, "Zq2v0a9R2YJ4mK1xQe7bW"),
        input_with(NONCE, "Zq2v0a9R2YJ4mK1xQe7b+g"),
        input_with(NONCE, "Zq2v0a9R2YJ4mK1xQe7bWg=="),
        input_with(NONCE, &"A".repeat(129)),
        input_with(NONCE, ""),
        // Not a structured field at all.
        input_with("tc=(", "tc=(("),
        input_with("\"@method\"", "\"@méthod\""),
        format!("{INPUT},"),
    ];
    for input in &cases {
        assert!(
            matches!(
                check(input, SIGNATURE, &parts()),
                Err(HttpSignatureError::Malformed(_))
            ),
            "{input}"
        );
    }
}

#[test]
fn a_nonce_of_up_to_128_base64url_characters_is_accepted_when_signed() {
    let long = SignatureParams {
        nonce: "a-_Z09".repeat(21) + "xy",
        ..params()
    };
    assert_eq!(long.nonce.len(), NONCE_MAX_LEN);
    let headers = sign_request(&key(), &parts(), &long).unwrap();
    assert_eq!(
        check(&headers.signature_input, &headers.signature, &parts()),
        Ok(())
    );
}

#[test]
fn parameters_in_another_order_are_signed_as_received() {
    // Another RFC 9421 signer may order parameters its own way; the base
    // carries them in that order.
    let reordered = format!(
        r#"("@method" "@path" "@query" "content-digest" "idempotency-key");tag="tillcode/v1";nonce="{NONCE}";alg="ed25519";keyid="{KEYID}";created={CREATED}"#
    );
    let base = signature_base(&parts(), &reordered).unwrap();
    let signature = fields::serialize_signature(&key().sign(base.as_bytes()).to_bytes()).unwrap();
    let input = format!("tc={reordered}");
    assert_eq!(check(&input, &signature, &parts()), Ok(()));
    // The vector's signature, over the other order, does not verify.
    assert_eq!(
        check(&input, SIGNATURE, &parts()),
        Err(HttpSignatureError::BadSignature)
    );
}

#[test]
fn optional_whitespace_in_signature_input_does_not_change_the_base() {
    let spaced = input_with(r#""@method" "@path""#, r#""@method"   "@path""#).replacen(
        ";created",
        "; created",
        1,
    );
    let signed = parse_signature(&format!("  {spaced}  "), SIGNATURE, &parts()).unwrap();
    assert_eq!(signed.signature_params(), &INPUT[3..]);
    assert_eq!(check(&spaced, SIGNATURE, &parts()), Ok(()));
}

#[test]
fn a_signature_of_the_wrong_length_or_encoding_is_refused() {
    let cases = [
        "tc=:KXNPgoO7I6TD3h0G5ClyTJlR0zDkjBNBbFZLdOAk4b4qwF0Q2SntBJKbYZq/zPbIYNe5nFJehIb3srruvUvv:",
        "tc=:KXNPgoO7I6TD3h0G5ClyTJlR0zDkjBNBbFZLdOAk4b4qwF0Q2SntBJKbYZq/zPbIYNe5nFJehIb3srruvUvvAAAA:",
        "tc=::",
        "tc=:KXNPgoO7I6TD3h0G5ClyTJlR0zDkjBNBbFZLdOAk4b4qwF0Q2SntBJKbYZq_zPbIYNe5nFJehIb3srruvUvvAA==:",
        "tc=:not base64!:",
        "tc=KXNPgoO7I6TD3h0G5ClyTJlR0zDkjBNBbFZLdOAk4b4qwF0Q2SntBJKbYZq/zPbIYNe5nFJehIb3srruvUvvAA==",
        "tc=\"KXNPgoO7I6TD3h0G5ClyTJlR0zDkjBNBbFZLdOAk4b4qwF0Q2SntBJKbYZq/zPbIYNe5nFJehIb3srruvUvvAA==\"",
        "tc=(:AA==:)",
        "tc=:KXNPgoO7I6TD3h0G5ClyTJlR0zDkjBNBbFZLdOAk4b4qwF0Q2SntBJKbYZq/zPbIYNe5nFJehIb3srruvUvvAA==:;alg=\"ed25519\"",
    ];
    for signature in cases {
        assert!(
            matches!(
                check(INPUT, signature, &parts()),
                Err(HttpSignatureError::Malformed(_))
            ),
            "{signature}"
        );
    }
}

#[test]
fn a_flipped_signature_bit_does_not_verify() {
    let bytes = BASE64URL_NOPAD
        .decode(b"KXNPgoO7I6TD3h0G5ClyTJlR0zDkjBNBbFZLdOAk4b4qwF0Q2SntBJKbYZq_zPbIYNe5nFJehIb3srruvUvvAA")
        .unwrap();
    for i in [0, 31, 32, 63] {
        let mut flipped = bytes.clone();
        flipped[i] ^= 1;
        let signature = fields::serialize_signature(&flipped).unwrap();
        assert_eq!(
            check(INPUT, &signature, &parts()),
            Err(HttpSignatureError::BadSignature),
            "byte {i}"
        );
    }
}

#[test]
fn signing_refuses_what_a_verifier_would_refuse() {
    let bad = [
        SignatureParams {
            keyid: "terminal:1".into(),
            ..params()
        },
        SignatureParams {
            nonce: "short".into(),
            ..params()
        },
        SignatureParams {
            nonce: "Zq2v0a9R2YJ4mK1xQe7bW\"".into(),
            ..params()
        },
        SignatureParams {
            created: 1_000_000_000_000_000,
            ..params()
        },
    ];
    for params in &bad {
        assert!(
            matches!(
                sign_request(&key(), &parts(), params),
                Err(HttpSignatureError::Malformed(_))
            ),
            "{params:?}"
        );
    }
    let injected = RequestParts {
        idempotency_key: Some("k\n\"@method\": GET"),
        ..parts()
    };
    assert!(sign_request(&key(), &injected, &params()).is_err());
}

#[test]
fn created_is_checked_within_the_window_either_way() {
    let now = CREATED;
    assert_eq!(check_created(now, now, CREATED_WINDOW_S), Ok(()));
    assert_eq!(check_created(now - 30, now, 30), Ok(()));
    assert_eq!(check_created(now + 30, now, 30), Ok(()));
    assert_eq!(
        check_created(now - 31, now, 30),
        Err(HttpSignatureError::Expired)
    );
    assert_eq!(
        check_created(now + 31, now, 30),
        Err(HttpSignatureError::NotYetValid)
    );
    assert_eq!(check_created(0, 0, 30), Ok(()));
    assert_eq!(check_created(u64::MAX, u64::MAX, u64::MAX), Ok(()));
    assert_eq!(
        check_created(0, u64::MAX, 30),
        Err(HttpSignatureError::Expired)
    );
    assert_eq!(
        check_created(u64::MAX, 0, 30),
        Err(HttpSignatureError::NotYetValid)
    );
}

/// A counter standing in for a CSPRNG: `new_nonce` only shapes its bytes.
struct Counter(u8);

impl rand_core::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.0;
            self.0 = self.0.wrapping_add(1);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for Counter {}

#[test]
fn a_new_nonce_is_16_bytes_in_22_base64url_characters() {
    let nonce = new_nonce(&mut Counter(0));
    assert_eq!(nonce, "AAECAwQFBgcICQoLDA0ODw");
    assert_eq!(check_nonce(&nonce), Ok(()));
    let mut os = rand_core::OsRng;
    let (a, b) = (new_nonce(&mut os), new_nonce(&mut os));
    assert_eq!(a.len(), NONCE_MIN_LEN);
    assert_ne!(a, b);
}
