//! The Ed25519 key file of a customer device and of a cashier terminal: one
//! format, told apart by its first line, so that a device key copied onto a
//! till (or the reverse) is refused rather than used.
//!
//! # Key file format, version 1
//!
//! Two lines of ASCII, each ending in `\n`: the format's header line, then
//! the 32-byte Ed25519 seed (RFC 8032 private key) as `B32` from
//! `PROTOCOL.md` (RFC 4648 base32, uppercase, no padding, trailing bits
//! zero: 52 characters). For the two formats in use:
//!
//! ```text
//! tillcode-device-key v1
//! AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ
//! ```
//!
//! ```text
//! tillcode-terminal-key v1
//! EAQSEIZEEUTCOKBJFIVSYLJOF4YDCMRTGQ2TMNZYHE5DWPB5HY7Q
//! ```
//!
//! so exactly 76 and 78 bytes. Nothing else is accepted: no comments, no
//! `\r`, no missing final newline. A text format lets someone tell the file
//! apart from any other with `head -1`; the fixed size lets a corrupted or
//! foreign file be refused before anything is parsed.
//!
//! The file is created with mode 0600 (see [`private_file`]) and
//! [`KeyFormat::load`] refuses it when the group or others have any access
//! to it (as OpenSSH does for its keys): a key that others could have
//! copied must be revoked, not used.

use std::fmt;
use std::path::{Path, PathBuf};

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{SECRET_KEY_LENGTH, SigningKey};
use rand_core::{OsRng, RngCore};

use crate::private_file::{self, Overwrite, PrivateFileError, wipe};

/// 32 bytes in base32 without padding.
const SEED_CHARS: usize = 52;

/// A customer device's key file (`device.key`).
pub const DEVICE_KEY: KeyFormat = KeyFormat::new("tillcode-device-key v1", "device key");
/// A cashier terminal's key file (`terminal.key`).
pub const TERMINAL_KEY: KeyFormat = KeyFormat::new("tillcode-terminal-key v1", "terminal key");

/// One key file format: the layout above with its own first line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyFormat {
    /// The first line, without its newline.
    header: &'static str,
    /// What the key is, for messages ("device key").
    noun: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    // Not #[source]: rand_core's error implements std::error::Error only
    // with its `std` feature.
    #[error("the operating system's random number generator failed: {0}")]
    Randomness(rand_core::Error),
    #[error(
        "{} is {found} bytes long; a {} file is exactly {}",
        path.display(),
        expected.noun(),
        expected.file_len()
    )]
    WrongLength {
        path: PathBuf,
        found: u64,
        expected: KeyFormat,
    },
    #[error("{} is not a {} file", path.display(), expected.header())]
    UnrecognizedFormat { path: PathBuf, expected: KeyFormat },
    #[error("{} holds a malformed key seed", path.display())]
    MalformedSeed { path: PathBuf },
    #[error(transparent)]
    File(#[from] PrivateFileError),
}

/// A fresh key from the operating system's CSPRNG.
pub fn generate() -> Result<SigningKey, KeyFileError> {
    // try_fill_bytes rather than SigningKey::generate: the latter panics if
    // the OS cannot give randomness, and a library should report it.
    let mut seed = [0u8; SECRET_KEY_LENGTH];
    OsRng
        .try_fill_bytes(&mut seed)
        .map_err(KeyFileError::Randomness)?;
    let key = SigningKey::from_bytes(&seed);
    wipe(&mut seed);
    Ok(key)
}

impl KeyFormat {
    /// `header` is the first line without its newline; it must not contain
    /// one. `noun` names the key in messages.
    pub const fn new(header: &'static str, noun: &'static str) -> Self {
        Self { header, noun }
    }

