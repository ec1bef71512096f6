//! The terminal home directory: everything one enrolled till keeps.
//!
//! ```text
//! $TILLCODE_CASHIER_HOME (default $HOME/.tillcode-cashier), mode 0700
//! ├── terminal.key    the Ed25519 key (see terminal_key), mode 0600
//! └── terminal.json   what the server assigned at enrollment, mode 0600
//! ```
//!
//! `terminal.json` holds no secret, but it says which terminal the key is,
//! so it gets the same owner-only rule: another user editing it could point
//! the till at their own API address.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tillcode_protocol::http_signature::KeyId;
use tillcode_protocol::{MerchantId, StoreId};
use tillcode_sdk_common::home::{HomeDir, RecordError};
use uuid::Uuid;

use crate::private_file::{Overwrite, PrivateFileError};
use crate::terminal_key::{TerminalKey, TerminalKeyError};

/// Environment variable naming the home directory.
pub const HOME_ENV: &str = "TILLCODE_CASHIER_HOME";
pub const KEY_FILE_NAME: &str = "terminal.key";
pub const TERMINAL_FILE_NAME: &str = "terminal.json";
/// A real `terminal.json` is about 300 bytes; anything far larger is not one.
const MAX_TERMINAL_FILE_LEN: u64 = 16 * 1024;

/// `terminal.json`: the server's names for this terminal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalRecord {
    /// The API the terminal enrolled with; used when no `--api` is given.
    pub api_url: String,
    pub terminal_id: Uuid,
    pub merchant_id: MerchantId,
    pub store_id: StoreId,
    /// The name the manager saw when approving it.
    pub name: String,
}

impl TerminalRecord {
    /// The RFC 9421 `keyid` of this terminal's request signatures.
    pub fn keyid(&self) -> String {
        keyid(self.terminal_id)
    }
}

