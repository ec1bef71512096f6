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
//! till (or the reverse) is refused rather than used: one implementation,
//! `tillcode_sdk_common::key_file`, reads and writes both.
//!
//! The file is created with mode 0600 and [`TerminalKey::load`] refuses it
//! when the group or others have any access (as OpenSSH does for its keys).

use std::fmt;
use std::path::Path;

use data_encoding::HEXLOWER;
use ed25519_dalek::{SECRET_KEY_LENGTH, SigningKey, VerifyingKey};
use tillcode_sdk_common::key_file::{self, TERMINAL_KEY};

use crate::private_file::Overwrite;

/// What can go wrong with a terminal key file: its format's errors, and
/// (as `File`) those of the owner-only file it lives in.
pub use tillcode_sdk_common::key_file::KeyFileError as TerminalKeyError;

/// Header, seed, final newline.
pub const KEY_FILE_LEN: usize = TERMINAL_KEY.file_len();

/// This terminal's signing key. `Debug` shows only the public key.
pub struct TerminalKey {
    signing: SigningKey,
}

impl TerminalKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, TerminalKeyError> {
        Ok(Self {
            signing: key_file::generate()?,
        })
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
        TERMINAL_KEY.save(&self.signing, path, overwrite)
    }

    /// Reads a key saved by [`TerminalKey::save`], refusing anything that is
    /// not exactly such a file or that others can access.
    pub fn load(path: &Path) -> Result<Self, TerminalKeyError> {
        Ok(Self {
            signing: TERMINAL_KEY.load(path)?,
        })
    }
}

impl fmt::Debug for TerminalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TerminalKey")
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use tillcode_sdk_common::test_dir::TestDir;

    use super::*;

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
