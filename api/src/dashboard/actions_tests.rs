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

    // The dashboard's history shows the balance and the adjustment's reason.
    let history = format!("/v1/dashboard/customers/{}/history", phone.customer);
    let (status, page) = get_as(&app, &history, &viewer).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["balance"], 50);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["kind"], "adjust");
    assert_eq!(items[0]["balance_change"], 50);
    assert_eq!(items[0]["reason"], "goodwill");
    assert!(
        items[0]["actor"].as_str().unwrap().starts_with("staff:"),
        "{page}"
    );
}

async fn get_as(app: &TestApp, path: &str, (cookie, _): &(String, String)) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_manager_unlocks_a_devices_numeric_codes() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let phone = sign_up(&app, merchant, "ana@example.com").await;
    let state = app.state();
    let key = crate::codes::verify::numeric_failures_key(&state, phone.device);
    let mut redis = state.redis_conn().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(99)
        .query_async(&mut *redis)
        .await
        .unwrap();

    let manager = staff(&app, merchant, Role::Manager).await;
    let viewer = staff(&app, merchant, Role::Viewer).await;
    let devices = format!("/v1/dashboard/customers/{}/devices", phone.customer);
    // Anyone signed in sees the lock; only a manager may lift it.
    let (status, listed) = get_as(&app, &devices, &viewer).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["device_id"], phone.device.to_string());
    assert_eq!(listed[0]["status"], "active");
    assert_eq!(listed[0]["numeric_failures"], 99);
    assert_eq!(listed[0]["numeric_locked"], true);
    let (status, _) = post(
        &app,
        &format!("/v1/dashboard/devices/{}/unlock", phone.device),
        &viewer,
        "u",
        json!({}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        get_as(&app, &devices, &viewer).await.1[0]["numeric_locked"],
        true
    );

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
    let (_, listed) = get_as(&app, &devices, &manager).await;
    assert_eq!(
        (
            &listed[0]["numeric_locked"],
            &listed[0]["numeric_failures"],
            &listed[0]["numeric_lock_expires_in_s"]
        ),
        (&json!(false), &json!(0), &Value::Null)
    );
    // Another merchant's customer, or none: not found.
    let other = app.merchant().await.merchant;
    let stranger = sign_up(&app, other, "bo@example.com").await;
    for customer in [stranger.customer, uuid::Uuid::now_v7()] {
        let path = format!("/v1/dashboard/customers/{customer}/devices");
        assert_eq!(get_as(&app, &path, &manager).await.0, 404);
    }
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
