//! Small files only their owner may read (mode 0600), written atomically:
//! key files are an identity, and the records beside them (`device.json`,
//! `terminal.json`) say which identity it is, or hold a secret.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};

/// Whether [`write()`] may replace an existing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    /// Fail with [`PrivateFileError::AlreadyExists`]: replacing a key loses
    /// it, and the device or terminal registered with it stops working.
    Refuse,
    /// Atomically replace whatever is at the path.
    Replace,
}

#[derive(Debug, thiserror::Error)]
pub enum PrivateFileError {
    #[error("{} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("{} already exists; refusing to overwrite it", path.display())]
    AlreadyExists { path: PathBuf },
    #[error(
        "{} can be accessed by group or others (mode {mode:04o}); it holds a credential: \
         run `chmod 600` on it, or have that credential revoked if others may have copied it",
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
/// others can access. The buffer is allocated once at `max + 1` bytes, so a
/// caller that wipes it after use wipes the only copy.
pub fn read(path: &Path, max: u64) -> Result<Vec<u8>, PrivateFileError> {
    // Checked before opening too: opening a FIFO blocks.
    let before = fs::metadata(path).map_err(PrivateFileError::io("open", path))?;
    if !before.is_file() {
        return Err(PrivateFileError::NotAFile {
            path: path.to_owned(),
        });
    }
    let file = File::open(path).map_err(PrivateFileError::io("open", path))?;
    // Metadata of the open file, not of the path, so that what is checked is
    // what is read.
    let meta = file
        .metadata()
        .map_err(PrivateFileError::io("inspect", path))?;
    if !meta.is_file() {
        return Err(PrivateFileError::NotAFile {
            path: path.to_owned(),
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(PrivateFileError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    if meta.len() > max {
        return Err(PrivateFileError::TooLarge {
            path: path.to_owned(),
            max,
        });
    }
    let capacity = usize::try_from(max.saturating_add(1)).unwrap_or(usize::MAX);
    let mut contents = Vec::with_capacity(capacity);
    // One byte past the limit tells a file that grew after fstat.
    file.take(max.saturating_add(1))
        .read_to_end(&mut contents)
        .map_err(PrivateFileError::io("read", path))?;
    if contents.len() as u64 > max {
        wipe(&mut contents);
        return Err(PrivateFileError::TooLarge {
            path: path.to_owned(),
            max,
        });
    }
    Ok(contents)
}

/// Puts `contents` at `path` with mode 0600. The bytes go to a temporary
/// file beside it and are flushed before they appear under `path`, so a
/// crash leaves the old file or the new one, never half of one.
pub fn write(path: &Path, contents: &[u8], overwrite: Overwrite) -> Result<(), PrivateFileError> {
    let dir = parent_dir(path);
    let Some(name) = path.file_name() else {
        return Err(PrivateFileError::NotAFile {
            path: path.to_owned(),
        });
    };
    // try_fill_bytes rather than next_u64, which panics when the operating
    // system gives no randomness: a library reports it.
    let mut salt = [0u8; 8];
    OsRng.try_fill_bytes(&mut salt).map_err(|e| {
        PrivateFileError::io("name a temporary file for", path)(io::Error::other(e.to_string()))
    })?;
    let mut temp_name = OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{:016x}.tmp", u64::from_le_bytes(salt)));
    let temp = dir.join(temp_name);

    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(contents)?;
            file.sync_all()
        });
    let placed = written
        .map_err(PrivateFileError::io("write", path))
        .and_then(|()| {
            match overwrite {
                Overwrite::Replace => {
                    fs::rename(&temp, path).map_err(PrivateFileError::io("replace", path))
                }
                // A hard link is the one std call that creates a name atomically
                // and fails if it exists; checking first and renaming would race
                // with another writer.
                Overwrite::Refuse => fs::hard_link(&temp, path).map_err(|e| {
                    if e.kind() == io::ErrorKind::AlreadyExists {
                        PrivateFileError::AlreadyExists {
                            path: path.to_owned(),
                        }
                    } else {
                        PrivateFileError::io("create", path)(e)
                    }
                }),
            }
        });
    // After a rename the temporary name is gone; after a hard link or a
    // failure it is still there. Best effort: the error above matters more.
    let _ = fs::remove_file(&temp);
    placed?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(PrivateFileError::io("flush the directory of", path))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Best-effort erasure of secret bytes. `black_box` keeps the compiler from
/// dropping the writes as dead stores; it is not the guarantee the `zeroize`
/// crate's volatile writes give.
pub fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_written_file_reads_back_and_is_readable_only_by_its_owner() {
        let dir = TestDir::new();
        let path = dir.path("secret.json");
        write(&path, b"first", Overwrite::Refuse).unwrap();
        write(&path, b"second", Overwrite::Replace).unwrap();
        assert_eq!(read(&path, 100).unwrap(), b"second");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(dir.entries(), ["secret.json"]);
    }

    #[test]
    fn writing_over_an_existing_file_is_refused_unless_asked_and_leaves_it_untouched() {
        let dir = TestDir::new();
        let path = dir.path("terminal.key");
        write(&path, b"first", Overwrite::Refuse).unwrap();
        let err = write(&path, b"second", Overwrite::Refuse).unwrap_err();
        assert!(
            matches!(err, PrivateFileError::AlreadyExists { .. }),
            "{err}"
        );
        assert_eq!(read(&path, 100).unwrap(), b"first");
        assert_eq!(dir.entries(), ["terminal.key"]);
    }

    #[test]
    fn a_bare_file_name_is_written_beside_it_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("terminal.key")), Path::new("."));
        assert_eq!(parent_dir(Path::new("/a/terminal.key")), Path::new("/a"));
    }

    #[test]
    fn writing_into_a_missing_directory_fails_and_names_the_path() {
        let dir = TestDir::new();
        let err = write(&dir.path("missing/x.json"), b"{}", Overwrite::Refuse).unwrap_err();
        assert!(matches!(err, PrivateFileError::Io { .. }), "{err}");
        assert!(err.to_string().contains("missing/x.json"), "{err}");
    }

    #[test]
    fn a_file_others_can_read_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("secret.json");
        write(&path, b"{}", Overwrite::Refuse).unwrap();
        for bad in [0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601] {
            fs::set_permissions(&path, fs::Permissions::from_mode(bad)).unwrap();
            let err = read(&path, 100).unwrap_err();
            assert!(
                matches!(err, PrivateFileError::InsecurePermissions { mode, .. } if mode == bad),
                "{bad:o}: {err}"
            );
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(read(&path, 100).unwrap(), b"{}");
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("big.json");
        write(&path, &[b' '; 101], Overwrite::Refuse).unwrap();
        assert!(matches!(
            read(&path, 100),
            Err(PrivateFileError::TooLarge { max: 100, .. })
        ));
    }

    #[test]
    fn a_directory_or_a_fifo_is_not_a_file_and_is_never_opened() {
        let dir = TestDir::new();
        let err = read(dir.root(), 100).unwrap_err();
        assert!(matches!(err, PrivateFileError::NotAFile { .. }), "{err}");

        let fifo = dir.path("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        fs::set_permissions(&fifo, fs::Permissions::from_mode(0o600)).unwrap();
        // Would block forever if the FIFO were opened.
        let err = read(&fifo, 100).unwrap_err();
        assert!(matches!(err, PrivateFileError::NotAFile { .. }), "{err}");
    }

    #[test]
    fn a_missing_file_says_so_and_names_it() {
        let dir = TestDir::new();
        let err = read(&dir.path("absent.json"), 100).unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert!(err.to_string().contains("absent.json"), "{err}");
    }
}
