//! PostgreSQL for Tillcode: the tables as diesel sees them ([`schema`],
//! generated from `migrations/` by `ops/schema.sh`), the connection pools
//! ([`DbPools`], one per worker thread), and [`is_unavailable`], which tells
//! a database that is down or busy from a query that is wrong; and the
//! statuses stored as text, as enums ([`DeviceStatus`], [`TerminalStatus`]).
//!
//! Migrations and the SQL functions applied after them are run by
//! `tillcode_ledger::migrate`, which owns the functions.

pub mod per_thread;
mod pool;
pub mod schema;
mod status;

pub use pool::{DbConn, DbPool, DbPools, is_unavailable, pool, server_pool};
pub use status::{DeviceStatus, TerminalStatus};
