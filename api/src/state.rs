use crate::db::DbPools;
use crate::error::ApiError;
use crate::redis_conn::Redis;

/// What every handler may use. Cheap to clone: pools, connections and
/// caches are handles.
#[derive(Clone)]
pub struct AppState {
    pub db: DbPools,
    /// This thread's connection to Redis (one per HTTP worker: see
    /// [`AppState::for_this_thread`]).
    pub redis: Redis,
    /// Prefix of every Redis key this server writes.
    pub redis_prefix: String,
    pub metrics: crate::metrics::Metrics,
    /// Merchants' fraud settings, cached briefly.
    pub settings: crate::fraud::settings::SettingsCache,
    /// Terminals' and phones' public keys, parsed once per process.
    pub keys: crate::key_cache::KeyCache,
    /// Active devices behind recent codes (`codes::devices`).
    pub devices: crate::codes::DeviceCache,
    /// Terminals' identities, fixed at enrollment (`terminals::auth`).
    pub terminals: crate::terminals::auth::TerminalCache,
    /// Where handlers post to the ledger (group commit).
    pub ledger: crate::ledger::Writer,
}

impl AppState {
    /// `<prefix><part>:<part>...`: the way keys are named. Such a key has no
    /// hash tag, so in a Redis Cluster its slot comes from the whole key and
    /// keys spread evenly over the nodes: right for a key that every command
    /// and script touches alone.
    pub fn redis_key(&self, parts: &[&str]) -> String {
        format!("{}{}", self.redis_prefix, parts.join(":"))
    }

    /// `<prefix>{<tag>}:<part>:<part>...`: a key that a script or pipeline
    /// touches together with other keys. Redis Cluster hashes only the
    /// `{tag}`, so keys with one tag share a slot, which a multi-key script
    /// requires. Tag by the smallest owner that groups them (a customer, not
    /// a merchant), so that one busy merchant does not become one hot slot.
    pub fn redis_tagged_key(&self, tag: &str, parts: &[&str]) -> String {
        format!("{}{{{tag}}}:{}", self.redis_prefix, parts.join(":"))
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

    /// The same state with a Redis connection of its own, for an HTTP
    /// worker (`server.rs`); everything else is shared.
    pub fn for_this_thread(&self) -> Self {
        Self {
            redis: self.redis.for_this_thread(),
            ..self.clone()
        }
    }

    pub async fn redis_conn(&self) -> Result<crate::redis_conn::RedisConn, ApiError> {
        self.redis
            .get()
            .await
            .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))
    }
}
