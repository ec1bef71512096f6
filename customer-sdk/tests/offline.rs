//! Codes made with no network: the API address points at a closed port, so
//! any request would fail the command.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::json;
use support::{TestDir, customer, failure, json};
use tillcode_protocol::{MerchantId, NumericCode, OfflineToken, parse_public_key_base32};

/// Nothing listens on port 1 of the loopback interface.
const NO_API: &str = "http://127.0.0.1:1";
const MERCHANT: &str = "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00";

/// A home with a key made by `keygen` and a hand-written device.json, as
/// a registration would leave it. Returns the public key.
fn registered_home(dir: &TestDir) -> ed25519_dalek::VerifyingKey {
    let key = json(&customer(dir.root(), NO_API, &["keygen"], ""));
    let device = json!({
        "api_url": NO_API,
        "merchant_id": MERCHANT,
        "customer_id": null,
        "device_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f02",
        "device_handle": "8d3e01a7c45b9f20",
        "numeric_handle": 123456789,
        "totp_secret": "07".repeat(32),
    });
    let path = dir.path("device.json");
    fs::write(&path, device.to_string()).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    parse_public_key_base32(key["public_key"].as_str().unwrap()).unwrap()
}

fn decode_png(path: &std::path::Path) -> Vec<String> {
    let image = image::open(path).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    prepared
        .detect_grids()
        .into_iter()
        .map(|g| g.decode().unwrap().1)
        .collect()
}

#[test]
fn an_offline_code_is_made_without_the_api_and_verifies_with_the_device_key() {
    let dir = TestDir::new();
    let public = registered_home(&dir);
    let png = dir.path("code.png");
    let out = json(&customer(
        dir.root(),
        NO_API,
        &["code", "--kind", "offline", "--png", png.to_str().unwrap()],
        "",
    ));
    let payload = out["payload"].as_str().unwrap();
    assert_eq!(out["kind"], "offline");
    assert_eq!(out["qr_version"], 6);
    let token = OfflineToken::parse(payload).unwrap();
    assert_eq!(token.device_handle.to_string(), "8d3e01a7c45b9f20");
    assert_eq!(out["issued_at_ms"], token.issued_at_ms);
    let merchant: MerchantId = MERCHANT.parse().unwrap();
    token.verify(merchant, &public).unwrap();

    assert_eq!(decode_png(&png), [payload]);
    let mode = fs::metadata(&png).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_numeric_code_is_made_without_the_api_from_the_stored_secret() {
    let dir = TestDir::new();
    registered_home(&dir);
    let out = json(&customer(
        dir.root(),
        NO_API,
        &["code", "--kind", "numeric"],
        "",
    ));
    let shown = out["payload"].as_str().unwrap();
    let code = NumericCode::parse(shown).unwrap();
    assert_eq!(code.handle.get(), 123_456_789);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    code.verify(&[7; 32], now).unwrap();
    let valid_for = out["valid_for_s"].as_u64().unwrap();
    assert!((1..=30).contains(&valid_for), "{out}");
}

#[test]
fn a_code_before_any_registration_explains_what_to_run() {
    let dir = TestDir::new();
    let stderr = failure(&customer(dir.root(), NO_API, &["code"], ""));
    assert!(stderr.contains("no registered device"), "{stderr}");
    assert!(stderr.contains("signup"), "{stderr}");
}

#[test]
fn the_qr_command_renders_any_payload_to_png_svg_and_the_terminal() {
    let dir = TestDir::new();
    let (png, svg) = (dir.path("k.png"), dir.path("k.svg"));
    let payload = "TC1KAAISEM2EKVTHPCEZVK54ZXPO74";
    let out = customer(
        dir.root(),
        NO_API,
        &[
            "qr",
            payload,
            "--png",
            png.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
            "--terminal",
        ],
        "",
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (first, rendering) = stdout.split_once('\n').unwrap();
    let summary: serde_json::Value = serde_json::from_str(first).unwrap();
    assert_eq!(summary, json!({"payload": payload, "qr_version": 2}));
    assert!(rendering.contains('\u{2588}'), "{rendering}");
    assert_eq!(decode_png(&png), [payload]);
    assert!(fs::read_to_string(&svg).unwrap().contains("<svg"));
}
