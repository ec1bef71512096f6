//! Any sequence of operations, with retried and reused idempotency keys,
//! matches a simple in-memory model and leaves every invariant intact.

use std::cell::RefCell;
use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::*;

#[derive(Clone, Debug)]
enum Step {
    Accrue(i64),
    Redeem(i64),
    RedeemAndEarn(i64, i64),
    /// Void the redemption at this index (modulo how many there are).
    Void(usize),
    Refund(usize, i64),
    Adjust(Direction, i64),
}

fn step() -> impl Strategy<Value = (Step, u8)> {
    let step = prop_oneof![
        (1i64..60).prop_map(Step::Accrue),
        (1i64..60).prop_map(Step::Redeem),
        (1i64..60, 1i64..20).prop_map(|(n, e)| Step::RedeemAndEarn(n, e)),
        any::<usize>().prop_map(Step::Void),
        (any::<usize>(), 1i64..30).prop_map(|(i, n)| Step::Refund(i, n)),
        (
            prop_oneof![Just(Direction::Credit), Just(Direction::Debit)],
            1i64..40
        )
            .prop_map(|(d, n)| Step::Adjust(d, n)),
    ];
    // Key 0..4 reuses one of a few keys (a retry or a misuse); 4.. is fresh.
    (step, 0u8..12)
}

#[derive(Default)]
struct Model {
    balance: i64,
    /// (id, amount taken, amount given back, voided)
    redemptions: Vec<(TransferId, i64, i64, bool)>,
    /// Keys that had an effect: the operation and the answer they got.
    keys: HashMap<String, (Operation, Transfer)>,
}

#[derive(Debug, PartialEq)]
enum Expected {
    Applied(i64),
    Replay,
    Refused(&'static str),
}

impl Model {
    fn expect(&self, key: &str, op: &Operation) -> Expected {
        if let Some((stored, _)) = self.keys.get(key) {
            return if stored == op {
                Expected::Replay
            } else {
                Expected::Refused("key-reused")
            };
        }
        let credit = |n: i64| Expected::Applied(n);
        let debit = |n: i64| {
            if self.balance >= n {
                Expected::Applied(-n)
            } else {
                Expected::Refused("insufficient")
            }
        };
        let target = |id: &TransferId| self.redemptions.iter().find(|r| r.0 == *id).cloned();
        match op {
            Operation::Accrue { amount, .. } => credit(amount.get()),
            Operation::Redeem { amount, .. } | Operation::RedeemAndEarn { amount, .. } => {
                debit(amount.get())
            }
            Operation::Adjust {
                direction, amount, ..
            } => match direction {
                Direction::Credit => credit(amount.get()),
                Direction::Debit => debit(amount.get()),
            },
            Operation::Void { redemption } => match target(redemption) {
                Some((_, _, _, true)) => Expected::Refused("already-voided"),
                Some((_, _, given, _)) if given > 0 => Expected::Refused("has-refunds"),
                Some((_, taken, _, _)) => Expected::Applied(taken),
                None => Expected::Refused("not-found"),
            },
            Operation::Refund { redemption, amount } => match target(redemption) {
                Some((_, _, _, true)) => Expected::Refused("already-voided"),
                Some((_, taken, given, _)) if given + amount.get() > taken => {
                    Expected::Refused("exceeds")
                }
                Some(_) => Expected::Applied(amount.get()),
                None => Expected::Refused("not-found"),
            },
        }
    }

