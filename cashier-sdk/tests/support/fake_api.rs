//! A stand-in for the terminal API, enough to drive the SDK and the CLI
//! through every command without PostgreSQL or Redis. It checks what the
//! real server checks, with the protocol crate's own functions: the
//! enrollment proof, the RFC 9421 signature, `created` within 30 s, each
//! nonce once, the `Content-Digest`, the terminal's status, and
//! idempotency (same key and body: the stored answer, `replayed: true`;
//! same key, other body: 422). So a client that signs the wrong thing, or
//! retries with a new key or another body, fails here.
//!
//! Faults can be queued to break the next requests: an answer of 503
//! without acting, a connection dropped after acting, an answer delayed
//! past the client's timeout after acting.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use data_encoding::HEXLOWER;
use ed25519_dalek::VerifyingKey;
use serde_json::{Value, json};
use tillcode_protocol::content_digest::content_digest_matches;
use tillcode_protocol::{
    EnrollmentCode, KeyId, MerchantId, Problem, ProblemType, RequestParts, StoreId, check_created,
    enroll_terminal_message, key_fingerprint, parse_public_key, parse_signature, verify_signature,
    verify_strict,
};
use uuid::Uuid;

/// The one live enrollment: this code at [`FakeApi::store`].
pub const ENROLLMENT_CODE: &str = "BCDF-GHJK";
/// The balance every test customer starts with.
pub const START_BALANCE: i64 = 100;
pub const CUSTOMER_NAME: &str = "Ana B.";
pub const CUSTOMER_ID: &str = "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f01";

/// What the next request suffers.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Answer 503 `unavailable` without acting.
    Unavailable,
    /// Act, then close the connection without answering.
    DropAfterActing,
    /// Act, then answer only after this long.
    SlowAnswer(Duration),
}

/// One request as the fake received it, with the status it answered.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Lowercase names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub status: u16,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

struct Terminal {
    key: VerifyingKey,
    status: &'static str,
    name: String,
}

struct Stored {
    body: Vec<u8>,
    answer: Value,
}

#[derive(Default)]
struct State {
    terminals: HashMap<Uuid, Terminal>,
    nonces: HashSet<String>,
    idempotency: HashMap<(Uuid, String), Stored>,
    balance: i64,
    /// Redemption id to the amount it took and what was given back.
    redemptions: HashMap<Uuid, (i64, i64)>,
    transactions: Vec<Value>,
    faults: VecDeque<Fault>,
    log: Vec<Request>,
}

pub struct FakeApi {
    pub url: String,
    pub merchant: MerchantId,
    pub store: StoreId,
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let merchant = MerchantId::new();
        let store = StoreId::new();
        let state = Arc::new(Mutex::new(State {
            balance: START_BALANCE,
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        // Serves until the test process ends; one thread per connection, so
        // that a slow answer does not hold up the client's retry.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, merchant, store, &state));
            }
        });
        Self {
            url,
            merchant,
            store,
            state,
        }
    }

    pub fn inject(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn balance(&self) -> i64 {
        self.state.lock().unwrap().balance
    }

    /// Registers a terminal directly, as an approved enrollment would.
    pub fn add_terminal(&self, key: VerifyingKey, status: &'static str) -> Uuid {
        let id = Uuid::now_v7();
        let terminal = Terminal {
            key,
            status,
            name: "Till".into(),
        };
        self.state.lock().unwrap().terminals.insert(id, terminal);
        id
    }

    /// What a manager does on the dashboard.
    pub fn set_status(&self, terminal: Uuid, status: &'static str) {
        let mut state = self.state.lock().unwrap();
        state.terminals.get_mut(&terminal).unwrap().status = status;
    }

    pub fn terminal_status(&self, terminal: Uuid) -> Option<&'static str> {
        let state = self.state.lock().unwrap();
        state.terminals.get(&terminal).map(|t| t.status)
    }
}

fn serve(stream: TcpStream, merchant: MerchantId, store: StoreId, state: &Mutex<State>) {
    let Some(mut request) = read_request(stream.try_clone().unwrap()) else {
        return;
    };
    let (fault, status, reply) = {
        let mut state = state.lock().unwrap();
        let fault = state.faults.pop_front();
        let (status, reply) = match fault {
            Some(Fault::Unavailable) => problem(ProblemType::ServiceUnavailable, "try later"),
            _ => route(&request, merchant, store, &mut state),
        };
        request.status = status;
        state.log.push(request);
        (fault, status, reply)
    };
    match fault {
        Some(Fault::DropAfterActing) => {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        Some(Fault::SlowAnswer(delay)) => std::thread::sleep(delay),
        _ => {}
    }
    let content_type = if status >= 400 {
        "application/problem+json"
    } else {
        "application/json"
    };
    let text = reply.to_string();
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    );
}

