//! The untimed calls: seeding and preparing a run over plain reqwest, with
//! the same SDK signing and proofs the timed part uses through goose.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tillcode_cashier::{IdempotencyKey, RequestSigner, Target, TerminalKey};
use tillcode_customer::DeviceKey;
use tillcode_protocol::MerchantId;
use uuid::Uuid;

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

/// A terminal as the load test drives it: its id and its key.
pub struct Till {
    pub id: Uuid,
    pub key: TerminalKey,
}

impl Till {
    /// The headers of a signed, idempotent request (`Content-Digest`,
    /// `Idempotency-Key`, `Signature-Input`, `Signature`), made by the
    /// cashier SDK with a fresh key and nonce.
    pub fn sign(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> anyhow::Result<tillcode_cashier::SignedHeaders> {
        let key = IdempotencyKey::generate().context("idempotency key")?;
        let target = Target {
            method,
            path,
            query: None,
            body,
        };
        RequestSigner::new(&self.key, self.id)
            .sign(&target, Some(&key))
            .context("sign the request")
    }
}

/// The problem type's slug (`code-replayed`) from a problem+json body, or
/// the first bytes of whatever came back.
pub fn failure_reason(status: u16, body: &[u8]) -> String {
    let slug = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v["type"]
            .as_str()
            .map(|t| t.rsplit('/').next().unwrap_or(t).to_owned())
    });
    match slug {
        Some(slug) => format!("{status} {slug}"),
        None => format!(
            "{status} {}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        ),
    }
}

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder().build()?,
        })
    }

    async fn answer(
        response: reqwest::Response,
        want: u16,
        what: &str,
    ) -> anyhow::Result<(reqwest::header::HeaderMap, Value)> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        if status != want {
            bail!("{what}: {}", failure_reason(status, &bytes));
        }
        Ok((
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    pub async fn post(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        Ok(Self::answer(request.send().await?, 201, path).await?.1)
    }

    /// A signed terminal POST that must answer 201.
    pub async fn signed_post(
        &self,
        till: &Till,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let bytes = serde_json::to_vec(body)?;
        let headers = till.sign("POST", path, Some(&bytes))?;
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .body(bytes);
        for (name, value) in headers.pairs() {
            request = request.header(name, value);
        }
        Ok(Self::answer(request.send().await?, 201, path).await?.1)
    }

    /// A device session token: a challenge signed with the device key.
    pub async fn device_session(
        &self,
        merchant: MerchantId,
        device: Uuid,
        key: &DeviceKey,
    ) -> anyhow::Result<String> {
        let challenge = self.post("/v1/challenges", None, &json!({})).await?;
        let challenge: [u8; 32] = hex::decode(challenge["challenge"].as_str().unwrap_or_default())?
            .try_into()
            .map_err(|_| anyhow::anyhow!("a challenge is 32 bytes"))?;
        let signature = tillcode_customer::proofs::device_session(key, device, &challenge);
        let opened = self
            .post(
                &format!("/v1/devices/{device}/sessions"),
                None,
                &json!({
                    "merchant_id": merchant,
                    "challenge": hex::encode(challenge),
                    "signature": hex::encode(signature),
                }),
            )
            .await?;
        opened["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("no access_token in the session answer")
    }

    /// The dashboard's session cookie (`name=value`) for a staff member.
    pub async fn staff_cookie(
        &self,
        merchant: MerchantId,
        email: &str,
        password: &str,
    ) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/v1/staff/sign-in", self.base))
            .json(&json!({"merchant_id": merchant, "email": email, "password": password}))
            .send()
            .await?;
        let (headers, _) = Self::answer(response, 200, "/v1/staff/sign-in").await?;
        headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find(|pair| pair.starts_with("tillcode_staff="))
            .map(str::to_owned)
            .context("sign-in set no tillcode_staff cookie")
    }
}
