//! The customer side of Tillcode, for phones and for the `tillcode-customer`
//! CLI:
//!
//! - the device's own Ed25519 key ([`DeviceKey`]) and the [`home`] directory
//!   that keeps it beside what the server assigned (`device.json`);
//! - payment codes made with no network ([`codes`]) and the [`proofs`] of
//!   key possession the API asks for;
//! - QR renderings of any payload ([`qr`]);
//! - with the `http` feature, an async [`client`] for the customer API.
//!
//! Nothing here starts an async runtime; the client's futures run on the
//! caller's (reqwest needs tokio's).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

// Key files are protected by Unix file modes, and every platform the customer
// side targets (Linux, Android, iOS, macOS) has them; failing the build is
// better than a key store that silently skips its permission checks.
#[cfg(not(unix))]
compile_error!("tillcode-customer stores device keys with Unix file permissions");

#[cfg(feature = "http")]
pub mod client;
pub mod codes;
pub mod device_key;
pub mod home;
pub mod private_file;
pub mod proofs;
pub mod qr;
pub mod wire;

pub use codes::{numeric_code, numeric_code_payload, offline_code, unix_now_ms};
pub use device_key::{DeviceKey, DeviceKeyError, Overwrite, fingerprint};
pub use home::{DeviceRecord, Home, HomeError};
pub use qr::{QrError, qr_version, render_png, render_svg, render_terminal};
pub use wire::TotpSecret;