/// `terminal:<uuid>`, as `docs/protocol.md` section 11 names a terminal key.
pub fn keyid(terminal_id: Uuid) -> String {
    KeyId::Terminal(terminal_id).to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error("no HOME to put the terminal home in; pass --home DIR or set {HOME_ENV}")]
    NoHomeDirectory,
    #[error(
        "{} holds no enrolled terminal: run `tillcode-cashier enroll` first",
        dir.display()
    )]
    NotEnrolled { dir: PathBuf },
    #[error("{} is not a terminal.json this version understands: {source}", path.display())]
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
    Key(#[from] TerminalKeyError),
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

/// A terminal home directory. Nothing is touched until a method is called.
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

    /// `$HOME/.tillcode-cashier`, for when neither `--home` nor
    /// [`HOME_ENV`] is given.
    pub fn default_location() -> Result<Self, HomeError> {
        HomeDir::in_user_home(".tillcode-cashier")
            .map(|dir| Self { dir })
            .ok_or(HomeError::NoHomeDirectory)
    }

    pub fn dir(&self) -> &Path {
        self.dir.dir()
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.file(KEY_FILE_NAME)
    }

    pub fn terminal_path(&self) -> PathBuf {
        self.dir.file(TERMINAL_FILE_NAME)
    }

    /// Creates the directory (and missing parents) with mode 0700.
    pub fn create(&self) -> Result<(), HomeError> {
        self.dir.create().map_err(|source| HomeError::CreateDir {
            path: self.dir().to_owned(),
            source,
        })
    }

    /// Whether something (even something broken) is at `terminal.key`.
    pub fn has_key(&self) -> bool {
        self.dir.has(KEY_FILE_NAME)
    }

    /// Whether something (even something broken) is at `terminal.json`.
    pub fn has_terminal(&self) -> bool {
        self.dir.has(TERMINAL_FILE_NAME)
    }

    pub fn load_key(&self) -> Result<TerminalKey, HomeError> {
        TerminalKey::load(&self.key_path()).map_err(HomeError::from)
    }

    pub fn save_key(&self, key: &TerminalKey, overwrite: Overwrite) -> Result<(), HomeError> {
        key.save(&self.key_path(), overwrite)
            .map_err(HomeError::from)
    }

    /// The enrolled terminal, or [`HomeError::NotEnrolled`] when there is
    /// no `terminal.json`.
    pub fn load_terminal(&self) -> Result<TerminalRecord, HomeError> {
        self.dir
            .load_record(TERMINAL_FILE_NAME, MAX_TERMINAL_FILE_LEN)?
            .ok_or_else(|| HomeError::NotEnrolled {
                dir: self.dir().to_owned(),
            })
    }

    /// Replaces `terminal.json` atomically.
    pub fn save_terminal(&self, record: &TerminalRecord) -> Result<(), HomeError> {
        Ok(self.dir.save_record(TERMINAL_FILE_NAME, record)?)
    }

    /// The key and the record together: what every signed request needs.
    pub fn load_enrolled(&self) -> Result<(TerminalRecord, TerminalKey), HomeError> {
        let record = self.load_terminal()?;
        let key = self.load_key()?;
        Ok((record, key))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use tillcode_sdk_common::test_dir::TestDir;

    use super::*;
    use crate::private_file;

    fn record() -> TerminalRecord {
        TerminalRecord {
            api_url: "http://127.0.0.1:8080/".into(),
            terminal_id: "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa".parse().unwrap(),
            merchant_id: "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00".parse().unwrap(),
            store_id: "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f10".parse().unwrap(),
            name: "Till 1".into(),
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_saved_terminal_record_loads_back_from_an_owner_only_file() {
        let dir = TestDir::new();
        let home = Home::new(dir.path("home/nested"));
        home.create().unwrap();
        assert_eq!(mode(home.dir()), 0o700);

        home.save_terminal(&record()).unwrap();
        assert_eq!(home.load_terminal().unwrap(), record());
        assert_eq!(mode(&home.terminal_path()), 0o600);
        // Saving again replaces it.
        let mut renamed = record();
        renamed.name = "Till 2".into();
        home.save_terminal(&renamed).unwrap();
        assert_eq!(home.load_terminal().unwrap(), renamed);
    }

    #[test]
    fn terminal_json_has_exactly_the_documented_fields() {
        let dir = TestDir::new();
        let home = Home::new(dir.root());
        home.save_terminal(&record()).unwrap();
        let text = fs::read_to_string(home.terminal_path()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "api_url": "http://127.0.0.1:8080/",
                "terminal_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa",
                "merchant_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00",
                "store_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f10",
                "name": "Till 1",
            })
        );
    }

    #[test]
    fn the_keyid_is_terminal_and_the_hyphenated_uuid() {
        assert_eq!(
            record().keyid(),
            "terminal:0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa"
        );
    }

    #[test]
    fn a_home_without_terminal_json_is_not_enrolled() {
        let dir = TestDir::new();
        let home = Home::new(dir.root());
        assert!(!home.has_terminal());
        let err = home.load_terminal().unwrap_err();
        assert!(matches!(err, HomeError::NotEnrolled { .. }), "{err}");
        assert!(err.to_string().contains("tillcode-cashier enroll"), "{err}");
    }

    #[test]
    fn a_terminal_json_others_can_read_is_refused() {
        let dir = TestDir::new();
        let home = Home::new(dir.root());
        home.save_terminal(&record()).unwrap();
        fs::set_permissions(home.terminal_path(), fs::Permissions::from_mode(0o644)).unwrap();
        let err = home.load_terminal().unwrap_err();
        assert!(
            matches!(
                err,
                HomeError::File(PrivateFileError::InsecurePermissions { .. })
            ),
            "{err}"
        );
    }

    #[test]
    fn a_terminal_json_with_unknown_fields_is_refused() {
        let dir = TestDir::new();
        let home = Home::new(dir.root());
        let mut json = serde_json::to_value(record()).unwrap();
        json["status"] = "active".into();
        private_file::write(
            &home.terminal_path(),
            json.to_string().as_bytes(),
            Overwrite::Refuse,
        )
        .unwrap();
        let err = home.load_terminal().unwrap_err();
        assert!(matches!(err, HomeError::Malformed { .. }), "{err}");
    }

    #[test]
    fn the_key_lives_beside_terminal_json_in_the_home() {
        let dir = TestDir::new();
        let home = Home::new(dir.root());
        assert!(!home.has_key());
        let key = TerminalKey::generate().unwrap();
        home.save_key(&key, Overwrite::Refuse).unwrap();
        assert!(home.has_key());
        home.save_terminal(&record()).unwrap();
        let (loaded_record, loaded_key) = home.load_enrolled().unwrap();
        assert_eq!(loaded_record, record());
        assert_eq!(loaded_key.verifying_key(), key.verifying_key());
        assert_eq!(dir.entries(), ["terminal.json", "terminal.key"]);
    }

    #[test]
    fn the_default_home_is_a_hidden_directory_in_home() {
        // Only the shape: HOME is the process's, and tests run in parallel.
        if let Ok(home) = Home::default_location() {
            assert!(home.dir().ends_with(".tillcode-cashier"));
        }
    }
}
