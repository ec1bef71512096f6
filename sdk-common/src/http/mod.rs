//! The base both SDKs' async API clients stand on: a checked base address
//! that paths are appended to, a reqwest client with timeouts, reading an
//! answer with a size limit, and making sense of an error answer (an
//! RFC 9457 problem, or an excerpt of whatever came instead).
//!
//! `https://` through rustls, trusting the system's CAs or a private CA
//! ([`Transport`]); plain `http://` only to this machine, unless allowed
//! explicitly: a password or token must not cross a network in clear.
//!
//! Each SDK keeps its own `ClientError` (their shapes differ: the cashier
//! keeps a problem's JSON whole and judges whether a retry is safe) and
//! converts the errors here into it.

mod problem;
mod transport;

use std::time::Duration;

use reqwest::{Response, Url};

pub use problem::{
    BODY_EXCERPT_CHARS, certificate_refused, describe, excerpt, parse_problem, transport_chain,
};
pub use transport::{CaCertError, Transport};

/// No response of the Tillcode API comes near it; a body past it is not
/// the API's.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// How the underlying reqwest client behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    pub connect_timeout: Duration,
    /// For one request, from sending to the last byte of the answer.
    pub request_timeout: Duration,
    /// Whether a redirect is followed (reqwest's default policy) or handed
    /// back as the answer. A signed request must not follow one: its
    /// signature covers the path it was made for.
    pub follow_redirects: bool,
}

/// Why [`ApiBase::new`] failed.
#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    #[error("cannot use {url:?} as the API address: {reason}")]
    BadUrl { url: String, reason: String },
    /// reqwest could not build its client (no usable TLS or DNS backend).
    #[error("cannot set up the HTTP client: {}", transport_chain(.0))]
    Transport(#[from] reqwest::Error),
}

/// Why an answer was not a success the caller can read.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// No (whole) answer: connection refused or dropped, timeout, DNS.
    #[error("cannot reach the API: {}", transport_chain(.0))]
    Transport(#[from] reqwest::Error),
    #[error("the API's {what} response is larger than {limit} bytes")]
    TooLarge { what: &'static str, limit: usize },
    /// An error status, with the body that came with it (read in full, up
    /// to the limit) for the SDK to make sense of.
    #[error("the API answered HTTP {status}")]
    Status { status: u16, body: Vec<u8> },
}

/// A client for one API base address. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ApiBase {
    http: reqwest::Client,
    base: Url,
}

