//! Numeric code for manual entry: 18 digits = the device's numeric handle
//! (9), a TOTP (8), a Luhn check digit (1).

use std::fmt;

use rand_core::CryptoRngCore;
use uuid::Uuid;

pub use crate::totp::{TOTP_DIGITS, TOTP_STEP_SECONDS, time_step, totp};
use crate::{CodeError, Domain, luhn, totp::totp_eq};

const HANDLE_DIGITS: usize = 9;
pub const NUMERIC_CODE_DIGITS: usize = HANDLE_DIGITS + TOTP_DIGITS as usize + 1;
const HANDLE_MIN: u32 = 100_000_000;
const HANDLE_COUNT: u32 = 900_000_000;
/// Longest input worth looking at: 18 digits with generous spacing.
const MAX_INPUT_LEN: usize = 64;

/// A device's 9-digit handle for numeric codes, first digit 1-9 so that the
/// code never starts with 0 (which some fields and spreadsheets drop).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NumericHandle(u32);

impl NumericHandle {
    /// `None` unless `value` has exactly 9 digits.
    pub const fn new(value: u32) -> Option<Self> {
        if value >= HANDLE_MIN && value < HANDLE_MIN + HANDLE_COUNT {
            Some(Self(value))
        } else {
            None
        }
    }

    pub const fn get(self) -> u32 {
        self.0
    }

    /// Exactly 9 ASCII digits, the first 1-9.
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        let bytes = text.as_bytes();
        if bytes.len() != HANDLE_DIGITS || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(CodeError::Malformed("a numeric handle is 9 digits"));
        }
        let value = bytes
            .iter()
            .fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
        Self::new(value).ok_or(CodeError::Malformed(
            "a numeric handle does not start with 0",
        ))
    }

    /// Uniform over all 900 million handles: draws below the largest multiple
    /// of 900 million that fits in a u32 are kept, the rest redrawn, so no
    /// handle is likelier than another.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        const LIMIT: u32 = (u32::MAX / HANDLE_COUNT) * HANDLE_COUNT;
        loop {
            let draw = rng.next_u32();
            if draw < LIMIT {
                return Self(HANDLE_MIN + draw % HANDLE_COUNT);
            }
        }
    }
}

impl fmt::Display for NumericHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:09}", self.0)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NumericCode {
    pub handle: NumericHandle,
    /// Below 10^8; shown as 8 digits, zero-padded.
    pub totp: u32,
}

impl NumericCode {
    /// The code the device with `secret` shows at `unix_s`.
    pub fn generate(handle: NumericHandle, secret: &[u8; 32], unix_s: u64) -> Self {
        Self {
            handle,
            totp: totp(secret, time_step(unix_s)),
        }
    }

    /// Drops ASCII spaces, then wants exactly 18 ASCII digits, a handle not
    /// starting with 0, and a correct Luhn digit. Nothing else is dropped or
    /// mapped (no tabs, no non-breaking spaces, no full-width digits): an
    /// input that needs more than that is a typo to show to the cashier.
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        if text.len() > MAX_INPUT_LEN {
            return Err(CodeError::Malformed("too long for a numeric code"));
        }
        let digits: Vec<u8> = text.bytes().filter(|&b| b != b' ').collect();
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(CodeError::Malformed(
                "a numeric code holds only digits and spaces",
            ));
        }
        let [body @ .., check] = digits.as_slice() else {
            return Err(CodeError::Malformed("a numeric code is 18 digits"));
        };
        if digits.len() != NUMERIC_CODE_DIGITS {
            return Err(CodeError::Malformed("a numeric code is 18 digits"));
        }
        if luhn::check_digit(body) != Some(*check) {
            return Err(CodeError::Malformed("the check digit is wrong: a typo?"));
        }
        let (handle, totp) = body.split_at(HANDLE_DIGITS);
        // Both slices are ASCII digits, checked above.
        let handle = NumericHandle::parse(std::str::from_utf8(handle).unwrap_or(""))?;
        let totp = totp.iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
        Ok(Self { handle, totp })
    }

    /// The 18 digits, no spaces.
    pub fn digits(&self) -> String {
        let mut text = format!("{}{:08}", self.handle, self.totp % 10u32.pow(TOTP_DIGITS));
        let check = luhn::check_digit(text.as_bytes()).unwrap_or(b'0');
        text.push(char::from(check));
        text
    }

    /// As shown to people: `1234 5678 9012 3456 78`.
    pub fn display(&self) -> String {
        let digits = self.digits();
        let mut shown = String::with_capacity(digits.len() + 4);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                shown.push(' ');
            }
            shown.push(c);
        }
        shown
    }

    /// The time step among `step(unix_s) - 1 ..= step(unix_s) + 1` whose TOTP
    /// this code carries. All three are computed and compared in constant
    /// time, so timing tells nothing about near misses. The caller must
    /// still refuse a step at or below the newest one accepted for the
    /// device (PROTOCOL.md), which is state this crate does not hold.
    pub fn verify(&self, secret: &[u8; 32], unix_s: u64) -> Result<u64, CodeError> {
        let now = time_step(unix_s);
        let mut matched = None;
        for step in [now.saturating_sub(1), now, now.saturating_add(1)] {
            if totp_eq(totp(secret, step), self.totp) && matched.is_none() {
                matched = Some(step);
            }
        }
        matched.ok_or(CodeError::BadTotp)
    }
}

