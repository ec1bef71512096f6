//! `till-load chaos`: redemptions that keep going through faults.
//!
//! Against a running `tillcode-api serve` (which `ops/chaos.sh` kills,
//! starves or cuts off from Postgres and Redis meanwhile), workers redeem
//! real customer-sdk codes (offline tokens, online keys fetched through the
//! customer API, numeric codes) from one signed terminal. A request that
//! gets no definite answer (503, another 5xx, a timeout, a refused or reset
//! connection) is retried with the SAME idempotency key and body until it
//! gets one, as a till would. Afterwards: spent codes are presented again
//! under new keys (none may pay), and the ledger is read back: every
//! acknowledged transfer must be there, nothing else, and nothing twice.
//!
//! Writes a JSON summary and prints one line; exits 1 when an invariant
//! that must hold under every fault is broken (see `violations`).

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand_core::OsRng;
use serde_json::{Value, json};
use tillcode_customer::client::Client;
use tillcode_protocol::content_digest;
use tillcode_protocol::http_signature::{RequestParts, SignatureParams, new_nonce, sign_request};
use uuid::Uuid;

use crate::chaos_ledger::{Findings, read_ledger};
use crate::chaos_scene::{Phone, Scene, offline_code, setup};
use crate::now_ms;

#[derive(clap::Args)]
pub struct ChaosArgs {
    /// Base URL of the running API, e.g. http://127.0.0.1:40123.
    #[arg(long)]
    api: String,
    /// The API's database: the scene is created in it and the ledger read
    /// back from it.
    #[arg(long)]
    database_url: String,
    /// Seconds of load; retries of unanswered requests go on after it.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[arg(long, default_value_t = 48)]
    customers: usize,
    /// A request without an answer after this long counts as hung.
    #[arg(long, default_value_t = 15_000)]
    request_timeout_ms: u64,
    /// Seconds after the load during which unanswered requests are retried.
    #[arg(long, default_value_t = 45)]
    settle: u64,
    /// Spent codes to present again (new idempotency keys) after the load.
    #[arg(long, default_value_t = 0)]
    replay_spent: usize,
    /// Where the JSON summary goes.
    #[arg(long)]
    summary: PathBuf,
    /// The scenario's name, for the summary line.
    #[arg(long, default_value = "chaos")]
    scenario: String,
    /// Touched when the load starts, so that the fault can be timed.
    #[arg(long)]
    started_file: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Offline,
    Online,
    Numeric,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Online => "online",
            Self::Numeric => "numeric",
        }
    }
}

/// What one HTTP attempt got.
enum Attempt {
    /// 2xx; `replayed` when it is the stored answer of an earlier try.
    Paid { transfer: Uuid, replayed: bool },
    /// A definite refusal: 4xx with its problem type.
    Refused { problem: String },
    /// 503: `clean` when it is problem+json with a Retry-After header.
    Unavailable { clean: bool },
    /// 409 `request-in-flight`: a copy of the request is still being
    /// posted; retried with the same key after Retry-After, like a 503.
    InFlight,
    /// Any other 5xx: never acceptable.
    ServerError { status: u16 },
    /// No answer within the request timeout.
    Hung,
    /// Refused or reset connection (a killed server).
    Connection,
}

/// Counters of attempts, overall and per code kind.
#[derive(Default, Clone)]
struct Counts {
    sent: u64,
    succeeded: u64,
    /// Successes that were the stored answer to a retried key: the first
    /// try had committed but its answer was lost.
    replayed: u64,
    refused: u64,
    in_flight: u64,
    unavailable_clean: u64,
    unavailable_unclean: u64,
    server_errors: u64,
    hung: u64,
    connection_errors: u64,
    /// The longest wait for any answer (hung requests aside): how long a
    /// fault held a till up.
    slowest_ms: u64,
}

