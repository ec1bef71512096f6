//! Fraud events: every refused payment code and every refused request of a
//! known terminal becomes a `fraud_events` row and a Prometheus count, with a
//! reason from a closed set (the problem slugs below), so dashboards and
//! alerts can tell a replay spike from a till with a wrong clock.

pub mod settings;
pub mod velocity;
#[cfg(test)]
mod velocity_tests;

use tillcode_protocol::{
    CodeKind, CustomerId, DeviceId, MerchantId, ProblemType, StoreId, TerminalId,
};
use uuid::Uuid;

use crate::schema::fraud_events;
use crate::state::AppState;

/// The problem types that count as fraud signals; the table's CHECK lists
/// the same slugs.
const REASONS: &[ProblemType] = &[
    ProblemType::MalformedCode,
    ProblemType::UnknownDevice,
    ProblemType::DeviceRevoked,
    ProblemType::BadCodeSignature,
    ProblemType::CodeExpired,
    ProblemType::CodeNotYetValid,
    ProblemType::CodeReplayed,
    ProblemType::CodeSuperseded,
    ProblemType::WrongMerchant,
    ProblemType::Locked,
    ProblemType::InsufficientBalance,
    ProblemType::SignatureInvalid,
    ProblemType::SignatureExpired,
    ProblemType::SignatureReplayed,
    ProblemType::DigestMismatch,
    ProblemType::TerminalNotActive,
    ProblemType::VelocityLimit,
];

/// Refusals of the code itself (not of the balance or the limits): the ones
/// that count towards suspending a terminal that keeps submitting bad codes.
pub fn is_bad_code(kind: ProblemType) -> bool {
    matches!(
        kind,
        ProblemType::MalformedCode
            | ProblemType::UnknownDevice
            | ProblemType::DeviceRevoked
            | ProblemType::BadCodeSignature
            | ProblemType::CodeExpired
            | ProblemType::CodeNotYetValid
            | ProblemType::CodeReplayed
            | ProblemType::CodeSuperseded
            | ProblemType::WrongMerchant
            | ProblemType::Locked
    )
}

/// The event recorded when a terminal is suspended for too many bad codes.
pub const TERMINAL_AUTO_SUSPENDED: &str = "terminal-auto-suspended";

/// Whether a refusal of this type is recorded as a fraud event.
pub fn is_signal(kind: ProblemType) -> bool {
    REASONS.contains(&kind)
}

/// Where and to whom a refusal happened, as far as it is known.
#[derive(Default)]
pub struct Seen {
    pub code_kind: Option<CodeKind>,
    pub store: Option<StoreId>,
    pub terminal: Option<TerminalId>,
    pub customer: Option<CustomerId>,
    pub device: Option<DeviceId>,
}

/// Counts the refusal and, for a known merchant, records it. Never fails the
/// request it describes: a lost event is logged, the answer still goes out.
pub async fn record(
    state: &AppState,
    merchant: Option<MerchantId>,
    reason: ProblemType,
    seen: Seen,
) {
    if is_signal(reason) {
        record_slug(state, merchant, reason.slug(), seen).await;
    }
}

/// `record` for a reason of the closed set given by its slug.
pub async fn record_slug(
    state: &AppState,
    merchant: Option<MerchantId>,
    reason: &'static str,
    seen: Seen,
) {
    state
        .metrics
        .fraud_events
        .with_label_values(&[reason])
        .inc();
    let Some(merchant) = merchant else { return };
    let insert = async {
        use diesel::ExpressionMethods;
        use diesel_async::RunQueryDsl;
        let mut conn = state.db_conn().await.map_err(|e| e.to_string())?;
        diesel::insert_into(fraud_events::table)
            .values((
                fraud_events::merchant_id.eq(Uuid::from(merchant)),
                fraud_events::id.eq(Uuid::now_v7()),
                fraud_events::reason.eq(reason),
                fraud_events::code_kind.eq(seen.code_kind.map(|k| k.as_str())),
                fraud_events::store_id.eq(seen.store.map(Uuid::from)),
                fraud_events::terminal_id.eq(seen.terminal.map(Uuid::from)),
                fraud_events::customer_id.eq(seen.customer.map(Uuid::from)),
                fraud_events::device_id.eq(seen.device.map(Uuid::from)),
            ))
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    if let Err(e) = insert.await {
        tracing::error!(%merchant, reason, error = %e, "could not record a fraud event");
    }
}

/// The kind of code a payload claims to be, from its prefix alone: refusals
/// of malformed codes still get a kind when one can be told.
pub fn claimed_kind(payload: &str) -> Option<CodeKind> {
    if payload.starts_with("TC1K") {
        Some(CodeKind::Online)
    } else if payload.starts_with("TC1F") {
        Some(CodeKind::Offline)
    } else if !payload.is_empty() && payload.bytes().all(|b| b.is_ascii_digit() || b == b' ') {
        Some(CodeKind::Numeric)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
