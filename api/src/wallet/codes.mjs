// Tillcode wallet: the bytes a customer's device signs and shows
// (docs/protocol.md sections 5, 6, 10.1 and 10.4). No DOM and no I/O: the
// page imports it, and so does ops/browser-test/wallet-codes.test.mjs, which
// checks it against the shared vectors in node. What the till also encodes
// (hex, base32, SHA-256, key fingerprints) comes from the till's module,
// served at /till/signing.mjs, so that the two cannot drift apart.

import { base32, concat, fromHex, sha256, toHex } from "../till/signing.mjs";

export { base32, concat, fromHex, keyFingerprint, sha256, toHex } from "../till/signing.mjs";

const utf8 = new TextEncoder();

export const OFFLINE_LABEL = "tillcode/v1/offline";
export const REGISTER_LABEL = "tillcode/v1/register-device";
export const SESSION_LABEL = "tillcode/v1/device-session";

function label(text) {
  return concat(utf8.encode(text), new Uint8Array([0]));
}

/** A UUID's 16 bytes in RFC 9562 order (section 1). */
export function uuidBytes(uuid) {
  const hex = String(uuid).toLowerCase().replace(/-/g, "");
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error("not a UUID");
  return fromHex(hex);
}

/** An unsigned integer below 2^64 as 8 bytes, big-endian. */
export function u64(n) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

// ------------------------------------------------------------------ offline token (section 5)

/** The signed message m, 56 bytes. */
export function offlineMessage(merchantId, deviceHandle, issuedAtMs, nonce) {
  const handle = typeof deviceHandle === "string" ? fromHex(deviceHandle) : deviceHandle;
  if (handle.length !== 8) throw new Error("a device handle is 8 bytes");
  if (nonce.length !== 4) throw new Error("a nonce is 4 bytes");
  return concat(label(OFFLINE_LABEL), uuidBytes(merchantId), handle, u64(issuedAtMs), nonce);
}

/**
 * An offline token, `TC1F` || B32(handle || issued_at || nonce || signature),
 * 139 characters. `nonce` (4 bytes) is for tests; by default it is fresh.
 */
export async function offlineToken({
  privateKey,
  merchantId,
  deviceHandle,
  issuedAtMs,
  nonce = crypto.getRandomValues(new Uint8Array(4)),
}) {
  const m = offlineMessage(merchantId, deviceHandle, issuedAtMs, nonce);
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, m));
  const body = concat(m.slice(36, 56), sig);
  return `TC1F${base32(body)}`;
}

/** `H(m)`: the token's replay key (for tests and diagnostics). */
export async function offlineFingerprint(merchantId, deviceHandle, issuedAtMs, nonce) {
  return toHex(await sha256(offlineMessage(merchantId, deviceHandle, issuedAtMs, nonce)));
}

/**
 * The issue time of the next token: now, but always later than the last one
 * made (a till accepts only a token newer than the last it took).
 */
export function nextIssuedAt(nowMs, lastMs) {
  return Math.max(Math.floor(nowMs), (lastMs ?? -1) + 1);
}

// ------------------------------------------------------------------ numeric code (section 6)

/** The TOTP secret as an HMAC-SHA-256 key, non-extractable unless asked. */
export function importTotpSecret(secretHex, extractable = false) {
  return crypto.subtle.importKey(
    "raw",
    fromHex(secretHex),
    { name: "HMAC", hash: "SHA-256" },
    extractable,
    ["sign"],
  );
}

/** RFC 6238 with HMAC-SHA-256 and 30 s steps: 8 digits. */
export async function totp(hmacKey, unixSeconds) {
  const step = Math.floor(unixSeconds / 30);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, u64(step)));
  const offset = mac[31] & 0x0f;
  const w = new DataView(mac.buffer).getUint32(offset) & 0x7fffffff;
  return String(w % 100000000).padStart(8, "0");
}

/** The Luhn check digit over a string of digits. */
export function luhnDigit(digits) {
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** The 18 bare digits: numeric handle (9), TOTP (8), Luhn (1). */
export async function numericCode(numericHandle, hmacKey, unixSeconds) {
  const handle = String(numericHandle);
  if (!/^[1-9][0-9]{8}$/.test(handle)) throw new Error("a numeric handle is 9 digits");
  const first = handle + (await totp(hmacKey, unixSeconds));
  return first + luhnDigit(first);
}

/** For people: groups of four, `1234 5678 9012 3456 78`. */
export function groupDigits(code) {
  return code.match(/.{1,4}/g).join(" ");
}

// ------------------------------------------------------------------ proofs (sections 10.1, 10.4)

/** Section 10.1, 140 bytes. `name` is hashed exactly as it will be sent. */
export async function registrationMessage(merchantId, challenge, publicKey, name) {
  if (challenge.length !== 32 || publicKey.length !== 32) throw new Error("32 bytes each");
  return concat(
    label(REGISTER_LABEL),
    uuidBytes(merchantId),
    challenge,
    publicKey,
    await sha256(utf8.encode(name)),
  );
}

/** Section 10.4: label || 0x00 || device_id || challenge. */
export function sessionMessage(deviceId, challenge) {
  if (challenge.length !== 32) throw new Error("a challenge is 32 bytes");
  return concat(label(SESSION_LABEL), uuidBytes(deviceId), challenge);
}
