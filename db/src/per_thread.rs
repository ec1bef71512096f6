//! One of a set per thread: how the connection pools are split.
//!
//! A connection's I/O runs in a driver task on the runtime of the thread
//! that opened it, and each actix worker runs a single-threaded runtime of
//! its own. A connection opened by one worker and used by another made that
//! other wait, on every command, until the first got round to the driver
//! (Redis commands took 1.7 ms at the median under load; docs/performance.md).
//! So each thread uses a pool of its own: threads are numbered on first use,
//! and thread `n` takes item `n % len`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug)]
pub struct PerThread<T>(Arc<[T]>);

impl<T> Clone for PerThread<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> PerThread<T> {
    /// `count` items (at least one), each made by `make`.
    pub fn build<E>(count: usize, make: impl FnMut() -> Result<T, E>) -> Result<Self, E> {
        let items = std::iter::repeat_with(make)
            .take(count.max(1))
            .collect::<Result<Vec<T>, E>>()?;
        Ok(Self(items.into()))
    }

    /// One item that every thread shares.
    pub fn single(item: T) -> Self {
        Self(Arc::from([item]))
    }

    /// The calling thread's item.
    pub fn mine(&self) -> &T {
        &self.0[thread_number() % self.0.len()]
    }

    pub fn all(&self) -> &[T] {
        &self.0
    }
}

/// Pools' states added up, for `/metrics`.
pub fn sum_status(states: impl Iterator<Item = deadpool::Status>) -> deadpool::Status {
    states.fold(
        deadpool::Status {
            max_size: 0,
            size: 0,
            available: 0,
            waiting: 0,
        },
        |total, one| deadpool::Status {
            max_size: total.max_size + one.max_size,
            size: total.size + one.size,
            available: total.available + one.available,
            waiting: total.waiting + one.waiting,
        },
    )
}

fn thread_number() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static NUMBER: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    NUMBER.with(|n| *n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_thread_keeps_its_item_and_two_threads_get_different_ones() {
        // More items than this test has threads: no two of them share one.
        let mut next = 0..;
        let items = PerThread::build(64, || next.next().ok_or(())).unwrap();
        let mine = *items.mine();
        assert_eq!(*items.mine(), mine);
        let other = std::thread::spawn({
            let items = items.clone();
            move || *items.mine()
        })
        .join()
        .unwrap();
        assert_ne!(other, mine);
        let one = PerThread::build(0, || Ok::<_, ()>(7)).unwrap();
        assert_eq!((one.all().len(), *one.mine()), (1, 7));
    }
}
