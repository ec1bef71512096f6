//! The Redis the tests use: `TILLCODE_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`), a Redis Cluster when
//! `TILLCODE_TEST_REDIS_CLUSTER=true` (the URL then names one or more of its
//! nodes, comma-separated, as `TILLCODE_REDIS_URL` does).

use crate::redis_conn::{self, Redis};

/// The Redis URL from `TILLCODE_TEST_REDIS_URL`.
pub fn test_redis_url() -> String {
    std::env::var("TILLCODE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Whether `TILLCODE_TEST_REDIS_URL` is a Redis Cluster.
pub fn test_redis_cluster() -> bool {
    std::env::var("TILLCODE_TEST_REDIS_CLUSTER").is_ok_and(|v| v.trim() == "true")
}

fn urls(url: &str) -> Vec<&str> {
    if test_redis_cluster() {
        url.split(',').map(str::trim).collect()
    } else {
        vec![url]
    }
}

/// A connection to the test Redis, as a server's thread has one, without
/// the server's timeout; its errors are counted nowhere.
pub fn test_redis() -> Redis {
    let url = test_redis_url();
    let errors = prometheus::IntCounter::new("redis_connection_errors_total", "unregistered")
        .expect("counter");
    redis_conn::connect(&urls(&url), test_redis_cluster(), None, errors).expect("redis")
}

/// Deletes every key under `prefix` (synchronous: it also runs in `Drop`).
/// In a cluster, KEYS asks every master and each key is deleted on its own
/// slot.
pub fn delete_redis_prefix(prefix: &str) {
    let url = test_redis_url();
    let pattern = format!("{prefix}*");
    if test_redis_cluster() {
        let Ok(client) = redis::cluster::ClusterClient::new(urls(&url)) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query(&mut conn)
            .unwrap_or_default();
        for key in keys {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(key).query(&mut conn);
        }
    } else {
        let Ok(client) = redis::Client::open(url) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
        }
    }
}
