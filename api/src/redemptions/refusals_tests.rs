//! A refused request never spends the customer's code: after each refusal a
//! till can meet (the balance, a velocity limit, a reused key, a terminal
//! revoked while the server still had it cached, a server failure), the same
//! code pays at the next try, and it still pays only once.

use diesel::prelude::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use serde_json::Value;

use super::tests::{Till, balance, now_ms, till, till_on};
use crate::schema::{fraud_events, merchant_settings};
use crate::testing::spawn_app_configured;
use crate::testing::terminal::enrolled_terminal;

const PROBLEMS: &str = "https://tillcode.dev/problems/";

fn problem(body: &Value) -> &str {
    body["type"]
        .as_str()
        .unwrap_or("")
        .trim_start_matches(PROBLEMS)
}

/// Every kind of code the customer can show, freshly made.
async fn fresh_codes(t: &Till) -> Vec<(&'static str, String)> {
    let (status, online) = t.phone.online_code(&t.app).await;
    assert_eq!(status, 201, "{online}");
    vec![
        ("offline", t.phone.offline_code(now_ms())),
        ("online", online["payload"].as_str().unwrap().to_owned()),
        ("numeric", t.phone.numeric_code(now_ms() / 1000)),
    ]
}

/// The merchant lets a customer redeem at most `max` in its velocity window.
async fn limit_customer_amount(t: &Till, max: i64) {
    diesel::insert_into(merchant_settings::table)
        .values((
            merchant_settings::merchant_id.eq(uuid::Uuid::from(t.merchant.merchant)),
            merchant_settings::customer_max_amount.eq(max),
        ))
        .execute(&mut t.app.db.connect().await)
        .await
        .unwrap();
}

/// The code pays on its next try, once, and never again.
async fn pays_once_more(t: &Till, code: &str, key: &str, amount: i64) {
    let (status, body) = t.terminal.redeem(&t.app, code, amount, key).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["replayed"], false, "{body}");
    let (status, body) = t
        .terminal
        .redeem(&t.app, code, amount, &format!("{key}-again"))
        .await;
    assert_eq!((status, problem(&body)), (422, "code-replayed"), "{body}");
}

#[tokio::test]
async fn a_code_refused_for_the_balance_pays_when_the_cashier_corrects_the_amount() {
    let t = till().await;
    for (kind, code) in fresh_codes(&t).await {
        let (status, body) = t
            .terminal
            .redeem(&t.app, &code, 1_000, &format!("{kind}-too-much"))
            .await;
        assert_eq!(
            (status, problem(&body)),
            (422, "insufficient-balance"),
            "{kind}: {body}"
        );
        let before = balance(&t).await;
        pays_once_more(&t, &code, &format!("{kind}-corrected"), 10).await;
        assert_eq!(balance(&t).await, before - 10, "{kind}");
    }
    assert_eq!(balance(&t).await, 70);
}

#[tokio::test]
async fn a_code_refused_by_a_velocity_limit_pays_a_smaller_amount_within_the_limit() {
    let t = till().await;
    limit_customer_amount(&t, 40).await;
    let code = t.phone.offline_code(now_ms());
    let (status, body) = t.terminal.redeem(&t.app, &code, 50, "over-the-limit").await;
    assert_eq!((status, problem(&body)), (429, "velocity-limit"), "{body}");
    pays_once_more(&t, &code, "within-the-limit", 40).await;
    assert_eq!(balance(&t).await, 60);
}

#[tokio::test]
async fn an_amount_above_the_balance_is_refused_as_such_before_any_velocity_limit() {
    let t = till().await;
    limit_customer_amount(&t, 40).await;
    let code = t.phone.offline_code(now_ms());
    let (status, body) = t
        .terminal
        .redeem(&t.app, &code, 999_999, "way-too-much")
        .await;
    assert_eq!(
        (status, problem(&body)),
        (422, "insufficient-balance"),
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains("(100)"), "{body}");
    let velocity_events: i64 = fraud_events::table
        .filter(fraud_events::reason.eq("velocity-limit"))
        .count()
        .get_result(&mut t.app.db.connect().await)
        .await
        .unwrap();
    assert_eq!(velocity_events, 0);
    pays_once_more(&t, &code, "what-she-has", 40).await;
}

