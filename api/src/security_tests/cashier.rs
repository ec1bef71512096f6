//! A dishonest cashier with a genuine terminal: refunds to themselves,
//! sales in a loop, points for purchases that never happened.

use serde_json::json;
use uuid::Uuid;

use super::{Shop, now_ms, problem, set_limits, signed_post, staff_sign_in};
use crate::staff::Role;
use crate::testing::customer::sign_up;
use crate::testing::terminal::enrolled_terminal;

#[tokio::test]
async fn a_refund_credits_only_the_redemptions_own_account_and_never_more_than_it_took() {
    let shop = Shop::open().await;
    let accomplice = sign_up(&shop.app, shop.merchant.merchant, "bo@example.com").await;
    let (_, sale) = shop
        .terminal
        .redeem(&shop.app, &shop.phone.offline_code(now_ms()), 30, "sale")
        .await;
    let refunds = format!(
        "/v1/redemptions/{}/refunds",
        sale["redemption_id"].as_str().unwrap()
    );
    let (_, accrual) = signed_post(
        &shop.app,
        &shop.terminal,
        "/v1/accruals",
        json!({"customer_id": accomplice.customer, "amount": 5}),
        "bo-earns",
    )
    .await;

    // There is no field to name another account...
    let (status, body) = signed_post(
        &shop.app,
        &shop.terminal,
        &refunds,
        json!({"amount": 30, "customer_id": accomplice.customer}),
        "redirect",
    )
    .await;
    assert_eq!(
        (status, &body["type"]),
        (400, &problem("validation-failed"))
    );
    // ...an accrual is not something to refund...
    let (status, body) = signed_post(
        &shop.app,
        &shop.terminal,
        &format!(
            "/v1/redemptions/{}/refunds",
            accrual["accrual_id"].as_str().unwrap()
        ),
        json!({"amount": 5}),
        "refund-an-accrual",
    )
    .await;
    assert_eq!((status, &body["type"]), (422, &problem("not-a-redemption")));
    // ...and a terminal of another merchant cannot see the sale at all.
    let other = shop.app.merchant().await;
    let foreign = enrolled_terminal(&shop.app, other.merchant).await;
    let (status, body) = signed_post(
        &shop.app,
        &foreign,
        &refunds,
        json!({"amount": 1}),
        "foreign",
    )
    .await;
    assert_eq!(
        (status, &body["type"]),
        (404, &problem("transfer-not-found"))
    );

    let (status, body) = signed_post(
        &shop.app,
        &shop.terminal,
        &refunds,
        json!({"amount": 30}),
        "r1",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = signed_post(
        &shop.app,
        &shop.terminal,
        &refunds,
        json!({"amount": 1}),
        "r2",
    )
    .await;
    assert_eq!(
        (status, &body["type"]),
        (422, &problem("refund-exceeds-redemption"))
    );
    assert_eq!(
        shop.balance().await,
        100,
        "the customer got back what was taken"
    );
    assert_eq!(
        shop.balance_of(&accomplice).await,
        5,
        "and no one else got anything"
    );
}

#[tokio::test]
async fn a_terminal_past_the_merchants_hourly_limit_is_refused_before_any_debit() {
    let shop = Shop::open().await;
    set_limits(&shop.app, shop.merchant.merchant, 2, 30).await;
    for key in ["loop-1", "loop-2"] {
        let (status, body) = shop
            .terminal
            .redeem(&shop.app, &shop.phone.offline_code(now_ms()), 1, key)
            .await;
        assert_eq!(status, 201, "{body}");
        // Offline tokens of one device must be issued at distinct milliseconds.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let (status, body) = shop
        .terminal
        .redeem(&shop.app, &shop.phone.offline_code(now_ms()), 1, "loop-3")
        .await;
    assert_eq!((status, &body["type"]), (429, &problem("velocity-limit")));
    assert!(
        body["detail"].as_str().unwrap().contains("terminal"),
        "{body}"
    );
    assert_eq!(shop.balance().await, 98);
}

#[tokio::test]
async fn every_accrual_names_its_terminal_and_store_in_the_merchants_export() {
    let shop = Shop::open().await;
    let (status, body) = signed_post(
        &shop.app,
        &shop.terminal,
        "/v1/accruals",
        json!({"customer_id": shop.phone.customer, "amount": 40, "reference": "no-receipt"}),
        "phantom-sale",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let accrual: Uuid = body["accrual_id"].as_str().unwrap().parse().unwrap();
    let owner = staff_sign_in(&shop.app, shop.merchant.merchant, Role::Owner).await;
    let (status, csv) = owner
        .get(&shop.app, "/v1/dashboard/export/ledger.csv")
        .await;
    assert_eq!(status, 200, "{csv}");
    let row = csv
        .lines()
        .find(|l| l.starts_with(&accrual.to_string()))
        .unwrap_or_else(|| panic!("no row for {accrual} in {csv}"));
    for field in [
        "accrue",
        &shop.terminal.id.to_string(),
        &shop.terminal.store.to_string(),
        "no-receipt",
    ] {
        assert!(row.contains(field), "{field} missing from {row}");
    }
}
