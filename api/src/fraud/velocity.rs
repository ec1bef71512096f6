//! Velocity limits: how many redemptions, and how much, one customer, one
//! device and one terminal may make in a sliding window. Decided in one
//! Redis script before the debit, so concurrent redemptions cannot together
//! slip past a limit; a redemption counts once admitted, even if its debit is
//! then refused (a conservative error).

use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::{OsRng, RngCore};
use redis::Script;
use tillcode_protocol::ProblemType;
use uuid::Uuid;

use super::settings::Settings;
use crate::error::ApiError;
use crate::state::AppState;

/// Who a redemption is counted against.
pub struct Subjects {
    pub customer: Uuid,
    pub device: Uuid,
    pub terminal: Uuid,
}

/// Admits the redemption of `amount` or refuses it with `velocity-limit`.
pub async fn admit(
    state: &AppState,
    settings: &Settings,
    who: &Subjects,
    amount: i64,
) -> Result<(), ApiError> {
    // Each key is a sorted set of "<ms>:<amount>:<random>" scored by time.
    // ARGV: now, window, amount, member, then per key: max count, max amount
    // (0 = no amount limit).
    static ADMIT: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
        Script::new(
            r"
            local now, window, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
            for i, key in ipairs(KEYS) do
                redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
                local max_count, max_amount = tonumber(ARGV[3 + 2 * i]), tonumber(ARGV[4 + 2 * i])
                if redis.call('ZCARD', key) + 1 > max_count then return i end
                if max_amount > 0 then
                    local total = amount
                    for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
                        total = total + tonumber(string.match(member, '^%d+:(%d+):'))
                    end
                    if total > max_amount then return i end
                end
            end
            for _, key in ipairs(KEYS) do
                redis.call('ZADD', key, now, ARGV[4])
                redis.call('PEXPIRE', key, window)
            end
            return 0",
        )
    });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let window_ms = u64::try_from(settings.velocity_window_s).unwrap_or(3600) * 1000;
    let member = format!("{now}:{amount}:{}", OsRng.next_u64());
    let limits = [
        (
            "customer",
            who.customer,
            i64::from(settings.customer_max_count),
            settings.customer_max_amount,
        ),
        (
            "device",
            who.device,
            i64::from(settings.device_max_count),
            0,
        ),
        (
            "terminal",
            who.terminal,
            i64::from(settings.terminal_max_count),
            0,
        ),
    ];
    let mut invocation = ADMIT.prepare_invoke();
    for (kind, id, _, _) in &limits {
        invocation.key(state.redis_key(&["velocity", kind, &id.to_string()]));
    }
    invocation.arg(now).arg(window_ms).arg(amount).arg(&member);
    for (_, _, max_count, max_amount) in &limits {
        invocation.arg(*max_count).arg(*max_amount);
    }
    let mut conn = state.redis_conn().await?;
    let refused: usize = invocation
        .invoke_async(&mut *conn)
        .await
        .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?;
    match refused.checked_sub(1).and_then(|i| limits.get(i)) {
        None => Ok(()),
        Some((kind, ..)) => Err(ApiError::client(
            ProblemType::VelocityLimit,
            format!(
                "this {kind} has reached the merchant's limit for the last {} s",
                settings.velocity_window_s
            ),
        )),
    }
}

/// Counts a refused code against the terminal; true when this refusal makes
/// it pass the merchant's threshold (the caller suspends it).
pub async fn bad_code_crosses_threshold(
    state: &AppState,
    settings: &Settings,
    terminal: Uuid,
) -> Result<bool, ApiError> {
    let key = state.redis_key(&["bad-codes", &terminal.to_string()]);
    let mut conn = state.redis_conn().await?;
    let (count,): (i64,) = redis::pipe()
        .atomic()
        .incr(&key, 1i64)
        .cmd("EXPIRE")
        .arg(&key)
        .arg(settings.terminal_bad_codes_window_s)
        .arg("NX")
        .ignore()
        .query_async(&mut *conn)
        .await
        .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?;
    Ok(count == i64::from(settings.terminal_bad_codes_max))
}
