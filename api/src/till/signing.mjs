// Tillcode till: the bytes a terminal signs (docs/protocol.md sections 8, 9,
// 10.3 and 11). No DOM and no I/O: the page imports it, and so does
// ops/browser-test/signing.test.mjs, which checks it against the shared
// vectors in node. Only WebCrypto (globalThis.crypto) is used.

const utf8 = new TextEncoder();

export const ENROLL_LABEL = "tillcode/v1/enroll-terminal";
export const ENROLLMENT_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";
export const SIGNATURE_LABEL = "tc";
export const SIGNATURE_TAG = "tillcode/v1";

// ------------------------------------------------------------------ bytes

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  if (!/^(?:[0-9a-f]{2})*$/.test(text)) throw new Error("not lowercase hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function binaryString(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** RFC 4648 base64, with padding. */
export function base64(bytes) {
  return btoa(binaryString(bytes));
}

/** RFC 4648 base64url, without padding. */
export function base64url(bytes) {
  return base64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** RFC 4648 base32, upper case, without padding (protocol section 1). */
export function base32(bytes) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(acc << (5 - bits)) & 31];
  return out;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

// ------------------------------------------------------------------ enrollment

/**
 * Section 8: uppercase ASCII letters only, drop "-" and ASCII spaces, then
 * exactly 8 letters of the alphabet. Returns the 8 letters, or null.
 */
export function parseEnrollmentCode(text) {
  let out = "";
  for (const ch of text) {
    if (ch === "-" || ch === " ") continue;
    const c = ch >= "a" && ch <= "z" ? ch.toUpperCase() : ch;
    if (c.length !== 1 || !ENROLLMENT_ALPHABET.includes(c)) return null;
    out += c;
  }
  return out.length === 8 ? out : null;
}

/**
 * Section 10.3, 124 bytes: label || 0x00 || H(code letters) || public key ||
 * H(UTF-8 name). `name` is hashed exactly as it will be sent.
 */
export async function enrollmentMessage(codeLetters, publicKey, name) {
  if (publicKey.length !== 32) throw new Error("an Ed25519 public key is 32 bytes");
  return concat(
    utf8.encode(ENROLL_LABEL),
    new Uint8Array([0]),
    await sha256(utf8.encode(codeLetters)),
    publicKey,
    await sha256(utf8.encode(name)),
  );
}

/** Section 9: B32(H(public key)[0..16]) in groups of 4 joined by "-". */
export async function keyFingerprint(publicKey) {
  const b32 = base32((await sha256(publicKey)).slice(0, 16));
  return b32.match(/.{1,4}/g).join("-");
}

// ------------------------------------------------------------------ RFC 9421

/** RFC 9530 Content-Digest with sha-256 over the exact body bytes. */
export async function contentDigest(body) {
  return `sha-256=:${base64(await sha256(body))}:`;
}

/** A nonce of 16 CSPRNG bytes, 22 characters of base64url. */
export function newNonce() {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * The inner list and parameters of Signature-Input, after "tc=". Parameters
 * in the order of the shared vector: created, keyid, alg, nonce, tag.
 */
export function signatureParams(components, { created, keyid, nonce }) {
  for (const v of [keyid, nonce]) {
    if (/["\\]/.test(v) || !/^[\x20-\x7e]*$/.test(v)) throw new Error("bad sf-string");
  }
  if (!Number.isSafeInteger(created) || created < 0) throw new Error("bad created");
  const list = components.map((c) => `"${c}"`).join(" ");
  return (
    `(${list});created=${created};keyid="${keyid}";alg="ed25519";` +
    `nonce="${nonce}";tag="${SIGNATURE_TAG}"`
  );
}

/**
 * The signature base (RFC 9421 section 2.5): one line per covered component,
 * then "@signature-params", joined by "\n" with no trailing newline.
 * `values` maps each component name to its value.
 */
export function signatureBase(components, values, params) {
  const lines = components.map((c) => {
    const v = values[c];
    if (v === undefined) throw new Error(`no value for ${c}`);
    if (/[\r\n]/.test(v)) throw new Error(`${c} holds a line break`);
    return `"${c}": ${v}`;
  });
  lines.push(`"@signature-params": ${params}`);
  return lines.join("\n");
}

/**
 * Signs a request as section 11 says. `target` is the path with an optional
 * query ("/v1/redemptions"); `body` the exact bytes sent (or null). Returns
 * the headers to send: Content-Digest (with a body), Idempotency-Key (when
 * given), Signature-Input and Signature. `created` and `nonce` are for tests.
 */
export async function signRequest({
  privateKey,
  keyid,
  method,
  target,
  body = null,
  idempotencyKey = null,
  created = Math.floor(Date.now() / 1000),
  nonce = newNonce(),
}) {
  const url = new URL(target, "http://till.invalid");
  const values = {
    "@method": method.toUpperCase(),
    "@path": url.pathname,
    "@query": url.search === "" ? "?" : url.search,
  };
  const components = ["@method", "@path", "@query"];
  const headers = {};
  if (body !== null) {
    headers["Content-Digest"] = await contentDigest(body);
    values["content-digest"] = headers["Content-Digest"];
    components.push("content-digest");
  }
  if (idempotencyKey !== null) {
    headers["Idempotency-Key"] = idempotencyKey;
    values["idempotency-key"] = idempotencyKey;
    components.push("idempotency-key");
  }
  const params = signatureParams(components, { created, keyid, nonce });
  const base = signatureBase(components, values, params);
  const sig = new Uint8Array(
    await crypto.subtle.sign({ name: "Ed25519" }, privateKey, utf8.encode(base)),
  );
  headers["Signature-Input"] = `${SIGNATURE_LABEL}=${params}`;
  headers["Signature"] = `${SIGNATURE_LABEL}=:${base64(sig)}:`;
  return headers;
}

// ------------------------------------------------------------------ problems

/** The slug of an RFC 9457 problem type ("https://tillcode.dev/problems/x" → "x"). */
export function problemSlug(type) {
  if (typeof type !== "string") return "";
  const at = type.lastIndexOf("/problems/");
  return at >= 0 ? type.slice(at + "/problems/".length) : type;
}

// ------------------------------------------------------------------ codes typed in

/**
 * A numeric code as typed: 18 digits, ASCII spaces allowed between them
 * (section 6: the server drops only U+0020). Returns the digits, or null.
 */
export function parseNumericCode(text) {
  const digits = text.replace(/ /g, "");
  return /^[0-9]{18}$/.test(digits) ? digits : null;
}

/**
 * A QR payload as received: a scanner's trailing CR or LF is stripped
 * (section 3), nothing else is changed.
 */
export function cleanPayload(text) {
  return text.replace(/[\r\n]+$/, "");
}
