//! Making sense of an error answer: the server's RFC 9457 problem, typed and
//! as the exact JSON it sent, or an excerpt of whatever came instead (a
//! proxy's error page, say); and messages that say what went wrong.

use std::error::Error as _;
use std::fmt::Write as _;

use tillcode_protocol::Problem;

/// Characters of a non-problem error body kept for the message.
pub const BODY_EXCERPT_CHARS: usize = 200;

/// The problem document `body` carries, typed and as received (extension
/// members included); `None` when it is not one, even if it is JSON.
pub fn parse_problem(body: &[u8]) -> Option<(Problem, serde_json::Value)> {
    let value = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    let problem = serde_json::from_value::<Problem>(value.clone()).ok()?;
    Some((problem, value))
}

/// The start of a body that is not a problem, as text for a message.
pub fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(BODY_EXCERPT_CHARS)
        .collect()
}

/// `type (status title): detail`: the type first, as scripts match on it.
pub fn describe(problem: &Problem) -> String {
    let mut text = format!(
        "{} ({} {})",
        problem.type_uri, problem.status, problem.title
    );
    if let Some(detail) = &problem.detail {
        let _ = write!(text, ": {detail}");
    }
    text
}

/// reqwest's own message ("error sending request") hides the cause
/// ("connection refused") in its source chain: the whole chain, and what to
/// do about a server certificate this client does not trust.
pub fn transport_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    if certificate_refused(error).is_some() {
        text.push_str(
            " (the API's TLS certificate is not one this client trusts; if a private CA \
             signed it, give the client that CA's certificate: --ca-cert FILE or \
             TILLCODE_CA_CERT in the CLIs)",
        );
    }
    text
}

/// Why the client refused the server's TLS certificate, when that is what
/// `error` comes from. Nothing was sent then: the handshake failed.
pub fn certificate_refused(error: &reqwest::Error) -> Option<&rustls::CertificateError> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(rustls::Error::InvalidCertificate(why)) = rustls_error(cause) {
            return Some(why);
        }
        source = cause.source();
    }
    None
}

/// The rustls error `error` is, or carries inside io::Errors: tokio-rustls
/// wraps it in one, and reqwest's connector in another, and an io::Error's
/// own `source` skips what it wraps.
fn rustls_error<'a>(mut error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    loop {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        error = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

#[cfg(test)]
mod tests {
    use tillcode_protocol::ProblemType;

    use super::*;

    #[test]
    fn a_problem_is_kept_typed_and_verbatim_and_described_type_first() {
        let body = br#"{
            "type": "https://tillcode.dev/problems/insufficient-balance",
            "title": "The balance is lower than the amount",
            "status": 422,
            "detail": "balance 20",
            "balance": 20
        }"#;
        let (problem, value) = parse_problem(body).unwrap();
        assert_eq!(problem.kind(), Some(ProblemType::InsufficientBalance));
        assert_eq!(value["balance"], 20);
        assert_eq!(
            describe(&problem),
            "https://tillcode.dev/problems/insufficient-balance \
             (422 The balance is lower than the amount): balance 20"
        );
        let bare = Problem {
            detail: None,
            ..problem
        };
        assert_eq!(
            describe(&bare),
            "https://tillcode.dev/problems/insufficient-balance \
             (422 The balance is lower than the amount)"
        );
    }

    #[test]
    fn a_tls_error_is_found_inside_nested_io_errors() {
        let refused = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, refused.clone());
        let outer = std::io::Error::other(inner);
        assert_eq!(rustls_error(&outer), Some(&refused));
        assert_eq!(rustls_error(&std::io::Error::other("reset")), None);
    }

    #[test]
    fn json_or_a_page_that_is_not_a_problem_is_not_taken_for_one() {
        assert!(parse_problem(br#"{"error":"nope"}"#).is_none());
        assert!(parse_problem(b"<html>Bad gateway</html>").is_none());
        assert!(parse_problem(b"").is_none());
    }

    #[test]
    fn an_excerpt_keeps_the_first_characters_not_bytes() {
        let page = format!("<html>{}</html>", "é".repeat(1000));
        let text = excerpt(page.as_bytes());
        assert_eq!(text.chars().count(), BODY_EXCERPT_CHARS);
        assert!(text.starts_with("<html>é"));
        assert_eq!(excerpt(b"short"), "short");
        // Invalid UTF-8 is shown, not refused.
        assert_eq!(excerpt(b"a\xffb"), "a\u{fffd}b");
    }
}
