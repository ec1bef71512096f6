//! A customer's phone, driven over real HTTP against a `TestApp`.

use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use serde_json::{Value, json};
use tillcode_protocol::{
    DeviceHandle, LinkCode, MerchantId, NumericCode, NumericHandle, OfflineToken,
    device_session_message, link_device_message, register_device_message,
};
use uuid::Uuid;

use super::TestApp;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestPhone {
    pub merchant: MerchantId,
    pub customer: Uuid,
    pub key: SigningKey,
    pub device: Uuid,
    pub device_handle: DeviceHandle,
    pub numeric_handle: NumericHandle,
    pub totp_secret: [u8; 32],
    pub access_token: String,
}

pub async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(app.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

pub async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn challenge(app: &TestApp) -> [u8; 32] {
    let (status, body) = post(app, "/v1/challenges", None, json!({})).await;
    assert_eq!(status, 201, "{body}");
    hex::decode(body["challenge"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

/// Signs up (or, with `sign_in`, signs in) and registers a fresh device key.
pub async fn register(
    app: &TestApp,
    merchant: MerchantId,
    email: &str,
    sign_in_token: &str,
) -> TestPhone {
    let key = SigningKey::generate(&mut OsRng);
    let name = "Test phone";
    let challenge = challenge(app).await;
    let message = register_device_message(merchant, &challenge, &key.verifying_key(), name);
    let signature = ed25519_dalek::Signer::sign(&key, &message);
    let (status, device) = post(
        app,
        "/v1/devices",
        Some(sign_in_token),
        json!({
            "name": name,
            "public_key": hex::encode(key.verifying_key().as_bytes()),
            "challenge": hex::encode(challenge),
            "signature": hex::encode(signature.to_bytes()),
        }),
    )
    .await;
    assert_eq!(status, 201, "{email}: {device}");
    let mut phone = TestPhone {
        merchant,
        customer: Uuid::nil(),
        key,
        device: device["device_id"].as_str().unwrap().parse().unwrap(),
        device_handle: DeviceHandle(
            hex::decode(device["device_handle"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap(),
        ),
        numeric_handle: NumericHandle::parse(&device["numeric_handle"].to_string()).unwrap(),
        totp_secret: hex::decode(device["totp_secret"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
        access_token: String::new(),
    };
    phone.access_token = phone
        .open_session(app)
        .await
        .expect("a fresh device opens a session");
    phone
}

pub async fn sign_up(app: &TestApp, merchant: MerchantId, email: &str) -> TestPhone {
    let (status, body) = post(
        app,
        "/v1/customers/sign-up",
        None,
        json!({"merchant_id": merchant, "email": email, "password": PASSWORD, "display_name": "Ana"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let mut phone = register(
        app,
        merchant,
        email,
        body["sign_in_token"].as_str().unwrap(),
    )
    .await;
    phone.customer = body["customer_id"].as_str().unwrap().parse().unwrap();
    phone
}

impl TestPhone {
    /// A device session token, or the problem body refusing it.
    pub async fn open_session(&self, app: &TestApp) -> Result<String, Value> {
        let challenge = challenge(app).await;
        let signature = ed25519_dalek::Signer::sign(
            &self.key,
            &device_session_message(self.device, &challenge),
        );
        let (status, body) = post(
            app,
            &format!("/v1/devices/{}/sessions", self.device),
            None,
            json!({"merchant_id": self.merchant, "challenge": hex::encode(challenge), "signature": hex::encode(signature.to_bytes())}),
        )
        .await;
        if status == 201 {
            Ok(body["access_token"].as_str().unwrap().to_owned())
        } else {
            Err(body)
        }
    }

    /// An offline token made with no network at all.
    pub fn offline_code(&self, issued_at_ms: u64) -> String {
        let mut nonce = [0u8; 4];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut nonce);
        OfflineToken::sign(
            &self.key,
            self.merchant,
            self.device_handle,
            issued_at_ms,
            nonce,
        )
        .payload()
    }

    pub fn numeric_code(&self, unix_s: u64) -> String {
        NumericCode::generate(self.numeric_handle, &self.totp_secret, unix_s).display()
    }

    pub async fn online_code(&self, app: &TestApp) -> (u16, Value) {
        post(
            app,
            "/v1/me/online-keys",
            Some(&self.access_token),
            json!({}),
        )
        .await
    }
}

/// A link to a second device, made by `phone`: its id and the payload its
/// QR shows.
pub async fn create_link(app: &TestApp, phone: &TestPhone) -> (String, String) {
    let (status, body) = post(app, "/v1/me/links", Some(&phone.access_token), json!({})).await;
    assert_eq!(status, 201, "{body}");
    (
        body["link_id"].as_str().unwrap().to_owned(),
        body["payload"].as_str().unwrap().to_owned(),
    )
}

/// The body with which the device holding `key` joins a link.
pub fn join_body(payload: &str, key: &SigningKey, name: &str) -> Value {
    let link = LinkCode::parse(payload).unwrap();
    let signature =
        ed25519_dalek::Signer::sign(key, &link_device_message(&link, &key.verifying_key(), name));
    json!({
        "payload": payload,
        "name": name,
        "public_key": hex::encode(key.verifying_key().as_bytes()),
        "signature": hex::encode(signature.to_bytes()),
    })
}
