//! Group commit: postings that share one transaction keep their own
//! outcomes and every guarantee a posting made alone has.

use std::time::Duration;

use super::*;

fn redeem_from(m: &TestMerchant, key: &str, account: AccountId, n: i64) -> Posting {
    m.posting(
        key,
        Operation::Redeem {
            account,
            amount: amount(n),
        },
    )
}

/// A writer over `pool_size` connections of the fixture's database, and the
/// metrics it reports to.
fn start_writer(f: &Fixture, pool_size: usize, settings: BatchSettings) -> (Writer, WriterMetrics) {
    let metrics = WriterMetrics::unregistered().unwrap();
    let writer = Writer::start(f.db.pool(pool_size), settings, metrics.clone());
    (writer, metrics)
}

/// How many postings `tillcode_ledger_posting_seconds` counted as queued
/// and as written.
fn posting_stage_counts(metrics: &WriterMetrics) -> (u64, u64) {
    let stage = |name: &str| {
        metrics
            .posting_seconds
            .with_label_values(&[name])
            .get_sample_count()
    };
    (stage("queued"), stage("written"))
}

#[tokio::test]
async fn a_batch_commits_its_good_postings_and_refuses_each_bad_one_alone() {
    let mut f = fixture().await;
    let rich = f.merchant.account_with(&mut f.conn, 100).await;
    let poor = f.merchant.account_with(&mut f.conn, 5).await;
    let redemption = redeem(&mut f, rich, 10).await;
    let m = &f.merchant;
    let batch = vec![
        redeem_from(m, "ok-1", rich, 30),
        redeem_from(m, "too-much", poor, 6),
        m.posting("void-1", Operation::Void { redemption }),
        // The same redemption voided again in the same transaction.
        m.posting("void-2", Operation::Void { redemption }),
        redeem_from(m, "ok-2", poor, 5),
        // A retry of ok-1 inside the same batch replays its answer.
        redeem_from(m, "ok-1", rich, 30),
        // The key of ok-2 reused for another request.
        redeem_from(m, "ok-2", poor, 1),
        m.posting(
            "over-limit",
            Operation::Accrue {
                account: rich,
                amount: amount(1_000_000_000_000_000),
            },
        ),
    ];
    let transfers_before = transfer_count(&mut f.conn).await;

    let results = post_batch(&mut f.conn, &batch).await;

    assert_eq!(results.len(), batch.len());
    let first = results[0].as_ref().unwrap();
    assert!(!first.replayed);
    // Named when it was refused, in the batch's order: the 5 it could not
    // cover were still there (ok-2, later in the batch, spent them).
    assert!(matches!(
        results[1],
        Err(LedgerError::InsufficientBalance { available: 5 })
    ));
    let void = results[2].as_ref().unwrap();
    assert_eq!(void.transfer.balance_change, 10);
    assert!(matches!(results[3], Err(LedgerError::AlreadyVoided)));
    assert_eq!(results[4].as_ref().unwrap().transfer.balance_after, 0);
    let retry = results[5].as_ref().unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.transfer, first.transfer);
    assert!(matches!(results[6], Err(LedgerError::IdempotencyKeyReused)));
    assert!(matches!(results[7], Err(LedgerError::BalanceLimit)));
    // 100 - 10 (before) - 30 + 10 (void) = 70; the poor account spent all 5.
    assert_eq!(balance(&mut f.conn, &f.merchant, rich).await, 70);
    assert_eq!(balance(&mut f.conn, &f.merchant, poor).await, 0);
    assert_eq!(transfer_count(&mut f.conn).await, transfers_before + 3);
    assert_ledger_sound(&mut f.conn).await;
}

