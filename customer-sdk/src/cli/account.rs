//! Commands about the customer's account and devices, each over a fresh
//! device session.

use serde_json::json;
use uuid::Uuid;

use super::context::Context;
use super::{CliResult, Usage, output, secrets};

pub async fn balance(ctx: &Context) -> CliResult<()> {
    let s = ctx.sign_in_device().await?;
    output::json(&s.client.balance(&s.token).await?)?;
    Ok(())
}

pub async fn history(
    ctx: &Context,
    limit: Option<u32>,
    starting_after: Option<Uuid>,
) -> CliResult<()> {
    let s = ctx.sign_in_device().await?;
    let page = s.client.history(&s.token, limit, starting_after).await?;
    output::json(&page)?;
    Ok(())
}

pub async fn devices(ctx: &Context) -> CliResult<()> {
    let s = ctx.sign_in_device().await?;
    output::json(&s.client.devices(&s.token).await?)?;
    Ok(())
}

pub async fn rename_device(ctx: &Context, id: Uuid, name: &str) -> CliResult<()> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Usage("a device name cannot be blank".into()).into());
    }
    let s = ctx.sign_in_device().await?;
    s.client.rename_device(&s.token, id, name).await?;
    output::json(&json!({ "device_id": id, "name": name }))?;
    Ok(())
}

pub async fn revoke_device(ctx: &Context, id: Uuid) -> CliResult<()> {
    let s = ctx.sign_in_device().await?;
    s.client.revoke_device(&s.token, id).await?;
    let this_device = id == s.record.device_id;
    if this_device {
        eprintln!("This device is revoked; `login --replace-device` registers a new key for it.");
    }
    output::json(&json!({
        "device_id": id,
        "status": "revoked",
        "this_device": this_device,
    }))?;
    Ok(())
}

pub async fn change_password(ctx: &Context) -> CliResult<()> {
    // Read before any network call, so a missing line fails fast.
    let mut typed = secrets::passwords(&["current password", "new password"])?.into_iter();
    let (Some(current), Some(new)) = (typed.next(), typed.next()) else {
        return Err(Usage("expected the current and the new password".into()).into());
    };
    secrets::confirm_at_terminal(&new)?;
    let s = ctx.sign_in_device().await?;
    s.client
        .change_password(&s.token, current.expose(), new.expose())
        .await?;
    output::json(&json!({
        "password_changed": true,
        "other_devices_revoked": true,
    }))?;
    Ok(())
}
