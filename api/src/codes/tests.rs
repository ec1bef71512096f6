//! The verification function and the ledger's half of replay protection,
//! against real Postgres and Redis.

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;
use serde_json::json;
use tillcode_protocol::{Amount, CodeKind};

use super::*;
use crate::ledger::{self, IdempotencyKey, Operation, Posting};
use crate::state::AppState;
use crate::testing::customer::{TestPhone, post, sign_up};
use crate::testing::{TestApp, TestMerchant, spawn_app};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

struct Scene {
    app: TestApp,
    state: AppState,
    merchant: TestMerchant,
    phone: TestPhone,
}

/// A merchant, and a customer with one registered phone and 100 points.
async fn scene() -> Scene {
    let app = spawn_app().await;
    let merchant = app.merchant().await;
    let phone = sign_up(&app, merchant.merchant, "ana@example.com").await;
    let state = app.state();
    let mut conn = app.db.connect().await;
    let account = account_of(&state, &phone).await;
    ledger::post(
        &mut conn,
        &merchant.posting(
            "opening",
            Operation::Accrue {
                account,
                amount: Amount::new(100).unwrap(),
            },
        ),
    )
    .await
    .unwrap();
    Scene {
        app,
        state,
        merchant,
        phone,
    }
}

async fn account_of(state: &AppState, phone: &TestPhone) -> tillcode_protocol::AccountId {
    use crate::schema::accounts;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let mut conn = state.db_conn().await.unwrap();
    accounts::table
        .filter(accounts::customer_id.eq(phone.customer))
        .select(accounts::id)
        .first::<uuid::Uuid>(&mut conn)
        .await
        .unwrap()
        .into()
}

async fn verify(s: &Scene, payload: &str) -> Result<VerifiedCode, CodeRejection> {
    verify_on(&s.state, s, payload).await
}

/// [`verify`] by a server that has not cached the device (another process,
/// or this one a minute later): it reads the device's status and floors.
async fn verify_uncached(s: &Scene, payload: &str) -> Result<VerifiedCode, CodeRejection> {
    let fresh = AppState {
        devices: Default::default(),
        ..s.state.clone()
    };
    verify_on(&fresh, s, payload).await
}

async fn verify_on(
    state: &AppState,
    s: &Scene,
    payload: &str,
) -> Result<VerifiedCode, CodeRejection> {
    verify_code(
        state,
        s.merchant.merchant,
        payload,
        now_ms(),
        CodeWindows::default(),
        Claimant::unique(),
    )
    .await
    .unwrap()
}

/// What the redemption endpoint will do: verify, then REDEEM with the claim.
async fn redeem(s: &Scene, payload: &str, key: &str) -> Result<ledger::Posted, String> {
    let verified = verify(s, payload)
        .await
        .map_err(|r| format!("verify: {r:?}"))?;
    redeem_verified(s, &verified, key).await
}

async fn redeem_verified(
    s: &Scene,
    verified: &VerifiedCode,
    key: &str,
) -> Result<ledger::Posted, String> {
    let mut conn = s.app.db.connect().await;
    ledger::post(&mut conn, &redemption(s, verified, key))
        .await
        .map_err(|e| format!("ledger: {e:?}"))
}

/// A REDEEM of 10 paid with `verified`, under idempotency key `key`.
fn redemption(s: &Scene, verified: &VerifiedCode, key: &str) -> Posting {
    Posting {
        merchant: s.merchant.merchant,
        caller: crate::testing::TEST_CALLER,
        key: IdempotencyKey::parse(key).unwrap(),
        operation: Operation::Redeem {
            account: verified.account,
            amount: Amount::new(10).unwrap(),
        },
        code: Some(verified.claim.clone()),
        context: None,
        request_fingerprint: None,
    }
}

#[tokio::test]
async fn an_offline_token_made_without_network_verifies_and_names_its_customer() {
    let s = scene().await;
    // OfflineToken::sign touches nothing but the key and the clock.
    let payload = s.phone.offline_code(now_ms());
    let verified = verify(&s, &payload).await.unwrap();
    assert_eq!(verified.kind, CodeKind::Offline);
    assert_eq!(uuid::Uuid::from(verified.customer), s.phone.customer);
    assert_eq!(uuid::Uuid::from(verified.device), s.phone.device);
    assert_eq!(payload.len(), 139);
}

