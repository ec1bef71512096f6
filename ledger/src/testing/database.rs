//! A fresh PostgreSQL database per test, cloned from a migrated template.
//!
//! Reads `TILLCODE_TEST_DATABASE_URL` (an admin URL, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). The template is made by
//! [`crate::migrate::run`]: the migrations, then the ledger's functions.

use std::sync::Arc;

// The admin side is synchronous (libpq): it also runs in `Drop`.
use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl as _, sql_query};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::future::join_all;
use tokio::sync::Barrier;
use uuid::Uuid;

use tillcode_db::DbPool;

use crate::{LedgerError, Posted, Posting};

/// The admin URL from `TILLCODE_TEST_DATABASE_URL`.
pub fn test_database_admin_url() -> String {
    std::env::var("TILLCODE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("database URL has a path");
    let query = url
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{base}/{name}{query}")
}

/// The template is made once per test run: nextest gives every test process
/// of one run the same `NEXTEST_RUN_ID`; plain `cargo test` runs all tests in
/// one process. `ops/test.sh` drops templates of earlier runs.
fn template_name() -> String {
    let run = std::env::var("NEXTEST_RUN_ID").unwrap_or_else(|_| {
        static PROCESS_RUN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        PROCESS_RUN
            .get_or_init(|| Uuid::new_v4().to_string())
            .clone()
    });
    format!(
        "tillcode_tpl_{}",
        run.replace('-', "").get(..16).unwrap_or("local")
    )
}

fn ensure_template(admin: &mut PgConnection, admin_url: &str) -> String {
    let template = template_name();
    // Serialises template creation across the test processes of one run.
    sql_query("SELECT pg_advisory_lock(7261636)")
        .execute(admin)
        .expect("advisory lock");
    let exists = sql_query(format!(
        "SELECT 1 FROM pg_database WHERE datname = '{template}'"
    ))
    .execute(admin)
    .expect("query pg_database")
        > 0;
    if !exists {
        // Built under a scratch name and renamed when complete, so a crash
        // half-way never leaves a broken template behind.
        let building = format!("{template}_building");
        sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .execute(admin)
            .expect("drop stale template");
        sql_query(format!("CREATE DATABASE {building}"))
            .execute(admin)
            .expect("create template");
        crate::migrate::run(&with_database(admin_url, &building)).expect("migrate template");
        sql_query(format!("ALTER DATABASE {building} RENAME TO {template}"))
            .execute(admin)
            .expect("rename template");
    }
    sql_query("SELECT pg_advisory_unlock(7261636)")
        .execute(admin)
        .expect("advisory unlock");
    template
}

/// A database of its own for one test, dropped when this value is (unless
/// it is only a [`TestDatabase::shared`] handle).
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
    owner: bool,
}

impl TestDatabase {
    pub fn new() -> Self {
        Self::create(true)
    }

    /// An empty database, no migration applied: for the tests of the
    /// migrations themselves.
    pub fn empty() -> Self {
        Self::create(false)
    }

    fn create(migrated: bool) -> Self {
        let admin_url = test_database_admin_url();
        let mut admin = PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("TILLCODE_TEST_DATABASE_URL: cannot connect: {e}"));
        let template = match migrated {
            true => format!(" TEMPLATE {}", ensure_template(&mut admin, &admin_url)),
            false => String::new(),
        };
        let name = format!("tillcode_test_{}", Uuid::new_v4().simple());
        sql_query(format!("CREATE DATABASE {name}{template}"))
            .execute(&mut admin)
            .expect("create the test database");
        Self {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
            owner: true,
        }
    }

    /// The same database, which dropping this handle leaves in place.
    pub fn shared(&self) -> Self {
        Self {
            name: self.name.clone(),
            url: self.url.clone(),
            admin_url: self.admin_url.clone(),
            owner: false,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pool(&self, size: usize) -> DbPool {
        tillcode_db::pool(&self.url, size).expect("test pool")
    }

    /// A connection of its own, outside any pool.
    pub async fn connect(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.url)
            .await
            .expect("connect to the test database")
    }

    /// Posts `postings` at the same moment, each on a connection of its own
    /// (connected first, then released together by a barrier).
    pub async fn post_concurrently(
        &self,
        postings: Vec<Posting>,
    ) -> Vec<Result<Posted, LedgerError>> {
        let mut conns = Vec::new();
        for _ in 0..postings.len() {
            conns.push(self.connect().await);
        }
        let barrier = Arc::new(Barrier::new(postings.len()));
        let tasks = postings.into_iter().zip(conns).map(|(posting, mut conn)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                crate::post(&mut conn, &posting).await
            })
        });
        join_all(tasks)
            .await
            .into_iter()
            .map(|r| r.expect("posting task"))
            .collect()
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.owner {
            return;
        }
        // WITH (FORCE) ends the test's own pooled connections too.
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}