impl Counts {
    fn add(&mut self, attempt: &Attempt, took: Duration) {
        self.sent += 1;
        if !matches!(attempt, Attempt::Hung) {
            self.slowest_ms = self.slowest_ms.max(took.as_millis() as u64);
        }
        match attempt {
            Attempt::Paid { replayed, .. } => {
                self.succeeded += 1;
                self.replayed += u64::from(*replayed);
            }
            Attempt::Refused { .. } => self.refused += 1,
            Attempt::InFlight => self.in_flight += 1,
            Attempt::Unavailable { clean: true } => self.unavailable_clean += 1,
            Attempt::Unavailable { clean: false } => self.unavailable_unclean += 1,
            Attempt::ServerError { .. } => self.server_errors += 1,
            Attempt::Hung => self.hung += 1,
            Attempt::Connection => self.connection_errors += 1,
        }
    }

    /// 5xx that are not a clean 503: a 500, or a 503 a client cannot act on.
    fn bad_5xx(&self) -> u64 {
        self.server_errors + self.unavailable_unclean
    }

    fn json(&self) -> Value {
        json!({
            "sent": self.sent,
            "succeeded": self.succeeded,
            "replayed_answers": self.replayed,
            "failed_cleanly": self.refused + self.unavailable_clean,
            "refused_4xx": self.refused,
            "in_flight_409": self.in_flight,
            "unavailable_503": self.unavailable_clean,
            "bad_5xx": self.bad_5xx(),
            "hung": self.hung,
            "connection_errors": self.connection_errors,
            "slowest_answer_ms": self.slowest_ms,
        })
    }
}

/// A redemption the API acknowledged.
#[derive(Clone)]
struct Ack {
    transfer: Uuid,
    key: String,
    code: String,
    kind: Kind,
}

#[derive(Default)]
struct Record {
    all: Counts,
    by_kind: BTreeMap<Kind, Counts>,
    by_problem: BTreeMap<String, u64>,
    by_status: BTreeMap<u16, u64>,
    redemptions: u64,
    unresolved: u64,
    /// A till's retry (same key and body) of a request that got no definite
    /// answer, refused as `code-replayed`: the first try spent the code and
    /// the retry did not get its sale. Never acceptable.
    retries_refused_as_replayed: u64,
    online_keys_unavailable: u64,
    acks: Vec<Ack>,
}

struct Ctx {
    http: reqwest::Client,
    customers: Client,
    api: String,
    scene: Scene,
    record: Mutex<Record>,
}

impl Ctx {
    fn note(&self, kind: Kind, attempt: &Attempt, took: Duration) {
        let Ok(mut record) = self.record.lock() else {
            return;
        };
        record.all.add(attempt, took);
        record.by_kind.entry(kind).or_default().add(attempt, took);
        match attempt {
            Attempt::Refused { problem } => {
                *record.by_problem.entry(problem.clone()).or_default() += 1;
            }
            Attempt::ServerError { status } => *record.by_status.entry(*status).or_default() += 1,
            _ => {}
        }
    }

    /// A redemption got its definite answer: paid (`ack`) or refused.
    fn finish(&self, ack: Option<Ack>) {
        if let Ok(mut record) = self.record.lock() {
            record.redemptions += 1;
            record.acks.extend(ack);
        }
    }

