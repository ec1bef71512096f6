//! `LinkCode::parse` (`TC1L…`, what `POST /v1/links/join` reads): parse →
//! encode → parse round-trips, one text form per code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tillcode_protocol::LinkCode;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(code) = LinkCode::parse(text)
    {
        let payload = code.payload();
        assert_eq!(payload, text);
        assert_eq!(LinkCode::parse(&payload), Ok(code.clone()));
        assert_ne!(code.stored_hash(), code.proof_hash());
    }
});
