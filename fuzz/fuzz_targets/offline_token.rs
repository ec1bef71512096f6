//! `OfflineToken::parse` (`TC1F…`, Ed25519-signed on the phone): never
//! panics; parse → encode → parse round-trips with a unique text form; and
//! no parsed token verifies under a key that did not sign it.
#![no_main]

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use tillcode_protocol::{MerchantId, OfflineToken, check_freshness};
use uuid::Uuid;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(token) = OfflineToken::parse(text) else {
        return;
    };
    let payload = token.payload();
    assert_eq!(payload, text);
    assert_eq!(OfflineToken::parse(&payload), Ok(token.clone()));

    // What the server does next: freshness at any clock, then the signature.
    let _ = check_freshness(
        token.issued_at_ms,
        token.issued_at_ms ^ 0x5555,
        90_000,
        30_000,
    );
    let merchant =
        MerchantId::from_uuid(Uuid::from_u128(0x0190_f3c2_6a8e_7b3d_9c41_5e2a_7d1b_8f00));
    // A key no seed in the corpus signed with: the fuzzer cannot forge for it.
    let key = SigningKey::from_bytes(&[0x42; 32]).verifying_key();
    assert!(token.verify(merchant, &key).is_err());
    assert_eq!(token.fingerprint(merchant).len(), 32);
});