fn read_request(stream: TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
    }
    let length = headers
        .get("content-length")
        .map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target, None),
    };
    Some(Request {
        method,
        path,
        query,
        headers,
        body,
        status: 0,
    })
}

fn problem(kind: ProblemType, detail: &str) -> (u16, Value) {
    let body = serde_json::to_value(Problem::new(kind, Some(detail.into()))).unwrap();
    (kind.status(), body)
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn view(id: Uuid, terminal: &Terminal, merchant: MerchantId, store: StoreId) -> Value {
    json!({
        "terminal_id": id,
        "merchant_id": merchant,
        "store_id": store,
        "name": terminal.name,
        "status": terminal.status,
        "fingerprint": key_fingerprint(&terminal.key),
    })
}

fn enroll(req: &Request, merchant: MerchantId, store: StoreId, state: &mut State) -> (u16, Value) {
    let body = req.json();
    let code = EnrollmentCode::parse(body["code"].as_str().unwrap_or_default());
    let live = EnrollmentCode::parse(ENROLLMENT_CODE).unwrap();
    if body["store_id"] != json!(store) || code.as_ref().ok() != Some(&live) {
        return problem(ProblemType::NotFound, "no live enrollment for that code");
    }
    let hex = |field: &str| HEXLOWER.decode(body[field].as_str().unwrap_or_default().as_bytes());
    let Ok(key) = hex("public_key")
        .map_err(drop)
        .and_then(|k| parse_public_key(&k).map_err(drop))
    else {
        return problem(ProblemType::BadRequest, "bad public key");
    };
    let name = body["name"].as_str().unwrap_or_default().to_owned();
    let message = enroll_terminal_message(&live, &key, &name);
    if verify_strict(&key, &message, &hex("signature").unwrap_or_default()).is_err() {
        return problem(ProblemType::SignatureInvalid, "bad proof");
    }
    let id = Uuid::now_v7();
    let terminal = Terminal {
        key,
        status: "pending",
        name,
    };
    let answer = view(id, &terminal, merchant, store);
    state.terminals.insert(id, terminal);
    (201, answer)
}

/// The checks of `docs/protocol.md` section 11, in the server's order; the
/// terminal's id when they pass.
fn authenticate(req: &Request, state: &mut State) -> Result<Uuid, (u16, Value)> {
    let refuse = |kind: ProblemType, detail: &str| problem(kind, detail);
    let (Some(input), Some(signature)) = (req.header("signature-input"), req.header("signature"))
    else {
        return Err(refuse(ProblemType::SignatureMissing, "unsigned"));
    };
    let parts = RequestParts {
        method: &req.method,
        path: &req.path,
        query: req.query.as_deref(),
        content_digest: req.header("content-digest"),
        idempotency_key: req.header("idempotency-key"),
        authority: None,
        headers: &[],
    };
    let signed = parse_signature(input, signature, &parts)
        .map_err(|e| refuse(e.problem_type(), &e.to_string()))?;
    let KeyId::Terminal(id) = signed.keyid else {
        return Err(refuse(ProblemType::SignatureInvalid, "not a terminal"));
    };
    let Some(terminal) = state.terminals.get(&id) else {
        return Err(refuse(ProblemType::SignatureInvalid, "unknown key id"));
    };
    verify_signature(&signed, &parts, &terminal.key)
        .map_err(|e| refuse(e.problem_type(), &e.to_string()))?;
    check_created(signed.created, now_s(), 30)
        .map_err(|e| refuse(e.problem_type(), &e.to_string()))?;
    content_digest_matches(parts.content_digest, &req.body)
        .map_err(|e| refuse(ProblemType::DigestMismatch, &e.to_string()))?;
    // Last, as the API does, so that only a request that verified spends
    // its nonce.
    if !state.nonces.insert(signed.nonce.clone()) {
        return Err(refuse(ProblemType::SignatureReplayed, "nonce seen"));
    }
    Ok(id)
}

fn route(req: &Request, merchant: MerchantId, store: StoreId, state: &mut State) -> (u16, Value) {
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    if let ("POST", ["v1", "terminals", "enroll"]) = (req.method.as_str(), segments.as_slice()) {
        return enroll(req, merchant, store, state);
    }
    let terminal = match authenticate(req, state) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    if let ("GET", ["v1", "terminal"]) = (req.method.as_str(), segments.as_slice()) {
        return (
            200,
            view(terminal, &state.terminals[&terminal], merchant, store),
        );
    }
    if state.terminals[&terminal].status != "active" {
        return problem(ProblemType::TerminalNotActive, "not active");
    }
    if req.method == "GET" {
        return match segments.as_slice() {
            ["v1", "terminal", "transactions"] => {
                let items: Vec<Value> = state.transactions.iter().rev().cloned().collect();
                (200, json!({"items": items, "next_cursor": null}))
            }
            _ => problem(ProblemType::NotFound, "no such route"),
        };
    }
    let Some(key) = req.header("idempotency-key") else {
        return problem(ProblemType::IdempotencyKeyMissing, "no key");
    };
    let slot = (terminal, key.to_owned());
    if let Some(stored) = state.idempotency.get(&slot) {
        if stored.body != req.body {
            return problem(ProblemType::IdempotencyKeyReused, "another body");
        }
        let mut answer = stored.answer.clone();
        answer["replayed"] = json!(true);
        return (201, answer);
    }
    let (status, answer) = act(req, &segments, state);
    if status == 201 {
        let stored = Stored {
            body: req.body.clone(),
            answer: answer.clone(),
        };
        state.idempotency.insert(slot, stored);
    }
    (status, answer)
}

/// Carries out a money movement (first time for its key).
fn act(req: &Request, segments: &[&str], state: &mut State) -> (u16, Value) {
    let body = req.json();
    let amount = body["amount"].as_i64().unwrap_or(0);
    let record = |kind: &str, id: Uuid, amount: i64, balance: i64, state: &mut State| {
        state.transactions.push(json!({
            "transfer_id": id,
            "kind": kind,
            "amount": amount,
            "balance_after": balance,
            "reference": body.get("reference").cloned().unwrap_or(Value::Null),
            "code_kind": body.get("code").map(|_| "online"),
            "created_at": "2026-11-23T10:00:00Z",
        }));
    };
    match (req.method.as_str(), segments) {
        ("POST", ["v1", "redemptions"]) => {
            if !body["code"].as_str().unwrap_or_default().starts_with("TC1") {
                return problem(ProblemType::MalformedCode, "not a payment code");
            }
            if amount > state.balance {
                return problem(ProblemType::InsufficientBalance, "balance too low");
            }
            state.balance -= amount;
            let id = Uuid::now_v7();
            state.redemptions.insert(id, (amount, 0));
            record("redeem", id, amount, state.balance, state);
            let earned = body["earn"].as_i64().map(|earn| {
                state.balance += earn;
                let accrual = Uuid::now_v7();
                record("accrue", accrual, earn, state.balance, state);
                json!({"accrual_id": accrual, "amount": earn, "balance_after": state.balance})
            });
            (
                201,
                json!({
                    "redemption_id": id,
                    "amount": amount,
                    "balance_after": state.balance,
                    "earned": earned,
                    "customer": CUSTOMER_NAME,
                    "code_kind": "online",
                    "replayed": false,
                }),
            )
        }
        ("POST", ["v1", "accruals"]) => {
            state.balance += amount;
            let id = Uuid::now_v7();
            record("accrue", id, amount, state.balance, state);
            (
                201,
                json!({
                    "accrual_id": id,
                    "amount": amount,
                    "balance_after": state.balance,
                    "customer": CUSTOMER_NAME,
                    "replayed": false,
                }),
            )
        }
        ("POST", ["v1", "redemptions", id, action @ ("void" | "refunds")]) => {
            let Ok(id) = id.parse::<Uuid>() else {
                return problem(ProblemType::TransferNotFound, "no such redemption");
            };
            let Some(&(taken, given_back)) = state.redemptions.get(&id) else {
                return problem(ProblemType::TransferNotFound, "no such redemption");
            };
            let (amount, kind) = if *action == "void" {
                if given_back != 0 {
                    return problem(ProblemType::AlreadyVoided, "already given back");
                }
                (taken, "void")
            } else {
                if given_back + amount > taken {
                    return problem(ProblemType::RefundExceedsRedemption, "too much");
                }
                (amount, "refund")
            };
            state.redemptions.insert(id, (taken, given_back + amount));
            state.balance += amount;
            let new_id = Uuid::now_v7();
            record(kind, new_id, amount, state.balance, state);
            let id_field = if kind == "void" {
                "void_id"
            } else {
                "refund_id"
            };
            (
                201,
                json!({
                    id_field: new_id,
                    "redemption_id": id,
                    "amount": amount,
                    "balance_after": state.balance,
                    "replayed": false,
                }),
            )
        }
        _ => problem(ProblemType::NotFound, "no such route"),
    }
}
