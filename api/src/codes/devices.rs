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

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use moka::future::Cache;
use tillcode_protocol::MerchantId;
use tillcode_protocol::offline_token::DEVICE_HANDLE_LEN;
use uuid::Uuid;

use crate::db::DeviceStatus;
use crate::error::ApiError;
use crate::local_cache;
use crate::schema::{accounts, customers, devices};
use crate::state::AppState;

/// Devices kept (about 200 bytes each): those of the customers who paid in
/// the last minute, at a chain's peak.
pub const CAPACITY: u64 = 50_000;

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
    pub status: DeviceStatus,
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
pub struct DeviceCache(Cache<CacheKey, Arc<DeviceRow>>);

impl Default for DeviceCache {
    fn default() -> Self {
        Self::new(CAPACITY, FRESH_FOR)
    }
}

/// Why a device read was not cached.
enum NotKept {
    /// No such device.
    Missing,
    /// Pending or revoked: read again each time.
    Inactive(Arc<DeviceRow>),
    Failed(ApiError),
}

impl DeviceCache {
    fn new(capacity: u64, fresh_for: Duration) -> Self {
        Self(
            Cache::builder()
                .max_capacity(capacity)
                .time_to_live(fresh_for)
                // For `forget`: a device is cached under each name it was read by.
                .support_invalidation_closures()
                .build(),
        )
    }

    /// The device `key` names: cached, or from `read` when not, then kept if
    /// active. Requests that miss the same key at the same time share one
    /// read.
    async fn find(
        &self,
        key: CacheKey,
        read: impl Future<Output = Result<Option<DeviceRow>, ApiError>>,
    ) -> Result<Option<Arc<DeviceRow>>, ApiError> {
        let found = self
            .0
            .try_get_with(key, async {
                match read.await {
                    Ok(Some(row)) if row.status == DeviceStatus::Active => {
                        Ok(Arc::new(DeviceRow {
                            totp_secret: None,
                            ..row
                        }))
                    }
                    Ok(Some(row)) => Err(NotKept::Inactive(Arc::new(row))),
                    Ok(None) => Err(NotKept::Missing),
                    Err(e) => Err(NotKept::Failed(e)),
                }
            })
            .await;
        match found {
            Ok(row) => Ok(Some(row)),
            Err(not_kept) => match Arc::try_unwrap(not_kept) {
                Ok(NotKept::Failed(e)) => Err(e),
                Ok(NotKept::Inactive(row)) => Ok(Some(row)),
                Ok(NotKept::Missing) => Ok(None),
                Err(shared) => match &*shared {
                    NotKept::Failed(e) => Err(local_cache::again(e)),
                    NotKept::Inactive(row) => Ok(Some(Arc::clone(row))),
                    NotKept::Missing => Ok(None),
                },
            },
        }
    }

