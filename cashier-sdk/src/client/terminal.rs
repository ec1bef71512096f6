//! Signed requests as one enrolled terminal, and the retry loop that makes
//! a lost answer harmless.
//!
//! Every attempt of one call sends the same method, path, body bytes and
//! `Idempotency-Key`, and is signed afresh (new `created`, new nonce): the
//! server refuses a nonce it has seen, so re-sending old headers would be
//! refused as a replay, while the same key and body make it answer a
//! repeat of a carried-out request with the stored answer instead of
//! moving money again.

use std::fmt;
use std::time::Duration;

use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tillcode_protocol::{Amount, TransferId};
use uuid::Uuid;

use super::types::{
    Accrual, AccrueRequest, RedeemRequest, Redemption, Refund, RefundRequest, TerminalView,
    TransactionPage, Void, id_segment,
};
use super::{Client, ClientError, decode, read_success};
use crate::signing::{RequestSigner, Target};
use crate::{IdempotencyKey, TerminalKey};

/// Told to the [`TerminalClient::on_retry`] hook before each pause.
#[derive(Debug)]
pub struct RetryNotice<'a> {
    /// The attempt that failed, from 1.
    pub attempt: u32,
    pub error: &'a ClientError,
    /// How long before the next attempt.
    pub pause: Duration,
}

type RetryHook = Box<dyn Fn(&RetryNotice<'_>) + Send + Sync>;

/// The API as one enrolled terminal: owns the key it signs with.
pub struct TerminalClient {
    client: Client,
    terminal_id: Uuid,
    key: TerminalKey,
    on_retry: Option<RetryHook>,
}

impl fmt::Debug for TerminalClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TerminalClient")
            .field("client", &self.client)
            .field("terminal_id", &self.terminal_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// One request, as every attempt sends it.
struct Call<'a> {
    what: &'static str,
    method: Method,
    url: Url,
    /// Serialized once, so that every attempt sends the same bytes.
    body: Option<Vec<u8>>,
    idempotency_key: Option<&'a IdempotencyKey>,
}

impl TerminalClient {
    pub fn new(client: Client, terminal_id: Uuid, key: TerminalKey) -> Self {
        Self {
            client,
            terminal_id,
            key,
            on_retry: None,
        }
    }

    /// Calls `hook` before each retry (to tell the cashier what is going on).
    #[must_use]
    pub fn on_retry(mut self, hook: impl Fn(&RetryNotice<'_>) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(Box::new(hook));
        self
    }

    pub fn terminal_id(&self) -> Uuid {
        self.terminal_id
    }

    /// `GET /v1/terminal`: this terminal as the server sees it, whatever its
    /// status (a pending terminal learns here that it was approved).
    pub async fn status(&self) -> Result<TerminalView, ClientError> {
        let url = self.client.url(&["v1", "terminal"]);
        self.call(self.get("terminal status", url)).await
    }

    /// `POST /v1/redemptions`: debits the customer whose code it carries.
    pub async fn redeem(
        &self,
        request: &RedeemRequest,
        idempotency_key: &IdempotencyKey,
    ) -> Result<Redemption, ClientError> {
        let url = self.client.url(&["v1", "redemptions"]);
        self.call(self.post("redemption", url, request, idempotency_key)?)
            .await
    }

    /// `POST /v1/accruals`.
    pub async fn accrue(
        &self,
        request: &AccrueRequest,
        idempotency_key: &IdempotencyKey,
    ) -> Result<Accrual, ClientError> {
        let url = self.client.url(&["v1", "accruals"]);
        self.call(self.post("accrual", url, request, idempotency_key)?)
            .await
    }

    /// `POST /v1/redemptions/{id}/void`: gives the whole redemption back.
    pub async fn void(
        &self,
        redemption_id: TransferId,
        idempotency_key: &IdempotencyKey,
    ) -> Result<Void, ClientError> {
        let id = id_segment(redemption_id);
        let url = self.client.url(&["v1", "redemptions", &id, "void"]);
        let empty = serde_json::Map::new();
        self.call(self.post("void", url, &empty, idempotency_key)?)
            .await
    }

    /// `POST /v1/redemptions/{id}/refunds`: gives part of it back.
    pub async fn refund(
        &self,
        redemption_id: TransferId,
        amount: Amount,
        idempotency_key: &IdempotencyKey,
    ) -> Result<Refund, ClientError> {
        let id = id_segment(redemption_id);
        let url = self.client.url(&["v1", "redemptions", &id, "refunds"]);
        let body = RefundRequest { amount };
        self.call(self.post("refund", url, &body, idempotency_key)?)
            .await
    }

    /// `GET /v1/terminal/transactions`, newest first; `None`s leave the
    /// server's defaults.
    pub async fn transactions(
        &self,
        limit: Option<u32>,
        starting_after: Option<TransferId>,
    ) -> Result<TransactionPage, ClientError> {
        let mut url = self.client.url(&["v1", "terminal", "transactions"]);
        {
            let mut query = url.query_pairs_mut();
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
            if let Some(cursor) = starting_after {
                query.append_pair("starting_after", &id_segment(cursor));
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        self.call(self.get("transaction list", url)).await
    }

    fn get(&self, what: &'static str, url: Url) -> Call<'static> {
        Call {
            what,
            method: Method::GET,
            url,
            body: None,
            idempotency_key: None,
        }
    }

    fn post<'k>(
        &self,
        what: &'static str,
        url: Url,
        body: &impl Serialize,
        idempotency_key: &'k IdempotencyKey,
    ) -> Result<Call<'k>, ClientError> {
        let body =
            serde_json::to_vec(body).map_err(|source| ClientError::Decode { what, source })?;
        Ok(Call {
            what,
            method: Method::POST,
            url,
            body: Some(body),
            idempotency_key: Some(idempotency_key),
        })
    }

    /// Sends `call`, retrying per the client's policy when the outcome is
    /// unknown. Only reads and requests with an idempotency key are ever
    /// retried: for anything else a retry could act twice.
    async fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, ClientError> {
        let policy = self.client.retry;
        let may_retry = call.method == Method::GET || call.idempotency_key.is_some();
        let mut attempt = 1;
        loop {
            match self.attempt(&call).await {
                Ok(body) => return decode(call.what, &body),
                Err(error)
                    if may_retry && error.is_retryable() && policy.allows_another(attempt) =>
                {
                    let pause = policy.backoff(attempt);
                    if let Some(hook) = &self.on_retry {
                        hook(&RetryNotice {
                            attempt,
                            error: &error,
                            pause,
                        });
                    }
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// One attempt: sign now, send, read the answer.
    async fn attempt(&self, call: &Call<'_>) -> Result<Vec<u8>, ClientError> {
        let target = Target {
            method: call.method.as_str(),
            path: call.url.path(),
            query: call.url.query(),
            body: call.body.as_deref(),
        };
        let headers =
            RequestSigner::new(&self.key, self.terminal_id).sign(&target, call.idempotency_key)?;
        let mut request = self
            .client
            .http()
            .request(call.method.clone(), call.url.clone());
        for (name, value) in headers.pairs() {
            request = request.header(name, value);
        }
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = request.send().await?;
        read_success(call.what, response).await
    }
}
