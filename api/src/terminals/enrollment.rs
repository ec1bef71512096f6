//! Enrolling a cashier terminal (seeds 002-004): a manager creates a
//! one-time code for a store; the terminal generates its own key and submits
//! the code, its name and its public key with a proof of possession; it then
//! waits, `pending`, until a manager approves it seeing its name and key
//! fingerprint.

use std::time::Duration;

use actix_web::post;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tillcode_protocol::{
    EnrollmentCode, MerchantId, ProblemType, TerminalId, enroll_terminal_message, key_fingerprint,
    parse_public_key, verify_strict,
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::TerminalStatus;
use crate::devices::{DeviceName, decode_hex};
use crate::error::ApiError;
use crate::rate_limit::{self, Limit};
use crate::schema::{stores, terminal_enrollments, terminals};
use crate::state::AppState;

pub const ENROLLMENT_TTL: Duration = Duration::from_secs(10 * 60);
/// Wrong codes tried at a store before its live enrollments die.
pub const MAX_FAILED_ATTEMPTS: i16 = 5;

const PER_ADDRESS: Limit = Limit {
    name: "enroll-address",
    max: 30,
    window: Duration::from_secs(10 * 60),
};

/// Stored instead of the code. Domain-separated from the hash the proof
/// signs, so the stored value is never a signed message part.
fn code_hash(code: &EnrollmentCode) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"tillcode/v1/enrollment-code\0");
    hasher.update(code.as_str().as_bytes());
    hasher.finalize().into()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedEnrollment {
    pub enrollment_id: Uuid,
    /// Show as `XXXX-XXXX` and as a QR; it is not stored and cannot be shown again.
    #[schema(example = "BCDF-GHJK")]
    pub code: String,
    pub merchant_id: Uuid,
    pub store_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// Creates an enrollment for `store`. `created_by` names the manager or
/// operator, for the audit trail.
pub async fn create(
    conn: &mut diesel_async::AsyncPgConnection,
    store: Uuid,
    created_by: &str,
) -> Result<CreatedEnrollment, ApiError> {
    let merchant: Uuid = stores::table
        .filter(stores::id.eq(store))
        .select(stores::merchant_id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::client(ProblemType::NotFound, "no such store"))?;
    let code = EnrollmentCode::generate(&mut OsRng);
    let id = Uuid::now_v7();
    let expires_at = Utc::now() + chrono::Duration::seconds(ENROLLMENT_TTL.as_secs() as i64);
    diesel::insert_into(terminal_enrollments::table)
        .values((
            terminal_enrollments::merchant_id.eq(merchant),
            terminal_enrollments::id.eq(id),
            terminal_enrollments::store_id.eq(store),
            terminal_enrollments::code_hash.eq(code_hash(&code).as_slice()),
            terminal_enrollments::created_by.eq(created_by),
            terminal_enrollments::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(CreatedEnrollment {
        enrollment_id: id,
        code: code.display(),
        merchant_id: merchant,
        store_id: store,
        expires_at,
    })
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"store_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f10", "code": "BCDF-GHJK", "name": "Till 1", "public_key": "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7", "signature": "bc6d4c26e6eca7b6ad68984f956ac923434a3e4cb4044db6e9e13c4749d4efeb1deb22d80188bfe629eb060711a2b100fae2b4d7c70776d83fb2fb929012d800"}))]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    store_id: Uuid,
    /// As the manager read it out: `BCDF-GHJK`; case, spaces and dashes are ignored.
    #[schema(example = "BCDF-GHJK")]
    code: String,
    #[schema(example = "Till 1")]
    name: String,
    /// The terminal's Ed25519 public key, hex.
    public_key: String,
    /// Ed25519 over `tillcode/v1/enroll-terminal` || 0x00 || SHA-256(code)
    /// || public_key || SHA-256(name), hex.
    signature: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"terminal_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa", "merchant_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00", "store_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f10", "name": "Till 1", "status": "pending", "fingerprint": "ET3O-22WL-7YIA-TQBQ-27FF-M7BT-ZI"}))]
pub struct TerminalView {
    pub terminal_id: Uuid,
    pub merchant_id: Uuid,
    pub store_id: Uuid,
    pub name: String,
    pub status: TerminalStatus,
    /// What the approving manager compares with the terminal's screen.
    pub fingerprint: String,
}

