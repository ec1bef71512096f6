//! Terminal enrollment code: 8 letters a manager reads off the dashboard and
//! types on a till, shown as `XXXX-XXXX`.
//!
//! The alphabet has no vowels (no words), no Y, and none of I, O, U, which
//! read as digits: 20 letters, 20^8 ≈ 2^34.6 codes.

use std::fmt;

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::CodeError;

pub const ENROLLMENT_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const ENROLLMENT_CODE_LEN: usize = 8;
/// Room for separators a person may type; longer input is refused unread.
const MAX_INPUT_LEN: usize = 64;

/// Always 8 letters of [`ENROLLMENT_ALPHABET`], uppercase, no separator.
/// `Debug` hides the letters: the code lets a till join a store.
#[derive(Clone)]
pub struct EnrollmentCode(String);

impl EnrollmentCode {
    /// Uppercases ASCII letters and drops `-` and ASCII spaces, then wants
    /// exactly 8 letters of the alphabet.
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        if text.len() > MAX_INPUT_LEN {
            return Err(CodeError::Malformed("too long for an enrollment code"));
        }
        let letters: String = text
            .chars()
            .filter(|&c| c != '-' && c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if letters.len() != ENROLLMENT_CODE_LEN {
            return Err(CodeError::Malformed("an enrollment code is 8 letters"));
        }
        if !letters.bytes().all(|b| ENROLLMENT_ALPHABET.contains(&b)) {
            return Err(CodeError::Malformed(
                "a letter outside BCDFGHJKLMNPQRSTVWXZ",
            ));
        }
        Ok(Self(letters))
    }

    /// Uniform over the 20^8 codes: a random byte's low 5 bits (0-31) are
    /// kept when below 20 and redrawn otherwise; taking them modulo 20
    /// would make the first 12 letters likelier than the last 8.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut letters = String::with_capacity(ENROLLMENT_CODE_LEN);
        let mut pool = [0u8; 16];
        while letters.len() < ENROLLMENT_CODE_LEN {
            rng.fill_bytes(&mut pool);
            for &b in &pool {
                let i = usize::from(b & 0x1f);
                if let (Some(&letter), true) = (
                    ENROLLMENT_ALPHABET.get(i),
                    letters.len() < ENROLLMENT_CODE_LEN,
                ) {
                    letters.push(char::from(letter));
                }
            }
        }
        Self(letters)
    }

    /// The 8 letters, no dash: what is hashed and signed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As shown to people: `BCDF-GHJK`.
    pub fn display(&self) -> String {
        let (a, b) = self.0.split_at(ENROLLMENT_CODE_LEN / 2);
        format!("{a}-{b}")
    }

    /// `H(8 ASCII letters)`, as the enroll-terminal proof signs it.
    pub fn proof_hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

impl PartialEq for EnrollmentCode {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for EnrollmentCode {}

impl fmt::Debug for EnrollmentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnrollmentCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_case_are_normalised_away() {
        for input in ["BCDF-GHJK", "bcdfghjk", "BCDF GHJK", " b-c-d-f g-h-j-k "] {
            let code = EnrollmentCode::parse(input).unwrap();
            assert_eq!(code.as_str(), "BCDFGHJK", "{input}");
            assert_eq!(code.display(), "BCDF-GHJK");
        }
    }

    #[test]
    fn letters_outside_the_alphabet_and_wrong_lengths_are_refused() {
        for input in [
            "BCDA-GHJK",
            "BCDF-GHJY",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "BCDF_GHJK",
            "BCDF\tGHJK",
            "BCDF–GHJK",
            "BCDF-GHJ1",
            "ßCDF-GHJK",
            "",
            "--------",
        ] {
            assert!(EnrollmentCode::parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn a_non_ascii_letter_whose_uppercase_is_ascii_is_refused() {
        // 'ſ' (long s) uppercases to 'S' under Unicode rules; ASCII-only
        // uppercasing leaves it alone, so it is refused.
        assert!(EnrollmentCode::parse("ſCDF-GHJK").is_err());
    }

    #[test]
    fn generated_codes_are_valid_and_use_every_letter() {
        let mut rng = rand_core::OsRng;
        let mut seen = [false; 20];
        for _ in 0..200 {
            let code = EnrollmentCode::generate(&mut rng);
            assert_eq!(EnrollmentCode::parse(&code.display()), Ok(code.clone()));
            for b in code.as_str().bytes() {
                if let Some(i) = ENROLLMENT_ALPHABET.iter().position(|&l| l == b) {
                    seen[i] = true;
                }
            }
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
    }

    #[test]
    fn debug_output_never_contains_the_code() {
        let code = EnrollmentCode::parse("BCDF-GHJK").unwrap();
        assert_eq!(format!("{code:?}"), "EnrollmentCode(<redacted>)");
    }
}
