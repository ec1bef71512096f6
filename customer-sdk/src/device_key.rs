//! The customer device's Ed25519 key: made on the device, kept in a file only
//! its owner can read, never sent anywhere but as its public half.
//!
//! # Key file format, version 1
//!
//! Exactly 76 bytes of ASCII, two lines, each ending in `\n`:
//!
//! ```text
//! tillcode-device-key v1
//! AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ
//! ```
//!
//! The second line is the 32-byte Ed25519 seed (RFC 8032 private key) as
//! `B32` from `PROTOCOL.md`. The format is the one the cashier SDK's terminal
//! key has with its own first line, written once in
//! `tillcode_sdk_common::key_file` (which documents it in full): a terminal
//! key file is refused here, and a device key file on a till.
//!
//! The file is created with mode 0600 and [`DeviceKey::load`] refuses it when
//! the group or others have any access to it (as OpenSSH does for its keys):
//! a key that others could have copied must be revoked, not used.
//!
//! # Fingerprint
//!
//! What a person compares by eye between two screens (the phone and the
//! dashboard, when approving a device):
//! `B32(SHA-256(public_key)[0..16])` (public_key being the 32-byte
//! RFC 8032 encoding), split from the left into groups of 4 characters joined
//! by `-`. 16 bytes give 26 characters, so the last group has 2, e.g.
//! `KZDV-VJ2U-MNDU-YAUF-35O3-6K6K-W4`. 128 bits leave no room for a forged key
//! with the same fingerprint; the groups are for reading aloud. The same
//! definition as `tillcode_protocol::key_fingerprint`, which computes it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{SigningKey, VerifyingKey};
use tillcode_sdk_common::key_file::{self, DEVICE_KEY, KeyFileError};
use tillcode_sdk_common::private_file::PrivateFileError;

pub use tillcode_sdk_common::private_file::Overwrite;

/// Header, seed, final newline.
pub const KEY_FILE_LEN: usize = DEVICE_KEY.file_len();

/// What can go wrong with a device key. Flat, unlike the cashier SDK's
/// `TerminalKeyError`: this SDK's callers match on these variants.
#[derive(Debug, thiserror::Error)]
pub enum DeviceKeyError {
    // Not #[source]: rand_core's error implements std::error::Error only
    // with its `std` feature.
    #[error("the operating system's random number generator failed: {0}")]
    Randomness(rand_core::Error),
    #[error("{} already exists; refusing to overwrite a device key", path.display())]
    AlreadyExists { path: PathBuf },
    #[error("{} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error(
        "{} can be accessed by group or others (mode {mode:04o}); refusing to use a key \
         others may have copied",
        path.display()
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("{} is {found} bytes long; a device key file is exactly {KEY_FILE_LEN}", path.display())]
    WrongLength { path: PathBuf, found: u64 },
    #[error("{} is not a tillcode-device-key v1 file", path.display())]
    UnrecognizedFormat { path: PathBuf },
    #[error("{} holds a malformed key seed", path.display())]
    MalformedSeed { path: PathBuf },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl From<KeyFileError> for DeviceKeyError {
    fn from(error: KeyFileError) -> Self {
        match error {
            KeyFileError::Randomness(e) => Self::Randomness(e),
            KeyFileError::WrongLength { path, found, .. } => Self::WrongLength { path, found },
            KeyFileError::UnrecognizedFormat { path, .. } => Self::UnrecognizedFormat { path },
            KeyFileError::MalformedSeed { path } => Self::MalformedSeed { path },
            KeyFileError::File(file) => match file {
                PrivateFileError::NotAFile { path } => Self::NotAFile { path },
                PrivateFileError::AlreadyExists { path } => Self::AlreadyExists { path },
                PrivateFileError::InsecurePermissions { path, mode } => {
                    Self::InsecurePermissions { path, mode }
                }
                // key_file reports a key file over its length as WrongLength
                // itself; this is the same thing said without the length.
                PrivateFileError::TooLarge { path, max } => Self::WrongLength {
                    path,
                    found: max.saturating_add(1),
                },
                PrivateFileError::Io {
                    action,
                    path,
                    source,
                } => Self::Io {
                    action,
                    path,
                    source,
                },
            },
        }
    }
}

