//! JSON forms shared by `device.json` and the HTTP API: binary fields are
//! lowercase hex, handles are their protocol types.

use std::fmt;

use data_encoding::HEXLOWER;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use tillcode_protocol::{DeviceHandle, NumericHandle};

/// The 32-byte RFC 6238 secret behind a device's numeric codes. Whoever holds
/// it can make this device's numeric codes, so `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; 32]);

impl TotpSecret {
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub const fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl Drop for TotpSecret {
    fn drop(&mut self) {
        // Best effort, as for the device key: black_box keeps the writes.
        self.0.fill(0);
        std::hint::black_box(&mut self.0);
    }
}

impl Serialize for TotpSecret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&HEXLOWER.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for TotpSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        hex_array::deserialize(deserializer).map(Self)
    }
}

/// `[u8; N]` as exactly `2N` lowercase hex digits.
pub mod hex_array {
    use super::*;

    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&HEXLOWER.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(deserializer)?;
        decode(&text).ok_or_else(|| {
            de::Error::invalid_value(
                de::Unexpected::Str(&redact(&text)),
                &format!("{N} bytes as {} lowercase hex digits", 2 * N).as_str(),
            )
        })
    }

    pub fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
        HEXLOWER.decode(text.as_bytes()).ok()?.try_into().ok()
    }

    /// Error messages name the field but never echo a secret's digits.
    fn redact(text: &str) -> String {
        format!("<{} characters>", text.len())
    }
}

/// [`DeviceHandle`] as its 16 lowercase hex digits.
pub mod device_handle {
    use super::*;

    pub fn serialize<S: Serializer>(
        handle: &DeviceHandle,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(handle)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DeviceHandle, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// [`NumericHandle`] as the JSON number the API sends (9 digits).
pub mod numeric_handle {
    use super::*;

    pub fn serialize<S: Serializer>(
        handle: &NumericHandle,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(handle.get())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<NumericHandle, D::Error> {
        let value = u32::deserialize(deserializer)?;
        NumericHandle::new(value).ok_or_else(|| {
            de::Error::invalid_value(de::Unexpected::Unsigned(value.into()), &"a 9-digit handle")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "device_handle")]
        handle: DeviceHandle,
        #[serde(with = "numeric_handle")]
        numeric: NumericHandle,
        #[serde(with = "hex_array")]
        challenge: [u8; 4],
        secret: TotpSecret,
    }

    fn sample_json() -> serde_json::Value {
        json!({
            "handle": "8d3e01a7c45b9f20",
            "numeric": 123456789,
            "challenge": "0a0b0c0d",
            "secret": "07".repeat(32),
        })
    }

    #[test]
    fn hex_and_handle_fields_round_trip_through_json() {
        let sample: Sample = serde_json::from_value(sample_json()).unwrap();
        assert_eq!(sample.handle.to_string(), "8d3e01a7c45b9f20");
        assert_eq!(sample.numeric.get(), 123_456_789);
        assert_eq!(sample.challenge, [10, 11, 12, 13]);
        assert_eq!(sample.secret.expose(), &[7; 32]);
        assert_eq!(serde_json::to_value(&sample).unwrap(), sample_json());
    }

    #[test]
    fn uppercase_or_wrong_length_hex_and_short_handles_are_refused() {
        let cases = [
            ("handle", json!("8D3E01A7C45B9F20")),
            ("numeric", json!(12_345_678)),
            ("challenge", json!("0a0b0c")),
            ("challenge", json!("0A0B0C0D")),
            ("secret", json!("07".repeat(31))),
        ];
        for (field, value) in cases {
            let mut doc = sample_json();
            doc[field] = value.clone();
            assert!(
                serde_json::from_value::<Sample>(doc).is_err(),
                "{field}: {value}"
            );
        }
    }

    #[test]
    fn a_refused_secret_is_not_echoed_in_the_error() {
        let mut doc = sample_json();
        doc["secret"] = json!("ab".repeat(33));
        let err = serde_json::from_value::<Sample>(doc).unwrap_err();
        assert!(!err.to_string().contains("abab"), "{err}");
    }

    #[test]
    fn debug_output_never_shows_a_totp_secret() {
        let secret = TotpSecret::from_bytes([0xab; 32]);
        assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
    }
}
