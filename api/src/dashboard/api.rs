//! The dashboard's JSON endpoints under `/v1/dashboard/`. Every one takes a
//! [`StaffSession`] (the `tillcode_staff` cookie; for a POST also the
//! `X-CSRF-Token` header), answers only about `session.merchant`, and every
//! change first calls [`StaffSession::require_change`], so a viewer can look
//! but not touch.
//!
//! Days are UTC days. "Issued" is every credit to a customer (accruals,
//! adjustments up, and what voids and refunds give back); "redeemed" is what
//! redemptions took, before any reversal. So, over any period, the change in
//! the liability is issued minus redeemed minus expiries and debits.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use actix_web::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Date, Int8, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use tillcode_protocol::ProblemType;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::error::ApiError;
use crate::staff::session::StaffSession;
use crate::state::AppState;
use crate::terminals::enrollment::{self, TerminalView};

/// Days in the overview's series.
pub const OVERVIEW_DAYS: i32 = 14;
/// Most rows one customer search returns.
const SEARCH_LIMIT: i64 = 20;
/// Most transfers one CSV export holds; a larger export needs a range.
pub const EXPORT_LIMIT: i64 = 100_000;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(overview)
        .service(stores)
        .service(customer_list)
        .service(history)
        .service(terminals)
        .service(change_terminal)
        .service(create_enrollment)
        .service(super::fraud::fraud)
        .service(export_ledger);
}

// ------------------------------------------------------------------ overview

#[derive(Clone, Copy, Serialize, ToSchema)]
pub struct DayTotals {
    /// The UTC day.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    pub issued: i64,
    pub redeemed: i64,
    pub redemptions: i64,
}

#[derive(Serialize, ToSchema)]
pub struct StoreTotals {
    pub store_id: Uuid,
    pub name: String,
    pub code: String,
    /// Over the overview's days.
    pub issued: i64,
    pub redeemed: i64,
    pub redemptions: i64,
    pub redeemed_today: i64,
    pub redemptions_today: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Overview {
    /// What the merchant owes its customers: the sum of every balance.
    pub liability: i64,
    #[schema(example = "points")]
    pub unit: Option<String>,
    pub minor_units: Option<i16>,
    pub customers: i64,
    /// The last 14 UTC days, oldest first, today last; days without
    /// transfers are zeros.
    pub days: Vec<DayTotals>,
    pub today: DayTotals,
    pub stores: Vec<StoreTotals>,
    pub generated_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct HeadRow {
    #[diesel(sql_type = Int8)]
    liability: i64,
    #[diesel(sql_type = Int8)]
    customers: i64,
    #[diesel(sql_type = Nullable<Text>)]
    unit: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Int2>)]
    minor_units: Option<i16>,
}

#[derive(QueryableByName)]
struct DayRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = Int8)]
    issued: i64,
    #[diesel(sql_type = Int8)]
    redeemed: i64,
    #[diesel(sql_type = Int8)]
    redemptions: i64,
}

#[derive(QueryableByName)]
struct StoreRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Int8)]
    issued: i64,
    #[diesel(sql_type = Int8)]
    redeemed: i64,
    #[diesel(sql_type = Int8)]
    redemptions: i64,
    #[diesel(sql_type = Int8)]
    redeemed_today: i64,
    #[diesel(sql_type = Int8)]
    redemptions_today: i64,
}

const HEAD_SQL: &str = "\
SELECT COALESCE((SELECT SUM(balance) FROM accounts WHERE merchant_id = $1), 0)::int8 AS liability,
       (SELECT COUNT(*) FROM customers WHERE merchant_id = $1)::int8 AS customers,
       (SELECT unit FROM programs WHERE merchant_id = $1 LIMIT 1) AS unit,
       (SELECT minor_units FROM programs WHERE merchant_id = $1 LIMIT 1) AS minor_units";