/// This device's signing key. `Debug` shows only the public key.
pub struct DeviceKey {
    signing: SigningKey,
}

impl DeviceKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, DeviceKeyError> {
        Ok(Self {
            signing: key_file::generate()?,
        })
    }

    /// A key from its 32-byte RFC 8032 seed, for test vectors.
    #[cfg(test)]
    pub(crate) fn from_seed(seed: &[u8; ed25519_dalek::SECRET_KEY_LENGTH]) -> Self {
        Self {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// The signing half, for the SDK's own signers (offline tokens, proofs).
    /// Crate-private so that no caller signs arbitrary bytes with the device
    /// key: every message the SDK signs starts with a protocol domain label.
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The 32-byte public key as `B32` (52 characters), as registered with the API.
    pub fn public_key_base32(&self) -> String {
        BASE32_NOPAD.encode(self.verifying_key().as_bytes())
    }

    /// See the module documentation for the definition.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.verifying_key())
    }

    /// Writes the key to `path` with mode 0600.
    ///
    /// The bytes go to a new temporary file in the same directory, are
    /// flushed to disk, and only then appear under `path`, so a crash never
    /// leaves a half-written key where a key is expected.
    pub fn save(&self, path: &Path, overwrite: Overwrite) -> Result<(), DeviceKeyError> {
        Ok(DEVICE_KEY.save(&self.signing, path, overwrite)?)
    }

    /// Reads a key saved by [`DeviceKey::save`], refusing anything that is not
    /// exactly such a file or that others can access.
    pub fn load(path: &Path) -> Result<Self, DeviceKeyError> {
        Ok(Self {
            signing: DEVICE_KEY.load(path)?,
        })
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKey")
            .field("public_key", &self.public_key_base32())
            .finish_non_exhaustive()
    }
}

