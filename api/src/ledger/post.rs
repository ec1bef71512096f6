//! Posting a transfer: the one write path of the ledger.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{BigInt, Bytea, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tillcode_protocol::{AccountId, MerchantId, TransferId};
use uuid::Uuid;

use super::error::LedgerError;
use super::operation::{
    CodeClaim, Direction, IdempotencyKey, Operation, Posted, Posting, Transfer, TransferKind,
};
use crate::schema::{accounts, devices, idempotency_keys, ledger_transfers, redeemed_codes};

/// Records `posting` exactly once, however often it is called with the same
/// idempotency key and however many of those calls run at the same time.
///
/// Returns the new transfer, or the one an earlier call with the same key and
/// request made (`replayed: true`). On any error nothing was written.
pub async fn post(conn: &mut AsyncPgConnection, posting: &Posting) -> Result<Posted, LedgerError> {
    let request_hash = posting.request_hash();
    let statement = PostTransfer::new(posting, TransferId::new(), &request_hash);
    let earn_transfer = statement.earn_transfer;
    match statement.get_result::<TransferRow>(conn).await.optional() {
        Ok(Some(row)) => {
            let transfer: Transfer = row.try_into()?;
            // The accrual of the same sale was written by the same statement:
            // its row is known without reading it back.
            let earned = statement_earning(posting, earn_transfer, &transfer);
            Ok(Posted {
                transfer,
                earned,
                replayed: false,
            })
        }
        Ok(None) => diagnose(conn, posting, &request_hash).await,
        Err(DieselError::DatabaseError(kind, info)) => {
            match (kind, info.constraint_name()) {
                // An earlier call with this key committed first; the whole
                // statement (debit included) was rolled back.
                (DatabaseErrorKind::UniqueViolation, Some("idempotency_keys_pkey")) => {
                    match replay(conn, posting, &request_hash).await? {
                        Some(posted) => Ok(posted),
                        None => Err(LedgerError::Contended),
                    }
                }
                (DatabaseErrorKind::UniqueViolation, Some("redeemed_codes_pkey")) => {
                    Err(LedgerError::CodeReplayed)
                }
                (DatabaseErrorKind::UniqueViolation, Some("ledger_transfers_one_void")) => {
                    Err(LedgerError::AlreadyVoided)
                }
                (DatabaseErrorKind::CheckViolation, Some("accounts_balance_range")) => {
                    Err(LedgerError::BalanceLimit)
                }
                _ => Err(DieselError::DatabaseError(kind, info).into()),
            }
        }
        Err(other) => Err(other.into()),
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

/// The statement of `post_transfer.sql`, preceded by a `params` CTE that binds
/// each parameter once. A fixed query id lets every connection prepare it
/// once and reuse the plan.
struct PostTransfer<'a> {
    merchant: Uuid,
    kind: &'static str,
    account: Option<Uuid>,
    change: Option<i64>,
    reverses: Option<Uuid>,
    transfer: Uuid,
    caller: Uuid,
    key: &'a str,
    request_hash: &'a [u8],
    reason: Option<&'a str>,
    actor: Option<&'a str>,
    code_kind: Option<&'static str>,
    code_device: Option<Uuid>,
    code_fingerprint: Option<&'a [u8]>,
    code_issued_at: Option<i64>,
    code_step: Option<i64>,
    store: Option<Uuid>,
    terminal: Option<Uuid>,
    reference: Option<&'a str>,
    earn: Option<i64>,
    earn_transfer: Option<Uuid>,
}

const POST_TRANSFER_BODY: &str = include_str!("post_transfer.sql");

impl<'a> PostTransfer<'a> {
    fn new(posting: &'a Posting, transfer: TransferId, request_hash: &'a [u8; 32]) -> Self {
        let mut statement = Self {
            merchant: posting.merchant.into(),
            kind: posting.operation.kind().as_str(),
            account: None,
            change: None,
            reverses: None,
            transfer: transfer.into(),
            caller: posting.caller,
            key: posting.key.as_str(),
            request_hash,
            reason: None,
            actor: None,
            code_kind: posting.code.as_ref().map(|c| c.kind.as_str()),
            code_device: posting.code.as_ref().map(|c| c.device),
            code_fingerprint: posting.code.as_ref().map(|c| c.fingerprint.as_slice()),
            code_issued_at: posting.code.as_ref().and_then(|c| c.offline_issued_at_ms),
            code_step: posting.code.as_ref().and_then(|c| c.numeric_step),
            store: posting.context.as_ref().map(|c| c.store),
            terminal: posting.context.as_ref().map(|c| c.terminal),
            reference: posting
                .context
                .as_ref()
                .and_then(|c| c.reference.as_deref()),
            earn: None,
            earn_transfer: None,
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
                statement.reason = Some(reason.as_str());
                statement.actor = Some(actor.as_str());
            }
        }
        statement
    }
}

