//! HTTP endpoints, one module per area.

pub mod health;
