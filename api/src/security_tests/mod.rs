//! Tests for the threats of `docs/security.md` that span several modules:
//! each file holds the attacks of one kind, run over real HTTP against a
//! server with its own Postgres database and Redis prefix.

mod brute_force;
mod cashier;
mod keys;
mod other_signers;
mod replays;
mod secrets_in_logs;
mod staff;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use tillcode_protocol::{Amount, MerchantId};

use crate::ledger::{self, Operation};
use crate::testing::customer::{TestPhone, get, sign_up};
use crate::testing::terminal::{Signed, TestTerminal, enrolled_terminal};
use crate::testing::{TestApp, TestMerchant, spawn_app};

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A merchant with one approved terminal (in a store of its own) and a
/// customer holding 100 points.
pub struct Shop {
    pub app: TestApp,
    pub merchant: TestMerchant,
    pub terminal: TestTerminal,
    pub phone: TestPhone,
}

impl Shop {
    pub async fn open() -> Self {
        let app = spawn_app().await;
        let merchant = app.merchant().await;
        let terminal = enrolled_terminal(&app, merchant.merchant).await;
        let phone = sign_up(&app, merchant.merchant, "ana@example.com").await;
        credit(&app, &merchant, &phone, 100).await;
        Self {
            app,
            merchant,
            terminal,
            phone,
        }
    }

    /// Read from the database: tokens (in Redis) may be gone by then.
    pub async fn balance_of(&self, phone: &TestPhone) -> i64 {
        use crate::schema::accounts;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        accounts::table
            .filter(accounts::customer_id.eq(phone.customer))
            .select(accounts::balance)
            .first(&mut self.app.db.connect().await)
            .await
            .unwrap()
    }

    pub async fn balance(&self) -> i64 {
        self.balance_of(&self.phone).await
    }
}

/// Credits `amount` to the account of `phone`'s customer through the ledger.
pub async fn credit(app: &TestApp, merchant: &TestMerchant, phone: &TestPhone, amount: i64) {
    let (_, balance) = get(app, "/v1/me/balance", &phone.access_token).await;
    let account = balance["account_id"].as_str().unwrap().parse().unwrap();
    let accrue = Operation::Accrue {
        account,
        amount: Amount::new(amount).unwrap(),
    };
    ledger::post(
        &mut app.db.connect().await,
        &merchant.posting(&format!("opening-{}", phone.customer), accrue),
    )
    .await
    .unwrap();
}

/// A POST of `body` to `path` by `terminal`, signed, under `key`.
pub async fn signed_post(
    app: &TestApp,
    terminal: &TestTerminal,
    path: &str,
    body: serde_json::Value,
    key: &str,
) -> (u16, serde_json::Value) {
    terminal
        .send(
            app,
            Signed {
                method: "POST",
                path,
                body: Some(body),
                idempotency_key: Some(key),
            },
        )
        .await
}

/// Sets the merchant's fraud limits (the rest keep their defaults).
pub async fn set_limits(
    app: &TestApp,
    merchant: MerchantId,
    terminal_max_count: i32,
    terminal_bad_codes_max: i32,
) {
    use crate::schema::merchant_settings;
    use diesel::ExpressionMethods;
    use diesel_async::RunQueryDsl;
    diesel::insert_into(merchant_settings::table)
        .values((
            merchant_settings::merchant_id.eq(uuid::Uuid::from(merchant)),
            merchant_settings::terminal_max_count.eq(terminal_max_count),
            merchant_settings::terminal_bad_codes_max.eq(terminal_bad_codes_max),
        ))
        .execute(&mut app.db.connect().await)
        .await
        .unwrap();
}

pub fn problem(slug: &str) -> serde_json::Value {
    json!(format!("https://tillcode.dev/problems/{slug}"))
}

pub const STAFF_PASSWORD: &str = "a long staff passphrase";

/// A signed-in staff member: the `name=value` cookie pair, carried by hand
/// (it is `Secure` and the test server speaks plain HTTP), and the CSRF token.
pub struct StaffLogin {
    pub email: String,
    pub cookie: String,
    pub csrf: String,
}

/// Creates a staff member of `merchant` and signs them in over HTTP.
pub async fn staff_sign_in(
    app: &TestApp,
    merchant: MerchantId,
    role: crate::staff::Role,
) -> StaffLogin {
    let email = format!("staff-{}@example.com", uuid::Uuid::now_v7().simple());
    crate::staff::create(
        &mut app.db.connect().await,
        merchant,
        &email,
        "Staff",
        role,
        STAFF_PASSWORD,
    )
    .await
    .unwrap();
    let response = reqwest::Client::new()
        .post(app.url("/v1/staff/sign-in"))
        .json(&json!({"merchant_id": merchant, "email": email, "password": STAFF_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = session_cookie(&response).unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    StaffLogin {
        email,
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

/// The `tillcode_staff=...` pair a response sets, if any.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tillcode_staff="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

impl StaffLogin {
    /// The token alone, as the browser holds it.
    pub fn token(&self) -> &str {
        self.cookie.trim_start_matches("tillcode_staff=")
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> (u16, String) {
        let response = reqwest::Client::new()
            .get(app.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    pub async fn post(
        &self,
        app: &TestApp,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(app.url(path))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }
}
