//! The `tillcode-customer` binary against the real API over HTTPS: the API's
//! own TLS listener with a certificate made for this test by a private CA.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Output;

use support::{TestDir, customer, json};
use tillcode_api::demo_seed::DemoData;
use tillcode_api::testing::TestPki;

/// Runs the CLI off the runtime: the server's tasks keep running meanwhile.
async fn run(home: &Path, api: &str, args: Vec<String>, stdin: &str) -> Output {
    let (home, api, stdin) = (home.to_owned(), api.to_owned(), stdin.to_owned());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        customer(&home, &api, &args, &stdin)
    })
    .await
    .unwrap()
}

fn login_args(demo: &DemoData, ca_cert: &Path) -> Vec<String> {
    [
        "login",
        "--merchant",
        &demo.merchant_id.to_string(),
        "--email",
        demo.customer_email,
        "--device-name",
        "Phone",
        "--ca-cert",
        ca_cert.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_cli_signs_in_and_reads_its_balance_over_https_with_a_private_ca() {
    let pki = TestPki::new();
    let (app, demo) = pki.https_demo_api().await;
    assert!(
        app.address.starts_with("https://localhost:"),
        "{}",
        app.address
    );
    let home = TestDir::new();
    let password = format!("{}\n", demo.customer_password);

    let signed_in = json(
        &run(
            home.root(),
            &app.address,
            login_args(&demo, &pki.ca_cert),
            &password,
        )
        .await,
    );
    assert_eq!(signed_in["customer_id"], demo.customer_id.to_string());

    let ca_cert = pki.ca_cert.to_str().unwrap().to_owned();
    let balance = json(
        &run(
            home.root(),
            &app.address,
            vec!["balance".into(), "--ca-cert".into(), ca_cert],
            "",
        )
        .await,
    );
    assert_eq!(balance["balance"], demo.balance);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_another_ca_signed_is_refused_naming_the_certificate_problem() {
    let pki = TestPki::new();
    let other = TestPki::new();
    let (app, demo) = pki.https_demo_api().await;
    let home = TestDir::new();
    let password = format!("{}\n", demo.customer_password);

    let refused = run(
        home.root(),
        &app.address,
        login_args(&demo, &other.ca_cert),
        &password,
    )
    .await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(refused.stdout.is_empty(), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("invalid peer certificate: UnknownIssuer"),
        "{stderr}"
    );
    assert!(stderr.contains("--ca-cert"), "{stderr}");
    assert!(
        !home.root().join("device.json").exists(),
        "no device was registered"
    );
}
