//! Passwords of customers and staff: a policy checked once at the edge, and argon2id
//! hashing. Only the PHC hash string is stored; the password never is, and
//! never reaches a log (`Password`'s Debug is redacted).

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

/// The 10,000 most common passwords of the zxcvbn-ts ranked list
/// (@zxcvbn-ts/language-common 4.1.3, MIT), plus every longer entry of
/// its 49,233, since only those could pass the length rule.
static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common_passwords.txt").lines().collect());

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password needs at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("a password may have at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("this password is among the most common ones; choose another")]
    TooCommon,
}

/// A password that meets the policy. Only new passwords are checked against
/// it; a sign-in takes whatever was typed.
pub struct Password(String);

impl Password {
    pub fn new(candidate: &str) -> Result<Self, PasswordError> {
        let length = candidate.chars().count();
        if length < MIN_LENGTH {
            return Err(PasswordError::TooShort);
        }
        if length > MAX_LENGTH {
            return Err(PasswordError::TooLong);
        }
        if COMMON.contains(candidate) || COMMON.contains(candidate.to_lowercase().as_str()) {
            return Err(PasswordError::TooCommon);
        }
        Ok(Self(candidate.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// OWASP's argon2id setting: 19 MiB, 2 passes, 1 lane (~20 ms here).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// CPU-heavy: call it from `spawn_blocking`.
pub fn hash(password: &Password) -> Result<String, HashError> {
    argon2()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// True when `candidate` matches `stored`. With no stored hash (unknown
/// email), a dummy hash is checked so that the answer takes as long as for a
/// real account and timing does not tell whether the email exists.
pub fn verify(candidate: &str, stored: Option<&str>) -> bool {
    static DUMMY: LazyLock<String> = LazyLock::new(|| {
        Password::new("dummy-password-for-timing")
            .ok()
            .and_then(|p| hash(&p).ok())
            .unwrap_or_default()
    });
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (DUMMY.as_str(), false),
    };
    let matches = argon2().verify_password(candidate.as_bytes(), hash).is_ok();
    matches && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_common_passwords_are_refused() {
        assert_eq!(Password::new("short").err(), Some(PasswordError::TooShort));
        assert_eq!(
            Password::new(&"x".repeat(MAX_LENGTH + 1)).err(),
            Some(PasswordError::TooLong)
        );
        // All in the list; the last two only pass the length rule.
        for common in ["1234567890", "qwertyuiop", "PASSWORD123", "iloveyou123"] {
            assert_eq!(
                Password::new(common).err(),
                Some(PasswordError::TooCommon),
                "{common}"
            );
        }
        assert!(Password::new("correct horse battery staple").is_ok());
    }

    #[test]
    fn the_common_list_holds_at_least_ten_thousand_passwords() {
        assert!(COMMON.len() >= 10_000);
        assert!(COMMON.contains("123456") && COMMON.contains("password"));
    }

    #[test]
    fn a_hash_is_argon2id_and_verifies_only_the_right_password() {
        let password = Password::new("correct horse battery staple").unwrap();
        let stored = hash(&password).unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("correct horse battery staple", Some(&stored)));
        assert!(!verify("correct horse battery stapl", Some(&stored)));
        assert!(!verify("dummy-password-for-timing", None));
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let password = Password::new("correct horse battery staple").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
