//! Refusals at the till become fraud events and counts.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::schema::fraud_events;
use crate::testing::customer::sign_up;
use crate::testing::spawn_app;
use crate::testing::terminal::enrolled_terminal;

#[tokio::test]
async fn a_replayed_code_and_a_bad_one_are_recorded_without_the_code_and_counted() {
    let app = spawn_app().await;
    let merchant = app.merchant().await;
    let terminal = enrolled_terminal(&app, merchant.merchant).await;
    let phone = sign_up(&app, merchant.merchant, "ana@example.com").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let code = phone.offline_code(now);
    // No balance: refused as insufficient, which leaves the code unspent...
    assert_eq!(terminal.redeem(&app, &code, 1, "k1").await.0, 422);
    // ...for the accrual it then pays; showing it again is a replay, and
    // garbage is malformed.
    let accrual = crate::testing::terminal::Signed {
        method: "POST",
        path: "/v1/accruals",
        body: Some(serde_json::json!({"code": code, "amount": 5})),
        idempotency_key: Some("k2"),
    };
    assert_eq!(terminal.send(&app, accrual).await.0, 201);
    assert_eq!(terminal.redeem(&app, &code, 1, "k3").await.0, 422);
    assert_eq!(
        terminal.redeem(&app, "TC1Fnot-a-code", 1, "k4").await.0,
        422
    );

    type Row = (
        String,
        Option<String>,
        Option<uuid::Uuid>,
        Option<uuid::Uuid>,
    );
    let rows: Vec<Row> = fraud_events::table
        .order(fraud_events::id.asc())
        .select((
            fraud_events::reason,
            fraud_events::code_kind,
            fraud_events::terminal_id,
            fraud_events::device_id,
        ))
        .load(&mut app.db.connect().await)
        .await
        .unwrap();
    let reasons: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        reasons,
        ["insufficient-balance", "code-replayed", "malformed-code"]
    );
    assert!(rows.iter().all(|r| r.2 == Some(terminal.id)));
    assert_eq!(rows[0].1.as_deref(), Some("offline"));
    assert_eq!(rows[0].3, Some(phone.device));

    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // /metrics is per server; the rows above were recorded by this one.
    assert!(
        metrics.contains(r#"tillcode_fraud_events_total{reason="code-replayed"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"tillcode_sales_total{code_kind="offline",operation="redeem",result="insufficient-balance"} 1"#), "{metrics}");
}

#[test]
fn the_recorded_reasons_are_a_closed_set_matching_the_table() {
    let sql = include_str!("../../../migrations/2026-11-23-000004_fraud/up.sql");
    for kind in super::REASONS {
        assert!(
            sql.contains(&format!("'{}'", kind.slug())),
            "{} missing from the CHECK",
            kind.slug()
        );
    }
}

async fn set_limits(
    app: &crate::testing::TestApp,
    merchant: tillcode_protocol::MerchantId,
    customer_max: i32,
    bad_codes_max: i32,
) {
    use crate::schema::merchant_settings;
    diesel::insert_into(merchant_settings::table)
        .values((
            merchant_settings::merchant_id.eq(uuid::Uuid::from(merchant)),
            merchant_settings::customer_max_count.eq(customer_max),
            merchant_settings::terminal_bad_codes_max.eq(bad_codes_max),
        ))
        .execute(&mut app.db.connect().await)
        .await
        .unwrap();
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn a_customer_past_the_merchants_velocity_limit_is_refused_before_any_debit() {
    let app = spawn_app().await;
    let merchant = app.merchant().await;
    set_limits(&app, merchant.merchant, 2, 30).await;
    let terminal = enrolled_terminal(&app, merchant.merchant).await;
    let phone = sign_up(&app, merchant.merchant, "ana@example.com").await;
    let accrue = crate::ledger::Operation::Accrue {
        account: {
            let (_, b) =
                crate::testing::customer::get(&app, "/v1/me/balance", &phone.access_token).await;
            b["account_id"].as_str().unwrap().parse().unwrap()
        },
        amount: tillcode_protocol::Amount::new(100).unwrap(),
    };
    crate::ledger::post(
        &mut app.db.connect().await,
        &merchant.posting("opening", accrue),
    )
    .await
    .unwrap();
    for key in ["v1", "v2"] {
        let (status, body) = terminal
            .redeem(&app, &phone.offline_code(now_ms()), 1, key)
            .await;
        assert_eq!(status, 201, "{body}");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let (status, body) = terminal
        .redeem(&app, &phone.offline_code(now_ms()), 1, "v3")
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["type"], "https://tillcode.dev/problems/velocity-limit");
    let (_, balance) =
        crate::testing::customer::get(&app, "/v1/me/balance", &phone.access_token).await;
    assert_eq!(balance["balance"], 98);
}

#[tokio::test]
async fn a_terminal_that_keeps_submitting_bad_codes_is_suspended_and_a_manager_can_resume_it() {
    let app = spawn_app().await;
    let merchant = app.merchant().await;
    set_limits(&app, merchant.merchant, 20, 3).await;
    let terminal = enrolled_terminal(&app, merchant.merchant).await;
    for key in ["b1", "b2", "b3"] {
        assert_eq!(terminal.redeem(&app, "TC1KAAAA", 1, key).await.0, 422);
    }
    let (status, body) = terminal.redeem(&app, "TC1KAAAA", 1, "b4").await;
    assert_eq!(
        (status, body["type"].as_str()),
        (
            401,
            Some("https://tillcode.dev/problems/terminal-not-active")
        )
    );
    let suspended: i64 = fraud_events::table
        .filter(fraud_events::reason.eq("terminal-auto-suspended"))
        .count()
        .get_result(&mut app.db.connect().await)
        .await
        .unwrap();
    assert_eq!(suspended, 1);
    let state = app.state();
    crate::terminals::enrollment::set_status(
        &mut state.db_conn().await.unwrap(),
        None,
        terminal.id.into(),
        crate::terminals::enrollment::TerminalAction::Approve,
        "manager",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(terminal.redeem(&app, "TC1KAAAA", 1, "b5").await.0, 422);
}
