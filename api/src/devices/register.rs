//! `POST /v1/devices`: a signed-in customer registers a device's public key,
//! proving possession by signing a fresh challenge; `POST
//! /v1/devices/{id}/sessions`: a device opens a short-lived API session the
//! same way. The private key never leaves the device.

use actix_web::post;
use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::RunQueryDsl;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use tillcode_protocol::{
    DeviceHandle, MerchantId, NumericHandle, ProblemType, device_session_message, key_fingerprint,
    parse_public_key, register_device_message, verify_strict,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{DeviceName, challenge, decode_hex};
use crate::bearer;
use crate::customers::session::{CustomerSession, DEVICE_SESSION_TTL, DEVICE_TOKEN, DeviceSession};
use crate::db::DeviceStatus;
use crate::error::ApiError;
use crate::schema::devices;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"name": "Ana's phone", "public_key": "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8", "challenge": "c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7", "signature": "51dd6dac03c931a4cfad009c30e0228957ed72847041ff21cba16aba943bb4899e913c9d8dd5ccddc56533bb892c042f6c63062eafd0ffd7a69d3e5709e15f08"}))]
#[serde(deny_unknown_fields)]
pub struct RegisterDevice {
    #[schema(example = "Ana's phone")]
    name: String,
    /// Ed25519 public key, 32 bytes, hex.
    #[schema(example = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")]
    public_key: String,
    /// A challenge from `POST /v1/challenges`, hex.
    challenge: String,
    /// Ed25519 over `tillcode/v1/register-device` || 0x00 || merchant_id ||
    /// challenge || public_key || SHA-256(name), hex.
    signature: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"merchant_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00", "customer_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8fc0", "device_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8fd0", "device_handle": "8d3e01a7c45b9f20", "numeric_handle": 123456789, "totp_secret": "6465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80818283", "fingerprint": "KZDV-VJ2U-MNDU-YAUF-35O3-6K6K-W4"}))]
pub struct RegisteredDevice {
    #[schema(value_type = String, format = Uuid)]
    pub merchant_id: MerchantId,
    pub customer_id: Uuid,
    pub device_id: Uuid,
    /// Names the device inside offline tokens (8 bytes, hex).
    pub device_handle: String,
    /// The first 9 digits of the device's numeric codes.
    pub numeric_handle: u32,
    /// RFC 6238 secret for numeric codes (32 bytes, hex). Shown this once.
    pub totp_secret: String,
    /// What a person compares when approving this key elsewhere.
    pub fingerprint: String,
}

fn invalid_signature() -> ApiError {
    ApiError::client(
        ProblemType::SignatureInvalid,
        "the proof of possession does not verify",
    )
}

async fn consume_challenge(state: &AppState, challenge: &[u8; 32]) -> Result<(), ApiError> {
    if challenge::consume(state, challenge).await? {
        Ok(())
    } else {
        Err(ApiError::client(
            ProblemType::SignatureExpired,
            "the challenge is unknown, used or expired; ask for a new one",
        ))
    }
}

/// Registers the calling customer's device.
#[utoipa::path(tag = "devices", request_body = RegisterDevice,
    security(("sign_in_token" = [])),
    responses(
        (status = 201, body = RegisteredDevice, description = "The device, registered and active; its TOTP secret is shown this once"),
        (status = 401, description = "No sign-in, a used challenge, or a bad proof"),
        (status = 422, description = "A weak or malformed key (weak-key, validation-failed)")))]
#[post("/v1/devices")]
pub async fn register(
    state: web::Data<AppState>,
    session: CustomerSession,
    body: web::Json<RegisterDevice>,
) -> Result<HttpResponse, ApiError> {
    let name = DeviceName::parse(&body.name)?;
    let key_bytes: [u8; 32] = decode_hex("public_key", &body.public_key)?;
    let public_key = parse_public_key(&key_bytes).map_err(ApiError::from)?;
    let challenge: [u8; 32] = decode_hex("challenge", &body.challenge)?;
    let signature: [u8; 64] = decode_hex("signature", &body.signature)?;
    consume_challenge(&state, &challenge).await?;
    let message = register_device_message(session.merchant, &challenge, &public_key, name.as_str());
    verify_strict(&public_key, &message, &signature).map_err(|_| invalid_signature())?;

    let mut conn = state.db_conn().await?;
    let device = insert_device(
        &mut conn,
        session.merchant,
        session.customer.into(),
        &name,
        &key_bytes,
        DeviceStatus::Active,
    )
    .await?;
    tracing::info!(merchant = %session.merchant, device = %device.device_id, "device registered");
    Ok(HttpResponse::Created().json(device))
}

