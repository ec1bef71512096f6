//! Signed requests: the Tillcode profile of RFC 9421 HTTP Message Signatures
//! (docs/protocol.md, section 11), for both ends. A till or a phone calls
//! [`sign_request`]; the server calls [`parse_signature`], looks the key up
//! by [`SignedRequest::keyid`], then [`verify_signature`], [`check_created`]
//! and its own nonce check.
//!
//! The profile: one signature, label `tc`, Ed25519, covering at least
//! `"@method"`, `"@path"`, `"@query"`, then `"content-digest"` when the
//! request carries that header and `"idempotency-key"` when it carries that
//! one; parameters `created`, `keyid`, `alg="ed25519"`, `nonce` and
//! `tag="tillcode/v1"`, and no other. The signer sends exactly those
//! components and parameters, in that order. The verifier accepts them in
//! any order, and further components (`"@authority"`, any header such as
//! `"date"`) beside the required ones, as other RFC 9421 libraries send
//! them: the signature base lists the components in the order
//! `Signature-Input` gives them.
//!
//! The verifier rebuilds `@signature-params` by serializing the parsed `tc`
//! member of `Signature-Input` again (RFC 9421 sections 2.3 and 3.2), with
//! its components and parameters in the order received. For a header in the
//! canonical form every RFC 9421 signer writes, those are the received bytes;
//! where RFC 9651 allows another spelling (more spaces, a repeated
//! parameter), the signed bytes are still exactly what was interpreted.
//!
//! Headers are read with `sfv` (RFC 9651). Not with `httpsig` 0.0.26: it
//! does no I/O either, but it builds Ed25519 on `ed25519-compact` with
//! randomised signing (so it cannot reproduce the shared vector byte for
//! byte, nor use the `verify_strict` of section 9), brings a second
//! RustCrypto line (sha2 0.11, hmac 0.13, p256, p384, rand 0.10) and a second
//! sfv (0.15) into phone builds, and rebuilds `@signature-params` in its own
//! parameter order (created, expires, nonce, alg, keyid, tag), which differs
//! from the vector's (created, keyid, alg, nonce, tag), so the vector's
//! signature would not verify.
//!
//! Nothing here reads a clock or keeps state: time and nonce reuse are
//! checked by the caller, with [`check_created`] for the first.

mod base;
mod error;
mod fields;
mod key_id;

use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::{SIGNATURE_LENGTH, Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use sfv::{BareItem, InnerList, Parameters};

pub use base::signature_base;
pub use error::HttpSignatureError;
pub use key_id::KeyId;

/// The signature's label in `Signature-Input` and `Signature`.
pub const SIGNATURE_LABEL: &str = "tc";
/// The `tag` parameter: this profile, version 1.
pub const SIGNATURE_TAG: &str = "tillcode/v1";
/// The `alg` parameter.
pub const SIGNATURE_ALG: &str = "ed25519";
/// How far `created` may be from the server's clock, either way, in seconds.
pub const CREATED_WINDOW_S: u64 = 30;
/// How long the server remembers a nonce per key id, in seconds: longer than
/// the whole window `created` may fall in.
pub const NONCE_RETENTION_S: u64 = 120;
/// Bytes of randomness in a nonce from [`new_nonce`].
pub const NONCE_BYTES: usize = 16;
/// Shortest nonce accepted: 16 bytes in base64url without padding.
pub const NONCE_MIN_LEN: usize = 22;
/// Longest nonce accepted, so that the server's nonce store stays bounded.
pub const NONCE_MAX_LEN: usize = 128;

/// What of an HTTP request the signature covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestParts<'a> {
    /// The method as sent (`POST`); not case-folded.
    pub method: &'a str,
    /// The target URI's path, percent-encoding as sent; empty means `/`.
    pub path: &'a str,
    /// The raw query string without `?`; `None` when the target has none.
    pub query: Option<&'a str>,
    /// The `Content-Digest` header value, when the request has one. A server
    /// must also check it against the body ([`crate::content_digest_matches`]).
    pub content_digest: Option<&'a str>,
    /// The `Idempotency-Key` header value, when the request has one.
    pub idempotency_key: Option<&'a str>,
    /// The request's authority (the `Host` header, or HTTP/2's
    /// `:authority`), for a signature that covers `"@authority"`. Never
    /// required; a signer of this crate does not cover it.
    pub authority: Option<&'a str>,
    /// The request's other headers, name and value, one pair per field line,
    /// for a signature that covers headers beyond the required ones
    /// (`"date"`, say). Names match case-insensitively; several lines of one
    /// name are joined with `, `. `Content-Digest` and `Idempotency-Key`
    /// are read from their own fields above, never from here. Empty for a
    /// signer, which covers no other header.
    pub headers: &'a [(&'a str, &'a str)],
}

