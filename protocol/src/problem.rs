//! RFC 9457 problem details: the one error format of the HTTP API.
//!
//! Every cause a client may need to act on has its own [`ProblemType`] with a
//! stable `type` URI. Clients (the SDKs, the till app) branch on the type,
//! never on the human-readable title or detail.

use serde::{Deserialize, Serialize};

/// Prefix of every problem `type` URI. Part of the public contract: never change it.
pub const PROBLEM_TYPE_BASE: &str = "https://tillcode.dev/problems/";

macro_rules! problem_types {
    ($($(#[$doc:meta])* $variant:ident => ($slug:literal, $status:literal, $title:literal)),* $(,)?) => {
        /// Every stable cause of an error response.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ProblemType {
            $($(#[$doc])* $variant),*
        }

        impl ProblemType {
            pub const ALL: &'static [ProblemType] = &[$(ProblemType::$variant),*];

            /// The last path segment of the type URI, e.g. `insufficient-balance`.
            pub const fn slug(self) -> &'static str {
                match self { $(ProblemType::$variant => $slug),* }
            }

            /// The HTTP status this cause is always answered with.
            pub const fn status(self) -> u16 {
                match self { $(ProblemType::$variant => $status),* }
            }

            /// A short, fixed summary of the cause (RFC 9457 `title`).
            pub const fn title(self) -> &'static str {
                match self { $(ProblemType::$variant => $title),* }
            }
        }
    };
}

problem_types! {
    BadRequest => ("validation-failed", 400, "The request is malformed or invalid"),
    InvalidAmount => ("amount-invalid", 422, "The amount is zero, negative or too large"),
    NotFound => ("not-found", 404, "No such resource"),
    MethodNotAllowed => ("method-not-allowed", 405, "Method not allowed on this resource"),
    PayloadTooLarge => ("payload-too-large", 413, "The request body is too large"),
    UnsupportedMediaType => ("unsupported-media-type", 415, "The request body must be JSON"),
    RequestTimeout => ("request-timeout", 408, "The request was not received in time"),
    AccountNotFound => ("account-not-found", 404, "No such account at this merchant"),
    InsufficientBalance => ("insufficient-balance", 422, "The balance is lower than the amount"),
    BalanceLimit => ("balance-limit", 422, "The balance would exceed the largest allowed"),
    TransferNotFound => ("transfer-not-found", 404, "No such redemption at this merchant"),
    NotARedemption => ("not-a-redemption", 422, "Only a redemption can be voided or refunded"),
    AlreadyVoided => ("already-voided", 409, "The redemption has already been voided"),
    RedemptionHasRefunds => ("redemption-has-refunds", 409, "A partly refunded redemption cannot be voided; refund the rest"),
    RefundExceedsRedemption => ("refund-exceeds-redemption", 422, "Refunds would exceed what the redemption took"),
    MissingReason => ("missing-reason", 422, "An adjustment needs a reason and an actor"),
    IdempotencyKeyReused => ("idempotency-key-reused", 422, "The idempotency key was already used for a different request"),
    /// PROTOCOL.md names this cause `request-in-flight`: answer with
    /// [`ProblemType::RequestInFlight`]. Kept so that clients built against
    /// this slug still recognise it.
    IdempotencyInFlight => ("idempotency-in-flight", 409, "A request with this idempotency key is still being processed"),
    RateLimited => ("rate-limited", 429, "Too many requests"),
    VelocityLimit => ("velocity-limit", 429, "Too many or too large redemptions in a short time"),
    ServiceUnavailable => ("unavailable", 503, "A dependency is unavailable; retry later"),
    Internal => ("internal", 500, "Internal error"),

    // Payment codes presented by an authenticated terminal. 422, not 401: the
    // terminal's own request was accepted; what it carries is refused, and
    // the till should ask for a new code rather than re-authenticate.
    MalformedCode => ("malformed-code", 422, "The code is not a well-formed Tillcode payment code"),
    UnknownDevice => ("unknown-device", 422, "The code names no device of this merchant"),
    DeviceRevoked => ("device-revoked", 422, "The device that made the code has been revoked"),
    BadCodeSignature => ("bad-code-signature", 422, "The code's signature or one-time code does not verify"),
    CodeExpired => ("code-expired", 422, "The code is too old"),
    CodeNotYetValid => ("code-not-yet-valid", 422, "The code is dated in the future; check the phone's clock"),
    CodeReplayed => ("code-replayed", 422, "The code has already been used"),
    CodeSuperseded => ("code-superseded", 422, "A newer code from the same device has already been used"),
    WrongMerchant => ("wrong-merchant", 422, "The code was made for another merchant"),
    WeakKey => ("weak-key", 422, "The public key is of small order or outside the prime-order subgroup"),

    // Request authentication (RFC 9421 signatures, sessions).
    IdempotencyKeyMissing => ("idempotency-key-missing", 400, "This request needs an Idempotency-Key header"),
    RequestInFlight => ("request-in-flight", 409, "A request with this idempotency key is still being processed"),
    SignatureMissing => ("signature-missing", 401, "The request is not signed"),
    SignatureInvalid => ("signature-invalid", 401, "The request signature is malformed or does not verify"),
    SignatureExpired => ("signature-expired", 401, "The request signature's creation time is too far from the server's clock"),
    SignatureReplayed => ("signature-replayed", 401, "The request signature's nonce has already been used"),
    DigestMismatch => ("digest-mismatch", 401, "The Content-Digest does not match the body"),
    TerminalNotActive => ("terminal-not-active", 401, "The terminal is pending, suspended or revoked"),
    InvalidCredentials => ("invalid-credentials", 401, "Wrong email or password"),
    Unauthorized => ("unauthorized", 401, "Authentication is required"),
    Forbidden => ("forbidden", 403, "This account may not do that"),
    Locked => ("locked", 423, "Locked after too many failed attempts; retry later"),
}

impl ProblemType {
    /// The full, stable `type` URI.
    pub fn uri(self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.slug())
    }

    /// Parses a `type` URI back into its cause; `None` for a type this
    /// version does not know (a newer server), which clients treat by status.
    pub fn from_uri(uri: &str) -> Option<Self> {
        let slug = uri.strip_prefix(PROBLEM_TYPE_BASE)?;
        Self::ALL.iter().copied().find(|t| t.slug() == slug)
    }
}

