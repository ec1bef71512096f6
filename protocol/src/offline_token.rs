//! Offline signed token: made on the phone with no network, Ed25519 over the
//! merchant, the device handle, the time and a nonce.

use std::fmt;
use std::str::FromStr;

use data_encoding::HEXLOWER;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

use crate::payload::{self, KIND_OFFLINE};
use crate::{CodeError, Domain, MerchantId, keys};

pub const DEVICE_HANDLE_LEN: usize = 8;
pub const NONCE_LEN: usize = 4;
/// device_handle (8) || issued_at (8) || nonce (4) || signature (64).
pub const OFFLINE_BODY_LEN: usize = DEVICE_HANDLE_LEN + 8 + NONCE_LEN + 64;

/// The server's short name for a registered device, unique within its
/// merchant. Shown as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceHandle(pub [u8; DEVICE_HANDLE_LEN]);

impl DeviceHandle {
    pub const fn from_bytes(bytes: [u8; DEVICE_HANDLE_LEN]) -> Self {
        Self(bytes)
    }

    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = [0u8; DEVICE_HANDLE_LEN];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; DEVICE_HANDLE_LEN] {
        &self.0
    }
}

impl fmt::Display for DeviceHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&HEXLOWER.encode(&self.0))
    }
}

impl fmt::Debug for DeviceHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceHandle({self})")
    }
}

impl FromStr for DeviceHandle {
    type Err = CodeError;

    /// Exactly 16 lowercase hex digits, the form `Display` writes.
    fn from_str(text: &str) -> Result<Self, CodeError> {
        let malformed = CodeError::Malformed("a device handle is 16 lowercase hex digits");
        if text.len() != 2 * DEVICE_HANDLE_LEN {
            return Err(malformed);
        }
        let bytes = HEXLOWER.decode(text.as_bytes()).map_err(|_| malformed)?;
        bytes.try_into().map(Self).map_err(|_| malformed)
    }
}

/// A decoded offline token. Parsing checks only the form; [`Self::verify`]
/// checks the signature, [`check_freshness`] the time.
#[derive(Clone, PartialEq, Eq)]
pub struct OfflineToken {
    pub device_handle: DeviceHandle,
    pub issued_at_ms: u64,
    pub nonce: [u8; NONCE_LEN],
    pub signature: [u8; 64],
}

impl OfflineToken {
    pub fn sign(
        key: &SigningKey,
        merchant: MerchantId,
        device_handle: DeviceHandle,
        issued_at_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Self {
        let message = offline_message(merchant, device_handle, issued_at_ms, nonce);
        Self {
            device_handle,
            issued_at_ms,
            nonce,
            signature: key.sign(&message).to_bytes(),
        }
    }

    /// `TC1F` || B32(body): 139 characters.
    pub fn payload(&self) -> String {
        payload::encode(KIND_OFFLINE, &self.body())
    }

    pub fn body(&self) -> [u8; OFFLINE_BODY_LEN] {
        let mut body = [0u8; OFFLINE_BODY_LEN];
        let (handle, rest) = body.split_at_mut(DEVICE_HANDLE_LEN);
        let (issued_at, rest) = rest.split_at_mut(8);
        let (nonce, signature) = rest.split_at_mut(NONCE_LEN);
        handle.copy_from_slice(&self.device_handle.0);
        issued_at.copy_from_slice(&self.issued_at_ms.to_be_bytes());
        nonce.copy_from_slice(&self.nonce);
        signature.copy_from_slice(&self.signature);
        body
    }

    pub fn parse(text: &str) -> Result<Self, CodeError> {
        let body: [u8; OFFLINE_BODY_LEN] = payload::decode(text, KIND_OFFLINE)?;
        let (handle, rest) = body.split_at(DEVICE_HANDLE_LEN);
        let (issued_at, rest) = rest.split_at(8);
        let (nonce, signature) = rest.split_at(NONCE_LEN);
        let malformed = || CodeError::Malformed("offline token body");
        Ok(Self {
            device_handle: DeviceHandle(handle.try_into().map_err(|_| malformed())?),
            issued_at_ms: u64::from_be_bytes(issued_at.try_into().map_err(|_| malformed())?),
            nonce: nonce.try_into().map_err(|_| malformed())?,
            signature: signature.try_into().map_err(|_| malformed())?,
        })
    }

    /// `m` of PROTOCOL.md: what the device signed, for `merchant`.
    pub fn signed_message(&self, merchant: MerchantId) -> Vec<u8> {
        offline_message(merchant, self.device_handle, self.issued_at_ms, self.nonce)
    }

    /// `H(m)`: the replay key. The signature is left out so that no second
    /// encoding of a signature could make a second fingerprint.
    pub fn fingerprint(&self, merchant: MerchantId) -> [u8; 32] {
        Sha256::digest(self.signed_message(merchant)).into()
    }

    /// Strict Ed25519 over [`Self::signed_message`]. The merchant is the one
    /// of the device record (found by handle within the terminal's
    /// merchant), never one taken from the request.
    pub fn verify(&self, merchant: MerchantId, key: &VerifyingKey) -> Result<(), CodeError> {
        keys::verify_strict(key, &self.signed_message(merchant), &self.signature)
    }
}

/// `Debug` leaves out the signature: a logged, unspent token could otherwise
/// be rebuilt and presented within its freshness window.
impl fmt::Debug for OfflineToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OfflineToken")
            .field("device_handle", &self.device_handle)
            .field("issued_at_ms", &self.issued_at_ms)
            .field("nonce", &HEXLOWER.encode(&self.nonce))
            .finish_non_exhaustive()
    }
}

