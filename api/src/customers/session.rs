//! Who is calling: a customer signed in with a password (allowed only to
//! register a device), or a customer's device (everything else).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use tillcode_protocol::{CustomerId, DeviceId, MerchantId, ProblemType};
use uuid::Uuid;

use crate::bearer;
use crate::error::ApiError;
use crate::schema::devices;
use crate::state::AppState;

/// A password sign-in lasts long enough to register one device.
pub const SIGN_IN_TTL: Duration = Duration::from_secs(10 * 60);
/// A device session; the device renews it with a fresh signature.
pub const DEVICE_SESSION_TTL: Duration = Duration::from_secs(15 * 60);

pub const SIGN_IN_TOKEN: &str = "sign-in";
pub const DEVICE_TOKEN: &str = "device";

/// Claims of a password sign-in token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CustomerSession {
    pub merchant: MerchantId,
    pub customer: CustomerId,
}

/// Claims of a device session token; checked against the device's status on
/// every request, so revoking a device ends its sessions at once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeviceSession {
    pub merchant: MerchantId,
    pub customer: CustomerId,
    pub device: DeviceId,
}

fn unauthorized(detail: &str) -> ApiError {
    ApiError::client(ProblemType::Unauthorized, detail)
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("AppState missing".into()))
}

impl FromRequest for CustomerSession {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer::from_header(req).map(str::to_owned);
        let state = state_of(req);
        Box::pin(async move {
            let (state, token) = (state?, token.ok_or_else(|| unauthorized("sign in first"))?);
            bearer::resolve(&state, SIGN_IN_TOKEN, &token)
                .await?
                .ok_or_else(|| unauthorized("the sign-in has expired; sign in again"))
        })
    }
}

impl FromRequest for DeviceSession {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer::from_header(req).map(str::to_owned);
        let state = state_of(req);
        Box::pin(async move {
            let (state, token) = (
                state?,
                token.ok_or_else(|| unauthorized("a device session is required"))?,
            );
            let session: DeviceSession = bearer::resolve(&state, DEVICE_TOKEN, &token)
                .await?
                .ok_or_else(|| unauthorized("the device session has expired"))?;
            let mut conn = state.db_conn().await?;
            let status: Option<String> = devices::table
                .find((Uuid::from(session.merchant), Uuid::from(session.device)))
                .select(devices::status)
                .first(&mut conn)
                .await
                .optional()?;
            match status.as_deref() {
                Some("active") => Ok(session),
                _ => Err(unauthorized(
                    "this device has been revoked or is not yet approved",
                )),
            }
        })
    }
}
