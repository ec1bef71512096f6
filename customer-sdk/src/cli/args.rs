//! The command line. Passwords are deliberately not arguments: see `secrets`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tillcode_protocol::MerchantId;
use uuid::Uuid;

/// A customer device from the command line. Every command prints JSON on
/// standard output (one object a line); errors go to standard error, with
/// the API's problem type when there is one, and exit with status 1.
#[derive(Debug, Parser)]
#[command(name = "tillcode-customer", version)]
pub struct Cli {
    /// The API address: https://, or http:// to this machine only (unless
    /// --insecure-http) [default: the one in device.json, else
    /// http://127.0.0.1:8080].
    #[arg(long, env = "TILLCODE_API", global = true, value_name = "URL")]
    pub api: Option<String>,
    /// Trust only the certificate authorities in this PEM file, not the
    /// system's: for an https:// API whose certificate a private CA signed.
    #[arg(long, env = "TILLCODE_CA_CERT", global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Allow plain http:// to another machine, sending passwords and tokens
    /// in clear (plain HTTP to this machine needs no flag).
    #[arg(long, global = true)]
    pub insecure_http: bool,
    /// The customer home directory, holding device.key and device.json
    /// [default: $HOME/.tillcode-customer].
    #[arg(
        long,
        env = "TILLCODE_CUSTOMER_HOME",
        global = true,
        value_name = "DIR"
    )]
    pub home: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a customer account (password: first line of standard input)
    /// and register this device with it.
    Signup {
        #[command(flatten)]
        account: AccountArgs,
        #[arg(long, value_name = "NAME")]
        display_name: String,
        #[command(flatten)]
        device: NewDeviceArgs,
    },
    /// Sign in (password: first line of standard input) and register this
    /// device.
    Login {
        #[command(flatten)]
        account: AccountArgs,
        #[command(flatten)]
        device: NewDeviceArgs,
    },
    /// Make a payment code and print it; offline and numeric codes need no
    /// network.
    Code {
        #[arg(long, value_enum, default_value_t = CodeKind::Offline)]
        kind: CodeKind,
        #[command(flatten)]
        render: RenderArgs,
    },
    /// Show the balance.
    Balance,
    /// Show the ledger history, newest first, one page.
    History {
        /// 1 to 100 [server default: 20].
        #[arg(long)]
        limit: Option<u32>,
        /// The `next_cursor` of the previous page.
        #[arg(long, value_name = "TRANSFER_ID")]
        starting_after: Option<Uuid>,
    },
    /// List this customer's devices.
    Devices,
    /// Rename one of this customer's devices.
    RenameDevice { id: Uuid, name: String },
    /// Revoke one of this customer's devices (this one included).
    RevokeDevice { id: Uuid },
    /// Change the password (current, then new: two lines of standard input).
    /// Every other device of the customer is revoked.
    ChangePassword,
    /// Add a device to this customer with a single-use link code.
    #[command(subcommand)]
    Link(LinkCommand),
    /// Render any payload as a QR code (for checking scanners).
    #[command(hide = true)]
    Qr {
        payload: String,
        #[command(flatten)]
        render: RenderArgs,
    },
    /// Generate a device key into a new file readable only by you, and print
    /// its public key and fingerprint.
    Keygen {
        /// [default: device.key in the home directory]
        #[arg(long, env = "TILLCODE_KEY_FILE", value_name = "PATH")]
        key_file: Option<PathBuf>,
        /// Replace an existing key file. The old key is lost, and the device
        /// registered with it stops working.
        #[arg(long)]
        force: bool,
    },
    /// Print the public key and fingerprint of a stored key.
    ShowKey {
        /// [default: device.key in the home directory]
        #[arg(long, env = "TILLCODE_KEY_FILE", value_name = "PATH")]
        key_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// On a registered device: show a link code, wait for a device to join
    /// with it, and approve or reject that device.
    Create {
        /// Approve the device that joins without asking.
        #[arg(long, conflicts_with = "reject")]
        approve: bool,
        /// Reject the device that joins without asking.
        #[arg(long)]
        reject: bool,
    },
    /// On the new device: join with the code another device shows. The
    /// device works once that device approves it.
    Join {
        /// The `TC1L…` code.
        payload: String,
        /// The merchant of the account being joined (the link code does not
        /// carry it).
        #[arg(long = "merchant", value_name = "ID")]
        merchant: MerchantId,
        #[command(flatten)]
        device: NewDeviceArgs,
    },
}

#[derive(Debug, Args)]
pub struct AccountArgs {
    #[arg(long = "merchant", value_name = "ID")]
    pub merchant: MerchantId,
    #[arg(long)]
    pub email: String,
}