    pub const fn header(&self) -> &'static str {
        self.header
    }

    pub const fn noun(&self) -> &'static str {
        self.noun
    }

    /// The one size a key file of this format has: header line, seed line.
    pub const fn file_len(&self) -> usize {
        self.header.len() + 1 + SEED_CHARS + 1
    }

    /// Writes `key` to `path` with mode 0600, atomically.
    pub fn save(
        &self,
        key: &SigningKey,
        path: &Path,
        overwrite: Overwrite,
    ) -> Result<(), KeyFileError> {
        // Sized exactly, so that nothing reallocates and leaves a copy of
        // the seed behind.
        let mut text = vec![0u8; self.file_len()];
        let (header, rest) = text.split_at_mut(self.header.len());
        header.copy_from_slice(self.header.as_bytes());
        rest[0] = b'\n';
        BASE32_NOPAD.encode_mut(key.as_bytes(), &mut rest[1..=SEED_CHARS]);
        rest[SEED_CHARS + 1] = b'\n';
        let written = private_file::write(path, &text, overwrite);
        wipe(&mut text);
        Ok(written?)
    }

    /// Reads a key saved by [`KeyFormat::save`], refusing anything that is
    /// not exactly such a file of this format or that others can access.
    pub fn load(&self, path: &Path) -> Result<SigningKey, KeyFileError> {
        let mut text = private_file::read(path, self.file_len() as u64).map_err(|e| match e {
            PrivateFileError::TooLarge { path, .. } => KeyFileError::WrongLength {
                found: std::fs::metadata(&path).map_or(0, |m| m.len()),
                path,
                expected: *self,
            },
            other => other.into(),
        })?;
        let parsed = self.parse(&text, path);
        wipe(&mut text);
        parsed
    }

    fn parse(&self, text: &[u8], path: &Path) -> Result<SigningKey, KeyFileError> {
        if text.len() != self.file_len() {
            return Err(KeyFileError::WrongLength {
                path: path.to_owned(),
                found: text.len() as u64,
                expected: *self,
            });
        }
        let rest = text
            .strip_prefix(self.header.as_bytes())
            .and_then(|rest| rest.strip_prefix(b"\n"));
        let Some(rest) = rest else {
            return Err(KeyFileError::UnrecognizedFormat {
                path: path.to_owned(),
                expected: *self,
            });
        };
        let malformed = || KeyFileError::MalformedSeed {
            path: path.to_owned(),
        };
        let (encoded, newline) = rest.split_at(SEED_CHARS);
        if newline != b"\n" {
            return Err(malformed());
        }
        let mut seed = [0u8; SECRET_KEY_LENGTH];
        // decode_mut into a stack array: `decode` would leave a copy of the
        // seed in freed heap memory. data-encoding refuses lowercase, padding
        // and non-zero trailing bits, so one seed has one text form.
        let decoded = match BASE32_NOPAD.decode_len(encoded.len()) {
            Ok(SECRET_KEY_LENGTH) => BASE32_NOPAD.decode_mut(encoded, &mut seed).is_ok(),
            _ => false,
        };
        let key = decoded.then(|| SigningKey::from_bytes(&seed));
        wipe(&mut seed);
        key.ok_or_else(malformed)
    }
}

