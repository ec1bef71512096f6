//! Amounts as the till screen shows them.
//!
//! Amounts are integers in the program's unit (ARCHITECTURE.md, "Money and
//! the ledger"), so formatting is digit placement, never float arithmetic:
//! `minor_units` digits go after the decimal point, the rest are grouped by
//! thousands. One fixed style (`,` between groups, `.` before the minor
//! units) for now; a locale-aware till would replace the two separators only.

use tillcode_protocol::Amount;

/// `1234, "pts", 0` gives `1,234 pts`; `123456, "EUR", 2` gives `1,234.56 EUR`.
/// An empty `unit` gives the number alone.
pub fn format_amount(amount: Amount, unit: &str, minor_units: u8) -> String {
    // Amount is always positive, so this is digits only, with no sign.
    let digits = amount.get().to_string();
    let minor = usize::from(minor_units);
    let padded = if digits.len() <= minor {
        // Keep one whole digit: 5 cents is 0.05, not .05.
        format!("{}{digits}", "0".repeat(minor + 1 - digits.len()))
    } else {
        digits
    };
    let (whole, fraction) = padded.split_at(padded.len() - minor);

    let mut out = group_thousands(whole);
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    if !unit.is_empty() {
        out.push(' ');
        out.push_str(unit);
    }
    out
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(value: i64) -> Amount {
        Amount::new(value).unwrap()
    }

    #[test]
    fn points_are_whole_numbers_grouped_by_thousands() {
        let cases = [
            (1, "1 pts"),
            (999, "999 pts"),
            (1_000, "1,000 pts"),
            (1_234, "1,234 pts"),
            (12_345, "12,345 pts"),
            (123_456, "123,456 pts"),
            (1_234_567, "1,234,567 pts"),
            (Amount::MAX, "1,000,000,000,000,000 pts"),
        ];
        for (value, shown) in cases {
            assert_eq!(format_amount(amount(value), "pts", 0), shown);
        }
    }

    #[test]
    fn currency_amounts_put_minor_units_after_the_point() {
        let cases = [
            (1_234, "EUR", 2, "12.34 EUR"),
            (5, "EUR", 2, "0.05 EUR"),
            (50, "EUR", 2, "0.50 EUR"),
            (100, "EUR", 2, "1.00 EUR"),
            (123_456_789, "EUR", 2, "1,234,567.89 EUR"),
            (1_500, "JPY", 0, "1,500 JPY"),
            (1, "KWD", 3, "0.001 KWD"),
            (1_234_567, "KWD", 3, "1,234.567 KWD"),
            (Amount::MAX, "USD", 2, "10,000,000,000,000.00 USD"),
        ];
        for (value, unit, minor, shown) in cases {
            assert_eq!(format_amount(amount(value), unit, minor), shown);
        }
    }

    #[test]
    fn more_minor_units_than_digits_pads_with_zeros() {
        assert_eq!(format_amount(amount(42), "X", 6), "0.000042 X");
        assert_eq!(format_amount(amount(1), "", 20), "0.00000000000000000001");
    }

    #[test]
    fn an_empty_unit_shows_the_number_alone() {
        assert_eq!(format_amount(amount(1_234), "", 0), "1,234");
        assert_eq!(format_amount(amount(1_234), "", 2), "12.34");
    }

    proptest::proptest! {
        #[test]
        fn the_shown_digits_are_the_amount_and_groups_have_three(
            value in 1..=Amount::MAX,
            minor in 0u8..=6,
        ) {
            let shown = format_amount(amount(value), "pts", minor);
            let number = shown.strip_suffix(" pts").unwrap();
            let digits: String = number.chars().filter(char::is_ascii_digit).collect();
            proptest::prop_assert_eq!(digits.parse::<i64>().unwrap(), value);

            let whole = number.split('.').next().unwrap();
            let groups: Vec<_> = whole.split(',').collect();
            proptest::prop_assert!((1..=3).contains(&groups[0].len()));
            proptest::prop_assert!(groups[1..].iter().all(|g| g.len() == 3));
            let fraction_len = number.split_once('.').map_or(0, |(_, f)| f.len());
            proptest::prop_assert_eq!(fraction_len, usize::from(minor));
        }
    }
}
