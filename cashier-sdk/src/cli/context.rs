//! What every command starts from: the home directory, the API address and
//! how patient to be with it.

use std::path::PathBuf;
use std::time::Duration;

use tillcode_cashier::client::{Client, ClientOptions, TerminalClient, Transport};
use tillcode_cashier::{Home, RetryPolicy, TerminalRecord};

use super::CliResult;
use super::args::Cli;

/// Where a terminal that has not enrolled yet (with no `--api`) finds the
/// API: the address `ops/dev.sh` serves on.
pub const DEFAULT_API: &str = "http://127.0.0.1:8080";

pub struct Context {
    pub home: Home,
    /// `--api` or `TILLCODE_API`, when given.
    api: Option<String>,
    /// `--ca-cert` or `TILLCODE_CA_CERT`, read by the commands that need
    /// the API.
    ca_cert: Option<PathBuf>,
    insecure_http: bool,
    options: ClientOptions,
}

impl Context {
    pub fn new(cli: &Cli) -> CliResult<Self> {
        let home = match &cli.home {
            Some(dir) => Home::new(dir),
            None => Home::default_location()?,
        };
        let options = ClientOptions {
            request_timeout: Duration::from_secs(cli.timeout),
            retry: RetryPolicy {
                max_attempts: cli.attempts,
                ..RetryPolicy::default()
            },
            ..ClientOptions::default()
        };
        Ok(Self {
            home,
            api: cli.api.clone(),
            ca_cert: cli.ca_cert.clone(),
            insecure_http: cli.insecure_http,
            options,
        })
    }

    /// A client for the API given on the command line, else the one the
    /// terminal enrolled with, else [`DEFAULT_API`].
    pub fn client(&self, record: Option<&TerminalRecord>) -> CliResult<Client> {
        let url = self
            .api
            .as_deref()
            .or(record.map(|r| r.api_url.as_str()))
            .unwrap_or(DEFAULT_API);
        let mut transport = Transport::default().allow_insecure_http(self.insecure_http);
        if let Some(path) = &self.ca_cert {
            transport = transport.with_ca_file(path)?;
        }
        Ok(Client::with_transport(url, self.options, &transport)?)
    }

    /// The enrolled terminal and a client that signs as it, telling the
    /// cashier on standard error about each retry.
    pub fn terminal(&self) -> CliResult<(TerminalRecord, TerminalClient)> {
        let (record, key) = self.home.load_enrolled()?;
        let client = self.client(Some(&record))?;
        let terminal = TerminalClient::new(client, record.terminal_id, key).on_retry(|notice| {
            eprintln!(
                "tillcode-cashier: attempt {} failed ({}); trying again in {:.1} s with the \
                 same idempotency key and body",
                notice.attempt,
                notice.error,
                notice.pause.as_secs_f64()
            );
        });
        Ok((record, terminal))
    }
}
