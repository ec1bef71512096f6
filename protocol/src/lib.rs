//! Tillcode's wire vocabulary, shared by the API server and both SDKs.
//!
//! This crate performs no I/O and depends on no database, HTTP or async
//! runtime crate, so that a phone or a till can link it as is. Everything
//! here is parsed once at the edge and then trusted: an [`Amount`] is always
//! positive and bounded, an id is always a UUID of the right kind.
//!
//! It also holds the payment-code protocol of `docs/protocol.md`:
//!
//! - the three kinds of payment code a till accepts, behind
//!   [`PaymentCode::parse`]: [`OnlineKey`] (`TC1K…`), [`OfflineToken`]
//!   (`TC1F…`, Ed25519-signed on the phone) and [`NumericCode`] (18 digits
//!   with a TOTP and a Luhn digit);
//! - the codes that bring a device or terminal in: [`LinkCode`] (`TC1L…`)
//!   and [`EnrollmentCode`] (`XXXX-XXXX`), and the [`proofs`] of key
//!   possession signed with them;
//! - the signing contexts ([`Domain`]), strict Ed25519 ([`keys`]), and the
//!   strict base32 every payload uses ([`base32`]);
//! - signed requests: the Tillcode profile of RFC 9421 ([`http_signature`]:
//!   [`sign_request`] for tills and phones, [`parse_signature`] and
//!   [`verify_signature`] for the server) and the RFC 9530 `Content-Digest`
//!   it covers ([`mod@content_digest`]);
//! - the JSON bodies of the till's redemption endpoints ([`till_requests`]).
//!
//! Decoders never panic, whatever the input, and refuse with a [`CodeError`]
//! that maps to one [`ProblemType`]. Checks that need state (has this code
//! been used, is this device active, what time is it) belong to the caller;
//! this crate gives them pure building blocks such as [`check_freshness`]
//! and [`NumericCode::verify`].
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod amount;
pub mod base32;
mod code_error;
pub mod content_digest;
pub mod domain;
pub mod enrollment_code;
pub mod http_signature;
mod ids;
pub mod keys;
pub mod link_code;
mod luhn;
pub mod numeric_code;
pub mod offline_token;
pub mod online_key;
mod payload;
pub mod payment_code;
mod problem;
pub mod proofs;
pub mod till_requests;
mod totp;

pub use amount::{Amount, AmountError};
pub use code_error::CodeError;
pub use content_digest::{
    DigestError, content_digest, content_digest_matches, verify_content_digest,
};
pub use domain::Domain;
pub use enrollment_code::{ENROLLMENT_ALPHABET, EnrollmentCode};
pub use http_signature::{
    HttpSignatureError, KeyId, RequestParts, SIGNATURE_LABEL, SIGNATURE_TAG, SignatureHeaders,
    SignatureParams, SignedRequest, check_created, new_nonce, parse_signature, sign_request,
    verify_signature,
};
pub use ids::{
    AccountId, CustomerId, DeviceId, MerchantId, ProgramId, StaffId, StoreId, TerminalId,
    TransferId,
};
pub use keys::{key_fingerprint, parse_public_key, parse_public_key_base32, verify_strict};
pub use link_code::LinkCode;
pub use numeric_code::{NumericCode, NumericHandle, numeric_fingerprint, time_step, totp};
pub use offline_token::{DeviceHandle, Freshness, OfflineToken, check_freshness, offline_message};
pub use online_key::OnlineKey;
pub use payment_code::{CodeKind, PaymentCode};
pub use problem::{Problem, ProblemType};
pub use proofs::{
    device_session_message, enroll_terminal_message, link_device_message, register_device_message,
};
