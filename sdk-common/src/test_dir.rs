//! A fresh directory for one test, removed when the test ends. For the
//! SDKs' tests only (the `test-support` feature, a dev-dependency): it
//! panics on any failure, as a test should.

use std::fs;
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};

#[derive(Debug)]
pub struct TestDir(PathBuf);

impl TestDir {
    /// A new empty directory under the system's temporary directory.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tillcode-sdk-test-{:016x}", OsRng.next_u64()));
        if let Err(e) = fs::create_dir(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        Self(dir)
    }

    pub fn root(&self) -> &Path {
        &self.0
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The names in the directory, sorted: what a test expects to be left.
    pub fn entries(&self) -> Vec<String> {
        let listing = fs::read_dir(&self.0)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", self.0.display()));
        let mut names: Vec<_> = listing
            .map(|entry| match entry {
                Ok(entry) => entry.file_name().to_string_lossy().into_owned(),
                Err(e) => panic!("cannot list {}: {e}", self.0.display()),
            })
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
