//! The async connection pools the server uses.

use std::time::Duration;

use deadpool::Status;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::{BuildError, Object, Pool, PoolError};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;

use crate::per_thread::PerThread;

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

impl From<DbPool> for DbPools {
    fn from(pool: DbPool) -> Self {
        Self::single(pool)
    }
}

/// The request handlers' pools: one per worker thread, because a
/// connection's I/O runs on the thread that opened it ([`PerThread`]).
#[derive(Clone)]
pub struct DbPools(PerThread<DbPool>);

impl DbPools {
    /// `threads` pools, each made by `make`.
    pub fn per_thread(
        threads: usize,
        make: impl FnMut() -> Result<DbPool, BuildError>,
    ) -> Result<Self, BuildError> {
        PerThread::build(threads, make).map(Self)
    }

    /// One pool for every thread (tests and tools).
    pub fn single(pool: DbPool) -> Self {
        Self(PerThread::single(pool))
    }

    /// A connection from the calling thread's pool.
    pub async fn get(&self) -> Result<DbConn, PoolError> {
        self.0.mine().get().await
    }

    /// All pools together, for `/metrics`.
    pub fn status(&self) -> Status {
        crate::per_thread::sum_status(self.0.all().iter().map(Pool::status))
    }
}

/// A pool with no time limits: tests and the operator commands, where
/// waiting is the right answer.
pub fn pool(url: &str, size: usize) -> Result<DbPool, BuildError> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    Pool::builder(manager).max_size(size).build()
}

/// The server's pool: getting a connection (waiting for a free one,
/// connecting, checking an idle one) gives up after `wait`, and every
/// connection runs with `statement_timeout`, so a saturated, locked or dead
/// database answers 503 promptly instead of holding requests forever.
pub fn server_pool(
    url: &str,
    size: usize,
    wait: Duration,
    statement_timeout: Option<Duration>,
) -> Result<DbPool, BuildError> {
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            if let Some(limit) = statement_timeout {
                // A SET takes no bind parameters; the value is our own integer.
                diesel::sql_query(format!("SET statement_timeout = {}", limit.as_millis()))
                    .execute(&mut conn)
                    .await
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            }
            Ok(conn)
        }
        .boxed()
    });
    // No `SELECT 1` before handing out a pooled connection: that was a
    // round trip per checkout, two or three per redemption. A connection the
    // server closed (a restart, an idle timeout) is dropped without asking
    // once its driver task has seen the close (`is_broken`); one that dies
    // mid-query, or in the instant before, fails that query (answered 503,
    // a till retries with its idempotency key) and is dropped.
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(wait))
        .create_timeout(Some(wait))
        .recycle_timeout(Some(wait))
        .build()
}

/// Whether a query failed because the database is unreachable, restarting,
/// overloaded, too slow or locked up (a retry may well succeed), rather than
/// because of the query. Such failures are answered 503 with `Retry-After`,
/// never 500 (`ApiError`'s `From<diesel::result::Error>`).
///
/// diesel does not pass SQLSTATEs on, so server-side causes are told by
/// Postgres's message text (the server's `lc_messages` must be English,
/// Postgres's default; `C` is English too).
pub fn is_unavailable(e: &DieselError) -> bool {
    const TRANSIENT_MESSAGES: [&str; 4] = [
        // 57014 query_canceled (statement timeout, pg_cancel_backend),
        // 55P03 lock timeout, 40001 conflict with recovery on a standby.
        "canceling statement due to ",
        // 57P01 admin_shutdown (pg_terminate_backend, a fast shutdown, a
        // failover), 57P02 crash_shutdown, 57P05 and 25P03 idle timeouts,
        // conflict with recovery: the connection is gone, a new one works.
        "terminating connection ",
        // 57P03 cannot_connect_now: starting up, shutting down, in recovery.
        "the database system is ",
        // 40P01: Postgres rolled one transaction back to let the other on;
        // that one's retry finds the row free.
        "deadlock detected",
    ];
    match e {
        DieselError::DatabaseError(
            // A connection lost or closed mid-query (tokio-postgres's errors
            // without a SQLSTATE), and 40001 serialization_failure.
            DatabaseErrorKind::UnableToSendCommand
            | DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::SerializationFailure,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => TRANSIENT_MESSAGES
            .iter()
            .any(|m| info.message().starts_with(m)),
        // The connection died inside a transaction and could not roll back.
        DieselError::BrokenTransactionManager => true,
        // A COMMIT that failed, then a rollback that failed too: the
        // commit's failure is the cause.
        DieselError::RollbackErrorOnCommit { commit_error, .. } => is_unavailable(commit_error),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error as DieselError};

    /// A server-side error as tokio-postgres hands it to diesel: a kind
    /// (`Unknown` for most SQLSTATEs) and Postgres's message.
    fn server_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn timeouts_cancellations_lost_connections_and_deadlocks_are_unavailability() {
        use DatabaseErrorKind::{SerializationFailure, UnableToSendCommand, Unknown};
        let unavailable = [
            server_error(Unknown, "canceling statement due to statement timeout"),
            server_error(Unknown, "canceling statement due to lock timeout"),
            server_error(Unknown, "canceling statement due to user request"),
            server_error(
                Unknown,
                "terminating connection due to administrator command",
            ),
            server_error(
                Unknown,
                "terminating connection because of crash of another server process",
            ),
            server_error(
                Unknown,
                "terminating connection due to idle-session timeout",
            ),
            server_error(Unknown, "the database system is shutting down"),
            server_error(
                Unknown,
                "the database system is not yet accepting connections",
            ),
            server_error(Unknown, "deadlock detected"),
            server_error(
                SerializationFailure,
                "could not serialize access due to concurrent update",
            ),
            server_error(UnableToSendCommand, "connection closed"),
            DieselError::BrokenTransactionManager,
            DieselError::RollbackErrorOnCommit {
                rollback_error: Box::new(DieselError::BrokenTransactionManager),
                commit_error: Box::new(server_error(UnableToSendCommand, "connection closed")),
            },
        ];
        for e in unavailable {
            assert!(super::is_unavailable(&e), "{e:?}");
        }
    }

    #[test]
    fn query_mistakes_are_not_unavailability() {
        let mistakes = [
            DieselError::NotFound,
            DieselError::DeserializationError("unexpected null".into()),
            server_error(
                DatabaseErrorKind::UniqueViolation,
                "duplicate key value violates unique constraint",
            ),
            server_error(DatabaseErrorKind::Unknown, "column \"nope\" does not exist"),
            server_error(
                DatabaseErrorKind::ReadOnlyTransaction,
                "cannot execute INSERT in a read-only transaction",
            ),
        ];
        for e in mistakes {
            assert!(!super::is_unavailable(&e), "{e:?}");
        }
    }
}
