//! PostgreSQL: the async connection pool the server uses, and migrations.

use diesel::Connection;
use diesel::pg::PgConnection;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{BuildError, Object, Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

pub fn pool(url: &str, size: usize) -> Result<DbPool, BuildError> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    Pool::builder(manager).max_size(size).build()
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("migration failed: {0}")]
    Migration(String),
}

/// Applies pending migrations and returns the versions it applied. Blocking
/// (libpq); the server runs it before it starts serving.
pub fn run_migrations(url: &str) -> Result<Vec<String>, MigrateError> {
    let mut conn = PgConnection::establish(url)?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| MigrateError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}
