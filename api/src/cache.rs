//! Redis: short-lived state only (single-use keys, replay caches, rate
//! limits). Losing it may fail requests closed; Postgres stays the authority.
//!
//! One Redis server, or a Redis Cluster (`TILLCODE_REDIS_CLUSTER=true`):
//! handlers get a [`RedisConn`] either way and never ask which. In a cluster
//! every command, pipeline and script must keep to one hash slot; see
//! [`crate::state::AppState::redis_key`] and docs/scaling.md for how keys are
//! laid out so that they do.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use deadpool::managed::{Metrics, Object, RecycleResult};
use deadpool_redis::{CreatePoolError, PoolConfig, PoolError, Runtime, Status};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Value};
use tokio::sync::OnceCell;

use crate::per_thread::PerThread;

/// Connections to Redis: a pool per thread that uses them
/// ([`PerThread`]: a connection's I/O runs on the thread that opened it).
#[derive(Clone)]
pub struct RedisPool {
    shards: PerThread<Shard>,
}

/// Connections to one Redis server (a pool), or to a Redis Cluster.
///
/// A cluster gets no pool: its connection is already multiplexed (one
/// connection per node, shared by every request, reconnecting and following
/// topology changes by itself), and a pool's health check on every
/// checkout would send a `PING` to every master for every command, a load
/// on each node that grows with the whole fleet instead of spreading.
enum Shard {
    Single(deadpool::managed::Pool<Manager>),
    Cluster(Box<Cluster>),
}

/// How long after its last use a pooled connection is handed out again
/// without a `PING` first.
pub const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// deadpool-redis's manager, without the `UNWATCH` + `PING` round trip it
/// sends before every checkout when the connection was used within
/// [`TRUSTED_FOR`]: a redemption checks out three connections, so that was
/// three round trips of nothing per redemption. A connection that failed is
/// not trusted: [`RedisConn`] takes it out of the pool (no code here uses
/// `WATCH`, so there is no watch state to clear either).
pub struct Manager(deadpool_redis::Manager);

impl deadpool::managed::Manager for Manager {
    type Type = MultiplexedConnection;
    type Error = RedisError;

    async fn create(&self) -> Result<MultiplexedConnection, RedisError> {
        self.0.create().await
    }

    async fn recycle(
        &self,
        conn: &mut MultiplexedConnection,
        metrics: &Metrics,
    ) -> RecycleResult<RedisError> {
        if metrics.last_used() < TRUSTED_FOR {
            return Ok(());
        }
        self.0.recycle(conn, metrics).await
    }
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
/// `size` bounds the single server's pool of each of the `shards` (one per
/// thread that uses Redis: see [`RedisPool`]); a cluster needs none.
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
    shards: usize,
) -> Result<RedisPool, SetupError> {
    let shards = PerThread::build(shards, || shard(urls, cluster, size, timeout))?;
    Ok(RedisPool { shards })
}

fn shard(
    urls: &[&str],
    cluster: bool,
    size: usize,
    timeout: Option<Duration>,
) -> Result<Shard, SetupError> {
    if cluster {
        let mut client = ClusterClient::builder(urls.to_vec());
        if let Some(timeout) = timeout {
            client = client.connection_timeout(timeout).response_timeout(timeout);
        }
        return Ok(Shard::Cluster(Box::new(Cluster {
            client: client.build()?,
            conn: OnceCell::new(),
        })));
    }
    let url = urls.first().copied().unwrap_or_default();
    let manager = match timeout {
        None => deadpool_redis::Manager::new(url),
        Some(timeout) => deadpool_redis::Manager::new_with_config(
            url,
            redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout)),
        ),
    }
    .map_err(|e| CreatePoolError::Config(deadpool_redis::ConfigError::Redis(e)))?;
    let limits = deadpool_redis::Timeouts {
        wait: timeout,
        create: timeout,
        recycle: timeout,
    };
    let pool = deadpool::managed::Pool::builder(Manager(manager))
        .config(PoolConfig {
            max_size: size,
            timeouts: limits,
            ..PoolConfig::default()
        })
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(CreatePoolError::Build)?;
    Ok(Shard::Single(pool))
}

impl RedisPool {
    /// A connection from this thread's shard.
    pub async fn get(&self) -> Result<RedisConn, ConnError> {
        Ok(RedisConn(match self.shards.mine() {
            Shard::Single(pool) => Pooled::Single(Single {
                object: Some(pool.get().await?),
                failed: false,
            }),
            Shard::Cluster(cluster) => Pooled::Cluster(
                cluster
                    .conn
                    .get_or_try_init(|| cluster.client.get_async_connection())
                    .await?
                    .clone(),
            ),
        }))
    }

