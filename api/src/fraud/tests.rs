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
    // No balance: refused as insufficient, which spends the code...
    assert_eq!(terminal.redeem(&app, &code, 1, "k1").await.0, 422);
    // ...so showing it again is a replay; and garbage is malformed.
    assert_eq!(terminal.redeem(&app, &code, 1, "k2").await.0, 422);
    assert_eq!(
        terminal.redeem(&app, "TC1Fnot-a-code", 1, "k3").await.0,
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
