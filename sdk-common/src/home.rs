//! The basics of an SDK's home directory: where it is by default, created
//! with mode 0700, and the JSON record it keeps beside the key in an
//! owner-only file. What the files are called and what the record holds is
//! each SDK's (`device.json` for a customer device, `terminal.json` for a
//! till).

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::private_file::{self, Overwrite, PrivateFileError, wipe};

/// A home directory. Nothing is touched until a method is called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HomeDir {
    dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file is there and private, but not the record this version reads.
    #[error("{} is not a {} this version understands: {source}", path.display(), file_name(path))]
    Malformed {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    File(#[from] PrivateFileError),
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
}

impl HomeDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `$HOME/<name>`, or `None` when there is no (or an empty) `HOME`.
    pub fn in_user_home(name: &str) -> Option<Self> {
        match std::env::var_os("HOME") {
            Some(home) if !home.is_empty() => Some(Self::new(Path::new(&home).join(name))),
            _ => None,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of `name` in the home.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether something (even something broken) is at `name`.
    pub fn has(&self, name: &str) -> bool {
        fs::symlink_metadata(self.file(name)).is_ok()
    }

    /// Creates the directory (and missing parents) with mode 0700.
    pub fn create(&self) -> io::Result<()> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
    }

    /// The record in `name`, or `None` when there is no such file. The file
    /// must be private and at most `max` bytes; a record with a field this
    /// version does not know is refused when `T` denies unknown fields.
    pub fn load_record<T: DeserializeOwned>(
        &self,
        name: &str,
        max: u64,
    ) -> Result<Option<T>, RecordError> {
        let path = self.file(name);
        let mut bytes = match private_file::read(&path, max) {
            Ok(bytes) => bytes,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let parsed = serde_json::from_slice(&bytes);
        // The record may hold a secret (a customer's TOTP secret in hex).
        wipe(&mut bytes);
        parsed
            .map(Some)
            .map_err(|source| RecordError::Malformed { path, source })
    }

    /// Replaces `name` atomically with `record` as pretty JSON and a final
    /// newline, mode 0600.
    pub fn save_record<T: Serialize>(&self, name: &str, record: &T) -> Result<(), RecordError> {
        let path = self.file(name);
        let mut text =
            serde_json::to_vec_pretty(record).map_err(|source| RecordError::Malformed {
                path: path.clone(),
                source,
            })?;
        text.push(b'\n');
        let written = private_file::write(&path, &text, Overwrite::Replace);
        // The buffer may have held a secret.
        wipe(&mut text);
        Ok(written?)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use serde::Deserialize;

    use super::*;
    use crate::test_dir::TestDir;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Record {
        api_url: String,
        name: String,
    }

    fn record() -> Record {
        Record {
            api_url: "http://127.0.0.1:8080".into(),
            name: "Till 1".into(),
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_home_is_created_with_its_parents_and_mode_0700() {
        let dir = TestDir::new();
        let home = HomeDir::new(dir.path("home/nested"));
        home.create().unwrap();
        assert_eq!(mode(home.dir()), 0o700);
        // Creating it again is fine.
        home.create().unwrap();
        assert_eq!(home.file("x.json"), dir.path("home/nested/x.json"));
    }

    #[test]
    fn a_saved_record_loads_back_from_an_owner_only_file_and_is_replaced_on_save() {
        let dir = TestDir::new();
        let home = HomeDir::new(dir.root());
        assert!(!home.has("record.json"));
        assert_eq!(
            home.load_record::<Record>("record.json", 1024).unwrap(),
            None
        );

        home.save_record("record.json", &record()).unwrap();
        assert!(home.has("record.json"));
        assert_eq!(mode(&home.file("record.json")), 0o600);
        assert_eq!(
            home.load_record::<Record>("record.json", 1024).unwrap(),
            Some(record())
        );
        let text = fs::read_to_string(home.file("record.json")).unwrap();
        assert!(text.ends_with("}\n"), "{text}");

        let renamed = Record {
            name: "Till 2".into(),
            ..record()
        };
        home.save_record("record.json", &renamed).unwrap();
        assert_eq!(
            home.load_record::<Record>("record.json", 1024).unwrap(),
            Some(renamed)
        );
        assert_eq!(dir.entries(), ["record.json"]);
    }

    #[test]
    fn a_record_others_can_read_or_this_version_does_not_know_is_refused() {
        let dir = TestDir::new();
        let home = HomeDir::new(dir.root());
        home.save_record("record.json", &record()).unwrap();
        fs::set_permissions(home.file("record.json"), fs::Permissions::from_mode(0o644)).unwrap();
        let err = home.load_record::<Record>("record.json", 1024).unwrap_err();
        assert!(
            matches!(
                err,
                RecordError::File(PrivateFileError::InsecurePermissions { .. })
            ),
            "{err}"
        );

        let mut json = serde_json::to_value(record()).unwrap();
        json["status"] = "active".into();
        private_file::write(
            &home.file("record.json"),
            json.to_string().as_bytes(),
            Overwrite::Replace,
        )
        .unwrap();
        let err = home.load_record::<Record>("record.json", 1024).unwrap_err();
        assert!(matches!(err, RecordError::Malformed { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("is not a record.json this version understands"),
            "{err}"
        );
    }

    #[test]
    fn a_broken_symlink_still_counts_as_something_there() {
        let dir = TestDir::new();
        let home = HomeDir::new(dir.root());
        std::os::unix::fs::symlink(dir.path("nowhere"), home.file("the.key")).unwrap();
        assert!(home.has("the.key"));
        assert!(!home.has("other.key"));
    }

    #[test]
    fn the_default_home_is_the_named_directory_in_home() {
        // Only the shape: HOME is the process's, and tests run in parallel.
        if let Some(home) = HomeDir::in_user_home(".tillcode-test") {
            assert!(home.dir().ends_with(".tillcode-test"));
        }
    }
}
