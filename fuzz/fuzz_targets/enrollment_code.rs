//! `EnrollmentCode::parse` (`XXXX-XXXX`, what `POST /v1/terminals/enroll`
//! reads): the normal form is 8 letters of the alphabet, the input without
//! separators, uppercased; display → parse gives the same code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tillcode_protocol::{ENROLLMENT_ALPHABET, EnrollmentCode};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(code) = EnrollmentCode::parse(text) else {
        return;
    };
    let letters = code.as_str();
    assert_eq!(letters.len(), 8);
    assert!(letters.bytes().all(|b| ENROLLMENT_ALPHABET.contains(&b)));
    let typed: String = text
        .chars()
        .filter(|&c| c != '-' && c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    assert_eq!(typed, letters);
    assert_eq!(EnrollmentCode::parse(&code.display()), Ok(code.clone()));
    assert_eq!(EnrollmentCode::parse(letters), Ok(code));
});
