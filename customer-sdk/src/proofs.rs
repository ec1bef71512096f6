//! Signatures by which this device proves it holds its key: over the
//! messages of `tillcode_protocol::proofs`, which the server rebuilds from
//! what it received and checks strictly.

use ed25519_dalek::Signer;
use tillcode_protocol::{
    LinkCode, MerchantId, device_session_message, link_device_message, register_device_message,
};
use uuid::Uuid;

use crate::DeviceKey;

/// For `POST /v1/devices`: this key, under this name, for this merchant,
/// answering this challenge.
pub fn register_device(
    key: &DeviceKey,
    merchant: MerchantId,
    challenge: &[u8; 32],
    device_name: &str,
) -> [u8; 64] {
    let message = register_device_message(merchant, challenge, &key.verifying_key(), device_name);
    key.signing_key().sign(&message).to_bytes()
}

/// For `POST /v1/devices/{device_id}/sessions`.
pub fn device_session(key: &DeviceKey, device_id: Uuid, challenge: &[u8; 32]) -> [u8; 64] {
    key.signing_key()
        .sign(&device_session_message(device_id, challenge))
        .to_bytes()
}

/// For `POST /v1/links/join`: this key, under this name, asks to join
/// through this link.
pub fn link_device(key: &DeviceKey, link: &LinkCode, device_name: &str) -> [u8; 64] {
    let message = link_device_message(link, &key.verifying_key(), device_name);
    key.signing_key().sign(&message).to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillcode_protocol::verify_strict;

    #[test]
    fn each_proof_verifies_strictly_against_the_message_the_server_rebuilds() {
        let key = DeviceKey::generate().unwrap();
        let public = key.verifying_key();
        let merchant = MerchantId::new();
        let challenge = [9u8; 32];
        let device = Uuid::now_v7();
        let link = LinkCode::from_bytes([4; 16]);

        let sig = register_device(&key, merchant, &challenge, "Ana's phone");
        let msg = register_device_message(merchant, &challenge, &public, "Ana's phone");
        verify_strict(&public, &msg, &sig).unwrap();

        let sig = device_session(&key, device, &challenge);
        verify_strict(&public, &device_session_message(device, &challenge), &sig).unwrap();

        let sig = link_device(&key, &link, "Tablet");
        verify_strict(
            &public,
            &link_device_message(&link, &public, "Tablet"),
            &sig,
        )
        .unwrap();
    }

    #[test]
    fn a_registration_proof_is_bound_to_the_device_name() {
        let key = DeviceKey::generate().unwrap();
        let public = key.verifying_key();
        let merchant = MerchantId::new();
        let sig = register_device(&key, merchant, &[1; 32], "Phone");
        let other = register_device_message(merchant, &[1; 32], &public, "Phone ");
        assert!(verify_strict(&public, &other, &sig).is_err());
    }
}
