//! The Tillcode API server. The binary (`tillcode-api`) is a thin CLI over
//! this library; see `main.rs` for its commands.

pub mod admin;
pub mod bearer;
pub mod codes;
pub mod config;
pub mod customers;
pub mod dashboard;
#[cfg(test)]
mod database_unavailable_tests;
pub use tillcode_db as db;
pub mod demo_seed;
pub mod devices;
pub mod error;
pub mod fraud;
pub mod http_limits;
pub mod key_cache;
pub use tillcode_ledger as ledger;
pub mod links;
pub mod local_cache;
pub mod metrics;
pub mod openapi;
pub mod password;
pub use tillcode_db::per_thread;
pub mod rate_limit;
pub mod redemptions;
pub mod redis_conn;
pub mod routes;
pub use tillcode_db::schema;
#[cfg(test)]
mod security_tests;
pub mod server;
pub mod staff;
pub mod state;
pub mod telemetry;
pub mod terminals;
pub mod textfile;
pub mod till;
pub mod tls;
pub mod wallet;
pub mod web_app;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
