//! `goose-load seed`: a merchant with stores, enrolled and approved
//! terminals, a manager, and customers with a phone and a balance each, plus
//! one "hot" customer with a phone per load-test user.
//!
//! What goes through the real API, and what does not:
//! - terminals enroll over `POST /v1/terminals/enroll` with the cashier SDK's
//!   proof; enrollments are created and approved with the functions behind
//!   `tillcode-api admin create-enrollment` and `admin approve-terminal`;
//! - every opening balance is a signed `POST /v1/accruals` from a terminal,
//!   so the ledger holds nothing the API did not post;
//! - customers, accounts and phones are inserted directly: the API's way in
//!   is a sign-up (an Argon2 hash each, about 0.1 s of CPU) and a device
//!   registration, minutes for 10,000 customers on a small machine, and the
//!   load test measures neither. Accounts are batch-inserted; each phone
//!   goes through `devices::register::insert_device`, the API's own insert
//!   (random handles, retried on collision), with a key made by the
//!   customer SDK.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use diesel::ExpressionMethods;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::{StreamExt, TryStreamExt, stream};
use rand_core::{OsRng, RngCore};
use serde_json::json;
use tillcode_api::devices::DeviceName;
use tillcode_api::devices::register::insert_device;
use tillcode_api::schema::{accounts, customers, merchant_settings, stores};
use tillcode_api::staff::{self, Role};
use tillcode_api::terminals::enrollment;
use tillcode_api::testing::TestMerchant;
use tillcode_cashier::TerminalKey;
use tillcode_cashier::enrollment::enroll_request;
use tillcode_customer::{DeviceKey, Overwrite};
use tillcode_protocol::{EnrollmentCode, MerchantId, StoreId};
use uuid::Uuid;

use crate::api::{Api, Till};
use crate::dataset::{CustomerEntry, Dataset, DeviceEntry, StaffEntry, TerminalEntry, key_path};

#[derive(clap::Args)]
pub struct SeedArgs {
    /// The API to seed through.
    #[arg(long)]
    pub api: String,
    /// The API's database (for the operator-side steps).
    #[arg(long, env = "TILLCODE_DATABASE_URL")]
    pub database_url: String,
    /// Where to write dataset.json and the key files (created, must be empty).
    #[arg(long)]
    pub dir: std::path::PathBuf,
    #[arg(long, default_value_t = 10_000)]
    pub customers: usize,
    #[arg(long, default_value_t = 20)]
    pub terminals: usize,
    /// Phones of the hot customer: the hot workload needs one per user.
    #[arg(long, default_value_t = 128)]
    pub hot_devices: usize,
    /// Every account's opening balance, in points.
    #[arg(long, default_value_t = 1_000_000_000)]
    pub balance: i64,
}

/// Terminals per store, as in a small supermarket.
const TILLS_PER_STORE: usize = 4;
/// Rows per batch insert: 4 columns x 2,000 stays under Postgres's 65,535
/// bind parameters.
const BATCH: usize = 2_000;
/// Concurrent inserts and API calls while seeding.
const PARALLEL: usize = 16;