/// The parameters a client chooses for one signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureParams {
    /// Unix seconds at signing.
    pub created: u64,
    /// A fresh nonce per request, from [`new_nonce`].
    pub nonce: String,
    /// The signer's key id, `terminal:<uuid>` or `device:<uuid>`
    /// ([`KeyId`]'s text form).
    pub keyid: String,
}

/// The two headers a signed request carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// The `Signature-Input` header value.
    pub signature_input: String,
    /// The `Signature` header value.
    pub signature: String,
}

/// A `tc` signature that has the profile's shape for the request it came
/// with, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRequest {
    pub keyid: KeyId,
    pub created: u64,
    pub nonce: String,
    /// The covered components, in the order `Signature-Input` lists them.
    components: Vec<String>,
    /// The `@signature-params` value.
    signature_params: String,
    signature: [u8; SIGNATURE_LENGTH],
}

impl SignedRequest {
    /// The `@signature-params` value the signature base ends with: the
    /// `tc` member of `Signature-Input` without its label.
    pub fn signature_params(&self) -> &str {
        &self.signature_params
    }
}

/// A nonce for [`SignatureParams::nonce`]: 16 random bytes in base64url
/// without padding (22 characters).
pub fn new_nonce(rng: &mut impl CryptoRngCore) -> String {
    let mut bytes = [0u8; NONCE_BYTES];
    rng.fill_bytes(&mut bytes);
    BASE64URL_NOPAD.encode(&bytes)
}

/// Signs a request: the headers `Signature-Input` and `Signature`.
///
/// Refuses (with [`HttpSignatureError::Malformed`]) what a verifier would
/// refuse: a `keyid` that is not a [`KeyId`], a nonce that is not 22 to 128
/// base64url characters, a `created` beyond 15 digits, and parts that
/// cannot go in a signature base (see [`signature_base`]).
pub fn sign_request(
    key: &SigningKey,
    parts: &RequestParts<'_>,
    params: &SignatureParams,
) -> Result<SignatureHeaders, HttpSignatureError> {
    params.keyid.parse::<KeyId>()?;
    check_nonce(&params.nonce)?;
    let inner = InnerList::with_params(
        fields::string_items(&base::required_components(parts))?,
        fields::parameters([
            (fields::CREATED, fields::sf_integer(params.created)?),
            (fields::KEYID, fields::sf_string(&params.keyid)?),
            (fields::ALG, fields::sf_string(SIGNATURE_ALG)?),
            (fields::NONCE, fields::sf_string(&params.nonce)?),
            (fields::TAG, fields::sf_string(SIGNATURE_TAG)?),
        ]),
    );
    let signature_params = fields::serialize_inner_list(&inner)?;
    let base = signature_base(parts, &signature_params)?;
    let signature = key.sign(base.as_bytes()).to_bytes();
    Ok(SignatureHeaders {
        signature_input: format!("{SIGNATURE_LABEL}={signature_params}"),
        signature: fields::serialize_signature(&signature)?,
    })
}

/// Parses `Signature-Input` and `Signature` (the `tc` member of each; other
/// labels are ignored) and checks that the signature has the profile's
/// shape for `parts`: the covered components include, in any order, those
/// the profile requires for them, each at most once, and any further ones
/// are supported components the request has (see [`RequestParts`]),
/// `alg` is `"ed25519"`, `tag` is `"tillcode/v1"`, the
/// nonce is 22 to 128 base64url characters, `keyid` is a [`KeyId`], and the
/// signature is 64 bytes. Pass `""` for an absent header
/// ([`HttpSignatureError::Missing`]).
///
/// Checks neither time ([`check_created`]) nor nonce reuse: both need the
/// server's clock and state.
pub fn parse_signature(
    signature_input: &str,
    signature: &str,
    parts: &RequestParts<'_>,
) -> Result<SignedRequest, HttpSignatureError> {
    let (inner, signature) = fields::tc_members(signature_input, signature)?;
    let signature: [u8; SIGNATURE_LENGTH] = signature
        .as_slice()
        .try_into()
        .map_err(|_| HttpSignatureError::Malformed("an Ed25519 signature is 64 bytes"))?;
    let params = read_params(&inner.params)?;
    let components = covered_components(&inner, parts)?;
    Ok(SignedRequest {
        keyid: params.keyid,
        created: params.created,
        nonce: params.nonce,
        components,
        signature_params: fields::serialize_inner_list(&inner)?,
        signature,
    })
}

