//! What a cashier's terminal does at the till: redeem (and earn in the same
//! sale), accrue, void, refund, and list its own recent transactions. Every
//! request is signed by the terminal (RFC 9421) and every change carries an
//! `Idempotency-Key`, so a retry after a timeout never charges twice.
//!
//! All of them write through `ledger::post`, the one place that debits.

pub mod accrue;
pub mod recent;
pub mod redeem;
pub mod reverse;

#[cfg(test)]
mod copies_tests;
#[cfg(test)]
mod refusals_tests;
#[cfg(test)]
mod tests;

use actix_web::HttpRequest;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tillcode_protocol::{AccountId, Amount, ProblemType};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::codes::Claimant;
use crate::error::ApiError;
use crate::fraud;
use crate::ledger::{self, IdempotencyKey, Posted};
use crate::schema::{accounts, customers};
use crate::state::AppState;
use crate::terminals::auth::{Require, Terminal, authenticate};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(redeem::redeem)
        .service(accrue::accrue)
        .service(reverse::void)
        .service(reverse::refund)
        .service(recent::recent);
}

/// A signed, idempotent terminal request with its parsed body.
pub struct SignedCall<T> {
    pub terminal: Terminal,
    pub key: IdempotencyKey,
    pub body: T,
    /// What a retry must repeat exactly: method, path and body bytes.
    pub request_hash: [u8; 32],
    /// Who this request is when it marks a customer's code: its copies and
    /// retries are the same claimant, any other request is not.
    pub claimant: Claimant,
    /// Set once [`SignedCall::require_active`] found the terminal active,
    /// so that a refusal reads the status once, not once per step.
    active_confirmed: std::sync::OnceLock<()>,
}

/// Authenticates the terminal (`require`: `Active`, or `ActiveAtPosting`
/// for a call whose every answer goes through a posting or
/// [`SignedCall::refused`]), requires an `Idempotency-Key`, and parses the
/// body (unknown fields refused).
pub async fn signed_call<T: DeserializeOwned>(
    state: &AppState,
    req: &HttpRequest,
    bytes: &[u8],
    require: Require,
) -> Result<SignedCall<T>, ApiError> {
    let terminal = authenticate(state, req, bytes, require).await?;
    crate::http_limits::require_json_body(req, bytes)?;
    let key = idempotency_key(req)?;
    let body: T = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::client(ProblemType::BadRequest, format!("invalid JSON body: {e}"))
    })?;
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(req.uri().path().as_bytes());
    hasher.update(b"\n");
    hasher.update(bytes);
    let request_hash: [u8; 32] = hasher.finalize().into();
    let claimant = Claimant::of_request(terminal.id, key.as_str(), &request_hash);
    Ok(SignedCall {
        terminal,
        key,
        body,
        request_hash,
        claimant,
        active_confirmed: std::sync::OnceLock::new(),
    })
}

impl<T> SignedCall<T> {
    /// Counts and records a refusal of this call (`operation`: `redeem` or
    /// `accrue`), then hands the error back for the answer.
    pub async fn refused(
        &self,
        state: &AppState,
        operation: &str,
        error: ApiError,
        seen: fraud::Seen,
    ) -> ApiError {
        if let Err(not_active) = self.require_active(state).await {
            return not_active;
        }
        let kind = seen.code_kind.map_or("none", |k| k.as_str());
        state
            .metrics
            .sales
            .with_label_values(&[operation, error.kind().slug(), kind])
            .inc();
        let seen = fraud::Seen {
            store: Some(self.terminal.store),
            terminal: Some(self.terminal.id),
            ..seen
        };
        fraud::record(state, Some(self.terminal.merchant), error.kind(), seen).await;
        if fraud::is_bad_code(error.kind())
            && let Err(e) = self.suspend_if_too_many_bad_codes(state).await
        {
            tracing::error!(terminal = %self.terminal.id, error = %e, "could not check bad codes");
        }
        error
    }

    /// Refuses the call unless its terminal is active now; a no-op when the
    /// status was read at authentication (see `Require::ActiveAtPosting`).
    pub async fn require_active(&self, state: &AppState) -> Result<(), ApiError> {
        if self.active_confirmed.get().is_none() {
            crate::terminals::auth::require_active(state, &self.terminal).await?;
            let _ = self.active_confirmed.set(());
        }
        Ok(())
    }

