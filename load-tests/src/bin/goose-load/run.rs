//! `goose-load run`: prepares (keys, sessions, balances, codes made in
//! advance), runs one workload with goose, then reconciles: every account's
//! balance in the database must equal its balance before the run plus what
//! the API acknowledged, to the point.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::{StreamExt, TryStreamExt, stream};
use goose::config::GooseConfiguration;
use goose::prelude::*;
use serde_json::json;
use tillcode_api::schema::{accounts, devices};
use uuid::Uuid;

use crate::api::{Api, Till};
use crate::context::{
    self, Code, Context, Phone, Plan, SignedRedemption, Workload, make_code, now_ms,
};
use crate::dataset::{Dataset, DeviceEntry};
use crate::recorder::Recorder;
use crate::workloads::{amount_for, dashboard, start, start_dashboard, step};

#[derive(clap::Args)]
pub struct RunArgs {
    /// The directory `seed` wrote.
    #[arg(long)]
    pub dir: PathBuf,
    /// The API's database: starting balances, and the reconciliation after.
    #[arg(long, env = "TILLCODE_DATABASE_URL")]
    pub database_url: String,
    #[arg(long, value_enum, default_value_t = Workload::Redeem)]
    pub workload: Workload,
    /// Concurrent users (each a till with a request in flight).
    #[arg(long, default_value_t = 32)]
    pub users: usize,
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Pace all users together to this many requests per second (default:
    /// each sends its next request as soon as the last is answered).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Codes made in advance, per second of the run (for all users).
    #[arg(long, default_value_t = 4_000)]
    pub codes_per_second: u64,
    /// Sign each redemption when it is sent, not in advance: the load
    /// generator then also does the tills' signing on the API's machine
    /// (how every run before 2026-12-06, session 7, was measured).
    #[arg(long)]
    pub sign_at_send: bool,
    /// Dashboard workload: how many of the users are managers reading it.
    #[arg(long, default_value_t = 2)]
    pub dashboard_users: usize,
    /// The API to load (default: the one the data set was made through).
    #[arg(long)]
    pub api: Option<String>,
    /// Measure this process's CPU during the attack, as NAME=PID
    /// (repeatable; e.g. `--cpu api=1234 --cpu redis=99`). The Postgres
    /// backends of the API's database are always measured.
    #[arg(long = "cpu")]
    pub cpu: Vec<crate::cpu::Named>,
    /// Also write the summary JSON here.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Keep goose's own metrics and end-of-run report (needed for goose's
    /// `--report-file`). Off by default: the summary is this tool's own,
    /// and goose's aggregation cost the load generator, on the same cores
    /// as the API, about 13% more CPU per request (docs/performance.md).
    #[arg(long)]
    pub goose_metrics: bool,
    /// More goose options, after `--` (e.g. `--goose-metrics -- --report-file
    /// report.html`).
    #[arg(last = true)]
    pub goose: Vec<String>,
}

/// Sessions opened at once while preparing.
const PARALLEL: usize = 16;

pub fn run(args: RunArgs) -> anyhow::Result<bool> {
    anyhow::ensure!(args.users > 0 && args.seconds > 0, "need users and seconds");
    if let Some(rate) = args.rate {
        anyhow::ensure!(rate > 0.0, "--rate must be positive");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: RunArgs) -> anyhow::Result<bool> {
    let prepared = Instant::now();
    let dataset = Dataset::load(&args.dir)?;
    let base = args.api.clone().unwrap_or_else(|| dataset.api.clone());
    let api = Api::new(&base)?;
    let mut conn = AsyncPgConnection::establish(&args.database_url)
        .await
        .context("connect to the API's database")?;
    let merchant = Uuid::from(dataset.merchant);

    let tills = dataset
        .terminals
        .iter()
        .map(|t| {
            Ok(Till {
                id: t.id,
                key: Dataset::terminal_key(&args.dir, t.id)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let entries: Vec<(Uuid, &DeviceEntry)> = if args.workload == Workload::Hot {
        dataset
            .hot
            .devices
            .iter()
            .map(|d| (dataset.hot.account, d))
            .collect()
    } else {
        dataset
            .customers
            .iter()
            // UFCS: diesel's QueryDsl::first would shadow the slice method.
            .filter_map(|c| <[DeviceEntry]>::first(&c.devices).map(|d| (c.account, d)))
            .collect()
    };
    let mut phones = entries
        .iter()
        .map(|(account, d)| {
            Ok(Phone {
                account: *account,
                device: d.device,
                handle: d.handle()?,
                key: Dataset::device_key(&args.dir, d.device)?,
                session: None,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let paying_users = match args.workload {
        Workload::Dashboard => {
            anyhow::ensure!(
                args.users > args.dashboard_users,
                "the dashboard workload needs more users than --dashboard-users"
            );
            args.users
        }
        _ => args.users,
    };
    anyhow::ensure!(
        phones.len() >= paying_users,
        "{} phones for {} users: each user needs one of its own (seed more)",
        phones.len(),
        paying_users
    );

    if args.workload.needs_sessions() {
        let sessions: Vec<String> = stream::iter(phones.iter())
            .map(|p| api.device_session(dataset.merchant, p.device, &p.key))
            .buffered(PARALLEL)
            .try_collect()
            .await
            .context("open device sessions")?;
        for (phone, session) in phones.iter_mut().zip(sessions) {
            phone.session = Some(session);
        }
    }
    let staff_cookie = match args.workload {
        Workload::Dashboard => Some(
            api.staff_cookie(
                dataset.merchant,
                &dataset.staff.email,
                &dataset.staff.password,
            )
            .await?,
        ),
        _ => None,
    };

    let balances = balances(&mut conn, merchant).await?;
    // Tokens must be newer than any a phone has paid with.
    let floor: Option<i64> = devices::table
        .filter(devices::merchant_id.eq(merchant))
        .select(diesel::dsl::max(devices::last_offline_issued_at_ms))
        .first(&mut conn)
        .await?;
    let t0 = now_ms().max(floor.map_or(0, |f| u64::try_from(f).unwrap_or(0) + 1));
    let plans = plans(&args, &dataset, &phones, &tills, t0)?;
    let made: usize = plans.iter().map(|p| p.codes.len()).sum();
    let signed: usize = plans
        .iter()
        .map(|p| p.codes.iter().filter(|c| c.signed.is_some()).count())
        .sum();
    eprintln!(
        "goose-load: {} phones, {made} codes made in advance ({signed} redemptions signed), ready in {:.1}s",
        phones.len(),
        prepared.elapsed().as_secs_f64()
    );

    let context = context::install(Context {
        merchant: dataset.merchant,
        workload: args.workload,
        users: args.users,
        rate: args.rate,
        tills,
        phones,
        staff_cookie,
        balances: balances.clone(),
        plans: plans.into_iter().map(|p| Mutex::new(Some(p))).collect(),
        recorder: Recorder::new(args.users),
    })?;

    let before = crate::cpu::sample(&args.cpu, &mut conn).await;
    attack(&args, &base).await?;
    let cpu = crate::cpu::split(&before, &crate::cpu::sample(&args.cpu, &mut conn).await);

    // Reconcile: before + acknowledged == after, for every account.
    let after = self::balances(&mut conn, merchant).await?;
    let deltas = context.recorder.deltas();
    let mismatched: Vec<_> = after
        .iter()
        .filter(|(account, balance)| {
            let before = balances.get(account).copied().unwrap_or(0);
            before + deltas.get(account).copied().unwrap_or(0) != **balance
        })
        .map(|(account, balance)| {
            json!({"account": account, "before": balances.get(account), "acknowledged": deltas.get(account), "after": balance})
        })
        .collect();

    let recorder = &context.recorder;
    let mut summary = recorder.summary();
    summary["workload"] = json!(args.workload.name());
    summary["users"] = json!(args.users);
    summary["rate"] = json!(args.rate);
    summary["seconds"] = json!(args.seconds);
    summary["redemptions_acknowledged"] = json!(recorder.acknowledged("redeem"));
    summary["accruals_acknowledged"] = json!(recorder.acknowledged("accrue"));
    summary["failed"] = json!(recorder.failed());
    summary["cpu_percent_of_a_core"] = cpu;
    summary["reconciliation"] = json!({
        "accounts": after.len(),
        "mismatched": mismatched.len(),
        "examples": mismatched.iter().take(5).collect::<Vec<_>>(),
    });
    let line = summary.to_string();
    if let Some(path) = &args.summary {
        std::fs::write(path, format!("{line}\n"))
            .with_context(|| format!("write {}", path.display()))?;
    }
    println!("{line}");
    let wrong = summary["ops"]
        .as_object()
        .into_iter()
        .flat_map(|ops| ops.values())
        .flat_map(|op| {
            op["failures"]
                .as_object()
                .into_iter()
                .flat_map(|f| f.iter())
        })
        .any(|(reason, _)| reason.starts_with("wrong answer"));
    Ok(mismatched.is_empty() && !wrong)
}

async fn balances(
    conn: &mut AsyncPgConnection,
    merchant: Uuid,
) -> anyhow::Result<HashMap<Uuid, i64>> {
    let rows: Vec<(Uuid, i64)> = accounts::table
        .filter(accounts::merchant_id.eq(merchant))
        .select((accounts::id, accounts::balance))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Each user gets a terminal, the phones only it pays with, and its codes:
/// round after round over its phones, each round 1 ms newer than the last
/// (a phone's tokens must be presented in the order they were made). In the
/// redemption workloads the first of them also get their request signed by
/// the user's terminal.
fn plans(
    args: &RunArgs,
    dataset: &Dataset,
    phones: &[Phone],
    tills: &[Till],
    t0: u64,
) -> anyhow::Result<Vec<Plan>> {
    let users = args.users;
    let per_second = match args.rate {
        Some(rate) => args.codes_per_second.min((rate * 1.2).ceil() as u64),
        None => args.codes_per_second,
    };
    // No more than the API takes before they age; a longer run (a soak)
    // makes the rest as it goes, and says how many.
    let per_user = |max_age_ms: u64| {
        let horizon = (args.seconds + 3).min(max_age_ms / 1000);
        (per_second.saturating_mul(horizon) as usize).div_ceil(users) + 8
    };
    let (per_user, signed_per_user) = match args.workload {
        w if w.only_redeems() && !args.sign_at_send => (
            per_user(context::CODE_MAX_AGE_MS),
            per_user(context::PRESIGNED_MAX_AGE_MS),
        ),
        w if w.uses_offline_codes() => (per_user(context::CODE_MAX_AGE_MS), 0),
        _ => (0, 0),
    };
    let assignments: Vec<Vec<usize>> = (0..users)
        .map(|u| (u..phones.len()).step_by(users).collect())
        .collect();
    // Signing is the slow part: one thread per core.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let merchant = dataset.merchant;
    let codes: Vec<VecDeque<Code>> = std::thread::scope(|scope| {
        let chunk = users.div_ceil(threads);
        let handles: Vec<_> = assignments
            .chunks(chunk.max(1))
            .enumerate()
            .map(|(c, mine)| {
                scope.spawn(move || {
                    mine.iter()
                        .enumerate()
                        .map(|(k, own)| {
                            let till = &tills[(c * chunk + k) % tills.len()];
                            (0..per_user)
                                .map(|i| {
                                    let phone = own[i % own.len()];
                                    let issued = t0 + (i / own.len()) as u64;
                                    let mut code = make_code(merchant, phones, phone, issued)?;
                                    if i < signed_per_user {
                                        let amount = amount_for(i as u64 + 1);
                                        code.signed = Some(SignedRedemption::sign(
                                            till,
                                            &code.payload,
                                            amount,
                                        )?);
                                    }
                                    Ok(code)
                                })
                                .collect::<anyhow::Result<VecDeque<_>>>()
                        })
                        .collect::<anyhow::Result<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(users);
        for handle in handles {
            let made = handle
                .join()
                .map_err(|_| anyhow::anyhow!("a code-making thread panicked"))??;
            all.extend(made);
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    Ok(assignments
        .into_iter()
        .zip(codes)
        .enumerate()
        .map(|(u, (phones, codes))| Plan {
            till: u % tills.len(),
            phones,
            codes,
        })
        .collect())
}

async fn attack(args: &RunArgs, host: &str) -> anyhow::Result<()> {
    let users = args.users.to_string();
    let run_time = format!("{}s", args.seconds);
    let mut options: Vec<&str> = vec![
        "--host",
        host,
        "--users",
        &users,
        // Start every user within a second: the window opens when the last has.
        "--increase-rate",
        &users,
        "--run-time",
        &run_time,
    ];
    if !args.goose_metrics {
        options.push("--no-metrics");
    }
    options.extend(args.goose.iter().map(String::as_str));
    let config = GooseConfiguration::parse_args_default(&options)
        .map_err(|e| anyhow::anyhow!("goose options: {e}"))?;
    let name = args.workload.name();
    let paying = scenario!(name)
        .register_transaction(transaction!(start).set_on_start())
        .register_transaction(transaction!(step).set_name(name));
    let mut goose = GooseAttack::initialize_with_config(config)?;
    goose = if args.workload == Workload::Dashboard {
        let readers = scenario!("dashboard-reads")
            .set_wait_time(Duration::from_secs(1), Duration::from_secs(1))?
            .register_transaction(transaction!(start_dashboard).set_on_start())
            .register_transaction(transaction!(dashboard).set_name("overview"));
        goose
            .register_scenario(paying.set_weight(args.users - args.dashboard_users)?)
            .register_scenario(readers.set_weight(args.dashboard_users)?)
    } else {
        goose.register_scenario(paying)
    };
    let _metrics = goose.execute().await?;
    Ok(())
}