#[derive(Debug, Args)]
pub struct NewDeviceArgs {
    /// The name shown when listing, approving or revoking this device.
    #[arg(long, value_name = "NAME")]
    pub device_name: String,
    /// Register a new key even though the home already holds a registered
    /// device. Revoke the old device first: its key is replaced.
    #[arg(long)]
    pub replace_device: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CodeKind {
    /// A signed token made on this device (`TC1F…`).
    Offline,
    /// A single-use key from the server (`TC1K…`).
    Online,
    /// 18 digits for typing in by hand.
    Numeric,
}

#[derive(Debug, Default, Args)]
pub struct RenderArgs {
    /// Write the QR code as a PNG image to FILE.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Write the QR code as an SVG image to FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Print the QR code on standard output, after the JSON line.
    #[arg(long)]
    pub terminal: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("tillcode-customer").chain(args.iter().copied()))
    }

    const MERCHANT: &str = "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00";

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn signup_takes_everything_but_the_password_as_arguments() {
        let cli = parse(&[
            "signup",
            "--merchant",
            MERCHANT,
            "--email",
            "ana@example.com",
            "--display-name",
            "Ana",
            "--device-name",
            "Ana's phone",
            "--home",
            "/tmp/h",
        ])
        .unwrap();
        assert_eq!(cli.home, Some(PathBuf::from("/tmp/h")));
        let Command::Signup {
            account,
            display_name,
            device,
        } = cli.command
        else {
            panic!("{:?}", cli.command);
        };
        assert_eq!(account.merchant.to_string(), MERCHANT);
        assert_eq!(account.email, "ana@example.com");
        assert_eq!(display_name, "Ana");
        assert_eq!(device.device_name, "Ana's phone");
        assert!(!device.replace_device);
    }

    #[test]
    fn a_password_argument_is_refused() {
        let err = parse(&[
            "login",
            "--merchant",
            MERCHANT,
            "--email",
            "a@b.c",
            "--device-name",
            "p",
            "--password",
            "hunter2",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }

    #[test]
    fn a_merchant_that_is_not_a_uuid_is_refused() {
        let err = parse(&[
            "login",
            "--merchant",
            "acme",
            "--email",
            "a@b.c",
            "--device-name",
            "p",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn code_defaults_to_an_offline_code_and_takes_every_rendering() {
        let cli = parse(&["code"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Code {
                kind: CodeKind::Offline,
                ..
            }
        ));
        let cli = parse(&[
            "code",
            "--kind",
            "numeric",
            "--png",
            "a.png",
            "--svg",
            "a.svg",
            "--terminal",
        ])
        .unwrap();
        let Command::Code { kind, render } = cli.command else {
            panic!();
        };
        assert_eq!(kind, CodeKind::Numeric);
        assert_eq!(render.png, Some(PathBuf::from("a.png")));
        assert_eq!(render.svg, Some(PathBuf::from("a.svg")));
        assert!(render.terminal);
        assert!(parse(&["code", "--kind", "static"]).is_err());
    }

    #[test]
    fn global_options_may_follow_the_subcommand() {
        let cli = parse(&["balance", "--api", "http://api.test:9000"]).unwrap();
        assert_eq!(cli.api.as_deref(), Some("http://api.test:9000"));
        assert!(!cli.insecure_http);
        let cli = parse(&["balance", "--ca-cert", "ca.pem", "--insecure-http"]).unwrap();
        assert_eq!(cli.ca_cert, Some(PathBuf::from("ca.pem")));
        assert!(cli.insecure_http);
    }

    #[test]
    fn link_create_cannot_both_approve_and_reject() {
        assert!(parse(&["link", "create", "--approve"]).is_ok());
        let err = parse(&["link", "create", "--approve", "--reject"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn link_join_needs_the_merchant_and_a_device_name() {
        assert!(parse(&["link", "join", "TC1LAAAA", "--device-name", "Tablet"]).is_err());
        let cli = parse(&[
            "link",
            "join",
            "TC1LAAAA",
            "--merchant",
            MERCHANT,
            "--device-name",
            "Tablet",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Link(LinkCommand::Join { .. })
        ));
    }

    #[test]
    fn history_paging_arguments_are_typed() {
        let cli = parse(&["history", "--limit", "5", "--starting-after", MERCHANT]).unwrap();
        let Command::History {
            limit,
            starting_after,
        } = cli.command
        else {
            panic!();
        };
        assert_eq!(limit, Some(5));
        assert_eq!(starting_after.unwrap().to_string(), MERCHANT);
        assert!(parse(&["history", "--limit", "-1"]).is_err());
    }

    #[test]
    fn the_qr_debugging_command_is_hidden_from_help() {
        let help = Cli::command().render_help().to_string();
        assert!(!help.contains("\n  qr "), "{help}");
        assert!(parse(&["qr", "TC1KAAAA", "--png", "x.png"]).is_ok());
    }
}
