//! `GET /v1/terminal/transactions`: the terminal's own recent transfers,
//! newest first, for the till's "last sales" screen and end-of-day checks.

use actix_web::get;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use tillcode_protocol::ProblemType;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::masked_name;
use crate::error::ApiError;
use crate::ledger::TransferKind;
use crate::schema::{accounts, customers, ledger_transfers};
use crate::state::AppState;
use crate::terminals::auth::{Require, authenticate};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecentQuery {
    /// 1 to 100, default 20.
    limit: Option<i64>,
    /// The last `transfer_id` of the previous page.
    starting_after: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct TillTransaction {
    pub transfer_id: Uuid,
    #[schema(example = "redeem")]
    pub kind: String,
    /// Positive; `kind` says which way it went.
    pub amount: i64,
    pub balance_after: i64,
    pub reference: Option<String>,
    pub code_kind: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The customer's masked name, for the till's confirmations.
    #[schema(example = "Ana B.")]
    pub customer: String,
    /// A redemption: whether it was voided, and what is left to refund (0
    /// once voided or refunded in full). Absent for other kinds.
    pub voided: Option<bool>,
    pub refundable: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TillPage {
    pub items: Vec<TillTransaction>,
    pub next_cursor: Option<Uuid>,
}

/// The calling terminal's transactions.
#[utoipa::path(tag = "till", security(("terminal_signature" = [])),
    params(RecentQuery), responses((status = 200, body = TillPage, description = "One page of the terminal's transactions, newest first")))]
#[get("/v1/terminal/transactions")]
pub async fn recent(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<RecentQuery>,
    bytes: crate::terminals::SignedBody,
) -> Result<HttpResponse, ApiError> {
    let terminal = authenticate(&state, &req, &bytes, Require::Active).await?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::client(
            ProblemType::BadRequest,
            "limit must be 1 to 100",
        ));
    }
    let mut page = ledger_transfers::table
        .inner_join(
            accounts::table.on(accounts::merchant_id
                .eq(ledger_transfers::merchant_id)
                .and(accounts::id.eq(ledger_transfers::account_id))),
        )
        .inner_join(
            customers::table.on(customers::merchant_id
                .eq(accounts::merchant_id)
                .and(customers::id.eq(accounts::customer_id))),
        )
        .filter(ledger_transfers::merchant_id.eq(Uuid::from(terminal.merchant)))
        .filter(ledger_transfers::terminal_id.eq(Uuid::from(terminal.id)))
        .order(ledger_transfers::id.desc())
        .limit(limit + 1)
        .select((
            ledger_transfers::id,
            ledger_transfers::kind,
            ledger_transfers::balance_change,
            ledger_transfers::balance_after,
            ledger_transfers::reference,
            ledger_transfers::code_kind,
            ledger_transfers::created_at,
            customers::display_name,
            ledger_transfers::voided,
            ledger_transfers::reversed_amount,
        ))
        .into_boxed();
    if let Some(cursor) = query.starting_after {
        page = page.filter(ledger_transfers::id.lt(cursor));
    }
    type Row = (
        Uuid,
        String,
        i64,
        i64,
        Option<String>,
        Option<String>,
        DateTime<Utc>,
        String,
        bool,
        i64,
    );
    let mut rows: Vec<Row> = page.load(&mut *state.db_conn().await?).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| r.0) } else { None };
    let items = rows
        .into_iter()
        .map(
            |(
                transfer_id,
                kind,
                change,
                balance_after,
                reference,
                code_kind,
                created_at,
                name,
                voided,
                reversed,
            )| {
                let redemption = kind == TransferKind::Redeem.as_str();
                TillTransaction {
                    transfer_id,
                    amount: change.abs(),
                    balance_after,
                    reference,
                    code_kind,
                    created_at,
                    customer: masked_name(&name),
                    voided: redemption.then_some(voided),
                    refundable: redemption.then(|| if voided { 0 } else { -change - reversed }),
                    kind,
                }
            },
        )
        .collect();
    Ok(HttpResponse::Ok().json(TillPage { items, next_cursor }))
}
