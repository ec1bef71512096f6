//! Secrets never reach the logs: everything the server logs, at the most
//! verbose level, through every flow that carries a secret, is captured and
//! searched for each secret the flows used.
//!
//! The capture is the process's global `tracing` subscriber, installed before
//! the server starts; nextest (what `ops/test.sh` runs) gives every test a
//! process of its own, so nothing else has installed one yet.

use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use serde_json::json;
use tillcode_protocol::{LinkCode, link_device_message};

use super::{STAFF_PASSWORD, credit, now_ms, signed_post, staff_sign_in};
use crate::staff::Role;
use crate::testing::customer::{PASSWORD, post, register};
use crate::testing::logs::LogCapture;
use crate::testing::terminal::{enroll, enrolled_terminal};
use crate::testing::{TestApp, spawn_app};

fn capture_every_log_line() -> LogCapture {
    // As `telemetry::init` does, but into memory, for an operator asking for
    // everything, the database driver included.
    LogCapture::install("trace,tokio_postgres=trace")
}

/// Each secret with a name for the failure message.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        assert!(value.len() >= 6, "{name} is too short to search for");
        // Also as the byte list a `Debug` of bytes prints (SQL parameters).
        self.0
            .push((format!("{name} (bytes)"), format!("{:?}", value.as_bytes())));
        self.0.push((name.to_owned(), value));
    }
}

