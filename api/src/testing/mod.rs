//! Test support, shared by the unit tests and the benchmark driver: a
//! database per test ([`TestDatabase`]), a merchant to post against
//! ([`TestMerchant`]) and the whole server on a random port ([`spawn_app`]),
//! over HTTPS with certificates made at test time ([`TestPki`]).
#![allow(clippy::expect_used, clippy::unwrap_used)] // test-only code: fail loudly

#[cfg(test)]
pub mod customer;
#[cfg(test)]
pub mod logs;
mod redis_setup;
#[cfg(test)]
pub mod terminal;
mod tls;

use std::net::TcpListener;

use uuid::Uuid;

pub use redis_setup::{delete_redis_prefix, test_redis, test_redis_cluster, test_redis_url};
pub use tillcode_ledger::testing::{
    TEST_CALLER, TestDatabase, TestMerchant, test_database_admin_url,
};
pub use tls::TestPki;

use crate::config::{Config, DatabaseConfig, Secret};

/// A server on a random local port, with its own database and Redis prefix.
pub struct TestApp {
    pub address: String,
    pub db: TestDatabase,
    pub redis_prefix: String,
    server: actix_web::dev::ServerHandle,
    /// A [`TestApp::twin`]: the database and the Redis prefix are another's.
    twin: bool,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The same state the server's handlers use: this test's database and
    /// Redis prefix, with pools of its own.
    pub fn state(&self) -> crate::state::AppState {
        let db = self.db.pool(8);
        let metrics = crate::metrics::Metrics::new().expect("metrics");
        crate::state::AppState {
            ledger: crate::ledger::Writer::start(
                db.clone(),
                Default::default(),
                metrics.ledger.clone(),
            ),
            db: crate::db::DbPools::single(db),
            redis: test_redis(),
            redis_prefix: self.redis_prefix.clone(),
            metrics,
            settings: Default::default(),
            keys: Default::default(),
            devices: Default::default(),
            terminals: Default::default(),
        }
    }

    /// Forgets everything this test keeps in Redis, as a Redis failover
    /// without persistence would.
    pub fn flush_redis(&self) {
        delete_redis_prefix(&self.redis_prefix);
    }

    /// A second server on this app's database and Redis prefix, configured
    /// as tests are with `alter` applied: the same data under other limits.
    /// Dropping it stops its server and leaves the data to this app.
    pub async fn twin(&self, alter: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = Self::config(&self.db, &self.redis_prefix);
        alter(&mut config);
        let mut twin =
            spawn_app_with(self.db.shared(), |_, _| config, self.redis_prefix.clone()).await;
        twin.twin = true;
        twin
    }

    /// A merchant with a points program in this app's database.
    pub async fn merchant(&self) -> TestMerchant {
        TestMerchant::create(&mut self.db.connect().await).await
    }

    pub fn config(db: &TestDatabase, redis_prefix: &str) -> Config {
        Config {
            database: DatabaseConfig {
                url: Secret::new(db.url()),
                pool_size: 4,
            },
            redis_url: Secret::new(test_redis_url()),
            redis_cluster: test_redis_cluster(),
            redis_prefix: redis_prefix.to_owned(),
            bind: "127.0.0.1:0".parse().expect("address"),
            shutdown_timeout: std::time::Duration::from_secs(5),
            ledger_batch: Default::default(),
            timeouts: Default::default(),
            http: crate::http_limits::HttpLimits::default(),
            tls: None,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting before the database goes away; the rest is torn
        // down with the test's runtime.
        drop(self.server.stop(false));
        if self.twin {
            return;
        }
        let prefix = self.redis_prefix.clone();
        let _ = std::thread::spawn(move || delete_redis_prefix(&prefix)).join();
    }
}

/// Starts the full application, as `serve` would, on a random port.
pub async fn spawn_app() -> TestApp {
    spawn_app_configured(|_| {}).await
}

/// [`spawn_app`] with the tests' configuration altered by `alter` (group
/// commit off, a short statement timeout...).
pub async fn spawn_app_configured(alter: impl FnOnce(&mut Config)) -> TestApp {
    crate::telemetry::init(&crate::config::LogConfig {
        filter: std::env::var("TILLCODE_TEST_LOG").unwrap_or_else(|_| "warn".to_owned()),
        format: crate::config::LogFormat::Pretty,
    });
    let db = TestDatabase::new();
    let redis_prefix = format!("tillcode-test:{}:", Uuid::new_v4().simple());
    let configure = |db: &TestDatabase, prefix: &str| {
        let mut config = TestApp::config(db, prefix);
        alter(&mut config);
        config
    };
    spawn_app_with(db, configure, redis_prefix).await
}

/// Like [`spawn_app`], with a way to alter the configuration (for example
/// to point Redis at a dead port).
pub async fn spawn_app_with(
    db: TestDatabase,
    config: impl FnOnce(&TestDatabase, &str) -> Config,
    redis_prefix: String,
) -> TestApp {
    let config = config(&db, &redis_prefix);
    let listener = TcpListener::bind(config.bind).expect("bind a random port");
    let local = listener.local_addr().expect("local address");
    // A test certificate names `localhost`, as a real one names its host.
    let address = match config.tls {
        Some(_) => format!("https://localhost:{}", local.port()),
        None => format!("http://{local}"),
    };
    let server = crate::server::start(&config, listener).expect("start the server");
    let handle = server.handle();
    tokio::spawn(server);
    TestApp {
        address,
        db,
        redis_prefix,
        server: handle,
        twin: false,
    }
}

/// A server whose Redis is unreachable (port 1 on loopback: nothing listens
/// there), over a database of its own.
#[cfg(test)]
pub async fn spawn_app_with_dead_redis() -> TestApp {
    spawn_app_with(
        TestDatabase::new(),
        |db, prefix| {
            let mut config = TestApp::config(db, prefix);
            config.redis_url = crate::config::Secret::new("redis://127.0.0.1:1");
            config
        },
        "tillcode-test:dead-redis:".to_owned(),
    )
    .await
}
