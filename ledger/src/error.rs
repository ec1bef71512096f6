use tillcode_protocol::ProblemType;

/// Why the ledger refused an operation. Every variant but `Database` is the
/// caller's business and left the ledger exactly as it was.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("no such account at this merchant")]
    AccountNotFound,
    #[error("the balance ({available}) is lower than the amount")]
    InsufficientBalance { available: i64 },
    #[error("the balance would exceed the largest allowed")]
    BalanceLimit,
    #[error("no such redemption at this merchant")]
    RedemptionNotFound,
    #[error("only a redemption can be voided or refunded")]
    NotARedemption,
    #[error("the redemption has already been voided")]
    AlreadyVoided,
    #[error("the redemption has refunds; refund the rest instead of voiding it")]
    RedemptionHasRefunds,
    #[error("at most {refundable} more can be refunded on this redemption")]
    RefundExceedsRedemption { refundable: i64 },
    #[error("this payment code has already paid")]
    CodeReplayed,
    #[error("a newer code from this device has been used already")]
    CodeSuperseded,
    #[error("the device that made this code is not active")]
    DeviceNotActive,
    /// The terminal the posting names was suspended or revoked (or never
    /// approved) by the time of the posting.
    #[error("the terminal is not active")]
    TerminalNotActive,
    #[error("the idempotency key was already used for a different request")]
    IdempotencyKeyReused,
    /// Another call with this key is being posted and has not committed:
    /// retry with the same key for its answer.
    #[error("a request with this idempotency key is still being posted; retry with the same key")]
    InFlight,
    /// The statement changed nothing and nothing explains it any more: a
    /// concurrent change moved the state in between. Safe to retry.
    #[error("the ledger changed concurrently; retry")]
    Contended,
    /// No connection to write with, or the writers are gone: nothing was
    /// written. Safe to retry.
    #[error("the ledger is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl LedgerError {
    /// A definite refusal: nothing was written for this request, nor will
    /// be by a copy of it (unlike an unknown outcome, such as a failure of
    /// the database, or a copy still in flight).
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            Self::InFlight | Self::Contended | Self::Unavailable(_) | Self::Database(_)
        )
    }

    pub fn problem_type(&self) -> ProblemType {
        match self {
            Self::AccountNotFound => ProblemType::AccountNotFound,
            Self::InsufficientBalance { .. } => ProblemType::InsufficientBalance,
            Self::BalanceLimit => ProblemType::BalanceLimit,
            Self::RedemptionNotFound => ProblemType::TransferNotFound,
            Self::NotARedemption => ProblemType::NotARedemption,
            Self::AlreadyVoided => ProblemType::AlreadyVoided,
            Self::RedemptionHasRefunds => ProblemType::RedemptionHasRefunds,
            Self::RefundExceedsRedemption { .. } => ProblemType::RefundExceedsRedemption,
            Self::IdempotencyKeyReused => ProblemType::IdempotencyKeyReused,
            Self::CodeReplayed => ProblemType::CodeReplayed,
            Self::CodeSuperseded => ProblemType::CodeSuperseded,
            Self::DeviceNotActive => ProblemType::DeviceRevoked,
            Self::TerminalNotActive => ProblemType::TerminalNotActive,
            Self::InFlight => ProblemType::RequestInFlight,
            Self::Contended | Self::Unavailable(_) => ProblemType::ServiceUnavailable,
            Self::Database(_) => ProblemType::Internal,
        }
    }
}
