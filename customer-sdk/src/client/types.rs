//! Request and response bodies of the customer HTTP API. Responses accept
//! fields they do not know, so that a newer server does not break an older
//! device; requests send exactly the fields the server expects.

use std::fmt;

use serde::{Deserialize, Serialize};
use tillcode_protocol::{CustomerId, DeviceHandle, MerchantId, NumericHandle};
use uuid::Uuid;

use crate::wire::{self, TotpSecret};

/// A bearer token: a password sign-in (good for registering one device) or
/// a device session. Never shown by `Debug`, never written to disk.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Bearer(String);

impl Bearer {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

#[derive(Serialize)]
pub(crate) struct SignUpRequest<'a> {
    pub merchant_id: MerchantId,
    pub email: &'a str,
    pub password: &'a str,
    pub display_name: &'a str,
}

#[derive(Serialize)]
pub(crate) struct SignInRequest<'a> {
    pub merchant_id: MerchantId,
    pub email: &'a str,
    pub password: &'a str,
}

#[derive(Serialize)]
pub(crate) struct RegisterDeviceRequest<'a> {
    pub name: &'a str,
    #[serde(with = "wire::hex_array")]
    pub public_key: [u8; 32],
    #[serde(with = "wire::hex_array")]
    pub challenge: [u8; 32],
    #[serde(with = "wire::hex_array")]
    pub signature: [u8; 64],
}

#[derive(Serialize)]
pub(crate) struct OpenSessionRequest {
    pub merchant_id: MerchantId,
    #[serde(with = "wire::hex_array")]
    pub challenge: [u8; 32],
    #[serde(with = "wire::hex_array")]
    pub signature: [u8; 64],
}

#[derive(Serialize)]
pub(crate) struct RenameRequest<'a> {
    pub name: &'a str,
}

#[derive(Serialize)]
pub(crate) struct ChangePasswordRequest<'a> {
    pub current_password: &'a str,
    pub new_password: &'a str,
}

#[derive(Serialize)]
pub(crate) struct JoinLinkRequest<'a> {
    pub payload: &'a str,
    pub name: &'a str,
    #[serde(with = "wire::hex_array")]
    pub public_key: [u8; 32],
    #[serde(with = "wire::hex_array")]
    pub signature: [u8; 64],
}

/// `POST /v1/customers/sign-up` and `/sign-in`.
#[derive(Debug, Deserialize)]
pub struct SignedIn {
    pub customer_id: CustomerId,
    pub sign_in_token: Bearer,
    pub expires_in: u64,
}

/// `POST /v1/challenges`.
#[derive(Debug, Deserialize)]
pub struct Challenge {
    #[serde(with = "wire::hex_array")]
    pub challenge: [u8; 32],
    pub expires_in: u64,
}

/// `POST /v1/devices` and `POST /v1/links/join`. `Debug` redacts the secret.
#[derive(Debug, Deserialize)]
pub struct RegisteredDevice {
    pub device_id: Uuid,
    #[serde(with = "wire::device_handle")]
    pub device_handle: DeviceHandle,
    #[serde(with = "wire::numeric_handle")]
    pub numeric_handle: NumericHandle,
    pub totp_secret: TotpSecret,
    pub fingerprint: String,
}

/// `POST /v1/devices/{device_id}/sessions`.
#[derive(Debug, Deserialize)]
pub struct Session {
    pub access_token: Bearer,
    pub expires_in: u64,
}

/// One entry of `GET /v1/me/devices`. Times are RFC 3339 text, passed on
/// as the server wrote them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub device_id: Uuid,
    pub name: String,
    /// `pending`, `active` or `revoked`.
    pub status: String,
    pub fingerprint: String,
    pub current: bool,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// `POST /v1/me/online-keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineKey {
    pub payload: String,
    pub expires_in: u64,
}

/// `GET /v1/me/balance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub account_id: Uuid,
    /// In the program's unit: points, or minor units of `unit`.
    pub balance: i64,
    pub unit: String,
    pub minor_units: i16,
}

/// `GET /v1/me/history`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub items: Vec<HistoryItem>,
    /// Pass as `starting_after` for the next page; `None` on the last one.
    pub next_cursor: Option<Uuid>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    pub transfer_id: Uuid,
    pub kind: String,
    pub balance_change: i64,
    pub balance_after: i64,
    pub created_at: String,
}

/// `POST /v1/me/links`. `Debug` leaves out the payload: whoever holds it
/// can ask to join the customer's account.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCreated {
    pub link_id: String,
    pub payload: String,
    pub expires_in: u64,
}

impl fmt::Debug for LinkCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkCreated")
            .field("link_id", &self.link_id)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// `GET /v1/me/links/{link_id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStatus {
    pub status: LinkState,
    pub device: Option<LinkedDevice>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    /// Nobody has joined yet.
    Waiting,
    /// A device joined and waits for this one's decision.
    Joined,
    Approved,
    Rejected,
    /// Expired or used up its attempts.
    Dead,
}

/// The device that asked to join, as the approving person must see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedDevice {
    pub device_id: Uuid,
    pub name: String,
    pub fingerprint: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_registration_response_of_the_contract_decodes_and_hides_its_secret() {
        let body = json!({
            "device_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f02",
            "device_handle": "8d3e01a7c45b9f20",
            "numeric_handle": 987654321,
            "totp_secret": "5a".repeat(32),
            "fingerprint": "KZDV-VJ2U-MNDU-YAUF-35O3-6K6K-W4",
            "a_field_from_a_newer_server": true,
        });
        let device: RegisteredDevice = serde_json::from_value(body).unwrap();
        assert_eq!(device.numeric_handle.get(), 987_654_321);
        assert_eq!(device.totp_secret.expose(), &[0x5a; 32]);
        let shown = format!("{device:?}");
        assert!(!shown.contains("5a5a"), "{shown}");
    }

    #[test]
    fn requests_carry_binary_fields_as_lowercase_hex() {
        let body = serde_json::to_value(RegisterDeviceRequest {
            name: "Phone",
            public_key: [0xab; 32],
            challenge: [1; 32],
            signature: [2; 64],
        })
        .unwrap();
        assert_eq!(
            body,
            json!({
                "name": "Phone",
                "public_key": "ab".repeat(32),
                "challenge": "01".repeat(32),
                "signature": "02".repeat(64),
            })
        );
    }

    #[test]
    fn a_link_status_decodes_every_state_of_the_contract() {
        for (text, state) in [
            ("waiting", LinkState::Waiting),
            ("joined", LinkState::Joined),
            ("approved", LinkState::Approved),
            ("rejected", LinkState::Rejected),
            ("dead", LinkState::Dead),
        ] {
            let status: LinkStatus =
                serde_json::from_value(json!({"status": text, "device": null})).unwrap();
            assert_eq!(status.status, state);
        }
        let joined: LinkStatus = serde_json::from_value(json!({
            "status": "joined",
            "device": {
                "device_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f02",
                "name": "Tablet",
                "fingerprint": "KZDV-VJ2U-MNDU-YAUF-35O3-6K6K-W4",
            },
        }))
        .unwrap();
        assert_eq!(joined.device.unwrap().name, "Tablet");
    }

    #[test]
    fn debug_output_never_shows_a_token_or_a_link_payload() {
        let token = Bearer::new("secret-token");
        assert_eq!(format!("{token:?}"), "Bearer(<redacted>)");
        let link = LinkCreated {
            link_id: "l1".into(),
            payload: "TC1LSECRET".into(),
            expires_in: 300,
        };
        assert!(!format!("{link:?}").contains("TC1L"));
    }
}
