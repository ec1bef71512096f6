//! `POST /v1/redemptions`: the till's main call. The customer's code is
//! verified (freshness, signature, replay), then one statement debits the
//! balance, records the code as spent, the idempotency key, where the sale
//! happened, and any earning on the rest of the purchase.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix_web::post;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use tillcode_protocol::till_requests::RedeemRequest;
use tillcode_protocol::{AccountId, Amount, ProblemType};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{SignedCall, amount, customer_of, masked_name, reference, signed_call};
use crate::codes::{CodeWindows, VerifiedCode, release_after, verify_code};
use crate::error::ApiError;
use crate::fraud;
use crate::ledger::{self, LedgerError, Operation, Posted, Posting};
use crate::state::AppState;
use crate::terminals::auth::Require;

#[derive(Serialize, ToSchema)]
pub struct Earned {
    pub accrual_id: Uuid,
    pub amount: i64,
    pub balance_after: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Redemption {
    pub redemption_id: Uuid,
    pub amount: i64,
    /// The balance after the redemption (and before any earning).
    pub balance_after: i64,
    pub earned: Option<Earned>,
    /// The customer's name as a cashier may see it: "Ana B.".
    #[schema(example = "Ana B.")]
    pub customer: String,
    /// `online`, `offline` or `numeric`, also on a replayed answer.
    pub code_kind: Option<&'static str>,
    /// True when this is the stored answer to an earlier request with the
    /// same idempotency key: nothing was charged again.
    pub replayed: bool,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn answer(posted: Posted, customer: String) -> HttpResponse {
    HttpResponse::Created().json(Redemption {
        redemption_id: posted.transfer.id.into(),
        amount: -posted.transfer.balance_change,
        balance_after: posted.transfer.balance_after,
        earned: posted.earned.map(|e| Earned {
            accrual_id: e.id.into(),
            amount: e.balance_change,
            balance_after: e.balance_after,
        }),
        customer,
        code_kind: posted.code_kind.map(|k| k.as_str()),
        replayed: posted.replayed,
    })
}

async fn replayed(
    state: &AppState,
    call: &SignedCall<RedeemRequest>,
    posted: Posted,
) -> Result<HttpResponse, ApiError> {
    let customer = customer_of(
        state,
        call.terminal.merchant.into(),
        posted.transfer.account,
    )
    .await?;
    Ok(answer(posted, customer))
}

/// What the till asked for, parsed.
struct Sale {
    spend: Amount,
    earn: Option<Amount>,
    reference: Option<String>,
}

/// Redeems a customer's code.
#[utoipa::path(tag = "till", request_body = RedeemRequest,
    security(("terminal_signature" = [])),
    params(("Idempotency-Key" = String, Header, description = "Unique per sale; reuse it to retry")),
    responses(
        (status = 201, body = Redemption, description = "Redeemed, or the stored answer to a retry (replayed)"),
        (status = 400, description = "idempotency-key-missing, validation-failed"),
        (status = 401, description = "signature-missing, signature-invalid, signature-expired, signature-replayed, digest-mismatch, terminal-not-active"),
        (status = 422, description = "malformed-code, unknown-device, device-revoked, bad-code-signature, code-expired, code-not-yet-valid, code-replayed, code-superseded, wrong-merchant, insufficient-balance, amount-invalid, idempotency-key-reused"),
        (status = 409, description = "request-in-flight: a copy of this request with the same Idempotency-Key is still being posted; retry after Retry-After",
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying with the same Idempotency-Key"))),
        (status = 423, description = "locked: numeric codes of this device are locked"),
        (status = 429, description = "velocity-limit: the customer, device or terminal passed the merchant's redemption count or amount for the window")))]
#[post("/v1/redemptions")]
pub async fn redeem(
    state: web::Data<AppState>,
    req: HttpRequest,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let call: SignedCall<RedeemRequest> =
        signed_call(&state, &req, &bytes, Require::ActiveAtPosting).await?;
    let spend = amount("amount", call.body.amount)?;
    let earn = call.body.earn.map(|e| amount("earn", e)).transpose()?;
    let reference = reference(call.body.reference.clone())?;
    let merchant = call.terminal.merchant;
    let claimed = fraud::claimed_kind(&call.body.code);
    let refused_code = || fraud::Seen {
        code_kind: claimed,
        ..Default::default()
    };
    let started = Instant::now();
    let verdict = verify_code(
        &state,
        merchant,
        &call.body.code,
        now_ms(),
        CodeWindows::default(),
        call.claimant,
    )
    .await?;
    if let Some(kind) = claimed {
        let seconds = started.elapsed().as_secs_f64();
        state
            .metrics
            .code_verification
            .with_label_values(&[kind.as_str()])
            .observe(seconds);
    }
    let verified = match verdict {
        Ok(verified) => verified,
        // A retry is answered from the record: its code was spent by the
        // first try (or has expired since), so it never verifies again. The
        // record is only read when the code is refused, which keeps that
        // read off the path of every first attempt.
        Err(rejection) => {
            call.require_active(&state).await?;
            return match call.stored_answer(&state).await? {
                Some(posted) => replayed(&state, &call, posted).await,
                None => Err(call
                    .refused(&state, "redeem", rejection.into(), refused_code())
                    .await),
            };
        }
    };
    let sale = Sale {
        spend,
        earn,
        reference,
    };
    match pay(&state, &call, &verified, sale).await {
        Ok(response) => Ok(response),
        // Only a debit that commits spends the customer's code: after any
        // other outcome the code is good for the next try within its life.
        Err(error) => {
            release_after(&state, &verified.claim, call.claimant, error.kind()).await;
            Err(error)
        }
    }
}

/// The sale once its code is verified: the velocity limits, then the debit.
async fn pay(
    state: &AppState,
    call: &SignedCall<RedeemRequest>,
    verified: &VerifiedCode,
    sale: Sale,
) -> Result<HttpResponse, ApiError> {
    let merchant = call.terminal.merchant;
    let seen = || fraud::Seen {
        code_kind: Some(verified.kind),
        customer: Some(verified.customer),
        device: Some(verified.device),
        ..Default::default()
    };
    let settings = state.settings.get(state, merchant).await?;
    let who = fraud::velocity::Subjects {
        customer: verified.customer,
        device: verified.device,
        terminal: call.terminal.id,
    };
    let spend = sale.spend.get();
    let admitted = match fraud::velocity::admit(state, &settings, &who, spend, call.claimant).await
    {
        Ok(admitted) => admitted,
        Err(e) if e.kind() == ProblemType::VelocityLimit => {
            // A cashier reads the balance first: an amount above it is
            // answered as such, with the balance the till may offer.
            let e = match over_balance(state, call, verified.account, spend).await? {
                Some(insufficient) => insufficient,
                None => e,
            };
            return Err(call.refused(state, "redeem", e, seen()).await);
        }
        Err(e) => return Err(e),
    };
    let operation = match sale.earn {
        None => Operation::Redeem {
            account: verified.account,
            amount: sale.spend,
        },
        Some(earn) => Operation::RedeemAndEarn {
            account: verified.account,
            amount: sale.spend,
            earn,
        },
    };
    let posting = Posting {
        merchant,
        caller: call.terminal.id.into(),
        key: call.key.clone(),
        operation,
        code: Some(verified.claim.clone()),
        context: Some(call.context(sale.reference)),
        request_fingerprint: Some(call.request_hash),
    };
    let posted = match state.ledger.post(posting).await {
        Ok(posted) => posted,
        Err(e) => {
            if e.is_refusal() {
                admitted.take_back(state).await;
            }
            return Err(call.refused(state, "redeem", e.into(), seen()).await);
        }
    };
    if !posted.replayed {
        call.succeeded(state, "redeem", Some(verified.kind), spend);
        tracing::info!(
            merchant = %merchant, terminal = %call.terminal.id, redemption = %posted.transfer.id,
            code_kind = verified.kind.as_str(), "redeemed"
        );
    }
    Ok(answer(posted, masked_name(&verified.customer_name)))
}

/// `insufficient-balance` when `spend` is above the account's balance.
async fn over_balance(
    state: &AppState,
    call: &SignedCall<RedeemRequest>,
    account: AccountId,
    spend: i64,
) -> Result<Option<ApiError>, ApiError> {
    let mut conn = state.db_conn().await?;
    let balance = ledger::balance_of(&mut conn, call.terminal.merchant.into(), account)
        .await
        .map_err(ApiError::from)?;
    Ok(balance
        .filter(|&available| available < spend)
        .map(|available| LedgerError::InsufficientBalance { available }.into()))
}
