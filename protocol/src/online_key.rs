//! Online single-use key: 16 random bytes drawn by the server, shown as a QR,
//! spent once. Only its fingerprint is stored.

use std::fmt;

use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;

use crate::payload::{self, KIND_ONLINE};
use crate::{CodeError, Domain};

pub const ONLINE_KEY_LEN: usize = 16;

/// `Debug` never shows the key: it is a bearer credential until spent.
#[derive(Clone)]
pub struct OnlineKey([u8; ONLINE_KEY_LEN]);

impl OnlineKey {
    pub const fn from_bytes(bytes: [u8; ONLINE_KEY_LEN]) -> Self {
        Self(bytes)
    }

    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = [0u8; ONLINE_KEY_LEN];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; ONLINE_KEY_LEN] {
        &self.0
    }

    /// `TC1K` || B32(key): 30 characters.
    pub fn payload(&self) -> String {
        payload::encode(KIND_ONLINE, &self.0)
    }

    pub fn parse(text: &str) -> Result<Self, CodeError> {
        payload::decode(text, KIND_ONLINE).map(Self)
    }

    /// `H("tillcode/v1/online-key" || 0x00 || key)`: what the server stores
    /// and looks up, so a leak of Redis or Postgres reveals no spendable key.
    pub fn fingerprint(&self) -> [u8; 32] {
        Domain::OnlineKey.hash(&[&self.0])
    }
}

impl PartialEq for OnlineKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for OnlineKey {}

impl fmt::Debug for OnlineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnlineKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_round_trips_through_its_30_character_payload() {
        let key = OnlineKey::generate(&mut rand_core::OsRng);
        let text = key.payload();
        assert_eq!(text.len(), 30);
        assert_eq!(OnlineKey::parse(&text), Ok(key));
    }

    #[test]
    fn debug_output_never_contains_the_key() {
        let key = OnlineKey::from_bytes([0xab; 16]);
        assert_eq!(format!("{key:?}"), "OnlineKey(<redacted>)");
        assert_eq!(format!("{key:#?}"), "OnlineKey(<redacted>)");
    }

    #[test]
    fn an_offline_or_link_payload_is_not_an_online_key() {
        let link = crate::LinkCode::from_bytes([1; 16]).payload();
        assert_eq!(
            OnlineKey::parse(&link),
            Err(CodeError::Malformed("wrong kind of code"))
        );
    }
}
