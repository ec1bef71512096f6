//! Customer devices: registration with proof of possession, sessions,
//! listing, renaming and revocation.

pub mod challenge;
pub mod manage;
pub mod register;

#[cfg(test)]
mod tests;

use tillcode_protocol::ProblemType;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(challenge::create)
        .service(register::register)
        .service(register::open_session)
        .service(manage::list)
        .service(manage::rename)
        .service(manage::revoke);
}

/// A device's name as people see it when approving or revoking it.
pub struct DeviceName(String);

impl DeviceName {
    /// Taken exactly as sent, because proofs sign the name's bytes as sent:
    /// surrounding spaces are refused rather than trimmed away.
    pub fn parse(name: &str) -> Result<Self, ApiError> {
        let printable = !name.chars().any(char::is_control) && name.trim() == name;
        if name.is_empty() || name.chars().count() > 64 || !printable {
            return Err(ApiError::client(
                ProblemType::BadRequest,
                "a device name must be 1 to 64 printable characters, without surrounding spaces",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Decodes a fixed-size hex field of a request body.
pub fn decode_hex<const N: usize>(field: &str, value: &str) -> Result<[u8; N], ApiError> {
    let bytes = hex::decode(value)
        .map_err(|_| ApiError::client(ProblemType::BadRequest, format!("{field} must be hex")))?;
    bytes.try_into().map_err(|_| {
        ApiError::client(
            ProblemType::BadRequest,
            format!("{field} must be {N} bytes"),
        )
    })
}
