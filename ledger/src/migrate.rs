//! Making the database: the diesel migrations in `migrations/` (tables and
//! data), then the ledger's SQL functions in `ledger/sql/`, created anew on
//! every run (Lemmy's `replaceable_schema` is the model).
//!
//! A migration never holds a function's body, so a change to the ledger's
//! SQL is a diff of one file. A function whose signature or meaning changes
//! takes a new version in its name (`ledger_post_batch_v1` becomes `_v2`,
//! and the Rust that calls it changes with it): during a rolling deploy the
//! hosts of the previous release keep calling theirs, which this run leaves
//! in place. A later release's migration drops a version no binary calls.
//! `tests::every_released_function_keeps_its_body` holds every version to the
//! body it was released with.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl as _, sql_query};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// One file of `ledger/sql/`: the functions it creates, by `CREATE OR
/// REPLACE`, so that running it again is harmless.
pub struct SqlFile {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! sql_file {
    ($name:literal) => {
        SqlFile {
            name: $name,
            sql: include_str!(concat!("../sql/", $name)),
        }
    };
}

/// Every file of `ledger/sql/`, in the order they are run: the rules first
/// (`LANGUAGE sql` functions are checked when they are created), then the
/// PL/pgSQL functions that call them.
pub const FUNCTIONS: [SqlFile; 6] = [
    sql_file!("code_refusal.sql"),
    sql_file!("balance_refusal.sql"),
    sql_file!("reversal_refusal.sql"),
    sql_file!("refusal.sql"),
    sql_file!("post_each.sql"),
    sql_file!("post_batch.sql"),
];

/// Serialises the creation of the functions between hosts migrating at once
/// (a `CREATE OR REPLACE` racing another fails with "tuple concurrently
/// updated").
const FUNCTIONS_LOCK: i64 = 7_261_637;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("ledger/sql/{file}: {error}")]
    Function {
        file: &'static str,
        error: diesel::result::Error,
    },
}

/// Applies pending migrations, then creates the ledger's functions; returns
/// the versions of the migrations it applied. Blocking (libpq); the server
/// runs it before it starts serving.
pub fn run(url: &str) -> Result<Vec<String>, MigrateError> {
    let mut conn = PgConnection::establish(url)?;
    let applied: Vec<String> = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| MigrateError::Migration(e.to_string()))?
        .iter()
        .map(ToString::to_string)
        .collect();
    create_functions(&mut conn)?;
    Ok(applied)
}

/// Creates (or replaces) every function of [`FUNCTIONS`], in one
/// transaction: a host never sees half of a release's functions.
pub fn create_functions(conn: &mut PgConnection) -> Result<(), MigrateError> {
    conn.transaction(|conn| {
        sql_query(format!("SELECT pg_advisory_xact_lock({FUNCTIONS_LOCK})"))
            .execute(conn)
            .map_err(|error| MigrateError::Function {
                file: "(lock)",
                error,
            })?;
        for file in &FUNCTIONS {
            conn.batch_execute(file.sql)
                .map_err(|error| MigrateError::Function {
                    file: file.name,
                    error,
                })?;
        }
        Ok(())
    })
}

impl From<diesel::result::Error> for MigrateError {
    /// The transaction's own BEGIN or COMMIT failing.
    fn from(error: diesel::result::Error) -> Self {
        Self::Function {
            file: "(transaction)",
            error,
        }
    }
}

#[cfg(test)]
mod tests;
