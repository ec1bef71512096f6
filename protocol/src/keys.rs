//! Ed25519 public keys and strict verification.
//!
//! Every key the server stores went through [`parse_public_key`], so the
//! checks `verify_strict` leaves out (a canonical encoding of A, A in the
//! prime-order subgroup) hold for every key it is later given.

use ed25519_dalek::{PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{CodeError, base32};

/// Bytes of SHA-256 kept in a fingerprint: 128 bits leave no room for a
/// second key with the same fingerprint.
const FINGERPRINT_BYTES: usize = 16;
const FINGERPRINT_GROUP: usize = 4;

/// Decodes a public key offered at registration, refusing in this order:
/// a length other than 32 bytes, bytes that are not a curve point, a
/// non-canonical encoding (y >= p, or x = 0 with the sign bit set), and a
/// point of small order or with a small-order component.
///
/// Honest key generation (RFC 8032 §5.1.5) always gives a canonical point of
/// the prime-order subgroup, so these checks refuse no real device. They make
/// every verifier agree: cofactored and cofactorless Ed25519 verification
/// differ only on keys with a torsion component, and a non-canonical A is a
/// second name for the same key.
pub fn parse_public_key(bytes: &[u8]) -> Result<VerifyingKey, CodeError> {
    let bytes: &[u8; PUBLIC_KEY_LENGTH] = bytes
        .try_into()
        .map_err(|_| CodeError::MalformedKey("an Ed25519 public key is 32 bytes"))?;
    let key = VerifyingKey::from_bytes(bytes)
        .map_err(|_| CodeError::MalformedKey("not a point of Ed25519's curve"))?;
    // `from_bytes` reduces y modulo p, so re-encoding shows whether the
    // caller used the one canonical encoding.
    let point = key.to_edwards();
    if point.compress().as_bytes() != bytes {
        return Err(CodeError::MalformedKey(
            "not the canonical encoding of its point",
        ));
    }
    if key.is_weak() || !point.is_torsion_free() {
        return Err(CodeError::WeakKey);
    }
    Ok(key)
}

/// [`parse_public_key`] for the `B32` text form (52 characters) that SDKs send.
pub fn parse_public_key_base32(text: &str) -> Result<VerifyingKey, CodeError> {
    if text.len() != base32::encoded_len(PUBLIC_KEY_LENGTH) {
        return Err(CodeError::MalformedKey("a B32 public key is 52 characters"));
    }
    let bytes = base32::decode(text).map_err(|_| CodeError::MalformedKey("not strict base32"))?;
    parse_public_key(&bytes)
}

/// RFC 8032 verification with ed25519-dalek's strict rules: S < L, R
/// canonical and not of small order, A not of small order.
pub fn verify_strict(
    key: &VerifyingKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CodeError> {
    let bytes: &[u8; SIGNATURE_LENGTH] =
        signature.try_into().map_err(|_| CodeError::BadSignature)?;
    key.verify_strict(message, &Signature::from_bytes(bytes))
        .map_err(|_| CodeError::BadSignature)
}

/// What a person compares by eye between two screens when approving a device
/// or a terminal: `B32(H(public_key)[0..16])` in groups of 4 characters
/// joined by `-` (26 characters, so the last group has 2).
pub fn key_fingerprint(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let text = base32::encode(&digest[..FINGERPRINT_BYTES]);
    let mut grouped = String::with_capacity(text.len() + text.len() / FINGERPRINT_GROUP);
    for (i, c) in text.chars().enumerate() {
        if i > 0 && i % FINGERPRINT_GROUP == 0 {
            grouped.push('-');
        }
        grouped.push(c);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;
    use data_encoding::HEXLOWER;
    use ed25519_dalek::{Signer, SigningKey, Verifier};

    fn hex(text: &str) -> Vec<u8> {
        HEXLOWER.decode(text.as_bytes()).unwrap()
    }

    fn vector_key() -> SigningKey {
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        SigningKey::from_bytes(&seed)
    }

    #[test]
    fn the_vector_key_has_the_fingerprint_the_customer_sdk_shows() {
        let key = vector_key().verifying_key();
        assert_eq!(
            HEXLOWER.encode(key.as_bytes()),
            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
        );
        assert_eq!(key_fingerprint(&key), "KZDV-VJ2U-MNDU-YAUF-35O3-6K6K-W4");
    }

    #[test]
    fn an_honest_key_parses_from_bytes_and_from_base32() {
        let key = vector_key().verifying_key();
        assert_eq!(parse_public_key(key.as_bytes()), Ok(key));
        let text = "AOQQPP7TZYIL4HLQ3UMOOS6ATFT6JVRQTOSQ2XY53SDGIESVGG4A";
        assert_eq!(parse_public_key_base32(text), Ok(key));
        assert!(parse_public_key_base32(&text.to_lowercase()).is_err());
        assert!(parse_public_key_base32(&text[..51]).is_err());
    }

    #[test]
    fn keys_of_the_wrong_length_are_malformed() {
        for len in [0, 31, 33, 64] {
            assert!(matches!(
                parse_public_key(&vec![9; len]),
                Err(CodeError::MalformedKey(_))
            ));
        }
    }

    #[test]
    fn bytes_that_are_not_a_point_are_malformed() {
        // y = 2 has no x on the curve.
        let mut y2 = [0u8; 32];
        y2[0] = 2;
        assert!(matches!(
            parse_public_key(&y2),
            Err(CodeError::MalformedKey(_))
        ));
    }

    #[test]
    fn a_non_canonical_encoding_of_a_valid_point_is_malformed() {
        // y = p + 3: dalek decodes it as y = 3, a point of large order.
        let non_canonical = hex("f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
        let decoded = VerifyingKey::from_bytes(&non_canonical.clone().try_into().unwrap()).unwrap();
        assert!(!decoded.is_weak());
        assert!(matches!(
            parse_public_key(&non_canonical),
            Err(CodeError::MalformedKey(_))
        ));
    }

    #[test]
    fn small_order_points_are_weak() {
        for point in [
            // identity, order 2, order 4 and order 8 points (canonical encodings)
            "0100000000000000000000000000000000000000000000000000000000000000",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        ] {
            assert_eq!(
                parse_public_key(&hex(point)),
                Err(CodeError::WeakKey),
                "{point}"
            );
        }
    }

    #[test]
    fn a_point_with_a_small_order_component_is_weak() {
        // y = 3: on the curve, not of small order, but not in the prime-order
        // subgroup (checked below), so no honest key generation yields it.
        let mut y3 = [0u8; 32];
        y3[0] = 3;
        let key = VerifyingKey::from_bytes(&y3).unwrap();
        assert!(!key.is_weak());
        assert!(!key.to_edwards().is_torsion_free());
        assert_eq!(parse_public_key(&y3), Err(CodeError::WeakKey));
    }

    #[test]
    fn a_signature_verifies_only_for_its_message_and_only_at_64_bytes() {
        let signing = vector_key();
        let key = signing.verifying_key();
        let sig = signing.sign(b"hello").to_bytes();
        assert_eq!(verify_strict(&key, b"hello", &sig), Ok(()));
        assert_eq!(
            verify_strict(&key, b"hellO", &sig),
            Err(CodeError::BadSignature)
        );
        assert_eq!(
            verify_strict(&key, b"hello", &sig[..63]),
            Err(CodeError::BadSignature)
        );
        let mut long = sig.to_vec();
        long.push(0);
        assert_eq!(
            verify_strict(&key, b"hello", &long),
            Err(CodeError::BadSignature)
        );
    }

    #[test]
    fn the_identity_forgery_passes_plain_verify_but_not_verify_strict() {
        // With A = R = identity and S = 0, [S]B = R + [k]A holds for every
        // message: anyone can "sign" for this key. This is why verification
        // is strict and such keys are refused at registration.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let key = VerifyingKey::from_bytes(&identity).unwrap();
        let mut forged = [0u8; 64];
        forged[0] = 1;
        let sig = Signature::from_bytes(&forged);
        assert!(key.verify(b"any message", &sig).is_ok());
        assert_eq!(
            verify_strict(&key, b"any message", &forged),
            Err(CodeError::BadSignature)
        );
    }
}
