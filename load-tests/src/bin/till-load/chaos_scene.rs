//! The scene of `till-load chaos`: a merchant, a store, one active
//! terminal, and customers with one phone each, whose codes are made by
//! the customer SDK as on a real phone.

use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use ed25519_dalek::SigningKey;
use tillcode_api::devices::DeviceName;
use tillcode_api::schema::merchant_settings;
use tillcode_api::testing::TestMerchant;
use tillcode_customer::DeviceKey;
use tillcode_customer::client::Bearer;
use tillcode_protocol::{DeviceHandle, MerchantId, NumericHandle};
use uuid::Uuid;

use crate::now_ms;

pub struct Phone {
    pub key: DeviceKey,
    pub device: Uuid,
    pub handle: DeviceHandle,
    pub numeric: NumericHandle,
    pub totp_secret: [u8; 32],
    pub session: Option<Bearer>,
    /// When this phone last asked for an online key: the API issues at most
    /// 5 per customer a minute (429 past that), so a phone asks every 15 s.
    pub last_online_key: Option<Instant>,
    pub last_offline_ms: u64,
    pub last_numeric_step: u64,
    /// A sale paid with one of this phone's own codes has no definite answer
    /// yet: its customer waits at the till for it instead of starting
    /// another sale, so the till's retry still carries the newest code.
    pub in_sale: bool,
}

impl Phone {
    pub fn may_ask_for_online_key(&self) -> bool {
        self.last_online_key
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(15))
    }
}

pub struct Scene {
    pub merchant: MerchantId,
    pub terminal: Uuid,
    pub terminal_key: SigningKey,
}

/// The merchant, a store, an active terminal and `customers` customers with
/// one registered device each, written straight into the API's database
/// (as `admin` commands and sign-ups would, minus the password hashing).
pub async fn setup(database_url: &str, customers: usize) -> anyhow::Result<(Scene, Vec<Phone>)> {
    let pool = tillcode_api::db::pool(database_url, 1).context("pool")?;
    let mut conn = pool.get().await.context("connect to the API's database")?;
    let merchant = TestMerchant::create(&mut conn).await;
    let m = Uuid::from(merchant.merchant);
    // Limits that the load never reaches, and no automatic suspension: the
    // re-presented spent codes are refusals that would otherwise count.
    diesel::insert_into(merchant_settings::table)
        .values((
            merchant_settings::merchant_id.eq(m),
            merchant_settings::customer_max_count.eq(1_000_000),
            merchant_settings::customer_max_amount.eq(1_000_000_000_000i64),
            merchant_settings::device_max_count.eq(1_000_000),
            merchant_settings::terminal_max_count.eq(100_000_000),
            merchant_settings::terminal_bad_codes_max.eq(1_000_000),
        ))
        .execute(&mut conn)
        .await?;
    let (terminal, terminal_key) =
        crate::scene_rows::store_and_terminal(&mut conn, m, "Chaos").await?;
    let name = DeviceName::parse("Chaos phone").map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut phones = Vec::with_capacity(customers);
    for _ in 0..customers {
        let key = DeviceKey::generate()?;
        let (device, handle) = crate::scene_rows::customer_with_device(
            &mut conn,
            &merchant,
            &name,
            key.verifying_key().as_bytes(),
        )
        .await?;
        let totp_secret: [u8; 32] = hex::decode(&device.totp_secret)?
            .try_into()
            .map_err(|_| anyhow::anyhow!("totp secret"))?;
        phones.push(Phone {
            key,
            device: device.device_id,
            handle,
            numeric: NumericHandle::new(device.numeric_handle).context("numeric handle")?,
            totp_secret,
            session: None,
            last_online_key: None,
            last_offline_ms: 0,
            last_numeric_step: 0,
            in_sale: false,
        });
    }
    Ok((
        Scene {
            merchant: merchant.merchant,
            terminal,
            terminal_key,
        },
        phones,
    ))
}

pub fn offline_code(scene: &Scene, phone: &mut Phone) -> anyhow::Result<String> {
    // Strictly newer than this device's last code: the replay floor.
    let issued = now_ms().max(phone.last_offline_ms + 1);
    phone.last_offline_ms = issued;
    Ok(tillcode_customer::offline_code(
        &phone.key,
        scene.merchant,
        phone.handle,
        issued,
    )?)
}
