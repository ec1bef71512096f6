//! The `tillcode-cashier` binary against the real API over HTTPS: the API's
//! own TLS listener with a certificate made for this test by a private CA.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Output;

use support::{TestDir, cashier, json, stderr};
use tillcode_api::admin::{self, AdminCommand};
use tillcode_api::testing::{TestApp, TestPki};
use uuid::Uuid;

/// Runs the CLI trusting `ca_cert`, off the runtime: the server's tasks
/// (the ledger's writers among them) keep running meanwhile.
async fn till(home: &Path, app: &TestApp, ca_cert: &Path, args: &[&str]) -> Output {
    let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    args.extend(["--ca-cert".to_owned(), ca_cert.to_str().unwrap().to_owned()]);
    let (home, api) = (home.to_owned(), app.address.clone());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cashier(&home, &api, &args)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cashier_cli_enrolls_and_accrues_over_https_with_a_private_ca() {
    let pki = TestPki::new();
    let (app, demo) = pki.https_demo_api().await;
    assert!(
        app.address.starts_with("https://localhost:"),
        "{}",
        app.address
    );
    let home = TestDir::new();
    let store = demo.store_id.to_string();
    let code = demo.terminal_enrollment_code.clone();

    let enroll = [
        "enroll", "--store", &store, "--code", &code, "--name", "Till 1",
    ];
    let enrolled = json(&till(home.root(), &app, &pki.ca_cert, &enroll).await);
    assert_eq!(enrolled["status"], "pending");
    let api_url = enrolled["api_url"].as_str().unwrap();
    assert!(api_url.starts_with(&app.address), "{api_url}");
    let terminal: Uuid = enrolled["terminal_id"].as_str().unwrap().parse().unwrap();

    // A signed request through TLS: the server sees the path it was signed for.
    let status = json(&till(home.root(), &app, &pki.ca_cert, &["status"]).await);
    assert_eq!(status["status"], "pending");
    admin::run(
        &mut app.db.connect().await,
        AdminCommand::ApproveTerminal { terminal },
    )
    .await
    .unwrap();

    let customer = demo.customer_id.to_string();
    let accrue = ["accrue", "--customer", &customer, "--amount", "5"];
    let accrued = json(&till(home.root(), &app, &pki.ca_cert, &accrue).await);
    assert_eq!(accrued["balance_after"], demo.balance + 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_another_ca_signed_is_a_setup_mistake_and_is_not_retried() {
    let pki = TestPki::new();
    let other = TestPki::new();
    let (app, demo) = pki.https_demo_api().await;
    let home = TestDir::new();
    let store = demo.store_id.to_string();
    let code = demo.terminal_enrollment_code.clone();

    let enroll = [
        "enroll", "--store", &store, "--code", &code, "--name", "Till 1",
    ];
    let refused = till(home.root(), &app, &other.ca_cert, &enroll).await;
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(refused.stdout.is_empty(), "{refused:?}");
    let stderr = stderr(&refused);
    assert!(
        stderr.contains("invalid peer certificate: UnknownIssuer"),
        "{stderr}"
    );
    assert!(stderr.contains("--ca-cert"), "{stderr}");
    assert!(!stderr.contains("outcome is unknown"), "{stderr}");

    // Nothing reached the server: the code is still good for the right CA.
    let enrolled = json(&till(home.root(), &app, &pki.ca_cert, &enroll).await);
    assert_eq!(enrolled["status"], "pending");
}
