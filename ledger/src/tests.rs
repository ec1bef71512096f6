//! The ledger against a real PostgreSQL database of its own per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::join_all;
use tillcode_protocol::{AccountId, Amount, TransferId};
use tokio::sync::Barrier;
use uuid::Uuid;

use super::*;
use crate::testing::{TestDatabase, TestMerchant};
use tillcode_db::schema::{accounts, ledger_transfers};

fn amount(n: i64) -> Amount {
    Amount::new(n).unwrap()
}

async fn balance(conn: &mut AsyncPgConnection, m: &TestMerchant, account: AccountId) -> i64 {
    accounts::table
        .find((Uuid::from(m.merchant), Uuid::from(account)))
        .select(accounts::balance)
        .first(conn)
        .await
        .unwrap()
}

async fn transfer_count(conn: &mut AsyncPgConnection) -> i64 {
    ledger_transfers::table
        .count()
        .get_result(conn)
        .await
        .unwrap()
}

async fn assert_ledger_sound(conn: &mut AsyncPgConnection) {
    let report = verify(conn).await.unwrap();
    assert!(report.ok, "ledger violations: {:?}", report.violations);
}

struct Fixture {
    db: TestDatabase,
    conn: AsyncPgConnection,
    merchant: TestMerchant,
}

async fn fixture() -> Fixture {
    let db = TestDatabase::new();
    let mut conn = db.connect().await;
    let merchant = TestMerchant::create(&mut conn).await;
    Fixture { db, conn, merchant }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sixty_four_redemptions_of_ten_from_a_hundred_let_exactly_ten_through() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 100).await;
    let postings = (0..64)
        .map(|i| {
            f.merchant.posting(
                &format!("redeem-{i}"),
                Operation::Redeem {
                    account,
                    amount: amount(10),
                },
            )
        })
        .collect();

    let results = f.db.post_concurrently(postings).await;

    let succeeded = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(LedgerError::InsufficientBalance { .. })))
        .count();
    assert_eq!((succeeded, refused), (10, 54), "{results:?}");
    let mut balances_after: Vec<i64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|p| p.transfer.balance_after)
        .collect();
    balances_after.sort_unstable();
    assert_eq!(balances_after, vec![0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 0);
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_thirty_two_requests_with_one_idempotency_key_have_exactly_one_effect() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 100).await;
    let redeem = || {
        f.merchant.posting(
            "one-sale",
            Operation::Redeem {
                account,
                amount: amount(10),
            },
        )
    };
    let transfers_before = transfer_count(&mut f.conn).await;

    let results =
        f.db.post_concurrently((0..32).map(|_| redeem()).collect())
            .await;

    // Duplicates wait for the first attempt and then replay its answer, so
    // every answer is the one result.
    let posted: Vec<&Posted> = results.iter().map(|r| r.as_ref().unwrap()).collect();
    let first = &posted[0].transfer;
    assert!(posted.iter().all(|p| p.transfer == *first));
    assert_eq!(posted.iter().filter(|p| !p.replayed).count(), 1);
    assert_eq!(first.balance_after, 90);
    assert_eq!(transfer_count(&mut f.conn).await, transfers_before + 1);
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 90);

    let retry = post(&mut f.conn, &redeem()).await.unwrap();
    assert_eq!(retry.transfer, *first);
    assert!(retry.replayed);
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 90);
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test]
async fn a_key_reused_for_a_different_request_is_refused_and_changes_nothing() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 100).await;
    let first = f.merchant.posting(
        "k",
        Operation::Redeem {
            account,
            amount: amount(10),
        },
    );
    post(&mut f.conn, &first).await.unwrap();
    let other = f.merchant.posting(
        "k",
        Operation::Redeem {
            account,
            amount: amount(11),
        },
    );
    let err = post(&mut f.conn, &other).await.unwrap_err();
    assert!(matches!(err, LedgerError::IdempotencyKeyReused), "{err:?}");
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 90);
}

#[tokio::test]
async fn a_refused_request_can_be_retried_with_the_same_key_once_it_can_succeed() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 5).await;
    let redeem = f.merchant.posting(
        "retry-me",
        Operation::Redeem {
            account,
            amount: amount(10),
        },
    );
    let err = post(&mut f.conn, &redeem).await.unwrap_err();
    assert!(
        matches!(err, LedgerError::InsufficientBalance { available: 5 }),
        "{err:?}"
    );
    let top_up = f.merchant.posting(
        "top-up",
        Operation::Accrue {
            account,
            amount: amount(5),
        },
    );
    post(&mut f.conn, &top_up).await.unwrap();
    let posted = post(&mut f.conn, &redeem).await.unwrap();
    assert_eq!((posted.transfer.balance_after, posted.replayed), (0, false));
}

