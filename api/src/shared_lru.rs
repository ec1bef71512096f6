//! A bounded least-recently-used map shared by the request handlers of one
//! process: what the per-process caches (keys, devices, terminals) are
//! built on. One mutex, held only for a lookup or an insert.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lru::LruCache;

pub struct SharedLru<K: Hash + Eq, V>(Arc<Mutex<LruCache<K, V>>>);

impl<K: Hash + Eq, V> Clone for SharedLru<K, V> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<K: Hash + Eq, V: Clone> SharedLru<K, V> {
    /// Keeps at most `capacity` entries (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self(Arc::new(Mutex::new(LruCache::new(capacity))))
    }

    /// A copy of the value, which becomes the most recently used.
    pub fn get(&self, key: &K) -> Option<V> {
        self.lock().get(key).cloned()
    }

    /// Adds or replaces; the least recently used entry goes when full.
    pub fn put(&self, key: K, value: V) {
        self.lock().put(key, value);
    }

    pub fn remove(&self, key: &K) {
        self.lock().pop(key);
    }

    /// Removes every entry for which `keep` says false.
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool)
    where
        K: Clone,
    {
        let mut cache = self.lock();
        let gone: Vec<K> = cache
            .iter()
            .filter(|(key, value)| !keep(key, value))
            .map(|(key, _)| key.clone())
            .collect();
        for key in gone {
            cache.pop(&key);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<K, V>> {
        // Every operation above is complete or not at all, so a panic
        // elsewhere while the lock was held leaves nothing half-written and
        // the map is still good to use.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entry_goes_when_the_map_is_full() {
        let map = SharedLru::with_capacity(2);
        map.put(1, "one");
        map.put(2, "two");
        assert_eq!(map.get(&1), Some("one"));
        map.put(3, "three");
        assert_eq!(
            (map.get(&1), map.get(&2), map.get(&3)),
            (Some("one"), None, Some("three"))
        );
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn retain_and_remove_take_out_exactly_what_they_name() {
        let map = SharedLru::with_capacity(8);
        for i in 0..6 {
            map.put(i, i * 10);
        }
        map.retain(|_, value| value % 20 != 0);
        map.remove(&5);
        let mut left: Vec<i32> = (0..6).filter(|i| map.get(i).is_some()).collect();
        left.sort_unstable();
        assert_eq!(left, vec![1, 3]);
    }

    #[test]
    fn a_capacity_of_zero_still_keeps_one_entry() {
        let map = SharedLru::with_capacity(0);
        map.put("a", 1);
        assert_eq!(map.get(&"a"), Some(1));
        assert!(!map.is_empty());
    }
}
