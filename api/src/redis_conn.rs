//! The connection to Redis: short-lived state only (single-use keys, replay
//! caches, rate limits). Losing it may fail requests closed; Postgres stays
//! the authority.
//!
//! One Redis server, or a Redis Cluster (`TILLCODE_REDIS_CLUSTER=true`):
//! handlers get a [`RedisConn`] either way and never ask which. In a cluster
//! every command, pipeline and script must keep to one hash slot; see
//! [`crate::state::AppState::redis_key`] and docs/scaling.md for how keys are
//! laid out so that they do.
//!
//! **One connection per thread**, multiplexed: the requests of an HTTP
//! worker send their commands over their worker's connection, concurrently
//! (nothing here holds a connection to itself: no `WATCH`, no blocking
//! command; a `MULTI` is one pipeline, sent whole). Per thread, because a
//! connection's I/O runs in a task on the runtime of the thread that opened
//! it and each actix worker runs a single-threaded runtime of its own: a
//! connection used by another worker made that worker wait, on every
//! command, for the first to get round to the task (1.7 ms per `SET NX` at
//! the median under load: docs/performance/2026-12-05.md, late evening). `server.rs` gives each worker a [`Redis`] of its own
//! ([`Redis::for_this_thread`]), whose connection is made on its first use,
//! on that worker.
//!
//! - One server: a [`ConnectionManager`], which reconnects by itself when
//!   its connection drops. A command that times out also makes the thread
//!   open a new connection (the manager would keep it): its answer may be
//!   stuck behind a slow command, or the server gone without a word.
//! - A cluster: the cluster client's connection (one multiplexed connection
//!   per node, reconnecting and following topology changes by itself).
//!
//! With a timeout (the server's `TILLCODE_REDIS_TIMEOUT_MS`), connecting and
//! each command's answer are bounded by it, and a reconnection is one
//! attempt (the next command that finds it failed starts another), so that a
//! dead or stalled Redis turns into prompt 503s instead of requests that
//! hang.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use prometheus::IntCounter;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};
use tokio::sync::OnceCell;

pub use redis::RedisError;

/// Redis as one thread uses it: where it is, and this thread's connection
/// once made. Clones share the connection; [`Redis::for_this_thread`] makes
/// a handle with a connection of its own.
#[derive(Clone)]
pub struct Redis {
    mine: Arc<Mine>,
    /// Commands that failed for want of a working connection
    /// (`tillcode_redis_connection_errors_total`).
    errors: IntCounter,
}

/// A thread's connection, made on first use.
enum Mine {
    Single {
        client: redis::Client,
        config: ConnectionManagerConfig,
        made: Mutex<Made>,
    },
    Cluster {
        client: ClusterClient,
        /// Retried until it succeeds, so that the API starts while the
        /// cluster is down.
        conn: OnceCell<ClusterConnection>,
    },
}

#[derive(Default)]
struct Made {
    /// How many connections this thread has made: a connection is replaced
    /// only by a request that used this very one.
    count: u64,
    manager: Option<ConnectionManager>,
}

/// `urls` is one `redis://` URL, or with `cluster` one or more seed nodes of
/// the cluster (the client learns the rest of the topology from them).
/// Nothing is connected yet. `timeout`: see the module's documentation;
/// tests and tools pass `None` and get the redis crate's defaults (1 s to
/// connect, 500 ms for an answer).
pub fn connect(
    urls: &[&str],
    cluster: bool,
    timeout: Option<Duration>,
    errors: IntCounter,
) -> Result<Redis, RedisError> {
    let mine = if cluster {
        let mut client = ClusterClient::builder(urls.to_vec());
        if let Some(timeout) = timeout {
            client = client.connection_timeout(timeout).response_timeout(timeout);
        }
        Mine::Cluster {
            client: client.build()?,
            conn: OnceCell::new(),
        }
    } else {
        let client = redis::Client::open(urls.first().copied().unwrap_or_default())?;
        let mut config = ConnectionManagerConfig::new().set_number_of_retries(0);
        if let Some(timeout) = timeout {
            config = config
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout));
        }
        Mine::Single {
            client,
            config,
            made: Mutex::default(),
        }
    };
    Ok(Redis {
        mine: Arc::new(mine),
        errors,
    })
}

