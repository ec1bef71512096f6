//! The dashboard's page and JSON endpoints, against real Postgres and Redis.
//!
//! The terminal and the customer's phone talk to the server `spawn_app`
//! starts; the dashboard's requests go through `actix_web::test` to an app
//! with the same state, the server's routes and this module's, so these
//! tests do not depend on how `server.rs` wires the dashboard. The session
//! cookie is `Secure` and the test transport is plain, so it is carried by
//! hand, as in `staff/tests.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::{Method, StatusCode, header};
use actix_web::test as actix_test;
use actix_web::{App, web};
use serde_json::{Value, json};
use tillcode_protocol::MerchantId;
use uuid::Uuid;

use super::api::{CSV_HEADER, csv_field};
use super::{ASSETS, CONTENT_SECURITY_POLICY, pages};
use crate::ledger::{self, Operation};
use crate::staff::{self, Role};
use crate::state::AppState;
use crate::testing::customer::{TestPhone, get, sign_up};
use crate::testing::terminal::{TestTerminal, enroll, enrolled_terminal};
use crate::testing::{TestApp, TestMerchant, spawn_app};

const PASSWORD: &str = "a long staff passphrase";
const FORBIDDEN: &str = "https://tillcode.dev/problems/forbidden";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

struct Answer {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// A signed-in staff member: the cookie pair and the CSRF token.
#[derive(Clone)]
struct Staff {
    cookie: String,
    csrf: String,
}

struct Dash {
    app: TestApp,
    state: web::Data<AppState>,
}

impl Dash {
    async fn new() -> Self {
        let app = spawn_app().await;
        let state = web::Data::new(app.state());
        Self { app, state }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        staff: Option<&Staff>,
        csrf: bool,
        body: Option<Value>,
    ) -> Answer {
        let service = actix_test::init_service(
            App::new()
                .app_data(self.state.clone())
                .configure(crate::server::configure),
        )
        .await;
        let mut req = actix_test::TestRequest::default().method(method).uri(path);
        if let Some(staff) = staff {
            req = req.insert_header((header::COOKIE, staff.cookie.clone()));
            if csrf {
                req = req.insert_header(("x-csrf-token", staff.csrf.clone()));
            }
        }
        if let Some(body) = body {
            req = req.set_json(body);
        }
        let res = actix_test::call_service(&service, req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let body = actix_test::read_body(res).await.to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str, staff: &Staff) -> Answer {
        self.call(Method::GET, path, Some(staff), false, None).await
    }

    async fn post(&self, path: &str, staff: &Staff, body: Option<Value>) -> Answer {
        self.call(Method::POST, path, Some(staff), true, body).await
    }

    /// Creates a staff member of `merchant` and signs them in.
    async fn staff(&self, merchant: MerchantId, role: Role) -> Staff {
        let email = format!("{}-{}@example.com", role.as_str(), Uuid::now_v7().simple());
        staff::create(
            &mut self.state.db_conn().await.unwrap(),
            merchant,
            &email,
            "Staff",
            role,
            PASSWORD,
        )
        .await
        .unwrap();
        let res = self
            .call(
                Method::POST,
                "/v1/staff/sign-in",
                None,
                false,
                Some(json!({"merchant_id": merchant, "email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
        let cookie = res
            .headers
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let csrf = res.json()["csrf_token"].as_str().unwrap().to_owned();
        Staff { cookie, csrf }
    }
}

/// A merchant with an active terminal, and a customer holding 100 points.
async fn shop(dash: &Dash) -> (TestMerchant, TestTerminal, TestPhone) {
    let merchant = dash.app.merchant().await;
    let terminal = enrolled_terminal(&dash.app, merchant.merchant).await;
    let phone = sign_up(&dash.app, merchant.merchant, "ana@example.com").await;
    let (_, balance) = get(&dash.app, "/v1/me/balance", &phone.access_token).await;
    let account = balance["account_id"].as_str().unwrap().parse().unwrap();
    ledger::post(
        &mut dash.app.db.connect().await,
        &merchant.posting(
            "opening",
            Operation::Accrue {
                account,
                amount: tillcode_protocol::Amount::new(100).unwrap(),
            },
        ),
    )
    .await
    .unwrap();
    (merchant, terminal, phone)
}

/// A terminal of `merchant` that has enrolled and waits for approval.
async fn pending_terminal(dash: &Dash, merchant: MerchantId) -> (Uuid, Uuid) {
    use crate::schema::stores;
    use diesel::ExpressionMethods;
    use diesel_async::RunQueryDsl;
    let store = Uuid::now_v7();
    diesel::insert_into(stores::table)
        .values((
            stores::merchant_id.eq(Uuid::from(merchant)),
            stores::id.eq(store),
            stores::code.eq(format!("P-{}", store.simple())),
            stores::name.eq("Pending store"),
        ))
        .execute(&mut *dash.state.db_conn().await.unwrap())
        .await
        .unwrap();
    let enrollment = crate::terminals::enrollment::create(
        &mut dash.state.db_conn().await.unwrap(),
        store,
        "test",
    )
    .await
    .unwrap();
    let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
    let (status, body) = enroll(&dash.app, store, &enrollment.code, &key, "Till 9").await;
    assert_eq!(status, 201, "{body}");
    (
        body["terminal_id"].as_str().unwrap().parse().unwrap(),
        store,
    )
}

#[tokio::test]
async fn the_overview_counts_a_redemption_made_through_the_api() {
    let dash = Dash::new().await;
    let (merchant, terminal, phone) = shop(&dash).await;
    let (status, body) = terminal
        .redeem(&dash.app, &phone.offline_code(now_ms()), 30, "sale-1")
        .await;
    assert_eq!(status, 201, "{body}");
    let manager = dash.staff(merchant.merchant, Role::Manager).await;

    let res = dash.get("/v1/dashboard/overview", &manager).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let ov = res.json();
    assert_eq!(ov["liability"], 70);
    assert_eq!(ov["customers"], 1);
    assert_eq!(ov["unit"], "points");
    assert_eq!(ov["days"].as_array().unwrap().len(), 14);
    assert_eq!(ov["today"]["redemptions"], 1);
    assert_eq!(ov["today"]["redeemed"], 30);
    assert_eq!(ov["today"]["issued"], 100);
    assert_eq!(ov["days"][13], ov["today"]);
    assert_eq!(ov["days"][0]["issued"], 0);
    let stores = ov["stores"].as_array().unwrap();
    assert_eq!(stores.len(), 1);
    assert_eq!(stores[0]["store_id"], terminal.store.to_string());
    assert_eq!(stores[0]["redemptions_today"], 1);
    assert_eq!(stores[0]["redeemed_today"], 30);

    // The customer, by email prefix and by id, and their history in pages.
    let res = dash
        .get("/v1/dashboard/customers?q=ANA%40ex", &manager)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let found = res.json();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["balance"], 70);
    assert_eq!(found[0]["customer_id"], phone.customer.to_string());
    let by_id = dash
        .get(
            &format!("/v1/dashboard/customers?q={}", phone.customer),
            &manager,
        )
        .await
        .json();
    assert_eq!(by_id, found);
    let none = dash.get("/v1/dashboard/customers?q=a%25", &manager).await;
    assert_eq!(none.json(), json!([]), "% matches itself, not anything");

    let history = format!("/v1/dashboard/customers/{}/history", phone.customer);
    let page = dash
        .get(&format!("{history}?limit=1"), &manager)
        .await
        .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["kind"], "redeem");
    assert_eq!(page["items"][0]["balance_change"], -30);
    assert_eq!(page["items"][0]["store_name"], "Test store");
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = dash
        .get(
            &format!("{history}?limit=1&starting_after={cursor}"),
            &manager,
        )
        .await
        .json();
    assert_eq!(page["items"][0]["kind"], "accrue");
    assert_eq!(page["next_cursor"], Value::Null);

    // The terminal list shows the sale's time.
    let list = dash.get("/v1/dashboard/terminals", &manager).await.json();
    assert_eq!(list[0]["terminal_id"], terminal.id.to_string());
    assert_eq!(list[0]["status"], "active");
    assert!(list[0]["last_transaction_at"].is_string(), "{list}");
    assert!(!list[0]["fingerprint"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn a_viewer_sees_but_every_change_is_forbidden() {
    let dash = Dash::new().await;
    let merchant = dash.app.merchant().await.merchant;
    let (terminal, store) = pending_terminal(&dash, merchant).await;
    let viewer = dash.staff(merchant, Role::Viewer).await;
    for path in [
        "/v1/dashboard/overview",
        "/v1/dashboard/terminals",
        "/v1/dashboard/stores",
        "/v1/dashboard/fraud",
        "/v1/dashboard/export/ledger.csv",
    ] {
        assert_eq!(dash.get(path, &viewer).await.status, 200, "{path}");
    }
    for action in ["approve", "suspend", "revoke"] {
        let res = dash
            .post(
                &format!("/v1/dashboard/terminals/{terminal}/{action}"),
                &viewer,
                None,
            )
            .await;
        assert_eq!(res.status, 403, "{action}");
        assert_eq!(res.json()["type"], FORBIDDEN);
    }
    let res = dash
        .post(
            "/v1/dashboard/enrollments",
            &viewer,
            Some(json!({"store_id": store})),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["type"], FORBIDDEN);
    let list = dash.get("/v1/dashboard/terminals", &viewer).await.json();
    assert_eq!(list[0]["status"], "pending", "nothing changed");
}

#[tokio::test]
async fn a_change_needs_the_csrf_token_and_a_session() {
    let dash = Dash::new().await;
    let merchant = dash.app.merchant().await.merchant;
    let (terminal, store) = pending_terminal(&dash, merchant).await;
    let manager = dash.staff(merchant, Role::Manager).await;
    let path = format!("/v1/dashboard/terminals/{terminal}/approve");

    let res = dash
        .call(Method::POST, &path, Some(&manager), false, None)
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["type"], FORBIDDEN);
    let wrong = Staff {
        csrf: "x".repeat(43),
        ..manager.clone()
    };
    assert_eq!(dash.post(&path, &wrong, None).await.status, 403);
    assert_eq!(
        dash.call(Method::POST, &path, None, false, None)
            .await
            .status,
        401
    );
    assert_eq!(
        dash.call(Method::GET, "/v1/dashboard/overview", None, false, None)
            .await
            .status,
        401
    );

    // With it: approve shows the name and fingerprint; approving twice is 404.
    let res = dash.post(&path, &manager, None).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let view = res.json();
    assert_eq!(view["status"], "active");
    assert_eq!(view["name"], "Till 9");
    assert!(!view["fingerprint"].as_str().unwrap().is_empty());
    assert_eq!(dash.post(&path, &manager, None).await.status, 404);
    let suspend = format!("/v1/dashboard/terminals/{terminal}/suspend");
    assert_eq!(
        dash.post(&suspend, &manager, None).await.json()["status"],
        "suspended"
    );
    let unknown = format!("/v1/dashboard/terminals/{terminal}/delete");
    assert_eq!(dash.post(&unknown, &manager, None).await.status, 404);

    let res = dash
        .post(
            "/v1/dashboard/enrollments",
            &manager,
            Some(json!({"store_id": store})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let created = res.json();
    assert_eq!(created["code"].as_str().unwrap().len(), 9);
    assert!(created["qr_svg"].as_str().unwrap().contains("<svg"));
    let res = dash
        .call(
            Method::POST,
            "/v1/dashboard/enrollments",
            Some(&manager),
            false,
            Some(json!({"store_id": store})),
        )
        .await;
    assert_eq!(res.status, 403, "no enrollment without the CSRF token");

    // Signed out, the cookie is worthless.
    let res = dash.post("/v1/staff/sign-out", &manager, None).await;
    assert_eq!(res.status, 204);
    assert_eq!(
        dash.get("/v1/dashboard/overview", &manager).await.status,
        401
    );
}

#[tokio::test]
async fn another_merchants_terminals_and_stores_are_out_of_reach() {
    let dash = Dash::new().await;
    let a = dash.app.merchant().await.merchant;
    let b = dash.app.merchant().await.merchant;
    let (terminal, store) = pending_terminal(&dash, a).await;
    let other = dash.staff(b, Role::Owner).await;
    for action in ["approve", "suspend", "revoke"] {
        let res = dash
            .post(
                &format!("/v1/dashboard/terminals/{terminal}/{action}"),
                &other,
                None,
            )
            .await;
        assert_eq!(res.status, 404, "{action}");
    }
    let res = dash
        .post(
            "/v1/dashboard/enrollments",
            &other,
            Some(json!({"store_id": store})),
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(
        dash.get("/v1/dashboard/terminals", &other).await.json(),
        json!([])
    );
    assert_eq!(
        dash.get("/v1/dashboard/stores", &other).await.json(),
        json!([])
    );
    let owner = dash.staff(a, Role::Owner).await;
    let list = dash.get("/v1/dashboard/terminals", &owner).await.json();
    assert_eq!(list[0]["status"], "pending", "untouched");
    assert_eq!(list[0]["store_name"], "Pending store");
}

#[tokio::test]
async fn the_csv_export_has_a_header_and_one_row_per_transfer() {
    let dash = Dash::new().await;
    let (merchant, terminal, phone) = shop(&dash).await;
    terminal
        .redeem(&dash.app, &phone.offline_code(now_ms()), 30, "sale-1")
        .await;
    // Another merchant's transfers stay out of this export.
    let other = dash.app.merchant().await;
    other
        .account_with(&mut dash.app.db.connect().await, 5)
        .await;
    let viewer = dash.staff(merchant.merchant, Role::Viewer).await;
    let res = dash.get("/v1/dashboard/export/ledger.csv", &viewer).await;
    assert_eq!(res.status, 200);
    assert!(
        res.headers
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        res.headers
            .get(header::CONTENT_DISPOSITION)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"ledger-")
    );
    let text = res.text();
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines[0], CSV_HEADER);
    assert_eq!(lines.len(), 3, "{text}");
    let columns = CSV_HEADER.split(',').count();
    assert!(lines[1].contains(",accrue,") && lines[1].contains(",100,100,"));
    assert!(lines[2].contains(",redeem,") && lines[2].contains(",-30,70,"));
    assert!(lines[2].contains(&terminal.id.to_string()));
    assert!(lines.iter().all(|l| l.split(',').count() == columns));
    let bad = dash
        .get("/v1/dashboard/export/ledger.csv?days=0", &viewer)
        .await;
    assert_eq!(bad.status, 400);
}

#[test]
fn csv_fields_are_quoted_and_formulas_neutralised() {
    let field = |v: &str, text: bool| {
        let mut out = String::new();
        csv_field(&mut out, v, text);
        out
    };
    assert_eq!(field("plain", true), "plain");
    assert_eq!(field("a,b", true), "\"a,b\"");
    assert_eq!(field("say \"hi\"", true), "\"say \"\"hi\"\"\"");
    assert_eq!(field("two\nlines", true), "\"two\nlines\"");
    assert_eq!(field("=HYPERLINK(1)", true), "\"'=HYPERLINK(1)\"");
    assert_eq!(field("@sum", true), "\"'@sum\"");
    assert_eq!(field("-30", false), "-30");
}

#[tokio::test]
async fn fraud_events_are_counted_by_day_reason_store_and_terminal() {
    use crate::schema::fraud_events;
    use diesel::ExpressionMethods;
    use diesel_async::RunQueryDsl;
    let dash = Dash::new().await;
    let (merchant, terminal, _) = shop(&dash).await;
    let other = dash.app.merchant().await.merchant;
    let mut conn = dash.state.db_conn().await.unwrap();
    for (m, reason, terminal_id) in [
        (merchant.merchant, "code-replayed", Some(terminal.id)),
        (merchant.merchant, "code-replayed", Some(terminal.id)),
        (merchant.merchant, "bad-code-signature", None),
        (other, "code-replayed", None),
    ] {
        diesel::insert_into(fraud_events::table)
            .values((
                fraud_events::merchant_id.eq(Uuid::from(m)),
                fraud_events::id.eq(Uuid::now_v7()),
                fraud_events::reason.eq(reason),
                fraud_events::terminal_id.eq(terminal_id),
                fraud_events::store_id.eq(terminal_id.map(|_| terminal.store)),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let manager = dash.staff(merchant.merchant, Role::Manager).await;
    let res = dash.get("/v1/dashboard/fraud?days=7", &manager).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let report = res.json();
    assert_eq!(report["total"], 3);
    assert_eq!(report["days"].as_array().unwrap().len(), 7);
    assert_eq!(report["days"][6]["count"], 3);
    assert_eq!(
        report["by_reason"],
        json!([
            {"key": "code-replayed", "label": null, "count": 2},
            {"key": "bad-code-signature", "label": null, "count": 1},
        ])
    );
    assert_eq!(report["by_terminal"][0]["key"], terminal.id.to_string());
    assert_eq!(report["by_terminal"][0]["label"], "Till 1");
    assert_eq!(report["by_terminal"][0]["count"], 2);
    assert_eq!(report["by_store"][0]["label"], "Test store");
    assert_eq!(
        dash.get("/v1/dashboard/fraud?days=0", &manager)
            .await
            .status,
        400
    );
}

// ------------------------------------------------------------------ the page

fn header_of<'a>(res: &'a actix_web::dev::ServiceResponse, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[actix_web::test]
async fn the_page_and_its_assets_are_served_with_a_strict_policy() {
    let app = actix_test::init_service(App::new().configure(pages)).await;
    for (path, ty) in [
        ("/dashboard", "text/html; charset=utf-8"),
        ("/dashboard/dashboard.css", "text/css; charset=utf-8"),
        ("/dashboard/app.mjs", "text/javascript; charset=utf-8"),
        ("/dashboard/charts.mjs", "text/javascript; charset=utf-8"),
    ] {
        let res =
            actix_test::call_service(&app, actix_test::TestRequest::get().uri(path).to_request())
                .await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(header_of(&res, "content-type"), ty, "{path}");
        assert_eq!(header_of(&res, "cache-control"), "no-cache");
        let csp = header_of(&res, "content-security-policy");
        assert_eq!(csp, CONTENT_SECURITY_POLICY);
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(csp.split("; ").any(|d| d == "script-src 'self'"));
        assert!(csp.split("; ").any(|d| d == "connect-src 'self'"));
        assert_eq!(header_of(&res, "x-frame-options"), "DENY");
    }
    for path in [
        "/dashboard/mod.rs",
        "/dashboard/index.html",
        "/dashboard/x.js",
    ] {
        let res =
            actix_test::call_service(&app, actix_test::TestRequest::get().uri(path).to_request())
                .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let res = actix_test::call_service(
        &app,
        actix_test::TestRequest::get()
            .uri("/dashboard/")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    let res = actix_test::call_service(
        &app,
        actix_test::TestRequest::get()
            .uri("/dashboard/app.mjs")
            .to_request(),
    )
    .await;
    let etag = header_of(&res, "etag").to_owned();
    let res = actix_test::call_service(
        &app,
        actix_test::TestRequest::get()
            .uri("/dashboard/app.mjs")
            .insert_header((header::IF_NONE_MATCH, etag))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
}

/// The policy forbids inline script and style, so the page has none; every
/// file it names is served; the scripts never write HTML from strings.
#[test]
fn the_page_obeys_its_policy_and_names_only_served_files() {
    let html = std::str::from_utf8(ASSETS[0].body).unwrap();
    let lower = html.to_ascii_lowercase();
    assert!(html.starts_with("<!doctype html>"));
    assert!(!lower.contains(" style="), "inline style attribute");
    assert!(!lower.contains("<style"), "inline <style>");
    for (at, _) in lower.match_indices(" on") {
        let attr: String = lower[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(
            !lower[at + 1 + attr.len()..].starts_with('='),
            "inline event handler {attr}"
        );
    }
    for (at, _) in lower.match_indices("<script") {
        let tag = &lower[at..at + lower[at..].find('>').unwrap()];
        assert!(tag.contains(" src="), "inline script: {tag}");
    }
    for (at, _) in html.match_indices("\"/dashboard/") {
        let rest = &html[at + "\"/dashboard/".len()..];
        let name = &rest[..rest.find('"').unwrap()];
        assert!(
            ASSETS.iter().any(|a| !a.name.is_empty() && a.name == name),
            "index.html names /dashboard/{name}, which is not served"
        );
    }
    for a in ASSETS
        .iter()
        .filter(|a| a.content_type.starts_with("text/javascript"))
    {
        let js = std::str::from_utf8(a.body)
            .unwrap()
            .replace("\"http://www.w3.org/2000/svg\"", "");
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "eval(",
            "http://",
            "https://",
        ] {
            assert!(!js.contains(sink), "{} uses {sink}", a.name);
        }
    }
    // Every input has a label.
    for (at, _) in lower.match_indices("<input id=\"") {
        let id = &lower[at + 11..];
        let id = &id[..id.find('"').unwrap()];
        assert!(
            lower.contains(&format!("<label for=\"{id}\"")),
            "input #{id} has no label"
        );
    }
}

// ------------------------------------------------------------------ anomalies

#[tokio::test]
async fn one_account_redeemed_at_two_stores_within_minutes_is_flagged() {
    let dash = Dash::new().await;
    let (merchant, first, phone) = shop(&dash).await;
    let second = enrolled_terminal(&dash.app, merchant.merchant).await;
    assert_ne!(first.store, second.store);
    let quiet = dash.app.merchant().await;
    let quiet_viewer = dash.staff(quiet.merchant, Role::Viewer).await;
    let viewer = dash.staff(merchant.merchant, Role::Viewer).await;

    let res = dash.get("/v1/dashboard/anomalies", &viewer).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!([]));

    let (status, body) = first
        .redeem(&dash.app, &phone.offline_code(now_ms()), 10, "travel-1")
        .await;
    assert_eq!(status, 201, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let (status, body) = second
        .redeem(&dash.app, &phone.offline_code(now_ms()), 10, "travel-2")
        .await;
    assert_eq!(status, 201, "{body}");

    let (_, balance) = get(&dash.app, "/v1/me/balance", &phone.access_token).await;
    let res = dash.get("/v1/dashboard/anomalies", &viewer).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let flags = res.json();
    let flags = flags.as_array().unwrap();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0]["kind"], "impossible-travel");
    assert_eq!(flags[0]["account_id"], balance["account_id"]);
    assert_eq!(flags[0]["store_id"], second.store.to_string());
    assert_eq!(flags[0]["terminal_id"], second.id.to_string());
    assert!(flags[0]["detail"].as_str().unwrap().contains("Test store"));
    assert!(flags[0]["last_seen_at"].is_string());

    let res = dash.get("/v1/dashboard/anomalies", &quiet_viewer).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json(), json!([]));
}

#[tokio::test]
async fn codes_of_five_customers_refused_at_one_terminal_are_flagged() {
    use crate::schema::fraud_events;
    use diesel::ExpressionMethods;
    use diesel_async::RunQueryDsl;
    let dash = Dash::new().await;
    let (merchant, terminal, _) = shop(&dash).await;
    let mut conn = dash.state.db_conn().await.unwrap();
    // Four customers with refused codes, one of them twice, and refusals
    // that are not of the code: not yet a flag.
    let customers: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let mut events = vec![
        (customers[0], "code-replayed"),
        (customers[0], "code-expired"),
        (customers[1], "bad-code-signature"),
        (customers[2], "code-replayed"),
        (customers[3], "unknown-device"),
        (customers[4], "insufficient-balance"),
        (customers[4], "velocity-limit"),
    ];
    let insert = |events: Vec<(Uuid, &'static str)>| {
        events
            .into_iter()
            .map(|(customer, reason)| {
                (
                    fraud_events::merchant_id.eq(Uuid::from(merchant.merchant)),
                    fraud_events::id.eq(Uuid::now_v7()),
                    fraud_events::reason.eq(reason),
                    fraud_events::terminal_id.eq(Some(terminal.id)),
                    fraud_events::store_id.eq(Some(terminal.store)),
                    fraud_events::customer_id.eq(Some(customer)),
                )
            })
            .collect::<Vec<_>>()
    };
    diesel::insert_into(fraud_events::table)
        .values(insert(std::mem::take(&mut events)))
        .execute(&mut conn)
        .await
        .unwrap();
    let manager = dash.staff(merchant.merchant, Role::Manager).await;
    let res = dash.get("/v1/dashboard/anomalies", &manager).await;
    assert_eq!(res.json(), json!([]), "{}", res.text());

    diesel::insert_into(fraud_events::table)
        .values(insert(vec![(customers[4], "code-superseded")]))
        .execute(&mut conn)
        .await
        .unwrap();
    let res = dash.get("/v1/dashboard/anomalies", &manager).await;
    let flags = res.json();
    assert_eq!(flags.as_array().unwrap().len(), 1, "{flags}");
    assert_eq!(flags[0]["kind"], "many-customers-failing");
    assert_eq!(flags[0]["terminal_id"], terminal.id.to_string());
    assert_eq!(flags[0]["store_id"], terminal.store.to_string());
    assert_eq!(flags[0]["account_id"], Value::Null);
    assert!(flags[0]["detail"].as_str().unwrap().contains("5 customers"));
}

// ------------------------------------------------------------------ settings

fn settings_body(customer_max_count: i32) -> Value {
    json!({
        "velocity_window_s": 3600,
        "customer_max_count": customer_max_count,
        "customer_max_amount": 1_000_000,
        "device_max_count": 20,
        "terminal_max_count": 600,
        "terminal_bad_codes_max": 30,
        "terminal_bad_codes_window_s": 600,
        "offline_max_age_s": 60,
        "offline_max_skew_s": 30,
    })
}

#[tokio::test]
async fn a_managers_customer_limit_is_read_back_and_used_by_the_velocity_check() {
    let dash = Dash::new().await;
    let (merchant, terminal, phone) = shop(&dash).await;
    let manager = dash.staff(merchant.merchant, Role::Manager).await;
    let viewer = dash.staff(merchant.merchant, Role::Viewer).await;

    // Never set: the defaults.
    let res = dash.get("/v1/dashboard/settings", &viewer).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let read = res.json();
    assert_eq!(read["customer_max_count"], 20);
    assert_eq!(read["velocity_window_s"], 3600);
    assert_eq!(read["updated_at"], Value::Null);
    assert_eq!(read["takes_effect_within_s"], 30);
    assert_eq!(read["offline_max_age_s"], 60);
    assert_eq!(read["offline_max_skew_s"], 30);

    // A viewer may not change them; nor may a request without the CSRF token.
    let res = dash
        .call(
            Method::PUT,
            "/v1/dashboard/settings",
            Some(&viewer),
            true,
            Some(settings_body(1)),
        )
        .await;
    assert_eq!(res.status, 403, "{}", res.text());
    assert_eq!(res.json()["type"], FORBIDDEN);
    let res = dash
        .call(
            Method::PUT,
            "/v1/dashboard/settings",
            Some(&manager),
            false,
            Some(settings_body(1)),
        )
        .await;
    assert!(res.status.is_client_error(), "{}", res.status);

    // Out of range, as the table's CHECKs: refused with every reason.
    let mut bad = settings_body(0);
    bad["velocity_window_s"] = json!(86_401);
    let res = dash
        .call(
            Method::PUT,
            "/v1/dashboard/settings",
            Some(&manager),
            true,
            Some(bad),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.text());
    let problem = res.json();
    assert_eq!(
        problem["type"],
        "https://tillcode.dev/problems/validation-failed"
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("velocity_window_s must be 1 to 86400"),
        "{detail}"
    );
    assert!(
        detail.contains("customer_max_count must be at least 1"),
        "{detail}"
    );
    assert_eq!(
        dash.get("/v1/dashboard/settings", &viewer).await.json()["customer_max_count"],
        20
    );

    // The manager allows one redemption per customer, twice (an upsert).
    for limit in [5, 1] {
        let res = dash
            .call(
                Method::PUT,
                "/v1/dashboard/settings",
                Some(&manager),
                true,
                Some(settings_body(limit)),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(res.json()["customer_max_count"], limit);
    }
    let read = dash.get("/v1/dashboard/settings", &viewer).await.json();
    assert_eq!(read["customer_max_count"], 1);
    assert!(read["updated_at"].is_string());

    // The server has not read this merchant's settings yet (nothing was
    // redeemed), so the velocity check reads the new limit now.
    let (status, body) = terminal
        .redeem(&dash.app, &phone.offline_code(now_ms()), 1, "limit-1")
        .await;
    assert_eq!(status, 201, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let (status, body) = terminal
        .redeem(&dash.app, &phone.offline_code(now_ms()), 1, "limit-2")
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["type"], "https://tillcode.dev/problems/velocity-limit");

    // Another merchant still has the defaults.
    let other = dash.app.merchant().await;
    let other_viewer = dash.staff(other.merchant, Role::Viewer).await;
    assert_eq!(
        dash.get("/v1/dashboard/settings", &other_viewer)
            .await
            .json()["customer_max_count"],
        20
    );
}

#[tokio::test]
async fn a_merchants_shortened_token_window_refuses_what_the_default_accepts() {
    let dash = Dash::new().await;
    let (merchant, terminal, phone) = shop(&dash).await;
    let manager = dash.staff(merchant.merchant, Role::Manager).await;
    let put = |body: Value| {
        dash.call(
            Method::PUT,
            "/v1/dashboard/settings",
            Some(&manager),
            true,
            Some(body),
        )
    };

    // Out of bounds: refused, naming both, and nothing stored.
    let mut bad = settings_body(20);
    bad["offline_max_age_s"] = json!(9);
    bad["offline_max_skew_s"] = json!(301);
    let res = put(bad).await;
    assert_eq!(res.status, 400, "{}", res.text());
    let problem = res.json();
    assert_eq!(
        problem["type"],
        "https://tillcode.dev/problems/validation-failed"
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("offline_max_age_s must be 10 to 600"),
        "{detail}"
    );
    assert!(
        detail.contains("offline_max_skew_s must be 0 to 300"),
        "{detail}"
    );
    let mut negative = settings_body(20);
    negative["offline_max_skew_s"] = json!(-1);
    assert_eq!(put(negative).await.status, 400);
    let read = dash.get("/v1/dashboard/settings", &manager).await.json();
    assert_eq!(
        (&read["offline_max_age_s"], &read["updated_at"]),
        (&json!(60), &Value::Null)
    );

    // Tokens 20 s old and 10 s ahead: both inside the default windows.
    let now = now_ms();
    let (old, ahead) = (now - 20_000, now + 10_000);

    // Another merchant with the defaults accepts them.
    let (_, other_terminal, other_phone) = shop(&dash).await;
    for (i, issued_at) in [old, ahead].into_iter().enumerate() {
        let (status, body) = other_terminal
            .redeem(
                &dash.app,
                &other_phone.offline_code(issued_at),
                1,
                &format!("default-{i}"),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    // This merchant allows 10 s of age and no skew.
    let mut short = settings_body(20);
    short["offline_max_age_s"] = json!(10);
    short["offline_max_skew_s"] = json!(0);
    let res = put(short).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["offline_max_age_s"], 10);
    let (status, body) = terminal
        .redeem(&dash.app, &phone.offline_code(old), 1, "old")
        .await;
    assert_eq!(
        (status, body["type"].as_str()),
        (422, Some("https://tillcode.dev/problems/code-expired")),
        "{body}"
    );
    let (status, body) = terminal
        .redeem(&dash.app, &phone.offline_code(ahead), 1, "ahead")
        .await;
    assert_eq!(
        (status, body["type"].as_str()),
        (
            422,
            Some("https://tillcode.dev/problems/code-not-yet-valid")
        ),
        "{body}"
    );
    // A fresh token still pays.
    let (status, body) = terminal
        .redeem(&dash.app, &phone.offline_code(now_ms()), 1, "fresh")
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["balance_after"], 99);
}

/// Inserts `count` bare redemption rows (no entries: only the anomaly query
/// reads them) at `terminal` of `store`, `step_s` seconds apart, the newest
/// `offset_s` seconds ago.
async fn redemptions_at(
    dash: &Dash,
    merchant: MerchantId,
    account: Uuid,
    (store, terminal): (Uuid, Uuid),
    count: i32,
    offset_s: i32,
    step_s: i32,
) {
    use diesel::sql_types::{Int4, Uuid as SqlUuid};
    use diesel_async::RunQueryDsl;
    diesel::sql_query(
        "INSERT INTO ledger_transfers
             (merchant_id, id, kind, account_id, balance_change, balance_after,
              store_id, terminal_id, created_at)
         SELECT $1, gen_random_uuid(), 'redeem', $2, -1, 0, $3, $4,
                now() - make_interval(secs => $5 + (g - 1) * $6)
         FROM generate_series(1, $7) AS g",
    )
    .bind::<SqlUuid, _>(Uuid::from(merchant))
    .bind::<SqlUuid, _>(account)
    .bind::<SqlUuid, _>(store)
    .bind::<SqlUuid, _>(terminal)
    .bind::<Int4, _>(offset_s)
    .bind::<Int4, _>(step_s)
    .bind::<Int4, _>(count)
    .execute(&mut *dash.state.db_conn().await.unwrap())
    .await
    .unwrap();
}

#[tokio::test]
async fn a_terminal_above_three_times_its_stores_usual_rate_is_flagged() {
    let dash = Dash::new().await;
    let (merchant, _, phone) = shop(&dash).await;
    let (_, balance) = get(&dash.app, "/v1/me/balance", &phone.access_token).await;
    let account: Uuid = balance["account_id"].as_str().unwrap().parse().unwrap();
    let m = merchant.merchant;
    let new_store = (Uuid::now_v7(), Uuid::now_v7());
    let small = (Uuid::now_v7(), Uuid::now_v7());
    let busy = (Uuid::now_v7(), Uuid::now_v7());
    // No history: 20 in the last hour is a flag, 19 is not.
    redemptions_at(&dash, m, account, new_store, 20, 1, 60).await;
    redemptions_at(&dash, m, account, small, 19, 1, 60).await;
    // 10 an hour over the 7 days before the last hour: 30 now is not more
    // than 3 times that.
    redemptions_at(&dash, m, account, busy, 1680, 3601, 360).await;
    redemptions_at(&dash, m, account, busy, 30, 1, 60).await;

    let manager = dash.staff(m, Role::Manager).await;
    let rate_flags = |flags: Value| -> Vec<Value> {
        flags
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "terminal-above-usual-rate")
            .cloned()
            .collect()
    };
    let flags = rate_flags(dash.get("/v1/dashboard/anomalies", &manager).await.json());
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0]["store_id"], new_store.0.to_string());
    assert_eq!(flags[0]["terminal_id"], new_store.1.to_string());
    assert!(
        flags[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("20 redemptions in the last hour")
    );

    redemptions_at(&dash, m, account, busy, 1, 0, 1).await;
    let flags = rate_flags(dash.get("/v1/dashboard/anomalies", &manager).await.json());
    assert_eq!(flags.len(), 2, "{flags:?}");
    let busy_flag = flags
        .iter()
        .find(|f| f["terminal_id"] == busy.1.to_string())
        .unwrap();
    assert!(
        busy_flag["detail"]
            .as_str()
            .unwrap()
            .contains("usual is 10.00"),
        "{busy_flag}"
    );
}
