//! Commands for scripts and tests rather than cashiers.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use serde::Serialize;
use tillcode_cashier::{IdempotencyKey, RequestSigner, SignedHeaders, Target, content_digest};

use super::context::Context;
use super::{CliResult, Usage, output};

/// The headers to send, by HTTP name; `Content-Type` too when there is a
/// body, since the API takes JSON only.
#[derive(Serialize)]
struct HeadersToSend<'a> {
    #[serde(rename = "Content-Type", skip_serializing_if = "Option::is_none")]
    content_type: Option<&'static str>,
    #[serde(flatten)]
    signed: &'a SignedHeaders,
}

/// `sign-request`: the headers this terminal would send, signed now. The
/// path is signed as given: with a prefixed API, give the full path.
pub fn sign_request(
    ctx: &Context,
    method: &str,
    path_and_query: &str,
    body: Option<&str>,
    idempotency_key: Option<&IdempotencyKey>,
) -> CliResult<()> {
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    if !path.starts_with('/') {
        return Err(Usage(format!("--path {path:?} must start with /")).into());
    }
    let (record, key) = ctx.home.load_enrolled()?;
    let target = Target {
        method,
        path,
        query,
        body: body.map(str::as_bytes),
    };
    let signed = RequestSigner::new(&key, record.terminal_id).sign(&target, idempotency_key)?;
    output::json(&HeadersToSend {
        content_type: body.map(|_| "application/json"),
        signed: &signed,
    })?;
    Ok(())
}

/// `digest`: the `Content-Digest` of a file or of standard input.
pub fn digest(file: &Path) -> CliResult<()> {
    let body = if file.as_os_str() == "-" {
        let mut body = Vec::new();
        io::stdin().lock().read_to_end(&mut body)?;
        body
    } else {
        fs::read(file).map_err(|e| Usage(format!("cannot read {}: {e}", file.display())))?
    };
    output::text(&content_digest(&body))?;
    Ok(())
}