#[tokio::test]
async fn no_password_code_key_token_or_cookie_reaches_the_logs() {
    let logs = capture_every_log_line();
    let app = spawn_app().await;
    let merchant = app.merchant().await;
    let mut secrets = Secrets::default();

    // A customer signs up, registers a phone, signs in (once wrongly).
    let (status, signed_up) = post(
        &app,
        "/v1/customers/sign-up",
        None,
        json!({"merchant_id": merchant.merchant, "email": "ana@example.com", "password": PASSWORD, "display_name": "Ana"}),
    )
    .await;
    assert_eq!(status, 201, "{signed_up}");
    let sign_in_token = signed_up["sign_in_token"].as_str().unwrap();
    secrets.add("password", PASSWORD);
    secrets.add("sign-in token", sign_in_token);
    let mut phone = register(&app, merchant.merchant, "ana@example.com", sign_in_token).await;
    phone.customer = signed_up["customer_id"].as_str().unwrap().parse().unwrap();
    secrets.add("TOTP secret (hex)", hex::encode(phone.totp_secret));
    secrets.add("TOTP secret (raw)", format!("{:?}", phone.totp_secret));
    secrets.add("device access token", phone.access_token.clone());
    let wrong = "a wrong guess at the password";
    let (status, _) = post(
        &app,
        "/v1/customers/sign-in",
        None,
        json!({"merchant_id": merchant.merchant, "email": "ana@example.com", "password": wrong}),
    )
    .await;
    assert_eq!(status, 401);
    secrets.add("wrong password", wrong);
    let (status, signed_in) = post(
        &app,
        "/v1/customers/sign-in",
        None,
        json!({"merchant_id": merchant.merchant, "email": "ana@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{signed_in}");
    secrets.add(
        "second sign-in token",
        signed_in["sign_in_token"].as_str().unwrap(),
    );
    credit(&app, &merchant, &phone, 100).await;

    // A second device joins through a link.
    let (status, link) = post(&app, "/v1/me/links", Some(&phone.access_token), json!({})).await;
    assert_eq!(status, 201, "{link}");
    let link_payload = link["payload"].as_str().unwrap();
    secrets.add("link code", link_payload);
    let tablet = SigningKey::generate(&mut OsRng);
    let signature = ed25519_dalek::Signer::sign(
        &tablet,
        &link_device_message(
            &LinkCode::parse(link_payload).unwrap(),
            &tablet.verifying_key(),
            "Tablet",
        ),
    );
    let (status, joined) = post(
        &app,
        "/v1/links/join",
        None,
        json!({"payload": link_payload, "name": "Tablet",
               "public_key": hex::encode(tablet.verifying_key().as_bytes()),
               "signature": hex::encode(signature.to_bytes())}),
    )
    .await;
    assert_eq!(status, 201, "{joined}");

    // Staff sign in (once wrongly) and enroll a till with a code.
    let owner = staff_sign_in(&app, merchant.merchant, Role::Owner).await;
    secrets.add("staff password", STAFF_PASSWORD);
    secrets.add("staff session cookie", owner.token());
    secrets.add("CSRF token", owner.csrf.clone());
    let staff_guess = "a wrong guess at the staff password";
    let response = reqwest::Client::new()
        .post(app.url("/v1/staff/sign-in"))
        .json(&json!({"merchant_id": merchant.merchant, "email": owner.email, "password": staff_guess}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    secrets.add("wrong staff password", staff_guess);
    let terminal = enrolled_terminal(&app, merchant.merchant).await;
    let (status, created) = owner
        .post(
            &app,
            "/v1/dashboard/enrollments",
            json!({"store_id": terminal.store}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let code = created["code"].as_str().unwrap();
    secrets.add("enrollment code", code);
    secrets.add("enrollment code (normalised)", code.replace('-', ""));
    let till_key = SigningKey::generate(&mut OsRng);
    let wrong_code = "BCDF-GHJK";
    enroll(&app, terminal.store, wrong_code, &till_key, "Till 2").await;
    secrets.add("wrong enrollment code", wrong_code);
    let (status, body) = enroll(&app, terminal.store, code, &till_key, "Till 2").await;
    assert_eq!(status, 201, "{body}");

    // Every kind of code at the till, each shown twice.
    let (status, online) = phone.online_code(&app).await;
    assert_eq!(status, 201, "{online}");
    let numeric = phone.numeric_code(now_ms() / 1000);
    let codes = [
        phone.offline_code(now_ms()),
        online["payload"].as_str().unwrap().to_owned(),
        numeric.clone(),
    ];
    for (i, code) in codes.iter().enumerate() {
        let (status, body) = terminal.redeem(&app, code, 1, &format!("sale-{i}")).await;
        assert_eq!(status, 201, "{code}: {body}");
        assert_eq!(
            terminal
                .redeem(&app, code, 1, &format!("again-{i}"))
                .await
                .0,
            422
        );
        secrets.add("payment code", code.clone());
    }
    secrets.add("numeric code digits", numeric.replace(' ', ""));
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let earn_with = phone.offline_code(now_ms());
    let (status, body) = signed_post(
        &app,
        &terminal,
        "/v1/accruals",
        json!({"code": earn_with, "amount": 5}),
        "earn",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    secrets.add("accrual code", earn_with);

    // The customer changes the password.
    let new_password = "a brand new passphrase for ana";
    let (status, body) = post(
        &app,
        "/v1/me/password",
        Some(&phone.access_token),
        json!({"current_password": PASSWORD, "new_password": new_password}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    secrets.add("new password", new_password);

    let text = logs.text();
    assert_captured_the_flows(&app, &text);
    let leaks: Vec<String> = secrets
        .0
        .iter()
        .filter(|(_, secret)| text.contains(secret.as_str()))
        .map(|(name, secret)| format!("the {name} appears in: {}", excerpt(&text, secret)))
        .collect();
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

/// The capture saw the server at work, so finding nothing means something.
fn assert_captured_the_flows(app: &TestApp, text: &str) {
    for event in [
        "customer signed up",
        "device registered",
        "terminal enrolled, pending approval",
        "redeemed",
        "/v1/redemptions",
        "/v1/staff/sign-in",
    ] {
        assert!(
            text.contains(event),
            "no '{event}' in the captured logs of {}: {}",
            app.address,
            &text[..text.len().min(2000)]
        );
    }
}

fn excerpt(text: &str, secret: &str) -> String {
    let at = text.find(secret).unwrap_or(0);
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    text[start..end].to_owned()
}
