use crate::cache::RedisPool;
use crate::db::DbPool;

/// What every handler may use. Cheap to clone: pools are handles.
#[derive(Clone)]
pub struct AppState {
    pub db: DbPool,
    pub redis: RedisPool,
    /// Prefix of every Redis key this server writes.
    pub redis_prefix: String,
}
