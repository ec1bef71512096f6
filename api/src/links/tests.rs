//! Linking a second device, over HTTP.

use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use serde_json::json;

use crate::testing::customer::{TestPhone, create_link, get, join_body, post, sign_up};
use crate::testing::spawn_app;

#[tokio::test]
async fn a_linked_device_waits_for_approval_showing_its_name_then_works() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let first = sign_up(&app, merchant, "ana@example.com").await;
    let (link_id, payload) = create_link(&app, &first).await;
    assert!(payload.starts_with("TC1L"));

    let tablet_key = SigningKey::generate(&mut OsRng);
    let (status, joined) = post(
        &app,
        "/v1/links/join",
        None,
        join_body(&payload, &tablet_key, "Tablet"),
    )
    .await;
    assert_eq!(status, 201, "{joined}");
    let tablet = TestPhone {
        key: tablet_key,
        device: joined["device_id"].as_str().unwrap().parse().unwrap(),
        ..sign_up(&app, merchant, "placeholder@example.com").await
    };
    // Pending: no session yet.
    assert_eq!(
        tablet.open_session(&app).await.unwrap_err()["type"],
        "https://tillcode.dev/problems/device-revoked"
    );

    let (_, seen) = get(
        &app,
        &format!("/v1/me/links/{link_id}"),
        &first.access_token,
    )
    .await;
    assert_eq!(seen["status"], "joined");
    assert_eq!(seen["device"]["name"], "Tablet");
    assert_eq!(seen["device"]["fingerprint"], joined["fingerprint"]);

    let (status, _) = post(
        &app,
        &format!("/v1/me/links/{link_id}/approve"),
        Some(&first.access_token),
        json!({}),
    )
    .await;
    assert_eq!(status, 204);
    assert!(tablet.open_session(&app).await.is_ok());
    // The code was single-use.
    let again = SigningKey::generate(&mut OsRng);
    let (status, _) = post(
        &app,
        "/v1/links/join",
        None,
        join_body(&payload, &again, "Another"),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_rejected_device_never_becomes_active() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let first = sign_up(&app, merchant, "ana@example.com").await;
    let (link_id, payload) = create_link(&app, &first).await;
    let key = SigningKey::generate(&mut OsRng);
    let (_, joined) = post(
        &app,
        "/v1/links/join",
        None,
        join_body(&payload, &key, "Unknown phone"),
    )
    .await;
    let (status, _) = post(
        &app,
        &format!("/v1/me/links/{link_id}/reject"),
        Some(&first.access_token),
        json!({}),
    )
    .await;
    assert_eq!(status, 204);
    let (_, devices) = get(&app, "/v1/me/devices", &first.access_token).await;
    let rejected = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_id"] == joined["device_id"])
        .unwrap();
    assert_eq!(rejected["status"], "revoked");
    // A decided link cannot be decided again.
    let (status, _) = post(
        &app,
        &format!("/v1/me/links/{link_id}/approve"),
        Some(&first.access_token),
        json!({}),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn five_bad_proofs_kill_a_link() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let first = sign_up(&app, merchant, "ana@example.com").await;
    let (link_id, payload) = create_link(&app, &first).await;
    let key = SigningKey::generate(&mut OsRng);
    for _ in 0..5 {
        let mut body = join_body(&payload, &key, "Tablet");
        body["name"] = json!("Not what was signed");
        let (status, problem) = post(&app, "/v1/links/join", None, body).await;
        assert_eq!(status, 401, "{problem}");
    }
    let (_, seen) = get(
        &app,
        &format!("/v1/me/links/{link_id}"),
        &first.access_token,
    )
    .await;
    assert_eq!(seen["status"], "dead");
    let (status, _) = post(
        &app,
        "/v1/links/join",
        None,
        join_body(&payload, &key, "Tablet"),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn another_customers_link_is_not_found() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let ana = sign_up(&app, merchant, "ana@example.com").await;
    let bo = sign_up(&app, merchant, "bo@example.com").await;
    let (link_id, _) = create_link(&app, &ana).await;
    let (status, _) = get(&app, &format!("/v1/me/links/{link_id}"), &bo.access_token).await;
    assert_eq!(status, 404);
    let (status, _) = post(
        &app,
        &format!("/v1/me/links/{link_id}/approve"),
        Some(&bo.access_token),
        json!({}),
    )
    .await;
    assert_eq!(status, 404);
}
