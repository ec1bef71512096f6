//! `POST /v1/redemptions/{id}/void` and `POST /v1/redemptions/{id}/refunds`:
//! giving back what a redemption took, all of it once (void) or in parts
//! that never add up to more (refunds).

use actix_web::post;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use tillcode_protocol::TransferId;
use tillcode_protocol::till_requests::{RefundRequest, VoidRequest};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{SignedCall, amount, signed_call};
use crate::error::ApiError;
use crate::ledger::{Operation, Posted, Posting};
use crate::state::AppState;
use crate::terminals::auth::Require;

#[derive(Serialize, ToSchema)]
pub struct Void {
    pub void_id: Uuid,
    pub redemption_id: Uuid,
    /// Given back: all the redemption took.
    pub amount: i64,
    pub balance_after: i64,
    pub replayed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Refund {
    pub refund_id: Uuid,
    pub redemption_id: Uuid,
    pub amount: i64,
    pub balance_after: i64,
    pub replayed: bool,
}

async fn post_reversal<T>(
    state: &AppState,
    call: &SignedCall<T>,
    operation: Operation,
) -> Result<Posted, ApiError> {
    Ok(match call.stored_answer(state).await? {
        Some(posted) => posted,
        None => {
            let posting = Posting {
                merchant: call.terminal.merchant,
                caller: call.terminal.id.into(),
                key: call.key.clone(),
                operation,
                code: None,
                context: Some(call.context(None)),
                request_fingerprint: Some(call.request_hash),
            };
            state.ledger.post(posting).await?
        }
    })
}

/// Voids a whole redemption, once.
#[utoipa::path(tag = "till", request_body = VoidRequest,
    security(("terminal_signature" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses(
        (status = 201, body = Void, description = "Voided, or the stored answer to a retry"),
        (status = 404, description = "transfer-not-found"),
        (status = 409, description = "already-voided, redemption-has-refunds")))]
#[post("/v1/redemptions/{id}/void")]
pub async fn void(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let call: SignedCall<VoidRequest> = signed_call(&state, &req, &bytes, Require::Active).await?;
    let redemption = TransferId::from(path.into_inner());
    let posted = post_reversal(&state, &call, Operation::Void { redemption }).await?;
    Ok(HttpResponse::Created().json(Void {
        void_id: posted.transfer.id.into(),
        redemption_id: redemption.into(),
        amount: posted.transfer.balance_change,
        balance_after: posted.transfer.balance_after,
        replayed: posted.replayed,
    }))
}

/// Refunds part of a redemption.
#[utoipa::path(tag = "till", request_body = RefundRequest,
    security(("terminal_signature" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses(
        (status = 201, body = Refund, description = "Refunded, or the stored answer to a retry"),
        (status = 404, description = "transfer-not-found"),
        (status = 409, description = "already-voided"),
        (status = 422, description = "refund-exceeds-redemption, amount-invalid")))]
#[post("/v1/redemptions/{id}/refunds")]
pub async fn refund(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let call: SignedCall<RefundRequest> =
        signed_call(&state, &req, &bytes, Require::Active).await?;
    let refund = amount("amount", call.body.amount)?;
    let redemption = TransferId::from(path.into_inner());
    let operation = Operation::Refund {
        redemption,
        amount: refund,
    };
    let posted = post_reversal(&state, &call, operation).await?;
    Ok(HttpResponse::Created().json(Refund {
        refund_id: posted.transfer.id.into(),
        redemption_id: redemption.into(),
        amount: posted.transfer.balance_change,
        balance_after: posted.transfer.balance_after,
        replayed: posted.replayed,
    }))
}
