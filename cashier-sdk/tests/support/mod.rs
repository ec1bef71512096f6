//! Running the `tillcode-cashier` binary in a private home directory.
#![allow(dead_code)]

pub mod fake_api;

use std::path::Path;
use std::process::{Command, Output, Stdio};

// Not every test binary makes a directory.
#[allow(unused_imports)]
pub use tillcode_sdk_common::test_dir::TestDir;

/// Runs the CLI with `home` and `api` and none of the caller's
/// `TILLCODE_*` settings.
pub fn cashier(home: &Path, api: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tillcode-cashier"))
        .args(args)
        .arg("--home")
        .arg(home)
        .arg("--api")
        .arg(api)
        .env_remove("TILLCODE_API")
        .env_remove("TILLCODE_CA_CERT")
        .env_remove("TILLCODE_CASHIER_HOME")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The one JSON line of a run that exited with `code`.
pub fn json_with(output: &Output, code: i32) -> serde_json::Value {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    serde_json::from_str(lines[0]).unwrap()
}

/// The one JSON line of a successful run.
pub fn json(output: &Output) -> serde_json::Value {
    json_with(output, 0)
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}
