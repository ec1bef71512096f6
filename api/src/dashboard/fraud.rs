//! `GET /v1/dashboard/fraud`: refused payment codes and terminal requests
//! (`fraud_events`) over the last days, by day, reason, store and terminal.

use actix_web::get;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use diesel::QueryableByName;
use diesel::sql_types::{Date, Int4, Int8, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use tillcode_protocol::ProblemType;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::staff::session::StaffSession;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FraudQuery {
    /// 1 to 90, default 14.
    days: Option<i32>,
}

#[derive(Serialize, ToSchema, QueryableByName)]
pub struct FraudDay {
    #[diesel(sql_type = Date)]
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    #[diesel(sql_type = Int8)]
    pub count: i64,
}

#[derive(Serialize, ToSchema, QueryableByName)]
pub struct FraudDayReason {
    #[diesel(sql_type = Date)]
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    #[diesel(sql_type = Text)]
    pub reason: String,
    #[diesel(sql_type = Int8)]
    pub count: i64,
}

#[derive(Serialize, ToSchema, QueryableByName)]
pub struct FraudGroup {
    /// The reason, store id or terminal id; null for events without one.
    #[diesel(sql_type = Nullable<Text>)]
    pub key: Option<String>,
    /// The store's or terminal's name, when there is one.
    #[diesel(sql_type = Nullable<Text>)]
    pub label: Option<String>,
    #[diesel(sql_type = Int8)]
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct FraudReport {
    pub total: i64,
    /// Every UTC day of the window, oldest first, zeros included.
    pub days: Vec<FraudDay>,
    /// Only the days and reasons with events.
    pub by_day_and_reason: Vec<FraudDayReason>,
    pub by_reason: Vec<FraudGroup>,
    pub by_store: Vec<FraudGroup>,
    pub by_terminal: Vec<FraudGroup>,
}

const WINDOW: &str =
    "occurred_at >= ((now() AT TIME ZONE 'UTC')::date - ($2 - 1))::timestamp AT TIME ZONE 'UTC'";

/// Fraud events of the last `days` UTC days.
#[utoipa::path(tag = "dashboard", params(FraudQuery),
    responses((status = 200, body = FraudReport, description = "Refusals and suspensions of the window")))]
#[get("/v1/dashboard/fraud")]
pub async fn fraud(
    state: web::Data<AppState>,
    session: StaffSession,
    query: web::Query<FraudQuery>,
) -> Result<HttpResponse, ApiError> {
    let days = query.days.unwrap_or(14);
    if !(1..=90).contains(&days) {
        return Err(ApiError::client(
            ProblemType::BadRequest,
            "days must be 1 to 90",
        ));
    }
    let merchant = Uuid::from(session.merchant);
    let mut conn = state.db_conn().await?;
    let per_day: Vec<FraudDay> = diesel::sql_query(format!(
        "WITH days AS (
             SELECT d::date AS day FROM generate_series(
                 (now() AT TIME ZONE 'UTC')::date - ($2 - 1),
                 (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS d)
         SELECT days.day, COUNT(f.id)::int8 AS count
         FROM days
         LEFT JOIN fraud_events f ON f.merchant_id = $1 AND {WINDOW}
              AND (f.occurred_at AT TIME ZONE 'UTC')::date = days.day
         GROUP BY days.day ORDER BY days.day"
    ))
    .bind::<SqlUuid, _>(merchant)
    .bind::<Int4, _>(days)
    .load(&mut conn)
    .await?;
    let by_day_and_reason: Vec<FraudDayReason> = diesel::sql_query(format!(
        "SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, reason, COUNT(*)::int8 AS count
         FROM fraud_events WHERE merchant_id = $1 AND {WINDOW}
         GROUP BY 1, 2 ORDER BY 1, 2"
    ))
    .bind::<SqlUuid, _>(merchant)
    .bind::<Int4, _>(days)
    .load(&mut conn)
    .await?;
    let by_reason = grouped(
        &mut conn,
        &format!(
            "SELECT reason AS key, NULL::text AS label, COUNT(*)::int8 AS count
         FROM fraud_events WHERE merchant_id = $1 AND {WINDOW}
         GROUP BY reason ORDER BY count DESC, reason"
        ),
        merchant,
        days,
    )
    .await?;
    let by_store = grouped(
        &mut conn,
        &format!(
            "SELECT f.store_id::text AS key, MAX(s.name) AS label, COUNT(*)::int8 AS count
         FROM fraud_events f
         LEFT JOIN stores s ON s.merchant_id = f.merchant_id AND s.id = f.store_id
         WHERE f.merchant_id = $1 AND {WINDOW}
         GROUP BY f.store_id ORDER BY count DESC, key"
        ),
        merchant,
        days,
    )
    .await?;
    let by_terminal = grouped(
        &mut conn,
        &format!(
            "SELECT f.terminal_id::text AS key, MAX(t.name) AS label, COUNT(*)::int8 AS count
         FROM fraud_events f
         LEFT JOIN terminals t ON t.merchant_id = f.merchant_id AND t.id = f.terminal_id
         WHERE f.merchant_id = $1 AND {WINDOW}
         GROUP BY f.terminal_id ORDER BY count DESC, key"
        ),
        merchant,
        days,
    )
    .await?;
    Ok(HttpResponse::Ok().json(FraudReport {
        total: per_day.iter().map(|d| d.count).sum(),
        days: per_day,
        by_day_and_reason,
        by_reason,
        by_store,
        by_terminal,
    }))
}

/// One `key, label, count` breakdown of the window's events.
async fn grouped(
    conn: &mut diesel_async::AsyncPgConnection,
    sql: &str,
    merchant: Uuid,
    days: i32,
) -> Result<Vec<FraudGroup>, ApiError> {
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(merchant)
        .bind::<Int4, _>(days)
        .load(conn)
        .await
        .map_err(ApiError::from)
}
