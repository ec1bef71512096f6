//! Every networked command against a stand-in API that checks the proofs:
//! the CLI as the end-to-end test against the real server will drive it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use support::fake_api::{self, FakeApi};
use support::{TestDir, customer, failure, json, json_lines};

fn signup(api: &FakeApi, dir: &TestDir) -> serde_json::Value {
    let merchant = api.merchant.to_string();
    json(&customer(
        dir.root(),
        &api.url,
        &[
            "signup",
            "--merchant",
            &merchant,
            "--email",
            "ana@example.com",
            "--display-name",
            "Ana",
            "--device-name",
            " Ana's phone ",
        ],
        &format!("{}\n", fake_api::PASSWORD),
    ))
}

#[test]
fn signup_registers_a_new_key_and_keeps_only_owner_readable_files() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    let out = signup(&api, &dir);
    assert_eq!(out["customer_id"], fake_api::CUSTOMER);
    assert_eq!(out["status"], "active");
    assert_eq!(out["merchant_id"], api.merchant.to_string());

    let requests = api.requests();
    let sign_up = &requests[0];
    assert_eq!(sign_up.path, "/v1/customers/sign-up");
    assert_eq!(sign_up.body["password"], fake_api::PASSWORD);
    assert_eq!(sign_up.body["display_name"], "Ana");
    // The name is trimmed before it is signed and sent.
    assert_eq!(requests[2].body["name"], "Ana's phone");

    for name in ["device.key", "device.json"] {
        let mode = fs::metadata(dir.path(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    let device: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path("device.json")).unwrap()).unwrap();
    assert_eq!(device["device_id"], out["device_id"]);
    assert_eq!(device["totp_secret"], "11".repeat(32));
    assert_eq!(device["api_url"], format!("{}/", api.url));
}

#[test]
fn balance_history_and_devices_open_a_signed_session_and_store_no_token() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    signup(&api, &dir);

    let balance = json(&customer(dir.root(), &api.url, &["balance"], ""));
    assert_eq!(balance["balance"], 1234);
    let history = json(&customer(
        dir.root(),
        &api.url,
        &["history", "--limit", "5"],
        "",
    ));
    assert_eq!(history["items"][0]["kind"], "accrue");
    let history_request = api.requests().pop().unwrap();
    assert_eq!(history_request.query.as_deref(), Some("limit=5"));
    assert_eq!(
        history_request.authorization.as_deref(),
        Some("Bearer session-token")
    );

    let paths = api.paths();
    assert!(
        paths.contains(&"GET /v1/me/balance".to_string()),
        "{paths:?}"
    );
    for entry in fs::read_dir(dir.root()).unwrap() {
        let text = fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(fake_api::SESSION_TOKEN));
        assert!(!text.contains(fake_api::SIGN_IN_TOKEN));
    }
}

#[test]
fn a_wrong_password_fails_with_the_problem_type_and_registers_nothing() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    let merchant = api.merchant.to_string();
    let stderr = failure(&customer(
        dir.root(),
        &api.url,
        &[
            "login",
            "--merchant",
            &merchant,
            "--email",
            "ana@example.com",
            "--device-name",
            "Phone",
        ],
        "not the password\n",
    ));
    assert!(
        stderr.contains("https://tillcode.dev/problems/invalid-credentials"),
        "{stderr}"
    );
    assert!(!dir.path("device.json").exists());
    assert!(!dir.path("device.key").exists());
}

#[test]
fn a_second_login_into_a_registered_home_is_refused_before_any_request() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    signup(&api, &dir);
    let before = api.requests().len();
    let merchant = api.merchant.to_string();
    let stderr = failure(&customer(
        dir.root(),
        &api.url,
        &[
            "login",
            "--merchant",
            &merchant,
            "--email",
            "ana@example.com",
            "--device-name",
            "Phone",
        ],
        &format!("{}\n", fake_api::PASSWORD),
    ));
    assert!(stderr.contains("--replace-device"), "{stderr}");
    assert_eq!(api.requests().len(), before);
}

#[test]
fn an_online_code_comes_from_the_api_and_renders_at_version_2() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    signup(&api, &dir);
    let out = json(&customer(
        dir.root(),
        &api.url,
        &["code", "--kind", "online"],
        "",
    ));
    assert_eq!(out["payload"], fake_api::ONLINE_KEY);
    assert_eq!(out["qr_version"], 2);
    assert_eq!(out["expires_in"], 60);
}

#[test]
fn change_password_reads_the_current_and_the_new_password_from_two_lines() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    signup(&api, &dir);
    let stdin = format!("{}\nan even better passphrase\n", fake_api::PASSWORD);
    let out = json(&customer(
        dir.root(),
        &api.url,
        &["change-password"],
        &stdin,
    ));
    assert_eq!(out["password_changed"], true);
    let request = api.requests().pop().unwrap();
    assert_eq!(request.body["new_password"], "an even better passphrase");

    let stderr = failure(&customer(
        dir.root(),
        &api.url,
        &["change-password"],
        "only one line\n",
    ));
    assert!(stderr.contains("new password on line 2"), "{stderr}");
}

#[test]
fn link_create_prints_the_code_then_the_joined_device_then_the_decision() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    signup(&api, &dir);
    let lines = json_lines(&customer(
        dir.root(),
        &api.url,
        &["link", "create", "--approve"],
        "",
    ));
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["payload"], fake_api::link_code().payload());
    assert_eq!(lines[1]["status"], "joined");
    assert_eq!(lines[1]["device"]["name"], "Tablet");
    assert_eq!(lines[2]["status"], "approved");
    assert_eq!(
        api.paths().last().unwrap(),
        "POST /v1/me/links/link-1/approve"
    );
}

#[test]
fn link_create_asks_and_rejects_on_a_no() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    signup(&api, &dir);
    let out = customer(dir.root(), &api.url, &["link", "create"], "n\n");
    let lines = json_lines(&out);
    assert_eq!(lines[2]["status"], "rejected");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("KZDV-VJ2U-MNDU-YAUF-35O3-6K6K-W4"),
        "{stderr}"
    );
}

#[test]
fn link_join_registers_a_pending_device_that_cannot_open_a_session_yet() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    let merchant = api.merchant.to_string();
    let payload = fake_api::link_code().payload();
    let out = json(&customer(
        dir.root(),
        &api.url,
        &[
            "link",
            "join",
            &payload,
            "--merchant",
            &merchant,
            "--device-name",
            "Tablet",
        ],
        "",
    ));
    assert_eq!(out["status"], "pending");
    assert_eq!(out["customer_id"], serde_json::Value::Null);
    let device_id = out["device_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(api.device_status(device_id), Some("pending"));

    let stderr = failure(&customer(dir.root(), &api.url, &["balance"], ""));
    assert!(
        stderr.contains("https://tillcode.dev/problems/device-revoked"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_api_is_a_transport_error_that_names_the_cause() {
    let dir = TestDir::new();
    let merchant = "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00";
    let stderr = failure(&customer(
        dir.root(),
        "http://127.0.0.1:1",
        &[
            "login",
            "--merchant",
            merchant,
            "--email",
            "a@b.c",
            "--device-name",
            "Phone",
        ],
        "password\n",
    ));
    assert!(stderr.contains("cannot reach the API"), "{stderr}");
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
}
