//! The RFC 9421 signature base of the Tillcode profile: which components a
//! request must cover, which it may cover besides, their values, and the
//! bytes that are signed.

use std::borrow::Cow;

use super::{HttpSignatureError, RequestParts};

pub(super) const METHOD: &str = "@method";
pub(super) const PATH: &str = "@path";
pub(super) const QUERY: &str = "@query";
pub(super) const AUTHORITY: &str = "@authority";
pub(super) const CONTENT_DIGEST: &str = "content-digest";
pub(super) const IDEMPOTENCY_KEY: &str = "idempotency-key";
const SIGNATURE_PARAMS: &str = "@signature-params";

/// The covered components the profile requires for `parts`, in the order
/// its signer sends them: `@method`, `@path`, `@query`, then
/// `content-digest` when the request has that header and `idempotency-key`
/// when it has that one.
pub(super) fn required_components(parts: &RequestParts<'_>) -> Vec<&'static str> {
    let mut names = vec![METHOD, PATH, QUERY];
    if parts.content_digest.is_some() {
        names.push(CONTENT_DIGEST);
    }
    if parts.idempotency_key.is_some() {
        names.push(IDEMPOTENCY_KEY);
    }
    names
}

/// The RFC 9421 signature base (section 2.5) of `parts` under the
/// `@signature-params` value `signature_params` (the inner list of covered
/// components with its parameters, without the `tc=` label), with the
/// components the profile requires in its signer's order: one line
/// `"<name>": <value>` per covered component, each ended by a line feed,
/// then `"@signature-params": <signature_params>` with no line feed after it.
///
/// Refuses parts whose values could not appear in a request line or header
/// (so could not be signed unambiguously): a method that is not an HTTP
/// token, a path or query with anything but visible ASCII, a path that does
/// not start with `/`, a header value with a control character.
pub fn signature_base(
    parts: &RequestParts<'_>,
    signature_params: &str,
) -> Result<String, HttpSignatureError> {
    covered_base(&required_components(parts), parts, signature_params)
}

/// The signature base over `components`, in their order (the order the
/// `Signature-Input` lists them, RFC 9421 section 2.5). A component the
/// request has no value for is [`HttpSignatureError::WrongComponents`].
pub(super) fn covered_base<S: AsRef<str>>(
    components: &[S],
    parts: &RequestParts<'_>,
    signature_params: &str,
) -> Result<String, HttpSignatureError> {
    check_request_line(parts)?;
    let mut base = String::new();
    for name in components {
        let name = name.as_ref();
        let value = component_value(name, parts)?.ok_or(HttpSignatureError::WrongComponents)?;
        push_line(&mut base, name, &value);
        base.push('\n');
    }
    push_line(&mut base, SIGNATURE_PARAMS, signature_params);
    Ok(base)
}

fn push_line(base: &mut String, name: &str, value: &str) {
    base.push('"');
    base.push_str(name);
    base.push_str("\": ");
    base.push_str(value);
}

/// Whether the profile lets a signature cover `name` (a plain string item):
/// `@method`, `@path`, `@query`, `@authority`, and any header field by its
/// lowercase name. Other derived components (`@target-uri`, `@scheme`,
/// `@request-target`, `@query-param`, `@status`) are not supported: their
/// values depend on what a proxy in front of the server rewrote.
pub(super) fn is_supported_component(name: &str) -> bool {
    match name.strip_prefix('@') {
        Some(_) => [METHOD, PATH, QUERY, AUTHORITY].contains(&name),
        None => !name.is_empty() && name.bytes().all(|b| is_tchar(b) && !b.is_ascii_uppercase()),
    }
}

/// The value of one covered component of `parts` (RFC 9421 section 2.2 for
/// the derived ones, 2.1 for header fields); `None` when the request has no
/// such header or authority. The request line is checked by the caller.
pub(super) fn component_value<'a>(
    name: &str,
    parts: &RequestParts<'a>,
) -> Result<Option<Cow<'a, str>>, HttpSignatureError> {
    let value = match name {
        // `@path`: the target URI's path as sent, "/" when it is empty.
        METHOD => Some(Cow::Borrowed(parts.method)),
        PATH => Some(Cow::Borrowed(path(parts))),
        // `@query`: "?" and the query as sent; "?" alone when there is none.
        QUERY => Some(Cow::Owned(format!("?{}", parts.query.unwrap_or("")))),
        // `@authority`: lowercase (RFC 9421 section 2.2.3).
        AUTHORITY => match parts.authority {
            Some(authority) => Some(Cow::Owned(authority_value(authority)?)),
            None => None,
        },
        CONTENT_DIGEST => parts
            .content_digest
            .map(header_value)
            .transpose()?
            .map(Cow::Borrowed),
        IDEMPOTENCY_KEY => parts
            .idempotency_key
            .map(header_value)
            .transpose()?
            .map(Cow::Borrowed),
        _ if name.starts_with('@') => None,
        _ => other_header(name, parts.headers)?,
    };
    Ok(value)
}

/// A header among `headers` by its lowercase name: every line of it, each
/// trimmed, joined with `, ` (RFC 9421 section 2.1).
fn other_header<'a>(
    name: &str,
    headers: &[(&'a str, &'a str)],
) -> Result<Option<Cow<'a, str>>, HttpSignatureError> {
    let mut lines = headers
        .iter()
        .filter(|(header, _)| header.eq_ignore_ascii_case(name))
        .map(|(_, value)| header_value(value));
    let Some(first) = lines.next() else {
        return Ok(None);
    };
    let mut value = Cow::Borrowed(first?);
    for line in lines {
        let joined = value.to_mut();
        joined.push_str(", ");
        joined.push_str(line?);
    }
    Ok(Some(value))
}