/// One row per UTC day of the window, today last.
const DAYS_SQL: &str = "\
WITH days AS (
    SELECT d::date AS day
    FROM generate_series((now() AT TIME ZONE 'UTC')::date - ($2 - 1),
                         (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS d
)
SELECT days.day,
       COALESCE(SUM(t.balance_change) FILTER (WHERE t.balance_change > 0), 0)::int8 AS issued,
       COALESCE(-SUM(t.balance_change) FILTER (WHERE t.kind = 'redeem'), 0)::int8 AS redeemed,
       COUNT(t.id) FILTER (WHERE t.kind = 'redeem')::int8 AS redemptions
FROM days
LEFT JOIN ledger_transfers t
       ON t.merchant_id = $1
      AND t.created_at >= days.day::timestamp AT TIME ZONE 'UTC'
      AND t.created_at < (days.day + 1)::timestamp AT TIME ZONE 'UTC'
GROUP BY days.day
ORDER BY days.day";

const STORES_SQL: &str = "\
WITH since AS (
    SELECT ((now() AT TIME ZONE 'UTC')::date - ($2 - 1))::timestamp AT TIME ZONE 'UTC' AS window_start,
           (now() AT TIME ZONE 'UTC')::date::timestamp AT TIME ZONE 'UTC' AS today_start
)
SELECT s.id, s.name, s.code,
       COALESCE(SUM(t.balance_change) FILTER (WHERE t.balance_change > 0), 0)::int8 AS issued,
       COALESCE(-SUM(t.balance_change) FILTER (WHERE t.kind = 'redeem'), 0)::int8 AS redeemed,
       COUNT(t.id) FILTER (WHERE t.kind = 'redeem')::int8 AS redemptions,
       COALESCE(-SUM(t.balance_change) FILTER (WHERE t.kind = 'redeem'
                AND t.created_at >= since.today_start), 0)::int8 AS redeemed_today,
       COUNT(t.id) FILTER (WHERE t.kind = 'redeem'
                AND t.created_at >= since.today_start)::int8 AS redemptions_today
FROM stores s
CROSS JOIN since
LEFT JOIN ledger_transfers t
       ON t.merchant_id = s.merchant_id AND t.store_id = s.id
      AND t.created_at >= since.window_start
WHERE s.merchant_id = $1
GROUP BY s.id, s.name, s.code
ORDER BY s.name, s.id";

/// Balances outstanding, issued and redeemed per day, today, per store.
#[utoipa::path(tag = "dashboard",
    responses((status = 200, body = Overview, description = "The merchant's figures"), (status = 401, description = "unauthorized")))]
#[get("/v1/dashboard/overview")]
pub async fn overview(
    state: web::Data<AppState>,
    session: StaffSession,
) -> Result<HttpResponse, ApiError> {
    let merchant = Uuid::from(session.merchant);
    let mut conn = state.db_conn().await?;
    let head: HeadRow = diesel::sql_query(HEAD_SQL)
        .bind::<SqlUuid, _>(merchant)
        .get_result(&mut conn)
        .await?;
    let days: Vec<DayRow> = diesel::sql_query(DAYS_SQL)
        .bind::<SqlUuid, _>(merchant)
        .bind::<diesel::sql_types::Integer, _>(OVERVIEW_DAYS)
        .load(&mut conn)
        .await?;
    let store_rows: Vec<StoreRow> = diesel::sql_query(STORES_SQL)
        .bind::<SqlUuid, _>(merchant)
        .bind::<diesel::sql_types::Integer, _>(OVERVIEW_DAYS)
        .load(&mut conn)
        .await?;
    let days: Vec<DayTotals> = days
        .into_iter()
        .map(|d| DayTotals {
            day: d.day,
            issued: d.issued,
            redeemed: d.redeemed,
            redemptions: d.redemptions,
        })
        .collect();
    let today = days
        .last()
        .copied()
        .ok_or_else(|| ApiError::Internal("no days in the overview".into()))?;
    Ok(HttpResponse::Ok().json(Overview {
        liability: head.liability,
        unit: head.unit,
        minor_units: head.minor_units,
        customers: head.customers,
        days,
        today,
        stores: store_rows
            .into_iter()
            .map(|s| StoreTotals {
                store_id: s.id,
                name: s.name,
                code: s.code,
                issued: s.issued,
                redeemed: s.redeemed,
                redemptions: s.redemptions,
                redeemed_today: s.redeemed_today,
                redemptions_today: s.redemptions_today,
            })
            .collect(),
        generated_at: Utc::now(),
    }))
}

