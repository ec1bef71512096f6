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
//! `B32` from `PROTOCOL.md`: RFC 4648 base32, uppercase, no padding, trailing
//! bits zero, so 52 characters. Nothing else is accepted: no comments, no
//! `\r`, no missing final newline. A text format lets someone tell the file
//! apart from any other with `head -1`; the fixed size lets a corrupted or
//! foreign file be refused before anything is parsed.
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
//! with the same fingerprint; the groups are for reading aloud.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use data_encoding::{BASE32_NOPAD, HEXLOWER};
use ed25519_dalek::{SECRET_KEY_LENGTH, SigningKey, VerifyingKey};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

const HEADER: &[u8] = b"tillcode-device-key v1\n";
/// 32 bytes in base32 without padding.
const SEED_CHARS: usize = 52;
/// Header, seed, final newline.
pub const KEY_FILE_LEN: usize = HEADER.len() + SEED_CHARS + 1;
/// Bytes of SHA-256 kept in a fingerprint.
const FINGERPRINT_BYTES: usize = 16;
const FINGERPRINT_GROUP: usize = 4;

/// Whether [`DeviceKey::save`] may replace an existing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    /// Fail with [`DeviceKeyError::AlreadyExists`]: replacing a key loses it,
    /// and the device registered with it stops working.
    Refuse,
    /// Atomically replace whatever is at the path.
    Replace,
}

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

impl DeviceKeyError {
    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Io {
            action,
            path: path.to_owned(),
            source,
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
        // try_fill_bytes rather than SigningKey::generate: the latter panics
        // if the OS cannot give randomness, and a library should report it.
        let mut seed = [0u8; SECRET_KEY_LENGTH];
        OsRng
            .try_fill_bytes(&mut seed)
            .map_err(DeviceKeyError::Randomness)?;
        let key = Self::from_seed(&seed);
        wipe(&mut seed);
        Ok(key)
    }

    pub(crate) fn from_seed(seed: &[u8; SECRET_KEY_LENGTH]) -> Self {
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
        let mut text = [0u8; KEY_FILE_LEN];
        let (header, rest) = text.split_at_mut(HEADER.len());
        header.copy_from_slice(HEADER);
        BASE32_NOPAD.encode_mut(self.signing.as_bytes(), &mut rest[..SEED_CHARS]);
        rest[SEED_CHARS] = b'\n';

        let written = write_new_file_beside(path, &text);
        wipe(&mut text);
        let temp = written?;

        match overwrite {
            Overwrite::Replace => {
                fs::rename(&temp.path, path).map_err(DeviceKeyError::io("replace", path))?;
                temp.disarm();
            }
            // A hard link is the one std call that creates a name atomically
            // and fails if it exists; checking first and renaming would race
            // with another writer.
            Overwrite::Refuse => match fs::hard_link(&temp.path, path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(DeviceKeyError::AlreadyExists {
                        path: path.to_owned(),
                    });
                }
                Err(e) => return Err(DeviceKeyError::io("create", path)(e)),
            },
        }
        let dir = parent_dir(path);
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(DeviceKeyError::io("flush the directory of", path))
    }

    /// Reads a key saved by [`DeviceKey::save`], refusing anything that is not
    /// exactly such a file or that others can access.
    pub fn load(path: &Path) -> Result<Self, DeviceKeyError> {
        // Checked before opening too, because opening a FIFO blocks until
        // something writes to it.
        let before = fs::metadata(path).map_err(DeviceKeyError::io("open", path))?;
        if !before.is_file() {
            return Err(DeviceKeyError::NotAFile {
                path: path.to_owned(),
            });
        }
        let mut file = File::open(path).map_err(DeviceKeyError::io("open", path))?;
        // Metadata of the open file, not of the path, so that what is checked
        // is what is read.
        let meta = file
            .metadata()
            .map_err(DeviceKeyError::io("inspect", path))?;
        if !meta.is_file() {
            return Err(DeviceKeyError::NotAFile {
                path: path.to_owned(),
            });
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(DeviceKeyError::InsecurePermissions {
                path: path.to_owned(),
                mode,
            });
        }
        if meta.len() != KEY_FILE_LEN as u64 {
            return Err(DeviceKeyError::WrongLength {
                path: path.to_owned(),
                found: meta.len(),
            });
        }

        // One byte more than expected, in case the file grew after fstat.
        let mut text = [0u8; KEY_FILE_LEN + 1];
        let read = read_up_to(&mut file, &mut text);
        let parsed = read
            .map_err(DeviceKeyError::io("read", path))
            .and_then(|n| parse_key_file(&text[..n], path));
        wipe(&mut text);
        parsed
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
    let digest = Sha256::digest(public_key.as_bytes());
    let b32 = BASE32_NOPAD.encode(&digest[..FINGERPRINT_BYTES]);
    // Base32 output is ASCII, so byte chunks are character chunks.
    b32.as_bytes()
        .chunks(FINGERPRINT_GROUP)
        .map(|group| String::from_utf8_lossy(group))
        .collect::<Vec<_>>()
        .join("-")
}

