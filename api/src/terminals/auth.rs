//! Who sent a terminal request: RFC 9421 signature verification (the
//! Tillcode profile in `tillcode_protocol::http_signature`), the
//! `Content-Digest` of the body, a fresh nonce, and the terminal's status,
//! read on every request so that suspending or revoking takes effect on the
//! next one: here, or (for a redemption) by the posting statement itself.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::HttpRequest;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use moka::future::Cache;
use tillcode_protocol::content_digest::content_digest_matches;
use tillcode_protocol::http_signature::{
    CREATED_WINDOW_S, HttpSignatureError, KeyId, NONCE_RETENTION_S, RequestParts, check_created,
    parse_signature, verify_signature,
};
use tillcode_protocol::{MerchantId, ProblemType, StoreId, TerminalId};
use uuid::Uuid;

use crate::db::TerminalStatus;
use crate::error::ApiError;
use crate::local_cache;
use crate::schema::terminals;
use crate::state::AppState;

/// An authenticated terminal.
#[derive(Clone, Debug)]
pub struct Terminal {
    pub id: TerminalId,
    pub merchant: MerchantId,
    pub store: StoreId,
    pub name: String,
    /// As read when the request was authenticated; `None` when the request
    /// leaves it to the posting ([`Require::ActiveAtPosting`]).
    pub status: Option<TerminalStatus>,
    pub public_key: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Require {
    /// Most endpoints: only an active terminal may use them.
    Active,
    /// `GET /v1/terminal`: a pending terminal asks whether it is approved.
    AnyStatus,
    /// `POST /v1/redemptions`, the till's hot path: the terminal comes from
    /// [`TerminalCache`] and its status is not read here (only on a cache
    /// miss). `ledger_post_batch_v1` refuses a posting whose terminal is not
    /// active in the debit's own transaction, and every other answer of the
    /// call first asks [`require_active`]. Saves a database round trip per
    /// redemption.
    ActiveAtPosting,
}

/// Terminals kept: more than a chain has tills.
pub const CACHE_CAPACITY: u64 = 20_000;

/// What never changes about a terminal after enrollment (merchant, store,
/// name, key), by id, so that a redemption authenticates without reading the
/// database. Never the status, so nothing to invalidate and no time to live:
/// suspending or revoking is a status, read by the posting or by
/// [`require_active`].
#[derive(Clone)]
pub struct TerminalCache(Cache<TerminalId, Terminal>);

impl Default for TerminalCache {
    fn default() -> Self {
        Self(Cache::new(CACHE_CAPACITY))
    }
}

fn refused(e: HttpSignatureError) -> ApiError {
    ApiError::client(e.problem_type(), e.to_string())
}

fn header<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Checks the request's signature over `body` and returns its terminal.
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
    require: Require,
) -> Result<Terminal, ApiError> {
    let mut known: Option<(MerchantId, TerminalId, StoreId)> = None;
    let result = check(state, req, body, require, &mut known).await;
    if let Err(error) = &result {
        // Refusals of a known terminal are recorded for its merchant; the
        // rest (no signature, unknown key) are only counted.
        let seen = crate::fraud::Seen {
            terminal: known.map(|k| k.1),
            store: known.map(|k| k.2),
            ..Default::default()
        };
        crate::fraud::record(state, known.map(|k| k.0), error.kind(), seen).await;
    }
    result
}

