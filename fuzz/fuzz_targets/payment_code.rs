//! `PaymentCode::parse`: the parser the redemption and accrual endpoints run
//! on the `code` a till sends (a scanned QR payload or typed digits).
//!
//! Never panics; whatever it accepts is what the parser of that kind accepts,
//! and encodes back to the same code; a link code is never a payment code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tillcode_protocol::{LinkCode, NumericCode, OfflineToken, OnlineKey, PaymentCode};

fuzz_target!(|data: &[u8]| {
    // The code arrives in a JSON string, so it is always UTF-8.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match PaymentCode::parse(text) {
        Ok(PaymentCode::Online(key)) => {
            assert_eq!(OnlineKey::parse(text).as_ref(), Ok(&key));
            assert_eq!(key.payload(), text, "one online key, one text form");
        }
        Ok(PaymentCode::Offline(token)) => {
            assert_eq!(OfflineToken::parse(text).as_ref(), Ok(&token));
            assert_eq!(token.payload(), text, "one offline token, one text form");
        }
        Ok(PaymentCode::Numeric(code)) => {
            assert_eq!(NumericCode::parse(text), Ok(code));
            assert_eq!(text.replace(' ', ""), code.digits());
            assert_eq!(
                PaymentCode::parse(&code.display()),
                Ok(PaymentCode::Numeric(code))
            );
        }
        Err(_) => {
            assert!(OnlineKey::parse(text).is_err(), "{text:?}");
            assert!(OfflineToken::parse(text).is_err(), "{text:?}");
        }
    }
    if LinkCode::parse(text).is_ok() {
        assert!(
            PaymentCode::parse(text).is_err(),
            "a link code was taken for payment"
        );
    }
});
