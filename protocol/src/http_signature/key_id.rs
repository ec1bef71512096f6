//! The `keyid` of a request signature: whose registered key signed it.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use super::HttpSignatureError;

/// Length of a hyphenated UUID, the only spelling a key id accepts.
const UUID_TEXT_LEN: usize = 36;

/// Who signed a request: a cash-register terminal or a customer's device,
/// by id. The text form is `terminal:<uuid>` or `device:<uuid>`, the UUID
/// lowercase and hyphenated, so that each key has one key id (the server
/// keeps seen nonces per key id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyId {
    Terminal(Uuid),
    Device(Uuid),
}

impl KeyId {
    /// The terminal's or device's id.
    pub const fn uuid(&self) -> Uuid {
        match self {
            KeyId::Terminal(id) | KeyId::Device(id) => *id,
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyId::Terminal(id) => write!(f, "terminal:{}", id.hyphenated()),
            KeyId::Device(id) => write!(f, "device:{}", id.hyphenated()),
        }
    }
}

impl FromStr for KeyId {
    type Err = HttpSignatureError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const BAD: HttpSignatureError =
            HttpSignatureError::Malformed("keyid is not terminal:<uuid> or device:<uuid>");
        let (kind, id): (fn(Uuid) -> KeyId, &str) = if let Some(id) = text.strip_prefix("terminal:")
        {
            (KeyId::Terminal, id)
        } else if let Some(id) = text.strip_prefix("device:") {
            (KeyId::Device, id)
        } else {
            return Err(BAD);
        };
        // `Uuid::parse_str` also takes the simple, braced and URN forms and
        // uppercase: only the one canonical spelling is a key id.
        if id.len() != UUID_TEXT_LEN {
            return Err(BAD);
        }
        let uuid = Uuid::parse_str(id).map_err(|_| BAD)?;
        let mut canonical = [0u8; UUID_TEXT_LEN];
        if uuid.hyphenated().encode_lower(&mut canonical).as_bytes() != id.as_bytes() {
            return Err(BAD);
        }
        Ok(kind(uuid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa";

    #[test]
    fn terminal_and_device_key_ids_round_trip_through_text() {
        let uuid = Uuid::parse_str(ID).unwrap();
        for (text, key_id) in [
            (format!("terminal:{ID}"), KeyId::Terminal(uuid)),
            (format!("device:{ID}"), KeyId::Device(uuid)),
        ] {
            assert_eq!(text.parse::<KeyId>(), Ok(key_id));
            assert_eq!(key_id.to_string(), text);
            assert_eq!(key_id.uuid(), uuid);
        }
    }

    #[test]
    fn any_other_spelling_is_refused() {
        let cases = [
            String::new(),
            ID.into(),
            "terminal:".into(),
            format!("Terminal:{ID}"),
            format!("merchant:{ID}"),
            format!("terminal: {ID}"),
            format!("terminal:{ID} "),
            format!("terminal:{}", ID.to_uppercase()),
            format!("terminal:{}", ID.replace('-', "")),
            format!("terminal:{{{ID}}}"),
            format!("terminal:urn:uuid:{ID}"),
            format!("terminal:{}", &ID[..35]),
            format!("terminal:{}g", &ID[..35]),
            format!("device:terminal:{ID}"),
            "device:é".into(),
        ];
        for text in &cases {
            assert!(
                matches!(text.parse::<KeyId>(), Err(HttpSignatureError::Malformed(_))),
                "{text:?}"
            );
        }
    }
}