/// Inserts a device with fresh random handles and TOTP secret, drawing new
/// handles if they collide with another device of the merchant.
pub async fn insert_device(
    conn: &mut crate::db::DbConn,
    merchant: MerchantId,
    customer: Uuid,
    name: &DeviceName,
    public_key: &[u8; 32],
    status: DeviceStatus,
) -> Result<RegisteredDevice, ApiError> {
    for _ in 0..5 {
        let device_id = Uuid::now_v7();
        let handle = DeviceHandle::generate(&mut OsRng);
        let numeric = NumericHandle::generate(&mut OsRng);
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        let inserted = diesel::insert_into(devices::table)
            .values((
                devices::merchant_id.eq(Uuid::from(merchant)),
                devices::id.eq(device_id),
                devices::customer_id.eq(customer),
                devices::name.eq(name.as_str()),
                devices::public_key.eq(public_key.as_slice()),
                devices::device_handle.eq(handle.0.as_slice()),
                devices::numeric_handle.eq(numeric.get() as i32),
                devices::totp_secret.eq(secret.as_slice()),
                devices::status.eq(status),
            ))
            .execute(conn)
            .await;
        match inserted {
            Ok(_) => {
                let fingerprint = parse_public_key(public_key)
                    .map(|k| key_fingerprint(&k))
                    .unwrap_or_default();
                return Ok(RegisteredDevice {
                    merchant_id: merchant,
                    customer_id: customer,
                    device_id,
                    device_handle: hex::encode(handle.0),
                    numeric_handle: numeric.get(),
                    totp_secret: hex::encode(secret),
                    fingerprint,
                });
            }
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
                if info.constraint_name() == Some("devices_merchant_id_public_key_key") =>
            {
                return Err(ApiError::client(
                    ProblemType::BadRequest,
                    "this public key is already registered; generate a new key",
                ));
            }
            // A handle collided: draw again.
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Internal(
        "could not draw unique device handles".into(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"merchant_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00", "challenge": "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f", "signature": "bb09e889cf42b604c0ba75affed258b9d17795fbcf52dc5208e1d156911582d2cc223e5a61535ed0143b8b75cd9811825d38d3e65f5190727cfba158dbb33002"}))]
#[serde(deny_unknown_fields)]
pub struct OpenSession {
    #[schema(value_type = String, format = Uuid)]
    merchant_id: MerchantId,
    /// A challenge from `POST /v1/challenges`, hex.
    challenge: String,
    /// Ed25519 over `tillcode/v1/device-session` || 0x00 || device_id ||
    /// challenge, hex.
    signature: String,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"access_token": "q1Jf0m6yqQx3b8kZ2cV7nR4tW9aE5sH1uL0pD3gK6iM", "expires_in": 900}))]
pub struct SessionOpened {
    /// Bearer token for the `/v1/me/...` endpoints.
    pub access_token: String,
    pub expires_in: u64,
}

/// Opens a device session by signing a challenge with the device key.
#[utoipa::path(tag = "devices", request_body = OpenSession,
    params(("device_id" = Uuid, Path)),
    responses(
        (status = 201, body = SessionOpened, description = "A device session (bearer token)"),
        (status = 401, description = "A used or unknown challenge (signature-expired) or a bad proof (signature-invalid)"),
        (status = 422, description = "unknown-device: no such device at this merchant; device-revoked: the device is not active")))]
#[post("/v1/devices/{device_id}/sessions")]
pub async fn open_session(
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Json<OpenSession>,
) -> Result<HttpResponse, ApiError> {
    let device_id = path.into_inner();
    let challenge: [u8; 32] = decode_hex("challenge", &body.challenge)?;
    let signature: [u8; 64] = decode_hex("signature", &body.signature)?;
    consume_challenge(&state, &challenge).await?;
    let mut conn = state.db_conn().await?;
    let device: Option<(Uuid, Vec<u8>, DeviceStatus)> = devices::table
        .find((Uuid::from(body.merchant_id), device_id))
        .select((devices::customer_id, devices::public_key, devices::status))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((customer, key_bytes, status)) = device else {
        return Err(ApiError::client(
            ProblemType::UnknownDevice,
            "no such device",
        ));
    };
    let public_key = parse_public_key(&key_bytes).map_err(ApiError::from)?;
    verify_strict(
        &public_key,
        &device_session_message(device_id, &challenge),
        &signature,
    )
    .map_err(|_| invalid_signature())?;
    if status != DeviceStatus::Active {
        return Err(ApiError::client(
            ProblemType::DeviceRevoked,
            format!("this device is {status}, not active"),
        ));
    }
    let claims = DeviceSession {
        merchant: body.merchant_id,
        customer: customer.into(),
        device: device_id.into(),
    };
    let access_token = bearer::issue(&state, DEVICE_TOKEN, &claims, DEVICE_SESSION_TTL).await?;
    Ok(HttpResponse::Created().json(SessionOpened {
        access_token,
        expires_in: DEVICE_SESSION_TTL.as_secs(),
    }))
}
