//! The `tillcode-customer` commands, one module per group.

mod account;
pub mod args;
mod codes;
mod context;
mod enroll;
mod keys;
mod link;
mod output;
mod secrets;

use tillcode_customer::Home;

use args::{Cli, Command, LinkCommand};
use context::Context;

pub type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

/// A mistake in what the user asked, explained in the message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

pub async fn run(cli: Cli) -> CliResult<()> {
    let home = match cli.home {
        Some(dir) => Home::new(dir),
        None => Home::default_location()?,
    };
    let ctx = Context::new(home, cli.api, cli.ca_cert, cli.insecure_http);
    match cli.command {
        Command::Signup {
            account,
            display_name,
            device,
        } => enroll::signup(&ctx, &account, &display_name, &device).await,
        Command::Login { account, device } => enroll::login(&ctx, &account, &device).await,
        Command::Code { kind, render } => codes::code(&ctx, kind, &render).await,
        Command::Balance => account::balance(&ctx).await,
        Command::History {
            limit,
            starting_after,
        } => account::history(&ctx, limit, starting_after).await,
        Command::Devices => account::devices(&ctx).await,
        Command::RenameDevice { id, name } => account::rename_device(&ctx, id, &name).await,
        Command::RevokeDevice { id } => account::revoke_device(&ctx, id).await,
        Command::ChangePassword => account::change_password(&ctx).await,
        Command::Link(LinkCommand::Create { approve, reject }) => {
            let decision = match (approve, reject) {
                (true, _) => link::Decision::Approve,
                (_, true) => link::Decision::Reject,
                _ => link::Decision::Ask,
            };
            link::create(&ctx, decision).await
        }
        Command::Link(LinkCommand::Join {
            payload,
            merchant,
            device,
        }) => enroll::join(&ctx, &payload, merchant, &device).await,
        Command::Qr { payload, render } => codes::qr(&payload, &render),
        Command::Keygen { key_file, force } => keys::keygen(&ctx, key_file, force),
        Command::ShowKey { key_file } => keys::show_key(&ctx, key_file),
    }
}
