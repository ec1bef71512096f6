//! Hostile HTTP against the whole server on a real port: oversized, deeply
//! nested, malformed and mistyped bodies, unknown fields, huge headers, and
//! clients too slow to send their headers or body. Each gets a 4xx problem
//! with a stable type (or, for headers, a 4xx from actix-http and a closed
//! connection), is read only up to the limit, and changes nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

use crate::schema::{customers, ledger_transfers};
use crate::testing::terminal::{Signed, TestTerminal, enrolled_terminal};
use crate::testing::{TestApp, TestDatabase, spawn_app, spawn_app_with};

const PROBLEMS: &str = "https://tillcode.dev/problems/";
/// Longer than any limit under test: a test that reaches it has failed.
const GIVE_UP: Duration = Duration::from_secs(60);

/// A server whose limits `change` alters.
async fn spawn_app_limited(change: impl FnOnce(&mut super::HttpLimits)) -> TestApp {
    let redis_prefix = format!("tillcode-test:{}:", Uuid::new_v4().simple());
    spawn_app_with(
        TestDatabase::new(),
        |db, prefix| {
            let mut config = TestApp::config(db, prefix);
            change(&mut config.http);
            config
        },
        redis_prefix,
    )
    .await
}

/// Rows that any accepted request below would have written.
async fn written_rows(app: &TestApp) -> (i64, i64) {
    let mut conn = app.db.connect().await;
    let customers = customers::table
        .select(count_star())
        .get_result(&mut conn)
        .await
        .unwrap();
    let transfers = ledger_transfers::table
        .select(count_star())
        .get_result(&mut conn)
        .await
        .unwrap();
    (customers, transfers)
}

/// Checks a problem+json answer of `status` and type `slug`.
async fn assert_problem(response: reqwest::Response, status: u16, slug: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], format!("{PROBLEMS}{slug}"), "{body}");
    assert_eq!(body["status"], status);
}

fn sign_up_body(email: &str) -> Value {
    json!({
        "merchant_id": Uuid::now_v7(),
        "email": email,
        "password": "correct horse battery staple",
        "display_name": "Ana",
    })
}

async fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: String,
) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(app.url(path)).body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    request.send().await.unwrap()
}

/// A terminal's signed request carrying `body` as it is, under `content_type`.
async fn signed_raw(
    app: &TestApp,
    terminal: &TestTerminal,
    path: &str,
    content_type: &str,
    body: String,
) -> reqwest::Response {
    let key = Uuid::new_v4().to_string();
    let request = Signed {
        method: "POST",
        path,
        body: None,
        idempotency_key: Some(&key),
    };
    let mut builder = reqwest::Client::new()
        .post(app.url(path))
        .header("Content-Type", content_type);
    for (name, value) in terminal.signature_headers(&request, Some(&body)) {
        builder = builder.header(name, value);
    }
    builder.body(body).send().await.unwrap()
}

#[tokio::test]
async fn oversized_bodies_are_a_413_problem_and_change_nothing() {
    let app = spawn_app().await;
    let merchant = app.merchant().await;
    let terminal = enrolled_terminal(&app, merchant.merchant).await;
    let before = written_rows(&app).await;
    let huge = "x".repeat(64 * 1024);

    let json_body = sign_up_body(&huge).to_string();
    let response = post_raw(
        &app,
        "/v1/customers/sign-up",
        Some("application/json"),
        json_body,
    )
    .await;
    assert_problem(response, 413, "payload-too-large").await;

    // A signed body is read as bytes before its signature is checked: the
    // same limit, the same problem.
    let redemption = json!({"code": huge, "amount": 1}).to_string();
    let response = signed_raw(
        &app,
        &terminal,
        "/v1/redemptions",
        "application/json",
        redemption,
    )
    .await;
    assert_problem(response, 413, "payload-too-large").await;

    assert_eq!(written_rows(&app).await, before);
}

