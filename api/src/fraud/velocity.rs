//! Velocity limits: how many redemptions, and how much, one customer, one
//! device and one terminal may make in a sliding window. Decided in one
//! Redis script before the debit, so concurrent redemptions cannot together
//! slip past a limit. A redemption whose debit is then refused (the balance,
//! a revoked terminal, a reused key) is taken back out ([`Admitted::take_back`]),
//! so that the cashier's corrected retry is not counted twice; one whose
//! outcome is unknown (a server failure) stays counted (a conservative error).

use std::time::{SystemTime, UNIX_EPOCH};

use redis::Script;
use tillcode_protocol::{CustomerId, DeviceId, ProblemType, TerminalId};

use super::settings::Settings;
use crate::codes::Claimant;
use crate::error::ApiError;
use crate::state::AppState;

/// Who a redemption is counted against.
pub struct Subjects {
    pub customer: CustomerId,
    pub device: DeviceId,
    pub terminal: TerminalId,
}

/// A redemption counted in the windows, until it is taken back.
pub struct Admitted {
    customer_key: String,
    device_key: String,
    terminal_key: String,
    member: String,
}

impl Admitted {
    /// Takes the redemption back out of every window it was counted in,
    /// after its debit was refused. Best effort: a failure only leaves the
    /// limits stricter until the entry leaves the window.
    pub async fn take_back(self, state: &AppState) {
        let undone: Result<(), ApiError> = async {
            let mut conn = state.redis_conn().await?;
            // Two commands: the terminal's window lives in another Redis
            // Cluster slot than the customer's two.
            let () = redis::pipe()
                .atomic()
                .zrem(&self.customer_key, &self.member)
                .zrem(&self.device_key, &self.member)
                .query_async(&mut *conn)
                .await
                .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?;
            redis::cmd("ZREM")
                .arg(&self.terminal_key)
                .arg(&self.member)
                .query_async::<i64>(&mut *conn)
                .await
                .map(drop)
                .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))
        }
        .await;
        if let Err(e) = undone {
            tracing::warn!("velocity: cannot take back an admitted entry: {e}");
        }
    }
}

/// Admits the redemption of `amount` or refuses it with `velocity-limit`.
///
/// Two atomic steps, each on one Redis Cluster slot: the customer's and the
/// device's windows (tagged by the customer, so they share a slot), then the
/// terminal's. Tagging all three by merchant would make it one step, but
/// would put every redemption of a chain on one slot, one Redis core, at its
/// Saturday peak; a customer or a terminal is never that busy. If the
/// terminal refuses after the customer was admitted, the customer's and
/// device's entries are taken back out: in between, a concurrent redemption
/// of that customer may see one entry too many and be refused (conservative,
/// like counting a redemption whose debit is then refused), never one too
/// few.
///
/// Admission is idempotent per [`Claimant`]: the request's entry is its
/// claimant's, so a copy or a retry of an admitted request is admitted again
/// without being counted twice, and a copy of a refused one is refused.
pub async fn admit(
    state: &AppState,
    settings: &Settings,
    who: &Subjects,
    amount: i64,
    claimant: Claimant,
) -> Result<Admitted, ApiError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let window_ms = u64::try_from(settings.velocity_window_s).unwrap_or(3600) * 1000;
    // "0:" keeps the member in the shape "<number>:<amount>:<id>" that the
    // script (and that of the previous release) reads the amount from.
    let member = format!("0:{amount}:{}", claimant.tag());
    let customer = who.customer.to_string();
    let customer_key = state.redis_tagged_key(&customer, &["velocity", "customer"]);
    let device_key =
        state.redis_tagged_key(&customer, &["velocity", "device", &who.device.to_string()]);
    let terminal_key = state.redis_key(&["velocity", "terminal", &who.terminal.to_string()]);
    let window = Window {
        now,
        window_ms,
        amount,
        member: &member,
    };
    let mut conn = state.redis_conn().await?;
    let customer_limits = [
        (
            &customer_key,
            i64::from(settings.customer_max_count),
            settings.customer_max_amount,
        ),
        (&device_key, i64::from(settings.device_max_count), 0),
    ];
    let terminal_limits = [(&terminal_key, i64::from(settings.terminal_max_count), 0)];
    let refused = match window.admit(&mut conn, &customer_limits).await? {
        0 => match window.admit(&mut conn, &terminal_limits).await? {
            0 => None,
            _ => {
                let undone: redis::RedisResult<()> = redis::pipe()
                    .atomic()
                    .zrem(&customer_key, &member)
                    .zrem(&device_key, &member)
                    .query_async(&mut *conn)
                    .await;
                if let Err(e) = undone {
                    // The entries expire with the window; until then they
                    // only make the limits stricter.
                    tracing::warn!("velocity: cannot take back an admitted entry: {e}");
                }
                Some("terminal")
            }
        },
        1 => Some("customer"),
        _ => Some("device"),
    };
    match refused {
        None => Ok(Admitted {
            customer_key,
            device_key,
            terminal_key,
            member,
        }),
        Some(kind) => Err(ApiError::client(
            ProblemType::VelocityLimit,
            format!(
                "this {kind} has reached the merchant's limit for the last {} s",
                settings.velocity_window_s
            ),
        )),
    }
}

/// One redemption to be counted in sliding windows.
struct Window<'a> {
    now: u64,
    window_ms: u64,
    amount: i64,
    member: &'a str,
}

impl Window<'_> {
    /// Admits the redemption into every window of `limits` (key, max count,
    /// max amount with 0 for none) in one script, or into none: the
    /// 1-based index of the first window that refuses, 0 when admitted. The
    /// keys must share a hash slot.
    async fn admit(
        &self,
        conn: &mut crate::redis_conn::RedisConn,
        limits: &[(&String, i64, i64)],
    ) -> Result<usize, ApiError> {
        // Each key is a sorted set of "0:<amount>:<claimant>" scored by the
        // time of admission. ARGV: now, window, amount, member, then per
        // key: max count, max amount (0 = no amount limit). A member already
        // in a window (a copy of an admitted request) is admitted again and
        // keeps its first time.
        static ADMIT: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
            Script::new(
                r"
                local now, window, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
                for i, key in ipairs(KEYS) do
                    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
                    local max_count, max_amount = tonumber(ARGV[3 + 2 * i]), tonumber(ARGV[4 + 2 * i])
                    local counted = redis.call('ZSCORE', key, ARGV[4])
                    if not counted and redis.call('ZCARD', key) + 1 > max_count then return i end
                    if not counted and max_amount > 0 then
                        local total = amount
                        for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
                            total = total + tonumber(string.match(member, '^%d+:(%d+):'))
                        end
                        if total > max_amount then return i end
                    end
                end
                for _, key in ipairs(KEYS) do
                    redis.call('ZADD', key, 'NX', now, ARGV[4])
                    redis.call('PEXPIRE', key, window)
                end
                return 0",
            )
        });
        let mut invocation = ADMIT.prepare_invoke();
        for (key, _, _) in limits {
            invocation.key(key.as_str());
        }
        invocation
            .arg(self.now)
            .arg(self.window_ms)
            .arg(self.amount)
            .arg(self.member);
        for (_, max_count, max_amount) in limits {
            invocation.arg(*max_count).arg(*max_amount);
        }
        invocation
            .invoke_async(conn)
            .await
            .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))
    }
}

/// Counts a refused code against the terminal; true when this refusal makes
/// it pass the merchant's threshold (the caller suspends it).
pub async fn bad_code_crosses_threshold(
    state: &AppState,
    settings: &Settings,
    terminal: TerminalId,
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
