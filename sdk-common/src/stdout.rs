//! Standard output of the CLIs is for machines: one JSON object (or array)
//! a line, flushed at once, so that a script can read each line as it
//! comes.

use std::io::{self, Write};

use serde::Serialize;

/// Prints `value` as one JSON line.
pub fn json(value: &impl Serialize) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    // write_all rather than println!, which panics when stdout is closed.
    let mut stdout = io::stdout().lock();
    stdout.write_all(&line)?;
    stdout.flush()
}

/// Text printed as is, with a final newline.
pub fn text(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    stdout.flush()
}
