//! What every command starts from: the home directory, the API address and
//! how patient to be with it.

use std::time::Duration;

use tillcode_cashier::client::{Client, ClientOptions, TerminalClient};
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
        Ok(Client::with_options(url, self.options)?)
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
