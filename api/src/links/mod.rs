//! Linking a second device (seed 000): a signed-in device shows a single-use
//! link QR; the new device submits it with its own public key and name; the
//! first device sees that name and key fingerprint and approves or rejects.
//!
//! A link lives 5 minutes in Redis as a hash, found by the SHA-256 of its
//! code (the code itself is never stored) and by its id. Five bad proofs
//! kill it. The joining device is stored `pending` and can do nothing until
//! approved.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use actix_web::{get, post};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rand_core::OsRng;
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};
use tillcode_protocol::{
    LinkCode, MerchantId, ProblemType, key_fingerprint, link_device_message, parse_public_key,
    verify_strict,
};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::customers::session::DeviceSession;
use crate::db::DeviceStatus;
use crate::devices::register::{RegisteredDevice, insert_device};
use crate::devices::{DeviceName, decode_hex};
use crate::error::ApiError;
use crate::schema::devices;
use crate::state::AppState;

#[cfg(test)]
mod tests;

pub const LINK_TTL: Duration = Duration::from_secs(5 * 60);
pub const MAX_BAD_ATTEMPTS: i64 = 5;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create)
        .service(status)
        .service(approve)
        .service(reject)
        .service(join);
}

fn redis_error(e: redis::RedisError) -> ApiError {
    ApiError::Unavailable(format!("redis: {e}"))
}

fn link_key(state: &AppState, link: Uuid) -> String {
    state.redis_key(&["link", &link.to_string()])
}

fn code_key(state: &AppState, code: &LinkCode) -> String {
    state.redis_key(&["link-code", &hex::encode(code.stored_hash())])
}

/// Moves a link from one status to another, setting `fields` with it, only
/// if it is still in `from`: concurrent joins or approvals cannot both win.
async fn transition(
    state: &AppState,
    link: Uuid,
    from: &str,
    to: &str,
    fields: &[(&str, String)],
) -> Result<bool, ApiError> {
    static TRANSITION: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
        Script::new(
            r"
            if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
            redis.call('HSET', KEYS[1], 'status', ARGV[2])
            for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
            return 1",
        )
    });
    let mut invocation = TRANSITION.key(link_key(state, link));
    invocation.arg(from).arg(to);
    for (name, value) in fields {
        invocation.arg(*name).arg(value);
    }
    let mut conn = state.redis_conn().await?;
    let moved: i64 = invocation
        .invoke_async(&mut *conn)
        .await
        .map_err(redis_error)?;
    Ok(moved == 1)
}

/// Gives back a link claimed (moved to `claimed`) for a step that then
/// failed with `e`, which is answered: the retry a 503 invites finds the
/// link `back` as it was. A join whose device was stored after all (the
/// connection lost after the commit) leaves that device pending for good.
async fn unclaim(state: &AppState, link: Uuid, claimed: &str, back: &str, e: ApiError) -> ApiError {
    if let Err(redis) = transition(state, link, claimed, back, &[]).await {
        tracing::warn!(%link, error = %redis, "a link stays claimed until it expires");
    }
    e
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"link_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8fe0", "payload": "TC1L77XN3TF3VKMYQ53GKVCDGIQRAA", "expires_in": 300}))]
pub struct LinkCreated {
    pub link_id: Uuid,
    /// Show as a QR for the new device; single use.
    #[schema(example = "TC1L77XN3TF3VKMYQ53GKVCDGIQRAA")]
    pub payload: String,
    pub expires_in: u64,
}

/// Creates a link for the calling customer.
#[utoipa::path(operation_id = "create_link", tag = "links", security(("device_session" = [])),
    responses((status = 201, body = LinkCreated, description = "A link code to show as a QR on this device")))]
