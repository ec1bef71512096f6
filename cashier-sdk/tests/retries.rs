//! The library's signed client against a stand-in API that checks every
//! signature, nonce, digest and idempotency key: retries after a 503, a
//! dropped connection or a timeout reuse the key and the body, are signed
//! afresh, and never move money twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use support::fake_api::{self, FakeApi, Fault};
use tillcode_cashier::client::{Client, ClientError, ClientOptions, RedeemRequest, TerminalClient};
use tillcode_cashier::{IdempotencyKey, RetryPolicy, TerminalKey};
use tillcode_protocol::{Amount, EnrollmentCode, ProblemType};

fn terminal_with(api: &FakeApi, status: &'static str, options: ClientOptions) -> TerminalClient {
    let key = TerminalKey::generate().unwrap();
    let id = api.add_terminal(key.verifying_key(), status);
    let client = Client::with_options(&api.url, options).unwrap();
    TerminalClient::new(client, id, key)
}

/// Three attempts, no pause between them, answers within 2 s.
fn quick() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        retry: RetryPolicy::immediate(3),
    }
}

fn active_terminal(api: &FakeApi) -> TerminalClient {
    terminal_with(api, "active", quick())
}

fn sale(amount: i64) -> RedeemRequest {
    RedeemRequest {
        code: "TC1KAAISEM2EKVTHPCEZVK54ZXPO74".into(),
        amount: Amount::new(amount).unwrap(),
        earn: None,
        reference: Some("order-1".into()),
    }
}

#[tokio::test]
async fn a_redemption_answered_503_is_retried_with_the_same_key_and_body_signed_afresh() {
    let api = FakeApi::start();
    let terminal = active_terminal(&api);
    let key = IdempotencyKey::generate().unwrap();
    api.inject(Fault::Unavailable);

    let redemption = terminal.redeem(&sale(30), &key).await.unwrap();
    assert!(!redemption.replayed);
    assert_eq!(redemption.balance_after, fake_api::START_BALANCE - 30);
    assert_eq!(api.balance(), fake_api::START_BALANCE - 30);

    let requests = api.requests();
    let statuses: Vec<_> = requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 201]);
    let (first, second) = (&requests[0], &requests[1]);
    assert_eq!(first.header("idempotency-key"), Some(key.as_str()));
    assert_eq!(second.header("idempotency-key"), Some(key.as_str()));
    assert_eq!(first.body, second.body);
    assert_eq!(
        first.header("content-digest"),
        second.header("content-digest")
    );
    assert_eq!(first.header("content-type"), Some("application/json"));
    // A new nonce (the server accepts each once) and so a new signature.
    assert_ne!(
        first.header("signature-input"),
        second.header("signature-input")
    );
    assert_ne!(first.header("signature"), second.header("signature"));
}

#[tokio::test]
async fn a_connection_dropped_after_the_debit_is_settled_by_the_stored_answer() {
    let api = FakeApi::start();
    let terminal = active_terminal(&api);
    let key = IdempotencyKey::generate().unwrap();
    api.inject(Fault::DropAfterActing);

    let redemption = terminal.redeem(&sale(30), &key).await.unwrap();
    // The first attempt debited; the retry got that debit's answer back.
    assert!(redemption.replayed);
    assert_eq!(redemption.balance_after, fake_api::START_BALANCE - 30);
    assert_eq!(api.balance(), fake_api::START_BALANCE - 30);
    let requests = api.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(
        requests[0].header("idempotency-key"),
        requests[1].header("idempotency-key")
    );
}

#[tokio::test]
async fn a_timeout_never_double_charges() {
    let api = FakeApi::start();
    let options = ClientOptions {
        request_timeout: Duration::from_millis(300),
        ..quick()
    };
    let terminal = terminal_with(&api, "active", options);
    let key = IdempotencyKey::generate().unwrap();
    api.inject(Fault::SlowAnswer(Duration::from_millis(1500)));

    let redemption = terminal.redeem(&sale(30), &key).await.unwrap();
    assert!(redemption.replayed);
    assert_eq!(api.balance(), fake_api::START_BALANCE - 30);
    assert_eq!(api.requests().len(), 2);
}

#[tokio::test]
async fn retries_stop_after_the_last_attempt_with_an_unknown_outcome_and_nothing_charged() {
    let api = FakeApi::start();
    let terminal = active_terminal(&api);
    let key = IdempotencyKey::generate().unwrap();
    for _ in 0..3 {
        api.inject(Fault::Unavailable);
    }
    let err = terminal.redeem(&sale(30), &key).await.unwrap_err();
    assert!(err.outcome_unknown(), "{err}");
    assert_eq!(err.problem_type(), Some(ProblemType::ServiceUnavailable));
    let requests = api.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests
            .iter()
            .all(|r| r.header("idempotency-key") == Some(key.as_str()))
    );
    assert_eq!(api.balance(), fake_api::START_BALANCE);

    // Later, the same key settles it: one debit.
    let redemption = terminal.redeem(&sale(30), &key).await.unwrap();
    assert!(!redemption.replayed);
    assert_eq!(api.balance(), fake_api::START_BALANCE - 30);
}

