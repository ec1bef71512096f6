//! `GET` and `PUT /v1/dashboard/settings`: the merchant's fraud settings
//! (`merchant_settings`): velocity limits, the bad-code threshold, and the
//! freshness windows of offline tokens. Anyone signed in may read them;
//! changing them needs a role that may change things. A merchant without a
//! row reads the defaults. Servers cache settings for up to 30 s
//! ([`crate::fraud::settings`]), so a change takes effect within that (at
//! once on the server that took it).

use actix_web::{HttpResponse, web};
use actix_web::{get, put};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use tillcode_protocol::ProblemType;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::error::ApiError;
use crate::fraud::settings::{COLUMNS, OFFLINE_MAX_AGE_S, OFFLINE_MAX_SKEW_S, Settings};
use crate::schema::merchant_settings;
use crate::staff::session::StaffSession;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_settings).service(put_settings);
}

/// Longest window, in seconds (the table's CHECK).
const MAX_WINDOW_S: i32 = 86_400;

/// The settings, as read and as written (every field, every time).
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"velocity_window_s": 3600, "customer_max_count": 20, "customer_max_amount": 100000, "device_max_count": 20, "terminal_max_count": 500, "terminal_bad_codes_max": 20, "terminal_bad_codes_window_s": 600, "offline_max_age_s": 60, "offline_max_skew_s": 30}))]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// The velocity limits' sliding window: 1 to 86400 s.
    pub velocity_window_s: i32,
    /// Redemptions one customer may make in the window: at least 1.
    pub customer_max_count: i32,
    /// Total one customer may redeem in the window: at least 1.
    pub customer_max_amount: i64,
    /// Redemptions from one device in the window: at least 1.
    pub device_max_count: i32,
    /// Redemptions at one terminal in the window: at least 1.
    pub terminal_max_count: i32,
    /// Refused codes that suspend a terminal: at least 1.
    pub terminal_bad_codes_max: i32,
    /// Their window: 1 to 86400 s.
    pub terminal_bad_codes_window_s: i32,
    /// How old an offline token may be at the till: 10 to 600 s (default 60).
    pub offline_max_age_s: i32,
    /// How far ahead of the server's clock a phone's may be: 0 to 300 s
    /// (default 30).
    pub offline_max_skew_s: i32,
}

#[derive(Serialize, ToSchema)]
pub struct SettingsView {
    #[serde(flatten)]
    pub settings: SettingsBody,
    /// When they were last changed; null while they are the defaults.
    pub updated_at: Option<DateTime<Utc>>,
    /// How long a server may keep using what it read before a change.
    pub takes_effect_within_s: u64,
}

impl From<Settings> for SettingsBody {
    fn from(s: Settings) -> Self {
        Self {
            velocity_window_s: s.velocity_window_s,
            customer_max_count: s.customer_max_count,
            customer_max_amount: s.customer_max_amount,
            device_max_count: s.device_max_count,
            terminal_max_count: s.terminal_max_count,
            terminal_bad_codes_max: s.terminal_bad_codes_max,
            terminal_bad_codes_window_s: s.terminal_bad_codes_window_s,
            offline_max_age_s: s.offline_max_age_s,
            offline_max_skew_s: s.offline_max_skew_s,
        }
    }
}

