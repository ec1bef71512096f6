//! The commands a till runs all day, each signed as the enrolled terminal.
//! Money-moving ones print the idempotency key they used, so that a script
//! (or a cashier) can settle an unknown outcome by running them again with
//! it.

use serde::Serialize;
use tillcode_cashier::client::{AccrualTarget, AccrueRequest, RedeemRequest};
use tillcode_cashier::{IdempotencyKey, decode_qr_file};
use tillcode_protocol::{Amount, TransferId};

use super::args::{AccrueTarget, KeyArg, RedeemCode, SaleArgs};
use super::context::Context;
use super::{CliResult, Failure, output};

/// A money movement's answer and the key that made it.
#[derive(Serialize)]
struct WithKey<'a, T: Serialize> {
    #[serde(flatten)]
    answer: T,
    idempotency_key: &'a IdempotencyKey,
}

fn print_with_key(answer: impl Serialize, key: &IdempotencyKey) -> CliResult<()> {
    output::json(&WithKey {
        answer,
        idempotency_key: key,
    })?;
    Ok(())
}

/// The key given, or a fresh one for this invocation.
fn key_or_new(arg: KeyArg) -> CliResult<IdempotencyKey> {
    match arg.idempotency_key {
        Some(key) => Ok(key),
        None => Ok(IdempotencyKey::generate()?),
    }
}

pub async fn status(ctx: &Context) -> CliResult<()> {
    let (_, terminal) = ctx.terminal()?;
    output::json(&terminal.status().await?)?;
    Ok(())
}

pub async fn redeem(
    ctx: &Context,
    code: RedeemCode,
    amount: Amount,
    earn: Option<Amount>,
    sale: SaleArgs,
) -> CliResult<()> {
    // Loaded first: a till that is not enrolled should say so before it
    // asks for a picture to be decoded.
    let (_, terminal) = ctx.terminal()?;
    let code = match (code.code, code.image) {
        (Some(code), _) => code,
        (None, Some(image)) => decode_qr_file(&image)?,
        // clap's group makes one of the two required.
        (None, None) => return Err(super::Usage("give --code or --image".into()).into()),
    };
    let key = key_or_new(sale.key)?;
    let request = RedeemRequest {
        code,
        amount,
        earn,
        reference: sale.reference,
    };
    let redemption = terminal
        .redeem(&request, &key)
        .await
        .map_err(|e| Failure::api(e, Some(&key)))?;
    print_with_key(redemption, &key)
}

pub async fn accrue(
    ctx: &Context,
    customer: AccrueTarget,
    amount: Amount,
    sale: SaleArgs,
) -> CliResult<()> {
    let (_, terminal) = ctx.terminal()?;
    let target = match (customer.code, customer.customer) {
        (Some(code), _) => AccrualTarget::Code(code),
        (None, Some(id)) => AccrualTarget::Customer(id),
        (None, None) => return Err(super::Usage("give --code or --customer".into()).into()),
    };
    let key = key_or_new(sale.key)?;
    let request = AccrueRequest {
        target,
        amount,
        reference: sale.reference,
    };
    let accrual = terminal
        .accrue(&request, &key)
        .await
        .map_err(|e| Failure::api(e, Some(&key)))?;
    print_with_key(accrual, &key)
}

pub async fn void(ctx: &Context, id: TransferId, key: KeyArg) -> CliResult<()> {
    let (_, terminal) = ctx.terminal()?;
    let key = key_or_new(key)?;
    let void = terminal
        .void(id, &key)
        .await
        .map_err(|e| Failure::api(e, Some(&key)))?;
    print_with_key(void, &key)
}

pub async fn refund(ctx: &Context, id: TransferId, amount: Amount, key: KeyArg) -> CliResult<()> {
    let (_, terminal) = ctx.terminal()?;
    let key = key_or_new(key)?;
    let refund = terminal
        .refund(id, amount, &key)
        .await
        .map_err(|e| Failure::api(e, Some(&key)))?;
    print_with_key(refund, &key)
}

pub async fn recent(
    ctx: &Context,
    limit: Option<u32>,
    starting_after: Option<TransferId>,
) -> CliResult<()> {
    let (_, terminal) = ctx.terminal()?;
    output::json(&terminal.transactions(limit, starting_after).await?)?;
    Ok(())
}