pub async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.customers > 0 && args.terminals > 0,
        "need customers and terminals"
    );
    anyhow::ensure!(args.balance > 0, "--balance must be positive");
    std::fs::create_dir_all(args.dir.join("keys"))
        .with_context(|| format!("create {}", args.dir.display()))?;
    let started = Instant::now();
    let api = Api::new(&args.api)?;
    let mut conn = AsyncPgConnection::establish(&args.database_url)
        .await
        .context("connect to the API's database")?;

    let merchant = TestMerchant::create(&mut conn).await;
    permissive_limits(&mut conn, merchant.merchant).await?;
    let terminals = terminals(&api, &mut conn, &args, merchant.merchant).await?;
    let staff = manager(&mut conn, merchant.merchant).await?;
    eprintln!(
        "seed: merchant {}, {} terminals ({:.1}s)",
        merchant.merchant,
        terminals.len(),
        started.elapsed().as_secs_f64()
    );

    let pool = tillcode_api::db::pool(&args.database_url, PARALLEL)?;
    let people = insert_customers(&mut conn, &merchant, args.customers + 1).await?;
    let (hot, regular) = people.split_first().context("no customers")?;
    let customers: Vec<CustomerEntry> = stream::iter(regular.iter().copied())
        .map(|(customer, account)| {
            let (pool, dir) = (pool.clone(), args.dir.clone());
            async move {
                let device = phone(&pool, &dir, merchant.merchant, customer).await?;
                Ok::<_, anyhow::Error>(CustomerEntry {
                    customer,
                    account,
                    devices: vec![device],
                })
            }
        })
        .buffered(PARALLEL)
        .try_collect()
        .await?;
    let mut hot_devices = Vec::with_capacity(args.hot_devices);
    for _ in 0..args.hot_devices {
        hot_devices.push(phone(&pool, &args.dir, merchant.merchant, hot.0).await?);
    }
    let hot = CustomerEntry {
        customer: hot.0,
        account: hot.1,
        devices: hot_devices,
    };
    eprintln!(
        "seed: {} customers with a phone, a hot customer with {} phones ({:.1}s)",
        customers.len(),
        hot.devices.len(),
        started.elapsed().as_secs_f64()
    );

    // Opening balances over the API, spread over the terminals.
    let tills: Arc<Vec<Till>> = Arc::new(
        terminals
            .iter()
            .map(|t| {
                Ok(Till {
                    id: t.id,
                    key: Dataset::terminal_key(&args.dir, t.id)?,
                })
            })
            .collect::<anyhow::Result<_>>()?,
    );
    let api = Arc::new(api);
    let owners: Vec<Uuid> = customers.iter().chain([&hot]).map(|c| c.customer).collect();
    stream::iter(owners.into_iter().enumerate())
        .map(|(i, customer)| {
            let (api, tills) = (api.clone(), tills.clone());
            let amount = args.balance;
            async move {
                let till = &tills[i % tills.len()];
                let body = json!({"customer_id": customer, "amount": amount, "reference": "opening balance"});
                let accrued = api.signed_post(till, "/v1/accruals", &body).await?;
                if accrued["balance_after"].as_i64() != Some(amount) {
                    bail!("opening balance of {customer}: {accrued}");
                }
                Ok(())
            }
        })
        .buffer_unordered(PARALLEL)
        .try_collect::<()>()
        .await?;
    eprintln!(
        "seed: opening balances posted through the API ({:.1}s)",
        started.elapsed().as_secs_f64()
    );
    // A store's tables have statistics; freshly filled ones may not yet
    // (autovacuum analyzes when it gets round to it). Without them a
    // connection that planned its foreign-key checks on the empty tables
    // keeps sequential scans for the whole run (measured: 0.8 ms per check
    // instead of 4 us), which benchmarks the seeding, not the server.
    diesel::sql_query("ANALYZE").execute(&mut conn).await?;

    Dataset {
        api: api.base.clone(),
        merchant: merchant.merchant,
        terminals,
        staff,
        customers,
        hot,
    }
    .save(&args.dir)?;
    println!(
        "{}",
        json!({"seeded": args.dir, "merchant": merchant.merchant, "seconds": started.elapsed().as_secs_f64()})
    );
    Ok(())
}

