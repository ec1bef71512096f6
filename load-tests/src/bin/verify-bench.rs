//! How many payment codes of each kind one core can check: the protocol
//! work alone (decode, then signature / TOTP / fingerprint), on one thread,
//! so the rate is per core. Prints one JSON line per kind.
//!
//! The full verification (with the device lookup in Postgres and the replay
//! marker in Redis) is I/O-bound and is measured by the redemption load
//! tests instead.

use std::hint::black_box;
use std::time::{Duration, Instant};

use clap::Parser;
use ed25519_dalek::SigningKey;
use tillcode_protocol::{
    DeviceHandle, MerchantId, NumericCode, NumericHandle, OfflineToken, OnlineKey, PaymentCode,
};

#[derive(Parser)]
struct Args {
    /// Seconds per kind.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
}

/// One verification of a valid code; true when it passed.
type Check<'a> = Box<dyn Fn() -> bool + 'a>;

fn rate(seconds: u64, mut check: impl FnMut() -> bool) -> (f64, u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut n = 0u64;
    while Instant::now() < deadline {
        // Batches keep the clock out of the measurement.
        for _ in 0..64 {
            assert!(black_box(check()), "a valid code failed to verify");
            n += 1;
        }
    }
    (n as f64 / started.elapsed().as_secs_f64(), n)
}

fn main() {
    let args = Args::parse();
    let merchant = MerchantId::new();
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let public = key.verifying_key();
    let now_ms = 1_795_000_000_123u64;

    let offline =
        OfflineToken::sign(&key, merchant, DeviceHandle([1; 8]), now_ms, [1, 2, 3, 4]).payload();
    let secret = [9u8; 32];
    let handle = NumericHandle::new(123_456_789).unwrap_or_else(|| unreachable!());
    let numeric = NumericCode::generate(handle, &secret, now_ms / 1000).display();
    let online = OnlineKey::from_bytes([5; 16]).payload();

    let kinds: [(&str, &str, Check); 3] = [
        (
            "offline",
            "decode + strict Ed25519 verify + SHA-256 fingerprint",
            Box::new(|| match PaymentCode::parse(black_box(&offline)) {
                Ok(PaymentCode::Offline(t)) => {
                    t.verify(merchant, &public).is_ok()
                        && black_box(t.fingerprint(merchant)).len() == 32
                }
                _ => false,
            }),
        ),
        (
            "numeric",
            "decode + Luhn + three HMAC-SHA-256 TOTPs",
            Box::new(|| match PaymentCode::parse(black_box(&numeric)) {
                Ok(PaymentCode::Numeric(c)) => c
                    .verify(black_box(&secret), black_box(now_ms) / 1000)
                    .is_ok(),
                _ => false,
            }),
        ),
        (
            "online",
            "decode + SHA-256 fingerprint",
            Box::new(|| match PaymentCode::parse(black_box(&online)) {
                Ok(PaymentCode::Online(k)) => black_box(k.fingerprint()).len() == 32,
                _ => false,
            }),
        ),
    ];
    for (kind, work, check) in kinds {
        let (per_sec, n) = rate(args.seconds, check);
        println!(
            "{}",
            serde_json::json!({"kind": kind, "work": work, "verifications_per_sec_per_core": per_sec, "n": n})
        );
    }
}
