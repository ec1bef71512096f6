//! `POST /v1/accruals`: earn on a purchase, identified by a scanned code or
//! by the customer's id (a loyalty card looked up at the till).

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::post;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use tillcode_protocol::till_requests::AccrueRequest;
use tillcode_protocol::{AccountId, Amount, ProblemType};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{SignedCall, amount, customer_of, reference, signed_call};
use crate::codes::{CodeWindows, release_after, verify_code};
use crate::error::ApiError;
use crate::fraud;
use crate::ledger::{LedgerError, Operation, Posted, Posting};
use crate::schema::accounts;
use crate::state::AppState;
use crate::terminals::auth::Require;

#[derive(Serialize, ToSchema)]
pub struct Accrual {
    pub accrual_id: Uuid,
    pub amount: i64,
    pub balance_after: i64,
    #[schema(example = "Ana B.")]
    pub customer: String,
    pub replayed: bool,
}

/// Credits a customer for a purchase.
#[utoipa::path(tag = "till", request_body = AccrueRequest,
    security(("terminal_signature" = [])),
    params(("Idempotency-Key" = String, Header)),
    responses(
        (status = 201, body = Accrual, description = "Credited, or the stored answer to a retry (replayed)"),
        (status = 404, description = "No such customer at this merchant (account-not-found)"),
        (status = 409, description = "request-in-flight: a copy of this request with the same Idempotency-Key is still being posted; retry after Retry-After",
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying with the same Idempotency-Key"))),
        (status = 422, description = "A refused code, amount-invalid, balance-limit")))]
#[post("/v1/accruals")]
pub async fn accrue(
    state: web::Data<AppState>,
    req: HttpRequest,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let call: SignedCall<AccrueRequest> =
        signed_call(&state, &req, &bytes, Require::Active).await?;
    let credit = amount("amount", call.body.amount)?;
    let reference = reference(call.body.reference.clone())?;
    let merchant = call.terminal.merchant;
    let posted = match call.stored_answer(&state).await? {
        Some(posted) => posted,
        None => post(&state, &call, credit, reference).await?,
    };
    let customer = customer_of(&state, merchant.into(), posted.transfer.account).await?;
    Ok(HttpResponse::Created().json(Accrual {
        accrual_id: posted.transfer.id.into(),
        amount: posted.transfer.balance_change,
        balance_after: posted.transfer.balance_after,
        customer,
        replayed: posted.replayed,
    }))
}

/// The accrual of a request with no stored answer yet.
async fn post(
    state: &AppState,
    call: &SignedCall<AccrueRequest>,
    credit: Amount,
    reference: Option<String>,
) -> Result<Posted, ApiError> {
    let merchant = call.terminal.merchant;
    let (account, code) = match (&call.body.code, call.body.customer_id) {
        (Some(code), None) => {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default();
            let verdict = verify_code(
                state,
                merchant,
                code,
                now_ms,
                CodeWindows::default(),
                call.claimant,
            )
            .await?;
            match verdict {
                Ok(verified) => (verified.account, Some(verified.claim)),
                // A copy of this request that committed since the stored
                // answer was read has spent the code: answer as it was.
                Err(rejection) => {
                    if let Some(posted) = call.stored_answer(state).await? {
                        return Ok(posted);
                    }
                    let seen = fraud::Seen {
                        code_kind: fraud::claimed_kind(code),
                        ..Default::default()
                    };
                    return Err(call.refused(state, "accrue", rejection.into(), seen).await);
                }
            }
        }
        (None, Some(customer)) => (account_of(state, merchant.into(), customer).await?, None),
        _ => {
            return Err(ApiError::client(
                ProblemType::BadRequest,
                "give exactly one of code and customer_id",
            ));
        }
    };
    let posting = Posting {
        merchant,
        caller: call.terminal.id.into(),
        key: call.key.clone(),
        operation: Operation::Accrue {
            account,
            amount: credit,
        },
        code,
        context: Some(call.context(reference)),
        request_fingerprint: Some(call.request_hash),
    };
    let code = posting.code.clone();
    let posted = match state.ledger.post(posting).await {
        Ok(posted) => posted,
        Err(e) => {
            let e = ApiError::from(e);
            if let Some(code) = &code {
                release_after(state, code, call.claimant, e.kind()).await;
            }
            return Err(e);
        }
    };
    if !posted.replayed {
        call.succeeded(state, "accrue", code.map(|c| c.kind), credit.get());
    }
    Ok(posted)
}

async fn account_of(
    state: &AppState,
    merchant: Uuid,
    customer: Uuid,
) -> Result<AccountId, ApiError> {
    let mut conn = state.db_conn().await?;
    let account: Option<Uuid> = accounts::table
        .filter(accounts::merchant_id.eq(merchant))
        .filter(accounts::customer_id.eq(customer))
        .select(accounts::id)
        .first(&mut conn)
        .await
        .optional()?;
    account
        .map(AccountId::from)
        .ok_or_else(|| LedgerError::AccountNotFound.into())
}