    /// A terminal that keeps submitting refused codes is suspended until a
    /// manager resumes it (`admin approve-terminal` or the dashboard).
    async fn suspend_if_too_many_bad_codes(&self, state: &AppState) -> Result<(), ApiError> {
        let settings = state.settings.get(state, self.terminal.merchant).await?;
        if !fraud::velocity::bad_code_crosses_threshold(state, &settings, self.terminal.id).await? {
            return Ok(());
        }
        let mut conn = state.db_conn().await?;
        let suspended = crate::terminals::enrollment::set_status(
            &mut conn,
            Some(self.terminal.merchant),
            self.terminal.id,
            crate::terminals::enrollment::TerminalAction::Suspend,
            "auto: too many refused codes",
        )
        .await?;
        if suspended.is_some() {
            tracing::warn!(terminal = %self.terminal.id, "terminal suspended after too many refused codes");
            let seen = fraud::Seen {
                store: Some(self.terminal.store),
                terminal: Some(self.terminal.id),
                ..Default::default()
            };
            fraud::record_slug(
                state,
                Some(self.terminal.merchant),
                fraud::TERMINAL_AUTO_SUSPENDED,
                seen,
            )
            .await;
        }
        Ok(())
    }

    /// Counts a sale that went through.
    pub fn succeeded(
        &self,
        state: &AppState,
        operation: &str,
        code_kind: Option<tillcode_protocol::CodeKind>,
        amount: i64,
    ) {
        let kind = code_kind.map_or("none", |k| k.as_str());
        state
            .metrics
            .sales
            .with_label_values(&[operation, "ok", kind])
            .inc();
        state
            .metrics
            .sale_amount
            .with_label_values(&[operation])
            .observe(amount as f64);
    }

    /// The answer an earlier request with this key got, if any.
    pub async fn stored_answer(&self, state: &AppState) -> Result<Option<Posted>, ApiError> {
        let mut conn = state.db_conn().await?;
        Ok(ledger::stored_answer(
            &mut conn,
            self.terminal.merchant,
            self.terminal.id.into(),
            &self.key,
            &self.request_hash,
        )
        .await?)
    }

    pub fn context(&self, reference: Option<String>) -> ledger::SaleContext {
        ledger::SaleContext {
            store: self.terminal.store,
            terminal: self.terminal.id,
            reference,
        }
    }
}

/// The required `Idempotency-Key` header, parsed.
pub fn idempotency_key(req: &HttpRequest) -> Result<IdempotencyKey, ApiError> {
    req.headers()
        .get("idempotency-key")
        .ok_or_else(|| {
            ApiError::client(
                ProblemType::IdempotencyKeyMissing,
                "send an Idempotency-Key header",
            )
        })?
        .to_str()
        .ok()
        .and_then(|k| IdempotencyKey::parse(k).ok())
        .ok_or_else(|| {
            ApiError::client(
                ProblemType::BadRequest,
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        })
}

/// An amount from a request body: any integer is read, so that a value
/// beyond i64 is refused as `amount-invalid` rather than as bad JSON.
pub fn amount(field: &str, raw: i128) -> Result<Amount, ApiError> {
    Amount::try_from(raw)
        .map_err(|e| ApiError::client(ProblemType::InvalidAmount, format!("{field}: {e}")))
}

pub fn reference(raw: Option<String>) -> Result<Option<String>, ApiError> {
    match raw {
        Some(r) if r.is_empty() || r.chars().count() > 64 || r.chars().any(char::is_control) => {
            Err(ApiError::client(
                ProblemType::BadRequest,
                "reference must be 1 to 64 printable characters",
            ))
        }
        other => Ok(other),
    }
}

/// What a cashier may see of a customer's name: the first word, then
/// initials ("Ana Beatriz Silva" → "Ana B. S.").
pub fn masked_name(name: &str) -> String {
    let mut words = name.split_whitespace();
    let Some(first) = words.next() else {
        return String::new();
    };
    let initials: Vec<String> = words
        .filter_map(|w| w.chars().next())
        .map(|c| format!("{c}."))
        .collect();
    if initials.is_empty() {
        first.to_owned()
    } else {
        format!("{first} {}", initials.join(" "))
    }
}

/// The masked name of an account's customer, for answers built from the
/// ledger alone (retries, accruals by customer id).
pub async fn customer_of(
    state: &AppState,
    merchant: Uuid,
    account: AccountId,
) -> Result<String, ApiError> {
    let mut conn = state.db_conn().await?;
    let name: String = accounts::table
        .inner_join(
            customers::table.on(customers::merchant_id
                .eq(accounts::merchant_id)
                .and(customers::id.eq(accounts::customer_id))),
        )
        .filter(accounts::merchant_id.eq(merchant))
        .filter(accounts::id.eq(Uuid::from(account)))
        .select(customers::display_name)
        .first(&mut conn)
        .await?;
    Ok(masked_name(&name))
}
