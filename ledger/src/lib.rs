//! The double-entry ledger: the one part of Tillcode that must never be wrong.
//!
//! Every balance change is a transfer with two entries that sum to zero: the
//! customer's account, and the program's issuance book (the merchant's
//! liability). `accounts.balance` is a projection of the customer entries,
//! updated by the same statement. [`post_batch`] is the only write path
//! ([`post`] is a batch of one; [`Writer`] groups concurrent postings into
//! one commit); [`verify`] checks every invariant.
//!
//! The rules of a posting live in SQL, in `ledger/sql/` (one function a
//! file, under a versioned name), which [`migrate::run`] creates after the
//! migrations; this crate binds the postings, reads each one's outcome and
//! maps it to a [`LedgerError`]. It knows nothing of HTTP.

mod error;
pub mod migrate;
mod operation;
mod post;
mod verify;
mod writer;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod tests;

pub use error::LedgerError;
pub use operation::{
    CodeClaim, Direction, IdempotencyKey, IdempotencyKeyError, Note, NoteError, Operation, Posted,
    Posting, SaleContext, Transfer, TransferKind,
};
pub use post::{balance_of, post, post_batch, stored_answer};
pub use verify::{LedgerReport, ProgramTotals, Violation, verify};
pub use writer::{BatchSettings, Writer, WriterMetrics};
