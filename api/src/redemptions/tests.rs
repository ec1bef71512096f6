//! The till's calls over real HTTP: signed by an enrolled terminal, paid
//! with codes from a registered phone, against real Postgres and Redis.

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;
use serde_json::json;
use uuid::Uuid;

use crate::ledger::{self, Operation};
use crate::testing::customer::{TestPhone, get, sign_up};
use crate::testing::terminal::{Signed, TestTerminal, enrolled_terminal};
use crate::testing::{TestApp, spawn_app};

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub(super) struct Till {
    pub app: TestApp,
    pub merchant: crate::testing::TestMerchant,
    pub terminal: TestTerminal,
    pub phone: TestPhone,
    pub account: tillcode_protocol::AccountId,
}

/// A terminal, and a customer holding 100 points.
pub(super) async fn till() -> Till {
    till_on(spawn_app().await).await
}

/// [`till`] on a server of the caller's making.
pub(super) async fn till_on(app: TestApp) -> Till {
    let merchant = app.merchant().await;
    let terminal = enrolled_terminal(&app, merchant.merchant).await;
    let phone = sign_up(&app, merchant.merchant, "ana@example.com").await;
    let (_, balance) = get(&app, "/v1/me/balance", &phone.access_token).await;
    let account: tillcode_protocol::AccountId =
        balance["account_id"].as_str().unwrap().parse().unwrap();
    let accrue = Operation::Accrue {
        account,
        amount: tillcode_protocol::Amount::new(100).unwrap(),
    };
    ledger::post(
        &mut app.db.connect().await,
        &merchant.posting("opening", accrue),
    )
    .await
    .unwrap();
    Till {
        app,
        merchant,
        terminal,
        phone,
        account,
    }
}

pub(super) async fn balance(t: &Till) -> i64 {
    get(&t.app, "/v1/me/balance", &t.phone.access_token).await.1["balance"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn an_offline_code_redeems_once_and_a_second_time_is_refused_as_replayed() {
    let t = till().await;
    let code = t.phone.offline_code(now_ms());
    let (status, body) = t.terminal.redeem(&t.app, &code, 30, "sale-1").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["balance_after"], 70);
    assert_eq!(body["amount"], 30);
    assert_eq!(body["customer"], "Ana");
    assert_eq!(body["code_kind"], "offline");
    assert_eq!(body["replayed"], false);

    let (status, body) = t.terminal.redeem(&t.app, &code, 30, "sale-2").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["type"], "https://tillcode.dev/problems/code-replayed");
    assert_eq!(balance(&t).await, 70);
}

#[tokio::test]
async fn a_retried_redemption_with_the_same_key_returns_the_same_answer_and_debits_once() {
    let t = till().await;
    let code = t.phone.offline_code(now_ms());
    let (_, first) = t.terminal.redeem(&t.app, &code, 30, "retry-me").await;
    let (status, again) = t.terminal.redeem(&t.app, &code, 30, "retry-me").await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["redemption_id"], first["redemption_id"]);
    assert_eq!(again["balance_after"], 70);
    assert_eq!(again["replayed"], true);
    assert_eq!(balance(&t).await, 70);
    // The same key for another sale is a client bug, not a retry.
    let (status, body) = t.terminal.redeem(&t.app, &code, 31, "retry-me").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["type"],
        "https://tillcode.dev/problems/idempotency-key-reused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_twenty_terminal_requests_with_one_online_code_succeed_exactly_once() {
    let t = till().await;
    let (_, issued) = t.phone.online_code(&t.app).await;
    let code = issued["payload"].as_str().unwrap().to_owned();
    let keys: Vec<String> = (0..20).map(|i| format!("race-{i}")).collect();
    let attempts = keys.iter().map(|k| t.terminal.redeem(&t.app, &code, 10, k));
    let results = join_all(attempts).await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*status, 422);
        assert_eq!(
            body["type"], "https://tillcode.dev/problems/code-replayed",
            "{body}"
        );
    }
    assert_eq!(balance(&t).await, 90);
}

#[tokio::test]
async fn a_numeric_code_works_once() {
    let t = till().await;
    let code = t.phone.numeric_code(now_ms() / 1000);
    assert_eq!(t.terminal.redeem(&t.app, &code, 5, "n1").await.0, 201);
    let (status, body) = t.terminal.redeem(&t.app, &code, 5, "n2").await;
    assert_eq!(status, 422);
    assert_eq!(body["type"], "https://tillcode.dev/problems/code-replayed");
    assert_eq!(balance(&t).await, 95);
}

#[tokio::test]
async fn one_scan_redeems_and_earns_in_one_sale() {
    let t = till().await;
    let code = t.phone.offline_code(now_ms());
    let (status, body) = t
        .terminal
        .send(
            &t.app,
            Signed {
                method: "POST",
                path: "/v1/redemptions",
                body: Some(json!({"code": code, "amount": 40, "earn": 7, "reference": "order-7"})),
                idempotency_key: Some("sale-7"),
            },
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["balance_after"], 60);
    assert_eq!(body["earned"]["amount"], 7);
    assert_eq!(body["earned"]["balance_after"], 67);
    assert_eq!(balance(&t).await, 67);
    let report = ledger::verify(&mut t.app.db.connect().await).await.unwrap();
    assert!(report.ok, "{:?}", report.violations);
}

