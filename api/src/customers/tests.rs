//! Sign-up and sign-in over HTTP.

use serde_json::json;

use crate::testing::customer::{PASSWORD, post, sign_up};
use crate::testing::spawn_app;

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    sign_up(&app, merchant, "ana@example.com").await;
    let attempt = |email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            post(
                app,
                "/v1/customers/sign-in",
                None,
                json!({"merchant_id": merchant, "email": email, "password": password}),
            )
            .await
        }
    };
    // Alike but for the request's own id.
    let without_request_id = |(status, mut body): (u16, serde_json::Value)| {
        assert!(body["request_id"].is_string(), "{body}");
        body.as_object_mut().unwrap().remove("request_id");
        (status, body)
    };
    let wrong_password = without_request_id(attempt("ana@example.com", "not the password").await);
    let unknown_email = without_request_id(attempt("nobody@example.com", PASSWORD).await);
    assert_eq!(wrong_password.0, 401);
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(
        wrong_password.1["type"],
        "https://tillcode.dev/problems/invalid-credentials"
    );
    let (status, body) = attempt("ANA@example.com ", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["sign_in_token"].as_str().unwrap().len() >= 43);
}

#[tokio::test]
async fn weak_passwords_and_bad_emails_are_refused_at_sign_up() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    for (email, password) in [
        ("ana@example.com", "short"),
        ("ana@example.com", "password123"),
        ("not-an-email", PASSWORD),
    ] {
        let (status, body) = post(
            &app,
            "/v1/customers/sign-up",
            None,
            json!({"merchant_id": merchant, "email": email, "password": password, "display_name": "Ana"}),
        )
        .await;
        assert_eq!(status, 400, "{email} {password}: {body}");
        assert_eq!(
            body["type"],
            "https://tillcode.dev/problems/validation-failed"
        );
    }
}

#[tokio::test]
async fn sign_up_with_unknown_fields_or_for_an_unknown_merchant_is_refused() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let (status, _) = post(
        &app,
        "/v1/customers/sign-up",
        None,
        json!({"merchant_id": merchant, "email": "a@b.c", "password": PASSWORD, "display_name": "A", "admin": true}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = post(
        &app,
        "/v1/customers/sign-up",
        None,
        json!({"merchant_id": uuid::Uuid::now_v7(), "email": "a@b.c", "password": PASSWORD, "display_name": "A"}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn sign_in_attempts_for_one_email_are_rate_limited() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (status, _) = post(
            &app,
            "/v1/customers/sign-in",
            None,
            json!({"merchant_id": merchant, "email": "ana@example.com", "password": "guess guess guess"}),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(&statuses[10..], &[429, 429]);
}

#[tokio::test]
async fn balance_and_history_page_through_the_ledger() {
    use crate::ledger::{self, Operation};
    use tillcode_protocol::Amount;
    let app = spawn_app().await;
    let merchant = app.merchant().await;
    let phone = sign_up(&app, merchant.merchant, "ana@example.com").await;
    let (_, balance) =
        crate::testing::customer::get(&app, "/v1/me/balance", &phone.access_token).await;
    assert_eq!(balance["balance"], 0);
    let account: tillcode_protocol::AccountId =
        balance["account_id"].as_str().unwrap().parse().unwrap();
    let mut conn = app.db.connect().await;
    for i in 1..=5 {
        let accrue = Operation::Accrue {
            account,
            amount: Amount::new(i).unwrap(),
        };
        ledger::post(&mut conn, &merchant.posting(&format!("earn-{i}"), accrue))
            .await
            .unwrap();
    }
    let (_, balance) =
        crate::testing::customer::get(&app, "/v1/me/balance", &phone.access_token).await;
    assert_eq!(balance["balance"], 15);

    let (status, first) =
        crate::testing::customer::get(&app, "/v1/me/history?limit=3", &phone.access_token).await;
    assert_eq!(status, 200, "{first}");
    let changes: Vec<i64> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["balance_change"].as_i64().unwrap())
        .collect();
    assert_eq!(changes, vec![5, 4, 3]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = crate::testing::customer::get(
        &app,
        &format!("/v1/me/history?limit=3&starting_after={cursor}"),
        &phone.access_token,
    )
    .await;
    let changes: Vec<i64> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["balance_change"].as_i64().unwrap())
        .collect();
    assert_eq!(changes, vec![2, 1]);
    assert!(second["next_cursor"].is_null());
    let (status, _) =
        crate::testing::customer::get(&app, "/v1/me/history?limit=0", &phone.access_token).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_slug_names_its_merchant_and_nothing_else() {
    let app = spawn_app().await;
    let merchant = app.merchant().await.merchant;
    let slug = format!("m-{}", uuid::Uuid::from(merchant).simple());
    let client = reqwest::Client::new();
    let res = client
        .get(app.url(&format!("/v1/merchants/{slug}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["merchant_id"], json!(merchant));
    assert_eq!(body["slug"], json!(slug));
    assert_eq!(body["name"], "Test merchant");
    for other in ["m-0000", "Demo", "-x", "a%20b", &"a".repeat(64)] {
        let res = client
            .get(app.url(&format!("/v1/merchants/{other}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{other}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["type"], "https://tillcode.dev/problems/not-found");
    }
}