/// `"tillcode/v1/offline" || 0x00 || merchant_id (16) || device_handle (8)
/// || issued_at_ms (8, big-endian) || nonce (4)`: 56 bytes.
pub fn offline_message(
    merchant: MerchantId,
    device_handle: DeviceHandle,
    issued_at_ms: u64,
    nonce: [u8; NONCE_LEN],
) -> Vec<u8> {
    Domain::Offline.message(&[
        merchant.as_uuid().as_bytes(),
        &device_handle.0,
        &issued_at_ms.to_be_bytes(),
        &nonce,
    ])
}

/// Why a token's time is outside the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Freshness {
    #[error("issued more than the allowed age ago")]
    Expired,
    #[error("issued further in the future than the allowed clock skew")]
    NotYetValid,
}

impl From<Freshness> for CodeError {
    fn from(f: Freshness) -> Self {
        match f {
            Freshness::Expired => CodeError::Expired,
            Freshness::NotYetValid => CodeError::NotYetValid,
        }
    }
}

/// Accepts `now - max_age <= issued_at <= now + max_skew` (all in ms, both
/// ends inclusive). Saturating, so no clock or setting can make it panic or
/// wrap around into acceptance.
pub fn check_freshness(
    issued_at_ms: u64,
    now_ms: u64,
    max_age_ms: u64,
    max_skew_ms: u64,
) -> Result<(), Freshness> {
    if issued_at_ms < now_ms.saturating_sub(max_age_ms) {
        Err(Freshness::Expired)
    } else if issued_at_ms > now_ms.saturating_add(max_skew_ms) {
        Err(Freshness::NotYetValid)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> (SigningKey, MerchantId, OfflineToken) {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let merchant = MerchantId::new();
        let handle = DeviceHandle::generate(&mut rand_core::OsRng);
        let token = OfflineToken::sign(&key, merchant, handle, 1_795_000_000_123, [1, 2, 3, 4]);
        (key, merchant, token)
    }

    #[test]
    fn a_signed_token_round_trips_through_its_139_character_payload_and_verifies() {
        let (key, merchant, token) = token();
        let text = token.payload();
        assert_eq!(text.len(), 139);
        let parsed = OfflineToken::parse(&text).unwrap();
        assert_eq!(parsed, token);
        assert_eq!(parsed.verify(merchant, &key.verifying_key()), Ok(()));
        assert_eq!(parsed.signed_message(merchant).len(), 56);
    }

    #[test]
    fn a_token_does_not_verify_for_another_merchant_or_key() {
        let (key, merchant, token) = token();
        let other_key = SigningKey::generate(&mut rand_core::OsRng).verifying_key();
        assert_eq!(
            token.verify(MerchantId::new(), &key.verifying_key()),
            Err(CodeError::BadSignature)
        );
        assert_eq!(
            token.verify(merchant, &other_key),
            Err(CodeError::BadSignature)
        );
    }

    #[test]
    fn the_fingerprint_ignores_the_signature_but_not_the_merchant() {
        let (_, merchant, token) = token();
        let mut altered = token.clone();
        altered.signature[0] ^= 1;
        assert_eq!(altered.fingerprint(merchant), token.fingerprint(merchant));
        assert_ne!(
            token.fingerprint(MerchantId::new()),
            token.fingerprint(merchant)
        );
    }

    #[test]
    fn debug_output_leaves_out_the_signature() {
        let (_, _, token) = token();
        let shown = format!("{token:?}");
        assert!(!shown.contains("signature"), "{shown}");
        assert!(shown.contains(&token.device_handle.to_string()), "{shown}");
    }

    #[test]
    fn a_device_handle_round_trips_through_lowercase_hex_only() {
        let handle: DeviceHandle = "8d3e01a7c45b9f20".parse().unwrap();
        assert_eq!(handle.0, [0x8d, 0x3e, 0x01, 0xa7, 0xc4, 0x5b, 0x9f, 0x20]);
        assert_eq!(handle.to_string(), "8d3e01a7c45b9f20");
        for bad in [
            "8D3E01A7C45B9F20",
            "8d3e01a7c45b9f2",
            "8d3e01a7c45b9f200",
            "8d3e01a7c45b9fzz",
            "",
            "éééééééé",
        ] {
            assert!(bad.parse::<DeviceHandle>().is_err(), "{bad}");
        }
    }

    #[test]
    fn freshness_accepts_the_window_inclusive_and_refuses_outside_it() {
        let now = 1_795_000_000_000;
        assert_eq!(check_freshness(now, now, 60_000, 30_000), Ok(()));
        assert_eq!(check_freshness(now - 60_000, now, 60_000, 30_000), Ok(()));
        assert_eq!(check_freshness(now + 30_000, now, 60_000, 30_000), Ok(()));
        assert_eq!(
            check_freshness(now - 60_001, now, 60_000, 30_000),
            Err(Freshness::Expired)
        );
        assert_eq!(
            check_freshness(now + 30_001, now, 60_000, 30_000),
            Err(Freshness::NotYetValid)
        );
    }

    #[test]
    fn freshness_never_overflows_at_the_ends_of_the_clock() {
        assert_eq!(check_freshness(0, 0, u64::MAX, u64::MAX), Ok(()));
        assert_eq!(
            check_freshness(u64::MAX, u64::MAX, u64::MAX, u64::MAX),
            Ok(())
        );
        assert_eq!(check_freshness(u64::MAX, 0, 0, u64::MAX), Ok(()));
        assert_eq!(
            check_freshness(u64::MAX, 0, 0, u64::MAX - 1),
            Err(Freshness::NotYetValid)
        );
        assert_eq!(
            check_freshness(0, u64::MAX, u64::MAX - 1, 0),
            Err(Freshness::Expired)
        );
    }

    proptest::proptest! {
        #[test]
        fn freshness_agrees_with_wide_arithmetic(
            issued in proptest::num::u64::ANY,
            now in proptest::num::u64::ANY,
            age in proptest::num::u64::ANY,
            skew in proptest::num::u64::ANY,
        ) {
            let (issued_w, now_w) = (i128::from(issued), i128::from(now));
            let expected = if issued_w < now_w - i128::from(age) {
                Err(Freshness::Expired)
            } else if issued_w > now_w + i128::from(skew) {
                Err(Freshness::NotYetValid)
            } else {
                Ok(())
            };
            proptest::prop_assert_eq!(check_freshness(issued, now, age, skew), expected);
        }
    }
}