struct PostTransferQueryId;

impl QueryId for PostTransfer<'_> {
    type QueryId = PostTransferQueryId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for PostTransfer<'_> {
    type SqlType = (
        SqlUuid,
        Text,
        SqlUuid,
        BigInt,
        BigInt,
        Nullable<SqlUuid>,
        Timestamptz,
    );
}

impl QueryFragment<Pg> for PostTransfer<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH params AS (SELECT ");
        out.push_bind_param::<SqlUuid, _>(&self.merchant)?;
        out.push_sql("::uuid AS merchant_id, ");
        out.push_bind_param::<Text, _>(&self.kind)?;
        out.push_sql("::text AS kind, ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&self.account)?;
        out.push_sql("::uuid AS account_id, ");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.change)?;
        out.push_sql("::bigint AS change, ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&self.reverses)?;
        out.push_sql("::uuid AS reverses_id, ");
        out.push_bind_param::<SqlUuid, _>(&self.transfer)?;
        out.push_sql("::uuid AS transfer_id, ");
        out.push_bind_param::<SqlUuid, _>(&self.caller)?;
        out.push_sql("::uuid AS caller_id, ");
        out.push_bind_param::<Text, _>(&self.key)?;
        out.push_sql("::text AS idempotency_key, ");
        out.push_bind_param::<Bytea, _>(&self.request_hash)?;
        out.push_sql("::bytea AS request_hash, ");
        out.push_bind_param::<Nullable<Text>, _>(&self.reason)?;
        out.push_sql("::text AS reason, ");
        out.push_bind_param::<Nullable<Text>, _>(&self.actor)?;
        out.push_sql("::text AS actor, ");
        out.push_bind_param::<Nullable<Text>, _>(&self.code_kind)?;
        out.push_sql("::text AS code_kind, ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&self.code_device)?;
        out.push_sql("::uuid AS code_device, ");
        out.push_bind_param::<Nullable<Bytea>, _>(&self.code_fingerprint)?;
        out.push_sql("::bytea AS code_fingerprint, ");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.code_issued_at)?;
        out.push_sql("::bigint AS code_issued_at, ");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.code_step)?;
        out.push_sql("::bigint AS code_step, ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&self.store)?;
        out.push_sql("::uuid AS store_id, ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&self.terminal)?;
        out.push_sql("::uuid AS terminal_id, ");
        out.push_bind_param::<Nullable<Text>, _>(&self.reference)?;
        out.push_sql("::text AS reference, ");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.earn)?;
        out.push_sql("::bigint AS earn, ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&self.earn_transfer)?;
        out.push_sql("::uuid AS earn_transfer_id)\n");
        out.push_sql(POST_TRANSFER_BODY);
        Ok(())
    }
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
    let posting_merchant = merchant;
    let stored: Option<(Vec<u8>, Uuid)> = idempotency_keys::table
        .filter(idempotency_keys::merchant_id.eq(Uuid::from(merchant)))
        .filter(idempotency_keys::caller_id.eq(caller))
        .filter(idempotency_keys::key.eq(key.as_str()))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::transfer_id,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((stored_hash, transfer_id)) = stored else {
        return Ok(None);
    };
    if stored_hash.as_slice() != request_hash.as_slice() {
        return Err(LedgerError::IdempotencyKeyReused);
    }
    let merchant = Uuid::from(posting_merchant);
    let row: TransferRow = ledger_transfers::table
        .find((merchant, transfer_id))
        .select(TransferRow::as_select())
        .first(conn)
        .await?;
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
        replayed: true,
    }))
}

