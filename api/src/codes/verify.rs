//! The one verification function for payment codes, used by the redemption
//! path: given what a terminal scanned (or a cashier typed), say whose code
//! it is, or why it is refused.
//!
//! Redis answers "seen before, and by which request?" fast (`marks`: a copy
//! of the request that marked a code goes on); Postgres has the final word. The
//! returned [`VerifiedCode::claim`] carries what the debit statement checks
//! again inside its own transaction (the fingerprint, unique among the
//! merchant's transfers, and the device's replay floor), so a code cannot pay
//! twice even if Redis loses its data.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use redis::AsyncCommands;
use tillcode_protocol::{
    AccountId, CodeError, CodeKind, CustomerId, DeviceId, MerchantId, NumericCode, OfflineToken,
    PaymentCode, ProblemType, check_freshness, numeric_fingerprint,
};
use uuid::Uuid;

use super::devices::{DeviceBy, DeviceRow, find_device};
use super::marks::{Claimant, Sighting, release, sight};
use super::online::{self, Presented};
use crate::db::DeviceStatus;
use crate::error::ApiError;
use crate::ledger::CodeClaim;
use crate::schema::devices;
use crate::state::AppState;

/// How old and how far ahead of the server's clock an offline token may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenWindows {
    pub max_age: Duration,
    pub max_skew: Duration,
}

impl Default for TokenWindows {
    /// PROTOCOL.md's: 60 s old, 30 s ahead.
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(60),
            max_skew: Duration::from_secs(30),
        }
    }
}

/// Which [`TokenWindows`] [`verify_code`] applies to an offline token.
#[derive(Clone, Copy, Debug, Default)]
pub enum CodeWindows {
    /// The terminal's merchant's (`offline_max_age_s` and
    /// `offline_max_skew_s` in `merchant_settings`, cached with the other
    /// fraud settings): what the till's requests use.
    #[default]
    Merchant,
    /// These, whatever the merchant set (tools and tests that pin them).
    Fixed(TokenWindows),
}

/// Wrong numeric codes a device may have in `NUMERIC_LOCK_WINDOW` before its
/// numeric fallback (only that) is locked for the rest of the window.
pub const NUMERIC_MAX_FAILURES: u64 = 5;
pub const NUMERIC_LOCK_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The Redis key counting a device's wrong numeric codes; the dashboard
/// reads it (lock state) and deletes it (unlock).
pub fn numeric_failures_key(state: &AppState, device: Uuid) -> String {
    state.redis_key(&["numeric-failures", &device.to_string()])
}

/// Every reason a code is refused, each with its own problem type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeRejection {
    #[error("{0}")]
    Malformed(CodeError),
    #[error("no such device at this merchant")]
    UnknownDevice,
    #[error("the device has been revoked")]
    DeviceRevoked,
    #[error("the code's signature does not verify")]
    BadSignature,
    #[error("the code has expired")]
    Expired,
    #[error("the code is not yet valid; check the phone's clock")]
    NotYetValid,
    #[error("the code has been used before")]
    Replayed,
    #[error("a newer code from this device has been used already")]
    Superseded,
    #[error("the code belongs to another merchant")]
    WrongMerchant,
    #[error("numeric codes of this device are locked after repeated wrong codes")]
    Locked,
}

impl CodeRejection {
    pub fn problem_type(&self) -> ProblemType {
        match self {
            Self::Malformed(_) => ProblemType::MalformedCode,
            Self::UnknownDevice => ProblemType::UnknownDevice,
            Self::DeviceRevoked => ProblemType::DeviceRevoked,
            Self::BadSignature => ProblemType::BadCodeSignature,
            Self::Expired => ProblemType::CodeExpired,
            Self::NotYetValid => ProblemType::CodeNotYetValid,
            Self::Replayed => ProblemType::CodeReplayed,
            Self::Superseded => ProblemType::CodeSuperseded,
            Self::WrongMerchant => ProblemType::WrongMerchant,
            Self::Locked => ProblemType::Locked,
        }
    }
}

impl From<CodeRejection> for ApiError {
    fn from(r: CodeRejection) -> Self {
        ApiError::client(r.problem_type(), r.to_string())
    }
}

/// An accepted code: whose it is, and what the debit must check again.
#[derive(Clone, Debug)]
pub struct VerifiedCode {
    pub kind: CodeKind,
    pub customer: CustomerId,
    /// As the customer gave it; mask it before showing it to a cashier.
    pub customer_name: String,
    pub account: AccountId,
    pub device: DeviceId,
    pub claim: CodeClaim,
}

