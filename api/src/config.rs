//! Start-up configuration from `TILLCODE_*` environment variables.
//!
//! Every value is parsed once, here; a missing or malformed one stops
//! start-up with an error that names the variable. Secrets (the URLs carry
//! passwords) may come from a file named by `<VAR>_FILE` instead, and are
//! never printed.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::http_limits::HttpLimits;
use crate::tls::TlsFiles;

#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

/// A value that must not reach logs; `Debug` prints a placeholder.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// `TILLCODE_DATABASE_URL` (or `TILLCODE_DATABASE_URL_FILE`).
    pub url: Secret,
    /// `TILLCODE_DATABASE_POOL_SIZE`, default 16.
    pub pool_size: usize,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database: DatabaseConfig,
    /// `TILLCODE_REDIS_URL` (or `TILLCODE_REDIS_URL_FILE`). With
    /// `TILLCODE_REDIS_CLUSTER=true` it may list several seed nodes of the
    /// cluster, comma-separated (`redis://10.0.0.1:6379,redis://10.0.0.2:6379`);
    /// one reachable node is enough to learn the whole topology.
    pub redis_url: Secret,
    /// `TILLCODE_REDIS_CLUSTER`, `true` or `false` (default): talk to a Redis
    /// Cluster instead of one server. A flag rather than a guess from the
    /// URL, because one seed URL is a valid way to name a whole cluster.
    /// The prefix must then hold no `{` or `}`: keys carry hash tags.
    pub redis_cluster: bool,
    /// `TILLCODE_REDIS_PREFIX`, default `tillcode:`: every Redis key starts
    /// with it, so that tests and deployments can share one Redis.
    pub redis_prefix: String,
    /// `TILLCODE_BIND`, default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// `TILLCODE_SHUTDOWN_TIMEOUT_SECS`, default 30: how long SIGTERM waits
    /// for in-flight requests.
    pub shutdown_timeout: Duration,
    /// Group commit of ledger postings:
    /// `TILLCODE_LEDGER_BATCH_MAX` (default 64; 1 turns batching off),
    /// `TILLCODE_LEDGER_BATCH_LINGER_MICROS` (default 2000: the longest a
    /// writer waits for more while every other writer is busy; 0 takes only
    /// what has queued), `TILLCODE_LEDGER_WRITERS` (default 2,
    /// at most the pool size: each writer holds a connection while it writes).
    pub ledger_batch: crate::ledger::BatchSettings,
    /// How long a request may wait on Postgres or Redis before it is
    /// answered 503 (docs/operations.md, "Faults").
    pub timeouts: Timeouts,
    /// `TILLCODE_HTTP_*`: body size and client timeouts (`http_limits.rs`).
    pub http: HttpLimits,
    /// `TILLCODE_TLS_CERT` and `TILLCODE_TLS_KEY`, both or neither: serve
    /// HTTPS on `bind` instead of plain HTTP (`tls.rs`).
    pub tls: Option<TlsFiles>,
}

/// Bounds on every wait for a dependency, so that a dead, slow or saturated
/// Postgres or Redis turns into a prompt 503 with `Retry-After` instead of a
/// request that hangs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// `TILLCODE_DATABASE_POOL_TIMEOUT_MS`, default 5000: waiting for a free
    /// pooled connection, opening a new one, or checking an idle one.
    pub database_pool: Duration,
    /// `TILLCODE_DATABASE_STATEMENT_TIMEOUT_MS`, default 10000, 0 for none:
    /// Postgres's `statement_timeout` on the server's connections, which
    /// also bounds waiting for a lock another session holds.
    pub database_statement: Option<Duration>,
    /// `TILLCODE_REDIS_TIMEOUT_MS`, default 2000: connecting to Redis, and
    /// each command's answer.
    pub redis: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            database_pool: Duration::from_millis(5000),
            database_statement: Some(Duration::from_millis(10_000)),
            redis: Duration::from_millis(2000),
        }
    }
}

impl Config {
    /// The Redis URLs to connect to: the one URL, or the cluster's seeds.
    pub fn redis_urls(&self) -> Vec<&str> {
        if self.redis_cluster {
            self.redis_url.expose().split(',').map(str::trim).collect()
        } else {
            vec![self.redis_url.expose()]
        }
    }
}

#[derive(Clone, Debug)]
pub struct LogConfig {
    /// `TILLCODE_LOG`, a tracing filter, default `info`.
    pub filter: String,
    /// `TILLCODE_LOG_FORMAT`: `pretty` (default) or `json`.
    pub format: LogFormat,
}