#[tokio::test]
async fn insufficient_balance_and_bad_amounts_are_refused_and_change_nothing() {
    let t = till().await;
    let (status, body) = t
        .terminal
        .redeem(&t.app, &t.phone.offline_code(now_ms()), 101, "big")
        .await;
    assert_eq!(
        (status, body["type"].as_str()),
        (
            422,
            Some("https://tillcode.dev/problems/insufficient-balance")
        )
    );
    for amount in [json!(0), json!(-5), json!(9_223_372_036_854_775_808u64)] {
        let (status, body) = t
            .terminal
            .send(
                &t.app,
                Signed {
                    method: "POST",
                    path: "/v1/redemptions",
                    body: Some(json!({"code": "TC1KAAISEM2EKVTHPCEZVK54ZXPO74", "amount": amount})),
                    idempotency_key: Some("bad-amount"),
                },
            )
            .await;
        assert_eq!(status, 422, "{amount}: {body}");
        assert_eq!(body["type"], "https://tillcode.dev/problems/amount-invalid");
    }
    assert_eq!(balance(&t).await, 100);
}

#[tokio::test]
async fn a_tampered_body_unsigned_request_or_missing_idempotency_key_is_refused() {
    let t = till().await;
    let code = t.phone.offline_code(now_ms());
    let request = || Signed {
        method: "POST",
        path: "/v1/redemptions",
        body: Some(json!({"code": code, "amount": 1})),
        idempotency_key: Some("tamper"),
    };
    let tampered = json!({"code": code, "amount": 99}).to_string();
    let (status, body) = t
        .terminal
        .send_tampered(&t.app, request(), Some(&tampered))
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        body["type"],
        "https://tillcode.dev/problems/digest-mismatch"
    );

    let (status, body) = crate::testing::customer::post(
        &t.app,
        "/v1/redemptions",
        None,
        json!({"code": code, "amount": 1}),
    )
    .await;
    assert_eq!(
        (status, body["type"].as_str()),
        (401, Some("https://tillcode.dev/problems/signature-missing"))
    );

    let (status, body) = t
        .terminal
        .send(
            &t.app,
            Signed {
                idempotency_key: None,
                ..request()
            },
        )
        .await;
    assert_eq!(
        (status, body["type"].as_str()),
        (
            400,
            Some("https://tillcode.dev/problems/idempotency-key-missing")
        )
    );
    assert_eq!(balance(&t).await, 100);
}

#[tokio::test]
async fn suspended_and_revoked_terminals_are_refused_on_their_next_request() {
    let t = till().await;
    let state = t.app.state();
    for action in [
        crate::terminals::enrollment::TerminalAction::Suspend,
        crate::terminals::enrollment::TerminalAction::Revoke,
    ] {
        crate::terminals::enrollment::set_status(
            &mut state.db_conn().await.unwrap(),
            None,
            t.terminal.id.into(),
            action,
            "test",
        )
        .await
        .unwrap()
        .unwrap();
        let status = action.transition().1.as_str();
        let (code, body) = t
            .terminal
            .redeem(&t.app, &t.phone.offline_code(now_ms()), 1, status)
            .await;
        assert_eq!(code, 401, "{body}");
        assert_eq!(
            body["type"],
            "https://tillcode.dev/problems/terminal-not-active"
        );
        let (code, me) = t
            .terminal
            .send(
                &t.app,
                Signed {
                    method: "GET",
                    path: "/v1/terminal",
                    body: None,
                    idempotency_key: None,
                },
            )
            .await;
        assert_eq!((code, me["status"].as_str()), (200, Some(status)));
    }
    assert_eq!(balance(&t).await, 100);
}

