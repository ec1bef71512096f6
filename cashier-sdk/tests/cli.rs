//! The `tillcode-cashier` binary as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

const RFC_BODY: &[u8] = br#"{"hello": "world"}"#;
const RFC_DIGEST: &str = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\n";

fn cashier(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tillcode-cashier"))
        .args(args)
        // `digest` needs no home directory, so no HOME either.
        .env_remove("HOME")
        .env_remove("TILLCODE_CASHIER_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that reads a file may exit before taking its standard input:
    // a broken pipe then only means the input was not needed.
    match child.stdin.take().unwrap().write_all(stdin) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    child.wait_with_output().unwrap()
}

#[test]
fn digest_reads_the_body_from_standard_input_by_default_or_with_a_dash() {
    for args in [&["digest"][..], &["digest", "-"]] {
        let out = cashier(args, RFC_BODY);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), RFC_DIGEST);
    }
}

#[test]
fn digest_reads_the_body_from_a_file_byte_for_byte() {
    let path = std::env::temp_dir().join(format!("tillcode-cashier-cli-{}", std::process::id()));
    std::fs::write(&path, RFC_BODY).unwrap();
    let out = cashier(&["digest", path.to_str().unwrap()], b"ignored");
    std::fs::remove_file(&path).unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), RFC_DIGEST);
}

#[test]
fn digest_of_a_missing_file_is_a_usage_error_naming_it() {
    let out = cashier(&["digest", "/nonexistent/tillcode-body.json"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/tillcode-body.json"),
        "{stderr}"
    );
}
