//! A code seen once is spent: photographed and shown again at the same or
//! another store, or a signed till request sent again byte for byte.

use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use serde_json::json;
use tillcode_protocol::content_digest;
use tillcode_protocol::http_signature::{RequestParts, SignatureParams, new_nonce, sign_request};

use super::{Shop, now_ms, problem};
use crate::testing::TestApp;
use crate::testing::terminal::{TestTerminal, enrolled_terminal};

#[tokio::test]
async fn a_code_photographed_at_one_store_is_refused_at_another_store_and_at_the_same_one() {
    let shop = Shop::open().await;
    // `enrolled_terminal` puts each terminal in a store of its own.
    let elsewhere = enrolled_terminal(&shop.app, shop.merchant.merchant).await;
    assert_ne!(elsewhere.store, shop.terminal.store);
    let (_, online) = shop.phone.online_code(&shop.app).await;
    let codes = [
        ("offline", shop.phone.offline_code(now_ms())),
        ("online", online["payload"].as_str().unwrap().to_owned()),
        ("numeric", shop.phone.numeric_code(now_ms() / 1000)),
    ];
    for (kind, code) in &codes {
        let (status, body) = shop
            .terminal
            .redeem(&shop.app, code, 10, &format!("{kind}-paid"))
            .await;
        assert_eq!(status, 201, "{kind}: {body}");
        for (till, key) in [
            (&elsewhere, "photo-elsewhere"),
            (&shop.terminal, "photo-here"),
        ] {
            let (status, body) = till
                .redeem(&shop.app, code, 10, &format!("{kind}-{key}"))
                .await;
            assert_eq!(status, 422, "{kind} at {key}: {body}");
            assert_eq!(body["type"], problem("code-replayed"), "{kind} at {key}");
        }
    }
    assert_eq!(shop.balance().await, 70, "three codes, three debits");
}

/// The headers and body of one signed POST, to be sent as many times as a
/// test likes.
struct Recorded {
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn record(terminal: &TestTerminal, path: &str, body: serde_json::Value, key: &str) -> Recorded {
    let body = body.to_string();
    let digest = content_digest(body.as_bytes());
    let parts = RequestParts {
        method: "POST",
        path,
        query: None,
        content_digest: Some(&digest),
        idempotency_key: Some(key),
        authority: None,
        headers: &[],
    };
    let params = SignatureParams {
        created: now_ms() / 1000,
        nonce: new_nonce(&mut OsRng),
        keyid: format!("terminal:{}", terminal.id),
    };
    let signed = sign_request(&terminal.key, &parts, &params).unwrap();
    Recorded {
        headers: vec![
            ("Signature-Input", signed.signature_input),
            ("Signature", signed.signature),
            ("Content-Digest", digest),
            ("Idempotency-Key", key.to_owned()),
            ("Content-Type", "application/json".to_owned()),
        ],
        body,
    }
}

async fn replay(app: &TestApp, path: &str, recorded: &Recorded) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(app.url(path))
        .body(recorded.body.clone());
    for (name, value) in &recorded.headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_signed_request_sent_again_verbatim_is_refused_and_after_redis_forgets_its_nonce_pays_once()
 {
    let shop = Shop::open().await;
    let code = shop.phone.offline_code(now_ms());
    let recorded = record(
        &shop.terminal,
        "/v1/redemptions",
        json!({"code": code, "amount": 25}),
        "captured-sale",
    );
    let (status, first) = replay(&shop.app, "/v1/redemptions", &recorded).await;
    assert_eq!(status, 201, "{first}");
    let (status, body) = replay(&shop.app, "/v1/redemptions", &recorded).await;
    assert_eq!(
        (status, &body["type"]),
        (401, &problem("signature-replayed"))
    );
    // A Redis failover loses the nonces; the same bytes now pass the
    // signature check, and the ledger answers them as the retry they are.
    shop.app.flush_redis();
    let (status, again) = replay(&shop.app, "/v1/redemptions", &recorded).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["redemption_id"], first["redemption_id"]);
    assert_eq!(again["replayed"], true);
    assert_eq!(shop.balance().await, 75);
}

#[tokio::test]
async fn a_request_signed_by_another_key_in_a_terminals_name_is_refused() {
    let shop = Shop::open().await;
    let impostor = TestTerminal {
        id: shop.terminal.id,
        store: shop.terminal.store,
        key: SigningKey::generate(&mut OsRng),
    };
    let (status, body) = impostor
        .redeem(&shop.app, &shop.phone.offline_code(now_ms()), 10, "cloned")
        .await;
    assert_eq!(
        (status, &body["type"]),
        (401, &problem("signature-invalid"))
    );
    assert_eq!(shop.balance().await, 100);
}