#[tokio::test]
async fn each_retry_is_told_to_the_hook_before_its_pause() {
    let api = FakeApi::start();
    let seen = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&seen);
    let terminal = active_terminal(&api).on_retry(move |notice| {
        assert_eq!(notice.error.status(), Some(503));
        counter.fetch_add(1, Ordering::SeqCst);
    });
    api.inject(Fault::Unavailable);
    api.inject(Fault::Unavailable);
    let key = IdempotencyKey::generate().unwrap();
    terminal.redeem(&sale(5), &key).await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_refusal_is_final_and_not_retried() {
    let api = FakeApi::start();
    let terminal = active_terminal(&api);
    let key = IdempotencyKey::generate().unwrap();
    let err = terminal.redeem(&sale(500), &key).await.unwrap_err();
    assert_eq!(err.problem_type(), Some(ProblemType::InsufficientBalance));
    assert!(!err.outcome_unknown());
    assert_eq!(api.requests().len(), 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_by_the_server() {
    let api = FakeApi::start();
    let terminal = active_terminal(&api);
    let key = IdempotencyKey::generate().unwrap();
    terminal.redeem(&sale(30), &key).await.unwrap();
    let replay = terminal.redeem(&sale(30), &key).await.unwrap();
    assert!(replay.replayed);
    let err = terminal.redeem(&sale(31), &key).await.unwrap_err();
    assert_eq!(err.problem_type(), Some(ProblemType::IdempotencyKeyReused));
    assert_eq!(api.balance(), fake_api::START_BALANCE - 30);
}

#[tokio::test]
async fn reads_are_retried_too_and_a_pending_terminal_may_read_its_status_but_not_sell() {
    let api = FakeApi::start();
    let terminal = terminal_with(&api, "pending", quick());
    api.inject(Fault::Unavailable);
    let view = terminal.status().await.unwrap();
    assert_eq!(view.status, "pending");
    assert_eq!(view.terminal_id, terminal.terminal_id());

    let key = IdempotencyKey::generate().unwrap();
    let err = terminal.redeem(&sale(5), &key).await.unwrap_err();
    assert_eq!(err.problem_type(), Some(ProblemType::TerminalNotActive));
    assert_eq!(api.requests().len(), 3);
}

#[tokio::test]
async fn void_refund_accrue_and_the_transaction_list_are_signed_and_accepted() {
    let api = FakeApi::start();
    let terminal = active_terminal(&api);
    let new_key = || IdempotencyKey::generate().unwrap();
    let redemption = terminal.redeem(&sale(30), &new_key()).await.unwrap();
    let refund = terminal
        .refund(
            redemption.redemption_id,
            Amount::new(10).unwrap(),
            &new_key(),
        )
        .await
        .unwrap();
    assert_eq!(refund.balance_after, fake_api::START_BALANCE - 20);
    let err = terminal
        .void(redemption.redemption_id, &new_key())
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), Some(ProblemType::AlreadyVoided));

    let other = terminal.redeem(&sale(5), &new_key()).await.unwrap();
    let void = terminal
        .void(other.redemption_id, &new_key())
        .await
        .unwrap();
    assert_eq!(void.amount, 5);
    assert_eq!(api.requests().last().unwrap().body, b"{}");

    let page = terminal.transactions(Some(10), None).await.unwrap();
    let kinds: Vec<_> = page.items.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, ["void", "redeem", "refund", "redeem"]);
    let list = api.requests().pop().unwrap();
    assert_eq!(list.query.as_deref(), Some("limit=10"));
    assert_eq!(list.header("content-digest"), None);
    assert_eq!(list.header("idempotency-key"), None);
}

#[tokio::test]
async fn enrollment_sends_a_proof_the_server_verifies_and_is_never_retried() {
    let api = FakeApi::start();
    let client = Client::with_options(&api.url, quick()).unwrap();
    let key = TerminalKey::generate().unwrap();
    let code = EnrollmentCode::parse(fake_api::ENROLLMENT_CODE).unwrap();
    let view = client
        .enroll(&key, api.store, &code, "Till 1")
        .await
        .unwrap();
    assert_eq!(view.status, "pending");
    assert_eq!(view.fingerprint, key.fingerprint());
    assert_eq!(view.merchant_id, api.merchant);

    api.inject(Fault::Unavailable);
    let err = client
        .enroll(&key, api.store, &code, "Till 1")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Problem { status: 503, .. }),
        "{err}"
    );
    assert_eq!(api.requests().len(), 2);

    let wrong = EnrollmentCode::parse("BCDF-GHJL").unwrap();
    let err = client
        .enroll(&key, api.store, &wrong, "Till 1")
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), Some(ProblemType::NotFound));
}

#[tokio::test]
async fn no_server_at_all_is_an_unknown_outcome_after_every_attempt() {
    // A port nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let key = TerminalKey::generate().unwrap();
    let client = Client::with_options(&format!("http://127.0.0.1:{port}"), quick()).unwrap();
    let attempts = Arc::new(AtomicU32::new(1));
    let counter = Arc::clone(&attempts);
    let terminal = TerminalClient::new(client, uuid::Uuid::now_v7(), key).on_retry(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let err = terminal
        .redeem(&sale(5), &IdempotencyKey::generate().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err}");
    assert!(err.outcome_unknown());
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}
