//! A cashier's terminal, enrolled and approved, signing its requests.

use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use serde_json::{Value, json};
use tillcode_protocol::http_signature::{RequestParts, SignatureParams, new_nonce, sign_request};
use tillcode_protocol::{EnrollmentCode, content_digest, enroll_terminal_message};
use uuid::Uuid;

use super::TestApp;
use super::customer::post;

pub struct TestTerminal {
    pub id: Uuid,
    pub store: Uuid,
    pub key: SigningKey,
}

/// A signed request as the terminal would send it; `tamper` replaces the
/// body after signing.
pub struct Signed<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub body: Option<Value>,
    pub idempotency_key: Option<&'a str>,
}

/// Creates a store, an enrollment, enrolls a terminal and approves it.
pub async fn enrolled_terminal(
    app: &TestApp,
    merchant: tillcode_protocol::MerchantId,
) -> TestTerminal {
    use crate::schema::stores;
    use diesel::ExpressionMethods;
    use diesel_async::RunQueryDsl;
    let state = app.state();
    let store = Uuid::now_v7();
    diesel::insert_into(stores::table)
        .values((
            stores::merchant_id.eq(Uuid::from(merchant)),
            stores::id.eq(store),
            stores::code.eq(format!("S-{}", store.simple())),
            stores::name.eq("Test store"),
        ))
        .execute(&mut *state.db_conn().await.unwrap())
        .await
        .unwrap();
    let enrollment =
        crate::terminals::enrollment::create(&mut state.db_conn().await.unwrap(), store, "test")
            .await
            .unwrap();
    let key = SigningKey::generate(&mut OsRng);
    let (status, body) = enroll(app, store, &enrollment.code, &key, "Till 1").await;
    assert_eq!(status, 201, "{body}");
    let id: Uuid = body["terminal_id"].as_str().unwrap().parse().unwrap();
    crate::terminals::enrollment::set_status(
        &mut state.db_conn().await.unwrap(),
        None,
        id.into(),
        crate::terminals::enrollment::TerminalAction::Approve,
        "test",
    )
    .await
    .unwrap()
    .unwrap();
    TestTerminal { id, store, key }
}

pub async fn enroll(
    app: &TestApp,
    store: Uuid,
    code: &str,
    key: &SigningKey,
    name: &str,
) -> (u16, Value) {
    post(
        app,
        "/v1/terminals/enroll",
        None,
        enroll_body(store, code, key, name),
    )
    .await
}

/// The body that enrolls `key` with an enrollment `code` of `store`.
pub fn enroll_body(store: Uuid, code: &str, key: &SigningKey, name: &str) -> Value {
    let parsed = EnrollmentCode::parse(code).unwrap();
    let signature = ed25519_dalek::Signer::sign(
        key,
        &enroll_terminal_message(&parsed, &key.verifying_key(), name),
    );
    json!({
        "store_id": store,
        "code": code,
        "name": name,
        "public_key": hex::encode(key.verifying_key().as_bytes()),
        "signature": hex::encode(signature.to_bytes()),
    })
}

impl TestTerminal {
    pub async fn send(&self, app: &TestApp, request: Signed<'_>) -> (u16, Value) {
        self.send_tampered(app, request, None).await
    }

    /// Signs `request`, then sends `tampered_body` instead of its body when given.
    pub async fn send_tampered(
        &self,
        app: &TestApp,
        request: Signed<'_>,
        tampered_body: Option<&str>,
    ) -> (u16, Value) {
        let response = self
            .request(app, &request, tampered_body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `request` signed with a fresh nonce, ready to send to `app`;
    /// `tampered_body` as in [`TestTerminal::send_tampered`].
    pub fn request(
        &self,
        app: &TestApp,
        request: &Signed<'_>,
        tampered_body: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let body = request.body.as_ref().map(|b| b.to_string());
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
        let mut builder = reqwest::Client::new().request(method, app.url(request.path));
        for (name, value) in self.signature_headers(request, body.as_deref()) {
            builder = builder.header(name, value);
        }
        if let Some(body) = tampered_body.map(str::to_owned).or(body) {
            builder = builder
                .header("Content-Type", "application/json")
                .body(body);
        }
        builder
    }

    /// The headers that sign `request` with `body` (its `body` field is not
    /// read): Signature-Input, Signature, and Content-Digest and
    /// Idempotency-Key when there are a body and a key.
    pub fn signature_headers(
        &self,
        request: &Signed<'_>,
        body: Option<&str>,
    ) -> Vec<(&'static str, String)> {
        let digest = body.map(|b| content_digest(b.as_bytes()));
        let (path, query) = match request.path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (request.path, None),
        };
        let parts = RequestParts {
            method: request.method,
            path,
            query,
            content_digest: digest.as_deref(),
            idempotency_key: request.idempotency_key,
            authority: None,
            headers: &[],
        };
        let params = SignatureParams {
            created: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            nonce: new_nonce(&mut OsRng),
            keyid: format!("terminal:{}", self.id),
        };
        let signed = sign_request(&self.key, &parts, &params).expect("signable request");
        let mut headers = vec![
            ("Signature-Input", signed.signature_input),
            ("Signature", signed.signature),
        ];
        if let Some(digest) = digest {
            headers.push(("Content-Digest", digest));
        }
        if let Some(key) = request.idempotency_key {
            headers.push(("Idempotency-Key", key.to_owned()));
        }
        headers
    }

    pub async fn redeem(&self, app: &TestApp, code: &str, amount: i64, key: &str) -> (u16, Value) {
        self.send(
            app,
            Signed {
                method: "POST",
                path: "/v1/redemptions",
                body: Some(json!({"code": code, "amount": amount})),
                idempotency_key: Some(key),
            },
        )
        .await
    }
}