    /// One signed `POST /v1/redemptions`: a fresh signature (nonce, time)
    /// over the same body and idempotency key on every try.
    async fn attempt(&self, body: &str, key: &str) -> Attempt {
        let digest = content_digest(body.as_bytes());
        let parts = RequestParts {
            method: "POST",
            path: "/v1/redemptions",
            query: None,
            content_digest: Some(&digest),
            idempotency_key: Some(key),
            authority: None,
            headers: &[],
        };
        let params = SignatureParams {
            created: now_ms() / 1000,
            nonce: new_nonce(&mut OsRng),
            keyid: format!("terminal:{}", self.scene.terminal),
        };
        let Ok(headers) = sign_request(&self.scene.terminal_key, &parts, &params) else {
            return Attempt::Refused {
                problem: "(could not sign)".into(),
            };
        };
        let sent = self
            .http
            .post(format!("{}/v1/redemptions", self.api))
            .header("Content-Type", "application/json")
            .header("Content-Digest", digest)
            .header("Idempotency-Key", key)
            .header("Signature-Input", headers.signature_input)
            .header("Signature", headers.signature)
            .body(body.to_owned())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Attempt::Hung,
            Err(_) => return Attempt::Connection,
        };
        let status = response.status().as_u16();
        let problem_json = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes() == b"application/problem+json");
        let retry_after = response.headers().contains_key("retry-after");
        let answer: Value = match response.json().await {
            Ok(v) => v,
            Err(e) if e.is_timeout() => return Attempt::Hung,
            Err(_) if status >= 500 => Value::Null,
            Err(_) => return Attempt::Connection,
        };
        match status {
            200..=299 => match answer["redemption_id"].as_str().map(Uuid::parse_str) {
                Some(Ok(transfer)) => Attempt::Paid {
                    transfer,
                    replayed: answer["replayed"].as_bool().unwrap_or(false),
                },
                _ => Attempt::ServerError { status },
            },
            503 => Attempt::Unavailable {
                clean: problem_json && retry_after,
            },
            409 if answer["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/request-in-flight")) =>
            {
                Attempt::InFlight
            }
            500..=599 => Attempt::ServerError { status },
            _ => Attempt::Refused {
                problem: answer["type"]
                    .as_str()
                    .and_then(|t| t.rsplit('/').next())
                    .unwrap_or("(no problem type)")
                    .to_owned(),
            },
        }
    }

    /// Retries with the same key until a definite answer, or `give_up`.
    async fn redeem(&self, kind: Kind, code: &str, key: &str, give_up: Instant) -> Option<Attempt> {
        let body = json!({"code": code, "amount": 1, "reference": key}).to_string();
        loop {
            let sent = Instant::now();
            let attempt = self.attempt(&body, key).await;
            self.note(kind, &attempt, sent.elapsed());
            let pause = match attempt {
                Attempt::Paid { .. } | Attempt::Refused { .. } => return Some(attempt),
                Attempt::Connection => Duration::from_millis(200),
                // Retry-After is 1 s; a till honours it.
                _ => Duration::from_secs(1),
            };
            if Instant::now() >= give_up {
                return None;
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// An online key for `phone` from the customer API, opening a device
    /// session first when it has none (sessions live in Redis, so they
    /// vanish with it). None when the API could not issue one (counted: a
    /// fault shows here first).
    async fn online_key(&self, phone: &mut Phone) -> Option<String> {
        phone.last_online_key = Some(Instant::now());
        if phone.session.is_none() {
            let opened = self
                .customers
                .open_session(self.scene.merchant, phone.device, &phone.key)
                .await;
            phone.session = opened.ok().map(|s| s.access_token);
        }
        let key = match &phone.session {
            Some(session) => self.customers.online_key(session).await.ok(),
            None => None,
        };
        if key.is_none() {
            phone.session = None;
            if let Ok(mut record) = self.record.lock() {
                record.online_keys_unavailable += 1;
            }
        }
        key.map(|k| k.payload)
    }
}

/// A redemption not yet answered definitely, waiting for its next try.
struct Job {
    kind: Kind,
    code: String,
    key: String,
    body: String,
    due: Instant,
    /// Sent before without a definite answer: this is the till's retry.
    retried: bool,
    /// The phone whose own code (offline or numeric) pays, in sale until
    /// the job has its answer.
    phone: Option<usize>,
}

/// The next new redemption of a worker: mostly offline tokens, every fifth
/// an online key when one is in stock, every tenth a numeric code when the
/// phone has not used its current 30-second step yet.
///
/// Online keys are stocked as they may be asked for (one per phone every
/// 15 s) and presented 2 to 45 s later, as a phone shows a key a moment
/// after fetching it: so keys issued before a fault are presented during it.
/// None while every phone is in a sale waiting for its retry.
async fn next_job(
    ctx: &Ctx,
    w: usize,
    n: usize,
    phones: &mut [Phone],
    stock: &mut VecDeque<(String, Instant)>,
) -> anyhow::Result<Option<Job>> {
    let Some(i) = (0..phones.len())
        .map(|k| (n + k) % phones.len())
        .find(|&k| !phones[k].in_sale)
    else {
        return Ok(None);
    };
    let step = now_ms() / 1000 / 30;
    if stock.len() < 4
        && let Some(phone) = phones.iter_mut().find(|p| p.may_ask_for_online_key())
        && let Some(key) = ctx.online_key(phone).await
    {
        stock.push_back((key, Instant::now()));
    }
    while stock
        .front()
        .is_some_and(|(_, at)| at.elapsed() > Duration::from_secs(45))
    {
        stock.pop_front();
    }
    let online = if n.is_multiple_of(5)
        && stock
            .front()
            .is_some_and(|(_, at)| at.elapsed() >= Duration::from_secs(2))
    {
        stock.pop_front().map(|(code, _)| code)
    } else {
        None
    };
    let phone = &mut phones[i];
    let (kind, code, own) = if let Some(code) = online {
        (Kind::Online, code, None)
    } else if n % 10 == 3 && phone.last_numeric_step < step {
        phone.last_numeric_step = step;
        let code =
            tillcode_customer::numeric_code(phone.numeric, &phone.totp_secret, now_ms() / 1000);
        (Kind::Numeric, code, Some(i))
    } else {
        (Kind::Offline, offline_code(&ctx.scene, phone)?, Some(i))
    };
    phone.in_sale = own.is_some();
    let key = format!("chaos-{w}-{n}");
    let body = json!({"code": code, "amount": 1, "reference": key}).to_string();
    Ok(Some(Job {
        kind,
        code,
        key,
        body,
        due: Instant::now(),
        retried: false,
        phone: own,
    }))
}

/// One worker: its own phones, one request at a time. A request without a
/// definite answer waits (Retry-After) and is tried again with the same key
/// and body, while other customers' redemptions go on meanwhile, as a till
/// queue would (the customer of the waiting sale starts no other);
/// after `stop` only the waiting ones are tried, until `give_up`.
async fn worker(
    ctx: Arc<Ctx>,
    w: usize,
    mut phones: Vec<Phone>,
    stop: Instant,
    give_up: Instant,
) -> anyhow::Result<()> {
    let mut stock = VecDeque::new();
    let mut waiting: VecDeque<Job> = VecDeque::new();
    let mut n = 0usize;
    loop {
        let now = Instant::now();
        let job = if waiting.front().is_some_and(|j| j.due <= now) {
            waiting.pop_front()
        } else if now < stop {
            n += 1;
            match next_job(&ctx, w, n, &mut phones, &mut stock).await? {
                Some(job) => Some(job),
                // Every customer waits for a sale's retry.
                None => match waiting.pop_front() {
                    Some(job) => {
                        tokio::time::sleep_until(job.due.into()).await;
                        Some(job)
                    }
                    None => None,
                },
            }
        } else if now < give_up {
            if let Some(job) = waiting.pop_front() {
                tokio::time::sleep_until(job.due.into()).await;
                Some(job)
            } else {
                None
            }
        } else {
            None
        };
        let Some(mut job) = job else { break };
        let sent = Instant::now();
        let attempt = ctx.attempt(&job.body, &job.key).await;
        ctx.note(job.kind, &attempt, sent.elapsed());
        let answered = matches!(attempt, Attempt::Paid { .. } | Attempt::Refused { .. });
        if answered && let Some(i) = job.phone {
            phones[i].in_sale = false;
        }
        let pause = match attempt {
            Attempt::Paid { transfer, .. } => {
                ctx.finish(Some(Ack {
                    transfer,
                    key: job.key,
                    code: job.code,
                    kind: job.kind,
                }));
                continue;
            }
            Attempt::Refused { problem } => {
                if job.retried
                    && problem == "code-replayed"
                    && let Ok(mut record) = ctx.record.lock()
                {
                    record.retries_refused_as_replayed += 1;
                }
                ctx.finish(None);
                continue;
            }
            Attempt::Connection => Duration::from_millis(200),
            // Retry-After is 1 s; a till honours it.
            _ => Duration::from_secs(1),
        };
        job.due = Instant::now() + pause;
        job.retried = true;
        waiting.push_back(job);
        // Do not spin on a dead dependency.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if let Ok(mut record) = ctx.record.lock() {
        record.redemptions += waiting.len() as u64;
        record.unresolved += waiting.len() as u64;
    }
    Ok(())
}

/// Spent codes presented again under new idempotency keys: none may pay.
async fn replay_spent(ctx: &Ctx, acks: &[Ack], limit: usize, give_up: Instant) -> Value {
    // Earliest first: those were spent before the fault, when it wiped Redis.
    let mut picked: Vec<&Ack> = Vec::new();
    for kind in [Kind::Online, Kind::Numeric, Kind::Offline] {
        picked.extend(
            acks.iter()
                .filter(|a| a.kind == kind)
                .take(limit.div_ceil(3)),
        );
    }
    picked.truncate(limit);
    let (mut accepted, mut unresolved) = (0u64, 0u64);
    let mut answers: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (i, ack) in picked.iter().enumerate() {
        let key = format!("replay-{i}");
        let answer = match ctx.redeem(ack.kind, &ack.code, &key, give_up).await {
            Some(Attempt::Paid { .. }) => {
                accepted += 1;
                "paid".to_owned()
            }
            Some(Attempt::Refused { problem }) => problem,
            _ => {
                unresolved += 1;
                "unresolved".to_owned()
            }
        };
        *answers
            .entry(ack.kind.as_str().to_owned())
            .or_default()
            .entry(answer)
            .or_default() += 1;
    }
    json!({"sent": picked.len(), "accepted": accepted, "unresolved": unresolved, "answers": answers})
}

pub async fn run(args: ChaosArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.customers >= args.concurrency,
        "need at least one customer per worker"
    );
    let (scene, phones) = setup(&args.database_url, args.customers).await?;
    let ctx = Arc::new(Ctx {
        http: reqwest::Client::builder()
            .timeout(Duration::from_millis(args.request_timeout_ms))
            .connect_timeout(Duration::from_secs(2))
            .build()?,
        customers: Client::new(&args.api).map_err(|e| anyhow::anyhow!("{e}"))?,
        api: args.api.trim_end_matches('/').to_owned(),
        scene,
        record: Mutex::new(Record::default()),
    });
    let mut owned: Vec<Vec<Phone>> = (0..args.concurrency).map(|_| Vec::new()).collect();
    for (i, phone) in phones.into_iter().enumerate() {
        owned[i % args.concurrency].push(phone);
    }
    let started = Instant::now();
    let stop = started + Duration::from_secs(args.duration);
    let give_up = stop + Duration::from_secs(args.settle);
    if let Some(file) = &args.started_file {
        std::fs::write(file, b"started\n").context("started file")?;
    }
    let workers: Vec<_> = owned
        .into_iter()
        .enumerate()
        .map(|(w, phones)| tokio::spawn(worker(ctx.clone(), w, phones, stop, give_up)))
        .collect();
    for worker in workers {
        worker.await??;
    }
    let load_secs = started.elapsed().as_secs_f64();
    let acks = ctx
        .record
        .lock()
        .map_err(|_| anyhow::anyhow!("record poisoned"))?
        .acks
        .clone();
    let load_counts = ctx
        .record
        .lock()
        .map_err(|_| anyhow::anyhow!("record poisoned"))?
        .all
        .clone();
    let replay = replay_spent(
        &ctx,
        &acks,
        args.replay_spent,
        Instant::now() + Duration::from_secs(args.settle),
    )
    .await;

    let ledger = read_ledger(&args.database_url, ctx.scene.merchant).await?;
    let paid: Vec<(Uuid, &str)> = acks.iter().map(|a| (a.transfer, a.code.as_str())).collect();
    let replay_accepted = replay["accepted"].as_u64().unwrap_or(0);
    let Findings {
        acknowledged,
        in_ledger,
        lost,
        unacknowledged,
        keys_debited_twice,
        codes_debited_twice,
        debits_without_code,
        codes_paid_twice,
    } = ledger.compare(&paid);
    let double_spends = keys_debited_twice
        + codes_debited_twice
        + debits_without_code
        + codes_paid_twice
        + replay_accepted as usize;

    let record = ctx
        .record
        .lock()
        .map_err(|_| anyhow::anyhow!("record poisoned"))?;
    let mut violations = Vec::new();
    let mut require = |ok: bool, what: String| {
        if !ok {
            violations.push(what);
        }
    };
    require(
        record.all.bad_5xx() == 0,
        format!(
            "{} answers were 5xx other than a 503 problem with Retry-After",
            record.all.bad_5xx()
        ),
    );
    require(
        record.all.hung == 0,
        format!("{} requests hung", record.all.hung),
    );
    require(
        record.unresolved == 0,
        format!(
            "{} redemptions never got a definite answer",
            record.unresolved
        ),
    );
    require(
        record.retries_refused_as_replayed == 0,
        format!(
            "{} retries of a till's own unanswered request were refused as code-replayed",
            record.retries_refused_as_replayed
        ),
    );
    require(
        lost == 0,
        format!("{lost} acknowledged redemptions are not in the ledger"),
    );
    require(
        unacknowledged == 0,
        format!("{unacknowledged} debits in the ledger were never acknowledged"),
    );
    require(double_spends == 0, format!("{double_spends} double spends"));
    // A spent code is refused as spent, or as stale/unknown when the record
    // that proves it spent lives in Redis (online keys) and Redis was lost.
    let spent_answers = ["code-replayed", "code-superseded", "code-expired"];
    let odd_answers: Vec<String> = replay["answers"]
        .as_object()
        .into_iter()
        .flat_map(|kinds| kinds.values())
        .filter_map(|answers| answers.as_object())
        .flat_map(|answers| answers.keys())
        .filter(|answer| !spent_answers.contains(&answer.as_str()))
        .cloned()
        .collect();
    require(
        odd_answers.is_empty(),
        format!("spent codes presented again were answered {odd_answers:?}"),
    );
    let by_kind: BTreeMap<&str, Value> = record
        .by_kind
        .iter()
        .map(|(k, c)| (k.as_str(), c.json()))
        .collect();
    let summary = json!({
        "scenario": args.scenario,
        "load_seconds": load_secs,
        "attempts": record.all.json(),
        "load_attempts": load_counts.json(),
        "by_kind": by_kind,
        "refusals_by_problem": record.by_problem,
        "bad_5xx_by_status": record.by_status,
        "redemptions": record.redemptions,
        "unresolved": record.unresolved,
        "retries_refused_as_replayed": record.retries_refused_as_replayed,
        "online_keys_unavailable": record.online_keys_unavailable,
        "acknowledged": acknowledged,
        "ledger_redeem_debits": in_ledger,
        "lost": lost,
        "unacknowledged_debits": unacknowledged,
        "double_spends": {
            "total": double_spends,
            "idempotency_keys_debited_twice": keys_debited_twice,
            "code_fingerprints_debited_twice": codes_debited_twice,
            "debits_without_a_spent_code": debits_without_code,
            "codes_acknowledged_twice": codes_paid_twice,
            "spent_codes_accepted_again": replay_accepted,
        },
        "replay_of_spent_codes": replay,
        "violations": violations,
        "transfer_ids": acks.iter().map(|a| a.transfer.to_string()).collect::<Vec<_>>(),
        "idempotency_keys": acks.iter().map(|a| a.key.clone()).collect::<Vec<_>>(),
    });
    std::fs::write(&args.summary, serde_json::to_vec_pretty(&summary)?)
        .context("write the summary")?;
    let a = &load_counts;
    println!(
        "chaos {}: sent={} succeeded={} (stored answers to retries={}) failed_cleanly={} \
         (4xx={} 503={}) 5xx={} hung={} connection_errors={} slowest_answer_ms={} | \
         redemptions={} acknowledged={} \
         ledger_debits={} lost={} unresolved={} | spent codes re-presented={} accepted={} | \
         double_spends={}",
        args.scenario,
        a.sent,
        a.succeeded,
        a.replayed,
        a.refused + a.unavailable_clean,
        a.refused,
        a.unavailable_clean,
        a.bad_5xx(),
        a.hung,
        a.connection_errors,
        a.slowest_ms,
        record.redemptions,
        acknowledged,
        in_ledger,
        lost,
        record.unresolved,
        replay["sent"],
        replay_accepted,
        double_spends,
    );
    if !violations.is_empty() {
        anyhow::bail!("invariants broken: {}", violations.join("; "));
    }
    Ok(())
}