    /// The state of all shards together for `/metrics`; a cluster shows as
    /// one connection per shard, there once it has been made.
    pub fn status(&self) -> Status {
        crate::per_thread::sum_status(self.shards.all().iter().map(|shard| match shard {
            Shard::Single(pool) => pool.status(),
            Shard::Cluster(cluster) => {
                let made = usize::from(cluster.conn.initialized());
                Status {
                    max_size: 1,
                    size: made,
                    available: made,
                    waiting: 0,
                }
            }
        }))
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
    Single(Single),
    Cluster(ClusterConnection),
}

/// A connection of the single server's pool. One whose command failed for
/// want of a connection (I/O, dropped, timed out) leaves the pool when the
/// request is done instead of going back to it: [`Manager`] would hand it
/// out again unchecked.
pub struct Single {
    /// Always there until dropped.
    object: Option<Object<Manager>>,
    failed: bool,
}

impl Single {
    fn connection(&mut self) -> RedisResult<&mut MultiplexedConnection> {
        self.object.as_deref_mut().ok_or_else(|| {
            RedisError::from((redis::ErrorKind::Client, "connection already returned"))
        })
    }

    fn note<T>(&mut self, result: &RedisResult<T>) {
        if let Err(e) = result
            && (e.is_io_error()
                || e.is_connection_dropped()
                || e.is_unrecoverable_error()
                || e.is_timeout())
        {
            self.failed = true;
        }
    }
}

impl Drop for Single {
    fn drop(&mut self) {
        if self.failed
            && let Some(object) = self.object.take()
        {
            // Detached from the pool, the connection closes here and the pool
            // makes a new one when it needs one.
            drop(Object::take(object));
        }
    }
}

impl ConnectionLike for Pooled {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(single) => Box::pin(async move {
                let result = match single.connection() {
                    Ok(conn) => conn.req_packed_command(cmd).await,
                    Err(e) => Err(e),
                };
                single.note(&result);
                result
            }),
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
            Self::Single(single) => Box::pin(async move {
                let result = match single.connection() {
                    Ok(conn) => conn.req_packed_commands(pipeline, offset, count).await,
                    Err(e) => Err(e),
                };
                single.note(&result);
                result
            }),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(single) => single.object.as_ref().map_or(0, |conn| conn.get_db()),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::testing::{test_redis_cluster, test_redis_pool, test_redis_pool_sharded};

    async fn client_id(conn: &mut super::RedisConn) -> i64 {
        redis::cmd("CLIENT")
            .arg("ID")
            .query_async(conn)
            .await
            .unwrap()
    }

    /// What `CLIENT LIST` says the connection `id` last ran.
    async fn last_command(pool: &super::RedisPool, id: i64) -> String {
        let mut other = pool.get().await.unwrap();
        let listed: String = redis::cmd("CLIENT")
            .arg("LIST")
            .arg("ID")
            .arg(id)
            .query_async(&mut other)
            .await
            .unwrap();
        listed
            .split_whitespace()
            .find_map(|field| field.strip_prefix("cmd="))
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn a_connection_used_a_moment_ago_comes_back_without_a_ping_and_an_idle_one_with_one() {
        if test_redis_cluster() {
            return; // a cluster has no pool
        }
        let pool = test_redis_pool(1);
        let observer = test_redis_pool(1);
        let mut conn = pool.get().await.unwrap();
        let id = client_id(&mut conn).await;
        drop(conn);
        let conn = pool.get().await.unwrap();
        assert_eq!(last_command(&observer, id).await, "client|id");
        drop(conn);
        tokio::time::sleep(super::TRUSTED_FOR + std::time::Duration::from_millis(200)).await;
        let mut conn = pool.get().await.unwrap();
        assert_eq!(last_command(&observer, id).await, "ping");
        assert_eq!(client_id(&mut conn).await, id);
    }

    #[tokio::test]
    async fn a_connection_that_failed_is_not_handed_out_again() {
        if test_redis_cluster() {
            return;
        }
        let pool = test_redis_pool(1);
        let mut conn = pool.get().await.unwrap();
        let id = client_id(&mut conn).await;
        drop(conn);
        let mut killer = test_redis_pool(1).get().await.unwrap();
        let () = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query_async(&mut killer)
            .await
            .unwrap();
        // Used a moment ago, so handed out unchecked: its next command fails...
        let mut conn = pool.get().await.unwrap();
        let failed = redis::cmd("PING").query_async::<String>(&mut conn).await;
        assert!(failed.is_err(), "a killed connection answered: {failed:?}");
        drop(conn);
        // ...and it does not come back: the pool's only slot is a new one.
        let mut conn = pool.get().await.unwrap();
        assert_ne!(client_id(&mut conn).await, id);
        let pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
        assert_eq!(pong, "PONG");
    }

    #[test]
    fn each_thread_takes_its_connections_from_a_shard_of_its_own() {
        if test_redis_cluster() {
            return; // shards of a cluster hold no pool to tell apart
        }
        // More shards than this test has threads: no two of them share one.
        let pool = test_redis_pool_sharded(1, 64);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        let mut conn = pool.get().await.unwrap();
                        let first = client_id(&mut conn).await;
                        drop(conn);
                        let mut conn = pool.get().await.unwrap();
                        (first, client_id(&mut conn).await)
                    })
                })
            })
            .collect();
        let ids: Vec<(i64, i64)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        // Each thread gets its own connection back, and not the other's.
        assert_eq!(ids[0].0, ids[0].1);
        assert_eq!(ids[1].0, ids[1].1);
        assert_ne!(ids[0].0, ids[1].0);
        assert_eq!(pool.status().size, 2);
    }
}
