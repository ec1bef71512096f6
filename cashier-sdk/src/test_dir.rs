//! A fresh directory for one unit test, removed when the test ends.

use std::fs;
use std::path::PathBuf;

use rand_core::{OsRng, RngCore};

pub struct TestDir(PathBuf);

impl TestDir {
    pub fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("tillcode-cashier-unit-{:016x}", OsRng.next_u64()));
        fs::create_dir(&dir).unwrap();
        Self(dir)
    }

    pub fn root(&self) -> &std::path::Path {
        &self.0
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn entries(&self) -> Vec<String> {
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
