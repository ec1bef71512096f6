//! Posting a transfer: the one write path of the ledger.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::Error as DieselError;
use diesel::sql_types::{
    Array, BigInt, Bytea, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tillcode_protocol::{AccountId, MerchantId, TransferId};
use uuid::Uuid;

use super::error::LedgerError;
use super::operation::{
    Direction, IdempotencyKey, Operation, Posted, Posting, Transfer, TransferKind,
};
use tillcode_db::schema::{accounts, ledger_transfers};

/// Records `posting` exactly once, however often it is called with the same
/// idempotency key and however many of those calls run at the same time.
///
/// Returns the new transfer, or the one an earlier call with the same key and
/// request made (`replayed: true`). On any error nothing was written.
pub async fn post(conn: &mut AsyncPgConnection, posting: &Posting) -> Result<Posted, LedgerError> {
    let mut results = post_batch(conn, std::slice::from_ref(posting)).await;
    results.pop().unwrap_or(Err(LedgerError::Contended))
}

/// How often a posting that lost a deadlock to a concurrent batch is tried
/// again before it is reported as contended.
const DEADLOCK_ROUNDS: usize = 3;

/// Records every posting of `postings` in one Postgres transaction (one
/// commit), each with the guarantees of [`post`] and its own outcome: one
/// that is refused changes nothing and does not hold back the others.
/// Returns the outcomes in the order of `postings`, after the commit.
pub async fn post_batch(
    conn: &mut AsyncPgConnection,
    postings: &[Posting],
) -> Vec<Result<Posted, LedgerError>> {
    let prepared: Vec<Prepared> = postings.iter().map(Prepared::new).collect();
    let mut outcomes: Vec<Option<Result<Outcome, LedgerError>>> =
        (0..postings.len()).map(|_| None).collect();
    // Rows are locked in the order of their accounts so that two batches
    // touching the same accounts queue behind each other instead of
    // deadlocking; the rare deadlock left (a spent code or key awaited
    // across batches) is retried.
    let mut pending: Vec<usize> = (0..postings.len()).collect();
    pending.sort_by_key(|&i| prepared[i].lock_order);
    for _ in 0..DEADLOCK_ROUNDS {
        if pending.is_empty() {
            break;
        }
        let statement = PostBatch::new(&prepared, &pending);
        match statement.load::<OutcomeRow>(conn).await {
            Ok(rows) => {
                let mut deadlocked = Vec::new();
                for row in rows {
                    let Some(&index) = usize::try_from(row.item - 1)
                        .ok()
                        .and_then(|position| pending.get(position))
                    else {
                        continue;
                    };
                    match Outcome::from_row(row) {
                        Ok(Outcome::Deadlocked) => deadlocked.push(index),
                        outcome => outcomes[index] = Some(outcome),
                    }
                }
                pending = deadlocked;
            }
            // The statement is atomic: nothing of the batch was written.
            Err(e) => {
                for &index in &pending {
                    outcomes[index] = Some(Err(copy_error(&e).into()));
                }
                pending.clear();
            }
        }
    }
    let mut results = Vec::with_capacity(postings.len());
    for ((posting, prepared), outcome) in postings.iter().zip(&prepared).zip(outcomes) {
        let result = match outcome {
            Some(Ok(outcome)) => settle(conn, posting, prepared, outcome).await,
            Some(Err(e)) => Err(e),
            // Deadlocked in every round.
            None => Err(LedgerError::Contended),
        };
        results.push(result);
    }
    results
}

/// What one posting of a batch became, as the statement reported it.
enum Outcome {
    Posted(Transfer),
    /// A request with this caller and key committed first: its stored
    /// answer is the answer.
    KeyTaken,
    /// Lost a deadlock to a concurrent batch; nothing of it was written.
    Deadlocked,
    /// Refused, for the reason the statement named (`ledger/sql/refusal.sql`).
    Refused(LedgerError),
}

impl Outcome {
    fn from_row(row: OutcomeRow) -> Result<Self, LedgerError> {
        let amount = || row.amount.ok_or_else(|| missing("amount"));
        let refusal = match row.outcome.as_str() {
            "posted" => {
                let transfer = TransferRow {
                    id: row.id.ok_or_else(|| missing("id"))?,
                    kind: row.kind.ok_or_else(|| missing("kind"))?,
                    account_id: row.account_id.ok_or_else(|| missing("account_id"))?,
                    balance_change: row
                        .balance_change
                        .ok_or_else(|| missing("balance_change"))?,
                    balance_after: row.balance_after.ok_or_else(|| missing("balance_after"))?,
                    reverses_id: row.reverses_id,
                    created_at: row.created_at.ok_or_else(|| missing("created_at"))?,
                };
                return Ok(Self::Posted(transfer.try_into()?));
            }
            "key-taken" => return Ok(Self::KeyTaken),
            "deadlocked" => return Ok(Self::Deadlocked),
            "contended" => LedgerError::Contended,
            "terminal-not-active" => LedgerError::TerminalNotActive,
            "account-not-found" => LedgerError::AccountNotFound,
            "insufficient-balance" => LedgerError::InsufficientBalance {
                available: amount()?,
            },
            "balance-limit" => LedgerError::BalanceLimit,
            "redemption-not-found" => LedgerError::RedemptionNotFound,
            "not-a-redemption" => LedgerError::NotARedemption,
            "already-voided" => LedgerError::AlreadyVoided,
            "redemption-has-refunds" => LedgerError::RedemptionHasRefunds,
            "refund-exceeds-redemption" => LedgerError::RefundExceedsRedemption {
                refundable: amount()?,
            },
            "code-replayed" => LedgerError::CodeReplayed,
            "code-superseded" => LedgerError::CodeSuperseded,
            "device-not-active" => LedgerError::DeviceNotActive,
            "violated" => {
                return Err(DieselError::QueryBuilderError(
                    format!("posting refused by constraint {:?}", row.detail).into(),
                )
                .into());
            }
            other => {
                return Err(DieselError::DeserializationError(
                    format!("unknown posting outcome {other:?}").into(),
                )
                .into());
            }
        };
        Ok(Self::Refused(refusal))
    }
}

fn missing(column: &str) -> LedgerError {
    DieselError::DeserializationError(format!("a posted row without {column}").into()).into()
}

/// One error for each posting of a failed batch: diesel's errors are not
/// `Clone`, but their kind and message are all a caller looks at.
fn copy_error(e: &DieselError) -> DieselError {
    match e {
        DieselError::DatabaseError(kind, info) => {
            DieselError::DatabaseError(*kind, Box::new(info.message().to_owned()))
        }
        other => DieselError::QueryBuilderError(other.to_string().into()),
    }
}

/// Turns a posting's outcome into its answer. Runs after the batch
/// committed, so a copy reads the committed answer of its key.
async fn settle(
    conn: &mut AsyncPgConnection,
    posting: &Posting,
    prepared: &Prepared,
    outcome: Outcome,
) -> Result<Posted, LedgerError> {
    match outcome {
        Outcome::Posted(transfer) => {
            // The accrual of the same sale was written by the same statement:
            // its row is known without reading it back.
            let earned = statement_earning(posting, prepared.earn_transfer, &transfer);
            Ok(Posted {
                transfer,
                earned,
                code_kind: posting.code.as_ref().map(|c| c.kind),
                replayed: false,
            })
        }
        // An earlier call with this key committed first; this posting
        // (debit included) was rolled back.
        Outcome::KeyTaken => match replay(conn, posting, &prepared.request_hash).await? {
            Some(posted) => Ok(posted),
            None => Err(LedgerError::InFlight),
        },
        Outcome::Deadlocked => Err(LedgerError::Contended),
        Outcome::Refused(refusal) => Err(refusal),
    }
}

fn statement_earning(
    posting: &Posting,
    id: Option<Uuid>,
    redemption: &Transfer,
) -> Option<Transfer> {
    let (Operation::RedeemAndEarn { earn, .. }, Some(id)) = (&posting.operation, id) else {
        return None;
    };
    Some(Transfer {
        id: id.into(),
        kind: TransferKind::Accrue,
        account: redemption.account,
        balance_change: earn.get(),
        balance_after: redemption.balance_after + earn.get(),
        reverses: None,
        created_at: redemption.created_at,
    })
}

/// A posting as the statement binds it: every value computed once, before
/// the first attempt, so that a retried round writes the same ids.
struct Prepared {
    merchant: Uuid,
    kind: &'static str,
    account: Option<Uuid>,
    change: Option<i64>,
    reverses: Option<Uuid>,
    transfer: Uuid,
    caller: Uuid,
    key: String,
    request_hash: [u8; 32],
    reason: Option<String>,
    actor: Option<String>,
    code_kind: Option<&'static str>,
    code_device: Option<Uuid>,
    code_fingerprint: Option<Vec<u8>>,
    code_issued_at: Option<i64>,
    code_step: Option<i64>,
    store: Option<Uuid>,
    terminal: Option<Uuid>,
    reference: Option<String>,
    earn: Option<i64>,
    earn_transfer: Option<Uuid>,
    /// The account row the posting locks (a reversal's is found by the
    /// statement; those go last).
    lock_order: (Uuid, bool, Uuid),
}

impl Prepared {
    fn new(posting: &Posting) -> Self {
        let mut statement = Self {
            merchant: posting.merchant.into(),
            kind: posting.operation.kind().as_str(),
            account: None,
            change: None,
            reverses: None,
            transfer: TransferId::new().into(),
            caller: posting.caller,
            key: posting.key.as_str().to_owned(),
            request_hash: posting.request_hash(),
            reason: None,
            actor: None,
            code_kind: posting.code.as_ref().map(|c| c.kind.as_str()),
            code_device: posting.code.as_ref().map(|c| c.device.into()),
            code_fingerprint: posting.code.as_ref().map(|c| c.fingerprint.to_vec()),
            code_issued_at: posting.code.as_ref().and_then(|c| c.offline_issued_at_ms),
            code_step: posting.code.as_ref().and_then(|c| c.numeric_step),
            store: posting.context.as_ref().map(|c| c.store.into()),
            terminal: posting.context.as_ref().map(|c| c.terminal.into()),
            reference: posting.context.as_ref().and_then(|c| c.reference.clone()),
            earn: None,
            earn_transfer: None,
            lock_order: (Uuid::nil(), true, Uuid::nil()),
        };
        match &posting.operation {
            Operation::Accrue { account, amount } => {
                statement.account = Some((*account).into());
                statement.change = Some(amount.get());
            }
            Operation::Redeem { account, amount } => {
                statement.account = Some((*account).into());
                statement.change = Some(-amount.get());
            }
            Operation::RedeemAndEarn {
                account,
                amount,
                earn,
            } => {
                statement.account = Some((*account).into());
                statement.change = Some(-amount.get());
                statement.earn = Some(earn.get());
                statement.earn_transfer = Some(TransferId::new().into());
            }
            Operation::Void { redemption } => statement.reverses = Some((*redemption).into()),
            Operation::Refund { redemption, amount } => {
                statement.reverses = Some((*redemption).into());
                statement.change = Some(amount.get());
            }
            Operation::Adjust {
                account,
                direction,
                amount,
                reason,
                actor,
            } => {
                statement.account = Some((*account).into());
                statement.change = Some(match direction {
                    Direction::Credit => amount.get(),
                    Direction::Debit => -amount.get(),
                });
                statement.reason = Some(reason.as_str().to_owned());
                statement.actor = Some(actor.as_str().to_owned());
            }
        }
        statement.lock_order = match statement.account {
            Some(account) => (statement.merchant, false, account),
            None => (
                statement.merchant,
                true,
                statement.reverses.unwrap_or_default(),
            ),
        };
        statement
    }
}

/// `SELECT ... FROM ledger_post_batch_v1(...)` (`ledger/sql/post_batch.sql`) with the batch's postings as parallel
/// arrays. The number of binds does not depend on the batch size, so a fixed
/// query id lets every connection prepare it once and reuse the plan.
struct PostBatch {
    merchant: Vec<Uuid>,
    kind: Vec<&'static str>,
    account: Vec<Option<Uuid>>,
    change: Vec<Option<i64>>,
    reverses: Vec<Option<Uuid>>,
    transfer: Vec<Uuid>,
    caller: Vec<Uuid>,
    key: Vec<String>,
    request_hash: Vec<Vec<u8>>,
    reason: Vec<Option<String>>,
    actor: Vec<Option<String>>,
    code_kind: Vec<Option<&'static str>>,
    code_device: Vec<Option<Uuid>>,
    code_fingerprint: Vec<Option<Vec<u8>>>,
    code_issued_at: Vec<Option<i64>>,
    code_step: Vec<Option<i64>>,
    store: Vec<Option<Uuid>>,
    terminal: Vec<Option<Uuid>>,
    reference: Vec<Option<String>>,
    earn: Vec<Option<i64>>,
    earn_transfer: Vec<Option<Uuid>>,
}

impl PostBatch {
    /// The postings `order` names, in that order.
    fn new(prepared: &[Prepared], order: &[usize]) -> Self {
        let items = || order.iter().map(|&i| &prepared[i]);
        Self {
            merchant: items().map(|p| p.merchant).collect(),
            kind: items().map(|p| p.kind).collect(),
            account: items().map(|p| p.account).collect(),
            change: items().map(|p| p.change).collect(),
            reverses: items().map(|p| p.reverses).collect(),
            transfer: items().map(|p| p.transfer).collect(),
            caller: items().map(|p| p.caller).collect(),
            key: items().map(|p| p.key.clone()).collect(),
            request_hash: items().map(|p| p.request_hash.to_vec()).collect(),
            reason: items().map(|p| p.reason.clone()).collect(),
            actor: items().map(|p| p.actor.clone()).collect(),
            code_kind: items().map(|p| p.code_kind).collect(),
            code_device: items().map(|p| p.code_device).collect(),
            code_fingerprint: items().map(|p| p.code_fingerprint.clone()).collect(),
            code_issued_at: items().map(|p| p.code_issued_at).collect(),
            code_step: items().map(|p| p.code_step).collect(),
            store: items().map(|p| p.store).collect(),
            terminal: items().map(|p| p.terminal).collect(),
            reference: items().map(|p| p.reference.clone()).collect(),
            earn: items().map(|p| p.earn).collect(),
            earn_transfer: items().map(|p| p.earn_transfer).collect(),
        }
    }
}

struct PostBatchQueryId;

impl QueryId for PostBatch {
    type QueryId = PostBatchQueryId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for PostBatch {
    type SqlType = (
        Integer,
        Text,
        Nullable<Text>,
        Nullable<BigInt>,
        Nullable<SqlUuid>,
        Nullable<Text>,
        Nullable<SqlUuid>,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Nullable<SqlUuid>,
        Nullable<Timestamptz>,
    );
}

impl QueryFragment<Pg> for PostBatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "SELECT item, outcome, detail, amount, r_id, r_kind, r_account_id, r_balance_change, \
             r_balance_after, r_reverses_id, r_created_at FROM ledger_post_batch_v1(",
        );
        out.push_bind_param::<Array<SqlUuid>, _>(&self.merchant)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.account)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.change)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.reverses)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.transfer)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.caller)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.key)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bytea>, _>(&self.request_hash)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.reason)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.actor)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.code_kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.code_device)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Bytea>>, _>(&self.code_fingerprint)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.code_issued_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.code_step)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.store)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.terminal)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.reference)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.earn)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.earn_transfer)?;
        out.push_sql(") ORDER BY item");
        Ok(())
    }
}

