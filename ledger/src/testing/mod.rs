//! For tests and benchmarks: a fresh database per test, cloned from a
//! template made by [`crate::migrate::run`], and a merchant to post against.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test-only code: fail loudly

mod database;
mod fixtures;

pub use database::{TestDatabase, test_database_admin_url};
pub use fixtures::{TEST_CALLER, TestMerchant};