    /// Drops `device` from the cache, under every name: called when this
    /// process revokes it, so that its next code is refused at once.
    pub fn forget(&self, device: Uuid) {
        if let Err(e) = self.0.invalidate_entries_if(move |_, row| row.id == device) {
            // Not expected (the cache is built for it); forget them all rather
            // than keep a revoked device.
            tracing::warn!(error = %e, "device cache: forgetting every device");
            self.0.invalidate_all();
        }
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
    match CacheKey::of(merchant, by) {
        Some(key) => {
            state
                .devices
                .find(key, read_device(state, merchant, by))
                .await
        }
        None => Ok(read_device(state, merchant, by).await?.map(Arc::new)),
    }
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
        DeviceStatus,
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
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn row(id: Uuid, status: DeviceStatus) -> DeviceRow {
        DeviceRow {
            id,
            customer: Uuid::now_v7(),
            customer_name: "Ana".into(),
            public_key: vec![1; 32],
            status,
            totp_secret: Some(vec![9; 32]),
            last_offline_issued_at_ms: 0,
            last_numeric_step: 0,
            account: Uuid::now_v7(),
        }
    }

    /// A database stand-in that counts its reads.
    #[derive(Default)]
    struct Reads(AtomicUsize);

    impl Reads {
        async fn of(&self, row: Option<DeviceRow>) -> Result<Option<DeviceRow>, ApiError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(row)
        }

        fn count(&self) -> usize {
            AtomicUsize::load(&self.0, Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn an_active_device_is_kept_without_its_totp_secret_and_found_by_the_name_it_was_read_by()
    {
        let cache = DeviceCache::default();
        let reads = Reads::default();
        let merchant = Uuid::now_v7();
        let device = Uuid::now_v7();
        let key = CacheKey::of(merchant, DeviceBy::Handle(&[3; DEVICE_HANDLE_LEN])).unwrap();
        let first = cache
            .find(key, reads.of(Some(row(device, DeviceStatus::Active))))
            .await;
        assert_eq!(first.unwrap().unwrap().totp_secret, None);
        let kept = cache.find(key, reads.of(None)).await.unwrap().unwrap();
        assert_eq!((kept.id, kept.totp_secret.clone()), (device, None));
        assert_eq!(reads.count(), 1);
        let other_merchant =
            CacheKey::of(Uuid::now_v7(), DeviceBy::Handle(&[3; DEVICE_HANDLE_LEN])).unwrap();
        assert!(
            cache
                .find(other_merchant, reads.of(None))
                .await
                .unwrap()
                .is_none()
        );
        let by_id = CacheKey::Id(merchant, device);
        assert!(cache.find(by_id, reads.of(None)).await.unwrap().is_none());
        assert_eq!(reads.count(), 3);
    }

    #[tokio::test]
    async fn a_device_that_is_not_active_or_not_found_is_never_kept() {
        let cache = DeviceCache::default();
        let reads = Reads::default();
        let merchant = Uuid::now_v7();
        for status in [DeviceStatus::Pending, DeviceStatus::Revoked] {
            let device = Uuid::now_v7();
            let key = CacheKey::of(merchant, DeviceBy::Id(device)).unwrap();
            for _ in 0..2 {
                let found = cache.find(key, reads.of(Some(row(device, status)))).await;
                assert_eq!(found.unwrap().unwrap().status, status);
            }
        }
        let missing = CacheKey::of(merchant, DeviceBy::Id(Uuid::now_v7())).unwrap();
        for _ in 0..2 {
            assert!(cache.find(missing, reads.of(None)).await.unwrap().is_none());
        }
        assert_eq!(reads.count(), 6);
    }

    #[tokio::test]
    async fn a_failed_read_is_not_kept_and_says_why() {
        let cache = DeviceCache::default();
        let device = Uuid::now_v7();
        let key = CacheKey::of(Uuid::now_v7(), DeviceBy::Id(device)).unwrap();
        let failed = cache
            .find(key, async {
                Err(ApiError::Unavailable("postgres: down".into()))
            })
            .await;
        assert_eq!(
            failed.unwrap_err().kind(),
            tillcode_protocol::ProblemType::ServiceUnavailable
        );
        let reads = Reads::default();
        let found = cache
            .find(key, reads.of(Some(row(device, DeviceStatus::Active))))
            .await;
        assert_eq!(found.unwrap().unwrap().id, device);
        assert_eq!(reads.count(), 1);
    }

    #[test]
    fn numeric_codes_and_malformed_handles_have_no_cache_key() {
        let merchant = Uuid::now_v7();
        assert!(CacheKey::of(merchant, DeviceBy::Numeric(7)).is_none());
        assert!(CacheKey::of(merchant, DeviceBy::Handle(&[1; 3])).is_none());
    }

    #[tokio::test]
    async fn a_forgotten_device_is_read_again_under_every_name() {
        let cache = DeviceCache::default();
        let reads = Reads::default();
        let merchant = Uuid::now_v7();
        let (gone, kept) = (Uuid::now_v7(), Uuid::now_v7());
        let by_id = CacheKey::of(merchant, DeviceBy::Id(gone)).unwrap();
        let by_handle = CacheKey::of(merchant, DeviceBy::Handle(&[5; DEVICE_HANDLE_LEN])).unwrap();
        let other = CacheKey::of(merchant, DeviceBy::Id(kept)).unwrap();
        for (key, device) in [(by_id, gone), (by_handle, gone), (other, kept)] {
            cache
                .find(key, reads.of(Some(row(device, DeviceStatus::Active))))
                .await
                .unwrap();
        }
        cache.forget(gone);
        // Read again: now revoked, and so not kept.
        for key in [by_id, by_handle] {
            let found = cache
                .find(key, reads.of(Some(row(gone, DeviceStatus::Revoked))))
                .await;
            assert_eq!(found.unwrap().unwrap().status, DeviceStatus::Revoked);
        }
        let found = cache.find(other, reads.of(None)).await.unwrap().unwrap();
        assert_eq!(found.id, kept);
        assert_eq!(reads.count(), 5);
    }

    #[tokio::test]
    async fn an_entry_older_than_its_time_to_live_is_read_again() {
        let cache = DeviceCache::new(4, Duration::from_millis(50));
        let reads = Reads::default();
        let device = Uuid::now_v7();
        let key = CacheKey::of(Uuid::now_v7(), DeviceBy::Id(device)).unwrap();
        cache
            .find(key, reads.of(Some(row(device, DeviceStatus::Active))))
            .await
            .unwrap();
        cache.find(key, reads.of(None)).await.unwrap();
        assert_eq!(reads.count(), 1);
        tokio::time::sleep(Duration::from_millis(120)).await;
        let found = cache
            .find(key, reads.of(Some(row(device, DeviceStatus::Active))))
            .await;
        assert_eq!(found.unwrap().unwrap().id, device);
        assert_eq!(reads.count(), 2);
    }

    #[tokio::test]
    async fn requests_that_miss_one_device_together_read_it_once() {
        let cache = DeviceCache::default();
        let reads = Reads::default();
        let device = Uuid::now_v7();
        let key = CacheKey::of(Uuid::now_v7(), DeviceBy::Id(device)).unwrap();
        let slow_read = || async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            reads.of(Some(row(device, DeviceStatus::Active))).await
        };
        let found =
            futures_util::future::join_all((0..8).map(|_| cache.find(key, slow_read()))).await;
        for one in found {
            assert_eq!(one.unwrap().unwrap().id, device);
        }
        assert_eq!(reads.count(), 1);
    }
}
