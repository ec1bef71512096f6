//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tillcode_cashier::IdempotencyKey;
use tillcode_protocol::{Amount, CustomerId, StoreId, TransferId};

/// The longest sale reference the API stores.
pub const MAX_REFERENCE_CHARS: usize = 64;

/// A cashier terminal from the command line.
///
/// Every command prints one JSON object on standard output. Exit status: 0
/// done; 1 the server refused (its problem document on standard output);
/// 2 a usage or configuration mistake; 3 the outcome is unknown (no answer
/// after every attempt): run the same command again with the idempotency
/// key printed, and the server answers the first outcome instead of
/// charging twice.
#[derive(Debug, Parser)]
#[command(name = "tillcode-cashier", version)]
pub struct Cli {
    /// The API address: https://, or http:// to this machine only (unless
    /// --insecure-http) [default: the one in terminal.json, else
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
    /// The terminal home directory, holding terminal.key and terminal.json
    /// [default: $HOME/.tillcode-cashier].
    #[arg(long, env = "TILLCODE_CASHIER_HOME", global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Attempts per request when there is no answer, a timeout or a server
    /// error; every attempt reuses the idempotency key and the body.
    #[arg(
        long,
        global = true,
        default_value_t = 3,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=10)
    )]
    pub attempts: u32,
    /// Seconds to wait for the answer to one attempt.
    #[arg(
        long,
        global = true,
        default_value_t = 10,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..=300)
    )]
    pub timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Enroll this terminal with the code a manager created on the
    /// dashboard. It can sell once the manager approves it, comparing the
    /// fingerprint printed here.
    Enroll {
        /// The store the terminal is in.
        #[arg(long, value_name = "ID")]
        store: StoreId,
        /// The enrollment code, XXXX-XXXX.
        #[arg(long, value_name = "XXXX-XXXX")]
        code: String,
        /// The name the manager sees when approving the terminal.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Enroll with a new key even though the home already holds an
        /// enrolled terminal. Have the old terminal revoked: its key is
        /// replaced.
        #[arg(long)]
        replace: bool,
    },
    /// Show this terminal as the server sees it (pending, active, suspended
    /// or revoked).
    Status,
    /// Take payment from a customer's balance with the code their phone
    /// shows.
    Redeem {
        #[command(flatten)]
        code: RedeemCode,
        /// What to take from the balance, in the program's unit.
        #[arg(long, value_name = "N", value_parser = parse_amount)]
        amount: Amount,
        /// What to add to the balance for the same sale.
        #[arg(long, value_name = "N", value_parser = parse_amount)]
        earn: Option<Amount>,
        #[command(flatten)]
        sale: SaleArgs,
    },
    /// Add to a customer's balance.
    Accrue {
        #[command(flatten)]
        customer: AccrueTarget,
        #[arg(long, value_name = "N", value_parser = parse_amount)]
        amount: Amount,
        #[command(flatten)]
        sale: SaleArgs,
    },
    /// Give a whole redemption back to the customer.
    Void {
        /// The redemption_id that `redeem` printed.
        #[arg(value_name = "REDEMPTION_ID")]
        id: TransferId,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Give part of a redemption back to the customer.
    Refund {
        /// The redemption_id that `redeem` printed.
        #[arg(value_name = "REDEMPTION_ID")]
        id: TransferId,
        #[arg(long, value_name = "N", value_parser = parse_amount)]
        amount: Amount,
        #[command(flatten)]
        key: KeyArg,
    },
    /// List this terminal's recent transactions, newest first, one page.
    Recent {
        /// 1 to 100 [server default: 20].
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
        /// The `next_cursor` of the previous page.
        #[arg(long, value_name = "TRANSFER_ID")]
        starting_after: Option<TransferId>,
    },
    /// Print the headers this terminal would sign a request with, as JSON
    /// (for tests that send requests by other means, such as curl).
    #[command(hide = true)]
    SignRequest {
        #[arg(long, value_name = "METHOD")]
        method: String,
        /// The path as the server receives it, with any query: `/v1/...`.
        #[arg(long, value_name = "PATH")]
        path: String,
        /// The body, byte for byte.
        #[arg(long, value_name = "STRING")]
        body: Option<String>,
        /// Sign with this key; without it there is no Idempotency-Key.
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<IdempotencyKey>,
    },
    /// Print the Content-Digest header value (RFC 9530, sha-256) for a
    /// request body.
    Digest {
        /// The body, byte for byte; `-` reads standard input.
        #[arg(default_value = "-", value_name = "FILE|-")]
        file: PathBuf,
    },
}

