//! The `tillcode-customer` binary as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use tillcode_sdk_common::test_dir::TestDir;

fn customer(args: &[&str], key_file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tillcode-customer"))
        .args(args)
        .arg("--key-file")
        .arg(key_file)
        .env_remove("TILLCODE_KEY_FILE")
        .output()
        .unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn keygen_prints_the_key_that_show_key_reads_back() {
    let dir = TestDir::new();
    let key_file = dir.path("device.key");

    let made = json(&customer(&["keygen"], &key_file));
    let shown = json(&customer(&["show-key"], &key_file));
    assert_eq!(made, shown);
    assert_eq!(made["public_key"].as_str().unwrap().len(), 52);
    assert_eq!(made["fingerprint"].as_str().unwrap().len(), 32);
    assert_eq!(
        fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn keygen_refuses_to_replace_a_key_unless_forced() {
    let dir = TestDir::new();
    let key_file = dir.path("device.key");
    let first = json(&customer(&["keygen"], &key_file));

    let refused = customer(&["keygen"], &key_file);
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(json(&customer(&["show-key"], &key_file)), first);

    let replaced = json(&customer(&["keygen", "--force"], &key_file));
    assert_ne!(replaced, first);
    assert_eq!(json(&customer(&["show-key"], &key_file)), replaced);
}

#[test]
fn show_key_refuses_a_key_file_others_can_read() {
    let dir = TestDir::new();
    let key_file = dir.path("device.key");
    json(&customer(&["keygen"], &key_file));
    fs::set_permissions(&key_file, fs::Permissions::from_mode(0o644)).unwrap();

    let refused = customer(&["show-key"], &key_file);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("mode 0644"), "{stderr}");
}
