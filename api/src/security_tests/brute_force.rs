//! Guessing: payment codes at the till, enrollment codes and link codes.
//! Every code is too long to guess in the attempts allowed, and the attempts
//! are cut short: a terminal submitting refused codes is suspended, a store's
//! enrollments die after five wrong codes, one address may try only so often.

use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};
use serde_json::json;
use tillcode_protocol::{
    EnrollmentCode, LinkCode, NumericCode, NumericHandle, OfflineToken, OnlineKey,
    link_device_message,
};
use uuid::Uuid;

use super::{Shop, now_ms, problem, set_limits};
use crate::schema::{fraud_events, stores};
use crate::terminals::enrollment::{self, MAX_FAILED_ATTEMPTS};
use crate::testing::customer::{get, post};
use crate::testing::terminal::enroll;
use crate::testing::{TestApp, spawn_app};

#[tokio::test]
async fn guessed_online_numeric_and_offline_codes_never_pay_and_get_the_terminal_suspended() {
    let shop = Shop::open().await;
    // Three guesses of each kind, then the terminal is out.
    set_limits(&shop.app, shop.merchant.merchant, 600, 9).await;
    let mut guesses = Vec::new();
    for _ in 0..3 {
        guesses.push(("code-expired", OnlineKey::generate(&mut OsRng).payload()));
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        let handle = NumericHandle::generate(&mut OsRng);
        guesses.push((
            "unknown-device",
            NumericCode::generate(handle, &secret, now_ms() / 1000).display(),
        ));
        // The customer's real device handle, signed by the wrong key.
        let forged = OfflineToken::sign(
            &SigningKey::generate(&mut OsRng),
            shop.merchant.merchant,
            shop.phone.device_handle,
            now_ms(),
            [7; 4],
        );
        guesses.push(("bad-code-signature", forged.payload()));
    }
    for (i, (refusal, guess)) in guesses.iter().enumerate() {
        let (status, body) = shop
            .terminal
            .redeem(&shop.app, guess, 1, &format!("guess-{i}"))
            .await;
        assert_eq!((status, &body["type"]), (422, &problem(refusal)), "{guess}");
    }
    let (status, body) = shop
        .terminal
        .redeem(&shop.app, &shop.phone.offline_code(now_ms()), 1, "honest")
        .await;
    assert_eq!(
        (status, &body["type"]),
        (401, &problem("terminal-not-active")),
        "after {} refused guesses the terminal is suspended",
        guesses.len()
    );
    assert_eq!(shop.balance().await, 100);
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let suspensions: i64 = fraud_events::table
        .filter(fraud_events::reason.eq(crate::fraud::TERMINAL_AUTO_SUSPENDED))
        .filter(fraud_events::terminal_id.eq(shop.terminal.id))
        .count()
        .get_result(&mut shop.app.db.connect().await)
        .await
        .unwrap();
    assert_eq!(suspensions, 1);
}

async fn store(app: &TestApp, merchant: tillcode_protocol::MerchantId) -> Uuid {
    use diesel::ExpressionMethods;
    use diesel_async::RunQueryDsl;
    let id = Uuid::now_v7();
    diesel::insert_into(stores::table)
        .values((
            stores::merchant_id.eq(Uuid::from(merchant)),
            stores::id.eq(id),
            stores::code.eq(format!("S-{}", id.simple())),
            stores::name.eq("Store"),
        ))
        .execute(&mut app.db.connect().await)
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn wrong_enrollment_codes_kill_the_stores_live_enrollments_and_no_other_stores() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let (attacked, next_door) = (store(&app, merchant).await, store(&app, merchant).await);
    let mut conn = app.db.connect().await;
    let target = enrollment::create(&mut conn, attacked, "manager")
        .await
        .unwrap();
    let neighbour = enrollment::create(&mut conn, next_door, "manager")
        .await
        .unwrap();
    let key = SigningKey::generate(&mut OsRng);
    for _ in 0..MAX_FAILED_ATTEMPTS {
        let guess = EnrollmentCode::generate(&mut OsRng).display();
        let (status, body) = enroll(&app, attacked, &guess, &key, "Rogue till").await;
        assert_eq!((status, &body["type"]), (404, &problem("not-found")));
    }
    // Now even the right code is too late: the manager makes a new one.
    let (status, body) = enroll(&app, attacked, &target.code, &key, "Rogue till").await;
    assert_eq!((status, &body["type"]), (404, &problem("not-found")));
    let (status, body) = enroll(&app, next_door, &neighbour.code, &key, "Till 2").await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn enrollment_attempts_from_one_address_are_rate_limited() {
    let app = spawn_app().await;
    let key = SigningKey::generate(&mut OsRng);
    // A store with no enrollment: every guess is wrong; the 31st is not
    // even looked at.
    let nowhere = Uuid::now_v7();
    for _ in 0..30 {
        let guess = EnrollmentCode::generate(&mut OsRng).display();
        assert_eq!(enroll(&app, nowhere, &guess, &key, "Rogue").await.0, 404);
    }
    let guess = EnrollmentCode::generate(&mut OsRng).display();
    let (status, body) = enroll(&app, nowhere, &guess, &key, "Rogue").await;
    assert_eq!((status, &body["type"]), (429, &problem("rate-limited")));
}

#[tokio::test]
async fn guessed_link_codes_find_no_link_and_add_no_device() {
    let shop = Shop::open().await;
    let (status, _) = post(
        &shop.app,
        "/v1/me/links",
        Some(&shop.phone.access_token),
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "a live link the guesses could hit");
    let key = SigningKey::generate(&mut OsRng);
    for _ in 0..20 {
        let guess = LinkCode::generate(&mut OsRng);
        let signature = ed25519_dalek::Signer::sign(
            &key,
            &link_device_message(&guess, &key.verifying_key(), "Rogue"),
        );
        let (status, body) = post(
            &shop.app,
            "/v1/links/join",
            None,
            json!({
                "payload": guess.payload(),
                "name": "Rogue",
                "public_key": hex::encode(key.verifying_key().as_bytes()),
                "signature": hex::encode(signature.to_bytes()),
            }),
        )
        .await;
        assert_eq!((status, &body["type"]), (404, &problem("not-found")));
    }
    let (_, devices) = get(&shop.app, "/v1/me/devices", &shop.phone.access_token).await;
    assert_eq!(devices.as_array().map(Vec::len), Some(1), "{devices}");
}