async fn redeem(f: &mut Fixture, account: AccountId, n: i64) -> TransferId {
    let posting = f.merchant.posting(
        &format!("redeem-{}", Uuid::new_v4()),
        Operation::Redeem {
            account,
            amount: amount(n),
        },
    );
    post(&mut f.conn, &posting).await.unwrap().transfer.id
}

#[tokio::test]
async fn a_void_restores_exactly_what_the_redemption_took_and_a_second_void_is_refused() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 100).await;
    let redemption = redeem(&mut f, account, 30).await;

    let void = post(
        &mut f.conn,
        &f.merchant.posting("void-1", Operation::Void { redemption }),
    )
    .await
    .unwrap();
    assert_eq!(void.transfer.kind, TransferKind::Void);
    assert_eq!(void.transfer.balance_change, 30);
    assert_eq!(void.transfer.balance_after, 100);
    assert_eq!(void.transfer.reverses, Some(redemption));

    let transfers = transfer_count(&mut f.conn).await;
    let err = post(
        &mut f.conn,
        &f.merchant.posting("void-2", Operation::Void { redemption }),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LedgerError::AlreadyVoided), "{err:?}");
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 100);
    assert_eq!(transfer_count(&mut f.conn).await, transfers);
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test]
async fn refunds_may_add_up_to_the_redemption_but_never_beyond_it() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 100).await;
    let redemption = redeem(&mut f, account, 30).await;
    let refund = |key: &str, n: i64| {
        f.merchant.posting(
            key,
            Operation::Refund {
                redemption,
                amount: amount(n),
            },
        )
    };
    let r1 = refund("r1", 20);
    let r2 = refund("r2", 11);
    let r3 = refund("r3", 10);

    assert_eq!(
        post(&mut f.conn, &r1).await.unwrap().transfer.balance_after,
        90
    );
    let err = post(&mut f.conn, &r2).await.unwrap_err();
    assert!(
        matches!(err, LedgerError::RefundExceedsRedemption { refundable: 10 }),
        "{err:?}"
    );
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 90);
    assert_eq!(
        post(&mut f.conn, &r3).await.unwrap().transfer.balance_after,
        100
    );
    let err = post(&mut f.conn, &refund("r4", 1)).await.unwrap_err();
    assert!(
        matches!(err, LedgerError::RefundExceedsRedemption { refundable: 0 }),
        "{err:?}"
    );
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test]
async fn a_partly_refunded_redemption_cannot_be_voided_and_a_voided_one_cannot_be_refunded() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 100).await;
    let refunded = redeem(&mut f, account, 30).await;
    let voided = redeem(&mut f, account, 20).await;
    let refund = |key: &str, redemption| {
        f.merchant.posting(
            key,
            Operation::Refund {
                redemption,
                amount: amount(5),
            },
        )
    };
    let (refund_first, refund_voided) = (refund("rf", refunded), refund("rv", voided));
    post(&mut f.conn, &refund_first).await.unwrap();
    post(
        &mut f.conn,
        &f.merchant
            .posting("v", Operation::Void { redemption: voided }),
    )
    .await
    .unwrap();

    let err = post(
        &mut f.conn,
        &f.merchant.posting(
            "v2",
            Operation::Void {
                redemption: refunded,
            },
        ),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LedgerError::RedemptionHasRefunds), "{err:?}");
    let err = post(&mut f.conn, &refund_voided).await.unwrap_err();
    assert!(matches!(err, LedgerError::AlreadyVoided), "{err:?}");
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 75);
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test]
async fn only_redemptions_can_be_voided_or_refunded() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 0).await;
    let accrual = post(
        &mut f.conn,
        &f.merchant.posting(
            "earn",
            Operation::Accrue {
                account,
                amount: amount(10),
            },
        ),
    )
    .await
    .unwrap()
    .transfer
    .id;
    let err = post(
        &mut f.conn,
        &f.merchant.posting(
            "v",
            Operation::Void {
                redemption: accrual,
            },
        ),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LedgerError::NotARedemption), "{err:?}");
    let missing = TransferId::new();
    let err = post(
        &mut f.conn,
        &f.merchant.posting(
            "v2",
            Operation::Void {
                redemption: missing,
            },
        ),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LedgerError::RedemptionNotFound), "{err:?}");
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 10);
}

fn adjust(direction: Direction, n: i64) -> impl Fn(AccountId) -> Operation {
    move |account| Operation::Adjust {
        account,
        direction,
        amount: amount(n),
        reason: Note::reason("till miscount").unwrap(),
        actor: Note::actor("manager@store-1").unwrap(),
    }
}

