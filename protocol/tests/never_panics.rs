//! Fuzz-style properties: no input makes a decoder panic, and every refusal
//! is a typed error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use tillcode_protocol::{
    CodeError, DeviceHandle, EnrollmentCode, LinkCode, NumericCode, NumericHandle, OfflineToken,
    OnlineKey, PaymentCode, base32, parse_public_key, parse_public_key_base32, verify_strict,
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
