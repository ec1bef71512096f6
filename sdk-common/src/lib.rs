//! What the customer SDK (`tillcode-customer`) and the cashier SDK
//! (`tillcode-cashier`) share, written once:
//!
//! - [`private_file`]: small files only their owner may read (mode 0600),
//!   written atomically;
//! - [`key_file`]: the Ed25519 key file format, one implementation for the
//!   device key and the terminal key, told apart by their first line;
//! - [`home`]: the basics of an SDK's home directory (mode 0700, JSON
//!   records in private files);
//! - with the `http` feature, [`http`]: the base of both async API clients
//!   (the base address, HTTPS and whom to trust, reading answers, RFC 9457
//!   problems);
//! - with the `cli` feature, [`stdout`]: how both CLIs print.
//!
//! Not an API of its own: each SDK re-exports what its users need, so that
//! they never name this crate. It depends on `tillcode-protocol` only (with
//! `http`), and never on a runtime.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

// Owner-only files rely on Unix file modes, which every platform the SDKs
// target has; failing the build beats a key store that silently skips its
// permission checks.
#[cfg(not(unix))]
compile_error!("tillcode-sdk-common stores keys with Unix file permissions");

pub mod home;
#[cfg(feature = "http")]
pub mod http;
pub mod key_file;
pub mod private_file;
#[cfg(feature = "cli")]
pub mod stdout;
#[cfg(any(test, feature = "test-support"))]
pub mod test_dir;