impl TerminalView {
    pub fn new(
        id: Uuid,
        merchant: Uuid,
        store: Uuid,
        name: String,
        status: TerminalStatus,
        public_key: &[u8],
    ) -> Self {
        Self {
            terminal_id: id,
            merchant_id: merchant,
            store_id: store,
            name,
            status,
            fingerprint: parse_public_key(public_key)
                .map(|k| key_fingerprint(&k))
                .unwrap_or_default(),
        }
    }
}

/// A new terminal enrolls with a code; it stays `pending` until approved.
#[utoipa::path(tag = "terminals", request_body = EnrollRequest,
    responses(
        (status = 201, body = TerminalView, description = "Enrolled, pending until a manager approves it"),
        (status = 401, description = "The proof does not verify (signature-invalid)"),
        (status = 404, description = "No live enrollment with this code at this store; counts as a wrong attempt"),
        (status = 422, description = "Malformed code, name or key (validation-failed, weak-key)"),
        (status = 429, description = "Too many attempts from this address")))]
#[post("/v1/terminals/enroll")]
pub async fn enroll(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<EnrollRequest>,
) -> Result<HttpResponse, ApiError> {
    let peer = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    rate_limit::hit(&state, &PER_ADDRESS, &peer).await?;
    let code = EnrollmentCode::parse(&body.code).map_err(ApiError::from)?;
    let name = DeviceName::parse(&body.name)?;
    let key_bytes: [u8; 32] = decode_hex("public_key", &body.public_key)?;
    let public_key = parse_public_key(&key_bytes).map_err(ApiError::from)?;
    let signature: [u8; 64] = decode_hex("signature", &body.signature)?;

    let mut conn = state.db_conn().await?;
    let live: Vec<(Uuid, Uuid, Vec<u8>)> = terminal_enrollments::table
        .filter(terminal_enrollments::store_id.eq(body.store_id))
        .filter(terminal_enrollments::used_at.is_null())
        .filter(terminal_enrollments::expires_at.gt(diesel::dsl::now))
        .filter(terminal_enrollments::failed_attempts.lt(MAX_FAILED_ATTEMPTS))
        .select((
            terminal_enrollments::merchant_id,
            terminal_enrollments::id,
            terminal_enrollments::code_hash,
        ))
        .load(&mut conn)
        .await?;
    let wanted = code_hash(&code);
    let matched = live
        .iter()
        .find(|(_, _, hash)| bool::from(hash.as_slice().ct_eq(wanted.as_slice())))
        .map(|(merchant, id, _)| (*merchant, *id));
    let proof_ok = verify_strict(
        &public_key,
        &enroll_terminal_message(&code, &public_key, name.as_str()),
        &signature,
    )
    .is_ok();
    let Some((merchant, enrollment)) = matched.filter(|_| proof_ok) else {
        // A wrong code counts against every live enrollment of the store;
        // a right code with a bad proof against its own.
        let target: Vec<Uuid> = match matched {
            Some((_, id)) => vec![id],
            None => live.iter().map(|(_, id, _)| *id).collect(),
        };
        diesel::update(
            terminal_enrollments::table.filter(terminal_enrollments::id.eq_any(&target)),
        )
        .set(terminal_enrollments::failed_attempts.eq(terminal_enrollments::failed_attempts + 1))
        .execute(&mut conn)
        .await?;
        return Err(if matched.is_some() {
            ApiError::client(
                ProblemType::SignatureInvalid,
                "the proof of possession does not verify",
            )
        } else {
            ApiError::client(
                ProblemType::NotFound,
                "no live enrollment with this code at this store",
            )
        });
    };

    let terminal = Uuid::now_v7();
    let name_owned = name.as_str().to_owned();
    let store = body.store_id;
    let inserted = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let claimed = diesel::update(
                terminal_enrollments::table
                    .find((merchant, enrollment))
                    .filter(terminal_enrollments::used_at.is_null()),
            )
            .set((
                terminal_enrollments::used_at.eq(diesel::dsl::now),
                terminal_enrollments::terminal_id.eq(terminal),
            ))
            .execute(conn)
            .await?;
            if claimed == 0 {
                return Ok(false);
            }
            diesel::insert_into(terminals::table)
                .values((
                    terminals::merchant_id.eq(merchant),
                    terminals::id.eq(terminal),
                    terminals::store_id.eq(store),
                    terminals::name.eq(&name_owned),
                    terminals::public_key.eq(key_bytes.as_slice()),
                ))
                .execute(conn)
                .await?;
            Ok(true)
        })
        .await;
    match inserted {
        Ok(true) => {}
        Ok(false) => {
            return Err(ApiError::client(
                ProblemType::NotFound,
                "this enrollment has just been used",
            ));
        }
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => {
            return Err(ApiError::client(
                ProblemType::BadRequest,
                "this public key is already enrolled; generate a new key",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(merchant = %merchant, %terminal, "terminal enrolled, pending approval");
    Ok(HttpResponse::Created().json(TerminalView::new(
        terminal,
        merchant,
        store,
        name.as_str().to_owned(),
        TerminalStatus::Pending,
        &key_bytes,
    )))
}

/// What a manager (or the server itself) may do to a terminal's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TerminalAction {
    /// Lets a pending terminal sell, or resumes a suspended one.
    Approve,
    Suspend,
    /// For good.
    Revoke,
}

impl TerminalAction {
    /// The dashboard's path segment and the operator command's verb.
    pub fn parse(action: &str) -> Option<Self> {
        match action {
            "approve" => Some(Self::Approve),
            "suspend" => Some(Self::Suspend),
            "revoke" => Some(Self::Revoke),
            _ => None,
        }
    }

    /// The statuses the action may leave, and the one it leads to.
    pub fn transition(self) -> (&'static [TerminalStatus], TerminalStatus) {
        use TerminalStatus::{Active, Pending, Revoked, Suspended};
        match self {
            Self::Approve => (&[Pending, Suspended], Active),
            Self::Suspend => (&[Active], Suspended),
            Self::Revoke => (&[Pending, Active, Suspended], Revoked),
        }
    }
}

/// The answer when [`set_status`] found no terminal to change.
pub fn no_terminal_for(terminal: TerminalId, action: TerminalAction) -> ApiError {
    let (from, _) = action.transition();
    let from: Vec<&str> = from.iter().map(|status| status.as_str()).collect();
    ApiError::client(
        ProblemType::NotFound,
        format!(
            "no terminal {terminal} here in status {}",
            from.join(" or ")
        ),
    )
}

/// Applies `action` to a terminal (of `merchant`, unless the operator asks).
/// Returns the terminal, or `None` when it does not exist or is in no status
/// the action may leave.
pub async fn set_status(
    conn: &mut diesel_async::AsyncPgConnection,
    merchant: Option<MerchantId>,
    terminal: TerminalId,
    action: TerminalAction,
    by: &str,
) -> Result<Option<TerminalView>, ApiError> {
    let (from, to) = action.transition();
    let mut update = diesel::update(terminals::table)
        .filter(terminals::id.eq(Uuid::from(terminal)))
        .filter(terminals::status.eq_any(from))
        .into_boxed();
    if let Some(merchant) = merchant {
        update = update.filter(terminals::merchant_id.eq(Uuid::from(merchant)));
    }
    let row: Option<(Uuid, Uuid, String, TerminalStatus, Vec<u8>)> = update
        .set((
            terminals::status.eq(to),
            terminals::updated_at.eq(diesel::dsl::now),
            terminals::approved_by.eq(by),
        ))
        .returning((
            terminals::merchant_id,
            terminals::store_id,
            terminals::name,
            terminals::status,
            terminals::public_key,
        ))
        .get_result(conn)
        .await
        .optional()?;
    Ok(row.map(|(merchant, store, name, status, key)| {
        TerminalView::new(terminal.into(), merchant, store, name, status, &key)
    }))
}

/// Every terminal (of one merchant, or of all for the operator CLI), newest first.
pub async fn list(
    conn: &mut diesel_async::AsyncPgConnection,
    merchant: Option<MerchantId>,
) -> Result<Vec<TerminalView>, ApiError> {
    let mut query = terminals::table
        .order(terminals::created_at.desc())
        .select((
            terminals::id,
            terminals::merchant_id,
            terminals::store_id,
            terminals::name,
            terminals::status,
            terminals::public_key,
        ))
        .into_boxed();
    if let Some(merchant) = merchant {
        query = query.filter(terminals::merchant_id.eq(Uuid::from(merchant)));
    }
    let rows: Vec<(Uuid, Uuid, Uuid, String, TerminalStatus, Vec<u8>)> = query.load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(id, merchant, store, name, status, key)| {
            TerminalView::new(id, merchant, store, name, status, &key)
        })
        .collect())
}
