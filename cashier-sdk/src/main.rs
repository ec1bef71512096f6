//! `tillcode-cashier`: a cashier terminal from the command line.

use std::fs;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tillcode_cashier::content_digest;

#[derive(Parser)]
#[command(name = "tillcode-cashier", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the Content-Digest header value (RFC 9530, sha-256) for a
    /// request body.
    Digest {
        /// The body, byte for byte; `-` reads standard input.
        #[arg(default_value = "-", value_name = "FILE|-")]
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tillcode-cashier: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Digest { file } => {
            let body = if file.as_os_str() == "-" {
                let mut body = Vec::new();
                io::stdin().lock().read_to_end(&mut body)?;
                body
            } else {
                fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?
            };
            // writeln! rather than println!, which panics when stdout is closed.
            writeln!(io::stdout().lock(), "{}", content_digest(&body))?;
        }
    }
    Ok(())
}
