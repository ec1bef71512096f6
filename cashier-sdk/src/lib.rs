//! The cashier terminal side of Tillcode, for tills and for the
//! `tillcode-cashier` CLI:
//!
//! - the terminal's own Ed25519 key ([`TerminalKey`]) and the [`home`]
//!   directory that keeps it beside what the server assigned
//!   (`terminal.json`);
//! - the [`enrollment`] proof that brings a terminal into a store;
//! - the headers of a signed request ([`signing`]): `Content-Digest`,
//!   `Idempotency-Key` and the RFC 9421 signature, made with
//!   `tillcode_protocol`'s signer;
//! - [`IdempotencyKey`]s and the [`RetryPolicy`] that together make a lost
//!   answer harmless: a retry reuses the key and the body, so the server
//!   replays its answer instead of charging twice;
//! - reading the customer's QR code from an image file ([`qr`]);
//! - with the `http` feature, an async [`client`] for the terminal API;
//! - how the till screen shows amounts ([`display`]).
//!
//! Nothing here starts an async runtime; the client's futures run on the
//! caller's (reqwest needs tokio's).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

// The key store relies on Unix file modes, which every platform a till runs
// on has; failing the build beats a key store that silently skips its
// permission checks.
#[cfg(not(unix))]
compile_error!("tillcode-cashier stores terminal keys with Unix file permissions");

#[cfg(feature = "http")]
pub mod client;
pub mod content_digest;
pub mod display;
pub mod enrollment;
pub mod home;
pub mod idempotency;
pub mod qr;
pub mod retry;
pub mod signing;
pub mod terminal_key;

pub use content_digest::{DigestError, content_digest, verify_content_digest};
pub use display::format_amount;
pub use home::{Home, HomeError, TerminalRecord};
pub use idempotency::{IdempotencyKey, IdempotencyKeyError};
pub use qr::{QrDecodeError, decode_file as decode_qr_file};
pub use retry::RetryPolicy;
pub use signing::{RequestSigner, SignError, SignedHeaders, Target};
pub use terminal_key::{TerminalKey, TerminalKeyError};
pub use tillcode_sdk_common::private_file::{self, Overwrite};