impl Redis {
    /// The same Redis, with a connection of its own (not made yet): one for
    /// each HTTP worker.
    pub fn for_this_thread(&self) -> Self {
        let mine = match &*self.mine {
            Mine::Single { client, config, .. } => Mine::Single {
                client: client.clone(),
                config: config.clone(),
                made: Mutex::default(),
            },
            Mine::Cluster { client, .. } => Mine::Cluster {
                client: client.clone(),
                conn: OnceCell::new(),
            },
        };
        Self {
            mine: Arc::new(mine),
            errors: self.errors.clone(),
        }
    }

    /// This thread's connection, made if it was not. A single server's is
    /// made lazily (it connects with the first command); a cluster's
    /// connects here.
    pub async fn get(&self) -> Result<RedisConn, RedisError> {
        let conn = match &*self.mine {
            Mine::Single {
                client,
                config,
                made,
            } => {
                let mut made = lock(made);
                let manager = match &made.manager {
                    Some(manager) => manager.clone(),
                    None => {
                        let manager = ConnectionManager::new_lazy_with_config(
                            client.clone(),
                            config.clone(),
                        )?;
                        made.count += 1;
                        made.manager = Some(manager.clone());
                        manager
                    }
                };
                Conn::Single {
                    manager,
                    made: made.count,
                }
            }
            Mine::Cluster { client, conn } => {
                let made = conn.get_or_try_init(|| client.get_async_connection()).await;
                match made {
                    Ok(conn) => Conn::Cluster(conn.clone()),
                    Err(e) => {
                        self.errors.inc();
                        return Err(e);
                    }
                }
            }
        };
        Ok(RedisConn(Connection {
            conn,
            owner: self.clone(),
        }))
    }

    /// Drops this thread's connection if it is still the `made`-th, so that
    /// the next request makes a new one.
    fn replace(&self, count: u64) {
        if let Mine::Single { made, .. } = &*self.mine {
            let mut made = lock(made);
            if made.count == count {
                made.manager = None;
            }
        }
    }
}

fn lock(made: &Mutex<Made>) -> MutexGuard<'_, Made> {
    // Each change under the lock is one assignment: a panic elsewhere while
    // it was held leaves nothing half-done.
    made.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection for one request: a handle on its thread's connection. It is
/// a `ConnectionLike` itself, and dereferences to one too, so that call
/// sites can write `query_async(&mut *conn)` or `query_async(&mut conn)`.
pub struct RedisConn(Connection);

/// What [`RedisConn`] dereferences to.
pub struct Connection {
    conn: Conn,
    owner: Redis,
}

enum Conn {
    Single {
        manager: ConnectionManager,
        /// Which of its thread's connections this is.
        made: u64,
    },
    Cluster(ClusterConnection),
}

impl Connection {
    /// Counts a failure for want of a connection, and replaces a single
    /// server's connection whose answer did not come in time.
    fn note<T>(&self, result: &RedisResult<T>) {
        let Err(e) = result else {
            return;
        };
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_unrecoverable_error()
            || e.is_timeout()
        {
            self.owner.errors.inc();
        }
        if e.is_timeout()
            && let Conn::Single { made, .. } = &self.conn
        {
            self.owner.replace(*made);
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let result = match &mut self.conn {
                Conn::Single { manager, .. } => manager.req_packed_command(cmd).await,
                Conn::Cluster(conn) => conn.req_packed_command(cmd).await,
            };
            self.note(&result);
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let result = match &mut self.conn {
                Conn::Single { manager, .. } => {
                    manager.req_packed_commands(pipeline, offset, count).await
                }
                Conn::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count).await,
            };
            self.note(&result);
            result
        })
    }

    fn get_db(&self) -> i64 {
        match &self.conn {
            Conn::Single { manager, .. } => manager.get_db(),
            Conn::Cluster(conn) => conn.get_db(),
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
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.0
    }
}

impl DerefMut for RedisConn {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::{Duration, Instant};

    use prometheus::IntCounter;

    use super::{Redis, RedisConn};
    use crate::testing::{test_redis, test_redis_cluster, test_redis_url};

    async fn client_id(conn: &mut RedisConn) -> i64 {
        redis::cmd("CLIENT")
            .arg("ID")
            .query_async(conn)
            .await
            .unwrap()
    }

    async fn ping(redis: &Redis) -> redis::RedisResult<String> {
        let mut conn = redis.get().await?;
        redis::cmd("PING").query_async(&mut conn).await
    }

    fn counter() -> IntCounter {
        IntCounter::new("errors", "test").unwrap()
    }

    /// A single server with this `timeout`, counting into `errors`.
    fn single(url: &str, timeout: Duration, errors: &IntCounter) -> Redis {
        super::connect(&[url], false, Some(timeout), errors.clone()).unwrap()
    }

