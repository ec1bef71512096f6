//! The customer home directory: everything one registered device keeps.
//!
//! ```text
//! $TILLCODE_CUSTOMER_HOME (default $HOME/.tillcode-customer), mode 0700
//! ├── device.key    the Ed25519 key (see device_key), mode 0600
//! └── device.json   what the server assigned at registration, mode 0600
//! ```
//!
//! `device.json` holds the numeric-code TOTP secret, a credential, so it is
//! written and read with the same owner-only rule as the key. Access tokens
//! are never stored: a device opens a fresh session by signing a challenge.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tillcode_protocol::{CustomerId, DeviceHandle, MerchantId, NumericHandle};
use tillcode_sdk_common::home::{HomeDir, RecordError};
use uuid::Uuid;

use crate::device_key::{DeviceKey, DeviceKeyError, Overwrite};
use crate::private_file::PrivateFileError;
use crate::wire::{self, TotpSecret};

/// Environment variable naming the home directory.
pub const HOME_ENV: &str = "TILLCODE_CUSTOMER_HOME";
pub const KEY_FILE_NAME: &str = "device.key";
pub const DEVICE_FILE_NAME: &str = "device.json";
/// A real `device.json` is about 400 bytes; anything far larger is not one.
const MAX_DEVICE_FILE_LEN: u64 = 16 * 1024;

/// `device.json`: the server's names for this device and its numeric-code
/// secret. `Debug` redacts the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRecord {
    /// The API the device registered with; used when no `--api` is given.
    pub api_url: String,
    pub merchant_id: MerchantId,
    /// `None` for a device that joined through a link: the join response
    /// does not name the customer.
    pub customer_id: Option<CustomerId>,
    pub device_id: Uuid,
    #[serde(with = "wire::device_handle")]
    pub device_handle: DeviceHandle,
    #[serde(with = "wire::numeric_handle")]
    pub numeric_handle: NumericHandle,
    pub totp_secret: TotpSecret,
}

