//! Weak keys wherever a public key enters: a small-order point "verifies"
//! forged signatures under plain Ed25519, so it must never be stored.

use serde_json::json;
use uuid::Uuid;

use super::{Shop, problem};
use crate::schema::stores;
use crate::terminals::enrollment;
use crate::testing::customer::post;

/// The identity point: a valid encoding of a point of order 1.
fn identity_key() -> String {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    hex::encode(identity)
}

#[tokio::test]
async fn a_small_order_key_can_neither_enroll_a_terminal_nor_join_a_link() {
    let shop = Shop::open().await;
    let store = Uuid::now_v7();
    {
        use diesel::ExpressionMethods;
        use diesel_async::RunQueryDsl;
        diesel::insert_into(stores::table)
            .values((
                stores::merchant_id.eq(Uuid::from(shop.merchant.merchant)),
                stores::id.eq(store),
                stores::code.eq("WEAK"),
                stores::name.eq("Store"),
            ))
            .execute(&mut shop.app.db.connect().await)
            .await
            .unwrap();
    }
    let created = enrollment::create(&mut shop.app.db.connect().await, store, "manager")
        .await
        .unwrap();
    let (status, body) = post(
        &shop.app,
        "/v1/terminals/enroll",
        None,
        json!({"store_id": store, "code": created.code, "name": "Evil till",
               "public_key": identity_key(), "signature": hex::encode([0u8; 64])}),
    )
    .await;
    assert_eq!(
        (status, &body["type"]),
        (422, &problem("weak-key")),
        "{body}"
    );

    let (status, link) = post(
        &shop.app,
        "/v1/me/links",
        Some(&shop.phone.access_token),
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    let (status, body) = post(
        &shop.app,
        "/v1/links/join",
        None,
        json!({"payload": link["payload"], "name": "Evil tablet",
               "public_key": identity_key(), "signature": hex::encode([0u8; 64])}),
    )
    .await;
    assert_eq!(
        (status, &body["type"]),
        (422, &problem("weak-key")),
        "{body}"
    );
}
