//! A database that does not answer in time, in every module: Postgres
//! cancels the statement (its `statement_timeout`) and the client is told
//! to retry, a 503 with `Retry-After`, never a 500 (docs/operations.md,
//! "Faults"). Each endpoint's own query waits on a lock another connection
//! holds; nothing it began may stay behind, and its retry succeeds.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use serde_json::{Value, json};
use tillcode_protocol::ProblemType;
use uuid::Uuid;

use crate::security_tests::{STAFF_PASSWORD, Shop, staff_sign_in};
use crate::testing::customer::{PASSWORD, create_link, join_body, post};
use crate::testing::terminal::{Signed, enroll_body};
use crate::testing::{TestApp, TestDatabase};

/// The statement timeout of the server under test. A statement blocked by
/// the held lock is cancelled after it however fast the machine is, and one
/// that merely ran slower than this is answered the same 503: only the
/// test's duration depends on it.
const STATEMENT_TIMEOUT: Duration = Duration::from_millis(200);

/// One endpoint, and a lock that its own query waits for.
struct Case<'a> {
    endpoint: &'static str,
    /// Taken in a transaction that stays open while the endpoint runs.
    lock: String,
    /// A fresh request to `app` (a terminal signs each one anew).
    request: Box<dyn Fn(&TestApp) -> reqwest::RequestBuilder + 'a>,
}

impl<'a> Case<'a> {
    fn new(
        endpoint: &'static str,
        lock: String,
        request: impl Fn(&TestApp) -> reqwest::RequestBuilder + 'a,
    ) -> Self {
        Self {
            endpoint,
            lock,
            request: Box::new(request),
        }
    }
}

/// Every query on `table` waits, reads included.
fn whole_table(table: &str) -> String {
    format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
}

