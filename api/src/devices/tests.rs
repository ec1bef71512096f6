//! Device registration, sessions and revocation over HTTP.

use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use serde_json::{Value, json};
use tillcode_protocol::register_device_message;

use crate::testing::customer::{PASSWORD, challenge, get, post, sign_up};
use crate::testing::{TestApp, spawn_app};

async fn sign_in_token(app: &TestApp, merchant: tillcode_protocol::MerchantId) -> String {
    let (_, body) = post(
        app,
        "/v1/customers/sign-up",
        None,
        json!({"merchant_id": merchant, "email": "ana@example.com", "password": PASSWORD, "display_name": "Ana"}),
    )
    .await;
    body["sign_in_token"].as_str().unwrap().to_owned()
}

fn registration(
    merchant: tillcode_protocol::MerchantId,
    key: &SigningKey,
    challenge: [u8; 32],
    name: &str,
) -> Value {
    let message = register_device_message(merchant, &challenge, &key.verifying_key(), name);
    let signature = ed25519_dalek::Signer::sign(key, &message);
    json!({
        "name": name,
        "public_key": hex::encode(key.verifying_key().as_bytes()),
        "challenge": hex::encode(challenge),
        "signature": hex::encode(signature.to_bytes()),
    })
}

#[tokio::test]
async fn a_device_needs_a_valid_proof_over_a_fresh_challenge() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let token = sign_in_token(&app, merchant).await;
    let key = SigningKey::generate(&mut OsRng);

    // Signed for another name: the proof does not cover what is sent.
    let mut body = registration(merchant, &key, challenge(&app).await, "Phone");
    body["name"] = json!("Other phone");
    let (status, problem) = post(&app, "/v1/devices", Some(&token), body).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (401, Some("https://tillcode.dev/problems/signature-invalid"))
    );

    let fresh = challenge(&app).await;
    let (status, _) = post(
        &app,
        "/v1/devices",
        Some(&token),
        registration(merchant, &key, fresh, "Phone"),
    )
    .await;
    assert_eq!(status, 201);
    // The same challenge twice: refused even with a valid signature.
    let other_key = SigningKey::generate(&mut OsRng);
    let (status, problem) = post(
        &app,
        "/v1/devices",
        Some(&token),
        registration(merchant, &other_key, fresh, "Phone"),
    )
    .await;
    assert_eq!(status, 401, "{problem}");

    // No sign-in at all.
    let (status, _) = post(
        &app,
        "/v1/devices",
        None,
        registration(merchant, &other_key, challenge(&app).await, "P"),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_small_order_public_key_is_refused_as_weak() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let token = sign_in_token(&app, merchant).await;
    // The identity point: a valid encoding of a point of order 1.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let body = json!({
        "name": "Evil",
        "public_key": hex::encode(identity),
        "challenge": hex::encode(challenge(&app).await),
        "signature": hex::encode([0u8; 64]),
    });
    let (status, problem) = post(&app, "/v1/devices", Some(&token), body).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "https://tillcode.dev/problems/weak-key");
}

#[tokio::test]
async fn a_customer_lists_renames_and_revokes_devices_and_a_revoked_one_loses_its_session() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let phone = sign_up(&app, merchant, "ana@example.com").await;

    let (status, _) = reqwest::Client::new()
        .patch(app.url(&format!("/v1/me/devices/{}", phone.device)))
        .bearer_auth(&phone.access_token)
        .json(&json!({"name": "Work phone"}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 204);
    let (status, devices) = get(&app, "/v1/me/devices", &phone.access_token).await;
    assert_eq!(status, 200);
    assert_eq!(devices[0]["name"], "Work phone");
    assert_eq!(devices[0]["current"], true);
    assert_eq!(devices[0]["status"], "active");
    assert_eq!(devices[0]["fingerprint"].as_str().unwrap().len(), 32);

    let (status, _) = post(
        &app,
        &format!("/v1/me/devices/{}/revoke", phone.device),
        Some(&phone.access_token),
        json!({}),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = get(&app, "/v1/me/devices", &phone.access_token).await;
    assert_eq!(status, 401);
    let refused = phone.open_session(&app).await.unwrap_err();
    assert_eq!(
        refused["type"],
        "https://tillcode.dev/problems/device-revoked"
    );
}
