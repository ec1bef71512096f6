//! `keygen` and `show-key`: the device key alone, with no server.

use std::path::PathBuf;

use serde_json::json;
use tillcode_customer::{DeviceKey, Overwrite};

use super::context::Context;
use super::{CliResult, output};

pub fn keygen(ctx: &Context, key_file: Option<PathBuf>, force: bool) -> CliResult<()> {
    let path = match key_file {
        Some(path) => path,
        None => {
            ctx.home.create()?;
            ctx.home.key_path()
        }
    };
    let key = DeviceKey::generate()?;
    let overwrite = if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    key.save(&path, overwrite)?;
    print(&key)
}

pub fn show_key(ctx: &Context, key_file: Option<PathBuf>) -> CliResult<()> {
    let path = key_file.unwrap_or_else(|| ctx.home.key_path());
    print(&DeviceKey::load(&path)?)
}

fn print(key: &DeviceKey) -> CliResult<()> {
    output::json(&json!({
        "public_key": key.public_key_base32(),
        "fingerprint": key.fingerprint(),
    }))?;
    Ok(())
}
