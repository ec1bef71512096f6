//! Adjustments and unlocking over real HTTP, with a staff session.

use serde_json::{Value, json};

use crate::staff::{Role, create};
use crate::testing::customer::{get, sign_up};
use crate::testing::{TestApp, spawn_app};

const PASSWORD: &str = "manager's long passphrase";

/// Signs in a staff member of `role`: the cookie (carried by hand: it is
/// Secure and the test server speaks plain HTTP) and the CSRF token.
async fn staff(
    app: &TestApp,
    merchant: tillcode_protocol::MerchantId,
    role: Role,
) -> (String, String) {
    let email = format!("{}@example.com", role.as_str());
    create(
        &mut app.state().db_conn().await.unwrap(),
        merchant,
        &email,
        "Staff",
        role,
        PASSWORD,
    )
    .await
    .unwrap();
    let response = reqwest::Client::new()
        .post(app.url("/v1/staff/sign-in"))
        .json(&json!({"merchant_id": merchant, "email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_owned())
}

async fn post(
    app: &TestApp,
    path: &str,
    (cookie, csrf): &(String, String),
    key: &str,
    body: Value,
) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(app.url(path))
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_manager_adjusts_a_balance_with_a_reason_once_and_a_viewer_cannot() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let phone = sign_up(&app, merchant, "ana@example.com").await;
    let manager = staff(&app, merchant, Role::Manager).await;
    let path = format!("/v1/dashboard/customers/{}/adjust", phone.customer);
    let credit = json!({"direction": "credit", "amount": 50, "reason": "goodwill"});

    let (status, body) = post(&app, &path, &manager, "adj-1", credit.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["balance_after"], 50);
    let (_, again) = post(&app, &path, &manager, "adj-1", credit).await;
    assert_eq!(
        (again["replayed"].as_bool(), again["adjustment_id"].clone()),
        (Some(true), body["adjustment_id"].clone())
    );

    let (status, body) = post(
        &app,
        &path,
        &manager,
        "adj-2",
        json!({"direction": "debit", "amount": 51, "reason": "oops"}),
    )
    .await;
    assert_eq!(
        (status, body["type"].as_str()),
        (
            422,
            Some("https://tillcode.dev/problems/insufficient-balance")
        )
    );
    let (status, _) = post(
        &app,
        &path,
        &manager,
        "adj-3",
        json!({"direction": "debit", "amount": 5, "reason": "  "}),
    )
    .await;
    assert_eq!(status, 422);

    let viewer = staff(&app, merchant, Role::Viewer).await;
    let (status, _) = post(
        &app,
        &path,
        &viewer,
        "adj-4",
        json!({"direction": "credit", "amount": 5, "reason": "x"}),
    )
    .await;
    assert_eq!(status, 403);
    let (_, balance) = get(&app, "/v1/me/balance", &phone.access_token).await;
    assert_eq!(balance["balance"], 50);
}

#[tokio::test]
async fn a_manager_unlocks_a_devices_numeric_codes() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let phone = sign_up(&app, merchant, "ana@example.com").await;
    let state = app.state();
    let key = state.redis_key(&["numeric-failures", &phone.device.to_string()]);
    let mut redis = state.redis_conn().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(99)
        .query_async(&mut *redis)
        .await
        .unwrap();

    let manager = staff(&app, merchant, Role::Manager).await;
    let (status, _) = post(
        &app,
        &format!("/v1/dashboard/devices/{}/unlock", phone.device),
        &manager,
        "u",
        json!({}),
    )
    .await;
    assert_eq!(status, 204);
    let left: Option<i64> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut *redis)
        .await
        .unwrap();
    assert_eq!(left, None);
    let (status, _) = post(
        &app,
        &format!("/v1/dashboard/devices/{}/unlock", uuid::Uuid::now_v7()),
        &manager,
        "u",
        json!({}),
    )
    .await;
    assert_eq!(status, 404);
}