impl ApiBase {
    /// `base_url` is the address the API's `/v1` paths hang from, such as
    /// `https://api.example.com/tillcode/` or `http://127.0.0.1:8080`.
    pub fn new(
        base_url: &str,
        options: HttpOptions,
        transport: &Transport,
    ) -> Result<Self, BaseError> {
        let bad = |reason: &str| BaseError::BadUrl {
            url: base_url.to_owned(),
            reason: reason.to_owned(),
        };
        let base = Url::parse(base_url).map_err(|e| bad(&e.to_string()))?;
        if let Some(reason) = transport.refusal(&base) {
            return Err(bad(reason));
        }
        if base.cannot_be_a_base() || base.query().is_some() || base.fragment().is_some() {
            return Err(bad("an API address has no query or fragment"));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout);
        builder = transport.apply(builder, &base);
        if !options.follow_redirects {
            builder = builder.redirect(reqwest::redirect::Policy::none());
        }
        Ok(Self {
            http: builder.build()?,
            base,
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The base address with `segments` appended, each percent-encoded as
    /// one path segment (so an id from the server cannot add path parts).
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `new` refused addresses that cannot be a base, for which this
        // would be Err; nothing to append to then.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }
}

/// The body of a success answer; for an error status, the body that came
/// with it as [`ResponseError::Status`]. `what` names the answer in errors.
pub async fn read_success(
    what: &'static str,
    mut response: Response,
) -> Result<Vec<u8>, ResponseError> {
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ResponseError::TooLarge {
                what,
                limit: MAX_RESPONSE_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    if status.is_success() {
        Ok(body)
    } else {
        Err(ResponseError::Status {
            status: status.as_u16(),
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: HttpOptions = HttpOptions {
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        follow_redirects: false,
    };

    fn base(url: &str) -> ApiBase {
        let insecure = Transport::default().allow_insecure_http(true);
        ApiBase::new(url, OPTIONS, &insecure).unwrap()
    }

    #[test]
    fn paths_are_appended_to_the_base_with_or_without_a_trailing_slash() {
        for url in ["http://127.0.0.1:8080", "http://127.0.0.1:8080/"] {
            assert_eq!(
                base(url).url(&["v1", "me", "balance"]).as_str(),
                "http://127.0.0.1:8080/v1/me/balance"
            );
            assert_eq!(
                base(url).url(&["v1", "terminal"]).as_str(),
                "http://127.0.0.1:8080/v1/terminal"
            );
        }
        let prefixed = base("http://api.test/tillcode/");
        assert_eq!(
            prefixed.url(&["v1", "challenges"]).as_str(),
            "http://api.test/tillcode/v1/challenges"
        );
        assert_eq!(
            prefixed.url(&["v1", "redemptions"]).path(),
            "/tillcode/v1/redemptions"
        );
        assert_eq!(prefixed.base_url(), "http://api.test/tillcode/");
    }

    #[test]
    fn a_segment_from_the_server_cannot_add_path_parts_or_a_query() {
        let api = base("http://api.test");
        let url = api.url(&["v1", "me", "links", "../../admin?x=1#y"]);
        assert_eq!(
            url.as_str(),
            "http://api.test/v1/me/links/..%2F..%2Fadmin%3Fx=1%23y"
        );
        let url = api.url(&["v1", "redemptions", "../../admin?x=1#y", "void"]);
        assert_eq!(
            url.as_str(),
            "http://api.test/v1/redemptions/..%2F..%2Fadmin%3Fx=1%23y/void"
        );
    }

    #[test]
    fn addresses_that_are_not_http_or_https_bases_are_refused() {
        for bad in [
            "ftp://api.test",
            "api.test:8080",
            "https://api.test/?q=1",
            "https://api.test/#x",
            "mailto:x@y",
        ] {
            let err = ApiBase::new(bad, OPTIONS, &Transport::default()).unwrap_err();
            assert!(
                matches!(&err, BaseError::BadUrl { url, .. } if url == bad),
                "{bad}: {err}"
            );
        }
        ApiBase::new("https://api.test", OPTIONS, &Transport::default()).unwrap();
    }

    #[test]
    fn a_client_for_an_https_api_sends_nothing_over_plain_http() {
        // What a redirect from the API to plain HTTP would lead to: refused
        // before any connection is made.
        let api = ApiBase::new("https://api.test", OPTIONS, &Transport::default()).unwrap();
        let mut send = std::pin::pin!(api.http().get("http://api.test/v1/me/balance").send());
        let waker = std::task::Waker::noop();
        let poll = send
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker));
        let std::task::Poll::Ready(Err(err)) = poll else {
            panic!("a plain HTTP request was not refused at once");
        };
        assert!(err.is_builder(), "{err:?}");
        assert!(
            transport_chain(&err).contains("URL scheme is not allowed"),
            "{err:?}"
        );
    }

    #[test]
    fn plain_http_to_another_machine_is_refused_unless_allowed() {
        let err = ApiBase::new("http://api.test", OPTIONS, &Transport::default()).unwrap_err();
        assert!(err.to_string().contains("in clear"), "{err}");
        assert!(err.to_string().contains("--insecure-http"), "{err}");
        ApiBase::new("http://127.0.0.1:8080", OPTIONS, &Transport::default()).unwrap();
        let insecure = Transport::default().allow_insecure_http(true);
        ApiBase::new("http://api.test", OPTIONS, &insecure).unwrap();
    }
}
