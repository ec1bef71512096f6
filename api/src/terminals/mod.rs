//! Cashier terminals: enrollment, approval, and authenticating their signed
//! requests.

pub mod auth;
pub mod enrollment;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;
use auth::{Require, authenticate};
use enrollment::TerminalView;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/terminals/enroll", web::post().to(enrollment::enroll))
        .route("/v1/terminal", web::get().to(me));
}

/// The calling terminal and its status; answered whatever the status, so a
/// pending terminal can learn that it has been approved.
#[utoipa::path(get, path = "/v1/terminal", operation_id = "terminal_me", tag = "terminals",
    security(("terminal_signature" = [])),
    responses((status = 200, body = TerminalView, description = "The calling terminal, with its status"), (status = 401, description = "Signature missing or invalid")))]
pub async fn me(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let terminal = authenticate(&state, &req, &body, Require::AnyStatus).await?;
    let status = terminal
        .status
        .ok_or_else(|| ApiError::Internal("the terminal's status was not read".into()))?;
    Ok(HttpResponse::Ok().json(TerminalView::new(
        terminal.id,
        terminal.merchant.into(),
        terminal.store,
        terminal.name,
        status,
        &terminal.public_key,
    )))
}