#[tokio::test]
async fn a_terminal_suspended_while_this_server_remembers_it_is_refused_by_the_posting_itself() {
    let t = till().await;
    // One sale first: the server now holds the terminal's identity and no
    // longer reads its row when a redemption is authenticated.
    let (code, body) = t
        .terminal
        .redeem(
            &t.app,
            &t.phone.offline_code(now_ms() - 1_000),
            10,
            "before",
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let state = t.app.state();
    crate::terminals::enrollment::set_status(
        &mut state.db_conn().await.unwrap(),
        None,
        t.terminal.id.into(),
        crate::terminals::enrollment::TerminalAction::Suspend,
        "test",
    )
    .await
    .unwrap()
    .unwrap();
    let (code, body) = t
        .terminal
        .redeem(&t.app, &t.phone.offline_code(now_ms()), 10, "after")
        .await;
    assert_eq!(
        (code, body["type"].as_str()),
        (
            401,
            Some("https://tillcode.dev/problems/terminal-not-active")
        ),
        "{body}"
    );
    assert_eq!(balance(&t).await, 90);

    // The same at the ledger: a posting that names a suspended terminal
    // writes nothing, however its request got there.
    let (_, me) = get(&t.app, "/v1/me/balance", &t.phone.access_token).await;
    let account = me["account_id"].as_str().unwrap().parse().unwrap();
    let redeem = Operation::Redeem {
        account,
        amount: tillcode_protocol::Amount::new(5).unwrap(),
    };
    let posting = ledger::Posting {
        caller: t.terminal.id,
        context: Some(ledger::SaleContext {
            store: t.terminal.store.into(),
            terminal: t.terminal.id.into(),
            reference: None,
        }),
        ..t.merchant.posting("direct", redeem)
    };
    let refused = ledger::post(&mut t.app.db.connect().await, &posting).await;
    assert!(
        matches!(refused, Err(ledger::LedgerError::TerminalNotActive)),
        "{refused:?}"
    );
    assert_eq!(balance(&t).await, 90);
}

#[tokio::test]
async fn void_restores_the_balance_once_and_refunds_never_exceed_the_redemption() {
    let t = till().await;
    let (_, sale) = t
        .terminal
        .redeem(&t.app, &t.phone.offline_code(now_ms()), 30, "s1")
        .await;
    let id = sale["redemption_id"].as_str().unwrap();
    let void = |key: &'static str| Signed {
        method: "POST",
        path: Box::leak(format!("/v1/redemptions/{id}/void").into_boxed_str()),
        body: Some(json!({})),
        idempotency_key: Some(key),
    };
    let (status, body) = t.terminal.send(&t.app, void("v1")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["balance_after"], 100);
    let (status, body) = t.terminal.send(&t.app, void("v2")).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (409, Some("https://tillcode.dev/problems/already-voided"))
    );
    assert_eq!(balance(&t).await, 100);

    let (_, sale) = t
        .terminal
        .redeem(&t.app, &t.phone.offline_code(now_ms()), 20, "s2")
        .await;
    let path = format!(
        "/v1/redemptions/{}/refunds",
        sale["redemption_id"].as_str().unwrap()
    );
    let refund = |key: &'static str, amount: i64| Signed {
        method: "POST",
        path: Box::leak(path.clone().into_boxed_str()),
        body: Some(json!({"amount": amount})),
        idempotency_key: Some(key),
    };
    assert_eq!(t.terminal.send(&t.app, refund("r1", 15)).await.0, 201);
    let (status, body) = t.terminal.send(&t.app, refund("r2", 6)).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (
            422,
            Some("https://tillcode.dev/problems/refund-exceeds-redemption")
        )
    );
    assert_eq!(balance(&t).await, 95);

    // The till's recent list says what is left to undo, and for whom.
    let (status, page) = t
        .terminal
        .send(
            &t.app,
            Signed {
                method: "GET",
                path: "/v1/terminal/transactions",
                body: None,
                idempotency_key: None,
            },
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    let undo: Vec<_> = items
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap(),
                i["amount"].as_i64().unwrap(),
                i["voided"].as_bool(),
                i["refundable"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        undo,
        [
            ("refund", 15, None, None),
            ("redeem", 20, Some(false), Some(5)),
            ("void", 30, None, None),
            ("redeem", 30, Some(true), Some(0)),
        ]
    );
    let name = items[0]["customer"].as_str().unwrap();
    assert!(
        !name.is_empty() && !name.contains('@'),
        "a masked name: {name}"
    );
}

#[tokio::test]
async fn accruals_by_code_or_customer_id_and_the_terminals_recent_list() {
    let t = till().await;
    let accrue = |body: serde_json::Value, key: &'static str| Signed {
        method: "POST",
        path: "/v1/accruals",
        body: Some(body),
        idempotency_key: Some(key),
    };
    let (status, body) = t
        .terminal
        .send(
            &t.app,
            accrue(json!({"customer_id": t.phone.customer, "amount": 12}), "a1"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["balance_after"], 112);
    let code = t.phone.offline_code(now_ms());
    let (status, body) = t
        .terminal
        .send(&t.app, accrue(json!({"code": code, "amount": 8}), "a2"))
        .await;
    assert_eq!(
        (status, body["balance_after"].as_i64()),
        (201, Some(120)),
        "{body}"
    );
    let (status, _) = t
        .terminal
        .send(
            &t.app,
            accrue(json!({"customer_id": Uuid::now_v7(), "amount": 1}), "a3"),
        )
        .await;
    assert_eq!(status, 404);

    let (status, page) = t
        .terminal
        .send(
            &t.app,
            Signed {
                method: "GET",
                path: "/v1/terminal/transactions?limit=1",
                body: None,
                idempotency_key: None,
            },
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["amount"], 8);
    assert_eq!(page["items"][0]["code_kind"], "offline");
    assert!(page["next_cursor"].is_string());
}
