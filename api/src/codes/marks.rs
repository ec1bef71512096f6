//! Redis's marks on presented codes, and whose request made them.
//!
//! A code is marked in Redis when it is presented (an offline token's or a
//! numeric code's fingerprint is set "seen"; an online key is flipped to
//! "used"), so that a replay is refused before it reaches Postgres. Every
//! mark names its [`Claimant`]: the terminal request (terminal, idempotency
//! key and request hash) that presented the code. That makes two things
//! possible that a bare "seen" flag cannot:
//!
//! * A copy of the same request (a till's retry after a timeout, or the
//!   same sale sent twice at once on a flaky network) finds its own mark and
//!   goes on to the ledger, whose unique idempotency key answers it with the
//!   one stored answer, instead of being refused as a replayed code.
//! * A request that is refused after the mark (a velocity limit, the
//!   balance, a revoked terminal, a reused key, a server failure) takes its
//!   mark back ([`release`]), so the customer's code stays good for the next
//!   try within its life. Only a debit that commits spends a code; Postgres
//!   enforces that (the code's fingerprint is unique among the merchant's
//!   transfers, and the device's replay floor only moves with a debit), so a
//!   mark released too eagerly can never let a code pay twice.

use sha2::{Digest, Sha256};
use tillcode_protocol::{CodeKind, ProblemType, TerminalId};
use uuid::Uuid;

use super::online;
use crate::error::ApiError;
use crate::ledger::CodeClaim;
use crate::state::AppState;

/// Who presented a code: 128 bits of the hash of (terminal, idempotency
/// key, request hash), as 32 hex characters in Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claimant([u8; 16]);

impl Claimant {
    /// The claimant of a terminal's request: its copies share it, and any
    /// other request (another key, another body, another terminal) does not.
    pub fn of_request(terminal: TerminalId, key: &str, request_hash: &[u8; 32]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(terminal.as_uuid().as_bytes());
        hasher.update((key.len() as u64).to_be_bytes());
        hasher.update(key.as_bytes());
        hasher.update(request_hash);
        let digest = hasher.finalize();
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&digest[..16]);
        Self(tag)
    }

    /// A claimant no request shares: for tools and tests that verify a code
    /// outside a terminal's request.
    pub fn unique() -> Self {
        Self(*Uuid::new_v4().as_bytes())
    }

    pub fn tag(&self) -> String {
        hex::encode(self.0)
    }
}

/// What marking a code found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sighting {
    /// Nobody had marked it: it is now ours.
    First,
    /// Marked before by this same request (a copy or a retry).
    Ours,
    /// Marked by another request: a replay.
    Others,
}

pub(super) fn seen_key(state: &AppState, fingerprint: &[u8; 32]) -> String {
    state.redis_key(&["seen", &hex::encode(fingerprint)])
}

/// Marks an offline token's or numeric code's fingerprint seen by
/// `claimant` for `ttl`, in one round trip (`SET NX GET`, Redis 7).
pub(super) async fn sight(
    state: &AppState,
    fingerprint: &[u8; 32],
    ttl: std::time::Duration,
    claimant: Claimant,
) -> Result<Sighting, ApiError> {
    let tag = claimant.tag();
    let mut conn = state.redis_conn().await?;
    let before: Option<String> = redis::cmd("SET")
        .arg(seen_key(state, fingerprint))
        .arg(&tag)
        .arg("NX")
        .arg("GET")
        .arg("PX")
        .arg(ttl.as_millis() as u64)
        .query_async(&mut *conn)
        .await
        .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?;
    Ok(match before {
        None => Sighting::First,
        Some(owner) if owner == tag => Sighting::Ours,
        Some(_) => Sighting::Others,
    })
}

/// Takes back `claimant`'s mark on the code of `claim` after its request
/// was answered `refusal` instead of paying: the code was not spent, and the
/// customer may show it again. Unless the refusal says the code itself can
/// never pay (spent by another request, superseded, its device revoked):
/// its mark then stays.
pub async fn release_after(
    state: &AppState,
    claim: &CodeClaim,
    claimant: Claimant,
    refusal: ProblemType,
) {
    let dead = matches!(
        refusal,
        ProblemType::CodeReplayed | ProblemType::CodeSuperseded | ProblemType::DeviceRevoked
    );
    if !dead {
        release(state, claim.kind, &claim.fingerprint, claimant).await;
    }
}

/// Takes back `claimant`'s mark on a code of `kind`; a mark of another
/// request is left alone. Best effort: when Redis cannot be reached the mark
/// stays until it expires, and only a copy of the same request gets past it
/// (Postgres still decides).
pub(super) async fn release(
    state: &AppState,
    kind: CodeKind,
    fingerprint: &[u8; 32],
    claimant: Claimant,
) {
    static RELEASE_SEEN: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
        redis::Script::new(
            r"
            if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0",
        )
    });
    let released = match kind {
        CodeKind::Online => online::release(state, fingerprint, claimant).await,
        CodeKind::Offline | CodeKind::Numeric => match state.redis_conn().await {
            Ok(mut conn) => RELEASE_SEEN
                .key(seen_key(state, fingerprint))
                .arg(claimant.tag())
                .invoke_async::<i64>(&mut *conn)
                .await
                .map(drop)
                .map_err(|e| ApiError::Unavailable(format!("redis: {e}"))),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = released {
        tracing::warn!(error = %e, "could not release a refused code's mark");
    }
}
