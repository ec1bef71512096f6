use crate::cache::RedisPool;
use crate::db::DbPool;
use crate::error::ApiError;

/// What every handler may use. Cheap to clone: pools are handles.
#[derive(Clone)]
pub struct AppState {
    pub db: DbPool,
    pub redis: RedisPool,
    /// Prefix of every Redis key this server writes.
    pub redis_prefix: String,
    pub metrics: crate::metrics::Metrics,
    /// Merchants' fraud settings, cached briefly.
    pub settings: crate::fraud::settings::SettingsCache,
    /// Where handlers post to the ledger (group commit).
    pub ledger: crate::ledger::Writer,
}

impl AppState {
    /// `<prefix><part>:<part>...`: the only way keys are named.
    pub fn redis_key(&self, parts: &[&str]) -> String {
        format!("{}{}", self.redis_prefix, parts.join(":"))
    }

    pub async fn db_conn(&self) -> Result<crate::db::DbConn, ApiError> {
        self.db.get().await.map_err(|e| {
            self.metrics
                .pool_errors
                .with_label_values(&["postgres"])
                .inc();
            e.into()
        })
    }

    pub async fn redis_conn(&self) -> Result<deadpool_redis::Connection, ApiError> {
        self.redis.get().await.map_err(|e| {
            self.metrics.pool_errors.with_label_values(&["redis"]).inc();
            ApiError::Unavailable(format!("redis pool: {e}"))
        })
    }
}