async fn check(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
    require: Require,
    known: &mut Option<(MerchantId, TerminalId, StoreId)>,
) -> Result<Terminal, ApiError> {
    let query = req.query_string();
    // For a signature that covers more than the profile requires (`date`,
    // `@authority`), as other RFC 9421 libraries send them.
    let headers: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let parts = RequestParts {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: (!query.is_empty()).then_some(query),
        content_digest: header(req, "content-digest"),
        idempotency_key: header(req, "idempotency-key"),
        authority: header(req, "host").or_else(|| req.uri().authority().map(|a| a.as_str())),
        headers: &headers,
    };
    let (Some(input), Some(signature)) = (header(req, "signature-input"), header(req, "signature"))
    else {
        return Err(refused(HttpSignatureError::Missing));
    };
    let signed = parse_signature(input, signature, &parts).map_err(refused)?;
    check_created(signed.created, now_s(), CREATED_WINDOW_S).map_err(refused)?;
    let KeyId::Terminal(terminal_id) = signed.keyid else {
        return Err(refused(HttpSignatureError::UnknownKeyId));
    };
    let terminal_id = TerminalId::from(terminal_id);
    // A redemption takes the terminal's identity from the cache; on a miss
    // the row is read, and its status with it, so it is checked below.
    // Requests that miss together share that read; those that waited for it
    // get the identity only and leave the status to the posting.
    let read_identity = |terminal: &Terminal| Terminal {
        status: None,
        ..terminal.clone()
    };
    let terminal = match require {
        Require::ActiveAtPosting => {
            let mut read = None;
            let identity = state
                .terminals
                .0
                .try_get_with(terminal_id, async {
                    let terminal = find(state, terminal_id)
                        .await?
                        .ok_or_else(|| refused(HttpSignatureError::UnknownKeyId))?;
                    let identity = read_identity(&terminal);
                    read = Some(terminal);
                    Ok::<_, ApiError>(identity)
                })
                .await
                .map_err(local_cache::unshare)?;
            read.unwrap_or(identity)
        }
        Require::Active | Require::AnyStatus => {
            let terminal = find(state, terminal_id)
                .await?
                .ok_or_else(|| refused(HttpSignatureError::UnknownKeyId))?;
            state
                .terminals
                .0
                .insert(terminal_id, read_identity(&terminal))
                .await;
            terminal
        }
    };
    *known = Some((terminal.merchant, terminal.id, terminal.store));
    let key = state
        .keys
        .stored(&terminal.public_key)
        .map_err(|_| refused(HttpSignatureError::BadSignature))?;
    verify_signature(&signed, &parts, &key).map_err(refused)?;
    content_digest_matches(parts.content_digest, body)
        .map_err(|e| ApiError::client(e.problem_type(), e.to_string()))?;
    // Last, so that only a request that verified can spend a nonce.
    if !first_use_of_nonce(state, terminal_id, &signed.nonce).await? {
        return Err(refused(HttpSignatureError::Replayed));
    }
    if require != Require::AnyStatus
        && let Some(status) = terminal.status
        && status != TerminalStatus::Active
    {
        return Err(not_active(status.as_str()));
    }
    Ok(terminal)
}

fn not_active(status: &str) -> ApiError {
    ApiError::client(
        ProblemType::TerminalNotActive,
        format!("this terminal is {status}"),
    )
}

/// For a request authenticated with [`Require::ActiveAtPosting`]: refuses
/// it unless its terminal is active now, recorded as authentication would
/// have. A redemption's answers other than a posting call this first, so a
/// suspended terminal learns nothing else (not whether a code was good).
pub async fn require_active(state: &AppState, terminal: &Terminal) -> Result<(), ApiError> {
    if terminal.status.is_some() {
        // Read, and required to be active, at authentication.
        return Ok(());
    }
    let status: Option<TerminalStatus> = terminals::table
        .filter(terminals::id.eq(Uuid::from(terminal.id)))
        .select(terminals::status)
        .first(&mut *state.db_conn().await?)
        .await
        .optional()?;
    let error = match status {
        Some(TerminalStatus::Active) => return Ok(()),
        Some(status) => not_active(status.as_str()),
        None => not_active("gone"),
    };
    let seen = crate::fraud::Seen {
        terminal: Some(terminal.id),
        store: Some(terminal.store),
        ..Default::default()
    };
    crate::fraud::record(state, Some(terminal.merchant), error.kind(), seen).await;
    Err(error)
}

async fn find(state: &AppState, id: TerminalId) -> Result<Option<Terminal>, ApiError> {
    let mut conn = state.db_conn().await?;
    let row: Option<(Uuid, Uuid, String, TerminalStatus, Vec<u8>)> = terminals::table
        .filter(terminals::id.eq(Uuid::from(id)))
        .select((
            terminals::merchant_id,
            terminals::store_id,
            terminals::name,
            terminals::status,
            terminals::public_key,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    Ok(
        row.map(|(merchant, store, name, status, public_key)| Terminal {
            id,
            merchant: merchant.into(),
            store: store.into(),
            name,
            status: Some(status),
            public_key,
        }),
    )
}

async fn first_use_of_nonce(
    state: &AppState,
    terminal: TerminalId,
    nonce: &str,
) -> Result<bool, ApiError> {
    let key = state.redis_key(&["nonce", &terminal.to_string(), nonce]);
    let mut conn = state.redis_conn().await?;
    let set: Option<String> = redis::cmd("SET")
        .arg(&key)
        .arg(1u8)
        .arg("NX")
        .arg("EX")
        .arg(NONCE_RETENTION_S)
        .query_async(&mut *conn)
        .await
        .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?;
    Ok(set.is_some())
}