#[tokio::test]
async fn deeply_nested_malformed_or_mistyped_json_is_a_4xx_problem_and_changes_nothing() {
    let app = spawn_app().await;
    let merchant = app.merchant().await;
    let terminal = enrolled_terminal(&app, merchant.merchant).await;
    let before = written_rows(&app).await;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let code = "TC1KAAISEM2EKVTHPCEZVK54ZXPO74";

    let json = Some("application/json");
    let cases = [
        // Beyond serde_json's recursion limit: refused, not a stack overflow.
        (json, deep.clone(), 400, "validation-failed"),
        (json, r#"{"email":"#.to_owned(), 400, "validation-failed"),
        (json, "not json at all".to_owned(), 400, "validation-failed"),
        (json, "".to_owned(), 400, "validation-failed"),
        (
            Some("text/plain"),
            sign_up_body("a@b.c").to_string(),
            415,
            "unsupported-media-type",
        ),
        (
            None,
            sign_up_body("a@b.c").to_string(),
            415,
            "unsupported-media-type",
        ),
        (
            Some("application/x-www-form-urlencoded"),
            "email=a".to_owned(),
            415,
            "unsupported-media-type",
        ),
    ];
    for (content_type, body, status, slug) in cases {
        let response = post_raw(&app, "/v1/customers/sign-up", content_type, body).await;
        assert_problem(response, status, slug).await;
    }
    let mut unknown = sign_up_body("ana@example.com");
    unknown["is_admin"] = json!(true);
    let response = post_raw(&app, "/v1/customers/sign-up", json, unknown.to_string()).await;
    assert_problem(response, 400, "validation-failed").await;

    // The same through a terminal's signed, idempotent redemption.
    let signed_cases = [
        (
            "application/json",
            format!(r#"{{"code":{deep},"amount":1}}"#),
            400,
            "validation-failed",
        ),
        (
            "application/json",
            format!(r#"{{"code":"{code}","amount":"#),
            400,
            "validation-failed",
        ),
        (
            "application/json",
            format!(r#"{{"code":"{code}","amount":1,"tip":5}}"#),
            400,
            "validation-failed",
        ),
        (
            "text/plain",
            format!(r#"{{"code":"{code}","amount":1}}"#),
            415,
            "unsupported-media-type",
        ),
    ];
    for (content_type, body, status, slug) in signed_cases {
        let response = signed_raw(&app, &terminal, "/v1/redemptions", content_type, body).await;
        assert_problem(response, status, slug).await;
    }

    assert_eq!(written_rows(&app).await, before);
}

#[tokio::test]
async fn a_nul_byte_in_a_stored_text_field_is_a_400_problem_not_a_database_error() {
    let app = spawn_app().await;
    let merchant = app.merchant().await;
    let mut body = sign_up_body("nul@example.com");
    body["merchant_id"] = json!(merchant.merchant);
    body["display_name"] = json!("Ana\u{0}");
    let response = post_raw(
        &app,
        "/v1/customers/sign-up",
        Some("application/json"),
        body.to_string(),
    )
    .await;
    assert_problem(response, 400, "validation-failed").await;
    assert_eq!(written_rows(&app).await.0, 0);
}

/// The host and port of `app`, for raw TCP.
fn socket_address(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Reads one response (head, then `Content-Length` bytes of body) or until
/// the server closes; the text read and whether the connection was closed.
async fn read_response(stream: &mut (impl AsyncReadExt + Unpin)) -> (String, bool) {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if received.len() >= head_end + 4 + length {
                return (text, false);
            }
        }
        match tokio::time::timeout(GIVE_UP, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (text, true),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!("no answer and no close in {GIVE_UP:?}: {text:?}"),
        }
    }
}

/// Writes `chunks` one by one, `pause` apart, while reading the answer; the
/// answer, and whether every chunk was written before it came.
async fn trickle(
    app: &TestApp,
    chunks: impl IntoIterator<Item = Vec<u8>, IntoIter: Send + 'static>,
    pause: Duration,
) -> (String, bool) {
    let chunks = chunks.into_iter();
    let stream = TcpStream::connect(socket_address(app)).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    let sender = tokio::spawn(async move {
        for chunk in chunks {
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
            tokio::time::sleep(pause).await;
        }
        done.store(true, Ordering::SeqCst);
        // Keep the connection open: the server must act on its own.
        tokio::time::sleep(GIVE_UP).await;
    });
    let (answer, _) = read_response(&mut reader).await;
    let all_sent = AtomicBool::load(&finished, Ordering::SeqCst);
    sender.abort();
    (answer, all_sent)
}

#[tokio::test]
async fn a_client_sending_its_headers_byte_by_byte_is_cut_off() {
    let app = spawn_app_limited(|l| l.head_timeout = Duration::from_millis(300)).await;
    let mut head = b"POST /v1/customers/sign-up HTTP/1.1\r\nHost: till\r\nX-Slow: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 400));
    head.extend_from_slice(b"\r\n\r\n");
    let chunks: Vec<Vec<u8>> = head.into_iter().map(|b| vec![b]).collect();

    let (answer, all_sent) = trickle(&app, chunks, Duration::from_millis(25)).await;
    assert!(
        !all_sent,
        "the server waited for all of a slow client's headers"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer:?}"
    );
}

#[tokio::test]
async fn a_body_trickled_too_slowly_is_a_408_problem_and_creates_nothing() {
    let app = spawn_app_limited(|l| l.body_timeout = Duration::from_millis(300)).await;
    let body = sign_up_body("slow@example.com").to_string();
    let head = format!(
        "POST /v1/customers/sign-up HTTP/1.1\r\nHost: till\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut chunks = vec![head.into_bytes()];
    chunks.extend(body.bytes().map(|b| vec![b]));

    let (answer, all_sent) = trickle(&app, chunks, Duration::from_millis(25)).await;
    assert!(!all_sent, "the server waited for all of a slow body");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("application/problem+json"), "{answer:?}");
    assert!(
        answer.contains(&format!("{PROBLEMS}request-timeout")),
        "{answer:?}"
    );
    assert_eq!(written_rows(&app).await.0, 0);
}

#[tokio::test]
async fn an_endless_chunked_body_is_refused_at_the_limit_without_being_read() {
    let app = spawn_app().await;
    let head = b"POST /v1/customers/sign-up HTTP/1.1\r\nHost: till\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
    chunk.extend(std::iter::repeat_n(b' ', 64 * 1024));
    chunk.extend_from_slice(b"\r\n");
    // 256 MiB in all: more than any socket buffers hold, so the sender can
    // only finish if the server reads it all.
    // Made as they are sent: the test itself holds one chunk, not 256 MiB.
    let chunks = std::iter::once(head).chain(std::iter::repeat_n(chunk, 4096));

    let (answer, all_sent) = trickle(&app, chunks, Duration::ZERO).await;
    assert!(!all_sent, "the server read a body far beyond its limit");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(
        answer.contains(&format!("{PROBLEMS}payload-too-large")),
        "{answer:?}"
    );
}

#[tokio::test]
async fn huge_headers_are_refused_and_the_connection_closed() {
    let app = spawn_app().await;
    let one_huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: till\r\nX-Huge: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let too_many = format!("GET /healthz HTTP/1.1\r\nHost: till\r\n{many}\r\n");
    for request in [one_huge, too_many] {
        let mut stream = TcpStream::connect(socket_address(&app)).await.unwrap();
        // The server may close before reading it all; that is the point.
        let _ = stream.write_all(request.as_bytes()).await;
        let (answer, closed) = read_response(&mut stream).await;
        // Either a 4xx and then the end of the connection, or (when the
        // server closes with our bytes still unread, which resets the
        // connection) the end at once.
        if answer.is_empty() {
            assert!(closed);
        } else {
            assert!(
                answer.starts_with("HTTP/1.1 431") || answer.starts_with("HTTP/1.1 400"),
                "{answer:?}"
            );
            let (rest, closed) = read_response(&mut stream).await;
            assert!(
                closed && rest.is_empty(),
                "the connection stayed open: {rest:?}"
            );
        }
    }
    // The server is still serving.
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
}