/// Postings on different accounts share statements (the set path of
/// `ledger_post_batch_v1`): a
/// refusal inside the set stays a refusal of its own, and anything that
/// raises (here a key already taken) sends the batch the old way, posting by
/// posting. Both must give the answers a posting alone gets.
#[tokio::test]
async fn postings_of_different_accounts_post_together_and_each_bad_one_is_still_refused_alone() {
    let mut f = fixture().await;
    let a = f.merchant.account_with(&mut f.conn, 100).await;
    let b = f.merchant.account_with(&mut f.conn, 5).await;
    let c = f.merchant.account_with(&mut f.conn, 100).await;
    let d = f.merchant.account_with(&mut f.conn, 100).await;
    let earlier = post(&mut f.conn, &redeem_from(&f.merchant, "taken", d, 1))
        .await
        .unwrap();
    let m = &f.merchant;

    let together = vec![
        redeem_from(m, "a-1", a, 30),
        redeem_from(m, "b-1", b, 6),
        redeem_from(m, "c-1", c, 40),
    ];
    let results = post_batch(&mut f.conn, &together).await;
    assert_eq!(results[0].as_ref().unwrap().transfer.balance_after, 70);
    assert!(matches!(
        results[1],
        Err(LedgerError::InsufficientBalance { available: 5 })
    ));
    assert_eq!(results[2].as_ref().unwrap().transfer.balance_after, 60);

    let with_a_retry = vec![
        redeem_from(m, "a-2", a, 20),
        redeem_from(m, "taken", d, 1),
        redeem_from(m, "b-2", b, 5),
    ];
    let results = post_batch(&mut f.conn, &with_a_retry).await;
    assert_eq!(results[0].as_ref().unwrap().transfer.balance_after, 50);
    let retry = results[1].as_ref().unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.transfer, earlier.transfer);
    assert_eq!(results[2].as_ref().unwrap().transfer.balance_after, 0);

    for (account, expected) in [(a, 50), (b, 0), (c, 60), (d, 99)] {
        assert_eq!(balance(&mut f.conn, &f.merchant, account).await, expected);
    }
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test]
async fn redemptions_of_one_account_in_one_batch_never_take_it_below_zero() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 25).await;
    let batch: Vec<Posting> = (0..10)
        .map(|i| redeem_from(&f.merchant, &format!("hot-{i}"), account, 10))
        .collect();

    let results = post_batch(&mut f.conn, &batch).await;

    let after: Vec<i64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|p| p.transfer.balance_after)
        .collect();
    assert_eq!(after, vec![15, 5]);
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(LedgerError::InsufficientBalance { available: 5 })))
        .count();
    assert_eq!(refused, 8);
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 5);
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_locking_the_same_accounts_in_opposite_orders_all_commit() {
    let mut f = fixture().await;
    let mut accounts = Vec::new();
    for _ in 0..8 {
        accounts.push(f.merchant.account_with(&mut f.conn, 1_000).await);
    }
    // Sixteen batches over the same eight accounts, half of them listing the
    // accounts backwards: without a lock order these would deadlock.
    let mut tasks = Vec::new();
    for b in 0..16 {
        let mut conn = f.db.connect().await;
        let mut order = accounts.clone();
        if b % 2 == 1 {
            order.reverse();
        }
        let batch: Vec<Posting> = order
            .iter()
            .enumerate()
            .map(|(i, &account)| redeem_from(&f.merchant, &format!("b{b}-{i}"), account, 1))
            .collect();
        tasks.push(tokio::spawn(
            async move { post_batch(&mut conn, &batch).await },
        ));
    }
    for results in join_all(tasks).await {
        for result in results.unwrap() {
            result.unwrap();
        }
    }
    for &account in &accounts {
        assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 1_000 - 16);
    }
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sixty_four_redemptions_through_the_writer_share_transactions_and_let_exactly_ten_through()
 {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 100).await;
    // One writer that waits long enough for every request to queue: the
    // test is about what batching must preserve, not about timing.
    let settings = BatchSettings {
        max: 64,
        linger: Duration::from_millis(300),
        writers: 1,
        ..BatchSettings::default()
    };
    let (writer, metrics) = start_writer(&f, 4, settings);
    let barrier = Arc::new(Barrier::new(64));
    let tasks = (0..64).map(|i| {
        let (writer, barrier) = (writer.clone(), barrier.clone());
        let posting = redeem_from(&f.merchant, &format!("w-{i}"), account, 10);
        tokio::spawn(async move {
            barrier.wait().await;
            writer.post(posting).await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();

    let succeeded = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(LedgerError::InsufficientBalance { .. })))
        .count();
    assert_eq!((succeeded, refused), (10, 54), "{results:?}");
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 0);
    let batches = metrics.batch_size.get_sample_count();
    assert!(
        batches < 64,
        "64 postings took {batches} transactions: nothing was batched"
    );
    assert_eq!(metrics.batch_size.get_sample_sum(), 64.0);
    // Every posting's wait is counted once per stage, in its own batch.
    assert_eq!(posting_stage_counts(&metrics), (64, 64));
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_through_the_writer_with_one_key_have_exactly_one_effect() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 100).await;
    let settings = BatchSettings {
        max: 8,
        linger: Duration::from_millis(20),
        writers: 3,
        ..BatchSettings::default()
    };
    let (writer, _) = start_writer(&f, 4, settings);
    let transfers_before = transfer_count(&mut f.conn).await;
    let tasks = (0..32).map(|_| {
        let writer = writer.clone();
        let posting = redeem_from(&f.merchant, "one-sale", account, 10);
        tokio::spawn(async move { writer.post(posting).await })
    });
    let posted: Vec<Posted> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();

    assert!(posted.iter().all(|p| p.transfer == posted[0].transfer));
    assert_eq!(posted.iter().filter(|p| !p.replayed).count(), 1);
    assert_eq!(transfer_count(&mut f.conn).await, transfers_before + 1);
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 90);
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test]
async fn with_batching_off_the_writer_posts_each_request_on_its_own() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 100).await;
    let settings = BatchSettings {
        max: 1,
        ..BatchSettings::default()
    };
    let (writer, metrics) = start_writer(&f, 2, settings);

    let posted = writer
        .post(redeem_from(&f.merchant, "alone", account, 40))
        .await
        .unwrap();

    assert_eq!(posted.transfer.balance_after, 60);
    assert_eq!(metrics.batch_size.get_sample_count(), 1);
    // No queue: the posting's time is all its own transaction.
    assert_eq!(posting_stage_counts(&metrics), (0, 1));
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lone_posting_is_written_at_once_however_long_the_linger() {
    let mut f = fixture().await;
    let account = f.merchant.account_with(&mut f.conn, 100).await;
    // No other writer is busy, so nothing is worth waiting for: were the
    // linger honoured here, the post would take a minute.
    let settings = BatchSettings {
        max: 64,
        linger: Duration::from_secs(60),
        writers: 2,
        ..BatchSettings::default()
    };
    let (writer, _) = start_writer(&f, 4, settings);
    for key in ["first", "second"] {
        let posting = redeem_from(&f.merchant, key, account, 10);
        let posted = tokio::time::timeout(Duration::from_secs(30), writer.post(posting))
            .await
            .expect("a lone posting waited for the linger")
            .unwrap();
        assert!(!posted.replayed);
    }
    assert_eq!(balance(&mut f.conn, &f.merchant, account).await, 80);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_stuck_on_a_lock_holds_up_the_other_postings_for_the_linger_at_most() {
    let mut f = fixture().await;
    let stuck = f.merchant.account_with(&mut f.conn, 100).await;
    let free = f.merchant.account_with(&mut f.conn, 100).await;
    let settings = BatchSettings {
        max: 64,
        linger: Duration::from_millis(100),
        writers: 2,
        ..BatchSettings::default()
    };
    let (writer, _) = start_writer(&f, 4, settings);
    let (holder, blocked) = stick_a_writer(&mut f, &writer, stuck).await;
    // The other writer gathers for the linger at most, then writes.
    let posting = redeem_from(&f.merchant, "free", free, 10);
    let posted = tokio::time::timeout(Duration::from_secs(30), writer.post(posting))
        .await
        .expect("a posting waited behind a batch stuck on a lock")
        .unwrap();
    assert_eq!(posted.transfer.balance_after, 90);
    assert!(!blocked.is_finished());
    release(holder).await;
    let unblocked = blocked.await.unwrap().unwrap();
    assert_eq!(unblocked.transfer.balance_after, 90);
    assert_ledger_sound(&mut f.conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_posting_that_waited_too_long_for_a_writer_is_refused_unposted() {
    let mut f = fixture().await;
    let stuck = f.merchant.account_with(&mut f.conn, 100).await;
    let queued = f.merchant.account_with(&mut f.conn, 100).await;
    let settings = BatchSettings {
        max: 64,
        linger: Duration::ZERO,
        writers: 1,
        queue_timeout: Duration::from_millis(100),
    };
    let (writer, _) = start_writer(&f, 2, settings);
    // The only writer now waits on the lock...
    let (holder, blocked) = stick_a_writer(&mut f, &writer, stuck).await;
    // ...while this posting queues for longer than the queue timeout.
    let late = tokio::spawn({
        let writer = writer.clone();
        let posting = redeem_from(&f.merchant, "late", queued, 10);
        async move { writer.post(posting).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    release(holder).await;
    assert_eq!(blocked.await.unwrap().unwrap().transfer.balance_after, 90);
    let refused = late.await.unwrap();
    assert!(
        matches!(refused, Err(LedgerError::Unavailable(_))),
        "{refused:?}"
    );
    assert_eq!(balance(&mut f.conn, &f.merchant, queued).await, 100);
    assert_ledger_sound(&mut f.conn).await;
}

/// Another transaction locks `account`'s row, and a posting from it is sent
/// through `writer`: returns once that posting's batch waits on the lock
/// (the lock's holder, to [`release`], and the posting's task).
async fn stick_a_writer(
    f: &mut Fixture,
    writer: &Writer,
    account: AccountId,
) -> (
    AsyncPgConnection,
    tokio::task::JoinHandle<Result<Posted, LedgerError>>,
) {
    let mut holder = f.db.connect().await;
    diesel::sql_query("BEGIN")
        .execute(&mut holder)
        .await
        .unwrap();
    diesel::sql_query("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE")
        .bind::<diesel::sql_types::Uuid, _>(Uuid::from(account))
        .execute(&mut holder)
        .await
        .unwrap();
    let blocked = tokio::spawn({
        let writer = writer.clone();
        let posting = redeem_from(&f.merchant, "stuck", account, 10);
        async move { writer.post(posting).await }
    });
    loop {
        let waiting: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM pg_stat_activity \
              WHERE datname = current_database() AND wait_event_type = 'Lock')",
        ))
        .get_result(&mut f.conn)
        .await
        .unwrap();
        if waiting > 0 {
            return (holder, blocked);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Ends the transaction of [`stick_a_writer`]: the stuck batch goes on.
async fn release(mut holder: AsyncPgConnection) {
    diesel::sql_query("COMMIT")
        .execute(&mut holder)
        .await
        .unwrap();
}
