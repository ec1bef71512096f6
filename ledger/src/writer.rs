//! Group commit: concurrent postings share one Postgres transaction.
//!
//! A commit (a WAL flush and a round trip) costs more than the work of one
//! redemption, so under load the handlers hand their postings to a few
//! writer tasks, each of which takes whatever has queued up (up to `max`
//! postings) and records them with [`post_batch`]: one statement, one
//! commit, an outcome per posting. A handler gets its answer only after that
//! commit. With `max` 1 there is no queue: each request posts on its own
//! pooled connection, as before.
//!
//! While every other writer is busy writing, the one collecting waits for
//! more postings (at most `linger`) instead of leaving at once with the few
//! it has: Postgres is working on the others' batches anyway, and a bigger
//! batch costs much less per posting. It goes as soon as another writer is
//! free, so a quiet store never waits, and a batch stuck on a lock holds up
//! the others' postings for `linger` at most.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use tokio::time::Instant;

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, Opts};
use tillcode_db::{DbConn, DbPools};

use crate::error::LedgerError;
use crate::operation::{Posted, Posting};
use crate::post::{post, post_batch};

/// How postings are grouped (`TILLCODE_LEDGER_*`, see `config`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSettings {
    /// Most postings per transaction; 1 turns batching off.
    pub max: usize,
    /// How long a writer waits for more postings once it has one, and only
    /// while every other writer is writing (with one writer: always). Zero:
    /// it takes only what is already queued.
    pub linger: Duration,
    /// Writer tasks, i.e. batches in flight at once (each holds one pooled
    /// connection while it writes).
    pub writers: usize,
    /// The longest a posting waits in the queue for a writer, as for a
    /// pooled connection (`TILLCODE_DATABASE_POOL_TIMEOUT_MS`): one older
    /// than that when a writer gets to it is answered unavailable (503)
    /// without being posted, so writers stuck on a lock do not hold a
    /// queue of tills for their whole statement timeout each.
    pub queue_timeout: Duration,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            max: 64,
            // A cap, seldom reached: the wait ends when another writer is
            // free. At 32 tills a 0.5 ms linger measured 2,666 redemptions/s
            // against 2,462 without, with a fifth less Postgres CPU per
            // redemption (docs/performance.md).
            linger: Duration::from_millis(2),
            // Fewer writers make bigger batches, and a batch's postings
            // share statements: 32 tills measured 1,380 redemptions/s with
            // 4 writers, 1,530 with 2 and 1,720 with 1 (docs/performance.md).
            // Two, so that one batch waiting on a row lock does not hold up
            // every till of the process.
            writers: 2,
            queue_timeout: Duration::from_secs(5),
        }
    }
}

/// What the writers report, for the server's registry (`/metrics`).
#[derive(Clone)]
pub struct WriterMetrics {
    /// Postings per ledger transaction (group commit).
    pub batch_size: Histogram,
    /// Where a posting's time goes, per posting, by `stage`: `queued` (from
    /// the handler's hand-over until a writer takes its batch) and `written`
    /// (its transaction, from taking a connection to the commit).
    pub posting_seconds: HistogramVec,
    /// Postings answered unavailable because no connection, or no writer,
    /// was free in time: the server's `pool_errors_total{pool="postgres"}`.
    pub pool_errors: IntCounter,
}

impl WriterMetrics {
    /// New, unregistered metrics; `pool_errors` is the server's counter for
    /// its Postgres pool (a fresh one where nothing else counts them).
    pub fn new(pool_errors: IntCounter) -> prometheus::Result<Self> {
        let batch_size = Histogram::with_opts(
            HistogramOpts::new(
                "ledger_batch_size",
                "Postings per ledger transaction (group commit).",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]),
        )?;
        let posting_seconds = HistogramVec::new(
            HistogramOpts::new(
                "ledger_posting_seconds",
                "Time per posting waiting for a ledger writer (queued) and in its transaction (written).",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["stage"],
        )?;
        Ok(Self {
            batch_size,
            posting_seconds,
            pool_errors,
        })
    }

    /// Metrics that no registry reads: benchmarks and tests.
    pub fn unregistered() -> prometheus::Result<Self> {
        Self::new(IntCounter::with_opts(Opts::new(
            "pool_errors_total",
            "Postings not written for want of a connection or a writer.",
        ))?)
    }
}

struct Job {
    posting: Posting,
    answer: oneshot::Sender<Result<Posted, LedgerError>>,
    queued: Instant,
}

/// The handle handlers post through. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    queue: Option<mpsc::Sender<Job>>,
    pool: DbPools,
    metrics: WriterMetrics,
}

impl Writer {
    /// Starts the writer tasks on the current Tokio runtime (none when
    /// batching is off).
    pub fn start(
        pool: impl Into<DbPools>,
        settings: BatchSettings,
        metrics: WriterMetrics,
    ) -> Self {
        let pool = pool.into();
        if settings.max <= 1 {
            return Self {
                queue: None,
                pool,
                metrics,
            };
        }
        let writers = settings.writers.max(1);
        let (queue, jobs) = mpsc::channel(settings.max * writers * 4);
        let shared = Arc::new(Writers {
            jobs: Mutex::new(jobs),
            count: writers,
            writing: AtomicUsize::new(0),
            finished: Notify::new(),
        });
        for _ in 0..writers {
            tokio::spawn(write_batches(
                shared.clone(),
                pool.clone(),
                settings,
                metrics.clone(),
            ));
        }
        Self {
            queue: Some(queue),
            pool,
            metrics,
        }
    }

