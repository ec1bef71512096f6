//! Whatever a till scanned or a cashier typed: one of the three kinds of
//! payment code.

use crate::payload::{self, KIND_LINK, KIND_OFFLINE, KIND_ONLINE, MAX_LEN};
use crate::{CodeError, NumericCode, OfflineToken, OnlineKey};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentCode {
    Online(OnlineKey),
    Offline(OfflineToken),
    Numeric(NumericCode),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodeKind {
    Online,
    Offline,
    Numeric,
}

impl CodeKind {
    /// Stable names for logs, metrics labels and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            CodeKind::Online => "online",
            CodeKind::Offline => "offline",
            CodeKind::Numeric => "numeric",
        }
    }

    /// The kind [`CodeKind::as_str`] names, as stored and logged.
    pub fn from_name(name: &str) -> Option<CodeKind> {
        [CodeKind::Online, CodeKind::Offline, CodeKind::Numeric]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl PaymentCode {
    /// Digits and ASCII spaces only: a numeric code. Otherwise a `TC1K` or
    /// `TC1F` payload. Anything else, including a link code (`TC1L`), is
    /// malformed: it was never meant for a till.
    pub fn parse(input: &str) -> Result<PaymentCode, CodeError> {
        if input.len() > MAX_LEN {
            return Err(CodeError::Malformed("too long for any payment code"));
        }
        let looks_numeric =
            !input.is_empty() && input.bytes().all(|b| b.is_ascii_digit() || b == b' ');
        if looks_numeric {
            return NumericCode::parse(input).map(PaymentCode::Numeric);
        }
        match payload::kind(input)? {
            KIND_ONLINE => OnlineKey::parse(input).map(PaymentCode::Online),
            KIND_OFFLINE => OfflineToken::parse(input).map(PaymentCode::Offline),
            KIND_LINK => Err(CodeError::Malformed("a link code is not a payment code")),
            _ => Err(CodeError::Malformed("unknown kind of code")),
        }
    }

    pub fn kind(&self) -> CodeKind {
        match self {
            PaymentCode::Online(_) => CodeKind::Online,
            PaymentCode::Offline(_) => CodeKind::Offline,
            PaymentCode::Numeric(_) => CodeKind::Numeric,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeviceHandle, LinkCode, MerchantId, NumericHandle};
    use ed25519_dalek::SigningKey;

    #[test]
    fn each_kind_of_payload_parses_to_its_kind() {
        let online = OnlineKey::from_bytes([1; 16]);
        let key = SigningKey::from_bytes(&[2; 32]);
        let offline = OfflineToken::sign(&key, MerchantId::new(), DeviceHandle([3; 8]), 4, [5; 4]);
        let handle = NumericHandle::new(987_654_321).unwrap();
        let numeric = NumericCode::generate(handle, &[6; 32], 1_795_000_000);

        let cases = [
            (online.payload(), PaymentCode::Online(online), "online"),
            (offline.payload(), PaymentCode::Offline(offline), "offline"),
            (numeric.display(), PaymentCode::Numeric(numeric), "numeric"),
        ];
        for (text, expected, kind) in cases {
            let parsed = PaymentCode::parse(&text).unwrap();
            assert_eq!(parsed.kind().as_str(), kind);
            assert_eq!(parsed, expected);
        }
    }

    #[test]
    fn a_link_code_or_an_unknown_kind_is_not_a_payment_code() {
        let link = LinkCode::from_bytes([1; 16]).payload();
        assert_eq!(
            PaymentCode::parse(&link),
            Err(CodeError::Malformed("a link code is not a payment code"))
        );
        let unknown = link.replacen("TC1L", "TC1Z", 1);
        assert_eq!(
            PaymentCode::parse(&unknown),
            Err(CodeError::Malformed("unknown kind of code"))
        );
    }

    #[test]
    fn huge_input_is_refused_before_it_is_read() {
        let huge = "1".repeat(1 << 20);
        assert!(matches!(
            PaymentCode::parse(&huge),
            Err(CodeError::Malformed(_))
        ));
    }
}