type Verdict = Result<VerifiedCode, CodeRejection>;

/// Verifies `payload` for a terminal of `merchant` at `now_ms`, marking it
/// presented by `claimant` (see [`super::marks`]). The outer error is an
/// infrastructure failure (503/500), the inner one a refusal.
pub async fn verify_code(
    state: &AppState,
    merchant: MerchantId,
    payload: &str,
    now_ms: u64,
    windows: CodeWindows,
    claimant: Claimant,
) -> Result<Verdict, ApiError> {
    let code = match PaymentCode::parse(payload) {
        Ok(code) => code,
        Err(e) => return Ok(Err(CodeRejection::Malformed(e))),
    };
    match code {
        PaymentCode::Online(key) => {
            verify_online(state, merchant, key.fingerprint(), claimant).await
        }
        PaymentCode::Offline(token) => {
            verify_offline(state, merchant, &token, now_ms, windows, claimant).await
        }
        PaymentCode::Numeric(code) => {
            verify_numeric(state, merchant, &code, now_ms, claimant).await
        }
    }
}

fn accepted(
    kind: CodeKind,
    device: &DeviceRow,
    fingerprint: [u8; 32],
    floor: Floor,
) -> VerifiedCode {
    VerifiedCode {
        kind,
        customer: device.customer.into(),
        customer_name: device.customer_name.clone(),
        account: device.account.into(),
        device: device.id.into(),
        claim: CodeClaim {
            kind,
            device: device.id.into(),
            fingerprint,
            offline_issued_at_ms: match floor {
                Floor::Offline(at) => Some(at),
                _ => None,
            },
            numeric_step: match floor {
                Floor::Numeric(step) => Some(step),
                _ => None,
            },
        },
    }
}

enum Floor {
    None,
    Offline(i64),
    Numeric(i64),
}

async fn verify_online(
    state: &AppState,
    merchant: MerchantId,
    fingerprint: [u8; 32],
    claimant: Claimant,
) -> Result<Verdict, ApiError> {
    let record = match online::present(state, merchant, &fingerprint, claimant).await? {
        Presented::Fresh(record) => record,
        Presented::Used => return Ok(Err(CodeRejection::Replayed)),
        Presented::WrongMerchant => return Ok(Err(CodeRejection::WrongMerchant)),
        Presented::Unknown => return Ok(Err(CodeRejection::Expired)),
    };
    // The key is marked spent by this request now: a failure to look its
    // device up gives it back, so the customer may show it again.
    let found = match find_device(state, merchant, DeviceBy::Id(record.device)).await {
        Ok(found) => found,
        Err(e) => {
            release(state, CodeKind::Online, &fingerprint, claimant).await;
            return Err(e);
        }
    };
    let Some(device) = found else {
        return Ok(Err(CodeRejection::UnknownDevice));
    };
    if device.status != DeviceStatus::Active {
        return Ok(Err(CodeRejection::DeviceRevoked));
    }
    Ok(Ok(accepted(
        CodeKind::Online,
        &device,
        fingerprint,
        Floor::None,
    )))
}

