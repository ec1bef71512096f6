//! Single-use server challenges that devices sign to prove they hold their
//! key: 32 random bytes, kept in Redis for 5 minutes, consumed on first use.

use std::time::Duration;

use actix_web::post;
use actix_web::{HttpResponse, web};
use rand_core::{OsRng, RngCore};
use redis::AsyncCommands;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

pub const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);

fn key(state: &AppState, challenge: &[u8; 32]) -> String {
    state.redis_key(&["challenge", &hex::encode(challenge)])
}

fn redis_error(e: redis::RedisError) -> ApiError {
    ApiError::Unavailable(format!("redis: {e}"))
}

/// True once for a challenge this server issued in the last 5 minutes.
pub async fn consume(state: &AppState, challenge: &[u8; 32]) -> Result<bool, ApiError> {
    let mut conn = state.redis_conn().await?;
    let deleted: u64 = conn.del(key(state, challenge)).await.map_err(redis_error)?;
    Ok(deleted == 1)
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"challenge": "c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7", "expires_in": 300}))]
pub struct Challenge {
    /// 32 bytes, hex. Sign it as PROTOCOL.md says for the operation at hand.
    #[schema(example = "c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7")]
    pub challenge: String,
    pub expires_in: u64,
}

/// A fresh challenge for a proof of possession.
#[utoipa::path(operation_id = "create_challenge", tag = "devices",
    responses((status = 201, body = Challenge, description = "A fresh challenge, valid for 5 minutes, single use")))]
#[post("/v1/challenges")]
pub async fn create(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut challenge = [0u8; 32];
    OsRng.fill_bytes(&mut challenge);
    let mut conn = state.redis_conn().await?;
    conn.set_ex::<_, _, ()>(key(&state, &challenge), 1u8, CHALLENGE_TTL.as_secs())
        .await
        .map_err(redis_error)?;
    Ok(HttpResponse::Created().json(Challenge {
        challenge: hex::encode(challenge),
        expires_in: CHALLENGE_TTL.as_secs(),
    }))
}
