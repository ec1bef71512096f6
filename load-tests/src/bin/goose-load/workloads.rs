//! The goose transactions. Each request is signed by the cashier SDK (or
//! carries a device session or the manager's cookie), each code is made by
//! the customer SDK, and each answer is checked: status, and the body against
//! what this user knows (its accounts' balances, the amount it asked for).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use goose::goose::TransactionError;
use goose::metrics::GooseRequestMetric;
use goose::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::failure_reason;
use crate::context::{
    Code, Context, ONLINE_KEY_LIFE, ONLINE_LIVE_KEYS, REDEEM_PATH, SignedRedemption, UserState,
    Workload, ctx,
};
use crate::recorder::Outcome;

type Shared = Arc<Mutex<UserState>>;

fn custom(e: impl std::fmt::Display) -> Box<TransactionError> {
    Box::new(TransactionError::Custom(e.to_string()))
}

fn context() -> Result<&'static Context, Box<TransactionError>> {
    ctx().map_err(custom)
}

fn lock(state: &Shared) -> MutexGuard<'_, UserState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn shared(user: &GooseUser) -> Result<Shared, Box<TransactionError>> {
    user.get_session_data::<Shared>()
        .cloned()
        .ok_or_else(|| custom("user started without a plan"))
}

/// on_start: takes this user's plan.
pub async fn start(user: &mut GooseUser) -> TransactionResult {
    let context = context()?;
    let index = user.weighted_users_index;
    let plan = context
        .plans
        .get(index)
        .and_then(|slot| slot.lock().ok().and_then(|mut p| p.take()))
        .ok_or_else(|| custom(format!("no plan for user {index}")))?;
    let state: Shared = Arc::new(Mutex::new(UserState::new(index, plan, context)));
    user.set_session_data(state);
    context.recorder.user_started();
    Ok(())
}

/// on_start of a dashboard user: it needs no plan, but counts as started.
pub async fn start_dashboard(user: &mut GooseUser) -> TransactionResult {
    let context = context()?;
    let state = UserState::new(
        user.weighted_users_index,
        crate::context::Plan {
            till: 0,
            phones: Vec::new(),
            codes: Default::default(),
        },
        context,
    );
    user.set_session_data::<Shared>(Arc::new(Mutex::new(state)));
    context.recorder.user_started();
    Ok(())
}

/// Waits for this user's next slot when the run is paced.
async fn pace(state: &Shared) {
    let due = lock(state).pace();
    if let Some(due) = due {
        tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
    }
}

/// The main transaction of every workload but the dashboard's reads.
pub async fn step(user: &mut GooseUser) -> TransactionResult {
    let context = context()?;
    let state = shared(user)?;
    pace(&state).await;
    let step = {
        let mut s = lock(&state);
        s.step += 1;
        s.step
    };
    match context.workload {
        Workload::Redeem | Workload::Hot | Workload::Dashboard => {
            redeem_offline(user, context, &state, step).await
        }
        Workload::Accrual => accrue(user, context, &state, step).await,
        Workload::Online => online(user, context, &state, step).await,
        // 7 in 10 redeem, 2 in 10 accrue, 1 in 10 reads the balance.
        Workload::Mixed => match step % 10 {
            0..=6 => redeem_offline(user, context, &state, step).await,
            7 | 8 => accrue(user, context, &state, step).await,
            _ => balance(user, context, &state).await,
        },
        Workload::Healthz => healthz(user, context).await,
    }
}

/// `GET /healthz`: a 200 with `{"status":"ok"}`, nothing else.
async fn healthz(user: &mut GooseUser, context: &Context) -> TransactionResult {
    let builder = user.get_request_builder(&GooseMethod::Get, "/healthz")?;
    let started = Instant::now();
    let (metric, answer) = send(user, "healthz", builder).await?;
    let outcome = match answer {
        Err(e) => Outcome::Refused(e),
        Ok((status, bytes)) if status != 200 => Outcome::Refused(failure_reason(status, &bytes)),
        Ok((_, bytes)) if bytes.as_slice() == br#"{"status":"ok"}"# => Outcome::Ok,
        Ok((_, bytes)) => {
            Outcome::WrongAnswer(format!("healthz: {}", String::from_utf8_lossy(&bytes)))
        }
    };
    finish(user, context, "healthz", started, metric, outcome, None)
}