/// One row of `ledger_post_batch_v1`: the outcome of the posting at `item`
/// (1-based, in the order bound) and, when posted, its transfer.
#[derive(Queryable)]
struct OutcomeRow {
    item: i32,
    outcome: String,
    detail: Option<String>,
    amount: Option<i64>,
    id: Option<Uuid>,
    kind: Option<String>,
    account_id: Option<Uuid>,
    balance_change: Option<i64>,
    balance_after: Option<i64>,
    reverses_id: Option<Uuid>,
    created_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = ledger_transfers, check_for_backend(Pg))]
pub(super) struct TransferRow {
    id: Uuid,
    kind: String,
    account_id: Uuid,
    balance_change: i64,
    balance_after: i64,
    reverses_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl TryFrom<TransferRow> for Transfer {
    type Error = LedgerError;
    fn try_from(row: TransferRow) -> Result<Self, LedgerError> {
        let kind = TransferKind::parse(&row.kind).ok_or_else(|| {
            DieselError::DeserializationError(
                format!("unknown transfer kind {:?}", row.kind).into(),
            )
        })?;
        Ok(Transfer {
            id: row.id.into(),
            kind,
            account: row.account_id.into(),
            balance_change: row.balance_change,
            balance_after: row.balance_after,
            reverses: row.reverses_id.map(TransferId::from),
            created_at: row.created_at,
        })
    }
}

/// The stored answer for the posting's key, if an earlier call made one.
async fn replay(
    conn: &mut AsyncPgConnection,
    posting: &Posting,
    request_hash: &[u8; 32],
) -> Result<Option<Posted>, LedgerError> {
    stored_answer(
        conn,
        posting.merchant,
        posting.caller,
        &posting.key,
        request_hash,
    )
    .await
}

/// The answer an earlier call with this caller and key got, or `None`;
/// `IdempotencyKeyReused` if that call was a different request. The HTTP API
/// asks this before it verifies a payment code again, so that a retry is
/// answered from the record instead of being refused as a replayed code.
pub async fn stored_answer(
    conn: &mut AsyncPgConnection,
    merchant: MerchantId,
    caller: Uuid,
    key: &IdempotencyKey,
    request_hash: &[u8; 32],
) -> Result<Option<Posted>, LedgerError> {
    let merchant = Uuid::from(merchant);
    let stored: Option<(Option<Vec<u8>>, Option<String>, TransferRow)> = ledger_transfers::table
        .filter(ledger_transfers::merchant_id.eq(merchant))
        .filter(ledger_transfers::caller_id.eq(caller))
        .filter(ledger_transfers::idempotency_key.eq(key.as_str()))
        .select((
            ledger_transfers::request_hash,
            ledger_transfers::code_kind,
            TransferRow::as_select(),
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((stored_hash, code_kind, row)) = stored else {
        return Ok(None);
    };
    if stored_hash.as_deref() != Some(request_hash.as_slice()) {
        return Err(LedgerError::IdempotencyKeyReused);
    }
    let transfer_id = row.id;
    let earned: Option<TransferRow> = ledger_transfers::table
        .filter(ledger_transfers::merchant_id.eq(merchant))
        .filter(ledger_transfers::sale_id.eq(transfer_id))
        .select(TransferRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(Some(Posted {
        transfer: row.try_into()?,
        earned: earned.map(Transfer::try_from).transpose()?,
        code_kind: code_kind
            .as_deref()
            .and_then(tillcode_protocol::CodeKind::from_name),
        replayed: true,
    }))
}

/// The balance of `account`, or `None` when the merchant has no such account.
pub async fn balance_of(
    conn: &mut AsyncPgConnection,
    merchant: Uuid,
    account: AccountId,
) -> Result<Option<i64>, LedgerError> {
    Ok(accounts::table
        .find((merchant, Uuid::from(account)))
        .select(accounts::balance)
        .first(conn)
        .await
        .optional()?)
}
