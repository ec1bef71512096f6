//! Public keys as the request path needs them: parsed and checked once per
//! process, not on every request.
//!
//! `parse_public_key` decompresses the point, checks its encoding is
//! canonical and that it has no torsion component: a scalar multiplication,
//! as expensive as verifying a signature, and every redemption parsed two
//! keys (the terminal's and the phone's). The result depends on the 32 bytes
//! alone, so the cache needs no invalidation: revoking a key is a status in
//! the database, checked on every request, not a change of its bytes.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use ed25519_dalek::VerifyingKey;
use lru::LruCache;
use tillcode_protocol::{CodeError, parse_public_key};

/// Keys kept (about 250 bytes each): every terminal and the phones of the
/// customers who paid recently; the least recently used goes first.
pub const CAPACITY: usize = 50_000;

#[derive(Clone)]
pub struct KeyCache(Arc<Mutex<LruCache<[u8; 32], VerifyingKey>>>);

impl Default for KeyCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl KeyCache {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self(Arc::new(Mutex::new(LruCache::new(capacity))))
    }

    /// [`parse_public_key`], remembered. Refused keys are not remembered
    /// (none is stored for a live terminal or device).
    pub fn parse(&self, bytes: &[u8]) -> Result<VerifyingKey, CodeError> {
        let Ok(array) = <[u8; 32]>::try_from(bytes) else {
            return parse_public_key(bytes);
        };
        if let Some(key) = self.lock().get(&array) {
            return Ok(*key);
        }
        let key = parse_public_key(bytes)?;
        self.lock().put(array, key);
        Ok(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<[u8; 32], VerifyingKey>> {
        // A panic while holding the lock cannot leave a half-written entry
        // behind (put and get are complete or not at all), so the cache is
        // still good to use.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use ed25519_dalek::SigningKey;

    use super::*;

    #[test]
    fn a_cached_key_is_the_key_parsing_gives() {
        let cache = KeyCache::with_capacity(2);
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let first = cache.parse(key.as_bytes()).unwrap();
        let again = cache.parse(key.as_bytes()).unwrap();
        assert_eq!(first, key);
        assert_eq!(again, key);
    }

    #[test]
    fn a_refused_key_stays_refused_and_is_not_remembered() {
        let cache = KeyCache::with_capacity(2);
        // The identity point: small order, a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(cache.parse(&identity), Err(CodeError::WeakKey));
        assert_eq!(cache.parse(&identity), Err(CodeError::WeakKey));
        assert_eq!(cache.lock().len(), 0);
        assert!(cache.parse(&[1; 31]).is_err());
    }

    #[test]
    fn the_least_recently_used_key_goes_when_the_cache_is_full() {
        let cache = KeyCache::with_capacity(2);
        let keys: Vec<VerifyingKey> = (1..=3u8)
            .map(|i| SigningKey::from_bytes(&[i; 32]).verifying_key())
            .collect();
        for key in &keys {
            assert_eq!(cache.parse(key.as_bytes()).unwrap(), *key);
        }
        let cached = cache.lock();
        assert_eq!(cached.len(), 2);
        assert!(!cached.contains(keys[0].as_bytes()));
    }
}
