//! Device link code: 16 random bytes from the server, shown as a QR by a
//! signed-in device and scanned by the device being linked.

use std::fmt;

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::payload::{self, KIND_LINK};
use crate::{CodeError, Domain};

pub const LINK_CODE_LEN: usize = 16;

/// `Debug` never shows the body: whoever holds it can ask to link a device.
#[derive(Clone)]
pub struct LinkCode([u8; LINK_CODE_LEN]);

impl LinkCode {
    pub const fn from_bytes(bytes: [u8; LINK_CODE_LEN]) -> Self {
        Self(bytes)
    }

    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = [0u8; LINK_CODE_LEN];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; LINK_CODE_LEN] {
        &self.0
    }

    /// `TC1L` || B32(body): 30 characters.
    pub fn payload(&self) -> String {
        payload::encode(KIND_LINK, &self.0)
    }

    pub fn parse(text: &str) -> Result<Self, CodeError> {
        payload::decode(text, KIND_LINK).map(Self)
    }

    /// `H("tillcode/v1/link" || 0x00 || body)`: the only form the server keeps.
    pub fn stored_hash(&self) -> [u8; 32] {
        Domain::Link.hash(&[&self.0])
    }

    /// `H(body)`, unlabelled, as the link-device proof signs it (PROTOCOL.md).
    /// Distinct from [`LinkCode::stored_hash`], so a signed proof does not
    /// carry the database's lookup key.
    pub fn proof_hash(&self) -> [u8; 32] {
        Sha256::digest(self.0).into()
    }
}

impl PartialEq for LinkCode {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for LinkCode {}

impl fmt::Debug for LinkCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_code_round_trips_through_its_payload() {
        let code = LinkCode::generate(&mut rand_core::OsRng);
        assert_eq!(LinkCode::parse(&code.payload()), Ok(code));
    }

    #[test]
    fn the_stored_hash_and_the_proof_hash_differ() {
        let code = LinkCode::from_bytes([3; 16]);
        assert_ne!(code.stored_hash(), code.proof_hash());
    }

    #[test]
    fn debug_output_never_contains_the_body() {
        let code = LinkCode::from_bytes([0xcd; 16]);
        assert_eq!(format!("{code:?}"), "LinkCode(<redacted>)");
    }
}
