use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares a UUID newtype per kind of entity, so that a store id can never be
/// passed where an account id is expected.
macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered (v7) id: index-friendly for append-mostly tables.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type! {
    /// A merchant (a retail chain); owns one rewards program and many stores.
    MerchantId,
    /// A merchant's rewards program, which fixes the unit of every amount.
    ProgramId,
    /// One physical shop of a merchant.
    StoreId,
    /// A customer of one merchant.
    CustomerId,
    /// A customer's balance in one program.
    AccountId,
    /// One ledger transfer (accrual, redemption, void, refund, adjustment).
    TransferId,
    /// A till enrolled at a store: the caller of signed terminal requests.
    TerminalId,
    /// A customer's device (a phone's key): what makes offline and numeric codes.
    DeviceId,
    /// A member of a merchant's staff (owner, manager, viewer).
    StaffId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_strings_and_json() {
        let id = AccountId::new();
        assert_eq!(id.to_string().parse::<AccountId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<AccountId>(&json).unwrap(), id);
    }

    #[test]
    fn malformed_ids_are_refused() {
        assert!("not-a-uuid".parse::<StoreId>().is_err());
        assert!(serde_json::from_str::<StoreId>("42").is_err());
    }
}
