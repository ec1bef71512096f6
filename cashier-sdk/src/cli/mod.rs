//! The `tillcode-cashier` commands, and how each way of failing is reported:
//! scripts read standard output (JSON) and the exit status, people read
//! standard error.

pub mod args;
mod context;
mod enroll;
mod output;
mod sales;
mod tools;

use std::error::Error;

use serde_json::json;
use tillcode_cashier::IdempotencyKey;
use tillcode_cashier::client::ClientError;

use args::{Cli, Command};
use context::Context;

/// Exit statuses (clap itself exits with 2 on a usage error).
pub const EXIT_REJECTED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_UNKNOWN: u8 = 3;

pub type CliResult<T> = Result<T, Failure>;

/// Why a command did not do what was asked.
#[derive(Debug)]
pub enum Failure {
    /// A mistake in what was asked, or in the local setup (home, key,
    /// image): nothing was sent, or nothing could have happened.
    Local(Box<dyn Error>),
    /// The API refused, or could not be heard; `idempotency_key` is the key
    /// the request carried, which a retry must reuse.
    Api {
        // Boxed: a problem document makes the error large, and every
        // command's Result carries it.
        error: Box<ClientError>,
        idempotency_key: Option<IdempotencyKey>,
    },
}

/// A mistake in what the user asked, explained in the message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

impl Failure {
    pub fn local(error: impl Into<Box<dyn Error>>) -> Self {
        Self::Local(error.into())
    }

    pub fn api(error: ClientError, idempotency_key: Option<&IdempotencyKey>) -> Self {
        Self::Api {
            error: Box::new(error),
            idempotency_key: idempotency_key.cloned(),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Local(_) => EXIT_USAGE,
            // A wrong address, an untrusted server certificate or a request
            // that cannot be signed is the setup's fault; nothing reached
            // the server.
            Self::Api { error, .. }
                if matches!(**error, ClientError::BadUrl { .. } | ClientError::Sign(_))
                    || error.certificate_refused() =>
            {
                EXIT_USAGE
            }
            Self::Api { error, .. } if error.outcome_unknown() => EXIT_UNKNOWN,
            Self::Api { .. } => EXIT_REJECTED,
        }
    }

    /// The JSON for standard output, if any: the server's problem document
    /// as received for a refusal; for an unknown outcome, the key to retry
    /// with and whatever problem came with it.
    pub fn stdout_json(&self) -> Option<serde_json::Value> {
        let Self::Api {
            error,
            idempotency_key,
        } = self
        else {
            return None;
        };
        let problem = match error.as_ref() {
            ClientError::Problem { body, .. } => Some(body.clone()),
            ClientError::UnexpectedStatus { status, body } => Some(json!({
                "type": "about:blank",
                "title": format!("HTTP {status}"),
                "status": status,
                "detail": body,
            })),
            _ => None,
        };
        match self.exit_code() {
            EXIT_REJECTED => problem,
            EXIT_UNKNOWN => Some(json!({
                "outcome": "unknown",
                "idempotency_key": idempotency_key,
                "error": error.to_string(),
                "problem": problem,
            })),
            _ => None,
        }
    }

    /// The line for standard error.
    pub fn message(&self) -> String {
        match self {
            Self::Local(error) => error.to_string(),
            Self::Api {
                error,
                idempotency_key,
            } => match (self.exit_code(), idempotency_key) {
                (EXIT_UNKNOWN, Some(key)) => format!(
                    "{error}\nthe outcome is unknown: run the same command again with \
                     --idempotency-key {key} to settle it without charging twice"
                ),
                // Only reads and enrollment carry no key; a read changes
                // nothing, and an enrollment that did go through is one
                // the manager can see pending and reject.
                (EXIT_UNKNOWN, None) => format!("{error}\nno answer from the API"),
                (_, Some(key)) => format!("{error} (idempotency key {key})"),
                (_, None) => error.to_string(),
            },
        }
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        Self::api(error, None)
    }
}

/// Local errors, each reported with its own message and exit status 2.
macro_rules! local_failures {
    ($($ty:ty),* $(,)?) => {$(
        impl From<$ty> for Failure {
            fn from(error: $ty) -> Self {
                Self::local(error)
            }
        }
    )*};
}

local_failures!(
    Usage,
    std::io::Error,
    serde_json::Error,
    tillcode_cashier::HomeError,
    tillcode_cashier::TerminalKeyError,
    tillcode_cashier::QrDecodeError,
    tillcode_cashier::IdempotencyKeyError,
    tillcode_cashier::SignError,
    tillcode_cashier::client::CaCertError,
);

pub async fn run(cli: Cli) -> CliResult<()> {
    // Needs no home: works on a machine with no HOME at all.
    if let Command::Digest { file } = &cli.command {
        return tools::digest(file);
    }
    let ctx = Context::new(&cli)?;
    match cli.command {
        Command::Enroll {
            store,
            code,
            name,
            replace,
        } => enroll::enroll(&ctx, store, &code, &name, replace).await,
        Command::Status => sales::status(&ctx).await,
        Command::Redeem {
            code,
            amount,
            earn,
            sale,
        } => sales::redeem(&ctx, code, amount, earn, sale).await,
        Command::Accrue {
            customer,
            amount,
            sale,
        } => sales::accrue(&ctx, customer, amount, sale).await,
        Command::Void { id, key } => sales::void(&ctx, id, key).await,
        Command::Refund { id, amount, key } => sales::refund(&ctx, id, amount, key).await,
        Command::Recent {
            limit,
            starting_after,
        } => sales::recent(&ctx, limit, starting_after).await,
        Command::SignRequest {
            method,
            path,
            body,
            idempotency_key,
        } => tools::sign_request(
            &ctx,
            &method,
            &path,
            body.as_deref(),
            idempotency_key.as_ref(),
        ),
        Command::Digest { file } => tools::digest(&file),
    }
}