async fn verify_offline(
    state: &AppState,
    merchant: MerchantId,
    token: &OfflineToken,
    now_ms: u64,
    windows: CodeWindows,
    claimant: Claimant,
) -> Result<Verdict, ApiError> {
    let windows = match windows {
        // In memory but for one read per merchant every FRESH_FOR.
        CodeWindows::Merchant => state.settings.get(state, merchant).await?.token_windows(),
        CodeWindows::Fixed(windows) => windows,
    };
    // Cheapest first: the clock costs nothing, a lookup one round trip.
    if let Err(stale) = check_freshness(
        token.issued_at_ms,
        now_ms,
        windows.max_age.as_millis() as u64,
        windows.max_skew.as_millis() as u64,
    ) {
        return Ok(Err(match CodeError::from(stale) {
            CodeError::NotYetValid => CodeRejection::NotYetValid,
            _ => CodeRejection::Expired,
        }));
    }
    let Some(device) =
        find_device(state, merchant, DeviceBy::Handle(&token.device_handle.0)).await?
    else {
        return Ok(Err(
            if device_elsewhere(state, &token.device_handle.0).await? {
                CodeRejection::WrongMerchant
            } else {
                CodeRejection::UnknownDevice
            },
        ));
    };
    if device.status != DeviceStatus::Active {
        return Ok(Err(CodeRejection::DeviceRevoked));
    }
    let Ok(key) = state.keys.stored(&device.public_key) else {
        return Ok(Err(CodeRejection::BadSignature));
    };
    if token.verify(merchant, &key).is_err() {
        return Ok(Err(CodeRejection::BadSignature));
    }
    let issued_at = i64::try_from(token.issued_at_ms).unwrap_or(i64::MAX);
    // At the floor: this very token (or its twin to the millisecond) paid.
    // Below it: a newer one has paid, so this one is stale.
    if issued_at == device.last_offline_issued_at_ms {
        return Ok(Err(CodeRejection::Replayed));
    }
    if issued_at < device.last_offline_issued_at_ms {
        return Ok(Err(CodeRejection::Superseded));
    }
    let fingerprint = token.fingerprint(merchant);
    let ttl = windows.max_age + windows.max_skew + Duration::from_secs(5);
    if sight(state, &fingerprint, ttl, claimant).await? == Sighting::Others {
        return Ok(Err(CodeRejection::Replayed));
    }
    Ok(Ok(accepted(
        CodeKind::Offline,
        &device,
        fingerprint,
        Floor::Offline(issued_at),
    )))
}

async fn device_elsewhere(state: &AppState, handle: &[u8]) -> Result<bool, ApiError> {
    let mut conn = state.db_conn().await?;
    diesel::select(diesel::dsl::exists(
        devices::table.filter(devices::device_handle.eq(handle)),
    ))
    .get_result(&mut conn)
    .await
    .map_err(ApiError::from)
}

async fn verify_numeric(
    state: &AppState,
    merchant: MerchantId,
    code: &NumericCode,
    now_ms: u64,
    claimant: Claimant,
) -> Result<Verdict, ApiError> {
    let handle = i32::try_from(code.handle.get()).unwrap_or(-1);
    let Some(device) = find_device(state, merchant, DeviceBy::Numeric(handle)).await? else {
        return Ok(Err(CodeRejection::UnknownDevice));
    };
    if device.status != DeviceStatus::Active {
        return Ok(Err(CodeRejection::DeviceRevoked));
    }
    let failures_key = numeric_failures_key(state, device.id);
    let mut conn = state.redis_conn().await?;
    let redis_error = |e: redis::RedisError| ApiError::Unavailable(format!("redis: {e}"));
    let failures: Option<u64> = conn.get(&failures_key).await.map_err(redis_error)?;
    if failures.unwrap_or(0) >= NUMERIC_MAX_FAILURES {
        return Ok(Err(CodeRejection::Locked));
    }
    let secret: Option<[u8; 32]> = device
        .totp_secret
        .as_deref()
        .and_then(|s| s.try_into().ok());
    let matched = secret.and_then(|secret| code.verify(&secret, now_ms / 1000).ok());
    let Some(step) = matched else {
        let _: () = redis::pipe()
            .incr(&failures_key, 1u64)
            .ignore()
            .cmd("EXPIRE")
            .arg(&failures_key)
            .arg(NUMERIC_LOCK_WINDOW.as_secs())
            .arg("NX")
            .ignore()
            .query_async(&mut *conn)
            .await
            .map_err(redis_error)?;
        return Ok(Err(CodeRejection::BadSignature));
    };
    // Back to the pool before `sight` takes one: a request holding one
    // connection while it waits for another starves the pool under
    // concurrency (32 copies of one sale on a pool of 4 all waited for a
    // second connection until the pool's timeout, and were answered 503).
    drop(conn);
    let step_i64 = i64::try_from(step).unwrap_or(i64::MAX);
    let fingerprint = numeric_fingerprint(device.id, step);
    // As for offline tokens: the last accepted step again is a replay, an
    // earlier one is stale.
    if step_i64 == device.last_numeric_step {
        return Ok(Err(CodeRejection::Replayed));
    }
    if step_i64 < device.last_numeric_step {
        return Ok(Err(CodeRejection::Superseded));
    }
    if sight(state, &fingerprint, Duration::from_secs(120), claimant).await? == Sighting::Others {
        return Ok(Err(CodeRejection::Replayed));
    }
    Ok(Ok(accepted(
        CodeKind::Numeric,
        &device,
        fingerprint,
        Floor::Numeric(step_i64),
    )))
}
