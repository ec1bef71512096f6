//! End-to-end redemptions under load: signed HTTP requests (RFC 9421) from
//! enrolled terminals, each paying with a fresh offline token of a different
//! customer, against the whole server (verification in Redis and Postgres,
//! the debit statement) on a random local port with its own database.
//!
//! Prints the latency distribution and throughput, plus the same for the
//! two server-side steps run alone (code verification, the ledger's debit),
//! so the slowest step can be named. One JSON line per measurement.
//!
//! `till-load chaos ...` instead drives a running server through injected
//! faults and checks the ledger afterwards (`chaos.rs`, `ops/chaos.sh`).

#[path = "till-load/chaos.rs"]
mod chaos;
#[path = "till-load/chaos_ledger.rs"]
mod chaos_ledger;
#[path = "till-load/chaos_scene.rs"]
mod chaos_scene;
#[path = "till-load/scene_rows.rs"]
mod scene_rows;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Parser, Subcommand};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};
use tillcode_api::codes::{Claimant, CodeWindows, verify_code};
use tillcode_api::devices::DeviceName;
use tillcode_api::fraud::settings::Settings;
use tillcode_api::fraud::velocity::{self, Subjects};
use tillcode_api::ledger::{self, Operation, Posting};
use tillcode_api::schema::merchant_settings;
use tillcode_api::testing::{TestApp, TestDatabase, TestMerchant, spawn_app_with};
use tillcode_protocol::http_signature::{RequestParts, SignatureParams, new_nonce, sign_request};
use tillcode_protocol::{Amount, DeviceHandle, MerchantId, OfflineToken, content_digest};
use tokio::sync::Mutex;
use uuid::Uuid;

#[derive(Parser)]
#[command(args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,
    #[command(flatten)]
    bench: BenchArgs,
}

