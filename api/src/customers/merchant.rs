//! `GET /v1/merchants/{slug}`: which merchant a slug names, for the wallet
//! page (`/wallet/{slug}`), which must never ask a customer for a UUID.

use actix_web::{HttpResponse, get, web};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use tillcode_protocol::ProblemType;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::schema::merchants;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"merchant_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00", "slug": "demo", "name": "Demo Grocers"}))]
pub struct Merchant {
    pub merchant_id: Uuid,
    pub slug: String,
    pub name: String,
}

/// What a slug may look like (the `merchants.slug` check of the schema).
pub fn is_slug(text: &str) -> bool {
    let mut chars = text.chars();
    text.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The merchant a slug names: its id (what sign-up, sign-in and device
/// registration take) and its name. Public: a slug is printed on the
/// merchant's posters.
#[utoipa::path(tag = "customers",
    params(("slug" = String, Path, description = "The merchant's slug, as in /wallet/{slug}")),
    responses(
        (status = 200, body = Merchant, description = "The merchant"),
        (status = 404, description = "No merchant has this slug (not-found)")))]
#[get("/v1/merchants/{slug}")]
pub async fn by_slug(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let not_found = || ApiError::client(ProblemType::NotFound, "no such merchant");
    if !is_slug(&slug) {
        return Err(not_found());
    }
    let mut conn = state.db_conn().await?;
    let (merchant_id, name): (Uuid, String) = merchants::table
        .filter(merchants::slug.eq(&slug))
        .select((merchants::id, merchants::name))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-cache"))
        .json(Merchant {
            merchant_id,
            slug,
            name,
        }))
}
