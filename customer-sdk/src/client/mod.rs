//! An async client for the customer HTTP API (`/v1/...`).
//!
//! Plain HTTP only for now: reqwest is built without a TLS stack (the
//! workspace's setting, for tests against a local server), so an `https://`
//! address is refused up front with a clear message rather than failing at
//! the first request.

mod endpoints;
mod error;
mod flows;
mod types;

use std::time::Duration;

use reqwest::{RequestBuilder, Response, Url};
use serde::de::DeserializeOwned;

pub use error::ClientError;
pub use types::{
    Balance, Bearer, Challenge, DeviceView, HistoryItem, HistoryPage, LinkCreated, LinkState,
    LinkStatus, LinkedDevice, OnlineKey, RegisteredDevice, Session, SignedIn,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// No response of this API comes near it; a body past it is not ours.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A client for one API base address. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
}

impl Client {
    /// `base_url` is the address the API's `/v1` paths hang from, such as
    /// `http://127.0.0.1:8080` or `http://example.test/tillcode/`.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let bad = |reason: &str| ClientError::BadUrl {
            url: base_url.to_owned(),
            reason: reason.to_owned(),
        };
        let base = Url::parse(base_url).map_err(|e| bad(&e.to_string()))?;
        match base.scheme() {
            "http" => {}
            "https" => return Err(bad("this build speaks plain HTTP only (no TLS stack)")),
            _ => return Err(bad("not an http:// address")),
        }
        if base.cannot_be_a_base() || base.query().is_some() || base.fragment().is_some() {
            return Err(bad("an API address has no query or fragment"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self { http, base })
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The base address with `segments` appended, each percent-encoded as
    /// one path segment (so an id from the server cannot add path parts).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `new` refused addresses that cannot be a base, for which this
        // would be Err; nothing to append to then.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends and decodes a JSON success body as `T`.
    async fn json<T: DeserializeOwned>(
        &self,
        what: &'static str,
        request: RequestBuilder,
    ) -> Result<T, ClientError> {
        let body = read_success(what, request.send().await?).await?;
        serde_json::from_slice(&body).map_err(|source| ClientError::Decode { what, source })
    }

    /// Sends and expects a success with nothing to read (204).
    async fn empty(&self, what: &'static str, request: RequestBuilder) -> Result<(), ClientError> {
        read_success(what, request.send().await?).await.map(drop)
    }
}

/// The body of a success response, or the error a failure carries.
async fn read_success(what: &'static str, mut response: Response) -> Result<Vec<u8>, ClientError> {
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ClientError::TooLarge {
                what,
                limit: MAX_RESPONSE_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    if status.is_success() {
        Ok(body)
    } else {
        Err(ClientError::from_error_response(status.as_u16(), &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_appended_to_the_base_with_or_without_a_trailing_slash() {
        for base in ["http://127.0.0.1:8080", "http://127.0.0.1:8080/"] {
            let client = Client::new(base).unwrap();
            assert_eq!(
                client.url(&["v1", "me", "balance"]).as_str(),
                "http://127.0.0.1:8080/v1/me/balance"
            );
        }
        let prefixed = Client::new("http://api.test/tillcode/").unwrap();
        assert_eq!(
            prefixed.url(&["v1", "challenges"]).as_str(),
            "http://api.test/tillcode/v1/challenges"
        );
    }

    #[test]
    fn a_segment_from_the_server_cannot_add_path_parts_or_a_query() {
        let client = Client::new("http://api.test").unwrap();
        let url = client.url(&["v1", "me", "links", "../../admin?x=1#y"]);
        assert_eq!(
            url.as_str(),
            "http://api.test/v1/me/links/..%2F..%2Fadmin%3Fx=1%23y"
        );
    }

    #[test]
    fn only_plain_http_addresses_are_accepted() {
        for bad in [
            "https://api.test",
            "ftp://api.test",
            "api.test:8080",
            "http://api.test/?q=1",
            "mailto:x@y",
        ] {
            let err = Client::new(bad).unwrap_err();
            assert!(matches!(err, ClientError::BadUrl { .. }), "{bad}: {err}");
        }
        let err = Client::new("https://api.test").unwrap_err();
        assert!(err.to_string().contains("plain HTTP only"), "{err}");
    }
}
