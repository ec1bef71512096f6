//! Redis: short-lived state only (single-use keys, replay caches, rate
//! limits). Losing it may fail requests closed; Postgres stays the authority.

use std::time::Duration;

use deadpool_redis::{Config, ConfigError, CreatePoolError, Pool, PoolConfig, Runtime, Timeouts};

pub type RedisPool = Pool;

pub fn pool(url: &str, size: usize) -> Result<RedisPool, CreatePoolError> {
    let mut config = Config::from_url(url);
    config.pool = Some(deadpool_redis::PoolConfig::new(size));
    config.create_pool(Some(Runtime::Tokio1))
}

/// The server's pool: waiting for a free connection, connecting, and each
/// command's answer are bounded by `timeout`, so a dead or stalled Redis
/// turns into 503s instead of requests that hang.
pub fn server_pool(
    url: &str,
    size: usize,
    timeout: Duration,
) -> Result<RedisPool, CreatePoolError> {
    let connection = deadpool_redis::redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    let manager = deadpool_redis::Manager::new_with_config(url, connection)
        .map_err(|e| CreatePoolError::Config(ConfigError::Redis(e)))?;
    let limits = Timeouts {
        wait: Some(timeout),
        create: Some(timeout),
        recycle: Some(timeout),
    };
    Pool::builder(manager)
        .config(PoolConfig {
            max_size: size,
            timeouts: limits,
            ..PoolConfig::default()
        })
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(CreatePoolError::Build)
}
