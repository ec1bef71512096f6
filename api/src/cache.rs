//! Redis: short-lived state only (single-use keys, replay caches, rate
//! limits). Losing it may fail requests closed; Postgres stays the authority.
//!
//! One Redis server, or a Redis Cluster (`TILLCODE_REDIS_CLUSTER=true`):
//! handlers get a [`RedisConn`] either way and never ask which. In a cluster
//! every command, pipeline and script must keep to one hash slot; see
//! [`crate::state::AppState::redis_key`] and docs/scaling.md for how keys are
//! laid out so that they do.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::{CreatePoolError, PoolConfig, PoolError, Runtime, Status};
use redis::aio::ConnectionLike;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};
use tokio::sync::OnceCell;

/// Connections to one Redis server (a pool), or to a Redis Cluster.
///
/// A cluster gets no pool: its connection is already multiplexed (one
/// connection per node, shared by every request, reconnecting and following
/// topology changes by itself), and a pool's health check on every
/// checkout would send a `PING` to every master for every command, a load
/// on each node that grows with the whole fleet instead of spreading.
#[derive(Clone)]
pub enum RedisPool {
    Single(deadpool_redis::Pool),
    Cluster(Arc<Cluster>),
}

pub struct Cluster {
    client: ClusterClient,
    /// Made on first use, so that the API starts while the cluster is down
    /// (as with a pool) and retried until it succeeds.
    conn: OnceCell<ClusterConnection>,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Pool(#[from] CreatePoolError),
    #[error("cluster: {0}")]
    Cluster(#[from] RedisError),
}

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error("cluster: {0}")]
    Cluster(#[from] RedisError),
}

/// `urls` is one `redis://` URL, or with `cluster` one or more seed nodes of
/// the cluster (the client learns the rest of the topology from them).
/// `size` bounds the single server's pool; a cluster needs none.
///
/// With a `timeout` (the server's), waiting for a pooled connection,
/// connecting and each command's answer are bounded by it, so that a dead or
/// stalled Redis turns into 503s instead of requests that hang. Tests and
/// tools pass `None` and wait.
pub fn pool(
    urls: &[&str],
    cluster: bool,
    size: usize,
    timeout: Option<Duration>,
) -> Result<RedisPool, SetupError> {
    if cluster {
        let mut client = ClusterClient::builder(urls.to_vec());
        if let Some(timeout) = timeout {
            client = client.connection_timeout(timeout).response_timeout(timeout);
        }
        return Ok(RedisPool::Cluster(Arc::new(Cluster {
            client: client.build()?,
            conn: OnceCell::new(),
        })));
    }
    let url = urls.first().copied().unwrap_or_default();
    let Some(timeout) = timeout else {
        let mut config = deadpool_redis::Config::from_url(url);
        config.pool = Some(PoolConfig::new(size));
        return Ok(RedisPool::Single(
            config.create_pool(Some(Runtime::Tokio1))?,
        ));
    };
    let connection = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    let manager = deadpool_redis::Manager::new_with_config(url, connection)
        .map_err(|e| CreatePoolError::Config(deadpool_redis::ConfigError::Redis(e)))?;
    let limits = deadpool_redis::Timeouts {
        wait: Some(timeout),
        create: Some(timeout),
        recycle: Some(timeout),
    };
    let pool = deadpool_redis::Pool::builder(manager)
        .config(PoolConfig {
            max_size: size,
            timeouts: limits,
            ..PoolConfig::default()
        })
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(CreatePoolError::Build)?;
    Ok(RedisPool::Single(pool))
}

impl RedisPool {
    pub async fn get(&self) -> Result<RedisConn, ConnError> {
        Ok(RedisConn(match self {
            Self::Single(pool) => Pooled::Single(pool.get().await?),
            Self::Cluster(cluster) => Pooled::Cluster(
                cluster
                    .conn
                    .get_or_try_init(|| cluster.client.get_async_connection())
                    .await?
                    .clone(),
            ),
        }))
    }

    /// The pool's state for `/metrics`; a cluster shows as one connection,
    /// there once it has been made.
    pub fn status(&self) -> Status {
        match self {
            Self::Single(pool) => pool.status(),
            Self::Cluster(cluster) => {
                let made = usize::from(cluster.conn.initialized());
                Status {
                    max_size: 1,
                    size: made,
                    available: made,
                    waiting: 0,
                }
            }
        }
    }
}

/// A connection for one request: pooled (returned to its pool on drop), or
/// a handle on the cluster's shared connection. It is a
/// `ConnectionLike` itself, and dereferences to one too, so that call sites
/// written for deadpool's connection (`query_async(&mut *conn)`) work as they
/// are.
pub struct RedisConn(Pooled);

/// The connection of either deployment.
pub enum Pooled {
    Single(deadpool_redis::Connection),
    Cluster(ClusterConnection),
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
