//! The Tillcode API server. The binary (`tillcode-api`) is a thin CLI over
//! this library; see `main.rs` for its commands.

pub mod cache;
pub mod config;
pub mod db;
pub mod demo_seed;
pub mod error;
pub mod ledger;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod schema;
pub mod server;
pub mod state;
pub mod telemetry;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
