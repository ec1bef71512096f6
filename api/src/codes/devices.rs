//! Finding the device behind a code, and the per-process cache that keeps
//! the till's main path off the database.
//!
//! A device's key, customer, account and handles never change once it is
//! registered; its status and its replay floors do. The cache therefore
//! keeps only devices that were active when read, for [`FRESH_FOR`], and the
//! request path treats what it holds as a first opinion: the posting
//! statement checks the status and raises the floor in its own transaction
//! (`ledger_post_batch_v1`), so a device revoked a moment ago, or a token below
//! a floor this cache has not seen move, is still refused there, and
//! `ledger::post`'s diagnosis says why. A cached floor is a floor the
//! device had at some point, and floors only rise, so a token at or below
//! it is refused early without being wrong.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tillcode_protocol::MerchantId;
use tillcode_protocol::offline_token::DEVICE_HANDLE_LEN;
use uuid::Uuid;

use crate::error::ApiError;
use crate::schema::{accounts, customers, devices};
use crate::shared_lru::SharedLru;
use crate::state::AppState;

/// Devices kept (about 200 bytes each): those of the customers who paid in
/// the last minute, at a chain's peak.
pub const CAPACITY: usize = 50_000;

/// How long a cached device is used before it is read again. It bounds how
/// long a revoked device's codes get as far as the posting statement (which
/// refuses them) instead of being refused at once; revoking through this
/// process forgets the device at once.
pub const FRESH_FOR: Duration = Duration::from_secs(60);

/// A device as code verification needs it.
#[derive(Clone, Debug)]
pub struct DeviceRow {
    pub id: Uuid,
    pub customer: Uuid,
    pub customer_name: String,
    pub public_key: Vec<u8>,
    pub status: String,
    /// Only read for numeric codes, which never come from the cache.
    pub totp_secret: Option<Vec<u8>>,
    pub last_offline_issued_at_ms: i64,
    pub last_numeric_step: i64,
    pub account: Uuid,
}

