//! Signing and hashing contexts: every signed or hashed message of the
//! protocol starts with one of these labels and a 0x00 byte.
//!
//! No label contains 0x00 and no two labels are equal, so the label and its
//! terminator are a prefix no other context can produce: a signature made
//! for one context never verifies as another.

use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Domain {
    /// Offline payment token (signed by the device).
    Offline,
    /// Fingerprint of an online single-use key (hashed by the server).
    OnlineKey,
    /// Stored hash of a device link code (hashed by the server).
    Link,
    /// First device of a customer proving possession of its key.
    RegisterDevice,
    /// Further device proving possession of its key with a link code.
    LinkDevice,
    /// Terminal proving possession of its key with an enrollment code.
    EnrollTerminal,
    /// Registered device proving possession of its key to open an API
    /// session; added after the v1 draft (see docs/protocol.md).
    DeviceSession,
    /// Replay key of an accepted numeric-code time step (hashed by the
    /// server); registered here so that no signed context can take the label.
    NumericStep,
}

impl Domain {
    pub const ALL: [Domain; 8] = [
        Domain::Offline,
        Domain::OnlineKey,
        Domain::Link,
        Domain::RegisterDevice,
        Domain::LinkDevice,
        Domain::EnrollTerminal,
        Domain::DeviceSession,
        Domain::NumericStep,
    ];

    pub const fn label(self) -> &'static str {
        match self {
            Domain::Offline => "tillcode/v1/offline",
            Domain::OnlineKey => "tillcode/v1/online-key",
            Domain::Link => "tillcode/v1/link",
            Domain::RegisterDevice => "tillcode/v1/register-device",
            Domain::LinkDevice => "tillcode/v1/link-device",
            Domain::EnrollTerminal => "tillcode/v1/enroll-terminal",
            Domain::DeviceSession => "tillcode/v1/device-session",
            Domain::NumericStep => "tillcode/v1/numeric",
        }
    }

    /// `label || 0x00 || parts[0] || parts[1] || ...`
    pub fn message(self, parts: &[&[u8]]) -> Vec<u8> {
        let label = self.label().as_bytes();
        let len = label.len() + 1 + parts.iter().map(|p| p.len()).sum::<usize>();
        let mut message = Vec::with_capacity(len);
        message.extend_from_slice(label);
        message.push(0);
        for part in parts {
            message.extend_from_slice(part);
        }
        message
    }

    /// `H(self.message(parts))`, without building the message.
    pub fn hash(self, parts: &[&[u8]]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.label().as_bytes());
        hasher.update([0u8]);
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_label_contains_a_zero_byte_or_equals_another() {
        for (i, a) in Domain::ALL.iter().enumerate() {
            assert!(!a.label().as_bytes().contains(&0), "{a:?}");
            assert!(a.label().is_ascii());
            for b in &Domain::ALL[i + 1..] {
                assert_ne!(a.label(), b.label());
            }
        }
    }

    #[test]
    fn no_message_of_one_domain_is_a_message_of_another() {
        // "link" is a prefix of "link-device": the 0x00 is what tells them apart.
        for a in Domain::ALL {
            for b in Domain::ALL {
                if a == b {
                    continue;
                }
                let prefix = b.message(&[]);
                assert!(!a.message(&[b"-device\0", &[0; 8]]).starts_with(&prefix));
            }
        }
    }

    #[test]
    fn a_message_is_the_label_a_zero_byte_and_the_parts_in_order() {
        let m = Domain::Link.message(&[b"ab", b"", b"c"]);
        assert_eq!(m, b"tillcode/v1/link\0abc");
        let digest: [u8; 32] = Sha256::digest(&m).into();
        assert_eq!(Domain::Link.hash(&[b"ab", b"", b"c"]), digest);
    }
}
