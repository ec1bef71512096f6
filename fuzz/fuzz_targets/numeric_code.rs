//! `NumericCode::parse` (18 typed digits): parse → display → parse and
//! parse → digits → parse give the same code; verification at any clock
//! never panics or overflows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tillcode_protocol::{NumericCode, NumericHandle};

fuzz_target!(|data: &[u8]| {
    // The last 8 bytes, when there are more than 8, choose the verification clock.
    let (text, clock) = match data.len().checked_sub(8) {
        Some(split) if split > 0 => {
            let (text, clock) = data.split_at(split);
            (
                text,
                u64::from_be_bytes(clock.try_into().unwrap_or_default()),
            )
        }
        _ => (data, 1_795_000_000),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(code) = NumericCode::parse(text) else {
        return;
    };
    assert_eq!(text.replace(' ', ""), code.digits());
    assert_eq!(NumericCode::parse(&code.digits()), Ok(code));
    assert_eq!(NumericCode::parse(&code.display()), Ok(code));
    assert_eq!(
        NumericHandle::parse(&code.handle.to_string()),
        Ok(code.handle)
    );
    let _ = code.verify(&[7; 32], clock);
});