    fn apply(&mut self, key: String, op: Operation, transfer: Transfer, earned: Option<&Transfer>) {
        self.balance = earned.unwrap_or(&transfer).balance_after;
        match &op {
            Operation::Redeem { amount, .. } | Operation::RedeemAndEarn { amount, .. } => {
                self.redemptions.push((transfer.id, amount.get(), 0, false));
            }
            Operation::Void { redemption } => {
                if let Some(r) = self.redemptions.iter_mut().find(|r| r.0 == *redemption) {
                    r.2 = r.1;
                    r.3 = true;
                }
            }
            Operation::Refund { redemption, amount } => {
                if let Some(r) = self.redemptions.iter_mut().find(|r| r.0 == *redemption) {
                    r.2 += amount.get();
                }
            }
            _ => {}
        }
        self.keys.insert(key, (op, transfer));
    }
}

fn refusal(e: &LedgerError) -> &'static str {
    match e {
        LedgerError::IdempotencyKeyReused => "key-reused",
        LedgerError::InsufficientBalance { .. } => "insufficient",
        LedgerError::AlreadyVoided => "already-voided",
        LedgerError::RedemptionHasRefunds => "has-refunds",
        LedgerError::RefundExceedsRedemption { .. } => "exceeds",
        LedgerError::RedemptionNotFound => "not-found",
        _ => "unexpected",
    }
}

async fn run_case(
    conn: &mut AsyncPgConnection,
    steps: Vec<(Step, u8)>,
) -> Result<(), TestCaseError> {
    let merchant = TestMerchant::create(conn).await;
    let account = merchant.account_with(conn, 0).await;
    let mut model = Model::default();
    for (i, (step, key_choice)) in steps.into_iter().enumerate() {
        let pick = |idx: usize| {
            model
                .redemptions
                .get(idx % model.redemptions.len().max(1))
                .map(|r| r.0)
        };
        let op = match step {
            Step::Accrue(n) => Operation::Accrue {
                account,
                amount: amount(n),
            },
            Step::Redeem(n) => Operation::Redeem {
                account,
                amount: amount(n),
            },
            Step::RedeemAndEarn(n, e) => Operation::RedeemAndEarn {
                account,
                amount: amount(n),
                earn: amount(e),
            },
            Step::Adjust(direction, n) => adjust(direction, n)(account),
            Step::Void(idx) => match pick(idx) {
                Some(redemption) => Operation::Void { redemption },
                None => continue,
            },
            Step::Refund(idx, n) => match pick(idx) {
                Some(redemption) => Operation::Refund {
                    redemption,
                    amount: amount(n),
                },
                None => continue,
            },
        };
        let key = if key_choice < 4 {
            format!("shared-{key_choice}")
        } else {
            format!("step-{i}")
        };
        let expected = model.expect(&key, &op);
        let result = post(conn, &merchant.posting(&key, op.clone())).await;
        match (&expected, result) {
            (Expected::Applied(change), Ok(posted)) => {
                prop_assert!(!posted.replayed);
                prop_assert_eq!(posted.transfer.balance_change, *change);
                prop_assert_eq!(posted.transfer.balance_after, model.balance + change);
                if let Operation::RedeemAndEarn { earn, .. } = &op {
                    let earned = posted
                        .earned
                        .as_ref()
                        .ok_or_else(|| TestCaseError::fail("no earning"))?;
                    prop_assert_eq!(earned.balance_change, earn.get());
                    prop_assert_eq!(
                        earned.balance_after,
                        posted.transfer.balance_after + earn.get()
                    );
                } else {
                    prop_assert!(posted.earned.is_none());
                }
                model.apply(key, op, posted.transfer, posted.earned.as_ref());
            }
            (Expected::Replay, Ok(posted)) => {
                prop_assert!(posted.replayed);
                prop_assert_eq!(&posted.transfer, &model.keys[&key].1);
            }
            (Expected::Refused(why), Err(e)) => prop_assert_eq!(*why, refusal(&e), "{:?}", e),
            (expected, got) => {
                return Err(TestCaseError::fail(format!(
                    "step {i}: expected {expected:?}, got {got:?}"
                )));
            }
        }
        prop_assert_eq!(balance(conn, &merchant, account).await, model.balance);
    }
    let report = verify(conn)
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(report.ok, "violations: {:?}", report.violations);
    Ok(())
}

#[test]
fn any_sequence_of_operations_matches_the_model_and_keeps_every_invariant() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = TestDatabase::new();
    let conn = RefCell::new(runtime.block_on(db.connect()));
    let mut runner = TestRunner::new(Config {
        cases: 32,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(step(), 1..40), |steps| {
        runtime.block_on(run_case(&mut conn.borrow_mut(), steps))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
