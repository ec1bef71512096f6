//! Short-lived bearer tokens: 256 random bits handed to the client once;
//! Redis keeps only their SHA-256, with the claims and a TTL. Nothing
//! long-lived travels in a header.

use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;
use rand_core::{OsRng, RngCore};
use redis::AsyncCommands;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

fn key(state: &AppState, kind: &str, token: &str) -> String {
    let digest = hex::encode(Sha256::digest(token.as_bytes()));
    state.redis_key(&["token", kind, &digest])
}

fn redis_error(e: redis::RedisError) -> ApiError {
    ApiError::Unavailable(format!("redis: {e}"))
}

/// Issues a token of `kind` carrying `claims` for `ttl`.
pub async fn issue<T: Serialize>(
    state: &AppState,
    kind: &str,
    claims: &T,
    ttl: Duration,
) -> Result<String, ApiError> {
    let mut raw = [0u8; 32];
    OsRng.fill_bytes(&mut raw);
    let token = BASE64URL_NOPAD.encode(&raw);
    let value = serde_json::to_string(claims).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut conn = state.redis_conn().await?;
    conn.set_ex::<_, _, ()>(key(state, kind, &token), value, ttl.as_secs())
        .await
        .map_err(redis_error)?;
    Ok(token)
}

/// The claims of a live token of `kind`, or `None`.
pub async fn resolve<T: DeserializeOwned>(
    state: &AppState,
    kind: &str,
    token: &str,
) -> Result<Option<T>, ApiError> {
    if token.len() != 43 {
        return Ok(None);
    }
    let mut conn = state.redis_conn().await?;
    let value: Option<String> = conn
        .get(key(state, kind, token))
        .await
        .map_err(redis_error)?;
    Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
}

/// The token from `Authorization: Bearer <token>`, if any.
pub fn from_header(req: &actix_web::HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Ends a token before its time (sign-out).
pub async fn revoke(state: &AppState, kind: &str, token: &str) -> Result<(), ApiError> {
    let mut conn = state.redis_conn().await?;
    conn.del::<_, ()>(key(state, kind, token))
        .await
        .map_err(redis_error)
}
