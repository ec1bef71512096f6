//! What a caller asks the ledger to do, parsed and bounded before any SQL runs.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tillcode_protocol::{AccountId, Amount, MerchantId, TransferId};
use uuid::Uuid;

/// The kinds of ledger transfer, as stored in `ledger_transfers.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferKind {
    Accrue,
    Redeem,
    Void,
    Refund,
    Adjust,
    Expire,
}

impl TransferKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accrue => "accrue",
            Self::Redeem => "redeem",
            Self::Void => "void",
            Self::Refund => "refund",
            Self::Adjust => "adjust",
            Self::Expire => "expire",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Accrue,
            Self::Redeem,
            Self::Void,
            Self::Refund,
            Self::Adjust,
            Self::Expire,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Which way an adjustment moves the customer's balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Credit,
    Debit,
}

/// Text that must be present and short: an adjustment's reason or actor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Note(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to {max} characters, not blank, without control characters")]
pub struct NoteError {
    max: usize,
}

impl Note {
    /// `max` mirrors the CHECK on the column the note is stored in. Control
    /// characters are refused: Postgres cannot store a NUL in text, and the
    /// others have no place in a line a person reads in an audit trail.
    pub fn parse(text: &str, max: usize) -> Result<Self, NoteError> {
        let trimmed = text.trim();
        if trimmed.is_empty()
            || trimmed.chars().count() > max
            || trimmed.chars().any(char::is_control)
        {
            return Err(NoteError { max });
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn reason(text: &str) -> Result<Self, NoteError> {
        Self::parse(text, 500)
    }

    pub fn actor(text: &str) -> Result<Self, NoteError> {
        Self::parse(text, 200)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A caller's idempotency key: 1 to 255 visible ASCII characters, as a header
/// value can carry them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an idempotency key must be 1 to 255 visible ASCII characters")]
pub struct IdempotencyKeyError;

impl IdempotencyKey {
    pub fn parse(key: &str) -> Result<Self, IdempotencyKeyError> {
        let ok = (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(key.to_owned()))
        } else {
            Err(IdempotencyKeyError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One balance-changing operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Operation {
    /// Earn on a purchase.
    Accrue { account: AccountId, amount: Amount },
    /// Spend at the till.
    Redeem { account: AccountId, amount: Amount },
    /// Spend at the till and earn on the rest of the same purchase, in one
    /// transaction: one scan serves one sale. The earning cannot pay for
    /// the redemption: the balance must cover `amount` before it.
    RedeemAndEarn {
        account: AccountId,
        amount: Amount,
        earn: Amount,
    },
    /// Reverse a whole redemption, once.
    Void { redemption: TransferId },
    /// Give back part of a redemption; refunds together never exceed it.
    Refund {
        redemption: TransferId,
        amount: Amount,
    },
    /// A staff correction, always with a reason and who made it.
    Adjust {
        account: AccountId,
        direction: Direction,
        amount: Amount,
        reason: Note,
        actor: Note,
    },
}

impl Operation {
    pub fn kind(&self) -> TransferKind {
        match self {
            Self::Accrue { .. } => TransferKind::Accrue,
            Self::Redeem { .. } | Self::RedeemAndEarn { .. } => TransferKind::Redeem,
            Self::Void { .. } => TransferKind::Void,
            Self::Refund { .. } => TransferKind::Refund,
            Self::Adjust { .. } => TransferKind::Adjust,
        }
    }
}

/// The payment code a posting was authorised by, as the verification
/// function accepted it. The posting statement checks it again in Postgres:
/// its fingerprint must be new among the merchant's transfers (the unique
/// index `ledger_transfers_code`), and it must lie above its device's replay
/// floor, which it then raises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeClaim {
    pub kind: tillcode_protocol::CodeKind,
    pub device: tillcode_protocol::DeviceId,
    pub fingerprint: [u8; 32],
    /// Offline tokens: the token's issue time, which must beat the device's
    /// newest accepted one.
    pub offline_issued_at_ms: Option<i64>,
    /// Numeric codes: the TOTP time step, likewise.
    pub numeric_step: Option<i64>,
}

/// Where a sale happened: recorded on its transfers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleContext {
    pub store: tillcode_protocol::StoreId,
    pub terminal: tillcode_protocol::TerminalId,
    /// The till's order reference, 1 to 64 characters.
    pub reference: Option<String>,
}

/// An operation together with who asks for it and the key that makes a retry
/// of it harmless. Idempotency keys are scoped per merchant and caller, so
/// two terminals can never collide.
#[derive(Clone, Debug)]
pub struct Posting {
    pub merchant: MerchantId,
    /// The terminal, staff member or operator tool that may retry.
    pub caller: Uuid,
    pub key: IdempotencyKey,
    pub operation: Operation,
    /// The code the customer showed, when there was one.
    pub code: Option<CodeClaim>,
    pub context: Option<SaleContext>,
    /// The fingerprint a retry must match. `None`: derived from the
    /// operation (`request_hash`). The HTTP API passes a hash of the request
    /// as the terminal sent it, so that a retry can be answered before the
    /// code is verified again.
    pub request_fingerprint: Option<[u8; 32]>,
}

impl Posting {
    /// Fingerprint of the request, stored with the key: a retry must match
    /// it exactly, or it is a different request reusing the key.
    pub fn request_hash(&self) -> [u8; 32] {
        if let Some(fingerprint) = self.request_fingerprint {
            return fingerprint;
        }
        // Free text is JSON-quoted so that no choice of reason can make two
        // different requests encode alike.
        let quoted = |note: &Note| serde_json::Value::from(note.as_str()).to_string();
        let canonical = match &self.operation {
            Operation::Accrue { account, amount } => format!("accrue|{account}|{amount}"),
            Operation::Redeem { account, amount } => format!("redeem|{account}|{amount}"),
            Operation::RedeemAndEarn {
                account,
                amount,
                earn,
            } => format!("redeem-and-earn|{account}|{amount}|{earn}"),
            Operation::Void { redemption } => format!("void|{redemption}"),
            Operation::Refund { redemption, amount } => format!("refund|{redemption}|{amount}"),
            Operation::Adjust {
                account,
                direction,
                amount,
                reason,
                actor,
            } => format!(
                "adjust|{account}|{direction:?}|{amount}|{}|{}",
                quoted(reason),
                quoted(actor)
            ),
        };
        let mut hasher = Sha256::new();
        hasher.update(canonical.as_bytes());
        if let Some(code) = &self.code {
            hasher.update(b"|code|");
            hasher.update(code.fingerprint);
        }
        hasher.finalize().into()
    }
}

/// A recorded transfer, as returned by every operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transfer {
    pub id: TransferId,
    pub kind: TransferKind,
    pub account: AccountId,
    /// Signed change of the customer's balance: + credit, - debit.
    pub balance_change: i64,
    pub balance_after: i64,
    pub reverses: Option<TransferId>,
    pub created_at: DateTime<Utc>,
}

/// The answer to a posting: the transfer, and whether this call made it or
/// replayed the answer of an earlier call with the same key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    pub transfer: Transfer,
    /// The accrual of a `RedeemAndEarn`.
    pub earned: Option<Transfer>,
    /// The kind of the payment code the transfer spent, if it spent one.
    pub code_kind: Option<tillcode_protocol::CodeKind>,
    pub replayed: bool,
}