impl SettingsBody {
    /// The table's CHECKs, as a message naming every field out of range.
    fn validate(&self) -> Result<(), ApiError> {
        let window = 1..=MAX_WINDOW_S;
        let mut wrong = Vec::new();
        if !window.contains(&self.velocity_window_s) {
            wrong.push(format!("velocity_window_s must be 1 to {MAX_WINDOW_S}"));
        }
        if !window.contains(&self.terminal_bad_codes_window_s) {
            wrong.push(format!(
                "terminal_bad_codes_window_s must be 1 to {MAX_WINDOW_S}"
            ));
        }
        for (name, value, range) in [
            (
                "offline_max_age_s",
                self.offline_max_age_s,
                OFFLINE_MAX_AGE_S,
            ),
            (
                "offline_max_skew_s",
                self.offline_max_skew_s,
                OFFLINE_MAX_SKEW_S,
            ),
        ] {
            if !range.contains(&value) {
                wrong.push(format!(
                    "{name} must be {} to {}",
                    range.start(),
                    range.end()
                ));
            }
        }
        for (name, value) in [
            ("customer_max_count", i64::from(self.customer_max_count)),
            ("customer_max_amount", self.customer_max_amount),
            ("device_max_count", i64::from(self.device_max_count)),
            ("terminal_max_count", i64::from(self.terminal_max_count)),
            (
                "terminal_bad_codes_max",
                i64::from(self.terminal_bad_codes_max),
            ),
        ] {
            if value < 1 {
                wrong.push(format!("{name} must be at least 1"));
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(ApiError::client(ProblemType::BadRequest, wrong.join("; ")))
        }
    }
}

type Row = (Settings, DateTime<Utc>);

async fn read(state: &AppState, merchant: Uuid) -> Result<SettingsView, ApiError> {
    let row: Option<Row> = merchant_settings::table
        .find(merchant)
        .select((COLUMNS, merchant_settings::updated_at))
        .first(&mut *state.db_conn().await?)
        .await
        .optional()?;
    let (settings, updated_at) = match row {
        Some((s, at)) => (s, Some(at)),
        None => (Settings::default(), None),
    };
    Ok(SettingsView {
        settings: settings.into(),
        updated_at,
        takes_effect_within_s: crate::fraud::settings::FRESH_FOR.as_secs(),
    })
}

/// The merchant's fraud settings (the defaults if never set).
#[utoipa::path(tag = "dashboard",
    responses((status = 200, body = SettingsView, description = "The merchant's settings")))]
#[get("/v1/dashboard/settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    session: StaffSession,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(read(&state, Uuid::from(session.merchant)).await?))
}

/// Replaces the merchant's fraud settings; servers use them within 30 s.
#[utoipa::path(tag = "dashboard",
    request_body = SettingsBody,
    responses((status = 200, body = SettingsView, description = "The merchant's settings"),
        (status = 400, description = "A value out of range (validation-failed)"),
        (status = 403, description = "A viewer (forbidden)")))]
#[put("/v1/dashboard/settings")]
pub async fn put_settings(
    state: web::Data<AppState>,
    session: StaffSession,
    body: web::Json<SettingsBody>,
) -> Result<HttpResponse, ApiError> {
    session.require_change()?;
    body.validate()?;
    let merchant = Uuid::from(session.merchant);
    diesel::insert_into(merchant_settings::table)
        .values((
            merchant_settings::merchant_id.eq(merchant),
            merchant_settings::velocity_window_s.eq(body.velocity_window_s),
            merchant_settings::customer_max_count.eq(body.customer_max_count),
            merchant_settings::customer_max_amount.eq(body.customer_max_amount),
            merchant_settings::device_max_count.eq(body.device_max_count),
            merchant_settings::terminal_max_count.eq(body.terminal_max_count),
            merchant_settings::terminal_bad_codes_max.eq(body.terminal_bad_codes_max),
            merchant_settings::terminal_bad_codes_window_s.eq(body.terminal_bad_codes_window_s),
            merchant_settings::offline_max_age_s.eq(body.offline_max_age_s),
            merchant_settings::offline_max_skew_s.eq(body.offline_max_skew_s),
            merchant_settings::updated_at.eq(diesel::dsl::now),
        ))
        .on_conflict(merchant_settings::merchant_id)
        .do_update()
        .set((
            merchant_settings::velocity_window_s.eq(excluded(merchant_settings::velocity_window_s)),
            merchant_settings::customer_max_count
                .eq(excluded(merchant_settings::customer_max_count)),
            merchant_settings::customer_max_amount
                .eq(excluded(merchant_settings::customer_max_amount)),
            merchant_settings::device_max_count.eq(excluded(merchant_settings::device_max_count)),
            merchant_settings::terminal_max_count
                .eq(excluded(merchant_settings::terminal_max_count)),
            merchant_settings::terminal_bad_codes_max
                .eq(excluded(merchant_settings::terminal_bad_codes_max)),
            merchant_settings::terminal_bad_codes_window_s
                .eq(excluded(merchant_settings::terminal_bad_codes_window_s)),
            merchant_settings::offline_max_age_s.eq(excluded(merchant_settings::offline_max_age_s)),
            merchant_settings::offline_max_skew_s
                .eq(excluded(merchant_settings::offline_max_skew_s)),
            merchant_settings::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut *state.db_conn().await?)
        .await?;
    // This server uses them from its next request; the others within FRESH_FOR.
    state.settings.forget(session.merchant).await;
    Ok(HttpResponse::Ok().json(read(&state, merchant).await?))
}
