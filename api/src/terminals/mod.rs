//! Cashier terminals: enrollment, approval, and authenticating their signed
//! requests.

pub mod auth;
pub mod enrollment;

use actix_web::get;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;
use auth::{Require, authenticate};
use enrollment::TerminalView;
use utoipa_actix_web::service_config::ServiceConfig;

/// The body of a signed `GET` (empty, but covered by its Content-Digest).
/// Not spelled `web::Bytes`: utoipa's actix-web extension documents a
/// handler's `Bytes` argument as its request body, and a `GET` has none.
pub type SignedBody = web::Bytes;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(enrollment::enroll).service(me);
}

/// The calling terminal and its status; answered whatever the status, so a
/// pending terminal can learn that it has been approved.
#[utoipa::path(operation_id = "terminal_me", tag = "terminals",
    security(("terminal_signature" = [])),
    responses((status = 200, body = TerminalView, description = "The calling terminal, with its status"), (status = 401, description = "Signature missing or invalid")))]
#[get("/v1/terminal")]
pub async fn me(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: SignedBody,
) -> Result<HttpResponse, ApiError> {
    let terminal = authenticate(&state, &req, &body, Require::AnyStatus).await?;
    let status = terminal
        .status
        .ok_or_else(|| ApiError::Internal("the terminal's status was not read".into()))?;
    Ok(HttpResponse::Ok().json(TerminalView::new(
        terminal.id.into(),
        terminal.merchant.into(),
        terminal.store.into(),
        terminal.name,
        status,
        &terminal.public_key,
    )))
}
