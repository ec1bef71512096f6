//! `tillcode-customer`: a customer device from the command line.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    // One thread is plenty for one request at a time, and the runtime lives
    // here only: the library never starts one.
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Into::into)
        .and_then(|runtime| runtime.block_on(cli::run(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tillcode-customer: {err}");
            ExitCode::FAILURE
        }
    }
}
