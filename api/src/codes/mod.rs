//! Payment codes: issuing online keys, and verifying every kind of code.

pub mod devices;
pub mod marks;
pub mod online;
pub mod verify;

use utoipa_actix_web::service_config::ServiceConfig;

#[cfg(test)]
mod tests;

pub use devices::DeviceCache;
pub use marks::{Claimant, release_after};
pub use verify::{CodeRejection, CodeWindows, TokenWindows, VerifiedCode, verify_code};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(online::issue);
}
