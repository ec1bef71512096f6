//! Small files only their owner may read (mode 0600), written atomically:
//! the customer home's `device.json` holds the TOTP secret, a credential.
//!
//! The rules are `tillcode_sdk_common::private_file`'s, shared with the
//! cashier SDK; this module keeps this SDK's own interface to them.

use std::path::Path;

use tillcode_sdk_common::private_file::{self as common, Overwrite};

pub use tillcode_sdk_common::private_file::{PrivateFileError, read};

/// Replaces `path` with `contents`, mode 0600. The bytes go to a temporary
/// file beside it, are flushed, and only then renamed over `path`, so a
/// crash leaves the old file or the new one, never half of one.
pub fn write(path: &Path, contents: &[u8]) -> Result<(), PrivateFileError> {
    common::write(path, contents, Overwrite::Replace)
}
