use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A strictly positive quantity of a program's unit: points, or minor units
/// of a currency (cents). Never a float.
///
/// The upper bound keeps every sum the ledger forms (a balance plus an
/// accrual, a redemption plus its refunds) far inside `i64`, so overflow is a
/// validation error at the edge instead of a database error in the middle of
/// a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Amount(i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount must be greater than zero")]
    NotPositive,
    #[error("amount must not exceed {}", Amount::MAX)]
    TooLarge,
}

impl Amount {
    /// 10^15 units: ten trillion dollars in cents. Also the most a single
    /// account may hold (see `accounts_balance_range` in the migrations).
    pub const MAX: i64 = 1_000_000_000_000_000;

    pub fn new(value: i64) -> Result<Self, AmountError> {
        Self::try_from(i128::from(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i128> for Amount {
    type Error = AmountError;

    /// Accepts any integer width so that callers parsing untrusted numbers
    /// (JSON, CLI arguments) get `TooLarge` rather than a silent wrap.
    fn try_from(value: i128) -> Result<Self, AmountError> {
        if value <= 0 {
            Err(AmountError::NotPositive)
        } else if value > i128::from(Self::MAX) {
            Err(AmountError::TooLarge)
        } else {
            // In range by the checks above.
            Ok(Self(value as i64))
        }
    }
}

impl TryFrom<i64> for Amount {
    type Error = AmountError;
    fn try_from(value: i64) -> Result<Self, AmountError> {
        Self::new(value)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // i128 so that 2^63 and beyond report "too large", not "invalid type".
        let raw = i128::deserialize(deserializer)?;
        Amount::try_from(raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_negative_amounts_are_refused() {
        assert_eq!(Amount::new(0), Err(AmountError::NotPositive));
        assert_eq!(Amount::new(-5), Err(AmountError::NotPositive));
        assert_eq!(Amount::new(i64::MIN), Err(AmountError::NotPositive));
    }

    #[test]
    fn amounts_above_the_maximum_are_refused() {
        assert_eq!(Amount::new(Amount::MAX).map(Amount::get), Ok(Amount::MAX));
        assert_eq!(Amount::new(Amount::MAX + 1), Err(AmountError::TooLarge));
        assert_eq!(Amount::new(i64::MAX), Err(AmountError::TooLarge));
    }

    #[test]
    fn json_numbers_beyond_i64_are_refused_as_too_large() {
        let err = serde_json::from_str::<Amount>("9223372036854775808").unwrap_err();
        assert!(err.to_string().contains("must not exceed"), "{err}");
        let err = serde_json::from_str::<Amount>("-1").unwrap_err();
        assert!(err.to_string().contains("greater than zero"), "{err}");
        assert!(serde_json::from_str::<Amount>("1.5").is_err());
        assert!(serde_json::from_str::<Amount>("\"10\"").is_err());
        assert_eq!(serde_json::from_str::<Amount>("10").unwrap().get(), 10);
    }

    proptest::proptest! {
        #[test]
        fn every_accepted_amount_is_in_range(v in proptest::num::i64::ANY) {
            match Amount::new(v) {
                Ok(a) => proptest::prop_assert!(a.get() > 0 && a.get() <= Amount::MAX),
                Err(_) => proptest::prop_assert!(v <= 0 || v > Amount::MAX),
            }
        }
    }
}
