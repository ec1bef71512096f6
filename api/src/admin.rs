//! `tillcode-api admin ...`: the operator's commands on the server, for the
//! jobs the dashboard will also do. Every command prints JSON.

use std::io::BufRead;

use clap::Subcommand;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use tillcode_protocol::{MerchantId, ProblemType, TerminalId};
use uuid::Uuid;

use crate::error::ApiError;
use crate::staff::{self, Role};
use crate::terminals::enrollment::{self, TerminalAction, no_terminal_for};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a staff account; the password is read from the first line of stdin.
    CreateStaff {
        #[arg(long)]
        merchant: MerchantId,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["owner", "manager", "viewer"])]
        role: String,
    },
    /// Create a terminal enrollment for a store; prints its one-time code.
    CreateEnrollment {
        #[arg(long)]
        store: Uuid,
        /// Who hands the code out, for the audit trail.
        #[arg(long, default_value = "operator")]
        by: String,
    },
    /// List terminals, newest first.
    Terminals {
        #[arg(long)]
        merchant: Option<MerchantId>,
    },
    /// Approve a pending terminal (or resume a suspended one).
    ApproveTerminal { terminal: Uuid },
    /// Suspend an active terminal; its next request is refused.
    SuspendTerminal { terminal: Uuid },
    /// Revoke a terminal for good.
    RevokeTerminal { terminal: Uuid },
}

fn print(value: &impl Serialize) -> Result<(), ApiError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| ApiError::Internal(e.to_string()))?;
    println!("{text}");
    Ok(())
}

async fn change_status(
    conn: &mut AsyncPgConnection,
    terminal: Uuid,
    action: TerminalAction,
) -> Result<(), ApiError> {
    let terminal = TerminalId::from(terminal);
    match enrollment::set_status(conn, None, terminal, action, "operator").await? {
        Some(view) => print(&view),
        None => Err(no_terminal_for(terminal, action)),
    }
}

pub async fn run(conn: &mut AsyncPgConnection, command: AdminCommand) -> Result<(), ApiError> {
    match command {
        AdminCommand::CreateStaff {
            merchant,
            email,
            name,
            role,
        } => {
            let role = Role::parse(&role)
                .ok_or_else(|| ApiError::client(ProblemType::BadRequest, "unknown role"))?;
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .map_err(|e| ApiError::Internal(format!("reading the password: {e}")))?;
            let password = password.trim_end_matches(['\r', '\n']);
            print(&staff::create(conn, merchant, &email, &name, role, password).await?)
        }
        AdminCommand::CreateEnrollment { store, by } => {
            print(&enrollment::create(conn, store, &by).await?)
        }
        AdminCommand::Terminals { merchant } => print(&enrollment::list(conn, merchant).await?),
        AdminCommand::ApproveTerminal { terminal } => {
            change_status(conn, terminal, TerminalAction::Approve).await
        }
        AdminCommand::SuspendTerminal { terminal } => {
            change_status(conn, terminal, TerminalAction::Suspend).await
        }
        AdminCommand::RevokeTerminal { terminal } => {
            change_status(conn, terminal, TerminalAction::Revoke).await
        }
    }
}