#[post("/v1/me/links")]
pub async fn create(
    state: web::Data<AppState>,
    session: DeviceSession,
) -> Result<HttpResponse, ApiError> {
    let code = LinkCode::generate(&mut OsRng);
    let link = Uuid::new_v4();
    let key = link_key(&state, link);
    let ttl = LINK_TTL.as_secs();
    let mut conn = state.redis_conn().await?;
    // The link first, then the code that finds it: the two keys are named
    // by different things (the id, the code's hash) and so sit in different
    // Redis Cluster slots, where one transaction cannot span them. A code is
    // never stored without its link; a link whose code failed to store
    // cannot be joined and expires.
    let _: () = redis::pipe()
        .atomic()
        .hset_multiple(
            &key,
            &[
                ("status", "waiting".to_owned()),
                ("merchant", session.merchant.to_string()),
                ("customer", session.customer.to_string()),
                ("attempts", "0".to_owned()),
            ],
        )
        .expire(&key, ttl as i64)
        .query_async(&mut *conn)
        .await
        .map_err(redis_error)?;
    conn.set_ex::<_, _, ()>(code_key(&state, &code), link.to_string(), ttl)
        .await
        .map_err(redis_error)?;
    Ok(HttpResponse::Created().json(LinkCreated {
        link_id: link,
        payload: code.payload(),
        expires_in: ttl,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct JoiningDevice {
    pub device_id: Uuid,
    pub name: String,
    pub fingerprint: String,
}

#[derive(Serialize, ToSchema)]
pub struct LinkStatus {
    /// `waiting`, `joined` (approve or reject it), `approved`, `rejected` or
    /// `dead` (too many bad attempts).
    pub status: String,
    pub device: Option<JoiningDevice>,
}

/// A link's fields, if it exists and belongs to the session's customer.
async fn own_link(
    state: &AppState,
    session: &DeviceSession,
    link: Uuid,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let mut conn = state.redis_conn().await?;
    let fields: std::collections::HashMap<String, String> = conn
        .hgetall(link_key(state, link))
        .await
        .map_err(redis_error)?;
    let mine = fields.get("merchant") == Some(&session.merchant.to_string())
        && fields.get("customer") == Some(&session.customer.to_string());
    if mine {
        Ok(fields)
    } else {
        Err(ApiError::client(
            ProblemType::NotFound,
            "no such link, or it has expired",
        ))
    }
}

/// Where a link stands, with the joining device's name and fingerprint.
#[utoipa::path(tag = "links", security(("device_session" = [])),
    params(("link_id" = Uuid, Path)), responses((status = 200, body = LinkStatus, description = "Where the link stands")))]
#[get("/v1/me/links/{link_id}")]
pub async fn status(
    state: web::Data<AppState>,
    session: DeviceSession,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let fields = own_link(&state, &session, path.into_inner()).await?;
    let device = match (
        fields.get("device_id"),
        fields.get("device_name"),
        fields.get("fingerprint"),
    ) {
        (Some(id), Some(name), Some(fingerprint)) => Some(JoiningDevice {
            device_id: id
                .parse()
                .map_err(|_| ApiError::Internal("bad link record".into()))?,
            name: name.clone(),
            fingerprint: fingerprint.clone(),
        }),
        _ => None,
    };
    Ok(HttpResponse::Ok().json(LinkStatus {
        status: fields.get("status").cloned().unwrap_or_default(),
        device,
    }))
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"payload": "TC1L77XN3TF3VKMYQ53GKVCDGIQRAA", "name": "Tablet", "public_key": "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8", "signature": "09c7ff9daeed778a2e0f0a955a99a2eca809d5b4fe1f0b57023a60db1e7281aa5b763e41f7082ae164733cebfbbc53d284facad0d7c5e012ce0e8cfe4fbfc709"}))]
#[serde(deny_unknown_fields)]
pub struct JoinLink {
    /// The scanned `TC1L...` payload.
    payload: String,
    #[schema(example = "Tablet")]
    name: String,
    /// The new device's Ed25519 public key, hex.
    public_key: String,
    /// Ed25519 over `tillcode/v1/link-device` || 0x00 || SHA-256(link body)
    /// || public_key || SHA-256(name), hex.
    signature: String,
}

/// A new device joins a link with its own key; it stays `pending` until the
/// first device approves it.
#[utoipa::path(tag = "links", request_body = JoinLink,
    responses(
        (status = 201, body = RegisteredDevice, description = "The new device, registered pending the signed-in device's approval"),
        (status = 401, description = "Bad proof (signature-invalid); five kill the link"),
        (status = 404, description = "Unknown, used or expired link"),
        (status = 422, description = "Malformed code or key")))]