/// Where the code to redeem comes from.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RedeemCode {
    /// The payload, as a scanner reads it off the phone.
    #[arg(long, value_name = "PAYLOAD")]
    pub code: Option<String>,
    /// A PNG picture of the phone's QR code.
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
}

/// Whose balance to add to.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct AccrueTarget {
    /// A payment code the customer shows.
    #[arg(long, value_name = "PAYLOAD")]
    pub code: Option<String>,
    #[arg(long, value_name = "ID")]
    pub customer: Option<CustomerId>,
}

#[derive(Debug, Args)]
pub struct SaleArgs {
    #[command(flatten)]
    pub key: KeyArg,
    /// The till's own reference for the sale (1 to 64 characters).
    #[arg(long, value_name = "R", value_parser = parse_reference)]
    pub reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeyArg {
    /// The key that makes a retry safe [default: a new random one, printed].
    /// Run a command again with the key it printed to settle an unknown
    /// outcome without charging twice.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<IdempotencyKey>,
}

fn parse_amount(text: &str) -> Result<Amount, String> {
    let value: i128 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    Amount::try_from(value).map_err(|e| e.to_string())
}

/// The API's rule: 1 to 64 characters, none of them a control character.
fn parse_reference(text: &str) -> Result<String, String> {
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_REFERENCE_CHARS {
        return Err(format!(
            "a reference is 1 to {MAX_REFERENCE_CHARS} characters, this one is {chars}"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err("a reference has no control characters".into());
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("tillcode-cashier").chain(args.iter().copied()))
    }

    const ID: &str = "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f10";

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn enroll_takes_the_store_code_and_name() {
        let cli = parse(&[
            "enroll",
            "--store",
            ID,
            "--code",
            "BCDF-GHJK",
            "--name",
            "Till 1",
            "--home",
            "/tmp/h",
        ])
        .unwrap();
        assert_eq!(cli.home, Some(PathBuf::from("/tmp/h")));
        let Command::Enroll {
            store,
            code,
            name,
            replace,
        } = cli.command
        else {
            panic!("{:?}", cli.command);
        };
        assert_eq!(store.to_string(), ID);
        assert_eq!(code, "BCDF-GHJK");
        assert_eq!(name, "Till 1");
        assert!(!replace);
        let err =
            parse(&["enroll", "--store", "shop-1", "--code", "x", "--name", "y"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueValidation);
    }

    #[test]
    fn redeem_needs_exactly_one_of_a_code_and_an_image() {
        let cli = parse(&["redeem", "--code", "TC1K", "--amount", "30", "--earn", "3"]).unwrap();
        let Command::Redeem {
            code,
            amount,
            earn,
            sale,
        } = cli.command
        else {
            panic!();
        };
        assert_eq!(code.code.as_deref(), Some("TC1K"));
        assert_eq!(amount.get(), 30);
        assert_eq!(earn.map(Amount::get), Some(3));
        assert!(sale.key.idempotency_key.is_none());

        let none = parse(&["redeem", "--amount", "30"]).unwrap_err();
        assert_eq!(none.kind(), ErrorKind::MissingRequiredArgument);
        let both = parse(&["redeem", "--code", "A", "--image", "a.png", "--amount", "1"]);
        assert_eq!(both.unwrap_err().kind(), ErrorKind::ArgumentConflict);
    }

    #[test]
    fn amounts_must_be_positive_whole_numbers_in_range() {
        for bad in [
            "0",
            "-5",
            "1.5",
            "x",
            "1000000000000001",
            "99999999999999999999999",
        ] {
            // `=` so that "-5" is read as a value, not as a flag.
            let arg = format!("--amount={bad}");
            let err = parse(&["redeem", "--code", "A", &arg]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ValueValidation, "{bad}");
        }
        assert!(parse(&["redeem", "--code", "A", "--amount", "1000000000000000"]).is_ok());
    }

    #[test]
    fn accrue_takes_a_code_or_a_customer_but_not_both() {
        assert!(parse(&["accrue", "--customer", ID, "--amount", "5"]).is_ok());
        assert!(parse(&["accrue", "--code", "TC1K", "--amount", "5"]).is_ok());
        let both = parse(&["accrue", "--code", "A", "--customer", ID, "--amount", "5"]);
        assert_eq!(both.unwrap_err().kind(), ErrorKind::ArgumentConflict);
        assert!(parse(&["accrue", "--amount", "5"]).is_err());
    }

    #[test]
    fn idempotency_keys_and_references_are_checked_before_anything_is_sent() {
        let cli = parse(&["void", ID, "--idempotency-key", "order-1042-void"]).unwrap();
        let Command::Void { key, .. } = cli.command else {
            panic!();
        };
        assert_eq!(key.idempotency_key.unwrap().as_str(), "order-1042-void");

        let spaced = parse(&["void", ID, "--idempotency-key", "a b"]).unwrap_err();
        assert_eq!(spaced.kind(), ErrorKind::ValueValidation);
        let long = "r".repeat(MAX_REFERENCE_CHARS + 1);
        let err = parse(&[
            "accrue",
            "--customer",
            ID,
            "--amount",
            "1",
            "--reference",
            &long,
        ]);
        assert_eq!(err.unwrap_err().kind(), ErrorKind::ValueValidation);
        for bad in ["", "line\nbreak"] {
            let err = parse(&[
                "accrue",
                "--customer",
                ID,
                "--amount",
                "1",
                "--reference",
                bad,
            ]);
            assert_eq!(
                err.unwrap_err().kind(),
                ErrorKind::ValueValidation,
                "{bad:?}"
            );
        }
        let fits = "é".repeat(MAX_REFERENCE_CHARS);
        assert!(
            parse(&[
                "accrue",
                "--customer",
                ID,
                "--amount",
                "1",
                "--reference",
                &fits
            ])
            .is_ok()
        );
    }

    #[test]
    fn refund_needs_an_amount_and_void_does_not_take_one() {
        assert!(parse(&["refund", ID, "--amount", "5"]).is_ok());
        assert!(parse(&["refund", ID]).is_err());
        assert!(parse(&["void", ID, "--amount", "5"]).is_err());
        assert!(parse(&["void", "not-an-id"]).is_err());
    }

    #[test]
    fn global_options_may_follow_the_subcommand() {
        let cli = parse(&["status", "--api", "http://api.test:9000", "--attempts", "1"]).unwrap();
        assert_eq!(cli.api.as_deref(), Some("http://api.test:9000"));
        assert_eq!(cli.attempts, 1);
        assert_eq!(cli.timeout, 10);
        assert!(parse(&["status", "--attempts", "0"]).is_err());
        assert!(!cli.insecure_http);
        let cli = parse(&["status", "--ca-cert", "ca.pem", "--insecure-http"]).unwrap();
        assert_eq!(cli.ca_cert, Some(PathBuf::from("ca.pem")));
        assert!(cli.insecure_http);
    }

    #[test]
    fn sign_request_is_hidden_from_help_and_digest_is_kept() {
        let help = Cli::command().render_help().to_string();
        assert!(!help.contains("sign-request"), "{help}");
        assert!(help.contains("digest"), "{help}");
        let cli = parse(&[
            "sign-request",
            "--method",
            "POST",
            "--path",
            "/v1/redemptions",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::SignRequest { body: None, .. }
        ));
    }

    #[test]
    fn recent_paging_arguments_are_typed() {
        let cli = parse(&["recent", "--limit", "5", "--starting-after", ID]).unwrap();
        let Command::Recent {
            limit,
            starting_after,
        } = cli.command
        else {
            panic!();
        };
        assert_eq!(limit, Some(5));
        assert_eq!(starting_after.unwrap().to_string(), ID);
        assert!(parse(&["recent", "--limit", "-1"]).is_err());
    }
}
