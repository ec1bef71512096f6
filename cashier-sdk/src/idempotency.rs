//! `Idempotency-Key`: what makes a retried money movement safe. The server
//! keeps, per terminal and key, the answer it gave; a retry with the same
//! key and the same body gets that answer back (`replayed: true`) instead of
//! a second debit. So a till picks the key once per sale, before the first
//! attempt, and keeps it for every retry of that sale.

use std::fmt;
use std::str::FromStr;

use rand_core::{OsRng, RngCore};
use uuid::Uuid;

/// The longest key accepted; room for any order number or UUID.
pub const MAX_LEN: usize = 255;

/// 1 to [`MAX_LEN`] visible ASCII characters (`!` to `~`): what an HTTP
/// header value carries unchanged through proxies, and what RFC 9421 signs
/// with no canonicalisation question (no spaces to fold, no obs-text).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyKeyError {
    #[error("an idempotency key is 1 to {MAX_LEN} characters")]
    Length,
    #[error("an idempotency key is visible ASCII only (no spaces or control characters)")]
    Character,
    #[error("the operating system's random number generator failed: {0}")]
    Randomness(String),
}

impl IdempotencyKey {
    /// A fresh random key: a UUID v4 (122 random bits from the OS), so two
    /// tills, or two runs of one, never pick the same one by chance.
    pub fn generate() -> Result<Self, IdempotencyKeyError> {
        let mut bytes = [0u8; 16];
        // try_fill_bytes rather than Uuid::new_v4, which panics when the OS
        // has no randomness to give.
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| IdempotencyKeyError::Randomness(e.to_string()))?;
        let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
        Ok(Self(uuid.hyphenated().to_string()))
    }

    pub fn parse(text: &str) -> Result<Self, IdempotencyKeyError> {
        if text.is_empty() || text.len() > MAX_LEN {
            return Err(IdempotencyKeyError::Length);
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(IdempotencyKeyError::Character);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for IdempotencyKey {
    type Err = IdempotencyKeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}

impl serde::Serialize for IdempotencyKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// For tests and tools that want a key derived from something else (an
/// order number): any UUID is a valid key.
impl From<Uuid> for IdempotencyKey {
    fn from(uuid: Uuid) -> Self {
        Self(uuid.hyphenated().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_random_uuids_that_parse_back() {
        let a = IdempotencyKey::generate().unwrap();
        let b = IdempotencyKey::generate().unwrap();
        assert_ne!(a, b);
        let uuid: Uuid = a.as_str().parse().unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(IdempotencyKey::parse(a.as_str()), Ok(a));
    }

    #[test]
    fn order_numbers_and_uuids_are_accepted_as_given() {
        for text in [
            "order-1042",
            "A",
            "till1:2026-11-23:0042",
            &"x".repeat(MAX_LEN),
        ] {
            assert_eq!(IdempotencyKey::parse(text).unwrap().as_str(), text);
        }
    }

    #[test]
    fn empty_long_spaced_and_non_ascii_keys_are_refused() {
        assert_eq!(IdempotencyKey::parse(""), Err(IdempotencyKeyError::Length));
        assert_eq!(
            IdempotencyKey::parse(&"x".repeat(MAX_LEN + 1)),
            Err(IdempotencyKeyError::Length)
        );
        for text in ["order 1042", "order\t1", "line\nbreak", "café", "\u{7f}"] {
            assert_eq!(
                IdempotencyKey::parse(text),
                Err(IdempotencyKeyError::Character),
                "{text:?}"
            );
        }
    }
}
