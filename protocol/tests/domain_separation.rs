//! A signature made in one context never verifies in another.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ed25519_dalek::{Signer, SigningKey};
use proptest::prelude::*;
use tillcode_protocol::{
    CodeError, DeviceHandle, Domain, EnrollmentCode, LinkCode, MerchantId, OfflineToken,
    device_session_message, enroll_terminal_message, link_device_message, register_device_message,
    verify_strict,
};
use uuid::Uuid;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

proptest! {
    #[test]
    fn a_signature_under_one_label_never_verifies_under_another(
        a in 0usize..Domain::ALL.len(),
        b in 0usize..Domain::ALL.len(),
        parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..4),
    ) {
        prop_assume!(a != b);
        let (a, b) = (Domain::ALL[a], Domain::ALL[b]);
        let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let signing = key();
        let signature = signing.sign(&a.message(&parts)).to_bytes();
        let public = signing.verifying_key();
        prop_assert_eq!(verify_strict(&public, &a.message(&parts), &signature), Ok(()));
        prop_assert_eq!(
            verify_strict(&public, &b.message(&parts), &signature),
            Err(CodeError::BadSignature)
        );
    }
}

#[test]
fn a_register_device_proof_does_not_pass_as_an_offline_token() {
    let signing = key();
    let merchant = MerchantId::from_uuid(Uuid::from_u128(7));
    let proof = signing
        .sign(&register_device_message(
            merchant,
            &[1; 32],
            &signing.verifying_key(),
            "phone",
        ))
        .to_bytes();
    let token = OfflineToken {
        device_handle: DeviceHandle([0; 8]),
        issued_at_ms: 0,
        nonce: [0; 4],
        signature: proof,
    };
    let parsed = OfflineToken::parse(&token.payload()).unwrap();
    assert_eq!(
        parsed.verify(merchant, &signing.verifying_key()),
        Err(CodeError::BadSignature)
    );
}

#[test]
fn no_proof_verifies_as_any_other_proof_or_as_an_offline_token() {
    let signing = key();
    let public = signing.verifying_key();
    let merchant = MerchantId::from_uuid(Uuid::from_u128(7));
    let challenge = [3; 32];
    let messages = [
        register_device_message(merchant, &challenge, &public, "x"),
        link_device_message(&LinkCode::from_bytes([4; 16]), &public, "x"),
        enroll_terminal_message(&EnrollmentCode::parse("BCDF-GHJK").unwrap(), &public, "x"),
        device_session_message(Uuid::from_u128(7), &challenge),
        OfflineToken::sign(&signing, merchant, DeviceHandle([5; 8]), 6, [7; 4])
            .signed_message(merchant),
    ];
    for (i, signed) in messages.iter().enumerate() {
        let signature = signing.sign(signed).to_bytes();
        for (j, other) in messages.iter().enumerate() {
            let expected = if i == j {
                Ok(())
            } else {
                Err(CodeError::BadSignature)
            };
            assert_eq!(
                verify_strict(&public, other, &signature),
                expected,
                "{i} as {j}"
            );
        }
    }
}

#[test]
fn a_device_session_proof_is_not_a_register_device_proof_for_the_same_challenge() {
    // Both are answers to a 32-byte server challenge; the label keeps a
    // session answer from registering a key, and the reverse.
    let signing = key();
    let public = signing.verifying_key();
    let challenge = [9; 32];
    let session = device_session_message(Uuid::from_u128(1), &challenge);
    let signature = signing.sign(&session).to_bytes();
    let register = register_device_message(
        MerchantId::from_uuid(Uuid::from_u128(1)),
        &challenge,
        &public,
        "",
    );
    assert_eq!(
        verify_strict(&public, &register, &signature),
        Err(CodeError::BadSignature)
    );
}
