//! The rows both scenes of `till-load` write straight into the API's
//! database (as `admin` commands and sign-ups would, minus the password
//! hashing): a store with one active terminal, and customers with a
//! balance and one device each.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use tillcode_api::db::DbConn;
use tillcode_api::devices::DeviceName;
use tillcode_api::devices::register::{RegisteredDevice, insert_device};
use tillcode_api::schema::{accounts, stores, terminals};
use tillcode_api::testing::TestMerchant;
use tillcode_protocol::DeviceHandle;
use uuid::Uuid;

/// A store named `label` and an active terminal in it, with a key of its own.
pub async fn store_and_terminal(
    conn: &mut DbConn,
    merchant: Uuid,
    label: &str,
) -> anyhow::Result<(Uuid, SigningKey)> {
    let store = Uuid::now_v7();
    diesel::insert_into(stores::table)
        .values((
            stores::merchant_id.eq(merchant),
            stores::id.eq(store),
            stores::code.eq(label.to_uppercase()),
            stores::name.eq(label),
        ))
        .execute(conn)
        .await?;
    let terminal = Uuid::now_v7();
    let terminal_key = SigningKey::generate(&mut OsRng);
    diesel::insert_into(terminals::table)
        .values((
            terminals::merchant_id.eq(merchant),
            terminals::id.eq(terminal),
            terminals::store_id.eq(store),
            terminals::name.eq(format!("{label} till")),
            terminals::public_key.eq(terminal_key.verifying_key().as_bytes().as_slice()),
            terminals::status.eq(tillcode_api::db::TerminalStatus::Active),
        ))
        .execute(conn)
        .await?;
    Ok((terminal, terminal_key))
}

/// A new customer with a balance large enough for any run, and one active
/// device with `public_key`; returns the device and its handle.
pub async fn customer_with_device(
    conn: &mut DbConn,
    merchant: &TestMerchant,
    name: &DeviceName,
    public_key: &[u8; 32],
) -> anyhow::Result<(RegisteredDevice, DeviceHandle)> {
    let account = merchant.account_with(conn, 1_000_000_000).await;
    let customer: Uuid = accounts::table
        .filter(accounts::id.eq(Uuid::from(account)))
        .select(accounts::customer_id)
        .first(conn)
        .await?;
    let device = insert_device(
        conn,
        merchant.merchant,
        customer,
        name,
        public_key,
        tillcode_api::db::DeviceStatus::Active,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let handle = DeviceHandle(
        hex::decode(&device.device_handle)?
            .try_into()
            .map_err(|_| anyhow::anyhow!("device handle"))?,
    );
    Ok((device, handle))
}
