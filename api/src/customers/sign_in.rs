//! `POST /v1/customers/sign-up` and `POST /v1/customers/sign-in`.
//!
//! Both answer with a short-lived sign-in token that can do one thing:
//! register a device (`POST /v1/devices`). Wrong email and wrong password
//! get the same answer, in the same time (a dummy hash is checked for
//! unknown emails), and both are rate-limited per email and per address.

use std::time::Duration;

use actix_web::post;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use tillcode_protocol::{CustomerId, MerchantId, ProblemType};
use utoipa::ToSchema;
use uuid::Uuid;

use super::email::Email;
use super::session::{CustomerSession, SIGN_IN_TOKEN, SIGN_IN_TTL};
use crate::bearer;
use crate::error::ApiError;
use crate::password::{self, Password};
use crate::rate_limit::{self, Limit};
use crate::schema::{accounts, customers, programs};
use crate::state::AppState;

const PER_EMAIL: Limit = Limit {
    name: "sign-in-email",
    max: 10,
    window: Duration::from_secs(15 * 60),
};
const PER_ADDRESS: Limit = Limit {
    name: "sign-in-address",
    max: 100,
    window: Duration::from_secs(15 * 60),
};

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"merchant_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00", "email": "ana@example.com", "password": "correct horse battery staple", "display_name": "Ana"}))]
#[serde(deny_unknown_fields)]
pub struct SignUpRequest {
    #[schema(value_type = String, format = Uuid, example = "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00")]
    merchant_id: MerchantId,
    #[schema(example = "ana@example.com")]
    email: String,
    /// At least 10 characters, not among the most common passwords.
    #[schema(example = "correct horse battery staple")]
    password: String,
    #[schema(example = "Ana")]
    display_name: String,
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"merchant_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00", "email": "ana@example.com", "password": "correct horse battery staple"}))]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    #[schema(value_type = String, format = Uuid)]
    merchant_id: MerchantId,
    #[schema(example = "ana@example.com")]
    email: String,
    #[schema(example = "correct horse battery staple")]
    password: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"customer_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8fc0", "sign_in_token": "q1Jf0m6yqQx3b8kZ2cV7nR4tW9aE5sH1uL0pD3gK6iM", "expires_in": 600}))]
pub struct SignedIn {
    #[schema(value_type = String, format = Uuid)]
    pub customer_id: CustomerId,
    /// Bearer token for `POST /v1/devices`; valid for `expires_in` seconds.
    pub sign_in_token: String,
    pub expires_in: u64,
}

fn invalid_credentials() -> ApiError {
    ApiError::client(
        ProblemType::InvalidCredentials,
        "the email or the password is wrong",
    )
}

fn peer(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

async fn limit(
    state: &AppState,
    req: &HttpRequest,
    merchant: MerchantId,
    email: &Email,
) -> Result<(), ApiError> {
    rate_limit::hit(state, &PER_ADDRESS, &peer(req)).await?;
    rate_limit::hit(state, &PER_EMAIL, &format!("{merchant}/{}", email.as_str())).await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task: {e}")))
}

async fn signed_in(
    state: &AppState,
    merchant: MerchantId,
    customer: CustomerId,
) -> Result<SignedIn, ApiError> {
    let claims = CustomerSession { merchant, customer };
    Ok(SignedIn {
        customer_id: customer,
        sign_in_token: bearer::issue(state, SIGN_IN_TOKEN, &claims, SIGN_IN_TTL).await?,
        expires_in: SIGN_IN_TTL.as_secs(),
    })
}

/// Creates a customer and their account in the merchant's program.
#[utoipa::path(tag = "customers", request_body = SignUpRequest,
    responses(
        (status = 201, body = SignedIn, description = "Signed up and signed in: a sign-in token that registers one device"),
        (status = 401, description = "The email exists with another password (invalid-credentials)"),
        (status = 404, description = "No such merchant"),
        (status = 422, description = "Email or password refused (validation-failed)"),
        (status = 429, description = "Too many attempts (rate-limited)")))]
