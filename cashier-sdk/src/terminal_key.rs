//! The terminal's Ed25519 key: made on the till, kept in a file only its
//! owner can read, never sent anywhere but as its public half. Every request
//! the terminal makes is signed with it (RFC 9421), so whoever copies the
//! file can spend customers' balances as this till until it is revoked.
//!
//! # Key file format, version 1
//!
//! Exactly 78 bytes of ASCII, two lines, each ending in `\n`:
//!
//! ```text
//! tillcode-terminal-key v1
//! EAQSEIZEEUTCOKBJFIVSYLJOF4YDCMRTGQ2TMNZYHE5DWPB5HY7Q
//! ```
//!
//! The second line is the 32-byte Ed25519 seed (RFC 8032 private key) as
//! `B32` (RFC 4648 base32, uppercase, no padding, trailing bits zero: 52
//! characters). Nothing else is accepted. The layout is the customer
//! device key's with its own first line, so that a device key copied onto a
//! till (or the reverse) is refused rather than used.
//!
//! The file is created with mode 0600 and [`TerminalKey::load`] refuses it
//! when the group or others have any access (as OpenSSH does for its keys).

use std::fmt;
use std::path::{Path, PathBuf};

use data_encoding::{BASE32_NOPAD, HEXLOWER};
use ed25519_dalek::{SECRET_KEY_LENGTH, SigningKey, VerifyingKey};
use rand_core::{OsRng, RngCore};

use crate::private_file::{self, Overwrite, PrivateFileError, wipe};

const HEADER: &[u8] = b"tillcode-terminal-key v1\n";
/// 32 bytes in base32 without padding.
const SEED_CHARS: usize = 52;
/// Header, seed, final newline.
pub const KEY_FILE_LEN: usize = HEADER.len() + SEED_CHARS + 1;

#[derive(Debug, thiserror::Error)]
pub enum TerminalKeyError {
    // Not #[source]: rand_core's error implements std::error::Error only
    // with its `std` feature.
    #[error("the operating system's random number generator failed: {0}")]
    Randomness(rand_core::Error),
    #[error("{} is {found} bytes long; a terminal key file is exactly {KEY_FILE_LEN}", path.display())]
    WrongLength { path: PathBuf, found: u64 },
    #[error("{} is not a tillcode-terminal-key v1 file", path.display())]
    UnrecognizedFormat { path: PathBuf },
    #[error("{} holds a malformed key seed", path.display())]
    MalformedSeed { path: PathBuf },
    #[error(transparent)]
    File(#[from] PrivateFileError),
}

/// This terminal's signing key. `Debug` shows only the public key.
pub struct TerminalKey {
    signing: SigningKey,
}

impl TerminalKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, TerminalKeyError> {
        // try_fill_bytes rather than SigningKey::generate: the latter panics
        // if the OS cannot give randomness, and a library should report it.
        let mut seed = [0u8; SECRET_KEY_LENGTH];
        OsRng
            .try_fill_bytes(&mut seed)
            .map_err(TerminalKeyError::Randomness)?;
        let key = Self::from_seed(&seed);
        wipe(&mut seed);
        Ok(key)
    }