// ------------------------------------------------------------------ stores

#[derive(Serialize, ToSchema, QueryableByName)]
pub struct StoreView {
    #[diesel(sql_type = SqlUuid)]
    pub store_id: Uuid,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub name: String,
}

/// The merchant's stores.
#[utoipa::path(tag = "dashboard",
    responses((status = 200, body = [StoreView], description = "The merchant's stores")))]
#[get("/v1/dashboard/stores")]
pub async fn stores(
    state: web::Data<AppState>,
    session: StaffSession,
) -> Result<HttpResponse, ApiError> {
    let rows: Vec<StoreView> = diesel::sql_query(
        "SELECT id AS store_id, code, name FROM stores WHERE merchant_id = $1 ORDER BY name, id",
    )
    .bind::<SqlUuid, _>(Uuid::from(session.merchant))
    .load(&mut *state.db_conn().await?)
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

// ------------------------------------------------------------------ customers

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// A customer id (exact), or the start of an email address.
    q: String,
}

#[derive(Serialize, ToSchema, QueryableByName)]
pub struct CustomerView {
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: Uuid,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub display_name: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub account_id: Option<Uuid>,
    /// 0 when the customer has no account yet.
    #[diesel(sql_type = Int8)]
    pub balance: i64,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

const CUSTOMER_SELECT: &str = "\
SELECT c.id AS customer_id, c.email, c.display_name, a.id AS account_id,
       COALESCE(a.balance, 0)::int8 AS balance, c.created_at
FROM customers c
LEFT JOIN accounts a ON a.merchant_id = c.merchant_id AND a.customer_id = c.id
WHERE c.merchant_id = $1";

/// `%`, `_` and `\` match themselves in a LIKE pattern.
fn like_prefix(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Customers by id, or by the start of their email, with their balance.
// Not `customers`: the route macro makes the handler a unit struct, which a
// `customers` field of a row (`HeadRow`) could not be bound beside.
#[utoipa::path(operation_id = "customers", tag = "dashboard", params(CustomerQuery),
    responses((status = 200, body = [CustomerView], description = "Customers matching the search")))]
#[get("/v1/dashboard/customers")]
pub async fn customer_list(
    state: web::Data<AppState>,
    session: StaffSession,
    query: web::Query<CustomerQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.q.trim();
    // No control characters: Postgres text cannot hold a NUL byte, and no
    // id or email has any.
    if q.is_empty() || q.len() > 254 || q.chars().any(char::is_control) {
        return Err(ApiError::client(
            ProblemType::BadRequest,
            "q is an id or 1 to 254 characters of an email",
        ));
    }
    let merchant = Uuid::from(session.merchant);
    let mut conn = state.db_conn().await?;
    let rows: Vec<CustomerView> = match Uuid::parse_str(q) {
        Ok(id) => {
            diesel::sql_query(format!("{CUSTOMER_SELECT} AND (c.id = $2 OR a.id = $2)"))
                .bind::<SqlUuid, _>(merchant)
                .bind::<SqlUuid, _>(id)
                .load(&mut conn)
                .await
        }
        Err(_) => {
            diesel::sql_query(format!(
                "{CUSTOMER_SELECT} AND c.email LIKE $2 ESCAPE '\\' ORDER BY c.email LIMIT $3"
            ))
            .bind::<SqlUuid, _>(merchant)
            .bind::<Text, _>(like_prefix(&q.to_lowercase()))
            .bind::<BigInt, _>(SEARCH_LIMIT)
            .load(&mut conn)
            .await
        }
    }?;
    Ok(HttpResponse::Ok().json(rows))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// 1 to 100, default 20.
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    starting_after: Option<Uuid>,
}