/// Verifies a parsed signature over `parts` with the signer's key (one that
/// went through [`crate::parse_public_key`] when registered): builds the
/// signature base from `parts` and the received `@signature-params`, then
/// verifies strictly. The base lists the covered components in the order
/// the signer gave them. `parts` must be the ones given to
/// [`parse_signature`]; a request that no longer has every component the
/// signature covers, or has one the profile requires that it does not
/// cover, is [`HttpSignatureError::WrongComponents`].
pub fn verify_signature(
    signed: &SignedRequest,
    parts: &RequestParts<'_>,
    key: &VerifyingKey,
) -> Result<(), HttpSignatureError> {
    check_required(&signed.components, parts)?;
    let base = base::covered_base(&signed.components, parts, &signed.signature_params)?;
    key.verify_strict(base.as_bytes(), &Signature::from_bytes(&signed.signature))
        .map_err(|_| HttpSignatureError::BadSignature)
}

/// Checks `created` against the server's clock: at most `window_s` seconds
/// either way (inclusive), [`CREATED_WINDOW_S`] for the API. Never overflows.
pub fn check_created(created: u64, now_s: u64, window_s: u64) -> Result<(), HttpSignatureError> {
    if created.saturating_add(window_s) < now_s {
        Err(HttpSignatureError::Expired)
    } else if created > now_s.saturating_add(window_s) {
        Err(HttpSignatureError::NotYetValid)
    } else {
        Ok(())
    }
}

struct ReadParams {
    created: u64,
    keyid: KeyId,
    nonce: String,
}

/// Reads and checks the five parameters; any other is refused.
fn read_params(params: &Parameters) -> Result<ReadParams, HttpSignatureError> {
    let string = |key, missing| -> Result<&str, HttpSignatureError> {
        match params.get(key) {
            Some(BareItem::String(value)) => Ok(value.as_str()),
            Some(_) => Err(HttpSignatureError::Malformed(
                "alg, keyid, nonce and tag are strings",
            )),
            None => Err(HttpSignatureError::Malformed(missing)),
        }
    };
    let known = [
        fields::CREATED,
        fields::KEYID,
        fields::ALG,
        fields::NONCE,
        fields::TAG,
    ];
    if params
        .keys()
        .any(|key| !known.iter().any(|k| *k == key.as_ref()))
    {
        return Err(HttpSignatureError::Malformed("unknown signature parameter"));
    }
    if string(fields::ALG, "alg is missing")? != SIGNATURE_ALG {
        return Err(HttpSignatureError::UnknownAlgorithm);
    }
    if string(fields::TAG, "tag is missing")? != SIGNATURE_TAG {
        return Err(HttpSignatureError::WrongTag);
    }
    let created = match params.get(fields::CREATED) {
        Some(BareItem::Integer(value)) => u64::try_from(*value)
            .map_err(|_| HttpSignatureError::Malformed("created is negative"))?,
        Some(_) => return Err(HttpSignatureError::Malformed("created is not an integer")),
        None => return Err(HttpSignatureError::Malformed("created is missing")),
    };
    let keyid = string(fields::KEYID, "keyid is missing")?.parse()?;
    let nonce = string(fields::NONCE, "nonce is missing")?;
    check_nonce(nonce)?;
    Ok(ReadParams {
        created,
        keyid,
        nonce: nonce.to_owned(),
    })
}

/// The covered components of `inner`, in order, if the profile accepts them
/// for `parts`: plain strings (no component parameters), each supported
/// and given once, every required one among them, and a value in `parts`
/// for each.
fn covered_components(
    inner: &InnerList,
    parts: &RequestParts<'_>,
) -> Result<Vec<String>, HttpSignatureError> {
    let mut covered: Vec<String> = Vec::with_capacity(inner.items.len());
    for item in &inner.items {
        let name = match &item.bare_item {
            BareItem::String(name) if item.params.is_empty() => name.as_str(),
            _ => return Err(HttpSignatureError::WrongComponents),
        };
        if !base::is_supported_component(name) || covered.iter().any(|c| c == name) {
            return Err(HttpSignatureError::WrongComponents);
        }
        if base::component_value(name, parts)?.is_none() {
            return Err(HttpSignatureError::WrongComponents);
        }
        covered.push(name.to_owned());
    }
    check_required(&covered, parts)?;
    Ok(covered)
}

/// Every component the profile requires for `parts` is among `covered`.
fn check_required(covered: &[String], parts: &RequestParts<'_>) -> Result<(), HttpSignatureError> {
    let required = base::required_components(parts);
    if required
        .iter()
        .all(|name| covered.iter().any(|c| c == name))
    {
        Ok(())
    } else {
        Err(HttpSignatureError::WrongComponents)
    }
}

fn check_nonce(nonce: &str) -> Result<(), HttpSignatureError> {
    let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if (NONCE_MIN_LEN..=NONCE_MAX_LEN).contains(&nonce.len()) && nonce.bytes().all(base64url) {
        Ok(())
    } else {
        Err(HttpSignatureError::Malformed(
            "the nonce is not 22 to 128 base64url characters",
        ))
    }
}

#[cfg(test)]
mod tests;