/// `H("tillcode/v1/numeric" || 0x00 || device_id (16) || step (8, big-endian))`:
/// the replay key of a numeric code, which has no signature to hash. Server
/// side only; the same role as an offline token's fingerprint.
pub fn numeric_fingerprint(device_id: Uuid, step: u64) -> [u8; 32] {
    Domain::NumericStep.hash(&[device_id.as_bytes(), &step.to_be_bytes()])
}

/// `Debug` leaves out the TOTP: it is a credential for up to 90 s.
impl fmt::Debug for NumericCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NumericCode")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 32] = [7; 32];

    fn handle() -> NumericHandle {
        NumericHandle::new(123_456_789).unwrap()
    }

    #[test]
    fn a_code_round_trips_through_its_digits_and_its_display_form() {
        let code = NumericCode::generate(handle(), &SECRET, 1_795_000_000);
        let digits = code.digits();
        assert_eq!(digits.len(), 18);
        assert!(digits.starts_with("123456789"));
        let shown = code.display();
        assert_eq!(shown.len(), 22);
        assert_eq!(shown.replace(' ', ""), digits);
        assert_eq!(&shown[4..5], " ");
        assert_eq!(NumericCode::parse(&digits), Ok(code));
        assert_eq!(NumericCode::parse(&shown), Ok(code));
        assert_eq!(NumericCode::parse(&format!("  {shown}  ")), Ok(code));
    }

    #[test]
    fn other_whitespace_and_non_ascii_digits_are_refused() {
        let shown = NumericCode::generate(handle(), &SECRET, 1_795_000_000).display();
        for bad in [
            shown.replace(' ', "\t"),
            shown.replace(' ', "\u{a0}"),
            shown.replace(' ', "-"),
            shown.replacen('1', "\u{ff11}", 1),
            String::new(),
            "    ".into(),
        ] {
            assert!(
                matches!(NumericCode::parse(&bad), Err(CodeError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_handle_starting_with_zero_is_refused_even_with_a_correct_check_digit() {
        let mut digits = b"02345678993802200".to_vec();
        digits.push(luhn::check_digit(&digits).unwrap());
        let text = String::from_utf8(digits).unwrap();
        assert!(matches!(
            NumericCode::parse(&text),
            Err(CodeError::Malformed(_))
        ));
    }

    #[test]
    fn verification_accepts_one_step_either_side_and_reports_which() {
        let t = 1_795_000_000;
        let code = NumericCode::generate(handle(), &SECRET, t);
        let step = time_step(t);
        assert_eq!(code.verify(&SECRET, t), Ok(step));
        assert_eq!(code.verify(&SECRET, t + 30), Ok(step));
        assert_eq!(code.verify(&SECRET, t - 30), Ok(step));
        assert_eq!(code.verify(&SECRET, t + 60), Err(CodeError::BadTotp));
        assert_eq!(code.verify(&SECRET, t - 60), Err(CodeError::BadTotp));
        assert_eq!(code.verify(&[8; 32], t), Err(CodeError::BadTotp));
    }

    #[test]
    fn verification_at_the_ends_of_time_does_not_overflow() {
        let code = NumericCode::generate(handle(), &SECRET, 0);
        assert_eq!(code.verify(&SECRET, 0), Ok(0));
        let _ = NumericCode::generate(handle(), &SECRET, u64::MAX).verify(&SECRET, u64::MAX);
    }

    #[test]
    fn handles_are_nine_digits_not_starting_with_zero() {
        assert_eq!(NumericHandle::parse("123456789"), Ok(handle()));
        assert_eq!(handle().to_string(), "123456789");
        for bad in [
            "023456789",
            "12345678",
            "1234567890",
            "12345678a",
            "",
            "１23456789",
        ] {
            assert!(NumericHandle::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(NumericHandle::new(99_999_999), None);
        assert_eq!(NumericHandle::new(1_000_000_000), None);
        assert!(NumericHandle::new(999_999_999).is_some());
    }

    #[test]
    fn generated_handles_are_in_range_and_vary() {
        let mut rng = rand_core::OsRng;
        let handles: Vec<_> = (0..64).map(|_| NumericHandle::generate(&mut rng)).collect();
        assert!(
            handles
                .iter()
                .all(|h| NumericHandle::new(h.get()).is_some())
        );
        assert!(handles.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn the_numeric_fingerprint_hashes_label_device_and_step() {
        use sha2::{Digest, Sha256};
        let device = Uuid::from_u128(0x0190_f3c2_6a8e_7b3d_9c41_5e2a_7d1b_8fd0);
        let mut m = b"tillcode/v1/numeric\0".to_vec();
        m.extend_from_slice(device.as_bytes());
        m.extend_from_slice(&59_833_333u64.to_be_bytes());
        let expected: [u8; 32] = Sha256::digest(&m).into();
        assert_eq!(numeric_fingerprint(device, 59_833_333), expected);
        assert_ne!(numeric_fingerprint(device, 59_833_334), expected);
    }

    #[test]
    fn debug_output_leaves_out_the_totp() {
        let code = NumericCode::generate(handle(), &SECRET, 1_795_000_000);
        let shown = format!("{code:?}");
        assert!(!shown.contains(&format!("{:08}", code.totp)), "{shown}");
        assert!(!shown.contains(&code.totp.to_string()), "{shown}");
    }
}