#[derive(Serialize, ToSchema, QueryableByName)]
pub struct HistoryItem {
    #[diesel(sql_type = SqlUuid)]
    pub transfer_id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// Signed from the customer's side: + credit, - debit.
    #[diesel(sql_type = Int8)]
    pub balance_change: i64,
    #[diesel(sql_type = Int8)]
    pub balance_after: i64,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub store_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub store_name: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub terminal_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub code_kind: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub reference: Option<String>,
    /// Why, for an adjustment (what the staff member typed).
    #[diesel(sql_type = Nullable<Text>)]
    pub reason: Option<String>,
    /// Who, for an adjustment: `staff:ID`.
    #[diesel(sql_type = Nullable<Text>)]
    pub actor: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryPage {
    pub customer_id: Uuid,
    /// The customer's balance now (0 without an account).
    pub balance: i64,
    pub items: Vec<HistoryItem>,
    pub next_cursor: Option<Uuid>,
}

/// A customer's ledger history, newest first, a page at a time.
#[utoipa::path(operation_id = "dashboard_customer_history", tag = "dashboard",
    params(("id" = Uuid, Path, description = "customer id"), HistoryQuery),
    responses((status = 200, body = HistoryPage, description = "One page of the customer's history, newest first"), (status = 404, description = "not-found")))]
#[get("/v1/dashboard/customers/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    session: StaffSession,
    customer: web::Path<Uuid>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::client(
            ProblemType::BadRequest,
            "limit must be 1 to 100",
        ));
    }
    let merchant = Uuid::from(session.merchant);
    let customer = customer.into_inner();
    let mut conn = state.db_conn().await?;
    let found: Vec<CustomerView> = diesel::sql_query(format!("{CUSTOMER_SELECT} AND c.id = $2"))
        .bind::<SqlUuid, _>(merchant)
        .bind::<SqlUuid, _>(customer)
        .load(&mut conn)
        .await?;
    let Some(found) = found.into_iter().next() else {
        return Err(ApiError::client(ProblemType::NotFound, "no such customer"));
    };
    let balance = found.balance;
    // Transfer ids are UUIDv7: by id is by time, and the cursor is the last
    // id seen (as /v1/me/history).
    let mut rows: Vec<HistoryItem> = diesel::sql_query(
        "SELECT t.id AS transfer_id, t.kind, t.balance_change, t.balance_after, t.store_id,
                s.name AS store_name, t.terminal_id, t.code_kind, t.reference, t.reason, t.actor,
                t.created_at
         FROM ledger_transfers t
         JOIN accounts a ON a.merchant_id = t.merchant_id AND a.id = t.account_id
         LEFT JOIN stores s ON s.merchant_id = t.merchant_id AND s.id = t.store_id
         WHERE t.merchant_id = $1 AND a.customer_id = $2
           AND ($3::uuid IS NULL OR t.id < $3)
         ORDER BY t.id DESC
         LIMIT $4",
    )
    .bind::<SqlUuid, _>(merchant)
    .bind::<SqlUuid, _>(customer)
    .bind::<Nullable<SqlUuid>, _>(query.starting_after)
    .bind::<BigInt, _>(limit + 1)
    .load(&mut conn)
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| r.transfer_id)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(HistoryPage {
        customer_id: customer,
        balance,
        items: rows,
        next_cursor,
    }))
}

// ------------------------------------------------------------------ terminals

#[derive(Serialize, ToSchema)]
pub struct DashboardTerminal {
    #[serde(flatten)]
    pub terminal: TerminalView,
    pub store_name: String,
    pub created_at: DateTime<Utc>,
    pub last_transaction_at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct TerminalRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    store_id: Uuid,
    #[diesel(sql_type = Text)]
    store_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    status: crate::db::TerminalStatus,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    public_key: Vec<u8>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_transaction_at: Option<DateTime<Utc>>,
}

/// Every terminal of the merchant, pending first, then newest first.
#[utoipa::path(tag = "dashboard",
    responses((status = 200, body = [DashboardTerminal], description = "The merchant's terminals")))]
