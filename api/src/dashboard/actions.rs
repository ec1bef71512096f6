//! Dashboard actions on a customer: a balance adjustment with a reason (the
//! ledger's ADJUST, recorded with the staff member as actor), and unlocking
//! a device's numeric-code fallback after too many wrong codes.

use actix_web::post;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tillcode_protocol::{AccountId, ProblemType};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::error::ApiError;
use crate::ledger::{self, Direction, Note, Operation, Posting};
use crate::schema::{accounts, devices};
use crate::staff::session::StaffSession;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(adjust).service(unlock_numeric);
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"direction": "credit", "amount": 50, "reason": "goodwill: till was offline"}))]
#[serde(deny_unknown_fields)]
pub struct AdjustRequest {
    /// `credit` or `debit`.
    direction: Direction,
    #[schema(value_type = i64, example = 50)]
    amount: i128,
    /// Why, for the audit trail; shown in the customer's history.
    #[schema(example = "goodwill: till was offline")]
    reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct Adjusted {
    pub adjustment_id: Uuid,
    pub balance_after: i64,
    pub replayed: bool,
}

/// Adjusts a customer's balance (owners and managers).
#[utoipa::path(tag = "dashboard",
    params(("customer_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = AdjustRequest,
    responses(
        (status = 201, body = Adjusted, description = "The adjustment, posted once"),
        (status = 403, description = "forbidden: a viewer, or no CSRF token"),
        (status = 422, description = "insufficient-balance for a debit below zero, amount-invalid, missing-reason")))]
#[post("/v1/dashboard/customers/{customer_id}/adjust")]
pub async fn adjust(
    state: web::Data<AppState>,
    session: StaffSession,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Json<AdjustRequest>,
) -> Result<HttpResponse, ApiError> {
    session.require_change()?;
    let key = crate::redemptions::idempotency_key(&req)?;
    let amount = crate::redemptions::amount("amount", body.amount)?;
    let reason = Note::reason(&body.reason)
        .map_err(|e| ApiError::client(ProblemType::MissingReason, e.to_string()))?;
    let actor = Note::actor(&format!("staff:{}", session.staff))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let merchant = Uuid::from(session.merchant);
    let mut conn = state.db_conn().await?;
    let account: Uuid = accounts::table
        .filter(accounts::merchant_id.eq(merchant))
        .filter(accounts::customer_id.eq(path.into_inner()))
        .select(accounts::id)
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| {
            ApiError::client(
                ProblemType::AccountNotFound,
                "no such customer at this merchant",
            )
        })?;
    let posting = Posting {
        merchant: session.merchant,
        caller: session.staff.into(),
        key,
        operation: Operation::Adjust {
            account: AccountId::from(account),
            direction: body.direction,
            amount,
            reason,
            actor,
        },
        code: None,
        context: None,
        request_fingerprint: None,
    };
    let posted = ledger::post(&mut conn, &posting).await?;
    Ok(HttpResponse::Created().json(Adjusted {
        adjustment_id: posted.transfer.id.into(),
        balance_after: posted.transfer.balance_after,
        replayed: posted.replayed,
    }))
}

/// Unlocks a device's numeric codes after too many wrong ones (owners and managers).
#[utoipa::path(tag = "dashboard",
    params(("device_id" = Uuid, Path)),
    responses((status = 204, description = "Numeric codes of the device unlocked"), (status = 403, description = "forbidden"), (status = 404, description = "not-found")))]
#[post("/v1/dashboard/devices/{device_id}/unlock")]
pub async fn unlock_numeric(
    state: web::Data<AppState>,
    session: StaffSession,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    session.require_change()?;
    let device = path.into_inner();
    let exists: bool = diesel::select(diesel::dsl::exists(
        devices::table.find((Uuid::from(session.merchant), device)),
    ))
    .get_result(&mut *state.db_conn().await?)
    .await?;
    if !exists {
        return Err(ApiError::client(
            ProblemType::NotFound,
            "no such device at this merchant",
        ));
    }
    let mut conn = state.redis_conn().await?;
    conn.del::<_, ()>(crate::codes::verify::numeric_failures_key(&state, device))
        .await
        .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?;
    tracing::info!(merchant = %session.merchant, staff = %session.staff, %device, "numeric codes unlocked");
    Ok(HttpResponse::NoContent().finish())
}
