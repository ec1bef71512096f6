//! `tillcode-api verify-ledger --textfile PATH`: the check's result as a
//! Prometheus text file for the node exporter's textfile collector, which
//! reads `*.prom` files on every scrape. The file is replaced atomically (a
//! temporary file in the same directory, flushed, then renamed over it), so
//! a scrape sees the old result or the new one, never half a file.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, thiserror::Error)]
pub enum TextfileError {
    #[error("--textfile {0}: not a file name")]
    NotAFile(PathBuf),
    #[error("--textfile {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the file holds after a check that ended at `finished_at`.
pub fn verify_ledger_metrics(ok: bool, finished_at: SystemTime) -> String {
    let seconds = finished_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    format!(
        "# HELP tillcode_verify_ledger_ok 1 if the last tillcode-api verify-ledger run found every ledger invariant holding, 0 if it found a violation.\n\
         # TYPE tillcode_verify_ledger_ok gauge\n\
         tillcode_verify_ledger_ok {}\n\
         # HELP tillcode_verify_ledger_last_run_timestamp_seconds When the last tillcode-api verify-ledger run finished, in Unix time.\n\
         # TYPE tillcode_verify_ledger_last_run_timestamp_seconds gauge\n\
         tillcode_verify_ledger_last_run_timestamp_seconds {seconds:.3}\n",
        u8::from(ok)
    )
}

/// Replaces `path` with `contents`: written to a hidden temporary file
/// beside it (the collector reads only `*.prom`), synced, made readable by
/// the exporter (0644: nothing secret), then renamed over `path`.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), TextfileError> {
    let name = path
        .file_name()
        .ok_or_else(|| TextfileError::NotAFile(path.to_owned()))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source: std::io::Error| TextfileError::Io { path, source }
    };
    if let Err(e) = write_then_rename(&tmp, path, contents) {
        // Best effort: the error that matters is the one returned.
        if fs::remove_file(&tmp).is_err() {
            tracing::debug!(path = %tmp.display(), "no temporary file to remove");
        }
        return Err(io(path)(e));
    }
    // The rename is durable once the directory is synced.
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

fn write_then_rename(tmp: &Path, path: &Path, contents: &str) -> std::io::Result<()> {
    let mut file = File::create(tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    // Not through the mode of `create`: the umask (0077 in the unit) would cut it.
    fs::set_permissions(tmp, fs::Permissions::from_mode(0o644))?;
    fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_file_is_replaced_whole_and_no_temporary_file_is_left() {
        let dir = std::env::temp_dir().join(format!("tillcode-textfile-{}", uuid::Uuid::now_v7()));
        fs::create_dir(&dir).unwrap();
        let path = dir.join("ledger.prom");
        let at = UNIX_EPOCH + std::time::Duration::from_millis(1_795_000_000_123);

        write_atomic(&path, &verify_ledger_metrics(true, at)).unwrap();
        let first = fs::read_to_string(&path).unwrap();
        assert!(first.contains("\ntillcode_verify_ledger_ok 1\n"), "{first}");
        assert!(
            first.contains("\ntillcode_verify_ledger_last_run_timestamp_seconds 1795000000.123\n"),
            "{first}"
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );

        write_atomic(&path, &verify_ledger_metrics(false, at)).unwrap();
        let second = fs::read_to_string(&path).unwrap();
        assert!(
            second.contains("\ntillcode_verify_ledger_ok 0\n"),
            "{second}"
        );
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["ledger.prom"]);

        // A directory that does not exist: an error naming the path, no panic.
        let missing = dir.join("nowhere").join("ledger.prom");
        let e = write_atomic(&missing, "x").unwrap_err().to_string();
        assert!(e.contains("nowhere"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
