//! Every networked command of the CLI against a stand-in API that checks
//! proofs, signatures, digests and idempotency keys: the CLI as the
//! end-to-end test against the real server will drive it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;

use image::Luma;
use qrcode::QrCode;
use support::fake_api::{self, FakeApi, Fault};
use support::{TestDir, cashier, json, json_with, stderr};
use uuid::Uuid;

const ONLINE_KEY: &str = "TC1KAAISEM2EKVTHPCEZVK54ZXPO74";

fn enroll(api: &FakeApi, dir: &TestDir) -> serde_json::Value {
    let store = api.store.to_string();
    json(&cashier(
        dir.root(),
        &api.url,
        &[
            "enroll",
            "--store",
            &store,
            "--code",
            "bcdf ghjk",
            "--name",
            " Till 1 ",
        ],
    ))
}

/// An enrolled terminal that the manager approved.
fn active(api: &FakeApi, dir: &TestDir) -> Uuid {
    let out = enroll(api, dir);
    let id: Uuid = out["terminal_id"].as_str().unwrap().parse().unwrap();
    api.set_status(id, "active");
    id
}

fn run(api: &FakeApi, dir: &TestDir, args: &[&str]) -> std::process::Output {
    cashier(dir.root(), &api.url, args)
}

#[test]
fn enroll_sends_a_proof_and_keeps_only_owner_readable_files() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    let out = enroll(&api, &dir);
    assert_eq!(out["status"], "pending");
    assert_eq!(out["name"], "Till 1");
    assert_eq!(out["merchant_id"], api.merchant.to_string());
    assert_eq!(out["store_id"], api.store.to_string());
    assert_eq!(out["fingerprint"].as_str().unwrap().len(), 32);

    // The code went in its displayed form, the name trimmed.
    let request = &api.requests()[0];
    assert_eq!(request.path, "/v1/terminals/enroll");
    assert_eq!(request.json()["code"], "BCDF-GHJK");
    assert_eq!(request.json()["name"], "Till 1");

    for name in ["terminal.key", "terminal.json"] {
        let mode = fs::metadata(dir.path(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path("terminal.json")).unwrap()).unwrap();
    assert_eq!(record["terminal_id"], out["terminal_id"]);
    assert_eq!(record["name"], "Till 1");
    assert_eq!(record["api_url"], format!("{}/", api.url));
}

#[test]
fn a_wrong_enrollment_code_is_refused_with_its_problem_and_saves_nothing() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    let store = api.store.to_string();
    let args = [
        "enroll",
        "--store",
        &store,
        "--code",
        "BCDF-GHJL",
        "--name",
        "Till",
    ];
    let out = run(&api, &dir, &args);
    let problem = json_with(&out, 1);
    assert_eq!(problem["type"], "https://tillcode.dev/problems/not-found");
    assert!(stderr(&out).contains("not-found"), "{}", stderr(&out));
    assert!(!dir.path("terminal.json").exists());
    assert!(!dir.path("terminal.key").exists());

    // A code that is not one never reaches the server: a usage error.
    let args = [
        "enroll",
        "--store",
        &store,
        "--code",
        "BCDA-GHJK",
        "--name",
        "Till",
    ];
    let out = run(&api, &dir, &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(api.requests().len(), 1);
}

#[test]
fn enrolling_again_over_an_enrolled_terminal_needs_replace() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    let first = enroll(&api, &dir);
    let store = api.store.to_string();
    let args = [
        "enroll",
        "--store",
        &store,
        "--code",
        "BCDF-GHJK",
        "--name",
        "Till 2",
    ];
    let out = run(&api, &dir, &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--replace"), "{}", stderr(&out));

    let mut replace = args.to_vec();
    replace.push("--replace");
    let second = json(&run(&api, &dir, &replace));
    assert_ne!(second["terminal_id"], first["terminal_id"]);
    assert_ne!(second["fingerprint"], first["fingerprint"]);
}

