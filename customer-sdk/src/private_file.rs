//! Small files only their owner may read (mode 0600), written atomically:
//! the customer home's `device.json` holds the TOTP secret, a credential.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};

#[derive(Debug, thiserror::Error)]
pub enum PrivateFileError {
    #[error("{} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error(
        "{} can be accessed by group or others (mode {mode:04o}); it holds a credential: \
         run `chmod 600` on it, or revoke the device if others may have copied it",
        path.display()
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("{} is larger than {max} bytes", path.display())]
    TooLarge { path: PathBuf, max: u64 },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl PrivateFileError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// Reads a regular file of at most `max` bytes that neither group nor
/// others can access.
pub fn read(path: &Path, max: u64) -> Result<Vec<u8>, PrivateFileError> {
    // Checked before opening too: opening a FIFO blocks.
    let before = fs::metadata(path).map_err(PrivateFileError::io("open", path))?;
    if !before.is_file() {
        return Err(PrivateFileError::NotAFile {
            path: path.to_owned(),
        });
    }
    let file = File::open(path).map_err(PrivateFileError::io("open", path))?;
    let meta = file
        .metadata()
        .map_err(PrivateFileError::io("inspect", path))?;
    let mode = meta.permissions().mode() & 0o7777;
    if !meta.is_file() {
        return Err(PrivateFileError::NotAFile {
            path: path.to_owned(),
        });
    }
    if mode & 0o077 != 0 {
        return Err(PrivateFileError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    let mut contents = Vec::new();
    // One byte past the limit tells a file that grew after fstat.
    file.take(max + 1)
        .read_to_end(&mut contents)
        .map_err(PrivateFileError::io("read", path))?;
    if contents.len() as u64 > max {
        return Err(PrivateFileError::TooLarge {
            path: path.to_owned(),
            max,
        });
    }
    Ok(contents)
}

/// Replaces `path` with `contents`, mode 0600. The bytes go to a temporary
/// file beside it, are flushed, and only then renamed over `path`, so a
/// crash leaves the old file or the new one, never half of one.
pub fn write(path: &Path, contents: &[u8]) -> Result<(), PrivateFileError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name() else {
        return Err(PrivateFileError::NotAFile {
            path: path.to_owned(),
        });
    };
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{:016x}.tmp", OsRng.next_u64()));
    let temp = dir.join(temp_name);

    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(contents)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temp, path));
    if let Err(source) = written {
        // Best effort: the write error is the one to report.
        let _ = fs::remove_file(&temp);
        return Err(PrivateFileError::io("write", path)(source));
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(PrivateFileError::io("flush the directory of", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    #[test]
    fn a_written_file_reads_back_and_is_readable_only_by_its_owner() {
        let dir = TestDir::new();
        let path = dir.path("secret.json");
        write(&path, b"first").unwrap();
        write(&path, b"second").unwrap();
        assert_eq!(read(&path, 100).unwrap(), b"second");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(dir.entries(), ["secret.json"]);
    }

    #[test]
    fn a_file_others_can_read_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("secret.json");
        write(&path, b"{}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = read(&path, 100).unwrap_err();
        assert!(
            matches!(
                err,
                PrivateFileError::InsecurePermissions { mode: 0o644, .. }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("big.json");
        write(&path, &[b' '; 101]).unwrap();
        assert!(matches!(
            read(&path, 100),
            Err(PrivateFileError::TooLarge { max: 100, .. })
        ));
    }

    #[test]
    fn a_missing_file_says_so() {
        let dir = TestDir::new();
        let err = read(&dir.path("absent.json"), 100).unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert!(err.to_string().contains("absent.json"), "{err}");
    }
}
