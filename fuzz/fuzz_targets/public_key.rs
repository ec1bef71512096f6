//! `parse_public_key` (the hex key of terminal enrollment, device
//! registration and linking) and its base32 form: an accepted key is the
//! canonical encoding of a point of the prime-order subgroup, so it encodes
//! back to the very bytes (and text) it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tillcode_protocol::{base32, key_fingerprint, parse_public_key, parse_public_key_base32};

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = parse_public_key(data) {
        assert_eq!(key.as_bytes().as_slice(), data);
        assert!(!key.is_weak());
        let text = base32::encode(key.as_bytes());
        assert_eq!(parse_public_key_base32(&text), Ok(key));
        assert_eq!(key_fingerprint(&key).len(), 32);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(key) = parse_public_key_base32(text)
    {
        assert_eq!(base32::encode(key.as_bytes()), text);
        assert_eq!(parse_public_key(key.as_bytes()), Ok(key));
    }
});