/// See the module documentation for the definition.
pub fn fingerprint(public_key: &VerifyingKey) -> String {
    tillcode_protocol::key_fingerprint(public_key)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use data_encoding::HEXLOWER;
    use tillcode_sdk_common::test_dir::TestDir;

    use super::*;

    /// Seed 00 01 .. 1f, from `protocol-vectors.json`, in base32.
    const VECTOR_SEED_B32: &str = "AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ";

    fn vector_file_text() -> String {
        format!("tillcode-device-key v1\n{VECTOR_SEED_B32}\n")
    }

    fn write_with_mode(path: &Path, contents: &[u8], mode: u32) {
        fs::write(path, contents).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_saved_key_loads_back_to_the_same_public_key() {
        let dir = TestDir::new();
        let path = dir.path("device.key");
        let key = DeviceKey::generate().unwrap();
        key.save(&path, Overwrite::Refuse).unwrap();

        let loaded = DeviceKey::load(&path).unwrap();
        assert_eq!(loaded.verifying_key(), key.verifying_key());
        assert_eq!(loaded.signing.to_bytes(), key.signing.to_bytes());
    }

    #[test]
    fn a_saved_key_file_is_readable_only_by_its_owner_and_leaves_no_temporary_file() {
        let dir = TestDir::new();
        let path = dir.path("device.key");
        DeviceKey::generate()
            .unwrap()
            .save(&path, Overwrite::Refuse)
            .unwrap();

        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), KEY_FILE_LEN as u64);
        assert_eq!(dir.entries(), ["device.key"]);
    }

    #[test]
    fn saving_over_an_existing_file_is_refused_and_leaves_it_untouched() {
        let dir = TestDir::new();
        let path = dir.path("device.key");
        let first = DeviceKey::generate().unwrap();
        first.save(&path, Overwrite::Refuse).unwrap();

        let second = DeviceKey::generate().unwrap();
        let err = second.save(&path, Overwrite::Refuse).unwrap_err();
        assert!(matches!(err, DeviceKeyError::AlreadyExists { .. }), "{err}");

        let loaded = DeviceKey::load(&path).unwrap();
        assert_eq!(loaded.verifying_key(), first.verifying_key());
        assert_eq!(dir.entries(), ["device.key"]);
    }

    #[test]
    fn replacing_an_existing_key_file_when_asked_stores_the_new_key() {
        let dir = TestDir::new();
        let path = dir.path("device.key");
        DeviceKey::generate()
            .unwrap()
            .save(&path, Overwrite::Refuse)
            .unwrap();

        let second = DeviceKey::generate().unwrap();
        second.save(&path, Overwrite::Replace).unwrap();

        let loaded = DeviceKey::load(&path).unwrap();
        assert_eq!(loaded.verifying_key(), second.verifying_key());
        assert_eq!(dir.entries(), ["device.key"]);
    }

    #[test]
    fn saving_into_a_missing_directory_fails_with_an_io_error() {
        let dir = TestDir::new();
        let path = dir.path("missing/device.key");
        let err = DeviceKey::generate()
            .unwrap()
            .save(&path, Overwrite::Refuse)
            .unwrap_err();
        assert!(matches!(err, DeviceKeyError::Io { .. }), "{err}");
    }

    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("device.key");
        for mode in [0o644, 0o640, 0o604, 0o620, 0o610, 0o601] {
            write_with_mode(&path, vector_file_text().as_bytes(), mode);
            let err = DeviceKey::load(&path).unwrap_err();
            assert!(
                matches!(err, DeviceKeyError::InsecurePermissions { mode: m, .. } if m == mode),
                "mode {mode:o}: {err}"
            );
        }
        // The same bytes with owner-only access load.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        DeviceKey::load(&path).unwrap();
    }

    #[test]
    fn a_truncated_key_file_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("device.key");
        let text = vector_file_text();
        let header_line = DEVICE_KEY.header().len() + 1;
        for len in [0, 1, header_line, KEY_FILE_LEN - 1] {
            write_with_mode(&path, &text.as_bytes()[..len], 0o600);
            let err = DeviceKey::load(&path).unwrap_err();
            assert!(
                matches!(err, DeviceKeyError::WrongLength { found, .. } if found == len as u64),
                "len {len}: {err}"
            );
        }
    }

    #[test]
    fn a_key_file_with_trailing_data_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("device.key");
        let text = format!("{}\n", vector_file_text());
        write_with_mode(&path, text.as_bytes(), 0o600);
        let err = DeviceKey::load(&path).unwrap_err();
        assert!(matches!(err, DeviceKeyError::WrongLength { .. }), "{err}");
        assert!(
            err.to_string()
                .ends_with("is 77 bytes long; a device key file is exactly 76"),
            "{err}"
        );
    }

    #[test]
    fn a_key_file_of_another_format_or_version_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("device.key");
        let text = vector_file_text().replace(" v1", " v2");
        write_with_mode(&path, text.as_bytes(), 0o600);
        let err = DeviceKey::load(&path).unwrap_err();
        assert!(
            matches!(err, DeviceKeyError::UnrecognizedFormat { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_seed_that_is_not_strict_base32_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("device.key");
        // The last character carries 4 bits of padding; 'R' sets one of them.
        let trailing_bits = vector_file_text().replace("DYPQ\n", "DYPR\n");
        assert_eq!(trailing_bits.len(), KEY_FILE_LEN);
        write_with_mode(&path, trailing_bits.as_bytes(), 0o600);
        let err = DeviceKey::load(&path).unwrap_err();
        assert!(
            matches!(err, DeviceKeyError::MalformedSeed { .. }),
            "{trailing_bits:?}: {err}"
        );
    }

    #[test]
    fn a_directory_or_a_fifo_is_not_a_key_file() {
        let dir = TestDir::new();
        let err = DeviceKey::load(dir.root()).unwrap_err();
        assert!(matches!(err, DeviceKeyError::NotAFile { .. }), "{err}");

        let fifo = dir.path("fifo.key");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        fs::set_permissions(&fifo, fs::Permissions::from_mode(0o600)).unwrap();
        // Would block forever if the FIFO were opened.
        let err = DeviceKey::load(&fifo).unwrap_err();
        assert!(matches!(err, DeviceKeyError::NotAFile { .. }), "{err}");
    }

    #[test]
    fn a_missing_key_file_is_an_io_error_naming_the_path() {
        let dir = TestDir::new();
        let path = dir.path("absent.key");
        let err = DeviceKey::load(&path).unwrap_err();
        assert!(
            matches!(&err, DeviceKeyError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound),
            "{err}"
        );
        assert!(err.to_string().contains("absent.key"), "{err}");
    }

    /// Public key from `protocol-vectors.json` (made with libsodium);
    /// fingerprint computed independently with Python:
    /// `b32encode(sha256(pk).digest()[:16])`, unpadded, grouped by 4.
    #[test]
    fn the_protocol_vector_seed_gives_its_public_key_and_fingerprint() {
        let dir = TestDir::new();
        let path = dir.path("device.key");
        write_with_mode(&path, vector_file_text().as_bytes(), 0o600);
        let key = DeviceKey::load(&path).unwrap();

        assert_eq!(
            HEXLOWER.encode(key.verifying_key().as_bytes()),
            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
        );
        assert_eq!(
            key.public_key_base32(),
            "AOQQPP7TZYIL4HLQ3UMOOS6ATFT6JVRQTOSQ2XY53SDGIESVGG4A"
        );
        assert_eq!(key.fingerprint(), "KZDV-VJ2U-MNDU-YAUF-35O3-6K6K-W4");
    }

    #[test]
    fn a_saved_key_file_has_the_documented_layout() {
        let dir = TestDir::new();
        let path = dir.path("device.key");
        write_with_mode(&path, vector_file_text().as_bytes(), 0o600);
        let key = DeviceKey::load(&path).unwrap();
        let copy = dir.path("copy.key");
        key.save(&copy, Overwrite::Refuse).unwrap();
        assert_eq!(fs::read_to_string(&copy).unwrap(), vector_file_text());
    }

    #[test]
    fn every_fingerprint_is_six_groups_of_four_and_one_of_two() {
        let key = DeviceKey::generate().unwrap();
        let fp = key.fingerprint();
        let groups: Vec<_> = fp.split('-').collect();
        assert_eq!(groups.len(), 7, "{fp}");
        assert!(groups[..6].iter().all(|g| g.len() == 4), "{fp}");
        assert_eq!(groups[6].len(), 2, "{fp}");
        assert!(
            fp.bytes()
                .all(|b| b == b'-' || b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".contains(&b))
        );
    }

    #[test]
    fn two_generated_keys_differ() {
        let a = DeviceKey::generate().unwrap();
        let b = DeviceKey::generate().unwrap();
        assert_ne!(a.verifying_key(), b.verifying_key());
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let dir = TestDir::new();
        let path = dir.path("device.key");
        write_with_mode(&path, vector_file_text().as_bytes(), 0o600);
        let key = DeviceKey::load(&path).unwrap();
        let seed = key.signing.to_bytes();

        for shown in [format!("{key:?}"), format!("{key:#?}")] {
            assert!(shown.contains(&key.public_key_base32()), "{shown}");
            assert!(!shown.contains(VECTOR_SEED_B32), "{shown}");
            assert!(!shown.contains(&HEXLOWER.encode(&seed)), "{shown}");
            assert!(!shown.contains(&format!("{seed:?}")), "{shown}");
            assert!(!shown.contains("secret"), "{shown}");
        }
    }
}