#[tokio::test]
async fn an_adjustment_below_zero_is_refused_and_one_within_the_balance_is_recorded_with_its_reason()
 {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 10).await;
    let err = post(
        &mut f.conn,
        &f.merchant
            .posting("a1", adjust(Direction::Debit, 11)(account)),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, LedgerError::InsufficientBalance { available: 10 }),
        "{err:?}"
    );
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 10);

    let posted = post(
        &mut f.conn,
        &f.merchant
            .posting("a2", adjust(Direction::Debit, 10)(account)),
    )
    .await
    .unwrap();
    assert_eq!(posted.transfer.balance_change, -10);
    let (reason, actor): (Option<String>, Option<String>) = ledger_transfers::table
        .find((
            Uuid::from(f.merchant.merchant),
            Uuid::from(posted.transfer.id),
        ))
        .select((ledger_transfers::reason, ledger_transfers::actor))
        .first(&mut f.conn)
        .await
        .unwrap();
    assert_eq!(reason.as_deref(), Some("till miscount"));
    assert_eq!(actor.as_deref(), Some("manager@store-1"));
    assert_ledger_sound(&mut f.conn).await;
}

#[test]
fn blank_oversized_or_control_character_adjustment_reasons_are_refused() {
    assert!(Note::reason("   ").is_err());
    assert!(Note::reason("a\u{0}b").is_err());
    assert!(Note::actor("line\nbreak").is_err());
    assert!(Note::reason(&"x".repeat(501)).is_err());
    assert_eq!(Note::reason("  ok ").unwrap().as_str(), "ok");
    assert!(IdempotencyKey::parse("").is_err());
    assert!(IdempotencyKey::parse("has space").is_err());
    assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
}

#[tokio::test]
async fn zero_negative_and_oversized_amounts_never_reach_the_ledger_and_a_credit_past_the_limit_is_refused()
 {
    // The type makes the first three unrepresentable...
    assert!(Amount::new(0).is_err());
    assert!(Amount::new(-1).is_err());
    assert!(Amount::try_from(i128::from(i64::MAX) + 1).is_err());
    // ...and the ledger refuses a balance beyond the largest one, unchanged.
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 1).await;
    let too_much = f.merchant.posting(
        "big",
        Operation::Accrue {
            account,
            amount: amount(Amount::MAX),
        },
    );
    let err = post(&mut f.conn, &too_much).await.unwrap_err();
    assert!(matches!(err, LedgerError::BalanceLimit), "{err:?}");
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 1);
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test]
async fn another_merchants_account_is_not_found() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 50).await;
    let other = TestMerchant::create(&mut f.conn).await;
    let posting = other.posting(
        "x",
        Operation::Redeem {
            account,
            amount: amount(1),
        },
    );
    let err = post(&mut f.conn, &posting).await.unwrap_err();
    assert!(matches!(err, LedgerError::AccountNotFound), "{err:?}");
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_voids_and_refunds_of_one_redemption_never_give_back_more_than_it_took() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 100).await;
    let redemption = redeem(&mut f, account, 40).await;
    let postings = (0..24)
        .map(|i| {
            let operation = if i % 3 == 0 {
                Operation::Void { redemption }
            } else {
                Operation::Refund {
                    redemption,
                    amount: amount(7),
                }
            };
            f.merchant.posting(&format!("rev-{i}"), operation)
        })
        .collect();

    let results = f.db.post_concurrently(postings).await;

    let given_back: i64 = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|p| p.transfer.balance_change)
        .sum();
    assert!(given_back <= 40, "gave back {given_back}: {results:?}");
    assert!(given_back > 0);
    assert_eq!(
        balance(&mut f.conn, &f.merchant, account).await,
        60 + given_back
    );
    for r in &results {
        if let Err(e) = r {
            assert!(
                matches!(
                    e,
                    LedgerError::AlreadyVoided
                        | LedgerError::RedemptionHasRefunds
                        | LedgerError::RefundExceedsRedemption { .. }
                ),
                "{e:?}"
            );
        }
    }
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test]
async fn verify_reports_a_balance_that_disagrees_with_its_transfers() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 10).await;
    assert_ledger_sound(&mut f.conn).await;
    diesel::update(accounts::table.find((Uuid::from(f.merchant.merchant), Uuid::from(account))))
        .set(accounts::balance.eq(11))
        .execute(&mut f.conn)
        .await
        .unwrap();
    let report = verify(&mut f.conn).await.unwrap();
    assert!(!report.ok);
    assert!(
        report.breaks("every balance equals the sum of its transfers"),
        "{:?}",
        report.violations
    );
}

mod batch;
mod properties;