#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error("no HOME to put the customer home in; pass --home DIR or set {HOME_ENV}")]
    NoHomeDirectory,
    #[error(
        "{} holds no registered device: run `tillcode-customer signup`, `login` or `link join` first",
        dir.display()
    )]
    NotRegistered { dir: PathBuf },
    #[error("{} is not a device.json this version understands: {source}", path.display())]
    Malformed {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Key(#[from] DeviceKeyError),
    #[error(transparent)]
    File(#[from] PrivateFileError),
}

impl From<RecordError> for HomeError {
    fn from(error: RecordError) -> Self {
        match error {
            RecordError::Malformed { path, source } => Self::Malformed { path, source },
            RecordError::File(e) => Self::File(e),
        }
    }
}

/// A customer home directory. Nothing is touched until a method is called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Home {
    dir: HomeDir,
}

impl Home {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: HomeDir::new(dir),
        }
    }

    /// `$HOME/.tillcode-customer`, for when neither `--home` nor
    /// [`HOME_ENV`] is given.
    pub fn default_location() -> Result<Self, HomeError> {
        HomeDir::in_user_home(".tillcode-customer")
            .map(|dir| Self { dir })
            .ok_or(HomeError::NoHomeDirectory)
    }

    pub fn dir(&self) -> &Path {
        self.dir.dir()
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.file(KEY_FILE_NAME)
    }

    pub fn device_path(&self) -> PathBuf {
        self.dir.file(DEVICE_FILE_NAME)
    }

    /// Creates the directory (and missing parents) with mode 0700.
    pub fn create(&self) -> Result<(), HomeError> {
        self.dir.create().map_err(|source| HomeError::CreateDir {
            path: self.dir().to_owned(),
            source,
        })
    }

    /// Whether something (even something broken) is at `device.key`.
    pub fn has_key(&self) -> bool {
        self.dir.has(KEY_FILE_NAME)
    }

    /// Whether something (even something broken) is at `device.json`.
    pub fn has_device(&self) -> bool {
        self.dir.has(DEVICE_FILE_NAME)
    }

    pub fn load_key(&self) -> Result<DeviceKey, HomeError> {
        DeviceKey::load(&self.key_path()).map_err(HomeError::from)
    }

    pub fn save_key(&self, key: &DeviceKey, overwrite: Overwrite) -> Result<(), HomeError> {
        key.save(&self.key_path(), overwrite)
            .map_err(HomeError::from)
    }

    /// The registered device, or [`HomeError::NotRegistered`] when there is
    /// no `device.json`.
    pub fn load_device(&self) -> Result<DeviceRecord, HomeError> {
        self.dir
            .load_record(DEVICE_FILE_NAME, MAX_DEVICE_FILE_LEN)?
            .ok_or_else(|| HomeError::NotRegistered {
                dir: self.dir().to_owned(),
            })
    }

    /// Replaces `device.json` atomically; the buffer that held the TOTP
    /// secret in hex is wiped.
    pub fn save_device(&self, record: &DeviceRecord) -> Result<(), HomeError> {
        Ok(self.dir.save_record(DEVICE_FILE_NAME, record)?)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use tillcode_sdk_common::test_dir::TestDir;

    use super::*;
    use crate::private_file;

    fn record() -> DeviceRecord {
        DeviceRecord {
            api_url: "http://127.0.0.1:8080".into(),
            merchant_id: "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00".parse().unwrap(),
            customer_id: Some("0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f01".parse().unwrap()),
            device_id: "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f02".parse().unwrap(),
            device_handle: "8d3e01a7c45b9f20".parse().unwrap(),
            numeric_handle: NumericHandle::new(123_456_789).unwrap(),
            totp_secret: TotpSecret::from_bytes([0xab; 32]),
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_saved_device_record_loads_back_from_an_owner_only_file() {
        let dir = TestDir::new();
        let home = Home::new(dir.path("home/nested"));
        home.create().unwrap();
        assert_eq!(mode(home.dir()), 0o700);

        home.save_device(&record()).unwrap();
        assert_eq!(home.load_device().unwrap(), record());
        assert_eq!(mode(&home.device_path()), 0o600);
    }

    #[test]
    fn device_json_has_the_documented_field_names_and_hex_forms() {
        let dir = TestDir::new();
        let home = Home::new(dir.root());
        home.save_device(&record()).unwrap();
        let text = fs::read_to_string(home.device_path()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "api_url": "http://127.0.0.1:8080",
                "merchant_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00",
                "customer_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f01",
                "device_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f02",
                "device_handle": "8d3e01a7c45b9f20",
                "numeric_handle": 123456789,
                "totp_secret": "ab".repeat(32),
            })
        );
    }

    #[test]
    fn a_home_without_device_json_is_not_registered() {
        let dir = TestDir::new();
        let home = Home::new(dir.root());
        assert!(!home.has_device());
        let err = home.load_device().unwrap_err();
        assert!(matches!(err, HomeError::NotRegistered { .. }), "{err}");
    }

    #[test]
    fn a_device_json_others_can_read_is_refused() {
        let dir = TestDir::new();
        let home = Home::new(dir.root());
        home.save_device(&record()).unwrap();
        fs::set_permissions(home.device_path(), fs::Permissions::from_mode(0o640)).unwrap();
        let err = home.load_device().unwrap_err();
        assert!(
            matches!(
                err,
                HomeError::File(PrivateFileError::InsecurePermissions { .. })
            ),
            "{err}"
        );
    }

    #[test]
    fn a_device_json_with_unknown_fields_is_refused() {
        let dir = TestDir::new();
        let home = Home::new(dir.root());
        let mut json = serde_json::to_value(record()).unwrap();
        json["access_token"] = "never stored".into();
        private_file::write(&home.device_path(), json.to_string().as_bytes()).unwrap();
        let err = home.load_device().unwrap_err();
        assert!(matches!(err, HomeError::Malformed { .. }), "{err}");
    }

    #[test]
    fn debug_output_of_a_device_record_redacts_the_totp_secret() {
        let shown = format!("{:?}", record());
        assert!(!shown.contains(&"ab".repeat(4)), "{shown}");
        assert!(!shown.contains("171, 171"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn the_key_lives_beside_device_json_in_the_home() {
        let dir = TestDir::new();
        let home = Home::new(dir.root());
        assert!(!home.has_key());
        let key = DeviceKey::generate().unwrap();
        home.save_key(&key, Overwrite::Refuse).unwrap();
        assert!(home.has_key());
        assert_eq!(
            home.load_key().unwrap().verifying_key(),
            key.verifying_key()
        );
        assert_eq!(dir.entries(), ["device.key"]);
    }
}
