//! Staff sign-in, sessions and CSRF over HTTP.

use serde_json::json;

use super::{Role, create};
use crate::testing::{TestApp, spawn_app};

const PASSWORD: &str = "manager's long passphrase";

async fn staff(app: &TestApp, role: Role) -> tillcode_protocol::MerchantId {
    let merchant = app.merchant().await.merchant;
    let mut conn = app.state().db_conn().await.unwrap();
    create(
        &mut conn,
        merchant,
        "Maria@Example.com",
        "Maria",
        role,
        PASSWORD,
    )
    .await
    .unwrap();
    merchant
}

fn client() -> reqwest::Client {
    // The session cookie is Secure; the test server speaks plain HTTP, so
    // the tests carry it by hand, as a browser on https would.
    reqwest::Client::new()
}

async fn sign_in(
    app: &TestApp,
    merchant: tillcode_protocol::MerchantId,
    password: &str,
) -> reqwest::Response {
    client()
        .post(app.url("/v1/staff/sign-in"))
        .json(&json!({"merchant_id": merchant, "email": "maria@example.com", "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_staff_sign_in_sets_a_strict_http_only_secure_cookie_and_a_csrf_token() {
    let app = spawn_app().await;
    let merchant = staff(&app, Role::Manager).await;
    let response = sign_in(&app, merchant, PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["role"], "manager");
    let session = cookie.split(';').next().unwrap().to_owned();
    let me = client()
        .get(app.url("/v1/staff/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // A state change without the CSRF header is refused; with it, allowed.
    let out = client()
        .post(app.url("/v1/staff/sign-out"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 403);
    let out = client()
        .post(app.url("/v1/staff/sign-out"))
        .header("cookie", &session)
        .header("x-csrf-token", body["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let me = client()
        .get(app.url("/v1/staff/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
}

#[tokio::test]
async fn wrong_staff_passwords_are_refused_then_rate_limited() {
    let app = spawn_app().await;
    let merchant = staff(&app, Role::Owner).await;
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(
            sign_in(&app, merchant, "not the passphrase")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(statuses[10], 429);
}

#[test]
fn only_owners_and_managers_may_change_things() {
    assert!(Role::Owner.may_change() && Role::Manager.may_change());
    assert!(!Role::Viewer.may_change());
}
