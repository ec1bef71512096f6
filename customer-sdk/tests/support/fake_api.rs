//! A stand-in for the customer API, enough to drive the CLI through each
//! command without PostgreSQL or Redis. It checks every proof of possession
//! with the protocol crate, as the real server does, so a CLI that signs the
//! wrong message fails here.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use data_encoding::HEXLOWER;
use ed25519_dalek::VerifyingKey;
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};
use tillcode_protocol::{
    LinkCode, MerchantId, Problem, ProblemType, device_session_message, key_fingerprint,
    link_device_message, parse_public_key, register_device_message, verify_strict,
};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";
pub const CUSTOMER: &str = "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f01";
pub const SIGN_IN_TOKEN: &str = "sign-in-token";
pub const SESSION_TOKEN: &str = "session-token";
pub const ONLINE_KEY: &str = "TC1KAAISEM2EKVTHPCEZVK54ZXPO74";
pub const LINK_ID: &str = "link-1";

pub fn link_code() -> LinkCode {
    LinkCode::from_bytes([7; 16])
}

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    challenges: HashSet<[u8; 32]>,
    /// Device id to (key, status).
    devices: HashMap<Uuid, (VerifyingKey, &'static str)>,
    link_polls: u32,
    log: Vec<Request>,
}

pub struct FakeApi {
    pub url: String,
    pub merchant: MerchantId,
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let merchant = MerchantId::new();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        // Serves until the test process ends.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                serve(stream, merchant, &shared);
            }
        });
        Self {
            url,
            merchant,
            state,
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    pub fn device_status(&self, id: Uuid) -> Option<&'static str> {
        self.state.lock().unwrap().devices.get(&id).map(|d| d.1)
    }
}

fn serve(stream: TcpStream, merchant: MerchantId, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let (mut length, mut authorization) = (0usize, None);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap(),
            "authorization" => authorization = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target, None),
    };
    let request = Request {
        method,
        path,
        query,
        authorization,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let (status, reply) = {
        let mut state = state.lock().unwrap();
        state.log.push(request.clone());
        route(&request, merchant, &mut state)
    };
    let (content_type, text) = match &reply {
        Reply::Json(v) => ("application/json", v.to_string()),
        Reply::Problem(p) => (
            "application/problem+json",
            serde_json::to_string(p).unwrap(),
        ),
        Reply::Empty => ("application/json", String::new()),
    };
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    );
}

enum Reply {
    Json(Value),
    Problem(Problem),
    Empty,
}

fn problem(kind: ProblemType, detail: &str) -> (u16, Reply) {
    (
        kind.status(),
        Reply::Problem(Problem::new(kind, Some(detail.into()))),
    )
}

fn hex<const N: usize>(body: &Value, field: &str) -> [u8; N] {
    let text = body[field].as_str().unwrap();
    HEXLOWER
        .decode(text.as_bytes())
        .unwrap()
        .try_into()
        .unwrap()
}

fn take_challenge(state: &mut State, body: &Value) -> bool {
    state.challenges.remove(&hex::<32>(body, "challenge"))
}

fn registered(state: &mut State, key: VerifyingKey, status: &'static str) -> (u16, Reply) {
    let device_id = Uuid::now_v7();
    state.devices.insert(device_id, (key, status));
    (
        201,
        Reply::Json(json!({
            "device_id": device_id,
            "device_handle": "0102030405060708",
            "numeric_handle": 123456789,
            "totp_secret": "11".repeat(32),
            "fingerprint": key_fingerprint(&key),
        })),
    )
}