/// What came back: the status and body, or why nothing did.
type Answer = Result<(u16, Vec<u8>), String>;

async fn send(
    user: &mut GooseUser,
    name: &'static str,
    builder: reqwest::RequestBuilder,
) -> Result<(GooseRequestMetric, Answer), Box<TransactionError>> {
    let request = GooseRequest::builder()
        .name(name)
        .set_request_builder(builder)
        .build();
    let goose = user.request(request).await?;
    let answer = match goose.response {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(body) => Ok((status, body.to_vec())),
                Err(e) => Err(format!("transport: {e}")),
            }
        }
        Err(e) => Err(format!("transport: {e}")),
    };
    Ok((goose.request, answer))
}

/// A POST signed by the user's terminal.
fn signed_post(
    user: &GooseUser,
    context: &Context,
    state: &Shared,
    path: &str,
    body: &Value,
) -> Result<reqwest::RequestBuilder, Box<TransactionError>> {
    let till = &context.tills[lock(state).till];
    let bytes = serde_json::to_vec(body).map_err(custom)?;
    let headers = till.sign("POST", path, Some(&bytes)).map_err(custom)?;
    post_with(user, path, bytes, &headers)
}

/// A POST of `bytes` with the signed `headers` made for it.
fn post_with(
    user: &GooseUser,
    path: &str,
    bytes: Vec<u8>,
    headers: &tillcode_cashier::SignedHeaders,
) -> Result<reqwest::RequestBuilder, Box<TransactionError>> {
    let mut builder = user
        .get_request_builder(&GooseMethod::Post, path)?
        .header("Content-Type", "application/json");
    for (name, value) in headers.pairs() {
        builder = builder.header(name, value);
    }
    Ok(builder.body(bytes))
}

/// Records the outcome, and tells goose when it was a failure.
fn finish(
    user: &mut GooseUser,
    context: &Context,
    op: &'static str,
    started: Instant,
    mut metric: GooseRequestMetric,
    outcome: Outcome,
    delta: Option<(Uuid, i64)>,
) -> TransactionResult {
    let reason = match &outcome {
        Outcome::Ok => None,
        Outcome::WrongAnswer(r) | Outcome::Refused(r) => Some(r.clone()),
    };
    context.recorder.record(op, started, outcome, delta);
    match reason {
        None => Ok(()),
        Some(reason) => user.set_failure(&reason, &mut metric, None, None),
    }
}

fn field_i64(body: &Value, name: &str) -> Result<i64, String> {
    body[name]
        .as_i64()
        .ok_or_else(|| format!("no integer {name} in {body}"))
}

/// 1 to 5 points: varied, and never near a balance.
pub fn amount_for(step: u64) -> i64 {
    1 + (step % 5) as i64
}

async fn redeem_offline(
    user: &mut GooseUser,
    context: &Context,
    state: &Shared,
    step: u64,
) -> TransactionResult {
    let code = lock(state).next_code(context).map_err(custom)?;
    redeem(user, context, state, step, code, "offline").await
}

