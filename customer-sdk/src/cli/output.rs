//! Standard output is for machines: one JSON object (or array) a line,
//! flushed at once, so that a script can read each line as it comes (e.g.
//! the link code while `link create` waits). `json` and `text` are the
//! cashier CLI's too (`tillcode_sdk_common::stdout`).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub use tillcode_sdk_common::stdout::{json, text};

/// Writes a rendered code to `path`. A code is a credential for as long as
/// it is valid, so a new file is readable only by its owner.
pub fn file(path: &Path, contents: &[u8]) -> io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(contents))
        .map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))
}
