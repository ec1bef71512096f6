//! Bringing this device in: `signup`, `login` and `link join`. Each makes
//! (or reuses) the device key, gets it registered, and saves `device.json`.

use serde_json::json;
use tillcode_customer::client::{Client, RegisteredDevice, SignedIn};
use tillcode_customer::{DeviceKey, DeviceRecord, Overwrite};
use tillcode_protocol::{CustomerId, LinkCode, MerchantId};

use super::args::{AccountArgs, NewDeviceArgs};
use super::context::Context;
use super::{CliResult, Usage, output, secrets};

pub async fn signup(
    ctx: &Context,
    account: &AccountArgs,
    display_name: &str,
    device: &NewDeviceArgs,
) -> CliResult<()> {
    let name = device_name(&device.device_name)?;
    let key = prepare_key(ctx, device.replace_device)?;
    let password = secrets::password("password")?;
    let client = ctx.client(None)?;
    let signed_in = client
        .sign_up(
            account.merchant,
            &account.email,
            password.expose(),
            display_name,
        )
        .await?;
    register(ctx, &client, signed_in, account.merchant, key, &name).await
}

pub async fn login(ctx: &Context, account: &AccountArgs, device: &NewDeviceArgs) -> CliResult<()> {
    let name = device_name(&device.device_name)?;
    let key = prepare_key(ctx, device.replace_device)?;
    let password = secrets::password("password")?;
    let client = ctx.client(None)?;
    let signed_in = client
        .sign_in(account.merchant, &account.email, password.expose())
        .await?;
    register(ctx, &client, signed_in, account.merchant, key, &name).await
}

/// The second half of `signup` and `login`: register the key with the
/// sign-in token, then store everything.
async fn register(
    ctx: &Context,
    client: &Client,
    signed_in: SignedIn,
    merchant: MerchantId,
    key: PreparedKey,
    name: &str,
) -> CliResult<()> {
    let registered = client
        .register_device(&signed_in.sign_in_token, merchant, &key.key, name)
        .await?;
    let enrolled = Enrolled {
        api_url: client.base_url(),
        merchant,
        customer: Some(signed_in.customer_id),
        registered,
        status: "active",
    };
    finish(ctx, key, enrolled)
}

pub async fn join(
    ctx: &Context,
    payload: &str,
    merchant: MerchantId,
    device: &NewDeviceArgs,
) -> CliResult<()> {
    let link = LinkCode::parse(payload.trim())
        .map_err(|e| Usage(format!("{payload:?} is not a link code (TC1L…): {e}")))?;
    let name = device_name(&device.device_name)?;
    let key = prepare_key(ctx, device.replace_device)?;
    let client = ctx.client(None)?;
    let registered = client.join_link(&link, &key.key, &name).await?;
    eprintln!(
        "Waiting for approval: the approving device should show fingerprint {}",
        key.key.fingerprint()
    );
    let enrolled = Enrolled {
        api_url: client.base_url(),
        merchant,
        // The join answer does not say which customer this is.
        customer: None,
        registered,
        status: "pending",
    };
    finish(ctx, key, enrolled)
}

/// The key to register and how to store it once registered.
struct PreparedKey {
    key: DeviceKey,
    save: Option<Overwrite>,
}

/// The existing key when the home has one but no registered device (a
/// `keygen`, or a registration that failed after the key was made), else a
/// new one. A home that already holds a device is left alone unless asked.
fn prepare_key(ctx: &Context, replace: bool) -> CliResult<PreparedKey> {
    let home = &ctx.home;
    if home.has_device() && !replace {
        return Err(Usage(format!(
            "{} already holds a registered device; pass --replace-device to register a new \
             key in its place (revoke the old device first: its key will be gone)",
            home.dir().display()
        ))
        .into());
    }
    home.create()?;
    if !replace && home.has_key() {
        return Ok(PreparedKey {
            key: home.load_key()?,
            save: None,
        });
    }
    let save = if home.has_key() {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    Ok(PreparedKey {
        key: DeviceKey::generate()?,
        save: Some(save),
    })
}

/// What the server said about a newly registered device.
struct Enrolled<'a> {
    api_url: &'a str,
    merchant: MerchantId,
    customer: Option<CustomerId>,
    registered: RegisteredDevice,
    status: &'static str,
}

/// Stores the key (if new) and what the server assigned, then prints the
/// device. The key is saved only after the server accepted it, so a failed
/// registration never replaces a working key.
fn finish(ctx: &Context, key: PreparedKey, enrolled: Enrolled<'_>) -> CliResult<()> {
    if let Some(overwrite) = key.save {
        ctx.home.save_key(&key.key, overwrite)?;
    }
    let fingerprint = key.key.fingerprint();
    let registered = enrolled.registered;
    if registered.fingerprint != fingerprint {
        eprintln!(
            "warning: the server reports fingerprint {} for this device's key {fingerprint}",
            registered.fingerprint
        );
    }
    let record = DeviceRecord {
        api_url: enrolled.api_url.to_owned(),
        merchant_id: enrolled.merchant,
        customer_id: enrolled.customer,
        device_id: registered.device_id,
        device_handle: registered.device_handle,
        numeric_handle: registered.numeric_handle,
        totp_secret: registered.totp_secret,
    };
    ctx.home.save_device(&record)?;
    output::json(&json!({
        "merchant_id": record.merchant_id,
        "customer_id": record.customer_id,
        "device_id": record.device_id,
        "status": enrolled.status,
        "fingerprint": fingerprint,
        "home": ctx.home.dir(),
    }))?;
    Ok(())
}

/// The name as signed and sent: trimmed, since the server stores (and so
/// would verify against) the trimmed name.
fn device_name(raw: &str) -> Result<String, Usage> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Usage("a device name cannot be blank".into()));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_name_is_trimmed_and_may_not_be_blank() {
        assert_eq!(device_name("  Ana's phone \t").unwrap(), "Ana's phone");
        assert!(device_name(" \n ").is_err());
    }
}
