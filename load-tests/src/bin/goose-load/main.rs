//! Goose load tests of the whole API: `seed` makes a data set through the
//! API (a merchant, 20 enrolled terminals, 10,000 customers with a phone and
//! a balance each), `run` drives one workload against it with every request
//! signed by the cashier SDK and every code made by the customer SDK, checks
//! every answer, and reconciles the balances with the database afterwards.
//!
//! ```sh
//! goose-load seed --api http://127.0.0.1:8080 --database-url postgres://... --dir /dev/shm/tc
//! goose-load run --dir /dev/shm/tc --database-url postgres://... --workload redeem --users 32 --seconds 20
//! ```
//!
//! `run` prints one JSON line (also written to `--summary`): per operation
//! the acknowledged, ok and failed counts with the reasons, the rate and
//! latency percentiles over the window when every user was running, and the
//! reconciliation. It exits 1 when an answer was wrong or a balance does not
//! reconcile. `ops/bench.sh` runs it next to pgbench.

mod api;
mod context;
mod cpu;
mod dataset;
mod recorder;
mod run;
mod seed;
mod workloads;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "goose-load", about = "Goose load tests of the Tillcode API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a data set through the API.
    Seed(seed::SeedArgs),
    /// Run one workload against a seeded API.
    Run(run::RunArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Seed(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(seed::seed(args)).map(|()| true)),
        Command::Run(args) => run::run(args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "goose-load: wrong answers or balances that do not reconcile (see the summary)"
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("goose-load: {e:#}");
            ExitCode::from(2)
        }
    }
}
