//! Fixed-window request limits kept in Redis, shared by every API server.

use std::time::Duration;

use redis::AsyncCommands;
use sha2::{Digest, Sha256};
use tillcode_protocol::ProblemType;

use crate::error::ApiError;
use crate::state::AppState;

/// At most `max` hits per `window` for one subject.
pub struct Limit {
    pub name: &'static str,
    pub max: u64,
    pub window: Duration,
}

/// Counts one hit of `subject` (an email, an address) against `limit`, and
/// refuses with 429 once over it. Subjects are hashed: Redis holds no emails.
fn key(state: &AppState, limit: &Limit, subject: &str) -> String {
    let digest = hex::encode(&Sha256::digest(subject.as_bytes())[..16]);
    state.redis_key(&["rate", limit.name, &digest])
}

pub async fn hit(state: &AppState, limit: &Limit, subject: &str) -> Result<(), ApiError> {
    let key = key(state, limit, subject);
    let mut conn = state.redis_conn().await?;
    let (count,): (u64,) = redis::pipe()
        .atomic()
        .incr(&key, 1u64)
        .cmd("EXPIRE")
        .arg(&key)
        .arg(limit.window.as_secs())
        .arg("NX")
        .ignore()
        .query_async(&mut *conn)
        .await
        .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?;
    if count > limit.max {
        return Err(ApiError::client(
            ProblemType::RateLimited,
            format!(
                "too many attempts; try again in {} s",
                limit.window.as_secs()
            ),
        ));
    }
    Ok(())
}

/// Forgets the hits of `subject`, e.g. after a successful sign-in.
pub async fn reset(state: &AppState, limit: &Limit, subject: &str) -> Result<(), ApiError> {
    let key = key(state, limit, subject);
    let mut conn = state.redis_conn().await?;
    conn.del::<_, ()>(&key)
        .await
        .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))
}
