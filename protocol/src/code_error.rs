//! Why a code, key or signature was refused.

use crate::ProblemType;

/// A refusal by a decoder or verifier of this crate. Every variant maps to one
/// stable [`ProblemType`], so the API never has to invent a cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// The text or bytes are not a well-formed code of the expected kind; the
    /// string says which rule failed (for logs, never for branching).
    #[error("malformed code: {0}")]
    Malformed(&'static str),
    /// An Ed25519 signature is not 64 bytes or does not verify strictly.
    #[error("the signature does not verify")]
    BadSignature,
    /// A numeric code's TOTP digits match none of the accepted time steps.
    #[error("the one-time code does not match")]
    BadTotp,
    /// A public key that is not 32 bytes, not a point, or not canonically encoded.
    #[error("malformed public key: {0}")]
    MalformedKey(&'static str),
    /// A public key of small order or with a small-order component: no
    /// honestly generated key is one, and signatures under it prove nothing.
    #[error("the public key is weak")]
    WeakKey,
    /// Issued before the freshness window.
    #[error("the code has expired")]
    Expired,
    /// Issued after the freshness window (the phone's clock runs ahead).
    #[error("the code is not yet valid")]
    NotYetValid,
}

impl CodeError {
    /// The problem type the API answers with when this refusal ends a request.
    ///
    /// A bad TOTP maps to `bad-code-signature`: for a numeric code the TOTP
    /// digits play the part of the signature. A malformed key is a malformed
    /// request (`validation-failed`), while a weak key has its own type so
    /// that an SDK can tell a bug in its key generation from a typo.
    pub fn problem_type(&self) -> ProblemType {
        match self {
            CodeError::Malformed(_) => ProblemType::MalformedCode,
            CodeError::BadSignature | CodeError::BadTotp => ProblemType::BadCodeSignature,
            CodeError::MalformedKey(_) => ProblemType::BadRequest,
            CodeError::WeakKey => ProblemType::WeakKey,
            CodeError::Expired => ProblemType::CodeExpired,
            CodeError::NotYetValid => ProblemType::CodeNotYetValid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_maps_to_its_protocol_slug() {
        let cases = [
            (CodeError::Malformed("x"), "malformed-code", 422),
            (CodeError::BadSignature, "bad-code-signature", 422),
            (CodeError::BadTotp, "bad-code-signature", 422),
            (CodeError::MalformedKey("x"), "validation-failed", 400),
            (CodeError::WeakKey, "weak-key", 422),
            (CodeError::Expired, "code-expired", 422),
            (CodeError::NotYetValid, "code-not-yet-valid", 422),
        ];
        for (err, slug, status) in cases {
            assert_eq!(err.problem_type().slug(), slug, "{err}");
            assert_eq!(err.problem_type().status(), status, "{err}");
        }
    }
}
