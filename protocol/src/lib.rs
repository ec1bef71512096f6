//! Tillcode's wire vocabulary, shared by the API server and both SDKs.
//!
//! This crate performs no I/O and depends on no database, HTTP or async
//! runtime crate, so that a phone or a till can link it as is. Everything
//! here is parsed once at the edge and then trusted: an [`Amount`] is always
//! positive and bounded, an id is always a UUID of the right kind.

mod amount;
mod ids;
mod problem;

pub use amount::{Amount, AmountError};
pub use ids::{AccountId, CustomerId, MerchantId, ProgramId, StoreId, TransferId};
pub use problem::{Problem, ProblemType};