#[post("/v1/customers/sign-up")]
pub async fn sign_up(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SignUpRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let email = Email::parse(&body.email)
        .map_err(|e| ApiError::client(ProblemType::BadRequest, e.to_string()))?;
    let display_name = body.display_name.trim().to_owned();
    // Control characters are refused: Postgres text cannot hold a NUL byte,
    // and a name is shown to cashiers.
    if display_name.is_empty()
        || display_name.chars().count() > 200
        || display_name.chars().any(char::is_control)
    {
        return Err(ApiError::client(
            ProblemType::BadRequest,
            "display_name must be 1 to 200 printable characters",
        ));
    }
    limit(&state, &req, body.merchant_id, &email).await?;
    let password = Password::new(&body.password)
        .map_err(|e| ApiError::client(ProblemType::BadRequest, e.to_string()))?;

    let merchant = Uuid::from(body.merchant_id);
    let mut conn = state.db_conn().await?;
    let program: Uuid = programs::table
        .filter(programs::merchant_id.eq(merchant))
        .select(programs::id)
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::client(ProblemType::NotFound, "no such merchant"))?;

    let hash = blocking(move || password::hash(&password))
        .await?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let customer = Uuid::now_v7();
    // The customer and the account together: a sign-up that fails half-way
    // (a 503, retried) leaves no customer without an account behind.
    let created: Option<Uuid> = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let created = diesel::insert_into(customers::table)
                .values((
                    customers::merchant_id.eq(merchant),
                    customers::id.eq(customer),
                    customers::email.eq(email.as_str()),
                    customers::display_name.eq(&display_name),
                    customers::password_hash.eq(&hash),
                    customers::password_changed_at.eq(diesel::dsl::now),
                ))
                .on_conflict_do_nothing()
                .returning(customers::id)
                .get_result(conn)
                .await
                .optional()?;
            if created.is_some() {
                diesel::insert_into(accounts::table)
                    .values((
                        accounts::merchant_id.eq(merchant),
                        accounts::id.eq(Uuid::now_v7()),
                        accounts::program_id.eq(program),
                        accounts::customer_id.eq(customer),
                    ))
                    .execute(conn)
                    .await?;
            }
            Ok(created)
        })
        .await?;
    let Some(customer) = created else {
        // The email is taken: answer as sign-in would, so signing up again
        // with the right password simply signs in.
        let response =
            sign_in_checked(&state, &mut conn, body.merchant_id, &email, body.password).await?;
        return Ok(HttpResponse::Ok().json(response));
    };
    tracing::info!(%merchant, %customer, "customer signed up");
    Ok(HttpResponse::Created().json(signed_in(&state, body.merchant_id, customer.into()).await?))
}

/// Checks email and password; answers with a sign-in token.
#[utoipa::path(operation_id = "customer_sign_in", tag = "customers", request_body = SignInRequest,
    responses(
        (status = 200, body = SignedIn, description = "Signed in: a sign-in token that registers one device"),
        (status = 401, description = "Wrong email or password (invalid-credentials)"),
        (status = 429, description = "Too many attempts (rate-limited)")))]
#[post("/v1/customers/sign-in")]
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SignInRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let Ok(email) = Email::parse(&body.email) else {
        return Err(invalid_credentials());
    };
    limit(&state, &req, body.merchant_id, &email).await?;
    let mut conn = state.db_conn().await?;
    let response =
        sign_in_checked(&state, &mut conn, body.merchant_id, &email, body.password).await?;
    Ok(HttpResponse::Ok().json(response))
}

async fn sign_in_checked(
    state: &AppState,
    conn: &mut crate::db::DbConn,
    merchant: MerchantId,
    email: &Email,
    password: String,
) -> Result<SignedIn, ApiError> {
    let found: Option<(Uuid, Option<String>)> = customers::table
        .filter(customers::merchant_id.eq(Uuid::from(merchant)))
        .filter(customers::email.eq(email.as_str()))
        .select((customers::id, customers::password_hash))
        .first(conn)
        .await
        .optional()?;
    let (customer, stored) = match found {
        Some((id, hash)) => (Some(id), hash),
        None => (None, None),
    };
    let matches = blocking(move || password::verify(&password, stored.as_deref())).await?;
    match customer {
        Some(customer) if matches => {
            rate_limit::reset(state, &PER_EMAIL, &format!("{merchant}/{}", email.as_str())).await?;
            signed_in(state, merchant, customer.into()).await
        }
        _ => Err(invalid_credentials()),
    }
}
