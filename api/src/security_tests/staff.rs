//! The dashboard's sessions: a cookie planted before sign-in, and one
//! merchant's staff reaching for another merchant's data.

use serde_json::{Value, json};

use super::{STAFF_PASSWORD, Shop, StaffLogin, now_ms, session_cookie, staff_sign_in};
use crate::staff::Role;
use crate::testing::spawn_app;

#[tokio::test]
async fn a_session_cookie_planted_before_sign_in_is_never_accepted_nor_kept() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let first = staff_sign_in(&app, merchant, Role::Manager).await;
    // What an attacker could plant: a value of their choosing, of the right
    // shape, and a real session of their own.
    let planted = format!("tillcode_staff={}", "A".repeat(43));
    let attackers = staff_sign_in(&app, merchant, Role::Viewer).await;
    let planted_session = StaffLogin {
        email: String::new(),
        cookie: planted.clone(),
        csrf: String::new(),
    };
    assert_eq!(planted_session.get(&app, "/v1/staff/me").await.0, 401);

    for cookie in [&planted, &attackers.cookie] {
        let response = reqwest::Client::new()
            .post(app.url("/v1/staff/sign-in"))
            .header("cookie", cookie)
            .json(
                &json!({"merchant_id": merchant, "email": first.email, "password": STAFF_PASSWORD}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let issued = session_cookie(&response).expect("sign-in sets a new cookie");
        assert_ne!(&issued, cookie, "the planted value is replaced");
        assert_ne!(
            issued, first.cookie,
            "every sign-in gets a session of its own"
        );
        let victim = StaffLogin {
            email: first.email.clone(),
            cookie: issued,
            csrf: String::new(),
        };
        let (status, me) = victim.get(&app, "/v1/staff/me").await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(
            serde_json::from_str::<Value>(&me).unwrap()["role"],
            "manager"
        );
    }
    // The attacker's own session still names the attacker, not the victim.
    let (_, me) = attackers.get(&app, "/v1/staff/me").await;
    assert_eq!(
        serde_json::from_str::<Value>(&me).unwrap()["role"],
        "viewer"
    );
}

#[tokio::test]
async fn staff_of_one_merchant_read_and_change_nothing_of_another() {
    let shop = Shop::open().await;
    let (status, _) = shop
        .terminal
        .redeem(&shop.app, &shop.phone.offline_code(now_ms()), 30, "sale")
        .await;
    assert_eq!(status, 201);
    shop.terminal.redeem(&shop.app, "TC1Kjunk", 1, "junk").await;
    let other = shop.app.merchant().await;
    let snoop = staff_sign_in(&shop.app, other.merchant, Role::Owner).await;
    let customer = shop.phone.customer;

    let read = |path: String| {
        let snoop = &snoop;
        let app = &shop.app;
        async move {
            let (status, body) = snoop.get(app, &path).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    let overview: Value =
        serde_json::from_str(&read("/v1/dashboard/overview".into()).await).unwrap();
    assert_eq!(
        (
            overview["liability"].as_i64(),
            overview["customers"].as_i64()
        ),
        (Some(0), Some(0))
    );
    for path in [
        "/v1/dashboard/customers?q=ana".to_owned(),
        format!("/v1/dashboard/customers?q={customer}"),
        "/v1/dashboard/stores".to_owned(),
        "/v1/dashboard/terminals".to_owned(),
        "/v1/dashboard/anomalies".to_owned(),
    ] {
        assert_eq!(read(path.clone()).await, "[]", "{path}");
    }
    let history = format!("/v1/dashboard/customers/{customer}/history");
    let (status, body) = snoop.get(&shop.app, &history).await;
    assert_eq!(status, 404, "{body}");
    let fraud: Value = serde_json::from_str(&read("/v1/dashboard/fraud".into()).await).unwrap();
    assert_eq!(fraud["total"], 0);
    let csv = read("/v1/dashboard/export/ledger.csv".into()).await;
    assert_eq!(csv.lines().count(), 1, "only the header: {csv}");

    let (status, _) = snoop
        .post(
            &shop.app,
            &format!("/v1/dashboard/customers/{customer}/adjust"),
            json!({"direction": "debit", "amount": 70, "reason": "mine now"}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(shop.balance().await, 70);
}
