//! Online single-use keys (`TC1K...`): drawn by the server for a device,
//! held in Redis by fingerprint only (the key itself is handed out once and
//! never stored), alive 60 s, good for one presentation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::post;
use actix_web::{HttpResponse, web};
use rand_core::OsRng;
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};
use tillcode_protocol::{CustomerId, MerchantId, OnlineKey, ProblemType};
use utoipa::ToSchema;
use uuid::Uuid;

use super::marks::Claimant;
use crate::customers::session::DeviceSession;
use crate::error::ApiError;
use crate::state::AppState;

pub const ONLINE_KEY_TTL: Duration = Duration::from_secs(60);
/// Live keys a customer may hold at once, across their devices.
pub const MAX_LIVE_KEYS: u32 = 5;

/// What the server remembers about a live key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OnlineKeyRecord {
    pub merchant: MerchantId,
    pub customer: CustomerId,
    pub device: Uuid,
}

fn record_key(state: &AppState, fingerprint: &[u8; 32]) -> String {
    state.redis_key(&["online", &hex::encode(fingerprint)])
}

fn live_key(state: &AppState, customer: CustomerId) -> String {
    state.redis_key(&["online-live", &customer.to_string()])
}

fn redis_error(e: redis::RedisError) -> ApiError {
    ApiError::Unavailable(format!("redis: {e}"))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"payload": "TC1KAAISEM2EKVTHPCEZVK54ZXPO74", "expires_in": 60}))]
pub struct IssuedKey {
    /// Show this as a QR code; it works once, for `expires_in` seconds.
    #[schema(example = "TC1KAAISEM2EKVTHPCEZVK54ZXPO74")]
    pub payload: String,
    pub expires_in: u64,
}

/// Issues a single-use key for the calling device.
#[utoipa::path(tag = "codes", security(("device_session" = [])),
    responses(
        (status = 201, body = IssuedKey, description = "A single-use online key to show as a QR"),
        (status = 429, description = "Too many live keys (rate-limited)")))]
#[post("/v1/me/online-keys")]
pub async fn issue(
    state: web::Data<AppState>,
    session: DeviceSession,
) -> Result<HttpResponse, ApiError> {
    // Counting and reserving the place happen in one script on the
    // customer's set, so concurrent requests cannot together exceed the
    // limit. The record is stored after, by fingerprint alone: a terminal
    // finds it from the key and knows no customer, so the two cannot share
    // a Redis Cluster slot. If storing fails, the reservation only lowers
    // the customer's allowance until it expires.
    static RESERVE: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
        Script::new(
            r"
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
            if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[5]) then return 0 end
            redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
            redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]) + 1)
            return 1",
        )
    });
    let key = OnlineKey::generate(&mut OsRng);
    let fingerprint = key.fingerprint();
    let record = OnlineKeyRecord {
        merchant: session.merchant,
        customer: session.customer,
        device: session.device.into(),
    };
    // Stored as `l<merchant>|<record>`: the presenting script checks the
    // merchant before it spends the key, and flips `l` (live) to `u` (used).
    let claims = serde_json::to_string(&record).map_err(|e| ApiError::Internal(e.to_string()))?;
    let claims = format!("l{}|{claims}", session.merchant);
    let now = now_ms();
    let mut conn = state.redis_conn().await?;
    let stored: i64 = RESERVE
        .key(live_key(&state, session.customer))
        .arg(now)
        .arg(now + ONLINE_KEY_TTL.as_millis() as u64)
        .arg(format!("{}:{}", session.device, hex::encode(fingerprint)))
        .arg(ONLINE_KEY_TTL.as_secs())
        .arg(MAX_LIVE_KEYS)
        .invoke_async(&mut *conn)
        .await
        .map_err(redis_error)?;
    if stored == 0 {
        return Err(ApiError::client(
            ProblemType::RateLimited,
            format!("at most {MAX_LIVE_KEYS} live keys; use one or wait for one to expire"),
        ));
    }
    conn.set_ex::<_, _, ()>(
        record_key(&state, &fingerprint),
        claims,
        ONLINE_KEY_TTL.as_secs(),
    )
    .await
    .map_err(redis_error)?;
    Ok(HttpResponse::Created().json(IssuedKey {
        payload: key.payload(),
        expires_in: ONLINE_KEY_TTL.as_secs(),
    }))
}