#[tokio::test]
async fn a_fresh_code_sent_with_a_reused_key_pays_when_sent_with_its_own_key() {
    let t = till().await;
    let first = t.phone.offline_code(now_ms() - 1_000);
    let (status, body) = t.terminal.redeem(&t.app, &first, 10, "sale-1").await;
    assert_eq!(status, 201, "{body}");
    for (kind, code) in fresh_codes(&t).await {
        let (status, body) = t.terminal.redeem(&t.app, &code, 10, "sale-1").await;
        assert_eq!(
            (status, problem(&body)),
            (422, "idempotency-key-reused"),
            "{kind}: {body}"
        );
        pays_once_more(&t, &code, &format!("{kind}-own-key"), 10).await;
    }
    assert_eq!(balance(&t).await, 60);
}

#[tokio::test]
async fn a_code_sent_by_a_terminal_revoked_behind_the_servers_cache_pays_at_an_honest_till() {
    let mut t = till().await;
    // One sale first: the server now holds the terminal's identity and no
    // longer reads its row when a redemption is authenticated.
    let warm = t.phone.offline_code(now_ms() - 1_000);
    assert_eq!(t.terminal.redeem(&t.app, &warm, 10, "warm").await.0, 201);
    crate::terminals::enrollment::set_status(
        &mut t.app.db.connect().await,
        None,
        t.terminal.id.into(),
        crate::terminals::enrollment::TerminalAction::Revoke,
        "test",
    )
    .await
    .unwrap()
    .unwrap();
    let codes = fresh_codes(&t).await;
    for (kind, code) in &codes {
        let (status, body) = t
            .terminal
            .redeem(&t.app, code, 10, &format!("{kind}-revoked"))
            .await;
        assert_eq!(
            (status, problem(&body)),
            (401, "terminal-not-active"),
            "{kind}: {body}"
        );
    }
    t.terminal = enrolled_terminal(&t.app, t.merchant.merchant).await;
    for (kind, code) in &codes {
        pays_once_more(&t, code, &format!("{kind}-honest"), 10).await;
    }
    assert_eq!(balance(&t).await, 60);
}

#[tokio::test]
async fn a_retry_after_a_server_failure_gets_the_sale_not_code_replayed() {
    // A short statement timeout, and the customer's account locked by
    // another session: the first attempt's debit times out (503), after
    // its code was marked in Redis.
    let app = spawn_app_configured(|config| {
        config.timeouts.database_statement = Some(std::time::Duration::from_millis(300));
    })
    .await;
    let t = till_on(app).await;
    let account = uuid::Uuid::from(t.account);
    for (kind, code) in fresh_codes(&t).await {
        let key = format!("{kind}-after-a-failure");
        let mut lock = t.app.db.connect().await;
        lock.batch_execute(&format!(
            "BEGIN; SELECT 1 FROM accounts WHERE id = '{account}' FOR UPDATE"
        ))
        .await
        .unwrap();
        let (status, body) = t.terminal.redeem(&t.app, &code, 10, &key).await;
        assert_eq!(
            (status, problem(&body)),
            (503, "unavailable"),
            "{kind}: {body}"
        );
        lock.batch_execute("ROLLBACK").await.unwrap();
        // The till's retry: same key, same body.
        let (status, body) = t.terminal.redeem(&t.app, &code, 10, &key).await;
        assert_eq!(status, 201, "{kind}: {body}");
        assert_eq!(body["replayed"], false, "{kind}: {body}");
        let (status, again) = t.terminal.redeem(&t.app, &code, 10, &key).await;
        assert_eq!(
            (status, &again["redemption_id"]),
            (201, &body["redemption_id"]),
            "{again}"
        );
        assert_eq!(again["replayed"], true, "{again}");
    }
    assert_eq!(balance(&t).await, 70);
}
