//! The customer side of Tillcode, for phones and for the `tillcode-customer`
//! CLI: so far the device's own Ed25519 key ([`DeviceKey`]), which later
//! signs offline payment codes and proofs of possession.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

// Key files are protected by Unix file modes, and every platform the customer
// side targets (Linux, Android, iOS, macOS) has them; failing the build is
// better than a key store that silently skips its permission checks.
#[cfg(not(unix))]
compile_error!("tillcode-customer stores device keys with Unix file permissions");

pub mod device_key;

pub use device_key::{DeviceKey, DeviceKeyError, Overwrite, fingerprint};
