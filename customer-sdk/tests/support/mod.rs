//! Running the `tillcode-customer` binary in a private home directory.
#![allow(dead_code)]

pub mod fake_api;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub use tillcode_sdk_common::test_dir::TestDir;

/// Runs the CLI with `home` and `api`, `stdin` as its standard input, and
/// none of the caller's `TILLCODE_*` settings.
pub fn customer(home: &Path, api: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tillcode-customer"))
        .args(args)
        .arg("--home")
        .arg(home)
        .arg("--api")
        .arg(api)
        .env_remove("TILLCODE_API")
        .env_remove("TILLCODE_CA_CERT")
        .env_remove("TILLCODE_CUSTOMER_HOME")
        .env_remove("TILLCODE_KEY_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    // A command may rightly exit before reading its input (a refusal checked
    // first); the pipe is then closed under the write.
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

/// The JSON lines of a successful run.
pub fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    assert!(
        output.status.success(),
        "status {:?}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The one JSON line of a successful run.
pub fn json(output: &Output) -> serde_json::Value {
    let mut lines = json_lines(output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.remove(0)
}

/// The standard error of a run that must have failed with status 1.
pub fn failure(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    String::from_utf8(output.stderr.clone()).unwrap()
}
