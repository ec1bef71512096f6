//! RFC 6238 TOTP with HMAC-SHA-256, 8 digits, T0 = 0 and 30 s steps, over a
//! device's 32-byte secret.
//!
//! Written on `hmac` + `sha2` rather than the `totp-rs` crate: totp-rs 6
//! builds on sha2 0.11 / hmac 0.13, a second RustCrypto line beside the sha2
//! 0.10 that ed25519-dalek 2 needs (twice the hashing code on a phone); its
//! builder is fallible where nothing here can fail; and it takes Unix time
//! where the server needs to compute neighbouring steps. What remains is
//! RFC 4226's dynamic truncation, tested against RFC 6238's own vectors.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const TOTP_STEP_SECONDS: u64 = 30;
pub const TOTP_DIGITS: u32 = 8;
const MODULUS: u32 = 10u32.pow(TOTP_DIGITS);

/// The RFC 6238 time step `T` containing `unix_s`.
pub const fn time_step(unix_s: u64) -> u64 {
    unix_s / TOTP_STEP_SECONDS
}

/// The 8-digit TOTP of `secret` at time step `step`, as a number below 10^8
/// (shown zero-padded).
pub fn totp(secret: &[u8; 32], step: u64) -> u32 {
    // A 32-byte key is shorter than SHA-256's 64-byte block, so HMAC pads it
    // with zeros (RFC 2104 §2); doing so here picks `Mac::new`, which takes a
    // block-sized key and cannot fail, over `new_from_slice`, which can.
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(secret);
    let mut mac = <Hmac<Sha256> as Mac>::new(&key.into());
    mac.update(&step.to_be_bytes());
    let digest: [u8; 32] = mac.finalize().into_bytes().into();
    // RFC 4226 §5.4: the low nibble of the last byte picks 4 bytes (offset
    // at most 15, so within the 32), the top bit of which is dropped.
    let offset = usize::from(digest[31] & 0x0f);
    let word = [
        digest[offset],
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ];
    (u32::from_be_bytes(word) & 0x7fff_ffff) % MODULUS
}

/// Compares TOTP values in constant time, so that timing does not tell an
/// attacker how many leading bytes of a guess were right.
pub(crate) fn totp_eq(a: u32, b: u32) -> bool {
    a.ct_eq(&b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-256 column: the seed is the ASCII string
    /// "12345678901234567890123456789012" (32 bytes).
    #[test]
    fn rfc_6238_sha256_vectors_are_reproduced() {
        let secret: [u8; 32] = *b"12345678901234567890123456789012";
        let cases = [
            (59, 46_119_246),
            (1_111_111_109, 68_084_774),
            (1_111_111_111, 67_062_674),
            (1_234_567_890, 91_819_424),
            (2_000_000_000, 90_698_825),
            (20_000_000_000, 77_737_706),
        ];
        for (unix_s, expected) in cases {
            assert_eq!(totp(&secret, time_step(unix_s)), expected, "T = {unix_s}");
        }
    }

    #[test]
    fn steps_are_thirty_seconds_from_the_epoch() {
        assert_eq!(time_step(0), 0);
        assert_eq!(time_step(29), 0);
        assert_eq!(time_step(30), 1);
        assert_eq!(time_step(u64::MAX), u64::MAX / 30);
    }

    #[test]
    fn the_largest_step_computes_without_panicking() {
        assert!(totp(&[0xff; 32], u64::MAX) < MODULUS);
    }

    #[test]
    fn constant_time_equality_agrees_with_plain_equality() {
        assert!(totp_eq(12_345_678, 12_345_678));
        assert!(!totp_eq(12_345_678, 12_345_679));
    }
}
