//! The Luhn (mod 10) check digit, as on payment cards.

/// The digit that, appended to `digits` (ASCII '0'-'9'), makes the Luhn sum
/// a multiple of 10: from the right, the last digit of `digits` is doubled,
/// the one before it not, and so on; a doubled digit above 9 counts as its
/// value minus 9. `None` if `digits` holds anything but ASCII digits.
pub(crate) fn check_digit(digits: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (i, &c) in digits.iter().rev().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        let mut d = u32::from(c - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    // sum % 10 is below 10, so the cast cannot truncate.
    Some(b'0' + ((10 - sum % 10) % 10) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_luhn_numbers_get_their_check_digit() {
        // Classic examples: 7992739871 -> 3; a Visa test number 4111..1111.
        assert_eq!(check_digit(b"7992739871"), Some(b'3'));
        assert_eq!(check_digit(b"411111111111111"), Some(b'1'));
        assert_eq!(check_digit(b""), Some(b'0'));
        assert_eq!(check_digit(b"12a"), None);
    }

    #[test]
    fn every_single_digit_substitution_changes_the_check_digit() {
        let base = *b"12345678993802200";
        let good = check_digit(&base);
        for i in 0..base.len() {
            for d in b'0'..=b'9' {
                if d == base[i] {
                    continue;
                }
                let mut typo = base;
                typo[i] = d;
                assert_ne!(check_digit(&typo), good, "position {i} digit {}", d as char);
            }
        }
    }
}
