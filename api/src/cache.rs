//! Redis: short-lived state only (single-use keys, replay caches, rate
//! limits). Losing it may fail requests closed; Postgres stays the authority.
//!
//! One Redis server, or a Redis Cluster (`TILLCODE_REDIS_CLUSTER=true`):
//! handlers get a [`RedisConn`] either way and never ask which. In a cluster
//! every command, pipeline and script must keep to one hash slot; see
//! [`crate::state::AppState::redis_key`] and docs/scaling.md for how keys are
//! laid out so that they do.

use std::ops::{Deref, DerefMut};

use deadpool_redis::redis::aio::ConnectionLike;
use deadpool_redis::redis::{Cmd, Pipeline, RedisFuture, Value};
use deadpool_redis::{CreatePoolError, PoolConfig, PoolError, Runtime, Status};

/// A pool of connections to one Redis server or to a Redis Cluster.
#[derive(Clone)]
pub enum RedisPool {
    Single(deadpool_redis::Pool),
    Cluster(deadpool_redis::cluster::Pool),
}

/// `urls` is one `redis://` URL, or with `cluster` one or more seed nodes of
/// the cluster (the client learns the rest of the topology from them).
pub fn pool(urls: &[&str], cluster: bool, size: usize) -> Result<RedisPool, CreatePoolError> {
    if cluster {
        let mut config = deadpool_redis::cluster::Config::from_urls(
            urls.iter().map(|url| (*url).to_owned()).collect::<Vec<_>>(),
        );
        config.pool = Some(PoolConfig::new(size));
        config
            .create_pool(Some(Runtime::Tokio1))
            .map(RedisPool::Cluster)
    } else {
        let url = urls.first().copied().unwrap_or_default();
        let mut config = deadpool_redis::Config::from_url(url);
        config.pool = Some(PoolConfig::new(size));
        config
            .create_pool(Some(Runtime::Tokio1))
            .map(RedisPool::Single)
    }
}

impl RedisPool {
    pub async fn get(&self) -> Result<RedisConn, PoolError> {
        Ok(RedisConn(match self {
            Self::Single(pool) => Pooled::Single(pool.get().await?),
            Self::Cluster(pool) => Pooled::Cluster(pool.get().await?),
        }))
    }

    pub fn status(&self) -> Status {
        match self {
            Self::Single(pool) => pool.status(),
            Self::Cluster(pool) => pool.status(),
        }
    }
}

/// A pooled connection, returned to its pool on drop. It is a
/// `ConnectionLike` itself, and dereferences to one too, so that call sites
/// written for deadpool's connection (`query_async(&mut *conn)`) work as they
/// are.
pub struct RedisConn(Pooled);

/// The connection of either deployment.
pub enum Pooled {
    Single(deadpool_redis::Connection),
    Cluster(deadpool_redis::cluster::Connection),
}

impl ConnectionLike for Pooled {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.0.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.0.req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.0.get_db()
    }
}

impl Deref for RedisConn {
    type Target = Pooled;

    fn deref(&self) -> &Pooled {
        &self.0
    }
}

impl DerefMut for RedisConn {
    fn deref_mut(&mut self) -> &mut Pooled {
        &mut self.0
    }
}
