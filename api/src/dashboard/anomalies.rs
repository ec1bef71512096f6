//! `GET /v1/dashboard/anomalies`: patterns worth a look, computed on demand
//! from `ledger_transfers` and `fraud_events` of the session's merchant.
//!
//! - `impossible-travel`: one customer account redeemed at two different
//!   stores within 10 minutes (over the last 24 hours; one flag per account,
//!   its latest such pair).
//! - `terminal-above-usual-rate`: a terminal whose redemptions in the last
//!   hour number at least 20 and more than 3 times its store's usual rate:
//!   the store's redemptions over the 7 days before that hour, per terminal
//!   that redeemed in them and per hour.
//! - `many-customers-failing`: a terminal at which the codes of at least 5
//!   distinct customers were refused (see [`crate::fraud::is_bad_code`]) in
//!   the last hour.

use actix_web::get;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde::Serialize;
use tillcode_protocol::ProblemType;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::error::ApiError;
use crate::staff::session::StaffSession;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(anomalies);
}

/// Refusals of the code itself: the reasons `many-customers-failing` counts.
const CODE_REFUSALS: [ProblemType; 10] = [
    ProblemType::MalformedCode,
    ProblemType::UnknownDevice,
    ProblemType::DeviceRevoked,
    ProblemType::BadCodeSignature,
    ProblemType::CodeExpired,
    ProblemType::CodeNotYetValid,
    ProblemType::CodeReplayed,
    ProblemType::CodeSuperseded,
    ProblemType::WrongMerchant,
    ProblemType::Locked,
];

#[derive(Serialize, ToSchema, QueryableByName)]
pub struct Anomaly {
    /// `impossible-travel`, `terminal-above-usual-rate` or
    /// `many-customers-failing`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub store_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub terminal_id: Option<Uuid>,
    /// Only for `impossible-travel`.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub account_id: Option<Uuid>,
    /// What was seen, in words.
    #[diesel(sql_type = Text)]
    pub detail: String,
    #[diesel(sql_type = Timestamptz)]
    pub last_seen_at: DateTime<Utc>,
}

const ANOMALIES_SQL: &str = "\
(SELECT DISTINCT ON (b.account_id)
        'impossible-travel'::text AS kind, b.store_id, b.terminal_id, b.account_id,
        format('redeemed at %s, then at %s %s s later',
               COALESCE(sa.name, a.store_id::text), COALESCE(sb.name, b.store_id::text),
               floor(extract(epoch FROM b.created_at - a.created_at))::int8) AS detail,
        b.created_at AS last_seen_at
 FROM ledger_transfers b
 JOIN ledger_transfers a
   ON a.merchant_id = b.merchant_id AND a.account_id = b.account_id AND a.kind = 'redeem'
  AND a.store_id IS NOT NULL AND a.store_id <> b.store_id
  AND a.created_at <= b.created_at AND a.created_at >= b.created_at - interval '10 minutes'
  AND a.id <> b.id
 LEFT JOIN stores sa ON sa.merchant_id = a.merchant_id AND sa.id = a.store_id
 LEFT JOIN stores sb ON sb.merchant_id = b.merchant_id AND sb.id = b.store_id
 WHERE b.merchant_id = $1 AND b.kind = 'redeem' AND b.store_id IS NOT NULL
   AND b.created_at >= now() - interval '24 hours'
 ORDER BY b.account_id, b.created_at DESC, a.created_at DESC)
UNION ALL
(WITH recent AS (
     SELECT store_id, terminal_id, COUNT(*)::int8 AS n, MAX(created_at) AS last_seen_at
     FROM ledger_transfers
     WHERE merchant_id = $1 AND kind = 'redeem' AND terminal_id IS NOT NULL
       AND store_id IS NOT NULL AND created_at >= now() - interval '1 hour'
     GROUP BY store_id, terminal_id),
 usual AS (
     SELECT store_id,
            COUNT(*)::float8 / (COUNT(DISTINCT terminal_id) * 168) AS per_hour
     FROM ledger_transfers
     WHERE merchant_id = $1 AND kind = 'redeem' AND terminal_id IS NOT NULL
       AND store_id IS NOT NULL
       AND created_at >= now() - interval '1 hour' - interval '7 days'
       AND created_at < now() - interval '1 hour'
     GROUP BY store_id)
 SELECT 'terminal-above-usual-rate'::text AS kind, r.store_id, r.terminal_id,
        NULL::uuid AS account_id,
        format('%s redemptions in the last hour; the store''s usual is %s per terminal and hour',
               r.n, round(COALESCE(u.per_hour, 0)::numeric, 2)) AS detail,
        r.last_seen_at
 FROM recent r LEFT JOIN usual u ON u.store_id = r.store_id
 WHERE r.n >= 20 AND r.n > 3 * COALESCE(u.per_hour, 0))
UNION ALL
(SELECT 'many-customers-failing'::text AS kind, MAX(store_id::text)::uuid AS store_id,
        terminal_id, NULL::uuid AS account_id,
        format('codes of %s customers refused in the last hour',
               COUNT(DISTINCT customer_id)) AS detail,
        MAX(occurred_at) AS last_seen_at
 FROM fraud_events
 WHERE merchant_id = $1 AND terminal_id IS NOT NULL AND customer_id IS NOT NULL
   AND reason = ANY($2) AND occurred_at >= now() - interval '1 hour'
 GROUP BY terminal_id
 HAVING COUNT(DISTINCT customer_id) >= 5)
ORDER BY last_seen_at DESC";

/// The merchant's anomaly flags, newest first.
#[utoipa::path(tag = "dashboard",
    responses((status = 200, body = [Anomaly], description = "Anomalies found, newest first")))]
#[get("/v1/dashboard/anomalies")]
pub async fn anomalies(
    state: web::Data<AppState>,
    session: StaffSession,
) -> Result<HttpResponse, ApiError> {
    let reasons: Vec<&str> = CODE_REFUSALS.iter().map(|p| p.slug()).collect();
    let rows: Vec<Anomaly> = diesel::sql_query(ANOMALIES_SQL)
        .bind::<SqlUuid, _>(Uuid::from(session.merchant))
        .bind::<Array<Text>, _>(reasons)
        .load(&mut *state.db_conn().await?)
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

#[cfg(test)]
mod unit {
    use super::CODE_REFUSALS;

    #[test]
    fn the_code_refusals_are_the_bad_codes() {
        assert!(CODE_REFUSALS.iter().all(|p| crate::fraud::is_bad_code(*p)));
    }
}
