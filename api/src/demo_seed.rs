//! `tillcode-api demo-seed`: a demo merchant with one program, one store and
//! one customer holding a starting balance. Idempotent: a second run finds
//! everything and changes nothing, down to the starting balance, which is
//! posted through the ledger with a fixed idempotency key.

use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use tillcode_protocol::{AccountId, Amount, MerchantId};
use uuid::Uuid;

use crate::ledger::{self, IdempotencyKey, LedgerError, Operation, Posting};
use crate::password::{self, Password};
use crate::schema::{accounts, customers, merchants, programs, stores};

pub const DEMO_MERCHANT_SLUG: &str = "demo";
pub const DEMO_CUSTOMER_EMAIL: &str = "dana@example.com";
/// Printed by `ops/dev.sh`, so a developer can sign in with the customer CLI.
pub const DEMO_CUSTOMER_PASSWORD: &str = "demo password for dana";
pub const DEMO_STARTING_BALANCE: i64 = 10_000;
/// The caller id operator tools post under; never a terminal's id.
pub const OPERATOR_CALLER: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0001);

#[derive(Debug, Serialize)]
pub struct DemoData {
    pub merchant_id: Uuid,
    pub merchant_slug: &'static str,
    pub program_id: Uuid,
    pub unit: String,
    pub store_id: Uuid,
    pub customer_id: Uuid,
    pub customer_email: &'static str,
    pub customer_password: &'static str,
    pub account_id: Uuid,
    pub balance: i64,
    /// A fresh enrollment code for a terminal at the demo store (10 minutes).
    pub terminal_enrollment_code: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("demo constant is invalid: {0}")]
    Invalid(String),
}

pub async fn seed(conn: &mut AsyncPgConnection) -> Result<DemoData, SeedError> {
    // ON CONFLICT DO UPDATE (to the same value) so that RETURNING yields the
    // existing row's id on every run after the first.
    let merchant_id: Uuid = diesel::insert_into(merchants::table)
        .values((
            merchants::id.eq(Uuid::now_v7()),
            merchants::slug.eq(DEMO_MERCHANT_SLUG),
            merchants::name.eq("Demo Grocers"),
        ))
        .on_conflict(merchants::slug)
        .do_update()
        .set(merchants::slug.eq(excluded(merchants::slug)))
        .returning(merchants::id)
        .get_result(conn)
        .await?;

    let (program_id, unit): (Uuid, String) = diesel::insert_into(programs::table)
        .values((
            programs::merchant_id.eq(merchant_id),
            programs::id.eq(Uuid::now_v7()),
            programs::name.eq("Demo Rewards"),
            programs::unit.eq("points"),
            programs::minor_units.eq(0i16),
        ))
        .on_conflict(programs::merchant_id)
        .do_update()
        .set(programs::merchant_id.eq(excluded(programs::merchant_id)))
        .returning((programs::id, programs::unit))
        .get_result(conn)
        .await?;

    let store_id: Uuid = diesel::insert_into(stores::table)
        .values((
            stores::merchant_id.eq(merchant_id),
            stores::id.eq(Uuid::now_v7()),
            stores::code.eq("DEMO-001"),
            stores::name.eq("Demo Grocers, Main Street"),
        ))
        .on_conflict((stores::merchant_id, stores::code))
        .do_update()
        .set(stores::code.eq(excluded(stores::code)))
        .returning(stores::id)
        .get_result(conn)
        .await?;

    let password =
        Password::new(DEMO_CUSTOMER_PASSWORD).map_err(|e| SeedError::Invalid(e.to_string()))?;
    let password_hash = password::hash(&password).map_err(|e| SeedError::Invalid(e.to_string()))?;
    let customer_id: Uuid = diesel::insert_into(customers::table)
        .values((
            customers::merchant_id.eq(merchant_id),
            customers::id.eq(Uuid::now_v7()),
            customers::email.eq(DEMO_CUSTOMER_EMAIL),
            customers::display_name.eq("Dana Demo"),
            customers::password_hash.eq(&password_hash),
        ))
        .on_conflict((customers::merchant_id, customers::email))
        .do_update()
        .set(customers::email.eq(excluded(customers::email)))
        .returning(customers::id)
        .get_result(conn)
        .await?;

    let account_id: Uuid = diesel::insert_into(accounts::table)
        .values((
            accounts::merchant_id.eq(merchant_id),
            accounts::id.eq(Uuid::now_v7()),
            accounts::program_id.eq(program_id),
            accounts::customer_id.eq(customer_id),
        ))
        .on_conflict((
            accounts::merchant_id,
            accounts::program_id,
            accounts::customer_id,
        ))
        .do_update()
        .set(accounts::customer_id.eq(excluded(accounts::customer_id)))
        .returning(accounts::id)
        .get_result(conn)
        .await?;

    let starting_balance =
        Amount::new(DEMO_STARTING_BALANCE).map_err(|e| SeedError::Invalid(e.to_string()))?;
    let key = IdempotencyKey::parse("demo-seed-starting-balance")
        .map_err(|e| SeedError::Invalid(e.to_string()))?;
    ledger::post(
        conn,
        &Posting {
            merchant: MerchantId::from(merchant_id),
            caller: OPERATOR_CALLER,
            key,
            operation: Operation::Accrue {
                account: AccountId::from(account_id),
                amount: starting_balance,
            },
            code: None,
            context: None,
            request_fingerprint: None,
        },
    )
    .await?;

    let balance = accounts::table
        .find((merchant_id, account_id))
        .select(accounts::balance)
        .first(conn)
        .await?;

    let enrollment = crate::terminals::enrollment::create(conn, store_id, "demo-seed")
        .await
        .map_err(|e| SeedError::Invalid(e.to_string()))?;

    Ok(DemoData {
        merchant_id,
        merchant_slug: DEMO_MERCHANT_SLUG,
        program_id,
        unit,
        store_id,
        customer_id,
        customer_email: DEMO_CUSTOMER_EMAIL,
        customer_password: DEMO_CUSTOMER_PASSWORD,
        account_id,
        balance,
        terminal_enrollment_code: enrollment.code,
    })
}
