//! A till on a flaky network sends the same signed sale again (same
//! Idempotency-Key, same body, a fresh signature) while the first copy is
//! still being posted. Thirty-two copies at once, through HTTP, for each kind
//! of code, for an accrual, with group commit on and off: one debit, and
//! every copy gets the one answer (or `409 request-in-flight`, which a till
//! retries) — never `code-replayed`, never a bad code against the terminal.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use redis::AsyncCommands;
use serde_json::{Value, json};

use super::tests::{Till, balance, now_ms, till_on};
use crate::ledger::BatchSettings;
use crate::testing::spawn_app_configured;
use crate::testing::terminal::Signed;

const COPIES: usize = 32;

#[derive(Clone, Copy, Debug)]
enum Code {
    Offline,
    Online,
    Numeric,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GroupCommit {
    On,
    Off,
}

async fn till_with(group_commit: GroupCommit) -> Till {
    let app = spawn_app_configured(|config| {
        if group_commit == GroupCommit::Off {
            config.ledger_batch = BatchSettings {
                max: 1,
                ..BatchSettings::default()
            };
        }
    })
    .await;
    till_on(app).await
}

async fn code(t: &Till, kind: Code) -> String {
    match kind {
        Code::Offline => t.phone.offline_code(now_ms()),
        Code::Numeric => t.phone.numeric_code(now_ms() / 1000),
        Code::Online => {
            let (status, issued) = t.phone.online_code(&t.app).await;
            assert_eq!(status, 201, "{issued}");
            issued["payload"].as_str().unwrap().to_owned()
        }
    }
}

/// Sends `COPIES` copies of one signed request at once, each retried as a
/// till retries (same key and body, signed anew) while it is answered 503 or
/// 409 `request-in-flight`: a loaded test machine may run out of pooled
/// connections for a moment, which is such an answer. Every answer each copy
/// got, the last one last.
async fn copies(t: &Till, path: &str, body: Value) -> Vec<Vec<(u16, Value)>> {
    let copy = |_| async {
        let mut answers = Vec::new();
        for _ in 0..10 {
            let signed = Signed {
                method: "POST",
                path,
                body: Some(body.clone()),
                idempotency_key: Some("the-one-sale"),
            };
            let (status, answer) = t.terminal.send(&t.app, signed).await;
            answers.push((status, answer));
            if status != 503 && status != 409 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        answers
    };
    join_all((0..COPIES).map(copy)).await
}

/// "201 fresh", "201 replayed", or the status and problem slug.
fn tally(answers: &[(u16, Value)]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (status, body) in answers {
        let what = match (status, body["replayed"].as_bool()) {
            (201, Some(false)) => "201 fresh".to_owned(),
            (201, Some(true)) => "201 replayed".to_owned(),
            _ => format!(
                "{status} {}",
                body["type"]
                    .as_str()
                    .unwrap_or("?")
                    .rsplit('/')
                    .next()
                    .unwrap_or("?")
            ),
        };
        *counts.entry(what).or_default() += 1;
    }
    counts
}

/// One fresh answer, every other copy a replay of it in the end, never a
/// refusal on the way, and nothing counted against the terminal.
async fn assert_one_answer(t: &Till, tries: &[Vec<(u16, Value)>], id_field: &str) {
    let first: Vec<(u16, Value)> = tries.iter().map(|answers| answers[0].clone()).collect();
    let last: Vec<(u16, Value)> = tries
        .iter()
        .map(|answers| answers[answers.len() - 1].clone())
        .collect();
    let every: Vec<(u16, Value)> = tries.iter().flatten().cloned().collect();
    eprintln!("first answers to {COPIES} copies: {:?}", tally(&first));
    let counts = tally(&last);
    assert_eq!(counts.get("201 fresh"), Some(&1), "{counts:?}");
    assert_eq!(
        counts.get("201 replayed"),
        Some(&(COPIES - 1)),
        "{counts:?}"
    );
    let refusals: Vec<&(u16, Value)> = every
        .iter()
        .filter(|(status, _)| ![201, 409, 503].contains(status))
        .collect();
    assert!(refusals.is_empty(), "copies were refused: {refusals:?}");
    let fresh = &last.iter().find(|(_, b)| b["replayed"] == false).unwrap().1;
    for (_, body) in &last {
        assert_eq!(body[id_field], fresh[id_field], "{body}");
        assert_eq!(body["balance_after"], fresh["balance_after"], "{body}");
    }
    let state = t.app.state();
    let bad_codes: Option<i64> = state
        .redis_conn()
        .await
        .unwrap()
        .get(state.redis_key(&["bad-codes", &t.terminal.id.to_string()]))
        .await
        .unwrap();
    assert_eq!(
        bad_codes, None,
        "copies of one sale were counted as bad codes"
    );
}

async fn redeem_copies(kind: Code, group_commit: GroupCommit) {
    let t = till_with(group_commit).await;
    let code = code(&t, kind).await;
    let answers = copies(&t, "/v1/redemptions", json!({"code": code, "amount": 10})).await;
    assert_one_answer(&t, &answers, "redemption_id").await;
    for (_, body) in answers.iter().flatten().filter(|(s, _)| *s == 201) {
        assert_eq!(
            body["code_kind"],
            format!("{kind:?}").to_lowercase(),
            "{body}"
        );
        assert_eq!(body["amount"], 10);
    }
    assert_eq!(balance(&t).await, 90);
    let report = crate::ledger::verify(&mut t.app.db.connect().await)
        .await
        .unwrap();
    assert!(report.ok, "{report:?}");
}

async fn accrue_copies(group_commit: GroupCommit) {
    let t = till_with(group_commit).await;
    let code = code(&t, Code::Offline).await;
    let answers = copies(&t, "/v1/accruals", json!({"code": code, "amount": 7})).await;
    assert_one_answer(&t, &answers, "accrual_id").await;
    assert_eq!(balance(&t).await, 107);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_copies_of_one_offline_sale_get_one_answer_with_group_commit() {
    redeem_copies(Code::Offline, GroupCommit::On).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_copies_of_one_offline_sale_get_one_answer_without_group_commit() {
    redeem_copies(Code::Offline, GroupCommit::Off).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_copies_of_one_online_sale_get_one_answer_with_group_commit() {
    redeem_copies(Code::Online, GroupCommit::On).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_copies_of_one_online_sale_get_one_answer_without_group_commit() {
    redeem_copies(Code::Online, GroupCommit::Off).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_copies_of_one_numeric_sale_get_one_answer_with_group_commit() {
    redeem_copies(Code::Numeric, GroupCommit::On).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_copies_of_one_numeric_sale_get_one_answer_without_group_commit() {
    redeem_copies(Code::Numeric, GroupCommit::Off).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_copies_of_one_accrual_get_one_answer_with_group_commit() {
    accrue_copies(GroupCommit::On).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_copies_of_one_accrual_get_one_answer_without_group_commit() {
    accrue_copies(GroupCommit::Off).await;
}
