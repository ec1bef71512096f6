//! `tillcode-cashier`: a cashier terminal from the command line.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // clap reports a usage mistake itself, with exit status 2.
    let args = cli::args::Cli::parse();
    // One thread is plenty for one request at a time, and the runtime lives
    // here only: the library never starts one.
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(cli::Failure::local)
        .and_then(|runtime| runtime.block_on(cli::run(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Some(json) = failure.stdout_json() {
                // Best effort: the exit status and standard error still tell.
                let _ = writeln!(std::io::stdout().lock(), "{json}");
            }
            eprintln!("tillcode-cashier: {}", failure.message());
            ExitCode::from(failure.exit_code())
        }
    }
}
