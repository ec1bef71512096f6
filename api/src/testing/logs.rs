//! Everything the server logs, captured in memory: the process's global
//! `tracing` subscriber, installed before the server starts. nextest (what
//! `ops/test.sh` runs) gives every test a process of its own, so nothing
//! else has installed one yet.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

/// Every byte the subscriber writes, as JSON lines.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Installs the capture as the global subscriber, filtered by
    /// `directives` as `TILLCODE_LOG` would be (`telemetry::filter`).
    pub fn install(directives: &str) -> Self {
        let capture = Self::default();
        tracing_subscriber::fmt()
            .with_env_filter(crate::telemetry::filter(directives))
            .with_writer(capture.clone())
            .json()
            .try_init()
            .expect("no subscriber yet: run this test in a process of its own (cargo nextest)");
        capture
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