/// The body of an `application/problem+json` response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Problem {
    pub fn new(kind: ProblemType, detail: Option<String>) -> Self {
        Self {
            type_uri: kind.uri(),
            title: kind.title().to_owned(),
            status: kind.status(),
            detail,
        }
    }

    pub fn kind(&self) -> Option<ProblemType> {
        ProblemType::from_uri(&self.type_uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_problem_type_has_a_distinct_slug_and_an_error_status() {
        let slugs: HashSet<_> = ProblemType::ALL.iter().map(|t| t.slug()).collect();
        assert_eq!(slugs.len(), ProblemType::ALL.len());
        for t in ProblemType::ALL {
            assert!((400..600).contains(&t.status()), "{t:?}");
            assert!(
                t.slug()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-')
            );
        }
    }

    #[test]
    fn every_slug_protocol_md_names_exists() {
        // The list in PROTOCOL.md's "Problem types" section, verbatim.
        let protocol_md = "malformed-code, unknown-device, device-revoked, bad-code-signature, \
            code-expired, code-not-yet-valid, code-replayed, code-superseded, \
            wrong-merchant, insufficient-balance, amount-invalid, idempotency-key-missing, \
            idempotency-key-reused, request-in-flight, signature-missing, \
            signature-invalid, signature-expired, signature-replayed, digest-mismatch, \
            terminal-not-active, rate-limited, locked, not-found, validation-failed, \
            unavailable";
        for slug in protocol_md.split(',').map(str::trim) {
            let uri = format!("{PROBLEM_TYPE_BASE}{slug}");
            assert!(ProblemType::from_uri(&uri).is_some(), "{slug}");
        }
    }

    #[test]
    fn a_problem_round_trips_through_json_and_its_type_uri() {
        let p = Problem::new(ProblemType::InsufficientBalance, Some("balance 5".into()));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json["type"],
            "https://tillcode.dev/problems/insufficient-balance"
        );
        assert_eq!(json["status"], 422);
        let back: Problem = serde_json::from_value(json).unwrap();
        assert_eq!(back.kind(), Some(ProblemType::InsufficientBalance));
        assert_eq!(ProblemType::from_uri("https://example.com/x"), None);
    }
}