/// How a code names its device.
#[derive(Clone, Copy, Debug)]
pub enum DeviceBy<'a> {
    /// An online key's record.
    Id(Uuid),
    /// An offline token's handle.
    Handle(&'a [u8]),
    /// A numeric code's handle.
    Numeric(i32),
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum CacheKey {
    Id(Uuid, Uuid),
    Handle(Uuid, [u8; DEVICE_HANDLE_LEN]),
}

impl CacheKey {
    /// Numeric codes are left out: their check needs the TOTP secret and the
    /// device's lock, both read fresh; they are the rare fallback.
    fn of(merchant: Uuid, by: DeviceBy<'_>) -> Option<Self> {
        match by {
            DeviceBy::Id(id) => Some(Self::Id(merchant, id)),
            DeviceBy::Handle(handle) => Some(Self::Handle(merchant, handle.try_into().ok()?)),
            DeviceBy::Numeric(_) => None,
        }
    }
}

/// Active devices recently read, by how codes name them.
#[derive(Clone)]
pub struct DeviceCache(SharedLru<CacheKey, (Instant, Arc<DeviceRow>)>);

impl Default for DeviceCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl DeviceCache {
    pub fn with_capacity(capacity: usize) -> Self {
        Self(SharedLru::with_capacity(capacity))
    }

    fn get(&self, key: &CacheKey) -> Option<Arc<DeviceRow>> {
        match self.0.get(key) {
            Some((read_at, row)) if read_at.elapsed() < FRESH_FOR => Some(row),
            Some(_) => {
                self.0.remove(key);
                None
            }
            None => None,
        }
    }

    fn put(&self, key: CacheKey, row: &DeviceRow) {
        if row.status != "active" {
            return;
        }
        let kept = DeviceRow {
            totp_secret: None,
            ..row.clone()
        };
        self.0.put(key, (Instant::now(), Arc::new(kept)));
    }

    /// Drops `device` from the cache: called when this process revokes it,
    /// so that its next code is refused at once.
    pub fn forget(&self, device: Uuid) {
        self.0.retain(|_, (_, row)| row.id != device);
    }
}

/// The device of `merchant` that `by` names, with its account and customer:
/// from the cache when an active one was read in the last [`FRESH_FOR`].
pub async fn find_device(
    state: &AppState,
    merchant: MerchantId,
    by: DeviceBy<'_>,
) -> Result<Option<Arc<DeviceRow>>, ApiError> {
    let merchant = Uuid::from(merchant);
    let key = CacheKey::of(merchant, by);
    if let Some(row) = key.as_ref().and_then(|key| state.devices.get(key)) {
        return Ok(Some(row));
    }
    let Some(row) = read_device(state, merchant, by).await? else {
        return Ok(None);
    };
    if let Some(key) = key {
        state.devices.put(key, &row);
    }
    Ok(Some(Arc::new(row)))
}

/// Devices of `merchant` with their account and customer, in the columns
/// of [`DeviceRow`]. Not boxed: each way of naming a device below is then a
/// query of its own fixed type, which a connection prepares once and reuses.
#[diesel::dsl::auto_type]
fn devices_of(merchant: Uuid) -> _ {
    devices::table
        .inner_join(
            accounts::table.on(accounts::merchant_id
                .eq(devices::merchant_id)
                .and(accounts::customer_id.eq(devices::customer_id))),
        )
        .inner_join(
            customers::table.on(customers::merchant_id
                .eq(devices::merchant_id)
                .and(customers::id.eq(devices::customer_id))),
        )
        .filter(devices::merchant_id.eq(merchant))
        .select((
            devices::id,
            devices::customer_id,
            devices::public_key,
            devices::status,
            devices::totp_secret,
            devices::last_offline_issued_at_ms,
            devices::last_numeric_step,
            accounts::id,
            customers::display_name,
        ))
}

async fn read_device(
    state: &AppState,
    merchant: Uuid,
    by: DeviceBy<'_>,
) -> Result<Option<DeviceRow>, ApiError> {
    let mut conn = state.db_conn().await?;
    type Row = (
        Uuid,
        Uuid,
        Vec<u8>,
        String,
        Option<Vec<u8>>,
        i64,
        i64,
        Uuid,
        String,
    );
    let row: Option<Row> = match by {
        DeviceBy::Id(id) => {
            devices_of(merchant)
                .filter(devices::id.eq(id))
                .first(&mut conn)
                .await
        }
        DeviceBy::Handle(handle) => {
            devices_of(merchant)
                .filter(devices::device_handle.eq(handle))
                .first(&mut conn)
                .await
        }
        DeviceBy::Numeric(handle) => {
            devices_of(merchant)
                .filter(devices::numeric_handle.eq(handle))
                .first(&mut conn)
                .await
        }
    }
    .optional()?;
    Ok(row.map(
        |(
            id,
            customer,
            public_key,
            status,
            totp_secret,
            last_offline,
            last_step,
            account,
            customer_name,
        )| DeviceRow {
            id,
            customer,
            customer_name,
            public_key,
            status,
            totp_secret,
            last_offline_issued_at_ms: last_offline,
            last_numeric_step: last_step,
            account,
        },
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(id: Uuid, status: &str) -> DeviceRow {
        DeviceRow {
            id,
            customer: Uuid::now_v7(),
            customer_name: "Ana".into(),
            public_key: vec![1; 32],
            status: status.into(),
            totp_secret: Some(vec![9; 32]),
            last_offline_issued_at_ms: 0,
            last_numeric_step: 0,
            account: Uuid::now_v7(),
        }
    }

    #[test]
    fn an_active_device_is_kept_without_its_totp_secret_and_found_by_the_name_it_was_read_by() {
        let cache = DeviceCache::with_capacity(4);
        let merchant = Uuid::now_v7();
        let device = Uuid::now_v7();
        let key = CacheKey::of(merchant, DeviceBy::Handle(&[3; DEVICE_HANDLE_LEN])).unwrap();
        cache.put(key, &row(device, "active"));
        let kept = cache.get(&key).unwrap();
        assert_eq!(kept.id, device);
        assert_eq!(kept.totp_secret, None);
        let other_merchant =
            CacheKey::of(Uuid::now_v7(), DeviceBy::Handle(&[3; DEVICE_HANDLE_LEN])).unwrap();
        assert!(cache.get(&other_merchant).is_none());
        assert!(cache.get(&CacheKey::Id(merchant, device)).is_none());
    }

    #[test]
    fn a_device_that_is_not_active_is_never_kept() {
        let cache = DeviceCache::with_capacity(4);
        let merchant = Uuid::now_v7();
        for status in ["pending", "revoked"] {
            let device = Uuid::now_v7();
            let key = CacheKey::of(merchant, DeviceBy::Id(device)).unwrap();
            cache.put(key, &row(device, status));
            assert!(cache.get(&key).is_none(), "{status}");
        }
    }

    #[test]
    fn numeric_codes_and_malformed_handles_have_no_cache_key() {
        let merchant = Uuid::now_v7();
        assert!(CacheKey::of(merchant, DeviceBy::Numeric(7)).is_none());
        assert!(CacheKey::of(merchant, DeviceBy::Handle(&[1; 3])).is_none());
    }

    #[test]
    fn a_forgotten_device_is_read_again_under_every_name() {
        let cache = DeviceCache::with_capacity(4);
        let merchant = Uuid::now_v7();
        let (gone, kept) = (Uuid::now_v7(), Uuid::now_v7());
        let by_id = CacheKey::of(merchant, DeviceBy::Id(gone)).unwrap();
        let by_handle = CacheKey::of(merchant, DeviceBy::Handle(&[5; DEVICE_HANDLE_LEN])).unwrap();
        let other = CacheKey::of(merchant, DeviceBy::Id(kept)).unwrap();
        cache.put(by_id, &row(gone, "active"));
        cache.put(by_handle, &row(gone, "active"));
        cache.put(other, &row(kept, "active"));
        cache.forget(gone);
        assert!(cache.get(&by_id).is_none());
        assert!(cache.get(&by_handle).is_none());
        assert_eq!(cache.get(&other).unwrap().id, kept);
    }

    #[test]
    fn an_entry_older_than_fresh_for_is_read_again() {
        let cache = DeviceCache::with_capacity(4);
        let device = Uuid::now_v7();
        let key = CacheKey::of(Uuid::now_v7(), DeviceBy::Id(device)).unwrap();
        let long_ago = Instant::now()
            .checked_sub(FRESH_FOR)
            .expect("the monotonic clock started over a minute ago");
        cache
            .0
            .put(key, (long_ago, Arc::new(row(device, "active"))));
        assert!(cache.get(&key).is_none());
        assert!(cache.0.is_empty());
    }
}
