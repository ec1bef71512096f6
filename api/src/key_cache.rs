//! Public keys as the request path needs them: the terminals' and phones'
//! keys stored in our database, turned into points once per process.
//!
//! A stored key passed `parse_public_key` in full when it was registered
//! (canonical encoding, not weak, no torsion component), so on the request
//! path it is only decompressed: the torsion check is a scalar
//! multiplication as expensive as verifying a signature, and every
//! redemption used two keys (the terminal's and the phone's).
//! `verify_strict` still refuses a small-order key on every signature. The
//! result depends on the 32 bytes alone, so the cache needs no
//! invalidation: revoking a key is a status in the database, checked on
//! every request, not a change of its bytes.

use ed25519_dalek::VerifyingKey;
use moka::sync::Cache;
use tillcode_protocol::CodeError;

/// Keys kept (about 250 bytes each): every terminal and the phones of the
/// customers who paid recently; the least useful go first when it is full.
pub const CAPACITY: u64 = 50_000;

/// A synchronous cache: decompressing a key is CPU only (about 10 µs), so a
/// thread that misses the same key as another at the same time waits for it
/// rather than doing it twice.
#[derive(Clone)]
pub struct KeyCache(Cache<[u8; 32], VerifyingKey>);

impl Default for KeyCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl KeyCache {
    pub fn with_capacity(capacity: u64) -> Self {
        Self(Cache::new(capacity))
    }

    /// A key read from the database, as a point. Refused only if the bytes
    /// are not a point at all (never the case for a registered key).
    pub fn stored(&self, bytes: &[u8]) -> Result<VerifyingKey, CodeError> {
        let not_a_key = CodeError::MalformedKey("not an Ed25519 public key");
        let array = <[u8; 32]>::try_from(bytes).map_err(|_| not_a_key)?;
        self.0
            .try_get_with(array, || VerifyingKey::from_bytes(&array))
            .map_err(|_| not_a_key)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use ed25519_dalek::{Signer, SigningKey};
    use tillcode_protocol::verify_strict;

    use super::*;

    #[test]
    fn a_stored_key_is_the_key_it_was_registered_as_and_verifies_its_signatures() {
        let cache = KeyCache::with_capacity(2);
        let signer = SigningKey::from_bytes(&[7; 32]);
        let key = signer.verifying_key();
        let first = cache.stored(key.as_bytes()).unwrap();
        let again = cache.stored(key.as_bytes()).unwrap();
        assert_eq!(first, key);
        assert_eq!(again, key);
        let signature = signer.sign(b"sale").to_bytes();
        assert_eq!(verify_strict(&again, b"sale", &signature), Ok(()));
        assert!(verify_strict(&again, b"sold", &signature).is_err());
    }

    #[test]
    fn bytes_that_are_no_point_are_refused_and_not_remembered() {
        let cache = KeyCache::with_capacity(2);
        // y = 2 has no x on the curve.
        let mut no_point = [0u8; 32];
        no_point[0] = 2;
        assert!(cache.stored(&no_point).is_err());
        assert!(cache.stored(&[1; 31]).is_err());
        cache.0.run_pending_tasks();
        assert!(!cache.0.contains_key(&no_point));
        assert_eq!(cache.0.entry_count(), 0);
    }

    #[test]
    fn a_small_order_key_that_got_into_the_database_still_verifies_nothing() {
        // The identity point: every signature "verifies" under plain
        // verification, none under verify_strict.
        let cache = KeyCache::with_capacity(2);
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let key = cache.stored(&identity).unwrap();
        let mut signature = [0u8; 64];
        signature[0] = 1;
        assert!(verify_strict(&key, b"anything", &signature).is_err());
    }

    #[test]
    fn the_cache_keeps_at_most_its_capacity_and_every_key_still_comes_out_right() {
        let cache = KeyCache::with_capacity(2);
        let keys: Vec<VerifyingKey> = (1..=5u8)
            .map(|i| SigningKey::from_bytes(&[i; 32]).verifying_key())
            .collect();
        for _ in 0..3 {
            for key in &keys {
                assert_eq!(cache.stored(key.as_bytes()).unwrap(), *key);
            }
        }
        cache.0.run_pending_tasks();
        assert!(cache.0.entry_count() <= 2, "{}", cache.0.entry_count());
    }
}
