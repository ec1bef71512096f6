//! Messages a device or terminal signs to prove it holds the private half of
//! the public key it submits. The server rebuilds each message from what it
//! received and knows, and checks the signature with
//! [`crate::keys::verify_strict`].
//!
//! Names are hashed rather than included so that every message has a fixed
//! layout. A name is hashed exactly as its UTF-8 bytes arrive in the request:
//! no trimming or Unicode normalisation on either side, or the signature
//! breaks for names that change under them.

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Domain, EnrollmentCode, LinkCode, MerchantId};

/// `"tillcode/v1/register-device" || 0x00 || merchant_id (16) ||
/// challenge (32) || public_key (32) || H(device name)`: 140 bytes.
pub fn register_device_message(
    merchant: MerchantId,
    challenge: &[u8; 32],
    public_key: &VerifyingKey,
    device_name: &str,
) -> Vec<u8> {
    Domain::RegisterDevice.message(&[
        merchant.as_uuid().as_bytes(),
        challenge,
        public_key.as_bytes(),
        &Sha256::digest(device_name.as_bytes()),
    ])
}

/// `"tillcode/v1/link-device" || 0x00 || H(link body) || public_key (32) ||
/// H(device name)`: 120 bytes.
pub fn link_device_message(
    link: &LinkCode,
    public_key: &VerifyingKey,
    device_name: &str,
) -> Vec<u8> {
    Domain::LinkDevice.message(&[
        &link.proof_hash(),
        public_key.as_bytes(),
        &Sha256::digest(device_name.as_bytes()),
    ])
}

/// `"tillcode/v1/enroll-terminal" || 0x00 || H(8 letters, no dash) ||
/// public_key (32) || H(terminal name)`: 124 bytes.
pub fn enroll_terminal_message(
    code: &EnrollmentCode,
    public_key: &VerifyingKey,
    terminal_name: &str,
) -> Vec<u8> {
    Domain::EnrollTerminal.message(&[
        &code.proof_hash(),
        public_key.as_bytes(),
        &Sha256::digest(terminal_name.as_bytes()),
    ])
}

/// `"tillcode/v1/device-session" || 0x00 || device_id (16) || challenge (32)`:
/// 75 bytes. The device id rather than the public key: the server looks the
/// key up by id, and a session is for one device record.
pub fn device_session_message(device_id: Uuid, challenge: &[u8; 32]) -> Vec<u8> {
    Domain::DeviceSession.message(&[device_id.as_bytes(), challenge])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn proof_messages_have_their_documented_lengths() {
        let key = SigningKey::from_bytes(&[5; 32]).verifying_key();
        let link = LinkCode::from_bytes([1; 16]);
        let code = EnrollmentCode::parse("BCDF-GHJK").unwrap();
        assert_eq!(
            register_device_message(MerchantId::new(), &[0; 32], &key, "é").len(),
            140
        );
        assert_eq!(link_device_message(&link, &key, "").len(), 120);
        assert_eq!(enroll_terminal_message(&code, &key, "Till 1").len(), 124);
        assert_eq!(device_session_message(Uuid::nil(), &[0; 32]).len(), 75);
    }

    #[test]
    fn names_are_hashed_as_given_without_normalisation() {
        let key = SigningKey::from_bytes(&[5; 32]).verifying_key();
        let link = LinkCode::from_bytes([1; 16]);
        // "é" precomposed and decomposed, and a trailing space.
        let a = link_device_message(&link, &key, "caf\u{e9}");
        let b = link_device_message(&link, &key, "cafe\u{301}");
        let c = link_device_message(&link, &key, "caf\u{e9} ");
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