fn parse_key_file(text: &[u8], path: &Path) -> Result<DeviceKey, DeviceKeyError> {
    if text.len() != KEY_FILE_LEN {
        return Err(DeviceKeyError::WrongLength {
            path: path.to_owned(),
            found: text.len() as u64,
        });
    }
    let Some(rest) = text.strip_prefix(HEADER) else {
        return Err(DeviceKeyError::UnrecognizedFormat {
            path: path.to_owned(),
        });
    };
    let malformed = || DeviceKeyError::MalformedSeed {
        path: path.to_owned(),
    };
    let (encoded, newline) = rest.split_at(SEED_CHARS);
    if newline != b"\n" {
        return Err(malformed());
    }
    let mut seed = [0u8; SECRET_KEY_LENGTH];
    // decode_mut into a stack array: `decode` would leave a copy of the seed
    // in freed heap memory.
    let decoded = match BASE32_NOPAD.decode_len(encoded.len()) {
        Ok(SECRET_KEY_LENGTH) => BASE32_NOPAD.decode_mut(encoded, &mut seed).is_ok(),
        _ => false,
    };
    let key = decoded.then(|| DeviceKey::from_seed(&seed));
    wipe(&mut seed);
    key.ok_or_else(malformed)
}

/// A temporary file that is removed when dropped unless disarmed.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: the error that got us here matters more.
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn write_new_file_beside(path: &Path, contents: &[u8]) -> Result<TempFile, DeviceKeyError> {
    let Some(name) = path.file_name() else {
        return Err(DeviceKeyError::NotAFile {
            path: path.to_owned(),
        });
    };
    let mut salt = [0u8; 8];
    OsRng
        .try_fill_bytes(&mut salt)
        .map_err(DeviceKeyError::Randomness)?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", HEXLOWER.encode(&salt)));
    let temp_path = parent_dir(path).join(temp_name);

    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp_path)
        .map_err(DeviceKeyError::io("create a temporary file for", path))?;
    let temp = TempFile {
        path: temp_path,
        armed: true,
    };
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(DeviceKeyError::io("write", &temp.path))?;
    Ok(temp)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Best-effort erasure of secret bytes on the stack. `black_box` keeps the
/// compiler from dropping the writes as dead stores; it is not a guarantee
/// the way the `zeroize` crate's volatile writes are.
fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TestDir(PathBuf);

    impl TestDir {
        fn new() -> Self {
            let dir = std::env::temp_dir()
                .join(format!("tillcode-customer-test-{:016x}", OsRng.next_u64()));
            fs::create_dir(&dir).unwrap();
            Self(dir)
        }

        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }

        fn entries(&self) -> Vec<String> {
            let mut names: Vec<_> = fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

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
    fn a_bare_file_name_is_saved_beside_it_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("device.key")), Path::new("."));
        assert_eq!(parent_dir(Path::new("/a/device.key")), Path::new("/a"));
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
        for len in [0, 1, HEADER.len(), KEY_FILE_LEN - 1] {
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
        let lowercase =
            vector_file_text().replace(VECTOR_SEED_B32, &VECTOR_SEED_B32.to_lowercase());
        // The last character carries 4 bits of padding; 'R' sets one of them.
        let trailing_bits = vector_file_text().replace("DYPQ\n", "DYPR\n");
        let crlf = vector_file_text().replace("DYPQ\n", "DYP\r\n");
        let no_newline = vector_file_text().replace("DYPQ\n", "DYPQQ");
        for text in [lowercase, trailing_bits, crlf, no_newline] {
            assert_eq!(text.len(), KEY_FILE_LEN);
            write_with_mode(&path, text.as_bytes(), 0o600);
            let err = DeviceKey::load(&path).unwrap_err();
            assert!(
                matches!(err, DeviceKeyError::MalformedSeed { .. }),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn a_directory_or_a_fifo_is_not_a_key_file() {
        let dir = TestDir::new();
        let err = DeviceKey::load(&dir.0).unwrap_err();
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
