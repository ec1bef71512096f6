//! Payment codes: issuing online keys, and verifying every kind of code.

pub mod devices;
pub mod marks;
pub mod online;
pub mod verify;

use actix_web::web;

#[cfg(test)]
mod tests;

pub use devices::DeviceCache;
pub use marks::{Claimant, release_after};
pub use verify::{CodeRejection, CodeWindows, TokenWindows, VerifiedCode, verify_code};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/me/online-keys", web::post().to(online::issue));
}
