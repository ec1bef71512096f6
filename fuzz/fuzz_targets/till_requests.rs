//! The JSON bodies of the redemption endpoints, deserialized into the very
//! types the server uses (`tillcode_protocol::till_requests`): redeem,
//! accrue, void and refund.
//!
//! Properties: nothing panics (deep nesting, huge numbers, odd escapes);
//! what parses writes back to JSON that parses to the same request; the
//! amounts go through `Amount` and the codes through `PaymentCode::parse`
//! as the handlers do next.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use tillcode_protocol::till_requests::{AccrueRequest, RedeemRequest, RefundRequest, VoidRequest};
use tillcode_protocol::{Amount, PaymentCode};

/// Parses `data` as `T`; when it parses, checks that it survives its own
/// serialization.
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let request: T = serde_json::from_slice(data).ok()?;
    let written = serde_json::to_vec(&request).unwrap_or_else(|e| panic!("{request:?}: {e}"));
    let again: T = serde_json::from_slice(&written)
        .unwrap_or_else(|e| panic!("{request:?} wrote {written:?}, which does not parse: {e}"));
    assert_eq!(again, request);
    Some(request)
}

fn amount(raw: i128) {
    match Amount::try_from(raw) {
        Ok(amount) => assert!(amount.get() > 0 && amount.get() <= Amount::MAX),
        Err(_) => assert!(raw <= 0 || raw > i128::from(Amount::MAX)),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(redeem) = round_trip::<RedeemRequest>(data) {
        amount(redeem.amount);
        redeem.earn.map(amount);
        let _ = PaymentCode::parse(&redeem.code);
    }
    if let Some(accrue) = round_trip::<AccrueRequest>(data) {
        amount(accrue.amount);
        if let Some(code) = &accrue.code {
            let _ = PaymentCode::parse(code);
        }
    }
    if let Some(refund) = round_trip::<RefundRequest>(data) {
        amount(refund.amount);
    }
    round_trip::<VoidRequest>(data);
});