#[test]
fn a_pending_terminal_sees_its_status_and_is_refused_at_the_till() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    let enrolled = enroll(&api, &dir);
    let status = json(&run(&api, &dir, &["status"]));
    assert_eq!(status["status"], "pending");
    assert_eq!(status["terminal_id"], enrolled["terminal_id"]);

    let out = run(
        &api,
        &dir,
        &["redeem", "--code", ONLINE_KEY, "--amount", "5"],
    );
    let problem = json_with(&out, 1);
    assert_eq!(
        problem["type"],
        "https://tillcode.dev/problems/terminal-not-active"
    );
    assert!(
        stderr(&out).contains("terminal-not-active"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_redemption_prints_its_key_and_running_it_again_with_the_key_charges_once() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    active(&api, &dir);
    let args = [
        "redeem",
        "--code",
        ONLINE_KEY,
        "--amount",
        "30",
        "--earn",
        "3",
        "--reference",
        "order-1042",
    ];
    let first = json(&run(&api, &dir, &args));
    assert_eq!(first["amount"], 30);
    assert_eq!(first["customer"], fake_api::CUSTOMER_NAME);
    assert_eq!(first["earned"]["amount"], 3);
    assert_eq!(first["replayed"], false);
    let key = first["idempotency_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 36, "a fresh UUID: {key}");
    let sent = api.requests().pop().unwrap();
    assert_eq!(sent.header("idempotency-key"), Some(key.as_str()));
    assert_eq!(
        sent.json(),
        serde_json::json!({
            "code": ONLINE_KEY, "amount": 30, "earn": 3, "reference": "order-1042"
        })
    );

    let mut again = args.to_vec();
    again.extend(["--idempotency-key", &key]);
    let second = json(&run(&api, &dir, &again));
    assert_eq!(second["replayed"], true);
    assert_eq!(second["redemption_id"], first["redemption_id"]);
    assert_eq!(api.balance(), fake_api::START_BALANCE - 30 + 3);

    // Without the key, each run is a new sale with a new key.
    let third = json(&run(&api, &dir, &args));
    assert_ne!(third["idempotency_key"], first["idempotency_key"]);
    assert_eq!(third["replayed"], false);
}

#[test]
fn no_answer_after_every_attempt_exits_3_with_the_key_and_the_key_settles_it() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    active(&api, &dir);
    for _ in 0..2 {
        api.inject(Fault::Unavailable);
    }
    let args = [
        "redeem",
        "--code",
        ONLINE_KEY,
        "--amount",
        "30",
        "--attempts",
        "2",
    ];
    let out = run(&api, &dir, &args);
    let unknown = json_with(&out, 3);
    assert_eq!(unknown["outcome"], "unknown");
    assert_eq!(
        unknown["problem"]["type"],
        "https://tillcode.dev/problems/unavailable"
    );
    let key = unknown["idempotency_key"].as_str().unwrap().to_owned();
    let err = stderr(&out);
    assert!(err.contains("attempt 1 failed"), "{err}");
    assert!(err.contains(&format!("--idempotency-key {key}")), "{err}");
    assert_eq!(api.balance(), fake_api::START_BALANCE);

    let mut again = args.to_vec();
    again.extend(["--idempotency-key", &key]);
    let settled = json(&run(&api, &dir, &again));
    assert_eq!(settled["idempotency_key"], key.as_str());
    assert_eq!(api.balance(), fake_api::START_BALANCE - 30);
}

#[test]
fn a_dropped_answer_is_retried_by_the_cli_and_reported_as_replayed() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    active(&api, &dir);
    api.inject(Fault::DropAfterActing);
    let out = json(&run(
        &api,
        &dir,
        &["redeem", "--code", ONLINE_KEY, "--amount", "30"],
    ));
    assert_eq!(out["replayed"], true);
    assert_eq!(api.balance(), fake_api::START_BALANCE - 30);
}

