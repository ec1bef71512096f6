//! `link create`: show a link code, wait for a device to join with it, and
//! let the person decide. Output is a JSON line per step (created, joined,
//! decided), each flushed as it happens, so a script can read the code from
//! the first line while the command waits.

use std::time::Duration;

use serde_json::json;
use tillcode_customer::client::{LinkState, LinkStatus, LinkedDevice};
use tillcode_customer::qr;
use tillcode_protocol::ProblemType;
use tokio::time::{Instant, sleep};

use super::context::Context;
use super::{CliResult, Usage, output, secrets};

const POLL_EVERY: Duration = Duration::from_secs(1);
/// Polling goes on a little past the link's lifetime, so the server (not a
/// clock difference) says when it died.
const GRACE: Duration = Duration::from_secs(5);

/// What to do with the device that joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Ask,
    Approve,
    Reject,
}

pub async fn create(ctx: &Context, decision: Decision) -> CliResult<()> {
    let s = ctx.sign_in_device().await?;
    let link = s.client.create_link(&s.token).await?;
    output::json(&link)?;
    // For the person at the screen; standard output stays JSON.
    eprintln!("{}", qr::render_terminal(&link.payload)?);
    eprintln!(
        "On the new device: tillcode-customer link join {} --merchant {} --device-name NAME",
        link.payload, s.record.merchant_id
    );

    let deadline = Instant::now() + Duration::from_secs(link.expires_in) + GRACE;
    let joined = loop {
        let status = match s.client.link_status(&s.token, &link.link_id).await {
            // The server forgets a link when it expires.
            Err(e) if e.problem_type() == Some(ProblemType::NotFound) => {
                return Err(Usage("the link expired before a device joined".into()).into());
            }
            other => other?,
        };
        match status.status {
            LinkState::Waiting if Instant::now() < deadline => sleep(POLL_EVERY).await,
            LinkState::Waiting => {
                return Err(Usage("the link expired before a device joined".into()).into());
            }
            LinkState::Dead => {
                return Err(Usage(
                    "the link is dead: it expired or saw too many wrong attempts".into(),
                )
                .into());
            }
            // Decided elsewhere (another signed-in device): report it.
            LinkState::Approved | LinkState::Rejected => {
                return report(&link.link_id, &status);
            }
            LinkState::Joined => break joined_device(status)?,
        }
    };
    output::json(&json!({ "link_id": link.link_id, "status": "joined", "device": joined }))?;

    let approve = match decision {
        Decision::Approve => true,
        Decision::Reject => false,
        Decision::Ask => secrets::yes_or_no(&format!(
            "Approve device {:?} with key fingerprint {}?",
            joined.name, joined.fingerprint
        ))?,
    };
    if approve {
        s.client.approve_link(&s.token, &link.link_id).await?;
    } else {
        s.client.reject_link(&s.token, &link.link_id).await?;
    }
    let status = if approve { "approved" } else { "rejected" };
    output::json(&json!({ "link_id": link.link_id, "status": status, "device": joined }))?;
    Ok(())
}

fn joined_device(status: LinkStatus) -> Result<LinkedDevice, Usage> {
    status
        .device
        .ok_or_else(|| Usage("the API says a device joined but does not say which".into()))
}

fn report(link_id: &str, status: &LinkStatus) -> CliResult<()> {
    output::json(&json!({
        "link_id": link_id,
        "status": status.status,
        "device": status.device,
    }))?;
    Ok(())
}
