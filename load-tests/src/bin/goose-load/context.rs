//! Everything the timed part needs, made before it starts: keys loaded,
//! sessions opened, the starting balances read, and each user's plan (its
//! terminal, the phones it alone pays with, and its codes made in advance).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tillcode_customer::DeviceKey;
use tillcode_protocol::{DeviceHandle, MerchantId};
use uuid::Uuid;

use crate::api::Till;
use crate::recorder::Recorder;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Offline-token redemptions across all customers (the main one).
    Redeem,
    /// A server-issued online key, then a redemption with it.
    Online,
    /// Earning on a purchase, identified by an offline token.
    Accrual,
    /// 70% redemptions, 20% accruals, 10% balance reads.
    Mixed,
    /// Every user pays from the same account, each with a phone of its own.
    Hot,
    /// Redemptions, while a few managers' dashboards refresh every second.
    Dashboard,
    /// `GET /healthz` only: no signature, code, Redis or Postgres. The most
    /// requests per second any HTTP API gets through this load generator on
    /// this machine; the bench's ceiling for the others.
    Healthz,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Self::Redeem => "redeem",
            Self::Online => "online",
            Self::Accrual => "accrual",
            Self::Mixed => "mixed",
            Self::Hot => "hot",
            Self::Dashboard => "dashboard",
            Self::Healthz => "healthz",
        }
    }

    /// Whether the users need device sessions (balance reads, online keys).
    pub fn needs_sessions(self) -> bool {
        matches!(self, Self::Online | Self::Mixed)
    }

    /// Whether the users pay with pre-made offline tokens.
    pub fn uses_offline_codes(self) -> bool {
        !matches!(self, Self::Online | Self::Healthz)
    }

    /// Whether every pre-made token pays for a redemption, so that its
    /// request can be signed in advance too.
    pub fn only_redeems(self) -> bool {
        matches!(self, Self::Redeem | Self::Hot | Self::Dashboard)
    }
}

pub struct Phone {
    pub account: Uuid,
    pub device: Uuid,
    pub handle: DeviceHandle,
    pub key: DeviceKey,
    pub session: Option<String>,
}

/// A pre-made offline token for `phone`.
pub struct Code {
    pub phone: usize,
    pub payload: String,
    pub issued_at_ms: u64,
    /// Its redemption, signed in advance by the user's terminal (redemption
    /// workloads only): like the phone's token, the till's signature is
    /// made on the till, not on the API's machine, so it is made before the
    /// timed part and the load generator spends its share of the cores on
    /// HTTP and on checking answers.
    pub signed: Option<SignedRedemption>,
}

/// A `POST /v1/redemptions` body and its signed headers.
pub struct SignedRedemption {
    pub amount: i64,
    pub body: Vec<u8>,
    pub headers: tillcode_cashier::SignedHeaders,
    pub signed_at_ms: u64,
}

impl SignedRedemption {
    /// Signs the redemption of `code` for `amount` by `till`, now.
    pub fn sign(till: &Till, code: &str, amount: i64) -> anyhow::Result<Self> {
        let body = serde_json::to_vec(&serde_json::json!({"code": code, "amount": amount}))?;
        let headers = till.sign("POST", REDEEM_PATH, Some(&body))?;
        Ok(Self {
            amount,
            body,
            headers,
            signed_at_ms: now_ms(),
        })
    }

    /// Whether the API still takes its signature (`created` within
    /// `CREATED_WINDOW_S`), with room for the request's own time in flight.
    pub fn fresh(&self) -> bool {
        now_ms().saturating_sub(self.signed_at_ms) <= PRESIGNED_MAX_AGE_MS
    }
}

pub const REDEEM_PATH: &str = "/v1/redemptions";

/// Signatures older than this are made again when the request is sent: the
/// API takes a signature up to `CREATED_WINDOW_S` (30 s) old.
pub const PRESIGNED_MAX_AGE_MS: u64 = 20_000;

/// Which phones and which terminal one user works with.
pub struct Plan {
    pub till: usize,
    pub phones: Vec<usize>,
    pub codes: VecDeque<Code>,
}

pub struct Context {
    pub merchant: MerchantId,
    pub workload: Workload,
    pub users: usize,
    /// Requests per second for all users together, when paced.
    pub rate: Option<f64>,
    pub tills: Vec<Till>,
    /// The phones this workload pays with: one per customer, or the hot
    /// customer's.
    pub phones: Vec<Phone>,
    pub staff_cookie: Option<String>,
    /// Every account's balance before the run.
    pub balances: HashMap<Uuid, i64>,
    pub plans: Vec<Mutex<Option<Plan>>>,
    pub recorder: Recorder,
}

