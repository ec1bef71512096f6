//! What the run saw: per operation, successes and failures (by reason) and
//! latencies in microseconds (goose keeps whole milliseconds, too coarse
//! for a 2 ms request); per account, the net change the API acknowledged,
//! to reconcile with the database afterwards.
//!
//! Throughput and latency count only requests started after every user is
//! running (the measurement window); the totals count everything, because
//! every acknowledged redemption must be in the ledger.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Default)]
struct OpStats {
    /// Answers the API gave with the success status, checked or not: each
    /// is a committed change (or a read).
    acknowledged: u64,
    ok: u64,
    failed: u64,
    window_ok: u64,
    latencies_us: Vec<u32>,
    failures: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Inner {
    ops: BTreeMap<&'static str, OpStats>,
    /// Net balance change per account, as acknowledged by the API.
    deltas: HashMap<Uuid, i64>,
    last_done: Option<Instant>,
}

pub struct Recorder {
    users: usize,
    running: AtomicUsize,
    window_start: std::sync::OnceLock<Instant>,
    /// Codes made during the run because the pre-made ones ran out or aged.
    pub late_codes: AtomicU64,
    /// Redemptions signed during the run, in the workloads that sign in
    /// advance: their pre-signed request aged or ran out (every one of them
    /// with `--sign-at-send`).
    pub late_signatures: AtomicU64,
    inner: Mutex<Inner>,
}

/// How one request ended.
pub enum Outcome {
    /// The answer was right.
    Ok,
    /// The API said yes but the answer was wrong (`reason` says how).
    WrongAnswer(String),
    /// The API said no, or did not answer.
    Refused(String),
}

impl Recorder {
    pub fn new(users: usize) -> Self {
        Self {
            users,
            running: AtomicUsize::new(0),
            window_start: std::sync::OnceLock::new(),
            late_codes: AtomicU64::new(0),
            late_signatures: AtomicU64::new(0),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// A user started; the window opens when the last one does.
    pub fn user_started(&self) {
        if self.running.fetch_add(1, Ordering::SeqCst) + 1 == self.users {
            let _ = self.window_start.set(Instant::now());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a request started at `started`; `delta` is the balance change
    /// the API acknowledged on `account`, if it made one.
    pub fn record(
        &self,
        op: &'static str,
        started: Instant,
        outcome: Outcome,
        delta: Option<(Uuid, i64)>,
    ) {
        let done = Instant::now();
        let in_window = self.window_start.get().is_some_and(|w| started >= *w);
        let mut inner = self.lock();
        inner.last_done = Some(done);
        if let Some((account, change)) = delta {
            *inner.deltas.entry(account).or_default() += change;
        }
        let stats = inner.ops.entry(op).or_default();
        match outcome {
            Outcome::Ok => {
                stats.acknowledged += 1;
                stats.ok += 1;
                if in_window {
                    stats.window_ok += 1;
                    let us = (done - started).as_micros();
                    stats
                        .latencies_us
                        .push(u32::try_from(us).unwrap_or(u32::MAX));
                }
            }
            Outcome::WrongAnswer(reason) => {
                stats.acknowledged += 1;
                stats.failed += 1;
                *stats
                    .failures
                    .entry(format!("wrong answer: {reason}"))
                    .or_default() += 1;
            }
            Outcome::Refused(reason) => {
                stats.failed += 1;
                *stats.failures.entry(reason).or_default() += 1;
            }
        }
    }

    pub fn deltas(&self) -> HashMap<Uuid, i64> {
        self.lock().deltas.clone()
    }

    pub fn failed(&self) -> u64 {
        self.lock().ops.values().map(|s| s.failed).sum()
    }

    pub fn acknowledged(&self, op: &str) -> u64 {
        self.lock().ops.get(op).map_or(0, |s| s.acknowledged)
    }

    /// Per operation: counts, rate over the window, latency percentiles.
    pub fn summary(&self) -> Value {
        let mut inner = self.lock();
        let window = match (self.window_start.get(), inner.last_done) {
            (Some(start), Some(end)) if end > *start => (end - *start).as_secs_f64(),
            _ => 0.0,
        };
        let mut ops = serde_json::Map::new();
        for (op, stats) in inner.ops.iter_mut() {
            stats.latencies_us.sort_unstable();
            let at = |q: f64| -> f64 {
                let n = stats.latencies_us.len();
                if n == 0 {
                    return 0.0;
                }
                // Nearest rank: the smallest value with at least q of all at or below it.
                let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
                f64::from(stats.latencies_us[rank - 1]) / 1000.0
            };
            ops.insert(
                (*op).to_owned(),
                json!({
                    "acknowledged": stats.acknowledged,
                    "ok": stats.ok,
                    "failed": stats.failed,
                    "window_ok": stats.window_ok,
                    "per_sec": if window > 0.0 { stats.window_ok as f64 / window } else { 0.0 },
                    "p50_ms": at(0.50),
                    "p95_ms": at(0.95),
                    "p99_ms": at(0.99),
                    "max_ms": at(1.0),
                    "failures": stats.failures,
                }),
            );
        }
        json!({
            "window_seconds": window,
            "late_codes": self.late_codes.load(Ordering::Relaxed),
            "late_signatures": self.late_signatures.load(Ordering::Relaxed),
            "ops": ops,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_requests_started_after_the_last_user_count_toward_rate_and_latency() {
        let recorder = Recorder::new(2);
        let account = Uuid::now_v7();
        recorder.user_started();
        let early = Instant::now();
        recorder.record("redeem", early, Outcome::Ok, Some((account, -3)));
        recorder.user_started();
        for _ in 0..4 {
            recorder.record("redeem", Instant::now(), Outcome::Ok, Some((account, -1)));
        }
        recorder.record(
            "redeem",
            Instant::now(),
            Outcome::WrongAnswer("balance".into()),
            Some((account, -2)),
        );
        recorder.record(
            "redeem",
            Instant::now(),
            Outcome::Refused("422 code-replayed".into()),
            None,
        );

        let summary = recorder.summary();
        let redeem = &summary["ops"]["redeem"];
        assert_eq!(redeem["ok"], 5);
        assert_eq!(redeem["window_ok"], 4);
        // A wrong answer is still a committed change; a refusal is not.
        assert_eq!(redeem["acknowledged"], 6);
        assert_eq!(redeem["failed"], 2);
        assert_eq!(redeem["failures"]["422 code-replayed"], 1);
        assert_eq!(redeem["failures"]["wrong answer: balance"], 1);
        assert_eq!(recorder.deltas()[&account], -9);
        assert_eq!(recorder.acknowledged("redeem"), 6);
        assert_eq!(recorder.failed(), 2);
        assert!(redeem["p50_ms"].as_f64().unwrap() <= redeem["p99_ms"].as_f64().unwrap());
    }
}
