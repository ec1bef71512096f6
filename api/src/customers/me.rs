//! What a customer's device may see and change about its customer: balance,
//! history, password.

use actix_web::{HttpResponse, web};
use actix_web::{get, post};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use tillcode_protocol::ProblemType;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::session::DeviceSession;
use crate::devices::manage::{Which, forget_revoked, mark_revoked};
use crate::error::ApiError;
use crate::password::{self, Password};
use crate::schema::{accounts, customers, ledger_transfers, programs};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"account_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8fa0", "balance": 120, "unit": "points", "minor_units": 0}))]
pub struct Balance {
    pub account_id: Uuid,
    /// In the program's unit: points, or minor units of `unit`.
    pub balance: i64,
    #[schema(example = "points")]
    pub unit: String,
    pub minor_units: i16,
}

/// The customer's balance.
#[utoipa::path(tag = "customers", security(("device_session" = [])),
    responses((status = 200, body = Balance, description = "The customer's balance")))]
#[get("/v1/me/balance")]
pub async fn balance(
    state: web::Data<AppState>,
    session: DeviceSession,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db_conn().await?;
    let (account_id, balance, unit, minor_units): (Uuid, i64, String, i16) = accounts::table
        .inner_join(
            programs::table.on(programs::merchant_id
                .eq(accounts::merchant_id)
                .and(programs::id.eq(accounts::program_id))),
        )
        .filter(accounts::merchant_id.eq(Uuid::from(session.merchant)))
        .filter(accounts::customer_id.eq(Uuid::from(session.customer)))
        .select((
            accounts::id,
            accounts::balance,
            programs::unit,
            programs::minor_units,
        ))
        .first(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(Balance {
        account_id,
        balance,
        unit,
        minor_units,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// 1 to 100, default 20.
    limit: Option<i64>,
    /// The last `transfer_id` of the previous page.
    starting_after: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
// The dashboard has its own HistoryItem: one name per schema in the document.
#[schema(as = CustomerHistoryItem)]
pub struct HistoryItem {
    pub transfer_id: Uuid,
    #[schema(example = "redeem")]
    pub kind: String,
    pub balance_change: i64,
    pub balance_after: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = CustomerHistoryPage)]
pub struct HistoryPage {
    pub items: Vec<HistoryItem>,
    /// Pass as `starting_after` for the next page; null on the last one.
    pub next_cursor: Option<Uuid>,
}

/// The customer's ledger history, newest first, a page at a time.
#[utoipa::path(operation_id = "customer_history", tag = "customers", security(("device_session" = [])),
    params(HistoryQuery), responses((status = 200, body = HistoryPage, description = "One page of the customer's history, newest first")))]
#[get("/v1/me/history")]
pub async fn history(
    state: web::Data<AppState>,
    session: DeviceSession,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::client(
            ProblemType::BadRequest,
            "limit must be 1 to 100",
        ));
    }
    let merchant = Uuid::from(session.merchant);
    let mut conn = state.db_conn().await?;
    let account: Uuid = accounts::table
        .filter(accounts::merchant_id.eq(merchant))
        .filter(accounts::customer_id.eq(Uuid::from(session.customer)))
        .select(accounts::id)
        .first(&mut conn)
        .await?;
    // Transfer ids are UUIDv7: ordering by id is ordering by time, and a
    // cursor is just the last id seen.
    let mut page = ledger_transfers::table
        .filter(ledger_transfers::merchant_id.eq(merchant))
        .filter(ledger_transfers::account_id.eq(account))
        .order(ledger_transfers::id.desc())
        .limit(limit + 1)
        .select((
            ledger_transfers::id,
            ledger_transfers::kind,
            ledger_transfers::balance_change,
            ledger_transfers::balance_after,
            ledger_transfers::created_at,
        ))
        .into_boxed();
    if let Some(cursor) = query.starting_after {
        page = page.filter(ledger_transfers::id.lt(cursor));
    }
    let mut rows: Vec<(Uuid, String, i64, i64, DateTime<Utc>)> = page.load(&mut conn).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| r.0) } else { None };
    let items = rows
        .into_iter()
        .map(
            |(transfer_id, kind, balance_change, balance_after, created_at)| HistoryItem {
                transfer_id,
                kind,
                balance_change,
                balance_after,
                created_at,
            },
        )
        .collect();
    Ok(HttpResponse::Ok().json(HistoryPage { items, next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"current_password": "correct horse battery staple", "new_password": "a longer passphrase for Ana"}))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// Changes the password and revokes every other device of the customer
/// (their keys, numeric-code secrets, sessions and online keys): whoever
/// knew the old password keeps nothing.
#[utoipa::path(tag = "customers", security(("device_session" = [])),
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Password changed; other sessions end"),
        (status = 401, description = "The current password is wrong (invalid-credentials)"),
        (status = 422, description = "The new password is refused (validation-failed)")))]
#[post("/v1/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    session: DeviceSession,
    body: web::Json<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = Password::new(&body.new_password)
        .map_err(|e| ApiError::client(ProblemType::BadRequest, e.to_string()))?;
    let merchant = Uuid::from(session.merchant);
    let customer = Uuid::from(session.customer);
    let mut conn = state.db_conn().await?;
    let stored: Option<String> = customers::table
        .find((merchant, customer))
        .select(customers::password_hash)
        .first(&mut conn)
        .await?;
    let current = body.current_password;
    let (matches, hash) = tokio::task::spawn_blocking(move || {
        let matches = password::verify(&current, stored.as_deref());
        (matches, matches.then(|| password::hash(&new)))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !matches {
        return Err(ApiError::client(
            ProblemType::InvalidCredentials,
            "the current password is wrong",
        ));
    }
    let hash = hash
        .ok_or_else(|| ApiError::Internal("no hash".into()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // The new password and the other devices' revocation together: a
    // change that fails half-way (a 503) must not leave the old password's
    // devices in, nor the retry refused for a password already changed.
    let revoked = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            diesel::update(customers::table.find((merchant, customer)))
                .set((
                    customers::password_hash.eq(hash),
                    customers::password_changed_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            mark_revoked(conn, &session, Which::AllBut(session.device)).await
        })
        .await?;
    drop(conn);
    forget_revoked(&state, &session, &revoked).await?;
    Ok(HttpResponse::NoContent().finish())
}
