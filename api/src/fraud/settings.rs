//! A merchant's fraud settings, with defaults for merchants that set none:
//! velocity limits, the bad-code threshold that suspends a terminal, and the
//! freshness windows of offline tokens. Read on the redemption path, so kept
//! in memory for a short while.

use std::ops::RangeInclusive;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use moka::future::Cache;
use tillcode_protocol::MerchantId;
use uuid::Uuid;

use crate::codes::verify::TokenWindows;
use crate::error::ApiError;
use crate::local_cache;
use crate::schema::merchant_settings;
use crate::state::AppState;

/// How long a server trusts what it read; a change takes effect within it.
pub const FRESH_FOR: Duration = Duration::from_secs(30);

/// Allowed `offline_max_age_s` (the table's CHECK): under 10 s a code shown
/// while the cashier types the amount expires at the till; over 10 minutes
/// a photographed code stays usable too long.
pub const OFFLINE_MAX_AGE_S: RangeInclusive<i32> = 10..=600;
/// Allowed `offline_max_skew_s`: a phone clock further ahead is broken.
pub const OFFLINE_MAX_SKEW_S: RangeInclusive<i32> = 0..=300;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Queryable)]
pub struct Settings {
    pub velocity_window_s: i32,
    pub customer_max_count: i32,
    pub customer_max_amount: i64,
    pub device_max_count: i32,
    pub terminal_max_count: i32,
    pub terminal_bad_codes_max: i32,
    pub terminal_bad_codes_window_s: i32,
    pub offline_max_age_s: i32,
    pub offline_max_skew_s: i32,
}

impl Settings {
    /// The windows `verify_code` applies to this merchant's offline tokens.
    pub fn token_windows(&self) -> TokenWindows {
        // The CHECKs keep both in range; a negative value cannot get here.
        let seconds = |s: i32| Duration::from_secs(u64::try_from(s).unwrap_or(0));
        TokenWindows {
            max_age: seconds(self.offline_max_age_s),
            max_skew: seconds(self.offline_max_skew_s),
        }
    }
}

impl Default for Settings {
    /// The column defaults of `merchant_settings`.
    fn default() -> Self {
        Self {
            velocity_window_s: 3600,
            customer_max_count: 20,
            customer_max_amount: 1_000_000,
            device_max_count: 20,
            terminal_max_count: 600,
            terminal_bad_codes_max: 30,
            terminal_bad_codes_window_s: 600,
            offline_max_age_s: 60,
            offline_max_skew_s: 30,
        }
    }
}

/// Every column of [`Settings`], in its order.
pub const COLUMNS: (
    merchant_settings::velocity_window_s,
    merchant_settings::customer_max_count,
    merchant_settings::customer_max_amount,
    merchant_settings::device_max_count,
    merchant_settings::terminal_max_count,
    merchant_settings::terminal_bad_codes_max,
    merchant_settings::terminal_bad_codes_window_s,
    merchant_settings::offline_max_age_s,
    merchant_settings::offline_max_skew_s,
) = (
    merchant_settings::velocity_window_s,
    merchant_settings::customer_max_count,
    merchant_settings::customer_max_amount,
    merchant_settings::device_max_count,
    merchant_settings::terminal_max_count,
    merchant_settings::terminal_bad_codes_max,
    merchant_settings::terminal_bad_codes_window_s,
    merchant_settings::offline_max_age_s,
    merchant_settings::offline_max_skew_s,
);

/// What this server read, per merchant, for [`FRESH_FOR`]. Not bounded by
/// a count: an entry is about 60 bytes and goes when it expires, so it holds
/// the merchants seen in the last 30 s.
#[derive(Clone)]
pub struct SettingsCache(Cache<MerchantId, Settings>);

impl Default for SettingsCache {
    fn default() -> Self {
        Self(Cache::builder().time_to_live(FRESH_FOR).build())
    }
}

impl SettingsCache {
    /// Drops what this server read for `merchant`: its next read goes to
    /// the database.
    pub async fn forget(&self, merchant: MerchantId) {
        self.0.invalidate(&merchant).await;
    }

    /// The merchant's settings, read at most once per [`FRESH_FOR`] (and
    /// once for requests that miss at the same time).
    pub async fn get(&self, state: &AppState, merchant: MerchantId) -> Result<Settings, ApiError> {
        self.0
            .try_get_with(merchant, read(state, merchant))
            .await
            .map_err(local_cache::unshare)
    }
}

async fn read(state: &AppState, merchant: MerchantId) -> Result<Settings, ApiError> {
    let row: Option<Settings> = merchant_settings::table
        .find(Uuid::from(merchant))
        .select(COLUMNS)
        .first(&mut *state.db_conn().await?)
        .await
        .optional()?;
    Ok(row.unwrap_or_default())
}
