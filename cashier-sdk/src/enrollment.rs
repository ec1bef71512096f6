//! The proof of possession a terminal sends when it enrolls
//! (`docs/protocol.md`, section 10.3): a signature over the enrollment
//! code, its own public key and its name, so that the code a manager typed
//! on this till can only bring in this key under this name.

use data_encoding::HEXLOWER;
use ed25519_dalek::Signer;
use serde::Serialize;
use tillcode_protocol::{EnrollmentCode, StoreId, enroll_terminal_message};

use crate::TerminalKey;

/// The body of `POST /v1/terminals/enroll`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnrollRequest {
    pub store_id: StoreId,
    /// `XXXX-XXXX`, as the dashboard shows it.
    pub code: String,
    pub name: String,
    /// 32 bytes, lowercase hex.
    pub public_key: String,
    /// 64 bytes, lowercase hex.
    pub signature: String,
}

/// The Ed25519 signature over `enroll_terminal_message(code, key, name)`.
/// The name is signed exactly as given: the server hashes the bytes it
/// receives, so whatever trimming a caller wants must happen before this.
pub fn enroll_proof(key: &TerminalKey, code: &EnrollmentCode, name: &str) -> [u8; 64] {
    let message = enroll_terminal_message(code, &key.verifying_key(), name);
    key.signing_key().sign(&message).to_bytes()
}

/// Everything the enrollment endpoint needs, signed.
pub fn enroll_request(
    key: &TerminalKey,
    store_id: StoreId,
    code: &EnrollmentCode,
    name: &str,
) -> EnrollRequest {
    EnrollRequest {
        store_id,
        code: code.display(),
        name: name.to_owned(),
        public_key: key.public_key_hex(),
        signature: HEXLOWER.encode(&enroll_proof(key, code, name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillcode_protocol::{parse_public_key, verify_strict};

    fn vector_key() -> TerminalKey {
        TerminalKey::from_seed(&std::array::from_fn(|i| 0x20 + i as u8))
    }

    /// `shared-v1.json` `proofs[2]` (libsodium), quoted in section 10.3.
    #[test]
    fn the_proof_for_the_protocol_vector_is_the_recorded_signature() {
        let code = EnrollmentCode::parse("bcdf-ghjk").unwrap();
        let signature = enroll_proof(&vector_key(), &code, "Till 1");
        assert_eq!(
            HEXLOWER.encode(&signature),
            "bc6d4c26e6eca7b6ad68984f956ac923434a3e4cb4044db6e9e13c4749d4efeb\
             1deb22d80188bfe629eb060711a2b100fae2b4d7c70776d83fb2fb929012d800"
        );
    }

    #[test]
    fn the_request_verifies_strictly_against_the_message_the_server_rebuilds() {
        let key = TerminalKey::generate().unwrap();
        let store = StoreId::new();
        let code = EnrollmentCode::parse("BCDF GHJK").unwrap();
        let request = enroll_request(&key, store, &code, "Till 7");
        assert_eq!(request.code, "BCDF-GHJK");
        assert_eq!(request.store_id, store);

        let public = HEXLOWER.decode(request.public_key.as_bytes()).unwrap();
        let public = parse_public_key(&public).unwrap();
        let signature = HEXLOWER.decode(request.signature.as_bytes()).unwrap();
        let rebuilt = EnrollmentCode::parse(&request.code).unwrap();
        let message = enroll_terminal_message(&rebuilt, &public, &request.name);
        verify_strict(&public, &message, &signature).unwrap();
    }

    #[test]
    fn a_proof_is_bound_to_the_name_and_the_code() {
        let key = TerminalKey::generate().unwrap();
        let public = key.verifying_key();
        let code = EnrollmentCode::parse("BCDF-GHJK").unwrap();
        let signature = enroll_proof(&key, &code, "Till 1");
        let other_name = enroll_terminal_message(&code, &public, "Till 1 ");
        assert!(verify_strict(&public, &other_name, &signature).is_err());
        let other_code = EnrollmentCode::parse("BCDF-GHJL").unwrap();
        let other_code = enroll_terminal_message(&other_code, &public, "Till 1");
        assert!(verify_strict(&public, &other_code, &signature).is_err());
    }

    #[test]
    fn the_json_body_has_the_contract_field_names_and_hex_lengths() {
        let request = enroll_request(
            &vector_key(),
            "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f10".parse().unwrap(),
            &EnrollmentCode::parse("BCDFGHJK").unwrap(),
            "Till 1",
        );
        let json = serde_json::to_value(&request).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["code", "name", "public_key", "signature", "store_id"]
        );
        assert_eq!(json["public_key"].as_str().unwrap().len(), 64);
        assert_eq!(json["signature"].as_str().unwrap().len(), 128);
    }
}