#[derive(Subcommand)]
enum Mode {
    /// Redemptions against a running API through faults; checks the ledger.
    Chaos(chaos::ChaosArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Concurrent requests in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Customers (each with one phone) to spread redemptions over.
    #[arg(long, default_value_t = 400)]
    customers: usize,
}

struct Phone {
    key: SigningKey,
    handle: DeviceHandle,
}

struct Scene {
    app: TestApp,
    merchant: MerchantId,
    terminal: Uuid,
    terminal_key: SigningKey,
    phones: Vec<Phone>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

async fn scene(customers: usize) -> anyhow::Result<Scene> {
    let db = TestDatabase::new();
    let app = spawn_app_with(
        db,
        |db, prefix| {
            let mut config = TestApp::config(db, prefix);
            config.database.pool_size = 32;
            config
        },
        format!("tillcode-load:{}:", Uuid::new_v4().simple()),
    )
    .await;
    let state = app.state();
    let mut conn = state.db.get().await.context("db")?;
    let merchant = TestMerchant::create(&mut conn).await;
    let m = Uuid::from(merchant.merchant);
    // Limits high enough that the load is never refused, so the velocity
    // check runs on every redemption as it would in production.
    diesel::insert_into(merchant_settings::table)
        .values((
            merchant_settings::merchant_id.eq(m),
            merchant_settings::customer_max_count.eq(1_000_000),
            merchant_settings::device_max_count.eq(1_000_000),
            merchant_settings::terminal_max_count.eq(100_000_000),
        ))
        .execute(&mut conn)
        .await?;
    let (terminal, terminal_key) = scene_rows::store_and_terminal(&mut conn, m, "Load").await?;
    let name = DeviceName::parse("Load phone").map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut phones = Vec::with_capacity(customers);
    for _ in 0..customers {
        let key = SigningKey::generate(&mut OsRng);
        let (_, handle) = scene_rows::customer_with_device(
            &mut conn,
            &merchant,
            &name,
            key.verifying_key().as_bytes(),
        )
        .await?;
        phones.push(Phone { key, handle });
    }
    Ok(Scene {
        app,
        merchant: merchant.merchant,
        terminal,
        terminal_key,
        phones,
    })
}

/// A fresh offline token: each phone is used by one worker only, so its
/// tokens are strictly newer each time (the replay floor).
fn token(scene: &Scene, phone: usize, last_ms: &mut u64) -> String {
    let issued = now_ms().max(*last_ms + 1);
    *last_ms = issued;
    let mut nonce = [0u8; 4];
    OsRng.fill_bytes(&mut nonce);
    let p = &scene.phones[phone];
    OfflineToken::sign(&p.key, scene.merchant, p.handle, issued, nonce).payload()
}

fn summary(
    step: &str,
    mut latencies: Vec<Duration>,
    elapsed: Duration,
    errors: u64,
    concurrency: usize,
) {
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{}",
        serde_json::json!({
            "step": step,
            "concurrency": concurrency,
            "ok": latencies.len(),
            "errors": errors,
            "per_sec": latencies.len() as f64 / elapsed.as_secs_f64(),
            "p50_ms": at(0.50),
            "p99_ms": at(0.99),
            "max_ms": latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        })
    );
}

/// Runs `concurrency` workers for `seconds`; worker `w` owns phones
/// `w, w + concurrency, ...`. Each call returns whether it succeeded.
async fn drive<F, Fut>(
    scene: &Arc<Scene>,
    concurrency: usize,
    seconds: u64,
    call: F,
) -> (Vec<Duration>, Duration, u64)
where
    F: Fn(Arc<Scene>, String, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (scene, latencies, errors, call) = (
                scene.clone(),
                latencies.clone(),
                errors.clone(),
                call.clone(),
            );
            tokio::spawn(async move {
                let mine: Vec<usize> = (w..scene.phones.len()).step_by(concurrency).collect();
                let mut last = vec![0u64; scene.phones.len()];
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let phone = mine[(n as usize) % mine.len()];
                    let code = token(&scene, phone, &mut last[phone]);
                    n += 1;
                    let t = Instant::now();
                    if call(scene.clone(), code, (w as u64) << 40 | n).await {
                        latencies.lock().await.push(t.elapsed());
                    } else {
                        errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let latencies = std::mem::take(&mut *latencies.lock().await);
    (
        latencies,
        started.elapsed(),
        std::sync::atomic::AtomicU64::load(&errors, std::sync::atomic::Ordering::Relaxed),
    )
}

async fn http_redeem(client: &reqwest::Client, scene: &Scene, code: String, n: u64) -> bool {
    let body = serde_json::json!({"code": code, "amount": 1}).to_string();
    let digest = content_digest(body.as_bytes());
    let key = format!("load-{n}");
    let parts = RequestParts {
        method: "POST",
        path: "/v1/redemptions",
        query: None,
        content_digest: Some(&digest),
        idempotency_key: Some(&key),
        authority: None,
        headers: &[],
    };
    let params = SignatureParams {
        created: now_ms() / 1000,
        nonce: new_nonce(&mut OsRng),
        keyid: format!("terminal:{}", scene.terminal),
    };
    let Ok(headers) = sign_request(&scene.terminal_key, &parts, &params) else {
        return false;
    };
    let response = client
        .post(format!("{}/v1/redemptions", scene.app.address))
        .header("Content-Type", "application/json")
        .header("Content-Digest", digest)
        .header("Idempotency-Key", key)
        .header("Signature-Input", headers.signature_input)
        .header("Signature", headers.signature)
        .body(body)
        .send()
        .await;
    matches!(response, Ok(r) if r.status() == 201)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(Mode::Chaos(chaos)) = args.mode {
        return runtime.block_on(chaos::run(chaos));
    }
    let args = args.bench;
    anyhow::ensure!(
        args.customers >= args.concurrency,
        "need at least one customer per worker"
    );
    runtime.block_on(run(args))
}

async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let scene = Arc::new(scene(args.customers).await?);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;

    let (lat, elapsed, errors) = drive(
        &scene,
        args.concurrency,
        args.seconds,
        move |scene, code, n| {
            let client = client.clone();
            async move { http_redeem(&client, &scene, code, n).await }
        },
    )
    .await;
    summary(
        "http: signed POST /v1/redemptions, end to end",
        lat,
        elapsed,
        errors,
        args.concurrency,
    );

    let state = Arc::new(scene.app.state());
    let verify_state = state.clone();
    let (lat, elapsed, errors) = drive(
        &scene,
        args.concurrency,
        args.seconds.min(5),
        move |scene, code, _| {
            let state = verify_state.clone();
            async move {
                matches!(
                    verify_code(
                        &state,
                        scene.merchant,
                        &code,
                        now_ms(),
                        CodeWindows::default(),
                        Claimant::unique(),
                    )
                    .await,
                    Ok(Ok(_))
                )
            }
        },
    )
    .await;
    summary(
        "step: verify_code (Redis + Postgres lookups, Ed25519)",
        lat,
        elapsed,
        errors,
        args.concurrency,
    );

    // The fraud checks a redemption adds: the velocity script in Redis (the
    // merchant's settings come from an in-process cache).
    let limits = Settings {
        customer_max_count: 1_000_000,
        device_max_count: 1_000_000,
        terminal_max_count: 100_000_000,
        ..Settings::default()
    };
    let velocity_state = state.clone();
    let (lat, elapsed, errors) = drive(
        &scene,
        args.concurrency,
        args.seconds.min(5),
        move |scene, _code, n| {
            let state = velocity_state.clone();
            async move {
                let who = Subjects {
                    customer: Uuid::from_u128(u128::from(n % 400)).into(),
                    device: Uuid::from_u128(u128::from(n % 400) + 1000).into(),
                    terminal: scene.terminal.into(),
                };
                velocity::admit(&state, &limits, &who, 1, Claimant::unique())
                    .await
                    .is_ok()
            }
        },
    )
    .await;
    summary(
        "step: fraud checks (velocity script)",
        lat,
        elapsed,
        errors,
        args.concurrency,
    );

    let one = Amount::new(1).context("amount")?;
    let (lat, elapsed, errors) = drive(
        &scene,
        args.concurrency,
        args.seconds.min(5),
        move |scene, code, n| {
            let state = state.clone();
            async move {
                let Ok(Ok(verified)) = verify_code(
                    &state,
                    scene.merchant,
                    &code,
                    now_ms(),
                    CodeWindows::default(),
                    Claimant::unique(),
                )
                .await
                else {
                    return false;
                };
                let posting = Posting {
                    merchant: scene.merchant,
                    caller: scene.terminal,
                    key: match ledger::IdempotencyKey::parse(&format!("direct-{n}")) {
                        Ok(k) => k,
                        Err(_) => return false,
                    },
                    operation: Operation::Redeem {
                        account: verified.account,
                        amount: one,
                    },
                    code: Some(verified.claim),
                    context: None,
                    request_fingerprint: None,
                };
                let Ok(mut conn) = state.db.get().await else {
                    return false;
                };
                ledger::post(&mut conn, &posting).await.is_ok()
            }
        },
    )
    .await;
    summary(
        "steps: verify_code + ledger::post, no HTTP",
        lat,
        elapsed,
        errors,
        args.concurrency,
    );
    Ok(())
}