#[get("/v1/dashboard/terminals")]
pub async fn terminals(
    state: web::Data<AppState>,
    session: StaffSession,
) -> Result<HttpResponse, ApiError> {
    let merchant = Uuid::from(session.merchant);
    let rows: Vec<TerminalRow> = diesel::sql_query(
        "SELECT t.id, t.store_id, s.name AS store_name, t.name, t.status, t.public_key,
                t.created_at,
                (SELECT MAX(l.created_at) FROM ledger_transfers l
                 WHERE l.merchant_id = t.merchant_id AND l.terminal_id = t.id) AS last_transaction_at
         FROM terminals t
         JOIN stores s ON s.merchant_id = t.merchant_id AND s.id = t.store_id
         WHERE t.merchant_id = $1
         ORDER BY (t.status = 'pending') DESC, t.created_at DESC",
    )
    .bind::<SqlUuid, _>(merchant)
    .load(&mut *state.db_conn().await?)
    .await?;
    let out: Vec<DashboardTerminal> = rows
        .into_iter()
        .map(|r| DashboardTerminal {
            terminal: TerminalView::new(
                r.id,
                merchant,
                r.store_id,
                r.name,
                r.status,
                &r.public_key,
            ),
            store_name: r.store_name,
            created_at: r.created_at,
            last_transaction_at: r.last_transaction_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Approve (or resume), suspend or revoke a terminal of this merchant.
#[utoipa::path(tag = "dashboard",
    params(("id" = Uuid, Path), ("action" = String, Path, description = "approve, suspend or revoke"),
        ("X-CSRF-Token" = String, Header)),
    responses((status = 200, body = TerminalView, description = "The terminal with its new status"),
        (status = 403, description = "forbidden: a viewer, or no CSRF token"),
        (status = 404, description = "no such terminal here, or not in a status the action leaves")))]
#[post("/v1/dashboard/terminals/{id}/{action}")]
pub async fn change_terminal(
    state: web::Data<AppState>,
    session: StaffSession,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    session.require_change()?;
    let (terminal, action) = path.into_inner();
    let terminal = tillcode_protocol::TerminalId::from(terminal);
    let action = enrollment::TerminalAction::parse(&action)
        .ok_or_else(|| ApiError::client(ProblemType::NotFound, "no such action"))?;
    let by = format!("staff:{}", session.staff);
    let mut conn = state.db_conn().await?;
    match enrollment::set_status(&mut conn, Some(session.merchant), terminal, action, &by).await? {
        Some(view) => {
            tracing::info!(merchant = %session.merchant, %terminal, staff = %session.staff, to = %view.status, "terminal status changed");
            Ok(HttpResponse::Ok().json(view))
        }
        None => Err(enrollment::no_terminal_for(terminal, action)),
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"store_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f10"}))]
#[serde(deny_unknown_fields)]
pub struct EnrollmentRequest {
    store_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct DashboardEnrollment {
    pub enrollment_id: Uuid,
    /// `XXXX-XXXX`; shown once, never stored.
    pub code: String,
    pub store_id: Uuid,
    pub expires_at: DateTime<Utc>,
    /// The code as a QR code (SVG document); it encodes the code text only.
    pub qr_svg: String,
}

/// A one-time enrollment code for a store of this merchant.
#[utoipa::path(tag = "dashboard",
    request_body = EnrollmentRequest,
    params(("X-CSRF-Token" = String, Header)),
    responses((status = 201, body = DashboardEnrollment, description = "An enrollment code for a terminal; shown once"),
        (status = 403, description = "forbidden"), (status = 404, description = "no such store here")))]
#[post("/v1/dashboard/enrollments")]
pub async fn create_enrollment(
    state: web::Data<AppState>,
    session: StaffSession,
    body: web::Json<EnrollmentRequest>,
) -> Result<HttpResponse, ApiError> {
    session.require_change()?;
    let mut conn = state.db_conn().await?;
    // `enrollment::create` finds the merchant from the store: check first
    // that the store is this merchant's.
    let owned: Vec<StoreView> = diesel::sql_query(
        "SELECT id AS store_id, code, name FROM stores WHERE merchant_id = $1 AND id = $2",
    )
    .bind::<SqlUuid, _>(Uuid::from(session.merchant))
    .bind::<SqlUuid, _>(body.store_id)
    .load(&mut conn)
    .await?;
    if owned.is_empty() {
        return Err(ApiError::client(ProblemType::NotFound, "no such store"));
    }
    let created = enrollment::create(
        &mut conn,
        body.store_id,
        &format!("staff:{}", session.staff),
    )
    .await?;
    let qr =
        qrcode::QrCode::with_error_correction_level(created.code.as_bytes(), qrcode::EcLevel::M)
            .map_err(|e| ApiError::Internal(format!("qr: {e}")))?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(HttpResponse::Created().json(DashboardEnrollment {
        enrollment_id: created.enrollment_id,
        code: created.code,
        store_id: created.store_id,
        expires_at: created.expires_at,
        qr_svg,
    }))
}