#[post("/v1/links/join")]
pub async fn join(
    state: web::Data<AppState>,
    body: web::Json<JoinLink>,
) -> Result<HttpResponse, ApiError> {
    let code = LinkCode::parse(&body.payload).map_err(ApiError::from)?;
    let name = DeviceName::parse(&body.name)?;
    let gone = || {
        ApiError::client(
            ProblemType::NotFound,
            "no such link, or it has been used or has expired",
        )
    };
    let mut conn = state.redis_conn().await?;
    let link: Option<String> = conn
        .get(code_key(&state, &code))
        .await
        .map_err(redis_error)?;
    let link: Uuid = link.and_then(|l| l.parse().ok()).ok_or_else(gone)?;
    let key = link_key(&state, link);
    let fields: std::collections::HashMap<String, String> =
        conn.hgetall(&key).await.map_err(redis_error)?;
    if fields.get("status").map(String::as_str) != Some("waiting") {
        return Err(gone());
    }

    let key_bytes: [u8; 32] = decode_hex("public_key", &body.public_key)?;
    let signature: [u8; 64] = decode_hex("signature", &body.signature)?;
    let proof = parse_public_key(&key_bytes).and_then(|public_key| {
        let message = link_device_message(&code, &public_key, name.as_str());
        verify_strict(&public_key, &message, &signature).map(|()| public_key)
    });
    let public_key = match proof {
        Ok(public_key) => public_key,
        Err(e) => {
            let attempts: i64 = conn.hincr(&key, "attempts", 1).await.map_err(redis_error)?;
            if attempts >= MAX_BAD_ATTEMPTS {
                transition(&state, link, "waiting", "dead", &[]).await?;
            }
            return Err(match e {
                tillcode_protocol::CodeError::BadSignature => ApiError::client(
                    ProblemType::SignatureInvalid,
                    "the proof of possession does not verify",
                ),
                other => other.into(),
            });
        }
    };
    drop(conn);

    let merchant: MerchantId = fields
        .get("merchant")
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| ApiError::Internal("bad link record".into()))?;
    let customer: Uuid = fields
        .get("customer")
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| ApiError::Internal("bad link record".into()))?;
    // Claim the link before creating the device, so that two joins racing
    // with the same code cannot both get in.
    if !transition(&state, link, "waiting", "joining", &[]).await? {
        return Err(gone());
    }
    let inserted = async {
        let mut db = state.db_conn().await?;
        insert_device(
            &mut db,
            merchant,
            customer,
            &name,
            &key_bytes,
            DeviceStatus::Pending,
        )
        .await
    }
    .await;
    let device = match inserted {
        Ok(device) => device,
        Err(e) => return Err(unclaim(&state, link, "joining", "waiting", e).await),
    };
    transition(
        &state,
        link,
        "joining",
        "joined",
        &[
            ("device_id", device.device_id.to_string()),
            ("device_name", name.as_str().to_owned()),
            ("fingerprint", key_fingerprint(&public_key)),
        ],
    )
    .await?;
    Ok(HttpResponse::Created().json(device))
}

async fn decide(
    state: &AppState,
    session: &DeviceSession,
    link: Uuid,
    approving: bool,
) -> Result<HttpResponse, ApiError> {
    let fields = own_link(state, session, link).await?;
    let device: Uuid = fields
        .get("device_id")
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| {
            ApiError::client(
                ProblemType::BadRequest,
                "no device has joined this link yet",
            )
        })?;
    let to = if approving { "approved" } else { "rejected" };
    if !transition(state, link, "joined", to, &[]).await? {
        return Err(ApiError::client(
            ProblemType::BadRequest,
            "this link has been decided already",
        ));
    }
    let decided = async {
        let mut conn = state.db_conn().await?;
        let pending = devices::table
            .find((Uuid::from(session.merchant), device))
            .filter(devices::customer_id.eq(Uuid::from(session.customer)))
            .filter(devices::status.eq(DeviceStatus::Pending));
        if approving {
            diesel::update(pending)
                .set(devices::status.eq(DeviceStatus::Active))
                .execute(&mut conn)
                .await?;
        } else {
            diesel::update(pending)
                .set((
                    devices::status.eq(DeviceStatus::Revoked),
                    devices::revoked_at.eq(diesel::dsl::now),
                    devices::totp_secret.eq(None::<Vec<u8>>),
                ))
                .execute(&mut conn)
                .await?;
        }
        Ok::<_, ApiError>(())
    }
    .await;
    if let Err(e) = decided {
        return Err(unclaim(state, link, to, "joined", e).await);
    }
    tracing::info!(merchant = %session.merchant, %device, approve = approving, "link decided");
    Ok(HttpResponse::NoContent().finish())
}

/// Approves the device that joined: it becomes active.
#[utoipa::path(tag = "links", security(("device_session" = [])),
    params(("link_id" = Uuid, Path)), responses((status = 204, description = "Approved: the new device is active"),
        (status = 400, description = "validation-failed: no device has joined this link yet")))]
#[post("/v1/me/links/{link_id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    session: DeviceSession,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    decide(&state, &session, path.into_inner(), true).await
}

/// Rejects the device that joined: it is revoked.
#[utoipa::path(tag = "links", security(("device_session" = [])),
    params(("link_id" = Uuid, Path)), responses((status = 204, description = "Rejected: the new device stays inactive"),
        (status = 400, description = "validation-failed: no device has joined this link yet")))]
#[post("/v1/me/links/{link_id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    session: DeviceSession,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    decide(&state, &session, path.into_inner(), false).await
}
