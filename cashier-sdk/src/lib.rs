//! The cashier terminal side of Tillcode, for tills and for the
//! `tillcode-cashier` CLI: so far the `Content-Digest` that signed terminal
//! requests carry, and how the till screen shows amounts.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod content_digest;
pub mod display;

pub use content_digest::{DigestError, content_digest, verify_content_digest};
pub use display::format_amount;
