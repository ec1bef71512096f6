//! Requests that carry a proof of possession: the device signs, here, on
//! the device; only the public key and signatures leave it.

use tillcode_protocol::{LinkCode, MerchantId};
use uuid::Uuid;

use super::types::{
    Bearer, JoinLinkRequest, OpenSessionRequest, RegisterDeviceRequest, RegisteredDevice, Session,
};
use super::{Client, ClientError};
use crate::{DeviceKey, proofs};

impl Client {
    /// Registers `key` as a device of the customer signed in with
    /// `sign_in`: fetches a challenge, signs it with the key, posts both.
    ///
    /// `device_name` is signed exactly as given; the caller should trim it
    /// first, since the server may store a trimmed name.
    pub async fn register_device(
        &self,
        sign_in: &Bearer,
        merchant: MerchantId,
        key: &DeviceKey,
        device_name: &str,
    ) -> Result<RegisteredDevice, ClientError> {
        let challenge = self.challenge().await?.challenge;
        let body = RegisterDeviceRequest {
            name: device_name,
            public_key: key.verifying_key().to_bytes(),
            challenge,
            signature: proofs::register_device(key, merchant, &challenge, device_name),
        };
        self.post_device(sign_in, &body).await
    }

    /// Opens a device session: a fresh challenge signed with the device key.
    /// The token lives minutes; callers keep it in memory only.
    pub async fn open_session(
        &self,
        merchant: MerchantId,
        device_id: Uuid,
        key: &DeviceKey,
    ) -> Result<Session, ClientError> {
        let challenge = self.challenge().await?.challenge;
        let body = OpenSessionRequest {
            merchant_id: merchant,
            challenge,
            signature: proofs::device_session(key, device_id, &challenge),
        };
        self.post_session(device_id, &body).await
    }

    /// Asks to join the customer account that showed `link`, as a new
    /// device with `key`. The device stays `pending` until a signed-in
    /// device approves it.
    pub async fn join_link(
        &self,
        link: &LinkCode,
        key: &DeviceKey,
        device_name: &str,
    ) -> Result<RegisteredDevice, ClientError> {
        let payload = link.payload();
        let body = JoinLinkRequest {
            payload: &payload,
            name: device_name,
            public_key: key.verifying_key().to_bytes(),
            signature: proofs::link_device(key, link, device_name),
        };
        self.post_link_join(&body).await
    }
}
