//! `tillcode-api`: the server and its operator commands. Configuration comes
//! from `TILLCODE_*` environment variables (see `config.rs`); commands that
//! print results print JSON on stdout and log to stderr.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use tillcode_api::config::{ConfigError, Env};
use tillcode_api::{admin, demo_seed, ledger, server, telemetry, textfile};

#[derive(Parser)]
#[command(
    name = "tillcode-api",
    version,
    about = "Tillcode rewards redemption API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve HTTP until SIGTERM.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Create (or find) the demo merchant, store, customer and balance.
    DemoSeed,
    /// Check every ledger invariant; print totals; exit 1 on any violation.
    VerifyLedger {
        /// Also write the result for Prometheus' node exporter (textfile
        /// collector) to this file, atomically: tillcode_verify_ledger_ok
        /// and tillcode_verify_ledger_last_run_timestamp_seconds. Left as
        /// it was when the check cannot run.
        #[arg(long, value_name = "PATH")]
        textfile: Option<PathBuf>,
    },
    /// Operator commands: staff, terminal enrollment and approval.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Print the OpenAPI document the server serves at /openapi.json and
    /// exit; needs no configuration, database or Redis.
    Openapi,
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Migrate(#[from] tillcode_ledger::migrate::MigrateError),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error(transparent)]
    Start(#[from] server::StartError),
    #[error(transparent)]
    Seed(#[from] demo_seed::SeedError),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("cannot print JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the ledger has violations")]
    LedgerViolated,
    #[error(transparent)]
    Textfile(#[from] textfile::TextfileError),
    #[error("{0}")]
    Refused(#[from] tillcode_api::error::ApiError),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = Env::process();
    match env.log() {
        Ok(log) => telemetry::init(&log),
        Err(e) => {
            eprintln!("tillcode-api: configuration: {e}");
            return ExitCode::from(2);
        }
    }
    let result = actix_web::rt::System::new().block_on(run(cli.command));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::LedgerViolated) => ExitCode::FAILURE,
        Err(e @ CliError::Config(_)) => {
            eprintln!("tillcode-api: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("tillcode-api: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), CliError> {
    let env = Env::process();
    match command {
        Command::Serve => {
            let config = env.server()?;
            migrate(config.database.url.expose()).await?;
            let listener = TcpListener::bind(config.bind)?;
            let scheme = if config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            tracing::info!(address = %config.bind, scheme, "serving");
            server::start(&config, listener)?.await?;
            tracing::info!("stopped");
        }
        Command::Migrate => {
            let applied = migrate(env.database()?.url.expose()).await?;
            println!("{}", serde_json::json!({ "applied": applied }));
        }
        Command::DemoSeed => {
            let mut conn = AsyncPgConnection::establish(env.database()?.url.expose()).await?;
            let demo = demo_seed::seed(&mut conn).await?;
            println!("{}", serde_json::to_string_pretty(&demo)?);
        }
        Command::Admin(command) => {
            let mut conn = AsyncPgConnection::establish(env.database()?.url.expose()).await?;
            admin::run(&mut conn, command).await?;
        }
        Command::Openapi => {
            println!("{}", tillcode_api::openapi::document().to_pretty_json()?);
        }
        Command::VerifyLedger { textfile: out } => {
            let mut conn = AsyncPgConnection::establish(env.database()?.url.expose()).await?;
            let report = ledger::verify(&mut conn).await?;
            if let Some(path) = out {
                let metrics =
                    textfile::verify_ledger_metrics(report.ok, std::time::SystemTime::now());
                textfile::write_atomic(&path, &metrics)?;
            }
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.ok {
                return Err(CliError::LedgerViolated);
            }
        }
    }
    Ok(())
}

/// Migrations use blocking libpq; keep them off the async workers.
async fn migrate(url: &str) -> Result<Vec<String>, CliError> {
    let url = url.to_owned();
    let applied = tokio::task::spawn_blocking(move || tillcode_ledger::migrate::run(&url))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    for version in &applied {
        tracing::info!(%version, "migration applied");
    }
    Ok(applied)
}