/// Velocity limits far above what a load test reaches, so that the checks
/// run on every redemption (as in production) but never refuse one.
async fn permissive_limits(
    conn: &mut AsyncPgConnection,
    merchant: MerchantId,
) -> anyhow::Result<()> {
    diesel::insert_into(merchant_settings::table)
        .values((
            merchant_settings::merchant_id.eq(Uuid::from(merchant)),
            merchant_settings::customer_max_count.eq(1_000_000_000),
            merchant_settings::customer_max_amount.eq(1_000_000_000_000_i64),
            merchant_settings::device_max_count.eq(1_000_000_000),
            merchant_settings::terminal_max_count.eq(1_000_000_000),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores, then terminals enrolled over the API and approved.
async fn terminals(
    api: &Api,
    conn: &mut AsyncPgConnection,
    args: &SeedArgs,
    merchant: MerchantId,
) -> anyhow::Result<Vec<TerminalEntry>> {
    let mut made = Vec::with_capacity(args.terminals);
    let mut store = Uuid::nil();
    for i in 0..args.terminals {
        if i % TILLS_PER_STORE == 0 {
            store = Uuid::now_v7();
            diesel::insert_into(stores::table)
                .values((
                    stores::merchant_id.eq(Uuid::from(merchant)),
                    stores::id.eq(store),
                    stores::code.eq(format!("S{:03}", i / TILLS_PER_STORE + 1)),
                    stores::name.eq(format!("Store {}", i / TILLS_PER_STORE + 1)),
                ))
                .execute(conn)
                .await?;
        }
        let enrollment = enrollment::create(conn, store, "load-tests")
            .await
            .map_err(|e| anyhow::anyhow!("create an enrollment: {e}"))?;
        let code = EnrollmentCode::parse(&enrollment.code)
            .map_err(|e| anyhow::anyhow!("enrollment code: {e}"))?;
        let key = TerminalKey::generate()?;
        let name = format!("Till {}", i + 1);
        let request = enroll_request(&key, StoreId::from(store), &code, &name);
        let enrolled = api
            .post(
                "/v1/terminals/enroll",
                None,
                &serde_json::to_value(&request)?,
            )
            .await?;
        let id: Uuid = enrolled["terminal_id"]
            .as_str()
            .context("no terminal_id")?
            .parse()?;
        enrollment::set_status(
            conn,
            None,
            id.into(),
            enrollment::TerminalAction::Approve,
            "load-tests",
        )
        .await
        .map_err(|e| anyhow::anyhow!("approve terminal {id}: {e}"))?
        .with_context(|| format!("terminal {id} was not pending"))?;
        key.save(&key_path(&args.dir, id), Overwrite::Refuse)?;
        made.push(TerminalEntry { id, store });
    }
    Ok(made)
}

async fn manager(conn: &mut AsyncPgConnection, merchant: MerchantId) -> anyhow::Result<StaffEntry> {
    let mut secret = [0u8; 16];
    OsRng.fill_bytes(&mut secret);
    let entry = StaffEntry {
        email: format!("manager-{}@example.com", Uuid::from(merchant).simple()),
        password: format!("load test {}", hex::encode(secret)),
    };
    staff::create(
        conn,
        merchant,
        &entry.email,
        "Load Manager",
        Role::Manager,
        &entry.password,
    )
    .await
    .map_err(|e| anyhow::anyhow!("create the manager: {e}"))?;
    Ok(entry)
}

/// `count` customers with an empty account each, in batches.
async fn insert_customers(
    conn: &mut AsyncPgConnection,
    merchant: &TestMerchant,
    count: usize,
) -> anyhow::Result<Vec<(Uuid, Uuid)>> {
    let m = Uuid::from(merchant.merchant);
    let people: Vec<(Uuid, Uuid)> = (0..count)
        .map(|_| (Uuid::now_v7(), Uuid::now_v7()))
        .collect();
    for chunk in people.chunks(BATCH) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(customer, _)| {
                (
                    customers::merchant_id.eq(m),
                    customers::id.eq(*customer),
                    customers::email.eq(format!("c-{}@example.com", customer.simple())),
                    customers::display_name.eq("Load Customer"),
                )
            })
            .collect();
        diesel::insert_into(customers::table)
            .values(&rows)
            .execute(conn)
            .await?;
        let rows: Vec<_> = chunk
            .iter()
            .map(|(customer, account)| {
                (
                    accounts::merchant_id.eq(m),
                    accounts::id.eq(*account),
                    accounts::program_id.eq(merchant.program),
                    accounts::customer_id.eq(*customer),
                )
            })
            .collect();
        diesel::insert_into(accounts::table)
            .values(&rows)
            .execute(conn)
            .await?;
    }
    Ok(people)
}

/// A phone for `customer`: a key from the customer SDK, saved as the SDK
/// saves it, registered with the API's own insert.
async fn phone(
    pool: &tillcode_api::db::DbPool,
    dir: &Path,
    merchant: MerchantId,
    customer: Uuid,
) -> anyhow::Result<DeviceEntry> {
    let key = DeviceKey::generate()?;
    let name = DeviceName::parse("Load phone").map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut conn = pool.get().await.context("database pool")?;
    let device = insert_device(
        &mut conn,
        merchant,
        customer,
        &name,
        key.verifying_key().as_bytes(),
        tillcode_api::db::DeviceStatus::Active,
    )
    .await
    .map_err(|e| anyhow::anyhow!("insert a device: {e}"))?;
    key.save(&key_path(dir, device.device_id), Overwrite::Refuse)?;
    Ok(DeviceEntry {
        device: device.device_id,
        handle: device.device_handle,
    })
}
