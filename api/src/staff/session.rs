//! Staff sessions for the dashboard.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use actix_web::{get, post};
use data_encoding::BASE64URL_NOPAD;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tillcode_protocol::{MerchantId, ProblemType, StaffId};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::Role;
use crate::bearer;
use crate::customers::email::Email;
use crate::error::ApiError;
use crate::password;
use crate::rate_limit::{self, Limit};
use crate::schema::staff;
use crate::state::AppState;

pub const COOKIE: &str = "tillcode_staff";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 60 * 60);
const TOKEN_KIND: &str = "staff";

/// Failed sign-ins per email: after 10 in 15 minutes that email must wait.
/// A lockout that expires, so an attacker cannot lock the owner out for good;
/// per-address limits stop one source from trying many emails.
const PER_EMAIL: Limit = Limit {
    name: "staff-sign-in-email",
    max: 10,
    window: Duration::from_secs(15 * 60),
};
const PER_ADDRESS: Limit = Limit {
    name: "staff-sign-in-address",
    max: 50,
    window: Duration::from_secs(15 * 60),
};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(sign_in).service(sign_out).service(me);
}

/// What a staff session carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StaffSession {
    pub merchant: MerchantId,
    pub staff: StaffId,
    pub role: Role,
    pub csrf: String,
}

impl StaffSession {
    /// Refuses viewers: for every handler that changes something.
    pub fn require_change(&self) -> Result<(), ApiError> {
        if self.role.may_change() {
            Ok(())
        } else {
            Err(ApiError::client(
                ProblemType::Forbidden,
                "a viewer cannot change anything",
            ))
        }
    }
}

fn unauthorized() -> ApiError {
    ApiError::client(ProblemType::Unauthorized, "sign in first")
}

impl FromRequest for StaffSession {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    /// The cookie's session; for any method but GET and HEAD, also the CSRF
    /// header, compared in constant time.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req.cookie(COOKIE).map(|c| c.value().to_owned());
        let csrf = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let safe = matches!(req.method().as_str(), "GET" | "HEAD");
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("AppState missing".into()))?;
            let token = token.ok_or_else(unauthorized)?;
            let session: StaffSession = bearer::resolve(&state, TOKEN_KIND, &token)
                .await?
                .ok_or_else(unauthorized)?;
            let csrf_ok =
                csrf.is_some_and(|c| bool::from(c.as_bytes().ct_eq(session.csrf.as_bytes())));
            if !safe && !csrf_ok {
                return Err(ApiError::client(
                    ProblemType::Forbidden,
                    "missing or wrong CSRF token",
                ));
            }
            Ok(session)
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"merchant_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00", "email": "boss@example.com", "password": "a long passphrase for the boss"}))]
#[serde(deny_unknown_fields)]
pub struct StaffSignIn {
    #[schema(value_type = String, format = Uuid)]
    merchant_id: MerchantId,
    email: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct StaffSignedIn {
    pub staff_id: Uuid,
    pub role: Role,
    /// Send it back as `X-CSRF-Token` on every request that changes something.
    pub csrf_token: String,
    pub expires_in: u64,
}

/// Signs a staff member in: sets the session cookie.
#[utoipa::path(operation_id = "staff_sign_in", tag = "staff", request_body = StaffSignIn,
    responses(
        (status = 200, body = StaffSignedIn, description = "Sets the HttpOnly session cookie"),
        (status = 401, description = "invalid-credentials"),
        (status = 429, description = "rate-limited")))]
#[post("/v1/staff/sign-in")]
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<StaffSignIn>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let invalid = || {
        ApiError::client(
            ProblemType::InvalidCredentials,
            "the email or the password is wrong",
        )
    };
    let email = Email::parse(&body.email).map_err(|_| invalid())?;
    let subject = format!("{}/{}", body.merchant_id, email.as_str());
    rate_limit::hit(
        &state,
        &PER_ADDRESS,
        &req.peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default(),
    )
    .await?;
    rate_limit::hit(&state, &PER_EMAIL, &subject).await?;
    let found: Option<(Uuid, String, String)> = staff::table
        .filter(staff::merchant_id.eq(Uuid::from(body.merchant_id)))
        .filter(staff::email.eq(email.as_str()))
        .select((staff::id, staff::role, staff::password_hash))
        .first(&mut *state.db_conn().await?)
        .await
        .optional()?;
    let stored = found.as_ref().map(|(_, _, hash)| hash.clone());
    let candidate = body.password;
    let matches =
        tokio::task::spawn_blocking(move || password::verify(&candidate, stored.as_deref()))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some((staff_id, role, _)) = found.filter(|_| matches) else {
        return Err(invalid());
    };
    let role = Role::parse(&role).ok_or_else(|| ApiError::Internal("unknown role".into()))?;
    rate_limit::reset(&state, &PER_EMAIL, &subject).await?;
    let mut csrf = [0u8; 32];
    OsRng.fill_bytes(&mut csrf);
    let session = StaffSession {
        merchant: body.merchant_id,
        staff: staff_id.into(),
        role,
        csrf: BASE64URL_NOPAD.encode(&csrf),
    };
    let token = bearer::issue(&state, TOKEN_KIND, &session, SESSION_TTL).await?;
    let cookie = Cookie::build(COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(SESSION_TTL.as_secs() as i64))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).json(StaffSignedIn {
        staff_id,
        role,
        csrf_token: session.csrf,
        expires_in: SESSION_TTL.as_secs(),
    }))
}

/// Ends the session and clears the cookie.
#[utoipa::path(tag = "staff", responses((status = 204, description = "Signed out; the session cookie is cleared")))]
#[post("/v1/staff/sign-out")]
pub async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    _session: StaffSession,
) -> Result<HttpResponse, ApiError> {
    if let Some(cookie) = req.cookie(COOKIE) {
        bearer::revoke(&state, TOKEN_KIND, cookie.value()).await?;
    }
    let mut gone = Cookie::build(COOKIE, "")
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

#[derive(Serialize, ToSchema)]
pub struct StaffMe {
    pub staff_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub merchant_id: MerchantId,
    pub role: Role,
}

/// The signed-in staff member.
#[utoipa::path(operation_id = "staff_me", tag = "staff", responses((status = 200, body = StaffMe, description = "The signed-in staff member"), (status = 401, description = "Not signed in (unauthorized)")))]
#[get("/v1/staff/me")]
pub async fn me(session: StaffSession) -> HttpResponse {
    HttpResponse::Ok().json(StaffMe {
        staff_id: session.staff.into(),
        merchant_id: session.merchant,
        role: session.role,
    })
}
