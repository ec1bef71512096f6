//! `enroll`: make (or reuse) the terminal key, have it enrolled with the
//! manager's code, and save `terminal.json`.

use serde_json::json;
use tillcode_cashier::{Overwrite, TerminalKey, TerminalRecord};
use tillcode_protocol::{EnrollmentCode, StoreId};

use super::context::Context;
use super::{CliResult, Usage, output};

pub async fn enroll(
    ctx: &Context,
    store: StoreId,
    code: &str,
    name: &str,
    replace: bool,
) -> CliResult<()> {
    let code = EnrollmentCode::parse(code).map_err(|e| {
        // The code itself is not echoed: until used it lets a till join.
        Usage(format!(
            "the enrollment code is not 8 letters of BCDFGHJKLMNPQRSTVWXZ (XXXX-XXXX): {e}"
        ))
    })?;
    let name = terminal_name(name)?;
    let key = prepare_key(ctx, replace)?;
    let client = ctx.client(None)?;
    let enrolled = client.enroll(&key.key, store, &code, &name).await?;

    // The key is saved only once the server took it, so a failed enrollment
    // never replaces a working key.
    if let Some(overwrite) = key.save {
        ctx.home.save_key(&key.key, overwrite)?;
    }
    let fingerprint = key.key.fingerprint();
    if enrolled.fingerprint != fingerprint {
        eprintln!(
            "warning: the server reports fingerprint {} for this terminal's key {fingerprint}",
            enrolled.fingerprint
        );
    }
    let record = TerminalRecord {
        api_url: client.base_url().to_owned(),
        terminal_id: enrolled.terminal_id,
        merchant_id: enrolled.merchant_id,
        store_id: enrolled.store_id,
        name: enrolled.name.clone(),
    };
    ctx.home.save_terminal(&record)?;
    if enrolled.status == "pending" {
        eprintln!(
            "Enrolled; waiting for a manager's approval. They should see the name {:?} and \
             the fingerprint {fingerprint}.",
            record.name
        );
    }
    output::json(&json!({
        "terminal_id": record.terminal_id,
        "merchant_id": record.merchant_id,
        "store_id": record.store_id,
        "name": record.name,
        "status": enrolled.status,
        "fingerprint": fingerprint,
        "api_url": record.api_url,
        "home": ctx.home.dir(),
    }))?;
    Ok(())
}

/// The key to enroll and how to store it once enrolled.
struct PreparedKey {
    key: TerminalKey,
    save: Option<Overwrite>,
}

/// The existing key when the home has one but no enrolled terminal (a
/// previous enrollment that failed after the key was saved), else a new
/// one. A home that already holds a terminal is left alone unless asked.
fn prepare_key(ctx: &Context, replace: bool) -> CliResult<PreparedKey> {
    let home = &ctx.home;
    if home.has_terminal() && !replace {
        return Err(Usage(format!(
            "{} already holds an enrolled terminal; pass --replace to enroll a new key in its \
             place (have the old terminal revoked: its key will be gone)",
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
        key: TerminalKey::generate()?,
        save: Some(save),
    })
}

/// The name as signed and sent: trimmed, so that what the manager reads has
/// no invisible edges, and never blank.
fn terminal_name(raw: &str) -> Result<String, Usage> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Usage("a terminal name cannot be blank".into()));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_name_is_trimmed_and_may_not_be_blank() {
        assert_eq!(terminal_name("  Till 1 \t").unwrap(), "Till 1");
        assert!(terminal_name(" \n ").is_err());
    }
}
