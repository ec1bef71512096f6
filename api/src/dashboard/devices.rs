//! `GET /v1/dashboard/customers/{customer_id}/devices`: a customer's devices
//! and whether their numeric codes are locked, so a manager can see what to
//! unlock (`POST /v1/dashboard/devices/{id}/unlock`, in `actions.rs`).
//!
//! The lock lives in Redis only (a count of wrong numeric codes that expires
//! [`NUMERIC_LOCK_WINDOW`] after the first one), so this reads it there.

use actix_web::get;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use tillcode_protocol::ProblemType;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::codes::verify::{NUMERIC_MAX_FAILURES, numeric_failures_key};
use crate::error::ApiError;
use crate::schema::{customers, devices};
use crate::staff::session::StaffSession;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(customer_devices);
}

#[derive(Serialize, ToSchema)]
pub struct DashboardDevice {
    pub device_id: Uuid,
    pub name: String,
    /// `active` or `revoked`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Wrong numeric codes counted in the current lock window.
    pub numeric_failures: u64,
    /// True when numeric codes of this device are refused (`locked`) until
    /// the window ends or a manager unlocks them; other codes still work.
    pub numeric_locked: bool,
    /// Seconds until the count expires by itself; null when nothing counts.
    pub numeric_lock_expires_in_s: Option<u64>,
}

type Row = (Uuid, String, String, DateTime<Utc>, Option<DateTime<Utc>>);

/// A customer's devices, newest first, with the lock state of their numeric codes.
#[utoipa::path(tag = "dashboard",
    params(("customer_id" = Uuid, Path)),
    responses((status = 200, body = [DashboardDevice], description = "The customer's devices, newest first"), (status = 404, description = "not-found")))]
#[get("/v1/dashboard/customers/{customer_id}/devices")]
pub async fn customer_devices(
    state: web::Data<AppState>,
    session: StaffSession,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let merchant = Uuid::from(session.merchant);
    let customer = path.into_inner();
    let mut conn = state.db_conn().await?;
    let known: bool = diesel::select(diesel::dsl::exists(
        customers::table.find((merchant, customer)),
    ))
    .get_result(&mut conn)
    .await?;
    if !known {
        return Err(ApiError::client(ProblemType::NotFound, "no such customer"));
    }
    let rows: Vec<Row> = devices::table
        .filter(devices::merchant_id.eq(merchant))
        .filter(devices::customer_id.eq(customer))
        .order((devices::created_at.desc(), devices::id.desc()))
        .select((
            devices::id,
            devices::name,
            devices::status,
            devices::created_at,
            devices::revoked_at,
        ))
        .load(&mut conn)
        .await?;
    drop(conn);
    if rows.is_empty() {
        return Ok(HttpResponse::Ok().json(Vec::<DashboardDevice>::new()));
    }
    // One round trip for every device: the counts, then their TTLs.
    let keys: Vec<String> = rows
        .iter()
        .map(|(id, ..)| numeric_failures_key(&state, *id))
        .collect();
    let mut pipe = redis::pipe();
    for key in &keys {
        pipe.get(key);
    }
    for key in &keys {
        pipe.ttl(key);
    }
    let mut redis = state.redis_conn().await?;
    let answers: Vec<redis::Value> = pipe
        .query_async(&mut *redis)
        .await
        .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?;
    if answers.len() != 2 * keys.len() {
        return Err(ApiError::Internal(format!(
            "redis answered {} values for {} keys",
            answers.len(),
            2 * keys.len()
        )));
    }
    let (counts, ttls) = answers.split_at(keys.len());
    let out: Vec<DashboardDevice> = rows
        .into_iter()
        .zip(counts.iter().zip(ttls))
        .map(
            |((device_id, name, status, created_at, revoked_at), (count, ttl))| {
                let numeric_failures: u64 = redis::from_redis_value_ref::<Option<u64>>(count)
                    .ok()
                    .flatten()
                    .unwrap_or(0);
                // TTL answers -2 (no key) or -1 (no expiry); only a positive one counts.
                let ttl: i64 = redis::from_redis_value_ref(ttl).unwrap_or(-2);
                DashboardDevice {
                    device_id,
                    name,
                    status,
                    created_at,
                    revoked_at,
                    numeric_failures,
                    numeric_locked: numeric_failures >= NUMERIC_MAX_FAILURES,
                    numeric_lock_expires_in_s: u64::try_from(ttl)
                        .ok()
                        .filter(|_| numeric_failures > 0),
                }
            },
        )
        .collect();
    Ok(HttpResponse::Ok().json(out))
}