/// `POST /v1/redemptions` with `code`; the answer must show the amount, the
/// right balance after it, and the kind of code.
async fn redeem(
    user: &mut GooseUser,
    context: &Context,
    state: &Shared,
    step: u64,
    code: Code,
    kind: &'static str,
) -> TransactionResult {
    let account = context.phones[code.phone].account;
    let signed = match code.signed {
        Some(signed) if signed.fresh() => signed,
        _ => {
            if context.workload.only_redeems() {
                context
                    .recorder
                    .late_signatures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let till = &context.tills[lock(state).till];
            SignedRedemption::sign(till, &code.payload, amount_for(step)).map_err(custom)?
        }
    };
    let amount = signed.amount;
    let builder = post_with(user, REDEEM_PATH, signed.body, &signed.headers)?;
    let started = Instant::now();
    let (metric, answer) = send(user, "redeem", builder).await?;
    let (outcome, delta) = match answer {
        Err(e) => (Outcome::Refused(e), None),
        Ok((status, bytes)) if status != 201 => {
            (Outcome::Refused(failure_reason(status, &bytes)), None)
        }
        Ok((_, bytes)) => {
            let checked = check_redemption(context, state, account, amount, kind, &bytes);
            // A 201 is a committed debit, right answer or not.
            (checked, Some((account, -amount)))
        }
    };
    finish(user, context, "redeem", started, metric, outcome, delta)
}

fn check_redemption(
    context: &Context,
    state: &Shared,
    account: Uuid,
    amount: i64,
    kind: &str,
    bytes: &[u8],
) -> Outcome {
    let verdict = (|| {
        let body: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let after = field_i64(&body, "balance_after")?;
        if field_i64(&body, "amount")? != amount {
            return Err(format!("asked {amount}, answer {body}"));
        }
        if body["replayed"] != json!(false) || body["code_kind"] != json!(kind) {
            return Err(format!("expected a fresh {kind} redemption: {body}"));
        }
        body["redemption_id"]
            .as_str()
            .and_then(|id| id.parse::<Uuid>().ok())
            .ok_or_else(|| format!("no redemption_id: {body}"))?;
        let mut s = lock(state);
        if context.workload == Workload::Hot {
            // Others pay from the same account: each balance this user sees
            // is below the last one it saw, and never negative.
            let ok = after >= 0 && s.hot_last.is_none_or(|last| after < last);
            let last = s.hot_last.replace(after);
            if !ok {
                return Err(format!("balance {after} after {last:?}"));
            }
        } else {
            let expected = s.expected.get(&account).copied().unwrap_or_default() - amount;
            s.expected.insert(account, after);
            if after != expected {
                return Err(format!("balance_after {after}, expected {expected}"));
            }
        }
        Ok(())
    })();
    match verdict {
        Ok(()) => Outcome::Ok,
        Err(reason) => Outcome::WrongAnswer(format!("redeem: {reason}")),
    }
}

/// `POST /v1/accruals` with a scanned offline token.
async fn accrue(
    user: &mut GooseUser,
    context: &Context,
    state: &Shared,
    step: u64,
) -> TransactionResult {
    let code = lock(state).next_code(context).map_err(custom)?;
    let amount = amount_for(step) * 10;
    let account = context.phones[code.phone].account;
    let body = json!({"code": code.payload, "amount": amount});
    let builder = signed_post(user, context, state, "/v1/accruals", &body)?;
    let started = Instant::now();
    let (metric, answer) = send(user, "accrue", builder).await?;
    let (outcome, delta) = match answer {
        Err(e) => (Outcome::Refused(e), None),
        Ok((status, bytes)) if status != 201 => {
            (Outcome::Refused(failure_reason(status, &bytes)), None)
        }
        Ok((_, bytes)) => {
            let verdict = (|| {
                let body: Value =
                    serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))?;
                let after = field_i64(&body, "balance_after")?;
                if field_i64(&body, "amount")? != amount || body["replayed"] != json!(false) {
                    return Err(format!("asked a fresh {amount}: {body}"));
                }
                let mut s = lock(state);
                let expected = s.expected.get(&account).copied().unwrap_or_default() + amount;
                s.expected.insert(account, after);
                if after != expected {
                    return Err(format!("balance_after {after}, expected {expected}"));
                }
                Ok(())
            })();
            let outcome = match verdict {
                Ok(()) => Outcome::Ok,
                Err(reason) => Outcome::WrongAnswer(format!("accrue: {reason}")),
            };
            (outcome, Some((account, amount)))
        }
    };
    finish(user, context, "accrue", started, metric, outcome, delta)
}

/// `GET /v1/me/balance` from one of this user's phones: exactly what the
/// user's own redemptions and accruals left.
async fn balance(user: &mut GooseUser, context: &Context, state: &Shared) -> TransactionResult {
    let phone = lock(state).next_phone();
    let p = &context.phones[phone];
    let token = p
        .session
        .as_deref()
        .ok_or_else(|| custom("no device session"))?;
    let builder = user
        .get_request_builder(&GooseMethod::Get, "/v1/me/balance")?
        .bearer_auth(token);
    let started = Instant::now();
    let (metric, answer) = send(user, "balance", builder).await?;
    let outcome = match answer {
        Err(e) => Outcome::Refused(e),
        Ok((status, bytes)) if status != 200 => Outcome::Refused(failure_reason(status, &bytes)),
        Ok((_, bytes)) => {
            let expected = lock(state).expected.get(&p.account).copied();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let account = body["account_id"]
                .as_str()
                .and_then(|a| a.parse::<Uuid>().ok());
            if account == Some(p.account) && body["balance"].as_i64() == expected {
                Outcome::Ok
            } else {
                Outcome::WrongAnswer(format!("balance: expected {expected:?}: {body}"))
            }
        }
    };
    finish(user, context, "balance", started, metric, outcome, None)
}