/// A change to this row waits; reading it does not.
fn row(table: &str, id: Uuid) -> String {
    format!("SELECT 1 FROM {table} WHERE id = '{id}' FOR UPDATE")
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// One endpoint of each module that reads or writes Postgres by itself
/// (two where a module has two ways of getting it wrong), set up through
/// `shop.app`.
async fn cases(shop: &Shop) -> Vec<Case<'_>> {
    let app = &shop.app;
    let merchant = shop.merchant.merchant;
    let phone = &shop.phone;
    // A link a tablet has joined, to approve, and one still waiting.
    let (to_approve, payload) = create_link(app, phone).await;
    let tablet = SigningKey::generate(&mut OsRng);
    let (status, joined) = post(
        app,
        "/v1/links/join",
        None,
        join_body(&payload, &tablet, "Tablet"),
    )
    .await;
    assert_eq!(status, 201, "{joined}");
    let tablet: Uuid = joined["device_id"].as_str().unwrap().parse().unwrap();
    let (_, to_join) = create_link(app, phone).await;
    let laptop = SigningKey::generate(&mut OsRng);
    // A second till for the terminal's store.
    let enrollment = crate::terminals::enrollment::create(
        &mut app.db.connect().await,
        shop.terminal.store,
        "test",
    )
    .await
    .unwrap();
    let till = SigningKey::generate(&mut OsRng);
    let staff = staff_sign_in(app, merchant, crate::staff::Role::Owner).await;
    let customer = phone.customer;
    let code = phone.offline_code(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    let (staff_email, staff_cookie) = (staff.email.clone(), staff.cookie.clone());
    vec![
        Case::new(
            "customers: POST /v1/customers/sign-up",
            whole_table("accounts"),
            move |app| {
                http().post(app.url("/v1/customers/sign-up")).json(&json!({
                    "merchant_id": merchant, "email": "bea@example.com",
                    "password": PASSWORD, "display_name": "Bea",
                }))
            },
        ),
        Case::new(
            "customers: POST /v1/customers/sign-in",
            whole_table("customers"),
            move |app| {
                http().post(app.url("/v1/customers/sign-in")).json(&json!({
                    "merchant_id": merchant, "email": "ana@example.com", "password": PASSWORD,
                }))
            },
        ),
        Case::new(
            "customers: GET /v1/me/balance",
            whole_table("accounts"),
            |app| {
                http()
                    .get(app.url("/v1/me/balance"))
                    .bearer_auth(&phone.access_token)
            },
        ),
        Case::new(
            "devices: PATCH /v1/me/devices/{id}",
            row("devices", phone.device),
            |app| {
                http()
                    .patch(app.url(&format!("/v1/me/devices/{}", phone.device)))
                    .bearer_auth(&phone.access_token)
                    .json(&json!({"name": "Work phone"}))
            },
        ),
        Case::new(
            "links: POST /v1/links/join",
            whole_table("devices"),
            move |app| {
                http()
                    .post(app.url("/v1/links/join"))
                    .json(&join_body(&to_join, &laptop, "Laptop"))
            },
        ),
        Case::new(
            "links: POST /v1/me/links/{id}/approve",
            row("devices", tablet),
            move |app| {
                http()
                    .post(app.url(&format!("/v1/me/links/{to_approve}/approve")))
                    .bearer_auth(&phone.access_token)
            },
        ),
        Case::new(
            "terminals: POST /v1/terminals/enroll",
            whole_table("terminal_enrollments"),
            move |app| {
                http()
                    .post(app.url("/v1/terminals/enroll"))
                    .json(&enroll_body(
                        shop.terminal.store,
                        &enrollment.code,
                        &till,
                        "Till 2",
                    ))
            },
        ),
        Case::new(
            "redemptions: GET /v1/terminal/transactions",
            whole_table("ledger_transfers"),
            |app| {
                let recent = Signed {
                    method: "GET",
                    path: "/v1/terminal/transactions",
                    body: None,
                    idempotency_key: None,
                };
                shop.terminal.request(app, &recent, None)
            },
        ),
        Case::new(
            "staff: POST /v1/staff/sign-in",
            whole_table("staff"),
            move |app| {
                http().post(app.url("/v1/staff/sign-in")).json(&json!({
                    "merchant_id": merchant, "email": staff_email, "password": STAFF_PASSWORD,
                }))
            },
        ),
        Case::new(
            "dashboard: GET /v1/dashboard/overview",
            whole_table("ledger_transfers"),
            move |app| {
                http()
                    .get(app.url("/v1/dashboard/overview"))
                    .header("cookie", &staff_cookie)
            },
        ),
        // The customer's code is marked in Redis before the debit times
        // out; the retry (same key, same body) must still get the sale.
        Case::new(
            "redemptions: POST /v1/redemptions",
            format!("SELECT 1 FROM accounts WHERE customer_id = '{customer}' FOR UPDATE"),
            move |app| {
                let sale = Signed {
                    method: "POST",
                    path: "/v1/redemptions",
                    body: Some(json!({"code": code, "amount": 10})),
                    idempotency_key: Some("sale-after-a-timeout"),
                };
                shop.terminal.request(app, &sale, None)
            },
        ),
        Case::new(
            "redemptions: POST /v1/accruals",
            whole_table("accounts"),
            move |app| {
                let accrual = Signed {
                    method: "POST",
                    path: "/v1/accruals",
                    body: Some(json!({"customer_id": customer, "amount": 5})),
                    idempotency_key: Some("accrual-after-a-timeout"),
                };
                shop.terminal.request(app, &accrual, None)
            },
        ),
        // Last: its retry changes the password and revokes the tablet.
        Case::new(
            "customers: POST /v1/me/password",
            row("devices", tablet),
            |app| {
                http()
                    .post(app.url("/v1/me/password"))
                    .bearer_auth(&phone.access_token)
                    .json(&json!({
                        "current_password": PASSWORD,
                        "new_password": "another correct horse battery staple",
                    }))
            },
        ),
    ]
}

#[derive(QueryableByName, PartialEq, Debug)]
struct TableDigest {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    digest: String,
}

/// Every table's name and a digest of its rows.
async fn contents(db: &TestDatabase) -> Vec<TableDigest> {
    diesel::sql_query(
        "SELECT tablename::text AS name,
                md5(query_to_xml(format('SELECT t::text AS r FROM %I t ORDER BY 1', tablename),
                                 false, false, '')::text) AS digest
         FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    .load(&mut db.connect().await)
    .await
    .unwrap()
}

/// What differs from the answer a client should get when the database
/// is unavailable, if anything.
async fn not_unavailable(response: reqwest::Response) -> Option<String> {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let seen = (
        response.status().as_u16(),
        header("retry-after"),
        header("content-type"),
    );
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let wanted = (
        503,
        Some(crate::error::RETRY_AFTER_SECS.to_string()),
        Some("application/problem+json".to_owned()),
    );
    (seen != wanted || body["type"] != ProblemType::ServiceUnavailable.uri())
        .then(|| format!("answered {seen:?} {body}"))
}

#[tokio::test]
async fn a_statement_timeout_is_a_503_to_retry_in_every_module_and_changes_nothing() {
    let shop = Shop::open().await;
    let impatient = shop
        .app
        .twin(|config| config.timeouts.database_statement = Some(STATEMENT_TIMEOUT))
        .await;
    let mut failures = Vec::new();
    for case in cases(&shop).await {
        let before = contents(&shop.app.db).await;
        let mut holder = shop.app.db.connect().await;
        holder
            .batch_execute(&format!("BEGIN; {}", case.lock))
            .await
            .unwrap();
        let answer = (case.request)(&impatient).send().await.unwrap();
        holder.batch_execute("ROLLBACK").await.unwrap();
        if let Some(wrong) = not_unavailable(answer).await {
            failures.push(format!("{}: {wrong}", case.endpoint));
        }
        let after = contents(&shop.app.db).await;
        let changed: Vec<&str> = before
            .iter()
            .zip(&after)
            .filter(|(b, a)| b != a)
            .map(|(b, _)| b.name.as_str())
            .collect();
        if !changed.is_empty() {
            failures.push(format!("{}: changed {changed:?}", case.endpoint));
        }
        // The client's retry once the database answers again, sent to a
        // server with the usual timeout so that it does not depend on speed.
        let retry = (case.request)(&shop.app).send().await.unwrap();
        if !retry.status().is_success() {
            let status = retry.status();
            let body = retry.text().await.unwrap_or_default();
            failures.push(format!(
                "{}: its retry answered {status} {body}",
                case.endpoint
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The pool's own limits, below any endpoint.
mod pool {
    use std::time::Duration;

    use actix_web::ResponseError;
    use diesel_async::RunQueryDsl;

    use crate::testing::TestDatabase;

    #[tokio::test]
    async fn a_statement_past_the_timeout_is_cancelled_and_answered_503() {
        let db = TestDatabase::new();
        let pool = crate::db::server_pool(
            db.url(),
            1,
            Duration::from_secs(30),
            Some(Duration::from_millis(50)),
        )
        .unwrap();
        let mut conn = pool.get().await.unwrap();
        // Far past the limit, so the outcome never depends on the machine's speed.
        let err = diesel::sql_query("SELECT pg_sleep(30)")
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert!(crate::db::is_unavailable(&err), "{err}");
        assert_eq!(crate::error::ApiError::from(err).status_code(), 503);
    }

    #[tokio::test]
    async fn waiting_for_a_connection_of_an_exhausted_pool_ends_in_a_503() {
        let db = TestDatabase::new();
        // The same bound also limits opening the first connection, which a
        // busy machine can take well over 50 ms to do: a second is slack
        // enough for that and still a short wait for the second caller.
        let pool = crate::db::server_pool(db.url(), 1, Duration::from_secs(1), None).unwrap();
        let _held = pool.get().await.unwrap();
        let Err(err) = pool.get().await else {
            panic!("a second connection from a pool of one");
        };
        let err = crate::error::ApiError::from(err);
        assert_eq!(err.status_code(), 503);
    }
}