fn route(req: &Request, merchant: MerchantId, state: &mut State) -> (u16, Reply) {
    let body = &req.body;
    let bearer = |token: &str| req.authorization.as_deref() == Some(&format!("Bearer {token}"));
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "customers", "sign-up" | "sign-in"]) => {
            if body["merchant_id"] != json!(merchant) || body["password"] != PASSWORD {
                return problem(ProblemType::InvalidCredentials, "wrong email or password");
            }
            (
                201,
                Reply::Json(json!({
                    "customer_id": CUSTOMER,
                    "sign_in_token": SIGN_IN_TOKEN,
                    "expires_in": 600,
                })),
            )
        }
        ("POST", ["v1", "challenges"]) => {
            let mut challenge = [0u8; 32];
            OsRng.fill_bytes(&mut challenge);
            state.challenges.insert(challenge);
            let text = HEXLOWER.encode(&challenge);
            (
                201,
                Reply::Json(json!({"challenge": text, "expires_in": 300})),
            )
        }
        ("POST", ["v1", "devices"]) => {
            if !bearer(SIGN_IN_TOKEN) {
                return problem(ProblemType::Unauthorized, "sign in first");
            }
            if !take_challenge(state, body) {
                return problem(ProblemType::SignatureExpired, "unknown challenge");
            }
            let key = parse_public_key(&hex::<32>(body, "public_key")).unwrap();
            let name = body["name"].as_str().unwrap();
            let challenge = hex::<32>(body, "challenge");
            let message = register_device_message(merchant, &challenge, &key, name);
            if verify_strict(&key, &message, &hex::<64>(body, "signature")).is_err() {
                return problem(ProblemType::SignatureInvalid, "bad proof");
            }
            registered(state, key, "active")
        }
        ("POST", ["v1", "devices", id, "sessions"]) => {
            let id: Uuid = id.parse().unwrap();
            if body["merchant_id"] != json!(merchant) || !take_challenge(state, body) {
                return problem(ProblemType::SignatureExpired, "unknown challenge");
            }
            let Some(&(key, status)) = state.devices.get(&id) else {
                return problem(ProblemType::UnknownDevice, "no such device");
            };
            let message = device_session_message(id, &hex::<32>(body, "challenge"));
            if verify_strict(&key, &message, &hex::<64>(body, "signature")).is_err() {
                return problem(ProblemType::SignatureInvalid, "bad proof");
            }
            if status != "active" {
                return problem(ProblemType::DeviceRevoked, "not active");
            }
            let session = json!({"access_token": SESSION_TOKEN, "expires_in": 900});
            (201, Reply::Json(session))
        }
        ("POST", ["v1", "links", "join"]) => {
            let link = LinkCode::parse(body["payload"].as_str().unwrap()).unwrap();
            let key = parse_public_key(&hex::<32>(body, "public_key")).unwrap();
            let message = link_device_message(&link, &key, body["name"].as_str().unwrap());
            if link != link_code()
                || verify_strict(&key, &message, &hex::<64>(body, "signature")).is_err()
            {
                return problem(ProblemType::SignatureInvalid, "bad proof");
            }
            registered(state, key, "pending")
        }
        (_, ["v1", "me", ..]) if !bearer(SESSION_TOKEN) => {
            problem(ProblemType::Unauthorized, "a device session is required")
        }
        ("GET", ["v1", "me", "balance"]) => (
            200,
            Reply::Json(json!({
                "account_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f09",
                "balance": 1234,
                "unit": "points",
                "minor_units": 0,
            })),
        ),
        ("GET", ["v1", "me", "history"]) => (
            200,
            Reply::Json(json!({
                "items": [{
                    "transfer_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f0a",
                    "kind": "accrue",
                    "balance_change": 1234,
                    "balance_after": 1234,
                    "created_at": "2026-11-23T10:00:00Z",
                }],
                "next_cursor": null,
            })),
        ),
        ("POST", ["v1", "me", "online-keys"]) => (
            201,
            Reply::Json(json!({"payload": ONLINE_KEY, "expires_in": 60})),
        ),
        ("POST", ["v1", "me", "password"]) => {
            if body["current_password"] != PASSWORD {
                return problem(ProblemType::InvalidCredentials, "wrong password");
            }
            (204, Reply::Empty)
        }
        ("POST", ["v1", "me", "links"]) => (
            201,
            Reply::Json(json!({
                "link_id": LINK_ID,
                "payload": link_code().payload(),
                "expires_in": 300,
            })),
        ),
        ("GET", ["v1", "me", "links", LINK_ID]) => {
            // Nobody for the first poll, then a joined device.
            state.link_polls += 1;
            let reply = if state.link_polls == 1 {
                json!({"status": "waiting", "device": null})
            } else {
                json!({"status": "joined", "device": {
                    "device_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f0b",
                    "name": "Tablet",
                    "fingerprint": "KZDV-VJ2U-MNDU-YAUF-35O3-6K6K-W4",
                }})
            };
            (200, Reply::Json(reply))
        }
        ("POST", ["v1", "me", "links", LINK_ID, "approve" | "reject"]) => (204, Reply::Empty),
        _ => problem(ProblemType::NotFound, "no such route"),
    }
}
