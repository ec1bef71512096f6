//! Redis: short-lived state only (single-use keys, replay caches, rate
//! limits). Losing it may fail requests closed; Postgres stays the authority.

use deadpool_redis::{Config, CreatePoolError, Pool, Runtime};

pub type RedisPool = Pool;

pub fn pool(url: &str, size: usize) -> Result<RedisPool, CreatePoolError> {
    let mut config = Config::from_url(url);
    config.pool = Some(deadpool_redis::PoolConfig::new(size));
    config.create_pool(Some(Runtime::Tokio1))
}
