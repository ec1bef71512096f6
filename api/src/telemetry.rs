//! Structured logs through `tracing`. Nothing secret is ever a field: codes,
//! keys, passwords and URLs with credentials stay out of every event.

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Levels of dependencies that print secrets, kept whatever `TILLCODE_LOG`
/// asks for: tokio-postgres logs every statement's parameters at `debug`,
/// device TOTP secrets among them.
const CAPS: &[&str] = &["tokio_postgres=info"];

/// The filter for `directives` (`TILLCODE_LOG`), with [`CAPS`] on top.
pub fn filter(directives: &str) -> EnvFilter {
    let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    CAPS.iter()
        .filter_map(|cap| cap.parse().ok())
        .fold(filter, EnvFilter::add_directive)
}

/// Logs go to stderr, so that commands printing JSON on stdout stay parseable.
pub fn init(config: &LogConfig) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(&config.filter))
        .with_writer(std::io::stderr);
    // try_init: a second call (tests) keeps the first subscriber.
    let _ = match config.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