#[tokio::test]
async fn an_offline_token_pays_once_even_when_redis_forgets_it() {
    let s = scene().await;
    let payload = s.phone.offline_code(now_ms());
    let first = verify(&s, &payload).await.unwrap();
    let paid = redeem_verified(&s, &first, "sale-1").await.unwrap();
    assert_eq!(paid.transfer.balance_after, 90);

    assert_eq!(
        verify(&s, &payload).await.unwrap_err(),
        CodeRejection::Replayed
    );

    s.app.flush_redis();
    // Redis no longer knows the token; the device's replay floor in Postgres
    // does, as a server that reads the device sees.
    assert_eq!(
        verify_uncached(&s, &payload).await.unwrap_err(),
        CodeRejection::Replayed
    );
    // This server has the device cached with its floor from before the sale,
    // so its verification lets the token through: the debit refuses it.
    let err = redeem(&s, &payload, "sale-2").await.unwrap_err();
    assert!(err.contains("CodeReplayed"), "{err}");
    // As it refuses the first verification's claim posted again.
    let err = redeem_verified(&s, &first, "sale-3").await.unwrap_err();
    assert!(err.contains("CodeReplayed"), "{err}");
    assert_eq!(balance(&s).await, 90);
}

#[tokio::test]
async fn one_code_posted_twice_in_one_group_commit_pays_once() {
    let s = scene().await;
    let verified = verify(&s, &s.phone.offline_code(now_ms())).await.unwrap();
    let twice = [
        redemption(&s, &verified, "till-a"),
        redemption(&s, &verified, "till-b"),
    ];
    let mut conn = s.app.db.connect().await;

    let results = ledger::post_batch(&mut conn, &twice).await;

    assert_eq!(results[0].as_ref().unwrap().transfer.balance_after, 90);
    assert!(
        matches!(results[1], Err(ledger::LedgerError::CodeReplayed)),
        "{:?}",
        results[1]
    );
    assert_eq!(balance(&s).await, 90);
}