impl fmt::Debug for KeyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeyFormat").field(&self.header).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io;
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::test_dir::TestDir;

    /// Each format with the seed of its test vectors: 00 01 .. 1f for the
    /// device (`protocol-vectors.json`), 20 21 .. 3f for the terminal
    /// (`shared-v1.json`), in base32.
    const FORMATS: [(KeyFormat, u8, &str); 2] = [
        (
            DEVICE_KEY,
            0x00,
            "AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ",
        ),
        (
            TERMINAL_KEY,
            0x20,
            "EAQSEIZEEUTCOKBJFIVSYLJOF4YDCMRTGQ2TMNZYHE5DWPB5HY7Q",
        ),
    ];

    fn vector_seed(first: u8) -> [u8; 32] {
        std::array::from_fn(|i| first + i as u8)
    }

    fn vector_file_text(format: KeyFormat, seed_b32: &str) -> String {
        format!("{}\n{seed_b32}\n", format.header())
    }

    fn write_with_mode(path: &Path, contents: &[u8], mode: u32) {
        fs::write(path, contents).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn the_two_formats_differ_only_in_their_first_line() {
        assert_eq!(DEVICE_KEY.header(), "tillcode-device-key v1");
        assert_eq!(DEVICE_KEY.file_len(), 76);
        assert_eq!(TERMINAL_KEY.header(), "tillcode-terminal-key v1");
        assert_eq!(TERMINAL_KEY.file_len(), 78);
        assert_ne!(DEVICE_KEY, TERMINAL_KEY);
    }

    #[test]
    fn a_saved_key_has_the_documented_layout_and_loads_back() {
        for (format, first, seed_b32) in FORMATS {
            let dir = TestDir::new();
            let path = dir.path("the.key");
            let seed = vector_seed(first);
            format
                .save(&SigningKey::from_bytes(&seed), &path, Overwrite::Refuse)
                .unwrap();
            assert_eq!(
                fs::read_to_string(&path).unwrap(),
                vector_file_text(format, seed_b32)
            );
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(dir.entries(), ["the.key"]);
            assert_eq!(format.load(&path).unwrap().to_bytes(), seed);

            let key = generate().unwrap();
            format.save(&key, &path, Overwrite::Replace).unwrap();
            assert_eq!(
                format.load(&path).unwrap().verifying_key(),
                key.verifying_key()
            );
            assert_eq!(dir.entries(), ["the.key"]);
        }
    }

    #[test]
    fn a_vector_key_file_loads_to_its_seed() {
        for (format, first, seed_b32) in FORMATS {
            let dir = TestDir::new();
            let path = dir.path("the.key");
            write_with_mode(&path, vector_file_text(format, seed_b32).as_bytes(), 0o600);
            assert_eq!(format.load(&path).unwrap().to_bytes(), vector_seed(first));
        }
    }

    #[test]
    fn saving_over_an_existing_key_is_refused_unless_asked() {
        for (format, ..) in FORMATS {
            let dir = TestDir::new();
            let path = dir.path("the.key");
            let first = generate().unwrap();
            format.save(&first, &path, Overwrite::Refuse).unwrap();
            let err = format
                .save(&generate().unwrap(), &path, Overwrite::Refuse)
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    KeyFileError::File(PrivateFileError::AlreadyExists { .. })
                ),
                "{err}"
            );
            assert_eq!(
                format.load(&path).unwrap().verifying_key(),
                first.verifying_key()
            );
            assert_eq!(dir.entries(), ["the.key"]);
        }
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        for (format, _, seed_b32) in FORMATS {
            let dir = TestDir::new();
            let path = dir.path("the.key");
            for mode in [0o644, 0o640, 0o604, 0o620, 0o610, 0o601] {
                write_with_mode(&path, vector_file_text(format, seed_b32).as_bytes(), mode);
                let err = format.load(&path).unwrap_err();
                assert!(
                    matches!(
                        err,
                        KeyFileError::File(PrivateFileError::InsecurePermissions { mode: m, .. })
                            if m == mode
                    ),
                    "mode {mode:o}: {err}"
                );
            }
            // The same bytes with owner-only access load.
            fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
            format.load(&path).unwrap();
        }
    }

    #[test]
    fn a_truncated_or_extended_key_file_is_refused_with_its_length() {
        for (format, _, seed_b32) in FORMATS {
            let dir = TestDir::new();
            let path = dir.path("the.key");
            let text = vector_file_text(format, seed_b32);
            let len = format.file_len();
            for short in [0, 1, format.header().len() + 1, len - 1] {
                write_with_mode(&path, &text.as_bytes()[..short], 0o600);
                let err = format.load(&path).unwrap_err();
                assert!(
                    matches!(err, KeyFileError::WrongLength { found, .. } if found == short as u64),
                    "len {short}: {err}"
                );
            }
            write_with_mode(&path, format!("{text}\n").as_bytes(), 0o600);
            let err = format.load(&path).unwrap_err();
            assert!(
                matches!(err, KeyFileError::WrongLength { found, .. } if found == len as u64 + 1),
                "{err}"
            );
            let message = err.to_string();
            assert!(
                message.ends_with(&format!(
                    " is {} bytes long; a {} file is exactly {len}",
                    len + 1,
                    format.noun()
                )),
                "{message}"
            );
        }
    }

    #[test]
    fn a_key_file_of_another_version_is_refused() {
        for (format, _, seed_b32) in FORMATS {
            let dir = TestDir::new();
            let path = dir.path("the.key");
            let text = vector_file_text(format, seed_b32).replace(" v1", " v2");
            write_with_mode(&path, text.as_bytes(), 0o600);
            let err = format.load(&path).unwrap_err();
            assert!(
                matches!(err, KeyFileError::UnrecognizedFormat { .. }),
                "{err}"
            );
            let message = err.to_string();
            assert!(
                message.ends_with(&format!(" is not a {} file", format.header())),
                "{message}"
            );
        }
    }

    #[test]
    fn a_key_file_of_the_other_format_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("the.key");
        let [(device, _, device_seed), (terminal, _, terminal_seed)] = FORMATS;

        // A device key on a till: the same seed line, padded to the length.
        let text = format!("{}\n\n", vector_file_text(device, device_seed));
        assert_eq!(text.len(), terminal.file_len());
        write_with_mode(&path, text.as_bytes(), 0o600);
        let err = terminal.load(&path).unwrap_err();
        assert!(
            matches!(err, KeyFileError::UnrecognizedFormat { .. }),
            "{err}"
        );

        // A terminal key on a phone: too long, and its header is refused
        // even when the length is made to fit.
        let text = vector_file_text(terminal, terminal_seed);
        write_with_mode(&path, text.as_bytes(), 0o600);
        let err = device.load(&path).unwrap_err();
        assert!(matches!(err, KeyFileError::WrongLength { .. }), "{err}");
        let cut = format!("{}\n{}\n", terminal.header(), &terminal_seed[..50]);
        assert_eq!(cut.len(), device.file_len());
        write_with_mode(&path, cut.as_bytes(), 0o600);
        let err = device.load(&path).unwrap_err();
        assert!(
            matches!(err, KeyFileError::UnrecognizedFormat { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_seed_that_is_not_strict_base32_is_refused() {
        for (format, _, seed_b32) in FORMATS {
            let dir = TestDir::new();
            let path = dir.path("the.key");
            let text = vector_file_text(format, seed_b32);
            let (body, last) = seed_b32.split_at(seed_b32.len() - 1);
            assert_eq!(last, "Q");
            let lowercase = text.replace(seed_b32, &seed_b32.to_lowercase());
            // The last character carries 4 bits of padding; 'R' sets one of
            // them.
            let trailing_bits = text.replace(seed_b32, &format!("{body}R"));
            let crlf = text.replace(&format!("{seed_b32}\n"), &format!("{body}\r\n"));
            let no_newline = text.replace(&format!("{seed_b32}\n"), &format!("{seed_b32}Q"));
            for bad in [lowercase, trailing_bits, crlf, no_newline] {
                assert_eq!(bad.len(), format.file_len());
                write_with_mode(&path, bad.as_bytes(), 0o600);
                let err = format.load(&path).unwrap_err();
                assert!(
                    matches!(err, KeyFileError::MalformedSeed { .. }),
                    "{bad:?}: {err}"
                );
            }
        }
    }

    #[test]
    fn a_directory_or_a_fifo_is_not_a_key_file() {
        let dir = TestDir::new();
        let err = DEVICE_KEY.load(dir.root()).unwrap_err();
        assert!(
            matches!(err, KeyFileError::File(PrivateFileError::NotAFile { .. })),
            "{err}"
        );

        let fifo = dir.path("fifo.key");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        fs::set_permissions(&fifo, fs::Permissions::from_mode(0o600)).unwrap();
        // Would block forever if the FIFO were opened.
        let err = TERMINAL_KEY.load(&fifo).unwrap_err();
        assert!(
            matches!(err, KeyFileError::File(PrivateFileError::NotAFile { .. })),
            "{err}"
        );
    }

    #[test]
    fn a_missing_key_file_is_an_io_error_naming_the_path() {
        let dir = TestDir::new();
        let err = TERMINAL_KEY.load(&dir.path("absent.key")).unwrap_err();
        assert!(
            matches!(
                &err,
                KeyFileError::File(PrivateFileError::Io { source, .. })
                    if source.kind() == io::ErrorKind::NotFound
            ),
            "{err}"
        );
        assert!(err.to_string().contains("absent.key"), "{err}");
    }

    #[test]
    fn two_generated_keys_differ() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.verifying_key(), b.verifying_key());
    }
}
