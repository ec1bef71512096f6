//! Staff of a merchant (owner, manager, viewer): accounts, and the browser
//! sign-in the dashboard uses — a session in Redis behind an HttpOnly,
//! Secure, SameSite=Strict cookie, with a CSRF token that every state change
//! must echo in a header.

pub mod session;

#[cfg(test)]
mod tests;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use tillcode_protocol::{MerchantId, ProblemType};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customers::email::Email;
use crate::error::ApiError;
use crate::password::{self, Password};
use crate::schema::staff;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    session::routes(cfg);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Manager,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Manager => "manager",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Owner, Self::Manager, Self::Viewer]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// Owners and managers change things; viewers only look.
    pub fn may_change(self) -> bool {
        matches!(self, Self::Owner | Self::Manager)
    }
}

#[derive(Debug, Serialize)]
pub struct CreatedStaff {
    pub staff_id: Uuid,
    pub merchant_id: Uuid,
    pub email: String,
    pub role: Role,
}

/// Creates a staff account (operator CLI; later the owner's dashboard).
pub async fn create(
    conn: &mut diesel_async::AsyncPgConnection,
    merchant: MerchantId,
    email: &str,
    display_name: &str,
    role: Role,
    new_password: &str,
) -> Result<CreatedStaff, ApiError> {
    let email = Email::parse(email)
        .map_err(|e| ApiError::client(ProblemType::BadRequest, e.to_string()))?;
    let password = Password::new(new_password)
        .map_err(|e| ApiError::client(ProblemType::BadRequest, e.to_string()))?;
    let hash = tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let id = Uuid::now_v7();
    let inserted = diesel::insert_into(staff::table)
        .values((
            staff::merchant_id.eq(Uuid::from(merchant)),
            staff::id.eq(id),
            staff::email.eq(email.as_str()),
            staff::display_name.eq(display_name.trim()),
            staff::role.eq(role.as_str()),
            staff::password_hash.eq(hash),
        ))
        .execute(conn)
        .await;
    match inserted {
        Ok(_) => Ok(CreatedStaff {
            staff_id: id,
            merchant_id: merchant.into(),
            email: email.as_str().to_owned(),
            role,
        }),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(ApiError::client(
            ProblemType::BadRequest,
            "a staff member with this email exists",
        )),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _,
        )) => Err(ApiError::client(ProblemType::NotFound, "no such merchant")),
        Err(e) => Err(e.into()),
    }
}
