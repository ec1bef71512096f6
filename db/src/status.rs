//! The statuses stored as text (`devices.status`, `terminals.status`), as
//! Rust enums: converted to and from the database, JSON and the OpenAPI
//! document here, and nowhere else.

use std::io::Write;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;

/// An enum stored as one of a closed set of lowercase words.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, AsExpression, FromSqlRow,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        #[diesel(sql_type = Text)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.as_str().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = std::str::from_utf8(bytes.as_bytes())?;
                Self::parse(text).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($name), " {:?}"), text).into()
                })
            }
        }
    };
}

text_enum! {
    /// A customer's device: `pending` until approved from another device
    /// (a link), `active` (its codes pay), `revoked` (for good).
    DeviceStatus {
        Pending = "pending",
        Active = "active",
        Revoked = "revoked",
    }
}

text_enum! {
    /// A till: `pending` until a manager approves its enrollment, `active`,
    /// `suspended` (by a manager, or automatically after too many refused
    /// codes; approving resumes it), `revoked` (for good).
    TerminalStatus {
        Pending = "pending",
        Active = "active",
        Suspended = "suspended",
        Revoked = "revoked",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_as_itself_and_nothing_else_reads_as_one() {
        for status in DeviceStatus::ALL {
            assert_eq!(DeviceStatus::parse(status.as_str()), Some(*status));
        }
        for status in TerminalStatus::ALL {
            assert_eq!(TerminalStatus::parse(status.as_str()), Some(*status));
        }
        assert_eq!(DeviceStatus::parse("suspended"), None);
        assert_eq!(TerminalStatus::parse("Active"), None);
    }
}
