//! `tillcode-customer`: a customer device from the command line.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tillcode_customer::{DeviceKey, Overwrite};

#[derive(Parser)]
#[command(name = "tillcode-customer", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate this device's key into a new file readable only by you, and
    /// print its public key and fingerprint as JSON.
    Keygen {
        #[arg(long, env = "TILLCODE_KEY_FILE", value_name = "PATH")]
        key_file: PathBuf,
        /// Replace an existing key file. The old key is lost, and the device
        /// registered with it stops working.
        #[arg(long)]
        force: bool,
    },
    /// Print the public key and fingerprint of a stored key as JSON.
    ShowKey {
        #[arg(long, env = "TILLCODE_KEY_FILE", value_name = "PATH")]
        key_file: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tillcode-customer: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let key = match cli.command {
        Command::Keygen { key_file, force } => {
            let key = DeviceKey::generate()?;
            let overwrite = if force {
                Overwrite::Replace
            } else {
                Overwrite::Refuse
            };
            key.save(&key_file, overwrite)?;
            key
        }
        Command::ShowKey { key_file } => DeviceKey::load(&key_file)?,
    };
    let summary = serde_json::json!({
        "public_key": key.public_key_base32(),
        "fingerprint": key.fingerprint(),
    });
    // writeln! rather than println!, which panics when stdout is closed.
    writeln!(io::stdout().lock(), "{summary}")?;
    Ok(())
}