/// Explains why the statement changed nothing. Runs only on the failure
/// path, so the hot path stays one round trip. The state may have moved
/// since the statement; that can only change which refusal is reported,
/// never whether something was written.
async fn diagnose(
    conn: &mut AsyncPgConnection,
    posting: &Posting,
    request_hash: &[u8; 32],
) -> Result<Posted, LedgerError> {
    if let Some(posted) = replay(conn, posting, request_hash).await? {
        return Ok(posted);
    }
    let merchant = Uuid::from(posting.merchant);
    let refusal = match &posting.operation {
        Operation::Accrue { account, .. }
        | Operation::Adjust {
            account,
            direction: Direction::Credit,
            ..
        } => match balance_of(conn, merchant, *account).await? {
            None => LedgerError::AccountNotFound,
            Some(_) => LedgerError::Contended,
        },
        Operation::Redeem { account, amount }
        | Operation::RedeemAndEarn {
            account, amount, ..
        }
        | Operation::Adjust {
            account,
            direction: Direction::Debit,
            amount,
            ..
        } => match balance_of(conn, merchant, *account).await? {
            None => LedgerError::AccountNotFound,
            Some(available) if available < amount.get() => {
                LedgerError::InsufficientBalance { available }
            }
            Some(_) => LedgerError::Contended,
        },
        Operation::Void { redemption } => {
            let target = reversal_target(conn, merchant, *redemption).await?;
            if target.voided {
                LedgerError::AlreadyVoided
            } else if target.reversed_amount > 0 {
                LedgerError::RedemptionHasRefunds
            } else {
                LedgerError::Contended
            }
        }
        Operation::Refund { redemption, amount } => {
            let target = reversal_target(conn, merchant, *redemption).await?;
            let refundable = target.amount - target.reversed_amount;
            if target.voided {
                LedgerError::AlreadyVoided
            } else if amount.get() > refundable {
                LedgerError::RefundExceedsRedemption { refundable }
            } else {
                LedgerError::Contended
            }
        }
    };
    // The code is asked last: its device's floor moves even when the debit
    // is then refused (the code was spent on presentation), so a refused
    // debit must be reported as what it was.
    if let (LedgerError::Contended, Some(code)) = (&refusal, &posting.code)
        && let Some(code_refusal) = code_refusal(conn, merchant, code).await?
    {
        return Err(code_refusal);
    }
    Err(refusal)
}

/// Why the code's device refused it, if it did.
async fn code_refusal(
    conn: &mut AsyncPgConnection,
    merchant: Uuid,
    code: &CodeClaim,
) -> Result<Option<LedgerError>, LedgerError> {
    let device: Option<(String, i64, i64)> = devices::table
        .find((merchant, code.device))
        .select((
            devices::status,
            devices::last_offline_issued_at_ms,
            devices::last_numeric_step,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((status, offline_floor, numeric_floor)) = device else {
        return Ok(Some(LedgerError::DeviceNotActive));
    };
    if status != "active" {
        return Ok(Some(LedgerError::DeviceNotActive));
    }
    let below_floor = code
        .offline_issued_at_ms
        .is_some_and(|at| at <= offline_floor)
        || code.numeric_step.is_some_and(|step| step <= numeric_floor);
    if !below_floor {
        return Ok(None);
    }
    let spent: bool = diesel::select(diesel::dsl::exists(
        redeemed_codes::table.find((merchant, code.fingerprint.as_slice())),
    ))
    .get_result(conn)
    .await?;
    Ok(Some(if spent {
        LedgerError::CodeReplayed
    } else {
        LedgerError::CodeSuperseded
    }))
}

async fn balance_of(
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

struct ReversalTarget {
    /// What the redemption took, as a positive number.
    amount: i64,
    reversed_amount: i64,
    voided: bool,
}

/// The redemption a VOID or REFUND names, or why it cannot be reversed.
async fn reversal_target(
    conn: &mut AsyncPgConnection,
    merchant: Uuid,
    redemption: TransferId,
) -> Result<ReversalTarget, LedgerError> {
    let row: Option<(String, i64, i64, bool)> = ledger_transfers::table
        .find((merchant, Uuid::from(redemption)))
        .select((
            ledger_transfers::kind,
            ledger_transfers::balance_change,
            ledger_transfers::reversed_amount,
            ledger_transfers::voided,
        ))
        .first(conn)
        .await
        .optional()?;
    match row {
        None => Err(LedgerError::RedemptionNotFound),
        Some((kind, ..)) if kind != TransferKind::Redeem.as_str() => {
            Err(LedgerError::NotARedemption)
        }
        Some((_, change, reversed_amount, voided)) => Ok(ReversalTarget {
            amount: -change,
            reversed_amount,
            voided,
        }),
    }
}
