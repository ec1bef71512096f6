//! Why a signed request was refused.

use crate::ProblemType;

/// A refusal of a request signature. Every variant maps to one stable
/// [`ProblemType`]; the string of [`HttpSignatureError::Malformed`] says which
/// rule failed, for logs, never for branching.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpSignatureError {
    /// No `tc` signature: a `Signature-Input` or `Signature` header is absent,
    /// or one of them has no `tc` member (signatures under other labels are
    /// ignored, so a request signed only under `sig1` is unsigned here).
    #[error("the request has no tc signature")]
    Missing,
    /// The headers are not what the profile allows: not structured fields,
    /// a member of the wrong type, a parameter missing, unknown or of the
    /// wrong type, a bad `keyid` or `nonce`, a signature that is not 64 bytes,
    /// or request parts that cannot be put in a signature base.
    #[error("malformed request signature: {0}")]
    Malformed(&'static str),
    /// The covered components are not acceptable for this request: one the
    /// profile requires is missing, one is given twice, has component
    /// parameters or is not supported, or the request lacks the header (or
    /// authority) a covered component names.
    #[error("the signature does not cover the components this request needs")]
    WrongComponents,
    /// `alg` is not `"ed25519"`.
    #[error("the signature algorithm is not ed25519")]
    UnknownAlgorithm,
    /// `tag` is not `"tillcode/v1"`.
    #[error("the signature tag is not tillcode/v1")]
    WrongTag,
    /// The signature does not verify (strict Ed25519) over the request.
    #[error("the request signature does not verify")]
    BadSignature,
    /// `created` is older than the window allows.
    #[error("the request signature is too old")]
    Expired,
    /// `created` is further in the future than the window allows.
    #[error("the request signature is dated in the future")]
    NotYetValid,
    /// The `keyid` names no key the server knows. Never returned by this
    /// crate, which has no key store: for the server to answer with.
    #[error("the signature's key id is unknown")]
    UnknownKeyId,
    /// The nonce was seen before for this key id. Never returned by this
    /// crate, which keeps no state: for the server to answer with.
    #[error("the signature's nonce has already been used")]
    Replayed,
}

impl HttpSignatureError {
    /// The problem type the API answers with when this refusal ends a request.
    ///
    /// An unknown key id is `signature-invalid`, like a signature that does
    /// not verify, so that a caller cannot probe which key ids exist.
    pub fn problem_type(&self) -> ProblemType {
        match self {
            HttpSignatureError::Missing => ProblemType::SignatureMissing,
            HttpSignatureError::Malformed(_)
            | HttpSignatureError::WrongComponents
            | HttpSignatureError::UnknownAlgorithm
            | HttpSignatureError::WrongTag
            | HttpSignatureError::BadSignature
            | HttpSignatureError::UnknownKeyId => ProblemType::SignatureInvalid,
            HttpSignatureError::Expired | HttpSignatureError::NotYetValid => {
                ProblemType::SignatureExpired
            }
            HttpSignatureError::Replayed => ProblemType::SignatureReplayed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_maps_to_its_protocol_slug() {
        let cases = [
            (HttpSignatureError::Missing, "signature-missing"),
            (HttpSignatureError::Malformed("x"), "signature-invalid"),
            (HttpSignatureError::WrongComponents, "signature-invalid"),
            (HttpSignatureError::UnknownAlgorithm, "signature-invalid"),
            (HttpSignatureError::WrongTag, "signature-invalid"),
            (HttpSignatureError::BadSignature, "signature-invalid"),
            (HttpSignatureError::UnknownKeyId, "signature-invalid"),
            (HttpSignatureError::Expired, "signature-expired"),
            (HttpSignatureError::NotYetValid, "signature-expired"),
            (HttpSignatureError::Replayed, "signature-replayed"),
        ];
        for (err, slug) in cases {
            assert_eq!(err.problem_type().slug(), slug, "{err}");
            assert_eq!(err.problem_type().status(), 401, "{err}");
        }
    }
}
