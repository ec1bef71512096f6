//! A customer's own devices: list, rename, revoke.

use actix_web::{HttpResponse, web};
use actix_web::{get, patch, post};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use tillcode_protocol::{DeviceId, ProblemType, key_fingerprint, parse_public_key};
use utoipa::ToSchema;
use uuid::Uuid;

use super::DeviceName;
use crate::codes::online;
use crate::customers::session::DeviceSession;
use crate::db::DeviceStatus;
use crate::error::ApiError;
use crate::schema::devices;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct DeviceView {
    pub device_id: Uuid,
    pub name: String,
    /// `pending` (linked, awaiting approval), `active` or `revoked`.
    pub status: DeviceStatus,
    pub fingerprint: String,
    /// True for the device making this request.
    pub current: bool,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The calling customer's devices, newest first.
#[utoipa::path(tag = "devices", security(("device_session" = [])),
    responses((status = 200, body = Vec<DeviceView>, description = "The customer's devices")))]
#[get("/v1/me/devices")]
pub async fn list(
    state: web::Data<AppState>,
    session: DeviceSession,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db_conn().await?;
    type Row = (
        Uuid,
        String,
        DeviceStatus,
        Vec<u8>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = devices::table
        .filter(devices::merchant_id.eq(Uuid::from(session.merchant)))
        .filter(devices::customer_id.eq(Uuid::from(session.customer)))
        .order(devices::created_at.desc())
        .select((
            devices::id,
            devices::name,
            devices::status,
            devices::public_key,
            devices::created_at,
            devices::revoked_at,
        ))
        .load(&mut conn)
        .await?;
    let views: Vec<DeviceView> = rows
        .into_iter()
        .map(
            |(id, name, status, key, created_at, revoked_at)| DeviceView {
                device_id: id,
                name,
                status,
                fingerprint: parse_public_key(&key)
                    .map(|k| key_fingerprint(&k))
                    .unwrap_or_default(),
                current: DeviceId::from(id) == session.device,
                created_at,
                revoked_at,
            },
        )
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"name": "Work phone"}))]
#[serde(deny_unknown_fields)]
pub struct Rename {
    #[schema(example = "Work phone")]
    name: String,
}

/// Renames one of the caller's devices.
#[utoipa::path(tag = "devices", security(("device_session" = [])),
    params(("device_id" = Uuid, Path)), request_body = Rename,
    responses((status = 204, description = "Renamed"), (status = 404, description = "Not one of the caller's devices")))]
#[patch("/v1/me/devices/{device_id}")]
pub async fn rename(
    state: web::Data<AppState>,
    session: DeviceSession,
    path: web::Path<Uuid>,
    body: web::Json<Rename>,
) -> Result<HttpResponse, ApiError> {
    let name = DeviceName::parse(&body.name)?;
    let mut conn = state.db_conn().await?;
    let updated = diesel::update(
        devices::table
            .find((Uuid::from(session.merchant), path.into_inner()))
            .filter(devices::customer_id.eq(Uuid::from(session.customer))),
    )
    .set(devices::name.eq(name.as_str()))
    .execute(&mut conn)
    .await?;
    if updated == 0 {
        return Err(ApiError::client(ProblemType::NotFound, "no such device"));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes one of the caller's devices (possibly itself): its key, its
/// numeric-code secret, its sessions and its live online keys stop working.
#[utoipa::path(tag = "devices", security(("device_session" = [])),
    params(("device_id" = Uuid, Path)),
    responses((status = 204, description = "Revoked: its codes and sessions no longer work"), (status = 404, description = "Not one of the caller's active devices")))]
#[post("/v1/me/devices/{device_id}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    session: DeviceSession,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let device = DeviceId::from(path.into_inner());
    let revoked = revoke_devices(&state, &session, Which::Only(device)).await?;
    if revoked.is_empty() {
        return Err(ApiError::client(
            ProblemType::NotFound,
            "no such active device",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

pub enum Which {
    Only(DeviceId),
    AllBut(DeviceId),
}

/// Revokes devices of the session's customer and kills their online keys.
/// Sessions die with them: every request checks the device's status.
pub async fn revoke_devices(
    state: &AppState,
    session: &DeviceSession,
    which: Which,
) -> Result<Vec<Uuid>, ApiError> {
    let revoked = mark_revoked(&mut *state.db_conn().await?, session, which).await?;
    forget_revoked(state, session, &revoked).await?;
    Ok(revoked)
}

/// The Postgres half of [`revoke_devices`], on `conn` (so inside the
/// caller's transaction, if it has one): the devices revoked.
pub async fn mark_revoked(
    conn: &mut AsyncPgConnection,
    session: &DeviceSession,
    which: Which,
) -> QueryResult<Vec<Uuid>> {
    let mine = devices::table
        .filter(devices::merchant_id.eq(Uuid::from(session.merchant)))
        .filter(devices::customer_id.eq(Uuid::from(session.customer)))
        .filter(devices::status.ne(DeviceStatus::Revoked));
    let revoked = (
        devices::status.eq(DeviceStatus::Revoked),
        devices::revoked_at.eq(diesel::dsl::now),
        devices::totp_secret.eq(None::<Vec<u8>>),
    );
    match which {
        Which::Only(id) => {
            diesel::update(mine.filter(devices::id.eq(Uuid::from(id))))
                .set(revoked)
                .returning(devices::id)
                .get_results(conn)
                .await
        }
        Which::AllBut(id) => {
            diesel::update(mine.filter(devices::id.ne(Uuid::from(id))))
                .set(revoked)
                .returning(devices::id)
                .get_results(conn)
                .await
        }
    }
}

/// The rest of [`revoke_devices`], once [`mark_revoked`] committed: the
/// cached statuses and the online keys of `revoked`.
pub async fn forget_revoked(
    state: &AppState,
    session: &DeviceSession,
    revoked: &[Uuid],
) -> Result<(), ApiError> {
    for device in revoked {
        state.devices.forget(*device);
        online::kill_device_keys(state, session.customer, *device).await?;
        tracing::info!(merchant = %session.merchant, %device, "device revoked");
    }
    Ok(())
}