/// What presenting a key found.
#[derive(Debug)]
pub enum Presented {
    /// First presentation, or a copy of the request that presented it
    /// first (the same [`Claimant`]): the key is spent by that request.
    Fresh(OnlineKeyRecord),
    /// Spent before by another request.
    Used,
    /// Issued for another merchant's program; left unspent.
    WrongMerchant,
    /// Never issued, expired, or killed with its device.
    Unknown,
}

/// Spends the key with this fingerprint for `claimant`, atomically: of any
/// number of concurrent presentations by different requests exactly one
/// sees `Fresh`; copies of that request see `Fresh` too (the ledger's
/// idempotency key then gives them its one answer). A terminal of another
/// merchant learns `WrongMerchant` and does not spend it.
///
/// Stored values: `l<merchant>|<record>` while live, `u<claimant>|<merchant>|<record>`
/// once presented (see [`release`] for the way back).
pub async fn present(
    state: &AppState,
    merchant: MerchantId,
    fingerprint: &[u8; 32],
    claimant: Claimant,
) -> Result<Presented, ApiError> {
    static PRESENT: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
        Script::new(
            r"
            local v = redis.call('GET', KEYS[1])
            if not v then return false end
            local merchant, tag = ARGV[1], ARGV[2]
            if string.sub(v, 1, 1) == 'u' then
                if string.sub(v, 2, 1 + #tag) == tag and string.sub(v, 2 + #tag, 2 + #tag) == '|' then
                    return string.sub(v, 4 + #tag + #merchant)
                end
                return 'used'
            end
            if string.sub(v, 2, 1 + #merchant) ~= merchant then return 'wrong-merchant' end
            redis.call('SET', KEYS[1], 'u' .. tag .. '|' .. string.sub(v, 2), 'KEEPTTL')
            return string.sub(v, 3 + #merchant)",
        )
    });
    let mut conn = state.redis_conn().await?;
    let found: Option<String> = PRESENT
        .key(record_key(state, fingerprint))
        .arg(merchant.to_string())
        .arg(claimant.tag())
        .invoke_async(&mut *conn)
        .await
        .map_err(redis_error)?;
    Ok(match found.as_deref() {
        None => Presented::Unknown,
        Some("used") => Presented::Used,
        Some("wrong-merchant") => Presented::WrongMerchant,
        Some(claims) => match serde_json::from_str(claims) {
            Ok(record) => Presented::Fresh(record),
            Err(_) => Presented::Unknown,
        },
    })
}

/// Makes a key `claimant` presented live again, for the rest of its life:
/// its request was refused, so the key paid nothing.
pub(super) async fn release(
    state: &AppState,
    fingerprint: &[u8; 32],
    claimant: Claimant,
) -> Result<(), ApiError> {
    static RELEASE: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
        Script::new(
            r"
            local v = redis.call('GET', KEYS[1])
            local mine = 'u' .. ARGV[1] .. '|'
            if v and string.sub(v, 1, #mine) == mine then
                redis.call('SET', KEYS[1], 'l' .. string.sub(v, #mine + 1), 'KEEPTTL')
                return 1
            end
            return 0",
        )
    });
    let mut conn = state.redis_conn().await?;
    RELEASE
        .key(record_key(state, fingerprint))
        .arg(claimant.tag())
        .invoke_async::<i64>(&mut *conn)
        .await
        .map(drop)
        .map_err(redis_error)
}

/// Deletes the live keys a device holds (on revocation).
pub async fn kill_device_keys(
    state: &AppState,
    customer: CustomerId,
    device: Uuid,
) -> Result<(), ApiError> {
    let live = live_key(state, customer);
    let mut conn = state.redis_conn().await?;
    let members: Vec<String> = conn.zrange(&live, 0, -1).await.map_err(redis_error)?;
    let prefix = format!("{device}:");
    // One command per key: the records and the customer's set live in
    // different Redis Cluster slots. The record goes first, so the key is
    // dead even if the set is left holding its place until it expires.
    for member in members.iter().filter(|m| m.starts_with(&prefix)) {
        let fingerprint = &member[prefix.len()..];
        conn.del::<_, ()>(state.redis_key(&["online", fingerprint]))
            .await
            .map_err(redis_error)?;
        conn.zrem::<_, _, ()>(&live, member)
            .await
            .map_err(redis_error)?;
    }
    Ok(())
}