/// Read from Postgres: a flushed Redis also took the device's session.
async fn balance(s: &Scene) -> i64 {
    use crate::schema::accounts;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let account = account_of(&s.state, &s.phone).await;
    accounts::table
        .filter(accounts::id.eq(uuid::Uuid::from(account)))
        .select(accounts::balance)
        .first(&mut s.app.db.connect().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_for_another_merchants_program_is_refused() {
    let s = scene().await;
    let other = s.app.merchant().await;
    let payload = s.phone.offline_code(now_ms());
    let verdict = verify_code(
        &s.state,
        other.merchant,
        &payload,
        now_ms(),
        CodeWindows::default(),
        Claimant::unique(),
    )
    .await
    .unwrap();
    assert_eq!(verdict.unwrap_err(), CodeRejection::WrongMerchant);
}

#[tokio::test]
async fn tokens_outside_the_freshness_window_are_refused() {
    let s = scene().await;
    let now = now_ms();
    assert_eq!(
        verify(&s, &s.phone.offline_code(now - 61_000))
            .await
            .unwrap_err(),
        CodeRejection::Expired
    );
    assert_eq!(
        verify(&s, &s.phone.offline_code(now + 31_000))
            .await
            .unwrap_err(),
        CodeRejection::NotYetValid
    );
}

#[tokio::test]
async fn a_tampered_token_is_refused_as_a_bad_signature() {
    let s = scene().await;
    let payload = s.phone.offline_code(now_ms());
    // Flip a bit of the signature (the last 64 bytes), keeping valid base32.
    let mut chars: Vec<char> = payload.chars().collect();
    let i = chars.len() - 10;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    assert_eq!(
        verify(&s, &tampered).await.unwrap_err(),
        CodeRejection::BadSignature
    );
}

#[tokio::test]
async fn a_token_older_than_one_already_used_is_superseded() {
    let s = scene().await;
    let now = now_ms();
    let older = s.phone.offline_code(now - 2_000);
    let newer = s.phone.offline_code(now - 1_000);
    redeem(&s, &newer, "newer").await.unwrap();
    // Refused by the verification when it reads the device's new floor, or
    // by the posting when it has the device from its cache (still with the
    // floor it had before `newer`): superseded either way, and no debit.
    let refused = redeem(&s, &older, "older").await.unwrap_err();
    assert!(
        refused == format!("verify: {:?}", CodeRejection::Superseded)
            || refused == format!("ledger: {:?}", ledger::LedgerError::CodeSuperseded),
        "{refused}"
    );
    assert_eq!(balance(&s).await, 90);
    // A server that reads the device afresh refuses it before any posting.
    assert_eq!(
        verify_uncached(&s, &older).await.unwrap_err(),
        CodeRejection::Superseded
    );
}

#[tokio::test]
async fn a_device_revoked_by_another_server_while_this_one_remembers_it_pays_nothing() {
    use crate::schema::devices;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let s = scene().await;
    redeem(&s, &s.phone.offline_code(now_ms() - 1_000), "first")
        .await
        .unwrap();
    // Another API process revokes the phone: this one is not told.
    diesel::update(devices::table.filter(devices::id.eq(s.phone.device)))
        .set((
            devices::status.eq(crate::db::DeviceStatus::Revoked),
            devices::revoked_at.eq(diesel::dsl::now),
            devices::totp_secret.eq(None::<Vec<u8>>),
        ))
        .execute(&mut s.app.db.connect().await)
        .await
        .unwrap();
    let refused = redeem(&s, &s.phone.offline_code(now_ms()), "second")
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        format!("ledger: {:?}", ledger::LedgerError::DeviceNotActive)
    );
    assert_eq!(balance(&s).await, 90);
}

#[tokio::test]
async fn unknown_devices_and_malformed_payloads_are_refused() {
    let s = scene().await;
    let stranger = TestPhone {
        device_handle: tillcode_protocol::DeviceHandle([9; 8]),
        ..sign_up(&s.app, s.merchant.merchant, "bo@example.com").await
    };
    assert_eq!(
        verify(&s, &stranger.offline_code(now_ms()))
            .await
            .unwrap_err(),
        CodeRejection::UnknownDevice
    );
    for junk in [
        "",
        "TC1X",
        "TC1KAAAA",
        "hello",
        "TC1KAAISEM2EKVTHPCEZVK54ZXPO74AA",
    ] {
        assert!(
            matches!(verify(&s, junk).await, Err(CodeRejection::Malformed(_))),
            "{junk:?}"
        );
    }
}

#[tokio::test]
async fn codes_of_a_revoked_device_are_refused() {
    let s = scene().await;
    let (status, body) = post(
        &s.app,
        &format!("/v1/me/devices/{}/revoke", s.phone.device),
        Some(&s.phone.access_token),
        json!({}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        verify(&s, &s.phone.offline_code(now_ms()))
            .await
            .unwrap_err(),
        CodeRejection::DeviceRevoked
    );
    assert_eq!(
        verify(&s, &s.phone.numeric_code(now_ms() / 1000))
            .await
            .unwrap_err(),
        CodeRejection::DeviceRevoked
    );
}

#[tokio::test]
async fn an_online_key_works_once_and_never_again() {
    let s = scene().await;
    let (status, body) = s.phone.online_code(&s.app).await;
    assert_eq!(status, 201, "{body}");
    let payload = body["payload"].as_str().unwrap();
    assert_eq!(payload.len(), 30);
    let verified = verify(&s, payload).await.unwrap();
    assert_eq!(verified.kind, CodeKind::Online);
    redeem_verified(&s, &verified, "online-sale").await.unwrap();
    assert_eq!(
        verify(&s, payload).await.unwrap_err(),
        CodeRejection::Replayed
    );
    // With Redis gone the key is unknown, and the debit refuses it anyway.
    s.app.flush_redis();
    assert_eq!(
        verify(&s, payload).await.unwrap_err(),
        CodeRejection::Expired
    );
    assert!(
        redeem_verified(&s, &verified, "again")
            .await
            .unwrap_err()
            .contains("CodeReplayed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_fifty_presentations_of_one_online_key_accept_exactly_one() {
    let s = scene().await;
    let (_, body) = s.phone.online_code(&s.app).await;
    let payload = body["payload"].as_str().unwrap().to_owned();
    let attempts = (0..50).map(|_| {
        let (state, merchant, payload) = (s.state.clone(), s.merchant.merchant, payload.clone());
        tokio::spawn(async move {
            verify_code(
                &state,
                merchant,
                &payload,
                now_ms(),
                CodeWindows::default(),
                Claimant::unique(),
            )
            .await
            .unwrap()
        })
    });
    let verdicts: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(verdicts.iter().filter(|v| v.is_ok()).count(), 1);
    assert!(
        verdicts
            .iter()
            .filter_map(|v| v.as_ref().err())
            .all(|r| *r == CodeRejection::Replayed)
    );
}

#[tokio::test]
async fn a_customer_holds_at_most_five_live_online_keys() {
    let s = scene().await;
    for _ in 0..online::MAX_LIVE_KEYS {
        assert_eq!(s.phone.online_code(&s.app).await.0, 201);
    }
    let (status, body) = s.phone.online_code(&s.app).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["type"], "https://tillcode.dev/problems/rate-limited");
}

#[tokio::test]
async fn numeric_codes_are_accepted_once_per_time_step() {
    let s = scene().await;
    let now = now_ms();
    let code = s.phone.numeric_code(now / 1000);
    let verified = verify(&s, &code).await.unwrap();
    assert_eq!(verified.kind, CodeKind::Numeric);
    redeem_verified(&s, &verified, "typed").await.unwrap();
    assert_eq!(
        verify(&s, &code).await.unwrap_err(),
        CodeRejection::Replayed
    );
    s.app.flush_redis();
    assert_eq!(
        verify(&s, &code).await.unwrap_err(),
        CodeRejection::Replayed
    );
}

#[tokio::test]
async fn repeated_wrong_numeric_codes_lock_only_the_numeric_fallback() {
    let s = scene().await;
    let now_s = now_ms() / 1000;
    // Right handle, wrong TOTP, valid Luhn digit: a guess, not a typo.
    let wrong = tillcode_protocol::NumericCode {
        handle: s.phone.numeric_handle,
        totp: (tillcode_protocol::totp(&s.phone.totp_secret, tillcode_protocol::time_step(now_s))
            + 1)
            % 100_000_000,
    };
    for _ in 0..NUMERIC_MAX_FAILURES_FOR_TEST {
        assert_eq!(
            verify(&s, &wrong.display()).await.unwrap_err(),
            CodeRejection::BadSignature
        );
    }
    assert_eq!(
        verify(&s, &s.phone.numeric_code(now_s)).await.unwrap_err(),
        CodeRejection::Locked
    );
    // Offline tokens of the same device still work.
    assert!(verify(&s, &s.phone.offline_code(now_ms())).await.is_ok());
}

const NUMERIC_MAX_FAILURES_FOR_TEST: u64 = verify::NUMERIC_MAX_FAILURES;

#[tokio::test]
async fn changing_the_password_kills_the_other_devices_and_their_keys() {
    let s = scene().await;
    let (_, signed_in) = post(
        &s.app,
        "/v1/customers/sign-in",
        None,
        json!({"merchant_id": s.merchant.merchant, "email": "ana@example.com", "password": crate::testing::customer::PASSWORD}),
    )
    .await;
    let second = crate::testing::customer::register(
        &s.app,
        s.merchant.merchant,
        "ana@example.com",
        signed_in["sign_in_token"].as_str().unwrap(),
    )
    .await;
    let (_, key) = second.online_code(&s.app).await;
    let live_key = key["payload"].as_str().unwrap().to_owned();

    let (status, body) = post(
        &s.app,
        "/v1/me/password",
        Some(&s.phone.access_token),
        json!({"current_password": crate::testing::customer::PASSWORD, "new_password": "a brand new passphrase"}),
    )
    .await;
    assert_eq!(status, 204, "{body}");

    assert_eq!(
        verify(&s, &second.offline_code(now_ms()))
            .await
            .unwrap_err(),
        CodeRejection::DeviceRevoked
    );
    assert_eq!(
        verify(&s, &live_key).await.unwrap_err(),
        CodeRejection::Expired
    );
    let (status, _) = second.online_code(&s.app).await;
    assert_eq!(status, 401);
    // The device that changed it carries on.
    assert!(verify(&s, &s.phone.offline_code(now_ms())).await.is_ok());
}

#[tokio::test]
async fn an_online_key_shown_at_another_merchant_is_refused_and_stays_spendable_at_its_own() {
    let s = scene().await;
    let other = s.app.merchant().await;
    let (_, body) = s.phone.online_code(&s.app).await;
    let payload = body["payload"].as_str().unwrap();
    let verdict = verify_code(
        &s.state,
        other.merchant,
        payload,
        now_ms(),
        CodeWindows::default(),
        Claimant::unique(),
    )
    .await
    .unwrap();
    assert_eq!(verdict.unwrap_err(), CodeRejection::WrongMerchant);
    assert!(verify(&s, payload).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_paid_redemption_debit_once_and_all_get_its_answer() {
    let s = scene().await;
    let verified = verify(&s, &s.phone.offline_code(now_ms())).await.unwrap();
    let posting = redemption(&s, &verified, "sale-1");
    let answers: Vec<ledger::Posted> = s
        .app
        .db
        .post_concurrently(vec![posting; 16])
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    // The same key and the same code: the retries are answered from the
    // first attempt, never refused as a replayed code.
    assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1);
    assert!(answers.iter().all(|a| a.transfer == answers[0].transfer));
    assert_eq!(answers[0].transfer.balance_after, 90);
    let mut conn = s.app.db.connect().await;
    assert!(ledger::verify(&mut conn).await.unwrap().ok);
}

#[tokio::test]
async fn verify_ledger_reports_a_code_that_paid_from_another_customers_account() {
    use crate::schema::ledger_transfers;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    let s = scene().await;
    redeem(&s, &s.phone.offline_code(now_ms()), "sale-1")
        .await
        .unwrap();
    let mut conn = s.app.db.connect().await;
    assert!(ledger::verify(&mut conn).await.unwrap().ok);

    let other = sign_up(&s.app, s.merchant.merchant, "bo@example.com").await;
    diesel::update(ledger_transfers::table.filter(ledger_transfers::code_device_id.is_not_null()))
        .set(ledger_transfers::code_device_id.eq(other.device))
        .execute(&mut conn)
        .await
        .unwrap();
    let report = ledger::verify(&mut conn).await.unwrap();
    assert!(!report.ok);
    assert!(
        report.breaks("a code pays only from the account of its device's customer"),
        "{:?}",
        report.violations
    );
}

/// A migration's way back must not forget what was spent: reverting the
/// newest migration and applying it again (what an operator's rollback and
/// retry of a release does) keeps every spent code spent and every
/// idempotency key answered, whatever tables the migration moved them to.
#[tokio::test]
async fn spent_codes_and_keys_survive_the_newest_migration_reverted_and_applied_again() {
    use diesel::Connection;
    use diesel_migrations::MigrationHarness;

    let s = scene().await;
    let verified = verify(&s, &s.phone.offline_code(now_ms())).await.unwrap();
    let first = redeem_verified(&s, &verified, "sale-1").await.unwrap();

    let url = s.app.db.url().to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = diesel::pg::PgConnection::establish(&url).unwrap();
        let reverted = conn
            .revert_last_migration(crate::ledger::migrate::MIGRATIONS)
            .unwrap();
        let applied = conn
            .run_pending_migrations(crate::ledger::migrate::MIGRATIONS)
            .unwrap();
        assert_eq!(applied, vec![reverted]);
    })
    .await
    .unwrap();

    let mut conn = s.app.db.connect().await;
    let report = ledger::verify(&mut conn).await.unwrap();
    assert!(report.ok, "{:?}", report.violations);
    // Postgres alone must still know the code and the key.
    s.app.flush_redis();
    let retried = redeem_verified(&s, &verified, "sale-1").await.unwrap();
    assert!(retried.replayed);
    assert_eq!(retried.transfer, first.transfer);
    let err = redeem_verified(&s, &verified, "sale-2").await.unwrap_err();
    assert!(err.contains("CodeReplayed"), "{err}");
}