    #[tokio::test]
    async fn requests_on_one_thread_share_its_connection_and_another_thread_has_its_own() {
        if test_redis_cluster() {
            return; // CLIENT ID names the connection to one node only
        }
        let redis = test_redis();
        let first = client_id(&mut redis.get().await.unwrap()).await;
        let (mut a, mut b) = (redis.get().await.unwrap(), redis.get().await.unwrap());
        let (a, b) = tokio::join!(client_id(&mut a), client_id(&mut b));
        assert_eq!((a, b), (first, first));
        let other = redis.for_this_thread();
        let theirs = client_id(&mut other.get().await.unwrap()).await;
        assert_ne!(theirs, first);
        assert_eq!(client_id(&mut redis.get().await.unwrap()).await, first);
    }

    #[tokio::test]
    async fn a_killed_connection_is_replaced_by_itself() {
        if test_redis_cluster() {
            return;
        }
        let errors = counter();
        let redis = single(&test_redis_url(), Duration::from_secs(2), &errors);
        let id = client_id(&mut redis.get().await.unwrap()).await;
        let killer = test_redis();
        let () = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query_async(&mut killer.get().await.unwrap())
            .await
            .unwrap();
        // The command that finds the connection gone may fail; the next
        // ones run on a new connection.
        let mut failed = 0;
        let new_id = loop {
            let mut conn = redis.get().await.unwrap();
            match redis::cmd("CLIENT")
                .arg("ID")
                .query_async::<i64>(&mut conn)
                .await
            {
                Ok(new_id) => break new_id,
                Err(e) => {
                    assert!(e.is_connection_dropped() || e.is_io_error(), "{e}");
                    failed += 1;
                    assert!(failed <= 2, "still failing: {e}");
                }
            }
        };
        assert_ne!(new_id, id);
        assert_eq!(errors.get(), failed);
    }

    #[tokio::test]
    async fn a_command_that_times_out_does_not_hold_up_the_next_one() {
        if test_redis_cluster() {
            return;
        }
        // A blocking pop outlives the timeout, and Redis answers a
        // connection's commands in order: on the same connection, the next
        // PING would wait for it. The timed-out connection is replaced.
        let errors = counter();
        let timeout = Duration::from_millis(300);
        let redis = single(&test_redis_url(), timeout, &errors);
        let mut conn = redis.get().await.unwrap();
        let id = client_id(&mut conn).await;
        let key = format!("tillcode-test:{}:never", uuid::Uuid::new_v4().simple());
        let popped = redis::cmd("BLPOP")
            .arg(&key)
            .arg(2)
            .query_async::<Option<(String, String)>>(&mut conn)
            .await;
        assert!(popped.unwrap_err().is_timeout());
        let started = Instant::now();
        let mut conn = redis.get().await.unwrap();
        assert_ne!(client_id(&mut conn).await, id);
        assert!(started.elapsed() < timeout, "{:?}", started.elapsed());
        assert_eq!(errors.get(), 1);
    }

    #[tokio::test]
    async fn a_redis_that_does_not_answer_fails_each_command_within_the_timeout() {
        // Accepts connections and never says a word: a stalled server.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("redis://{}", silent.local_addr().unwrap());
        let errors = counter();
        let timeout = Duration::from_millis(200);
        let redis = single(&url, timeout, &errors);
        for attempt in 1..=3 {
            let started = Instant::now();
            let failed = ping(&redis).await.unwrap_err();
            assert!(failed.is_timeout() || failed.is_io_error(), "{failed}");
            // Connecting and the answer are each bounded by the timeout.
            assert!(started.elapsed() < timeout * 3, "{:?}", started.elapsed());
            assert_eq!(errors.get(), attempt);
        }
    }

    #[tokio::test]
    async fn a_redis_that_refuses_connections_fails_promptly_and_is_used_once_it_is_back() {
        // A port that nothing listens on, until a Redis does.
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let url = format!("redis://127.0.0.1:{port}");
        let errors = counter();
        let redis = single(&url, Duration::from_secs(2), &errors);
        for _ in 0..2 {
            let started = Instant::now();
            assert!(ping(&redis).await.unwrap_err().is_io_error());
            assert!(started.elapsed() < Duration::from_millis(500));
        }
        let Ok(mut server) = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
        else {
            return; // no redis-server binary here: the first half is what matters most
        };
        let mut answered = false;
        for _ in 0..50 {
            if ping(&redis).await.is_ok() {
                answered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server.kill().unwrap();
        server.wait().unwrap();
        assert!(answered, "the API did not use Redis once it was back");
    }
}
