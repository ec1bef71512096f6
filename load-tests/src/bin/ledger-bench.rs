//! Redemption throughput of the ledger's write path alone (no HTTP), with N
//! concurrent callers each on a connection of its own, like pgbench clients;
//! or, with `--batch-max` above 1, all of them posting through the group
//! commit `Writer` the HTTP handlers use.
//! `ops/bench.sh` runs it next to pgbench on the same Postgres.
//!
//! Uses a throw-away database cloned from the migrated template
//! (`TILLCODE_TEST_DATABASE_URL`, an admin URL). Prints one JSON line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use tillcode_ledger::testing::{TestDatabase, TestMerchant};
use tillcode_ledger::{self as ledger, LedgerError, Operation};
use tillcode_protocol::{AccountId, Amount};

#[derive(Parser)]
struct Args {
    /// Concurrent callers, each with its own connection.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// How long to measure.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Accounts to spread redemptions over (pgbench uses the same number).
    #[arg(long, default_value_t = 1000)]
    accounts: usize,
    /// Group commit: most postings per transaction (1: each caller posts on
    /// its own connection, no batching).
    #[arg(long, default_value_t = 1)]
    batch_max: usize,
    /// Group commit: writer tasks (batches in flight).
    #[arg(long, default_value_t = 4)]
    writers: usize,
}

/// A tiny xorshift: the benchmark needs spread, not cryptographic randomness.
struct Spread(u64);

impl Spread {
    fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.concurrency > 0 && args.accounts > 0,
        "need callers and accounts"
    );
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let db = TestDatabase::new();
    let mut setup = db.connect().await;
    let merchant = Arc::new(TestMerchant::create(&mut setup).await);
    let mut accounts = Vec::with_capacity(args.accounts);
    for _ in 0..args.accounts {
        accounts.push(merchant.account_with(&mut setup, 1_000_000_000_000).await);
    }
    let accounts: Arc<Vec<AccountId>> = Arc::new(accounts);

    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let one = Amount::new(1).context("amount")?;
    let settings = ledger::BatchSettings {
        max: args.batch_max.max(1),
        linger: Duration::ZERO,
        writers: args.writers.max(1),
        ..Default::default()
    };
    let metrics = ledger::WriterMetrics::unregistered()?;
    let writer = (settings.max > 1)
        .then(|| ledger::Writer::start(db.pool(settings.writers), settings, metrics.clone()));
    // Without batching each caller has a connection of its own, like a
    // pgbench client; with it the writers' pool is all there is.
    let mut conns = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        conns.push(match writer {
            None => Some(db.connect().await),
            Some(_) => None,
        });
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(caller, mut conn)| {
            let (merchant, accounts) = (merchant.clone(), accounts.clone());
            let (ok, failed) = (ok.clone(), failed.clone());
            let writer = writer.clone();
            tokio::spawn(async move {
                let mut spread = Spread(0x9E37_79B9_7F4A_7C15 ^ (caller as u64 + 1));
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let account = accounts[spread.next(accounts.len())];
                    n += 1;
                    let posting = merchant.posting(
                        &format!("bench-{caller}-{n}"),
                        Operation::Redeem {
                            account,
                            amount: one,
                        },
                    );
                    let posted = match (&writer, conn.as_mut()) {
                        (Some(writer), _) => writer.post(posting).await,
                        (None, Some(conn)) => ledger::post(conn, &posting).await,
                        (None, None) => Err(LedgerError::Contended),
                    };
                    match posted {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(LedgerError::InsufficientBalance { .. }) | Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed);
    let report = ledger::verify(&mut setup).await?;
    anyhow::ensure!(
        report.ok,
        "ledger violations after the run: {:?}",
        report.violations
    );
    println!(
        "{}",
        serde_json::json!({
            "redemptions_per_sec": ok as f64 / elapsed,
            "ok": ok,
            "errors": failed.load(Ordering::Relaxed),
            "concurrency": args.concurrency,
            "seconds": elapsed,
            "accounts": args.accounts,
            "batch_max": settings.max,
            "transactions": metrics.batch_size.get_sample_count(),
            "writers": settings.writers,
        })
    );
    Ok(())
}