#[test]
fn redeem_reads_the_code_from_a_png_of_the_phone_screen() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    active(&api, &dir);
    let png = dir.path("phone.png");
    QrCode::new(ONLINE_KEY.as_bytes())
        .unwrap()
        .render::<Luma<u8>>()
        .build()
        .save(&png)
        .unwrap();
    let out = json(&run(
        &api,
        &dir,
        &["redeem", "--image", png.to_str().unwrap(), "--amount", "7"],
    ));
    assert_eq!(out["amount"], 7);
    assert_eq!(api.requests().pop().unwrap().json()["code"], ONLINE_KEY);

    // A picture without a code is the cashier's problem to fix: status 2.
    let blank = dir.path("blank.png");
    image::GrayImage::from_pixel(100, 100, Luma([255]))
        .save(&blank)
        .unwrap();
    let out = run(
        &api,
        &dir,
        &[
            "redeem",
            "--image",
            blank.to_str().unwrap(),
            "--amount",
            "7",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no QR code"), "{}", stderr(&out));
}

#[test]
fn accrue_void_refund_and_recent_work_as_the_enrolled_terminal() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    active(&api, &dir);
    let accrual = json(&run(
        &api,
        &dir,
        &[
            "accrue",
            "--customer",
            fake_api::CUSTOMER_ID,
            "--amount",
            "20",
        ],
    ));
    assert_eq!(accrual["balance_after"], fake_api::START_BALANCE + 20);
    assert!(accrual["idempotency_key"].is_string());
    assert_eq!(
        api.requests().pop().unwrap().json(),
        serde_json::json!({"customer_id": fake_api::CUSTOMER_ID, "amount": 20})
    );

    let redemption = json(&run(
        &api,
        &dir,
        &["redeem", "--code", ONLINE_KEY, "--amount", "50"],
    ));
    let id = redemption["redemption_id"].as_str().unwrap();
    let refund = json(&run(&api, &dir, &["refund", id, "--amount", "10"]));
    assert_eq!(refund["amount"], 10);
    assert_eq!(refund["redemption_id"], id);

    let void = run(&api, &dir, &["void", id, "--idempotency-key", "void-1"]);
    let problem = json_with(&void, 1);
    assert_eq!(
        problem["type"],
        "https://tillcode.dev/problems/already-voided"
    );
    assert!(stderr(&void).contains("idempotency key void-1"));

    let other = json(&run(
        &api,
        &dir,
        &["redeem", "--code", ONLINE_KEY, "--amount", "5"],
    ));
    let other_id = other["redemption_id"].as_str().unwrap();
    let void = json(&run(&api, &dir, &["void", other_id]));
    assert_eq!(void["amount"], 5);

    let recent = json(&run(&api, &dir, &["recent", "--limit", "3"]));
    let kinds: Vec<_> = recent["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["void", "redeem", "refund", "redeem", "accrue"]);
    assert_eq!(
        api.requests().pop().unwrap().query.as_deref(),
        Some("limit=3")
    );
}

#[test]
fn commands_that_need_an_enrolled_terminal_say_how_to_get_one() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    for args in [
        &["status"][..],
        &["redeem", "--code", ONLINE_KEY, "--amount", "5"],
        &["recent"],
        &["sign-request", "--method", "GET", "--path", "/v1/terminal"],
    ] {
        let out = run(&api, &dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(stderr(&out).contains("tillcode-cashier enroll"), "{args:?}");
    }
    assert!(api.requests().is_empty());
}

#[test]
fn an_unreachable_api_is_an_unknown_outcome_with_the_key_to_retry_with() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    active(&api, &dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = cashier(
        dir.root(),
        &format!("http://127.0.0.1:{port}"),
        &[
            "accrue",
            "--customer",
            fake_api::CUSTOMER_ID,
            "--amount",
            "1",
            "--idempotency-key",
            "k-9",
        ],
    );
    let unknown = json_with(&out, 3);
    assert_eq!(unknown["idempotency_key"], "k-9");
    assert!(unknown["problem"].is_null());
    assert!(
        stderr(&out).contains("cannot reach the API"),
        "{}",
        stderr(&out)
    );
}

/// Sends a request as curl would, with the headers `sign-request` printed.
fn send_raw(
    url: &str,
    method: &str,
    path: &str,
    headers: &serde_json::Value,
    body: &str,
) -> (u16, serde_json::Value) {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers.as_object().unwrap() {
        request.push_str(&format!("{name}: {}\r\n", value.as_str().unwrap()));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap())
}

#[test]
fn sign_request_prints_headers_that_work_once_and_not_with_a_tampered_body() {
    let api = FakeApi::start();
    let dir = TestDir::new();
    active(&api, &dir);
    let body = format!(r#"{{"code":"{ONLINE_KEY}","amount":30}}"#);
    let sign = || {
        json(&run(
            &api,
            &dir,
            &[
                "sign-request",
                "--method",
                "POST",
                "--path",
                "/v1/redemptions",
                "--body",
                &body,
                "--idempotency-key",
                "order-1042",
            ],
        ))
    };
    let headers = sign();
    let mut names: Vec<_> = headers.as_object().unwrap().keys().cloned().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Content-Digest",
            "Content-Type",
            "Idempotency-Key",
            "Signature",
            "Signature-Input"
        ]
    );
    // Nothing was sent by signing.
    assert!(api.requests().iter().all(|r| r.path != "/v1/redemptions"));

    let tampered = body.replace("30", "3");
    let (status, problem) = send_raw(&api.url, "POST", "/v1/redemptions", &headers, &tampered);
    assert_eq!(status, 401);
    assert_eq!(
        problem["type"],
        "https://tillcode.dev/problems/digest-mismatch"
    );

    let headers = sign();
    let (status, answer) = send_raw(&api.url, "POST", "/v1/redemptions", &headers, &body);
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["amount"], 30);
    // The same headers again are a replay.
    let (status, problem) = send_raw(&api.url, "POST", "/v1/redemptions", &headers, &body);
    assert_eq!(status, 401);
    assert_eq!(
        problem["type"],
        "https://tillcode.dev/problems/signature-replayed"
    );

    // A GET with a query: no body, no digest, no key.
    let out = json(&run(
        &api,
        &dir,
        &[
            "sign-request",
            "--method",
            "GET",
            "--path",
            "/v1/terminal/transactions?limit=2",
        ],
    ));
    assert!(out.get("Content-Digest").is_none() && out.get("Content-Type").is_none());
    let (status, page) = send_raw(
        &api.url,
        "GET",
        "/v1/terminal/transactions?limit=2",
        &out,
        "",
    );
    assert_eq!(status, 200, "{page}");
}