    /// [`post`], through a shared transaction when batching is on. The
    /// answer comes after the commit that made it durable.
    pub async fn post(&self, posting: Posting) -> Result<Posted, LedgerError> {
        let Some(queue) = &self.queue else {
            let started = Instant::now();
            let mut conn = self.connection().await?;
            self.metrics.batch_size.observe(1.0);
            let posted = post(&mut conn, &posting).await;
            self.metrics
                .posting_seconds
                .with_label_values(&["written"])
                .observe(started.elapsed().as_secs_f64());
            return posted;
        };
        let (answer, answered) = oneshot::channel();
        queue
            .send(Job {
                posting,
                answer,
                queued: Instant::now(),
            })
            .await
            .map_err(|_| LedgerError::Unavailable("the ledger writers have stopped".into()))?;
        answered.await.map_err(|_| {
            LedgerError::Unavailable("the ledger writer dropped the posting unanswered".into())
        })?
    }

    async fn connection(&self) -> Result<DbConn, LedgerError> {
        get_connection(&self.pool, &self.metrics).await
    }
}

async fn get_connection(pool: &DbPools, metrics: &WriterMetrics) -> Result<DbConn, LedgerError> {
    pool.get().await.map_err(|e| {
        metrics.pool_errors.inc();
        LedgerError::Unavailable(format!("postgres pool: {e}"))
    })
}

/// What the writer tasks share: the queue, and who is writing.
struct Writers {
    jobs: Mutex<mpsc::Receiver<Job>>,
    count: usize,
    /// Writers between taking a batch and answering it.
    writing: AtomicUsize,
    /// Signalled whenever a writer has answered its batch.
    finished: Notify,
}

impl Writers {
    /// True while every writer but the one asking is writing a batch.
    fn others_busy(&self) -> bool {
        self.writing.load(Ordering::Acquire) + 1 >= self.count
    }
}

/// One writer: take a batch, write it, answer every posting in it; until
/// the server drops the queue.
async fn write_batches(
    shared: Arc<Writers>,
    pool: DbPools,
    settings: BatchSettings,
    metrics: WriterMetrics,
) {
    while let Some(batch) = next_batch(&shared, settings, &metrics).await {
        shared.writing.fetch_add(1, Ordering::AcqRel);
        let started = Instant::now();
        let queued = metrics.posting_seconds.with_label_values(&["queued"]);
        let (postings, answers): (Vec<Posting>, Vec<_>) = batch
            .into_iter()
            .map(|job| {
                queued.observe((started - job.queued).as_secs_f64());
                (job.posting, job.answer)
            })
            .unzip();
        metrics.batch_size.observe(postings.len() as f64);
        let results = match get_connection(&pool, &metrics).await {
            Ok(mut conn) => post_batch(&mut conn, &postings).await,
            Err(e) => postings
                .iter()
                .map(|_| Err(LedgerError::Unavailable(e.to_string())))
                .collect(),
        };
        let written = started.elapsed().as_secs_f64();
        let histogram = metrics.posting_seconds.with_label_values(&["written"]);
        for _ in 0..postings.len() {
            histogram.observe(written);
        }
        for (answer, result) in answers.into_iter().zip(results) {
            // A handler that has gone (its client hung up) needs no answer;
            // its posting stands, and a retry with its key replays it.
            let _ = answer.send(result);
        }
        shared.writing.fetch_sub(1, Ordering::AcqRel);
        shared.finished.notify_waiters();
    }
}

/// The postings one transaction will carry. Only one writer collects at a
/// time, so batches fill up instead of being split between idle writers.
async fn next_batch(
    shared: &Writers,
    settings: BatchSettings,
    metrics: &WriterMetrics,
) -> Option<Vec<Job>> {
    let mut jobs = shared.jobs.lock().await;
    let first = loop {
        if let Some(job) = still_wanted(jobs.recv().await?, settings, metrics) {
            break job;
        }
    };
    let mut batch = Vec::with_capacity(settings.max);
    batch.push(first);
    let deadline = Instant::now() + settings.linger;
    while batch.len() < settings.max {
        let next = match jobs.try_recv() {
            Ok(job) => job,
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => {
                // Registered before the check, so that a writer finishing
                // in between still wakes this one.
                let finished = shared.finished.notified();
                tokio::pin!(finished);
                finished.as_mut().enable();
                if settings.linger.is_zero() || !shared.others_busy() {
                    break;
                }
                tokio::select! {
                    more = tokio::time::timeout_at(deadline, jobs.recv()) => match more {
                        Ok(Some(job)) => job,
                        Ok(None) | Err(_) => break,
                    },
                    () = &mut finished => break,
                }
            }
        };
        batch.extend(still_wanted(next, settings, metrics));
    }
    Some(batch)
}

/// `job`, unless nobody waits for it any more (its request was cut off:
/// nothing was posted, and a retry runs it anew) or it waited in the queue
/// longer than `queue_timeout` (answered unavailable, not posted).
fn still_wanted(job: Job, settings: BatchSettings, metrics: &WriterMetrics) -> Option<Job> {
    if job.answer.is_closed() {
        return None;
    }
    if job.queued.elapsed() > settings.queue_timeout {
        metrics.pool_errors.inc();
        let _ = job.answer.send(Err(LedgerError::Unavailable(
            "no ledger writer was free in time".into(),
        )));
        return None;
    }
    Some(job)
}