    /// A key from its 32-byte RFC 8032 seed, for tills that keep the seed
    /// somewhere other than a key file (and for test vectors).
    pub fn from_seed(seed: &[u8; SECRET_KEY_LENGTH]) -> Self {
        Self {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// The signing half, for this crate's signers (enrollment proof, request
    /// signatures). Crate-private so that no caller signs arbitrary bytes
    /// with the terminal key: every message signed here is framed by the
    /// protocol (a domain label, or an RFC 9421 signature base).
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The 32-byte public key in lowercase hex, as the enrollment request
    /// carries it.
    pub fn public_key_hex(&self) -> String {
        HEXLOWER.encode(self.verifying_key().as_bytes())
    }

    /// What the manager compares on the dashboard before approving this
    /// terminal (`docs/protocol.md`, section 9).
    pub fn fingerprint(&self) -> String {
        tillcode_protocol::key_fingerprint(&self.verifying_key())
    }

    /// Writes the key to `path` with mode 0600, atomically.
    pub fn save(&self, path: &Path, overwrite: Overwrite) -> Result<(), TerminalKeyError> {
        let mut text = [0u8; KEY_FILE_LEN];
        let (header, rest) = text.split_at_mut(HEADER.len());
        header.copy_from_slice(HEADER);
        BASE32_NOPAD.encode_mut(self.signing.as_bytes(), &mut rest[..SEED_CHARS]);
        rest[SEED_CHARS] = b'\n';
        let written = private_file::write(path, &text, overwrite);
        wipe(&mut text);
        Ok(written?)
    }

    /// Reads a key saved by [`TerminalKey::save`], refusing anything that is
    /// not exactly such a file or that others can access.
    pub fn load(path: &Path) -> Result<Self, TerminalKeyError> {
        let mut text = private_file::read(path, KEY_FILE_LEN as u64).map_err(|e| match e {
            PrivateFileError::TooLarge { path, .. } => TerminalKeyError::WrongLength {
                found: std::fs::metadata(&path).map_or(0, |m| m.len()),
                path,
            },
            other => other.into(),
        })?;
        let parsed = parse_key_file(&text, path);
        wipe(&mut text);
        parsed
    }
}

impl fmt::Debug for TerminalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TerminalKey")
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

fn parse_key_file(text: &[u8], path: &Path) -> Result<TerminalKey, TerminalKeyError> {
    if text.len() != KEY_FILE_LEN {
        return Err(TerminalKeyError::WrongLength {
            path: path.to_owned(),
            found: text.len() as u64,
        });
    }
    let Some(rest) = text.strip_prefix(HEADER) else {
        return Err(TerminalKeyError::UnrecognizedFormat {
            path: path.to_owned(),
        });
    };
    let malformed = || TerminalKeyError::MalformedSeed {
        path: path.to_owned(),
    };
    let (encoded, newline) = rest.split_at(SEED_CHARS);
    if newline != b"\n" {
        return Err(malformed());
    }
    let mut seed = [0u8; SECRET_KEY_LENGTH];
    // decode_mut into a stack array: `decode` would leave a copy of the seed
    // in freed heap memory. data-encoding refuses lowercase, padding and
    // non-zero trailing bits, so one seed has one text form.
    let decoded = match BASE32_NOPAD.decode_len(encoded.len()) {
        Ok(SECRET_KEY_LENGTH) => BASE32_NOPAD.decode_mut(encoded, &mut seed).is_ok(),
        _ => false,
    };
    let key = decoded.then(|| TerminalKey::from_seed(&seed));
    wipe(&mut seed);
    key.ok_or_else(malformed)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::test_dir::TestDir;

    /// Seed 20 21 .. 3f: the terminal key of `shared-v1.json`'s enrollment
    /// proof and signed-request vectors, in base32.
    const VECTOR_SEED_B32: &str = "EAQSEIZEEUTCOKBJFIVSYLJOF4YDCMRTGQ2TMNZYHE5DWPB5HY7Q";
    const VECTOR_PUBLIC_KEY: &str =
        "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7";

    fn vector_file_text() -> String {
        format!("tillcode-terminal-key v1\n{VECTOR_SEED_B32}\n")
    }

    fn write_with_mode(path: &Path, contents: &[u8], mode: u32) {
        fs::write(path, contents).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn the_vector_seed_file_gives_the_vector_public_key() {
        let dir = TestDir::new();
        let path = dir.path("terminal.key");
        write_with_mode(&path, vector_file_text().as_bytes(), 0o600);
        let key = TerminalKey::load(&path).unwrap();
        assert_eq!(key.public_key_hex(), VECTOR_PUBLIC_KEY);
        let seed: [u8; 32] = std::array::from_fn(|i| 0x20 + i as u8);
        assert_eq!(key.signing.to_bytes(), seed);
        assert_eq!(
            key.fingerprint(),
            tillcode_protocol::key_fingerprint(&key.verifying_key())
        );
    }

    #[test]
    fn a_saved_key_has_the_documented_layout_and_loads_back() {
        let dir = TestDir::new();
        let path = dir.path("terminal.key");
        let seed: [u8; 32] = std::array::from_fn(|i| 0x20 + i as u8);
        TerminalKey::from_seed(&seed)
            .save(&path, Overwrite::Refuse)
            .unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), vector_file_text());
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(dir.entries(), ["terminal.key"]);

        let key = TerminalKey::generate().unwrap();
        key.save(&path, Overwrite::Replace).unwrap();
        assert_eq!(
            TerminalKey::load(&path).unwrap().verifying_key(),
            key.verifying_key()
        );
    }

    #[test]
    fn saving_over_an_existing_key_is_refused_unless_asked() {
        let dir = TestDir::new();
        let path = dir.path("terminal.key");
        let first = TerminalKey::generate().unwrap();
        first.save(&path, Overwrite::Refuse).unwrap();
        let err = TerminalKey::generate()
            .unwrap()
            .save(&path, Overwrite::Refuse)
            .unwrap_err();
        assert!(
            matches!(
                err,
                TerminalKeyError::File(PrivateFileError::AlreadyExists { .. })
            ),
            "{err}"
        );
        assert_eq!(
            TerminalKey::load(&path).unwrap().verifying_key(),
            first.verifying_key()
        );
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("terminal.key");
        write_with_mode(&path, vector_file_text().as_bytes(), 0o640);
        let err = TerminalKey::load(&path).unwrap_err();
        assert!(
            matches!(
                err,
                TerminalKeyError::File(PrivateFileError::InsecurePermissions { mode: 0o640, .. })
            ),
            "{err}"
        );
    }

    #[test]
    fn a_truncated_or_extended_key_file_is_refused_with_its_length() {
        let dir = TestDir::new();
        let path = dir.path("terminal.key");
        let text = vector_file_text();
        for len in [0, 1, HEADER.len(), KEY_FILE_LEN - 1] {
            write_with_mode(&path, &text.as_bytes()[..len], 0o600);
            let err = TerminalKey::load(&path).unwrap_err();
            assert!(
                matches!(err, TerminalKeyError::WrongLength { found, .. } if found == len as u64),
                "len {len}: {err}"
            );
        }
        write_with_mode(&path, format!("{text}\n").as_bytes(), 0o600);
        let err = TerminalKey::load(&path).unwrap_err();
        assert!(
            matches!(err, TerminalKeyError::WrongLength { found, .. } if found == KEY_FILE_LEN as u64 + 1),
            "{err}"
        );
    }

    #[test]
    fn a_customer_device_key_file_is_not_a_terminal_key() {
        let dir = TestDir::new();
        let path = dir.path("terminal.key");
        // Same seed line, the customer SDK's header, padded to the length.
        let text = format!("tillcode-device-key v1\n{VECTOR_SEED_B32}\n\n\n");
        assert_eq!(text.len(), KEY_FILE_LEN);
        write_with_mode(&path, text.as_bytes(), 0o600);
        let err = TerminalKey::load(&path).unwrap_err();
        assert!(
            matches!(err, TerminalKeyError::UnrecognizedFormat { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_seed_that_is_not_strict_base32_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("terminal.key");
        let lowercase =
            vector_file_text().replace(VECTOR_SEED_B32, &VECTOR_SEED_B32.to_lowercase());
        // The last character carries 4 bits of padding; 'R' sets one of them.
        let trailing_bits = vector_file_text().replace("HY7Q\n", "HY7R\n");
        let crlf = vector_file_text().replace("HY7Q\n", "HY7\r\n");
        let no_newline = vector_file_text().replace("HY7Q\n", "HY7QQ");
        for text in [lowercase, trailing_bits, crlf, no_newline] {
            assert_eq!(text.len(), KEY_FILE_LEN);
            write_with_mode(&path, text.as_bytes(), 0o600);
            let err = TerminalKey::load(&path).unwrap_err();
            assert!(
                matches!(err, TerminalKeyError::MalformedSeed { .. }),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn debug_output_shows_the_public_key_and_never_the_seed() {
        let seed: [u8; 32] = std::array::from_fn(|i| 0x20 + i as u8);
        let key = TerminalKey::from_seed(&seed);
        for shown in [format!("{key:?}"), format!("{key:#?}")] {
            assert!(shown.contains(VECTOR_PUBLIC_KEY), "{shown}");
            assert!(!shown.contains(VECTOR_SEED_B32), "{shown}");
            assert!(!shown.contains(&HEXLOWER.encode(&seed)), "{shown}");
            assert!(!shown.contains(&format!("{seed:?}")), "{shown}");
        }
    }

    #[test]
    fn two_generated_keys_differ() {
        let a = TerminalKey::generate().unwrap();
        let b = TerminalKey::generate().unwrap();
        assert_ne!(a.verifying_key(), b.verifying_key());
    }
}
