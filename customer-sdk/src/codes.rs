//! Payment codes made on the device with no network: the offline signed
//! token (`TC1F…`) and the numeric code for manual entry.

use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::{OsRng, RngCore};
use tillcode_protocol::offline_token::NONCE_LEN;
use tillcode_protocol::{DeviceHandle, MerchantId, NumericCode, NumericHandle, OfflineToken};

use crate::DeviceKey;

/// The operating system's random number generator failed.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomnessError(rand_core::Error);

/// An offline token payload (139 characters) for `merchant`, dated `now_ms`
/// (Unix milliseconds on this device's clock), with a fresh random nonce so
/// that two codes made in the same millisecond still differ.
pub fn offline_code(
    key: &DeviceKey,
    merchant: MerchantId,
    device_handle: DeviceHandle,
    now_ms: u64,
) -> Result<String, RandomnessError> {
    let mut nonce = [0u8; NONCE_LEN];
    // try_fill_bytes: fill_bytes would panic if the OS has no randomness.
    OsRng.try_fill_bytes(&mut nonce).map_err(RandomnessError)?;
    Ok(offline_code_with_nonce(
        key,
        merchant,
        device_handle,
        now_ms,
        nonce,
    ))
}

/// [`offline_code`] with a given nonce: for test vectors only, since a
/// repeated nonce in the same millisecond makes the same, already used code.
pub fn offline_code_with_nonce(
    key: &DeviceKey,
    merchant: MerchantId,
    device_handle: DeviceHandle,
    now_ms: u64,
    nonce: [u8; NONCE_LEN],
) -> String {
    OfflineToken::sign(key.signing_key(), merchant, device_handle, now_ms, nonce).payload()
}

/// The numeric code for `unix_s`, as shown to people:
/// `1234 5678 9012 3456 78`. Not for a QR code: see [`numeric_code_payload`].
pub fn numeric_code(numeric_handle: NumericHandle, secret: &[u8; 32], unix_s: u64) -> String {
    NumericCode::generate(numeric_handle, secret, unix_s).display()
}

/// The numeric code for `unix_s` as a QR code carries it and a till sends
/// it: the 18 bare digits, `123456789012345678`. No spaces, which
/// keyboard-wedge scanners mangle, and it fits a version-1 QR code.
pub fn numeric_code_payload(
    numeric_handle: NumericHandle,
    secret: &[u8; 32],
    unix_s: u64,
) -> String {
    NumericCode::generate(numeric_handle, secret, unix_s).digits()
}

/// Seconds until the numeric code shown at `unix_s` changes.
pub fn numeric_code_valid_for(unix_s: u64) -> u64 {
    let step = tillcode_protocol::numeric_code::TOTP_STEP_SECONDS;
    step - unix_s % step
}

/// Milliseconds since the Unix epoch on this device's clock; 0 for a clock
/// set before 1970 (the server then refuses the code as expired).
pub fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillcode_protocol::{PaymentCode, check_freshness};

    /// The "valid token" vector of `protocol-vectors.json` (libsodium).
    const VECTOR_PAYLOAD: &str = "TC1FRU7ADJ6ELOPSAAAAAGQ64VS6POQ3FQ6U7QGH5Z6YF6KMGIHYBJ3VIOL3TIDURHA76VIME6LS6J5DTEEUBA3SUBMOLTAWQZPPUYJNOCFOSQFJNF4QONQR4LYGJJMGLGXMVORJECI";

    fn vector_key() -> DeviceKey {
        DeviceKey::from_seed(&std::array::from_fn(|i| i as u8))
    }

    fn vector_merchant() -> MerchantId {
        "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00".parse().unwrap()
    }

    fn vector_handle() -> DeviceHandle {
        "8d3e01a7c45b9f20".parse().unwrap()
    }

    #[test]
    fn the_offline_code_of_the_protocol_vector_is_reproduced_byte_for_byte() {
        let payload = offline_code_with_nonce(
            &vector_key(),
            vector_merchant(),
            vector_handle(),
            1_795_000_000_123,
            [0xa1, 0xb2, 0xc3, 0xd4],
        );
        assert_eq!(payload, VECTOR_PAYLOAD);
    }

    #[test]
    fn an_offline_code_verifies_for_its_merchant_and_is_fresh_now() {
        let key = vector_key();
        let now = unix_now_ms();
        let payload = offline_code(&key, vector_merchant(), vector_handle(), now).unwrap();
        assert_eq!(payload.len(), 139);
        let Ok(PaymentCode::Offline(token)) = PaymentCode::parse(&payload) else {
            panic!("not an offline token: {payload}");
        };
        assert_eq!(token.device_handle, vector_handle());
        assert_eq!(token.issued_at_ms, now);
        token
            .verify(vector_merchant(), &key.verifying_key())
            .unwrap();
        check_freshness(token.issued_at_ms, unix_now_ms(), 60_000, 30_000).unwrap();
    }

    #[test]
    fn two_offline_codes_made_in_the_same_millisecond_differ() {
        let key = vector_key();
        let a = offline_code(&key, vector_merchant(), vector_handle(), 1).unwrap();
        let b = offline_code(&key, vector_merchant(), vector_handle(), 1).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn the_numeric_payload_is_the_display_form_without_its_spaces() {
        let handle = NumericHandle::new(123_456_789).unwrap();
        let secret = [7u8; 32];
        let payload = numeric_code_payload(handle, &secret, 1_795_000_000);
        let shown = numeric_code(handle, &secret, 1_795_000_000);
        assert_eq!(payload.len(), 18);
        assert!(payload.bytes().all(|b| b.is_ascii_digit()), "{payload}");
        assert_eq!(payload, shown.replace(' ', ""));
        assert_eq!(
            NumericCode::parse(&payload).unwrap(),
            NumericCode::parse(&shown).unwrap()
        );
    }

    #[test]
    fn the_numeric_code_is_the_display_form_the_server_verifies() {
        let handle = NumericHandle::new(123_456_789).unwrap();
        let secret = [7u8; 32];
        let shown = numeric_code(handle, &secret, 1_795_000_000);
        assert_eq!(shown.len(), 22);
        assert!(shown.starts_with("1234 5678 9"), "{shown}");
        let parsed = NumericCode::parse(&shown).unwrap();
        assert_eq!(parsed.handle, handle);
        assert_eq!(
            parsed.verify(&secret, 1_795_000_000),
            Ok(1_795_000_000 / 30)
        );
    }

    #[test]
    fn a_numeric_code_is_valid_until_the_end_of_its_30_second_step() {
        assert_eq!(numeric_code_valid_for(1_795_000_020), 30);
        assert_eq!(numeric_code_valid_for(1_795_000_021), 29);
        assert_eq!(numeric_code_valid_for(1_795_000_049), 1);
    }
}