fn path<'a>(parts: &RequestParts<'a>) -> &'a str {
    if parts.path.is_empty() {
        "/"
    } else {
        parts.path
    }
}

/// Refuses a method, path or query that could not be put in a base.
fn check_request_line(parts: &RequestParts<'_>) -> Result<(), HttpSignatureError> {
    if parts.method.is_empty() || !parts.method.bytes().all(is_tchar) {
        return Err(HttpSignatureError::Malformed(
            "the method is not an HTTP token",
        ));
    }
    let path = path(parts);
    if !path.starts_with('/') || !path.bytes().all(is_visible_ascii) {
        return Err(HttpSignatureError::Malformed(
            "the path is not an absolute path of visible ASCII",
        ));
    }
    if !parts.query.unwrap_or("").bytes().all(is_visible_ascii) {
        return Err(HttpSignatureError::Malformed(
            "the query is not visible ASCII",
        ));
    }
    Ok(())
}

fn authority_value(authority: &str) -> Result<String, HttpSignatureError> {
    let authority = authority.trim_matches([' ', '\t']);
    if !authority.is_empty() && authority.bytes().all(is_visible_ascii) {
        Ok(authority.to_ascii_lowercase())
    } else {
        Err(HttpSignatureError::Malformed(
            "the authority is not visible ASCII",
        ))
    }
}

/// A header's component value: the field value without leading and trailing
/// spaces and tabs. Only visible ASCII, spaces and tabs may remain, as in a
/// header value that `http` gives as text.
fn header_value(value: &str) -> Result<&str, HttpSignatureError> {
    let value = value.trim_matches([' ', '\t']);
    if value
        .bytes()
        .all(|b| is_visible_ascii(b) || b == b' ' || b == b'\t')
    {
        Ok(value)
    } else {
        Err(HttpSignatureError::Malformed(
            "a covered header value has a control or non-ASCII character",
        ))
    }
}

fn is_visible_ascii(b: u8) -> bool {
    b.is_ascii_graphic()
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: &str = r#"("@method" "@path" "@query");created=1"#;

    fn parts<'a>(method: &'a str, path: &'a str, query: Option<&'a str>) -> RequestParts<'a> {
        RequestParts {
            method,
            path,
            query,
            content_digest: None,
            idempotency_key: None,
            authority: None,
            headers: &[],
        }
    }

    #[test]
    fn a_request_without_query_or_headers_has_three_lines_and_the_params() {
        let base = signature_base(&parts("GET", "/v1/balance", None), PARAMS).unwrap();
        assert_eq!(
            base,
            "\"@method\": GET\n\"@path\": /v1/balance\n\"@query\": ?\n\"@signature-params\": (\"@method\" \"@path\" \"@query\");created=1"
        );
    }

    #[test]
    fn the_query_is_kept_as_sent_and_an_empty_path_is_a_slash() {
        let base = signature_base(&parts("GET", "", Some("a=%20b&c")), PARAMS).unwrap();
        assert!(base.starts_with("\"@method\": GET\n\"@path\": /\n\"@query\": ?a=%20b&c\n"));
        let empty = signature_base(&parts("GET", "/", Some("")), PARAMS).unwrap();
        assert!(empty.contains("\"@query\": ?\n"));
    }

    #[test]
    fn header_values_are_trimmed_and_come_in_profile_order() {
        let request = RequestParts {
            content_digest: Some(" sha-256=:AA==: "),
            idempotency_key: Some("\tkey 1\t"),
            ..parts("POST", "/v1/x", None)
        };
        assert_eq!(
            required_components(&request),
            [
                "@method",
                "@path",
                "@query",
                "content-digest",
                "idempotency-key"
            ]
        );
        let base = signature_base(&request, PARAMS).unwrap();
        assert!(
            base.contains("\n\"content-digest\": sha-256=:AA==:\n\"idempotency-key\": key 1\n")
        );
    }

    #[test]
    fn the_method_keeps_its_case() {
        let base = signature_base(&parts("post", "/", None), PARAMS).unwrap();
        assert!(base.starts_with("\"@method\": post\n"));
    }

    #[test]
    fn parts_that_could_forge_a_line_are_refused() {
        let bad = [
            parts("", "/", None),
            parts("PO ST", "/", None),
            parts("POST\n", "/", None),
            parts("POST", "v1", None),
            parts("POST", "/v1\n\"@method\": GET", None),
            parts("POST", "/v1 x", None),
            parts("POST", "/é", None),
            parts("POST", "/", Some("a\nb")),
            parts("POST", "/", Some("a b")),
            RequestParts {
                idempotency_key: Some("a\r\nb"),
                ..parts("POST", "/", None)
            },
            RequestParts {
                content_digest: Some("x\u{7f}"),
                ..parts("POST", "/", None)
            },
            RequestParts {
                idempotency_key: Some("clé"),
                ..parts("POST", "/", None)
            },
        ];
        for request in &bad {
            assert!(
                matches!(
                    signature_base(request, PARAMS),
                    Err(HttpSignatureError::Malformed(_))
                ),
                "{request:?}"
            );
        }
    }
}