/// A phone of this user that may hold another live online key, if any.
fn phone_for_online_key(state: &mut UserState) -> Option<usize> {
    let now = Instant::now();
    for _ in 0..state.phones.len() {
        let phone = state.next_phone();
        let issued = state.online_issued.entry(phone).or_default();
        while issued
            .front()
            .is_some_and(|t| now.duration_since(*t) > ONLINE_KEY_LIFE)
        {
            issued.pop_front();
        }
        if issued.len() < ONLINE_LIVE_KEYS {
            issued.push_back(now);
            return Some(phone);
        }
    }
    None
}

/// `POST /v1/me/online-keys` from a phone, then a redemption with the key.
async fn online(
    user: &mut GooseUser,
    context: &Context,
    state: &Shared,
    step: u64,
) -> TransactionResult {
    let picked = phone_for_online_key(&mut lock(state));
    let Some(phone) = picked else {
        // Every phone of this user holds its 5 live keys: wait for one to lapse.
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Ok(());
    };
    let token = context.phones[phone]
        .session
        .as_deref()
        .ok_or_else(|| custom("no device session"))?;
    let builder = user
        .get_request_builder(&GooseMethod::Post, "/v1/me/online-keys")?
        .bearer_auth(token);
    let started = Instant::now();
    let (metric, answer) = send(user, "online-key", builder).await?;
    let issued = match answer {
        Err(e) => Err(Outcome::Refused(e)),
        Ok((status, bytes)) if status != 201 => {
            Err(Outcome::Refused(failure_reason(status, &bytes)))
        }
        Ok((_, bytes)) => {
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            match (body["payload"].as_str(), body["expires_in"].as_u64()) {
                (Some(payload), Some(life)) if payload.starts_with("TC1K") && life > 0 => {
                    Ok(payload.to_owned())
                }
                _ => Err(Outcome::WrongAnswer(format!("online key: {body}"))),
            }
        }
    };
    match issued {
        Err(outcome) => finish(user, context, "online-key", started, metric, outcome, None),
        Ok(payload) => {
            finish(
                user,
                context,
                "online-key",
                started,
                metric,
                Outcome::Ok,
                None,
            )?;
            let code = Code {
                phone,
                payload,
                issued_at_ms: 0,
                signed: None,
            };
            redeem(user, context, state, step, code, "online").await
        }
    }
}

/// `GET /v1/dashboard/overview` as a signed-in manager: redemptions today
/// never go down between two reads.
pub async fn dashboard(user: &mut GooseUser) -> TransactionResult {
    let context = context()?;
    let state = shared(user)?;
    let cookie = context
        .staff_cookie
        .as_deref()
        .ok_or_else(|| custom("no manager session"))?;
    let builder = user
        .get_request_builder(&GooseMethod::Get, "/v1/dashboard/overview")?
        .header("Cookie", cookie);
    let started = Instant::now();
    let (metric, answer) = send(user, "dashboard", builder).await?;
    let outcome = match answer {
        Err(e) => Outcome::Refused(e),
        Ok((status, bytes)) if status != 200 => Outcome::Refused(failure_reason(status, &bytes)),
        Ok((_, bytes)) => {
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let today = body["today"]["redemptions"].as_i64();
            let liability = body["liability"].as_i64();
            let mut s = lock(&state);
            match (today, liability) {
                (Some(today), Some(liability))
                    if today >= s.dashboard_redemptions && liability >= 0 =>
                {
                    s.dashboard_redemptions = today;
                    Outcome::Ok
                }
                _ => Outcome::WrongAnswer(format!(
                    "dashboard: redemptions today went from {} to {today:?} (liability {liability:?})",
                    s.dashboard_redemptions
                )),
            }
        }
    };
    finish(user, context, "dashboard", started, metric, outcome, None)
}
