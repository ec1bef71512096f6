//! `code` and the hidden `qr`: a payload printed as JSON and, on request,
//! rendered as a QR code.

use serde_json::json;
use tillcode_customer::{codes, qr};

use super::args::{CodeKind, RenderArgs};
use super::context::Context;
use super::{CliResult, output};

pub async fn code(ctx: &Context, kind: CodeKind, render: &RenderArgs) -> CliResult<()> {
    let (payload, summary) = match kind {
        CodeKind::Offline => {
            let record = ctx.home.load_device()?;
            let key = ctx.home.load_key()?;
            let now_ms = codes::unix_now_ms();
            let payload =
                codes::offline_code(&key, record.merchant_id, record.device_handle, now_ms)?;
            let summary = json!({ "kind": "offline", "issued_at_ms": now_ms });
            (payload, summary)
        }
        CodeKind::Numeric => {
            let record = ctx.home.load_device()?;
            let now_s = codes::unix_now_ms() / 1000;
            let (handle, secret) = (record.numeric_handle, record.totp_secret.expose());
            // The QR code carries the bare digits; people read them grouped.
            let payload = codes::numeric_code_payload(handle, secret, now_s);
            let shown = codes::numeric_code(handle, secret, now_s);
            let valid_for = codes::numeric_code_valid_for(now_s);
            let summary = json!({ "kind": "numeric", "shown": shown, "valid_for_s": valid_for });
            (payload, summary)
        }
        CodeKind::Online => {
            let s = ctx.sign_in_device().await?;
            let key = s.client.online_key(&s.token).await?;
            let summary = json!({ "kind": "online", "expires_in": key.expires_in });
            (key.payload, summary)
        }
    };
    show(&payload, summary, render)
}

pub fn qr(payload: &str, render: &RenderArgs) -> CliResult<()> {
    show(payload, json!({}), render)
}

/// Prints `summary` with the payload and its QR version, then the
/// renderings asked for.
fn show(payload: &str, mut summary: serde_json::Value, render: &RenderArgs) -> CliResult<()> {
    summary["payload"] = payload.into();
    summary["qr_version"] = qr::qr_version(payload)?.into();
    if let Some(path) = &render.png {
        output::file(path, &qr::render_png(payload)?)?;
    }
    if let Some(path) = &render.svg {
        output::file(path, qr::render_svg(payload)?.as_bytes())?;
    }
    output::json(&summary)?;
    if render.terminal {
        output::text(&qr::render_terminal(payload)?)?;
    }
    Ok(())
}