/// Reads variables through `lookup`, so tests can configure without touching
/// the process environment.
pub struct Env<F>(pub F);

impl Env<fn(&str) -> Option<String>> {
    pub fn process() -> Self {
        Env(|name| std::env::var(name).ok())
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn get(&self, var: &'static str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    fn required_secret(
        &self,
        var: &'static str,
        file_var: &'static str,
    ) -> Result<Secret, ConfigError> {
        if let Some(value) = self.get(var) {
            return Ok(Secret::new(value.trim()));
        }
        let Some(path) = self.get(file_var) else {
            return Err(ConfigError {
                var,
                problem: format!("is not set (set it, or {file_var} to a file holding it)"),
            });
        };
        let contents = std::fs::read_to_string(&path).map_err(|e| ConfigError {
            var: file_var,
            problem: format!("cannot read {path}: {e}"),
        })?;
        Ok(Secret::new(contents.trim()))
    }

    fn parsed<T: std::str::FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|e| ConfigError {
                var,
                problem: format!("{raw:?} is not valid: {e}"),
            }),
        }
    }

    fn url(
        &self,
        var: &'static str,
        file_var: &'static str,
        schemes: &[&str],
    ) -> Result<Secret, ConfigError> {
        let url = self.required_secret(var, file_var)?;
        let scheme = url.expose().split("://").next().unwrap_or_default();
        if url.expose().contains("://") && schemes.contains(&scheme) {
            Ok(url)
        } else {
            // Never echo the value: it may hold a password.
            Err(ConfigError {
                var,
                problem: format!("must be a URL starting with {}://", schemes.join("://, ")),
            })
        }
    }

    fn pool_size(&self, var: &'static str) -> Result<usize, ConfigError> {
        let size = self.parsed(var, 16usize)?;
        if (1..=1024).contains(&size) {
            Ok(size)
        } else {
            Err(ConfigError {
                var,
                problem: "must be between 1 and 1024".into(),
            })
        }
    }

    /// `TILLCODE_REDIS_URL`: one URL, or in cluster mode a comma-separated
    /// list of them, each checked like any other URL.
    fn redis_url(&self, cluster: bool) -> Result<Secret, ConfigError> {
        const VAR: &str = "TILLCODE_REDIS_URL";
        const FILE_VAR: &str = "TILLCODE_REDIS_URL_FILE";
        const SCHEMES: [&str; 2] = ["redis", "rediss"];
        if !cluster {
            return self.url(VAR, FILE_VAR, &SCHEMES);
        }
        let urls = self.required_secret(VAR, FILE_VAR)?;
        let well_formed = urls.expose().split(',').all(|url| {
            let url = url.trim();
            url.contains("://") && SCHEMES.contains(&url.split("://").next().unwrap_or_default())
        });
        if well_formed {
            Ok(urls)
        } else {
            Err(ConfigError {
                var: VAR,
                problem: "must be comma-separated URLs starting with redis:// or rediss://".into(),
            })
        }
    }

    /// A positive whole number from `var`, `default` when unset.
    fn positive(&self, var: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.parsed(var, default)? {
            0 => Err(ConfigError {
                var,
                problem: "must be greater than 0".into(),
            }),
            value => Ok(value),
        }
    }

    fn positive_millis(
        &self,
        var: &'static str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let default = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
        self.positive(var, default).map(Duration::from_millis)
    }

    /// The limits of `http_limits.rs`. Zero is refused: actix reads a zero
    /// timeout as "no timeout".
    pub fn http_limits(&self) -> Result<HttpLimits, ConfigError> {
        let default = HttpLimits::default();
        let body_bytes =
            self.positive("TILLCODE_HTTP_BODY_LIMIT_BYTES", default.body_bytes as u64)?;
        Ok(HttpLimits {
            body_bytes: usize::try_from(body_bytes).unwrap_or(usize::MAX),
            head_timeout: self
                .positive_millis("TILLCODE_HTTP_HEAD_TIMEOUT_MS", default.head_timeout)?,
            body_timeout: self
                .positive_millis("TILLCODE_HTTP_BODY_TIMEOUT_MS", default.body_timeout)?,
            keep_alive: Duration::from_secs(self.positive(
                "TILLCODE_HTTP_KEEP_ALIVE_SECS",
                default.keep_alive.as_secs(),
            )?),
        })
    }

    pub fn database(&self) -> Result<DatabaseConfig, ConfigError> {
        Ok(DatabaseConfig {
            url: self.url(
                "TILLCODE_DATABASE_URL",
                "TILLCODE_DATABASE_URL_FILE",
                &["postgres", "postgresql"],
            )?,
            pool_size: self.pool_size("TILLCODE_DATABASE_POOL_SIZE")?,
        })
    }

    /// A timeout in milliseconds: 1 ms to 10 minutes, or 0 when `zero_is_none`.
    fn millis(
        &self,
        var: &'static str,
        default: Option<Duration>,
        zero_is_none: bool,
    ) -> Result<Option<Duration>, ConfigError> {
        let default_ms = default.map_or(0, |d| d.as_millis() as u64);
        match self.parsed(var, default_ms)? {
            0 if zero_is_none => Ok(None),
            ms @ 1..=600_000 => Ok(Some(Duration::from_millis(ms))),
            _ => Err(ConfigError {
                var,
                problem: if zero_is_none {
                    "must be between 0 (none) and 600000 ms".into()
                } else {
                    "must be between 1 and 600000 ms".into()
                },
            }),
        }
    }

    pub fn timeouts(&self) -> Result<Timeouts, ConfigError> {
        let defaults = Timeouts::default();
        let required = |var, default: Duration| {
            self.millis(var, Some(default), false)
                .map(|d| d.unwrap_or(default))
        };
        Ok(Timeouts {
            database_pool: required("TILLCODE_DATABASE_POOL_TIMEOUT_MS", defaults.database_pool)?,
            database_statement: self.millis(
                "TILLCODE_DATABASE_STATEMENT_TIMEOUT_MS",
                defaults.database_statement,
                true,
            )?,
            redis: required("TILLCODE_REDIS_TIMEOUT_MS", defaults.redis)?,
        })
    }

    pub fn server(&self) -> Result<Config, ConfigError> {
        let default_bind = SocketAddr::from(([127, 0, 0, 1], 8080));
        let database = self.database()?;
        let redis_cluster = self.parsed("TILLCODE_REDIS_CLUSTER", false)?;
        let redis_prefix = self
            .get("TILLCODE_REDIS_PREFIX")
            .unwrap_or_else(|| "tillcode:".to_owned());
        if redis_cluster && redis_prefix.contains(['{', '}']) {
            // Redis hashes the first `{...}` of a key: braces in the prefix
            // would put every key in one slot, or break the keys' own tags.
            return Err(ConfigError {
                var: "TILLCODE_REDIS_PREFIX",
                problem: "must not contain { or } with TILLCODE_REDIS_CLUSTER=true".into(),
            });
        }
        Ok(Config {
            database,
            redis_url: self.redis_url(redis_cluster)?,
            redis_cluster,
            redis_prefix,
            bind: self.parsed("TILLCODE_BIND", default_bind)?,
            shutdown_timeout: Duration::from_secs(
                self.parsed("TILLCODE_SHUTDOWN_TIMEOUT_SECS", 30u64)?,
            ),
            ledger_batch: self.ledger_batch()?,
            timeouts: self.timeouts()?,
            http: self.http_limits()?,
            tls: self.tls()?,
        })
    }

    /// `TILLCODE_TLS_CERT` and `TILLCODE_TLS_KEY`; the files are read when
    /// the server starts.
    pub fn tls(&self) -> Result<Option<TlsFiles>, ConfigError> {
        match (self.get("TILLCODE_TLS_CERT"), self.get("TILLCODE_TLS_KEY")) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some(TlsFiles {
                cert: cert.trim().into(),
                key: key.trim().into(),
            })),
            (Some(_), None) => Err(ConfigError {
                var: "TILLCODE_TLS_KEY",
                problem: "is not set, but TILLCODE_TLS_CERT is (HTTPS needs both)".into(),
            }),
            (None, Some(_)) => Err(ConfigError {
                var: "TILLCODE_TLS_CERT",
                problem: "is not set, but TILLCODE_TLS_KEY is (HTTPS needs both)".into(),
            }),
        }
    }

    fn ledger_batch(&self) -> Result<crate::ledger::BatchSettings, ConfigError> {
        let defaults = crate::ledger::BatchSettings::default();
        let bounded = |var: &'static str, default: usize, max: usize| {
            let value = self.parsed(var, default)?;
            if (1..=max).contains(&value) {
                Ok(value)
            } else {
                Err(ConfigError {
                    var,
                    problem: format!("must be between 1 and {max}"),
                })
            }
        };
        let linger = self.parsed(
            "TILLCODE_LEDGER_BATCH_LINGER_MICROS",
            u64::try_from(defaults.linger.as_micros()).unwrap_or(0),
        )?;
        if linger > 100_000 {
            // Every redemption in a batch waits this long at most: more than
            // a tenth of a second would be felt at the till.
            return Err(ConfigError {
                var: "TILLCODE_LEDGER_BATCH_LINGER_MICROS",
                problem: "must be at most 100000 (0.1 s)".into(),
            });
        }
        Ok(crate::ledger::BatchSettings {
            // Postgres functions take at most 100 arguments, but arrays
            // carry the batch; the bound keeps one transaction short.
            max: bounded("TILLCODE_LEDGER_BATCH_MAX", defaults.max, 1024)?,
            linger: Duration::from_micros(linger),
            writers: bounded("TILLCODE_LEDGER_WRITERS", defaults.writers, 256)?,
            // Set from TILLCODE_DATABASE_POOL_TIMEOUT_MS by the server.
            queue_timeout: defaults.queue_timeout,
        })
    }

    pub fn log(&self) -> Result<LogConfig, ConfigError> {
        let format = match self.get("TILLCODE_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError {
                    var: "TILLCODE_LOG_FORMAT",
                    problem: format!("{other:?} is not one of pretty, json"),
                });
            }
        };
        Ok(LogConfig {
            filter: self
                .get("TILLCODE_LOG")
                .unwrap_or_else(|| "info".to_owned()),
            format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env(move |name: &str| map.get(name).cloned())
    }

    const BASE: [(&str, &str); 2] = [
        ("TILLCODE_DATABASE_URL", "postgres://u:hunter2@db/tillcode"),
        ("TILLCODE_REDIS_URL", "redis://127.0.0.1:6379"),
    ];

    #[test]
    fn defaults_apply_when_only_the_urls_are_set() {
        let config = env(&BASE).server().unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database.pool_size, 16);
        assert_eq!(config.redis_prefix, "tillcode:");
    }

    #[test]
    fn a_missing_database_url_names_the_variable() {
        let err = env(&BASE[1..]).server().unwrap_err();
        assert_eq!(err.var, "TILLCODE_DATABASE_URL");
        assert!(
            err.to_string()
                .starts_with("TILLCODE_DATABASE_URL: is not set")
        );
    }

    #[test]
    fn https_needs_both_the_certificate_and_the_key() {
        assert_eq!(env(&BASE).server().unwrap().tls, None);
        let mut pairs = BASE.to_vec();
        pairs.push(("TILLCODE_TLS_CERT", "/etc/tillcode/cert.pem"));
        assert_eq!(env(&pairs).server().unwrap_err().var, "TILLCODE_TLS_KEY");
        pairs.push(("TILLCODE_TLS_KEY", "/etc/tillcode/key.pem"));
        let tls = env(&pairs).server().unwrap().tls.unwrap();
        assert_eq!(tls.cert, std::path::Path::new("/etc/tillcode/cert.pem"));
        assert_eq!(tls.key, std::path::Path::new("/etc/tillcode/key.pem"));
        let key_only = [BASE[0], BASE[1], ("TILLCODE_TLS_KEY", "/k.pem")];
        assert_eq!(
            env(&key_only).server().unwrap_err().var,
            "TILLCODE_TLS_CERT"
        );
    }

    #[test]
    fn a_malformed_bind_address_names_the_variable() {
        let mut pairs = BASE.to_vec();
        pairs.push(("TILLCODE_BIND", "localhost"));
        let err = env(&pairs).server().unwrap_err();
        assert_eq!(err.var, "TILLCODE_BIND");
    }

    #[test]
    fn a_url_of_the_wrong_scheme_is_refused_without_echoing_it() {
        let err = env(&[
            ("TILLCODE_DATABASE_URL", "mysql://u:hunter2@db/x"),
            ("TILLCODE_REDIS_URL", "redis://r"),
        ])
        .server()
        .unwrap_err();
        assert_eq!(err.var, "TILLCODE_DATABASE_URL");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn secrets_can_come_from_a_file_and_never_show_in_debug_output() {
        let dir = std::env::temp_dir().join(format!("tillcode-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("db-url");
        std::fs::write(&file, "postgres://u:hunter2@db/tillcode\n").unwrap();
        let config = env(&[
            ("TILLCODE_DATABASE_URL_FILE", file.to_str().unwrap()),
            ("TILLCODE_REDIS_URL", "redis://r"),
        ])
        .server()
        .unwrap();
        assert_eq!(
            config.database.url.expose(),
            "postgres://u:hunter2@db/tillcode"
        );
        assert!(!format!("{config:?}").contains("hunter2"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn single_node_redis_is_the_default() {
        let config = env(&BASE).server().unwrap();
        assert!(!config.redis_cluster);
        assert_eq!(config.redis_urls(), ["redis://127.0.0.1:6379"]);
    }

    #[test]
    fn a_cluster_takes_several_seed_urls() {
        let config = env(&[
            BASE[0],
            ("TILLCODE_REDIS_CLUSTER", "true"),
            (
                "TILLCODE_REDIS_URL",
                "redis://10.0.0.1:7000, redis://:pw@10.0.0.2:7001",
            ),
        ])
        .server()
        .unwrap();
        assert!(config.redis_cluster);
        assert_eq!(
            config.redis_urls(),
            ["redis://10.0.0.1:7000", "redis://:pw@10.0.0.2:7001"]
        );
    }

    #[test]
    fn a_bad_cluster_seed_is_refused_without_echoing_it() {
        let err = env(&[
            BASE[0],
            ("TILLCODE_REDIS_CLUSTER", "true"),
            (
                "TILLCODE_REDIS_URL",
                "redis://a:7000,http://u:hunter2@b:7001",
            ),
        ])
        .server()
        .unwrap_err();
        assert_eq!(err.var, "TILLCODE_REDIS_URL");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn a_cluster_refuses_braces_in_the_prefix() {
        let mut pairs = BASE.to_vec();
        pairs.push(("TILLCODE_REDIS_CLUSTER", "true"));
        pairs.push(("TILLCODE_REDIS_PREFIX", "app{1}:"));
        let err = env(&pairs).server().unwrap_err();
        assert_eq!(err.var, "TILLCODE_REDIS_PREFIX");
    }

    #[test]
    fn the_cluster_flag_must_be_a_boolean() {
        let mut pairs = BASE.to_vec();
        pairs.push(("TILLCODE_REDIS_CLUSTER", "yes"));
        let err = env(&pairs).server().unwrap_err();
        assert_eq!(err.var, "TILLCODE_REDIS_CLUSTER");
    }

    #[test]
    fn timeouts_have_defaults_and_zero_turns_the_statement_timeout_off() {
        let config = env(&BASE).server().unwrap();
        assert_eq!(config.timeouts, Timeouts::default());
        let mut pairs = BASE.to_vec();
        pairs.push(("TILLCODE_DATABASE_STATEMENT_TIMEOUT_MS", "0"));
        pairs.push(("TILLCODE_DATABASE_POOL_TIMEOUT_MS", "250"));
        pairs.push(("TILLCODE_REDIS_TIMEOUT_MS", "300"));
        let timeouts = env(&pairs).server().unwrap().timeouts;
        assert_eq!(timeouts.database_statement, None);
        assert_eq!(timeouts.database_pool, Duration::from_millis(250));
        assert_eq!(timeouts.redis, Duration::from_millis(300));
    }

    #[test]
    fn a_zero_pool_timeout_is_refused_with_its_variable() {
        let mut pairs = BASE.to_vec();
        pairs.push(("TILLCODE_DATABASE_POOL_TIMEOUT_MS", "0"));
        let err = env(&pairs).server().unwrap_err();
        assert_eq!(err.var, "TILLCODE_DATABASE_POOL_TIMEOUT_MS");
    }

    #[test]
    fn http_limits_default_and_refuse_zero() {
        assert_eq!(env(&BASE).server().unwrap().http, HttpLimits::default());
        let mut pairs = BASE.to_vec();
        pairs.push(("TILLCODE_HTTP_HEAD_TIMEOUT_MS", "250"));
        pairs.push(("TILLCODE_HTTP_BODY_LIMIT_BYTES", "1024"));
        let http = env(&pairs).server().unwrap().http;
        assert_eq!(http.head_timeout, Duration::from_millis(250));
        assert_eq!(http.body_bytes, 1024);
        pairs.push(("TILLCODE_HTTP_BODY_TIMEOUT_MS", "0"));
        let err = env(&pairs).server().unwrap_err();
        assert_eq!(err.var, "TILLCODE_HTTP_BODY_TIMEOUT_MS");
    }

    #[test]
    fn an_unknown_log_format_is_refused() {
        let err = env(&[("TILLCODE_LOG_FORMAT", "xml")]).log().unwrap_err();
        assert_eq!(err.var, "TILLCODE_LOG_FORMAT");
    }
}
