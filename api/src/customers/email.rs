use std::fmt;

/// An email address as customers sign in with it: trimmed, lower-cased,
/// one `@` with text on both sides, at most 254 characters. Deliverability
/// is not checked (there is no mail step yet).
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid email address")]
pub struct EmailError;

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let email = input.trim().to_lowercase();
        let valid = (3..=254).contains(&email.len())
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(email.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if valid {
            Ok(Self(email))
        } else {
            Err(EmailError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Emails are personal data: logs get a hint, never the address.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = self.0.split_once('@').map_or("", |(_, d)| d);
        write!(f, "Email(***@{domain})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ana@Example.COM ").unwrap().as_str(),
            "ana@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }
}