// ------------------------------------------------------------------ export

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Only transfers of the last N days (1 to 3660); all without it.
    days: Option<i32>,
}

#[derive(QueryableByName)]
struct ExportRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = SqlUuid)]
    customer_id: Uuid,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = Int8)]
    balance_change: i64,
    #[diesel(sql_type = Int8)]
    balance_after: i64,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    reverses_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    store_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    store_code: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    terminal_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    code_kind: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    reference: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    reason: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    actor: Option<String>,
}

pub const CSV_HEADER: &str = "transfer_id,created_at,kind,customer_id,customer_email,account_id,\
balance_change,balance_after,reverses_id,store_id,store_code,terminal_id,code_kind,reference,reason,actor";

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a
/// line break, with quotes doubled. Text a person typed (`text = true`)
/// that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR)
/// gets a leading `'`.
pub fn csv_field(out: &mut String, value: &str, text: bool) {
    let guard = text && value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if guard || value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        if guard {
            out.push('\'');
        }
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// The merchant's ledger as CSV, one row per transfer, oldest first.
#[utoipa::path(tag = "dashboard", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "The ledger as CSV")))]
#[get("/v1/dashboard/export/ledger.csv")]
pub async fn export_ledger(
    state: web::Data<AppState>,
    session: StaffSession,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Some(days) = query.days
        && !(1..=3660).contains(&days)
    {
        return Err(ApiError::client(
            ProblemType::BadRequest,
            "days must be 1 to 3660",
        ));
    }
    let rows: Vec<ExportRow> = diesel::sql_query(
        "SELECT t.id, t.created_at, t.kind, a.customer_id, c.email, t.account_id,
                t.balance_change, t.balance_after, t.reverses_id, t.store_id,
                s.code AS store_code, t.terminal_id, t.code_kind, t.reference, t.reason, t.actor
         FROM ledger_transfers t
         JOIN accounts a ON a.merchant_id = t.merchant_id AND a.id = t.account_id
         JOIN customers c ON c.merchant_id = a.merchant_id AND c.id = a.customer_id
         LEFT JOIN stores s ON s.merchant_id = t.merchant_id AND s.id = t.store_id
         WHERE t.merchant_id = $1
           AND ($2::int4 IS NULL OR t.created_at >= now() - make_interval(days => $2))
         ORDER BY t.id
         LIMIT $3",
    )
    .bind::<SqlUuid, _>(Uuid::from(session.merchant))
    .bind::<Nullable<diesel::sql_types::Integer>, _>(query.days)
    .bind::<BigInt, _>(EXPORT_LIMIT + 1)
    .load(&mut *state.db_conn().await?)
    .await?;
    if rows.len() as i64 > EXPORT_LIMIT {
        return Err(ApiError::client(
            ProblemType::BadRequest,
            format!("more than {EXPORT_LIMIT} transfers: export fewer days"),
        ));
    }
    let mut out = String::with_capacity(64 + rows.len() * 200);
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for r in &rows {
        let fields: [(String, bool); 16] = [
            (r.id.to_string(), false),
            (r.created_at.to_rfc3339(), false),
            (r.kind.clone(), false),
            (r.customer_id.to_string(), false),
            (r.email.clone(), true),
            (r.account_id.to_string(), false),
            (r.balance_change.to_string(), false),
            (r.balance_after.to_string(), false),
            (opt(&r.reverses_id), false),
            (opt(&r.store_id), false),
            (opt(&r.store_code), true),
            (opt(&r.terminal_id), false),
            (opt(&r.code_kind), false),
            (opt(&r.reference), true),
            (opt(&r.reason), true),
            (opt(&r.actor), true),
        ];
        for (i, (value, text)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, value, *text);
        }
        out.push_str("\r\n");
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8; header=present")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"ledger-{}.csv\"",
                Utc::now().format("%Y-%m-%d")
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(out))
}
