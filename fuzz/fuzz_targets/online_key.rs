//! `OnlineKey::parse` (`TC1K…`): parse → encode → parse gives the same key,
//! and the text form is unique (strict base32, no second spelling).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tillcode_protocol::OnlineKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(key) = OnlineKey::parse(text)
    {
        let payload = key.payload();
        assert_eq!(payload, text);
        assert_eq!(OnlineKey::parse(&payload), Ok(key.clone()));
        assert_eq!(
            OnlineKey::from_bytes(*key.as_bytes()).fingerprint(),
            key.fingerprint()
        );
    }
    // Any 16 bytes make a key that survives its own text form.
    if let Ok(bytes) = <[u8; 16]>::try_from(data) {
        let key = OnlineKey::from_bytes(bytes);
        assert_eq!(OnlineKey::parse(&key.payload()), Ok(key));
    }
});