static CONTEXT: OnceLock<Context> = OnceLock::new();

pub fn install(context: Context) -> anyhow::Result<&'static Context> {
    CONTEXT
        .set(context)
        .map_err(|_| anyhow::anyhow!("the run context is set once"))?;
    ctx()
}

pub fn ctx() -> anyhow::Result<&'static Context> {
    CONTEXT
        .get()
        .ok_or_else(|| anyhow::anyhow!("the run context is not set"))
}

/// Milliseconds since the Unix epoch, as the phone's clock says.
pub fn now_ms() -> u64 {
    tillcode_customer::unix_now_ms()
}

/// Pre-made tokens older than this are dropped and made afresh: the API
/// takes them for 60 s.
pub const CODE_MAX_AGE_MS: u64 = 50_000;

/// Live online keys the API lets a customer hold, and for how long a key
/// counts against that (`codes::online`).
pub const ONLINE_LIVE_KEYS: usize = 5;
pub const ONLINE_KEY_LIFE: Duration = Duration::from_secs(61);

/// One user's state between its requests.
pub struct UserState {
    pub till: usize,
    pub phones: Vec<usize>,
    pub cursor: usize,
    pub codes: VecDeque<Code>,
    /// Newest token date used per phone: the API refuses an older one.
    pub last_issued: HashMap<usize, u64>,
    /// The balance each of this user's accounts must have now (the user is
    /// the only one paying with them, except in the hot workload).
    pub expected: HashMap<Uuid, i64>,
    /// Hot workload: the last balance this user saw; the next is lower.
    pub hot_last: Option<i64>,
    pub step: u64,
    pub interval: Option<Duration>,
    pub next_due: Option<Instant>,
    pub online_issued: HashMap<usize, VecDeque<Instant>>,
    pub dashboard_redemptions: i64,
}

impl UserState {
    pub fn new(index: usize, plan: Plan, context: &Context) -> Self {
        let expected = plan
            .phones
            .iter()
            .map(|&p| {
                let account = context.phones[p].account;
                (
                    account,
                    context.balances.get(&account).copied().unwrap_or(0),
                )
            })
            .collect();
        let interval = context
            .rate
            .map(|rate| Duration::from_secs_f64(context.users as f64 / rate));
        // Spread the users' first requests over one interval.
        let next_due =
            interval.map(|i| Instant::now() + i.mul_f64(index as f64 / context.users as f64));
        Self {
            till: plan.till,
            phones: plan.phones,
            cursor: 0,
            codes: plan.codes,
            last_issued: HashMap::new(),
            expected,
            hot_last: None,
            step: 0,
            interval,
            next_due,
            online_issued: HashMap::new(),
            dashboard_redemptions: 0,
        }
    }

    /// The next phone in this user's rotation.
    pub fn next_phone(&mut self) -> usize {
        let phone = self.phones[self.cursor % self.phones.len()];
        self.cursor += 1;
        phone
    }

    /// The next offline token: a pre-made one while they last and are
    /// fresh, else one made now (counted as late).
    pub fn next_code(&mut self, context: &Context) -> anyhow::Result<Code> {
        let now = now_ms();
        if self
            .codes
            .front()
            .is_some_and(|c| now.saturating_sub(c.issued_at_ms) > CODE_MAX_AGE_MS)
        {
            // All of a user's codes are dated within milliseconds of each other.
            self.codes.clear();
        }
        let code = match self.codes.pop_front() {
            Some(code) => code,
            None => {
                let phone = self.next_phone();
                let issued = now.max(self.last_issued.get(&phone).map_or(0, |l| l + 1));
                context
                    .recorder
                    .late_codes
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                make_code(context.merchant, &context.phones, phone, issued)?
            }
        };
        self.last_issued.insert(code.phone, code.issued_at_ms);
        Ok(code)
    }

    /// When to send the next request, when the run is paced.
    pub fn pace(&mut self) -> Option<Instant> {
        let interval = self.interval?;
        let now = Instant::now();
        let due = self.next_due.unwrap_or(now);
        // Far behind (the API is slower than the pace): start over from now
        // rather than firing a burst to catch up.
        self.next_due = Some(if now > due + Duration::from_secs(1) {
            now + interval
        } else {
            due + interval
        });
        Some(due)
    }
}

/// An offline token made by the customer SDK.
pub fn make_code(
    merchant: MerchantId,
    phones: &[Phone],
    phone: usize,
    issued_at_ms: u64,
) -> anyhow::Result<Code> {
    let p = &phones[phone];
    let payload = tillcode_customer::offline_code(&p.key, merchant, p.handle, issued_at_ms)?;
    Ok(Code {
        phone,
        payload,
        issued_at_ms,
        signed: None,
    })
}
