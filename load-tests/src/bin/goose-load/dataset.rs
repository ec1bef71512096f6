//! The data set `seed` makes and `run` loads: ids in `dataset.json`, every
//! private key in its own key file beside it (`keys/<id>.key`), written and
//! read by the SDKs' own key-file code. Put the directory on a tmpfs
//! (`/dev/shm`): each key file is fsynced, and 10,000 fsyncs on a disk take
//! longer than the rest of the seeding.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tillcode_cashier::TerminalKey;
use tillcode_customer::DeviceKey;
use tillcode_protocol::{DeviceHandle, MerchantId};
use uuid::Uuid;

pub const FILE: &str = "dataset.json";

#[derive(Serialize, Deserialize)]
pub struct Dataset {
    /// The API the data set was made through, e.g. `http://127.0.0.1:8080`.
    pub api: String,
    pub merchant: MerchantId,
    pub terminals: Vec<TerminalEntry>,
    pub staff: StaffEntry,
    /// One phone each.
    pub customers: Vec<CustomerEntry>,
    /// One account paid from by many phones at once.
    pub hot: CustomerEntry,
}

#[derive(Serialize, Deserialize)]
pub struct TerminalEntry {
    pub id: Uuid,
    pub store: Uuid,
}

/// A manager of the merchant, for the dashboard. The password belongs to a
/// throw-away merchant in a throw-away database.
#[derive(Serialize, Deserialize)]
pub struct StaffEntry {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, Deserialize)]
pub struct CustomerEntry {
    pub customer: Uuid,
    pub account: Uuid,
    pub devices: Vec<DeviceEntry>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct DeviceEntry {
    pub device: Uuid,
    /// 16 hex digits, as the API returns it.
    pub handle: String,
}

impl DeviceEntry {
    pub fn handle(&self) -> anyhow::Result<DeviceHandle> {
        self.handle
            .parse()
            .map_err(|e| anyhow::anyhow!("device {}: handle {:?}: {e}", self.device, self.handle))
    }
}

pub fn key_path(dir: &Path, id: Uuid) -> PathBuf {
    dir.join("keys").join(format!("{id}.key"))
}

impl Dataset {
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(FILE);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))
    }

    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(FILE);
        std::fs::write(&path, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("write {}", path.display()))
    }

    pub fn terminal_key(dir: &Path, id: Uuid) -> anyhow::Result<TerminalKey> {
        TerminalKey::load(&key_path(dir, id)).with_context(|| format!("terminal {id}"))
    }

    pub fn device_key(dir: &Path, id: Uuid) -> anyhow::Result<DeviceKey> {
        DeviceKey::load(&key_path(dir, id)).with_context(|| format!("device {id}"))
    }
}
