// Tillcode wallet: sign up or in at the merchant the address names
// (/wallet/{slug}), make this phone's key, register it with a proof of
// possession (docs/protocol.md sections 10.1 and 14.2), then show a payment
// code that works with no network: an offline token as a QR, made anew every
// 20 seconds, and the numeric code under it (sections 5 and 6).
//
// The Ed25519 private key is generated non-extractable and the TOTP secret
// is imported as a non-extractable HMAC key: both live only in this
// browser's IndexedDB, as CryptoKey objects no script can read out. All text
// from the server is shown with textContent, never as HTML.

import * as wc from "./codes.mjs";
import { qrcode } from "./qrcode.mjs";
import { problemSlug } from "../till/signing.mjs";
import { fieldError, idbStore, screens, setText } from "../till/page.mjs";

const $ = (id) => document.getElementById(id);
const SLUG = decodeURIComponent(location.pathname.split("/")[2] ?? "");
const CODE_LIFE_MS = 20000;
const BALANCE_POLL_MS = 10000;

// ------------------------------------------------------------------ screens

const SCREENS = ["loading", "problem", "sign", "pay", "history", "revoked"];

const show = screens(SCREENS);

function problem(reason) {
  $("problem-reason").textContent = reason;
  show("problem");
}

// ------------------------------------------------------------------ storage

// One record per merchant slug: the merchant, the customer, the device's ids
// and its two keys (CryptoKey objects), the newest issue time used, and the
// last balance seen.
const DB_NAME = "tillcode-wallet";
const DB_STORE = "devices";

const store = idbStore(DB_NAME, DB_STORE);
const loadDevice = () => store.get(SLUG);
const saveDevice = (record) => store.put(SLUG, record);
const forgetDevice = () => store.delete(SLUG);

// ------------------------------------------------------------------ clock

// How far the server's clock is ahead of this phone's, in ms, learnt from
// the `Date` of the server's answers and kept with the device, so that a
// phone whose clock is off still dates its codes as the till's server
// expects (a code more than 30 s ahead is not yet valid; docs/protocol.md).
// `Date` has whole seconds: offsets under 2 s are left alone.
let clockOffsetMs = 0;

function learnClock(res) {
  const server = Date.parse(res.headers.get("Date") ?? "");
  if (Number.isNaN(server)) return;
  const offset = server - Date.now();
  clockOffsetMs = Math.abs(offset) < 2000 ? 0 : offset;
}

/** Now, by the server's clock as last learnt. */
const serverNow = () => Date.now() + clockOffsetMs;

// ------------------------------------------------------------------ HTTP

let online = navigator.onLine;

function setOnline(value) {
  online = value;
  $("net").textContent = value ? "" : "Offline";
  $("online-code").hidden = !value;
}

/**
 * A JSON request to this origin. Answers {ok, status, body} or, when the
 * network fails, {ok: false, status: 0, slug: "offline"}.
 */
async function api(method, path, { body = undefined, token = null } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      redirect: "error",
    });
  } catch (_) {
    setOnline(false);
    return { ok: false, status: 0, slug: "offline", detail: "" };
  }
  setOnline(true);
  learnClock(res);
  let json = null;
  try {
    json = res.status === 204 ? null : await res.json();
  } catch (_) {
    json = null;
  }
  if (res.ok) return { ok: true, status: res.status, body: json };
  return {
    ok: false,
    status: res.status,
    slug: problemSlug(json?.type) || `http-${res.status}`,
    detail: typeof json?.detail === "string" ? json.detail : "",
  };
}

// ------------------------------------------------------------------ state

let merchant = null; // {merchant_id, name} from GET /v1/merchants/{slug}
let device = null; // the stored record
let session = null; // {token, until}: a device session, in memory only

// ------------------------------------------------------------------ support

async function unsupportedReason() {
  if (!window.isSecureContext) {
    return "Open the wallet over HTTPS: browsers give cryptography only to secure pages.";
  }
  if (!window.crypto?.subtle || !window.indexedDB) {
    return "This browser lacks WebCrypto or IndexedDB, which the wallet needs to keep its key. Use a current browser, not a private window.";
  }
  try {
    await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  } catch (_) {
    return "This browser cannot make Ed25519 keys, which the wallet needs for codes that work offline. Use Chrome 137, Firefox 129, Safari 17 or later.";
  }
  return null;
}

// ------------------------------------------------------------------ sign up / in

let mode = "up";

function setMode(next) {
  mode = next;
  $("mode-up").setAttribute("aria-pressed", String(mode === "up"));
  $("mode-in").setAttribute("aria-pressed", String(mode === "in"));
  $("field-display-name").hidden = mode !== "up";
  $("h-sign").textContent = mode === "up" ? "Sign up" : "Sign in";
  $("sign-submit").textContent = mode === "up" ? "Sign up" : "Sign in";
  $("password").setAttribute("autocomplete", mode === "up" ? "new-password" : "current-password");
  setText("sign-error", "");
}

function showSign() {
  $("device-name").value ||= "My phone";
  show("sign", mode === "up" ? "display-name" : "email");
}

const SIGN_MESSAGES = {
  "invalid-credentials": "The email or the password is wrong.",
  "validation-failed": "Check the fields: a valid email, and a password of at least 10 characters that is not a common one.",
  "bad-request": "Check the fields: a valid email, and a password of at least 10 characters that is not a common one.",
  "rate-limited": "Too many attempts. Wait a few minutes, then try again.",
  "not-found": "This shop is unknown.",
  offline: "Cannot reach the shop’s server. Check the network, then try again.",
  unavailable: "The service is unavailable. Try again shortly.",
};

function explain(p) {
  return SIGN_MESSAGES[p.slug] ?? (p.detail || `The server refused (${p.slug}).`);
}

async function onSign(event) {
  event.preventDefault();
  setText("sign-error", "");
  const displayName = $("display-name").value.trim();
  const email = $("email").value.trim();
  const password = $("password").value;
  const deviceName = $("device-name").value.trim();
  fieldError("display-name", mode === "up" && !displayName ? "Enter your name." : "");
  fieldError("email", /^[^\s@]+@[^\s@]+$/.test(email) ? "" : "Enter your email address.");
  fieldError("password", password.length >= 10 ? "" : "Enter at least 10 characters.");
  const nameLength = [...deviceName].length;
  fieldError("device-name", nameLength >= 1 && nameLength <= 64 ? "" : "Enter 1 to 64 characters.");
  const firstBad = ["display-name", "email", "password", "device-name"].find(
    (id) => $(id).getAttribute("aria-invalid") === "true",
  );
  if (firstBad) {
    $(firstBad).focus();
    return;
  }
  const button = $("sign-submit");
  const label = button.textContent;
  button.disabled = true;
  button.textContent = mode === "up" ? "Signing up…" : "Signing in…";
  try {
    const signed = await api("POST", mode === "up" ? "/v1/customers/sign-up" : "/v1/customers/sign-in", {
      body:
        mode === "up"
          ? { merchant_id: merchant.merchant_id, email, password, display_name: displayName }
          : { merchant_id: merchant.merchant_id, email, password },
    });
    if (!signed.ok) {
      setText("sign-error", explain(signed));
      return;
    }
    await registerDevice(signed.body, deviceName);
    $("sign-form").reset();
    showPay();
  } catch (e) {
    setText("sign-error", `Signing in failed in this browser: ${e?.message ?? e}`);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

/** Section 10.1: a fresh key, its proof over a fresh challenge, POST /v1/devices. */
async function registerDevice(signedIn, name) {
  const keyPair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", keyPair.publicKey));
  const challenge = await api("POST", "/v1/challenges");
  if (!challenge.ok) throw new Error(explain(challenge));
  const message = await wc.registrationMessage(
    merchant.merchant_id,
    wc.fromHex(challenge.body.challenge),
    publicKey,
    name,
  );
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, keyPair.privateKey, message));
  const registered = await api("POST", "/v1/devices", {
    token: signedIn.sign_in_token,
    body: {
      name,
      public_key: wc.toHex(publicKey),
      challenge: challenge.body.challenge,
      signature: wc.toHex(signature),
    },
  });
  if (!registered.ok) throw new Error(explain(registered));
  const r = registered.body;
  device = {
    slug: SLUG,
    merchantId: String(r.merchant_id),
    merchantName: merchant.name,
    customerId: String(r.customer_id),
    deviceId: String(r.device_id),
    deviceHandle: String(r.device_handle),
    numericHandle: String(r.numeric_handle),
    // Shown this once by the server; kept only as a key no script can read.
    totpKey: await wc.importTotpSecret(String(r.totp_secret)),
    privateKey: keyPair.privateKey,
    publicKey: keyPair.publicKey,
    fingerprint: await wc.keyFingerprint(publicKey),
    lastIssuedAt: 0,
    balance: null,
  };
  await saveDevice(device);
  navigator.storage?.persist?.().catch(() => {});
}

// ------------------------------------------------------------------ session and balance

/** A device session (section 10.4), opened anew when none is held. */
async function openSession() {
  if (session && session.until > Date.now()) return { ok: true, token: session.token };
  const challenge = await api("POST", "/v1/challenges");
  if (!challenge.ok) return challenge;
  const message = wc.sessionMessage(device.deviceId, wc.fromHex(challenge.body.challenge));
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, device.privateKey, message));
  const opened = await api("POST", `/v1/devices/${device.deviceId}/sessions`, {
    body: {
      merchant_id: device.merchantId,
      challenge: challenge.body.challenge,
      signature: wc.toHex(signature),
    },
  });
  if (!opened.ok) return opened;
  // A minute early, so that a request never carries a token about to lapse.
  session = {
    token: opened.body.access_token,
    until: Date.now() + Math.max(0, opened.body.expires_in - 60) * 1000,
  };
  return { ok: true, token: session.token };
}

/** A request with the device session; once more with a new one after a 401. */
async function asDevice(method, path, options = {}) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const s = await openSession();
    if (!s.ok) return s;
    const res = await api(method, path, { ...options, token: s.token });
    if (res.status !== 401) return res;
    session = null;
  }
  return { ok: false, status: 401, slug: "unauthorized", detail: "" };
}

function formatAmount(b) {
  const minor = Number(b.minor_units) || 0;
  const value = BigInt(b.balance);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  let text = abs.toString();
  if (minor > 0) {
    text = text.padStart(minor + 1, "0");
    text = `${text.slice(0, -minor)}.${text.slice(-minor)}`;
  }
  return `${negative ? "-" : ""}${text} ${b.unit}`;
}

function formatChange(value, b) {
  const text = formatAmount({ ...b, balance: value });
  return BigInt(value) > 0n ? `+${text}` : text;
}

function renderBalance() {
  const b = device?.balance;
  $("balance").textContent = b ? formatAmount(b) : "—";
  $("balance").dataset.value = b ? String(b.balance) : "";
  $("balance-age").textContent = b
    ? online
      ? ""
      : `as of ${new Date(b.at).toLocaleString()}`
    : online
      ? ""
      : "shown once online";
}

let refreshing = null;

/** Asks the server for the balance; shows "revoked" when the device is. */
function refreshBalance() {
  refreshing ??= (async () => {
    try {
      const res = await asDevice("GET", "/v1/me/balance");
      if (res.ok) {
        const before = device.balance?.balance;
        device.balance = { ...res.body, at: Date.now() };
        await saveDevice(device);
        renderBalance();
        // A code was used (or credit came in): show a newer one at once.
        if (before !== undefined && String(before) !== String(res.body.balance)) await renderCode();
      } else if (res.slug === "device-revoked" || res.slug === "unknown-device") {
        showRevoked();
      } else {
        renderBalance();
      }
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

// ------------------------------------------------------------------ the pay screen

let codeMadeAt = 0;
let onlineUntil = 0; // while an online key is shown instead of the offline token
let codeStep = -1;
let ticker = null;
let wakeLock = null;

function drawQr(payload, kind) {
  const qr = qrcode(0, "M");
  qr.addData(payload, "Alphanumeric");
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4;
  const scale = Math.max(4, Math.floor(400 / (n + 2 * quiet)));
  const canvas = $("qr");
  canvas.width = canvas.height = (n + 2 * quiet) * scale;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#000000";
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.isDark(r, c)) ctx.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale);
    }
  }
  canvas.dataset.modules = String(n);
  canvas.dataset.kind = kind;
  canvas.setAttribute(
    "aria-label",
    kind === "online" ? "Online payment code, single use" : "Payment code, made on this phone",
  );
}

async function renderNumeric(nowS) {
  const code = await wc.numericCode(device.numericHandle, device.totpKey, nowS);
  $("numeric").textContent = wc.groupDigits(code);
  codeStep = Math.floor(nowS / 30);
}

/** A new offline token, newer than every one before it, and the numeric code. */
async function renderCode() {
  const now = serverNow();
  const issuedAt = wc.nextIssuedAt(now, device.lastIssuedAt);
  // Stored first: a reload can never make a token older than one shown.
  device.lastIssuedAt = issuedAt;
  device.clockOffsetMs = clockOffsetMs;
  await saveDevice(device);
  const payload = await wc.offlineToken({
    privateKey: device.privateKey,
    merchantId: device.merchantId,
    deviceHandle: device.deviceHandle,
    issuedAtMs: issuedAt,
  });
  onlineUntil = 0;
  drawQr(payload, "offline");
  $("qr").dataset.issuedAt = String(issuedAt);
  await renderNumeric(Math.floor(now / 1000));
  codeMadeAt = Date.now();
  tick();
}

/** Section 4: a single-use key from the server, shown until it expires. */
async function onOnlineCode() {
  const button = $("online-code");
  button.disabled = true;
  try {
    const res = await asDevice("POST", "/v1/me/online-keys");
    if (res.ok) {
      drawQr(String(res.body.payload), "online");
      onlineUntil = Date.now() + Number(res.body.expires_in) * 1000;
      setText("pay-notice", "");
      tick();
    } else if (res.slug === "device-revoked" || res.slug === "unknown-device") {
      showRevoked();
    } else {
      setText(
        "pay-notice",
        res.slug === "offline"
          ? "No network: show the code made on this phone instead."
          : `No online code now (${res.slug}); the code made on this phone still works.`,
      );
    }
  } finally {
    button.disabled = false;
  }
}

function tick() {
  const now = Date.now();
  if (onlineUntil > 0) {
    if (now < onlineUntil) {
      $("code-age").textContent = `Online code, ${Math.ceil((onlineUntil - now) / 1000)} s left`;
      return;
    }
    onlineUntil = 0;
    renderCode().catch(() => {});
    return;
  }
  const left = Math.max(0, Math.ceil((codeMadeAt + CODE_LIFE_MS - now) / 1000));
  $("code-age").textContent = `New code in ${left} s`;
  if (now - codeMadeAt >= CODE_LIFE_MS) {
    renderCode().catch(() => {});
  } else if (Math.floor(serverNow() / 30000) !== codeStep) {
    renderNumeric(Math.floor(serverNow() / 1000)).catch(() => {});
  }
}

async function keepAwake() {
  if (document.visibilityState !== "visible" || document.body.dataset.screen !== "pay") return;
  try {
    wakeLock = (await navigator.wakeLock?.request("screen")) ?? null;
  } catch (_) {
    wakeLock = null;
  }
}

let polls = 0;

function showPay() {
  $("merchant-name").textContent = device.merchantName || "Wallet";
  $("customer-id").textContent = device.customerId;
  $("fingerprint").textContent = device.fingerprint;
  setText("pay-notice", "");
  renderBalance();
  show("pay");
  renderCode().catch((e) => setText("pay-notice", `Cannot make a code in this browser: ${e?.message ?? e}`));
  clearInterval(ticker);
  ticker = setInterval(() => {
    tick();
    polls = (polls + 1) % (BALANCE_POLL_MS / 1000);
    if (polls === 0 && document.visibilityState === "visible") refreshBalance().catch(() => {});
  }, 1000);
  keepAwake();
  refreshBalance().catch(() => {});
}

function stopPay() {
  clearInterval(ticker);
  ticker = null;
  wakeLock?.release?.().catch(() => {});
  wakeLock = null;
}

function showRevoked() {
  stopPay();
  session = null;
  show("revoked");
}

async function onSignOut() {
  const button = $("sign-out");
  button.disabled = true;
  try {
    // Revoke this device's key at the server when it can be reached; the
    // key is deleted here whatever the answer.
    await asDevice("POST", `/v1/me/devices/${device.deviceId}/revoke`).catch(() => {});
    await startOver();
  } finally {
    button.disabled = false;
  }
}

async function startOver() {
  stopPay();
  session = null;
  await forgetDevice();
  device = null;
  if (!merchant) await start();
  else showSign();
}

// ------------------------------------------------------------------ history

const KINDS = {
  accrue: "Earned",
  redeem: "Paid",
  void: "Payment cancelled",
  refund: "Refund",
  adjust: "Adjustment by the shop",
  expire: "Expired",
};
let historyCursor = null;

function historyLine(item) {
  const unit = device.balance ?? { unit: "", minor_units: 0 };
  const li = document.createElement("li");
  li.dataset.kind = String(item.kind);
  li.dataset.change = String(item.balance_change);
  const cell = (cls, text) => {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    li.append(span);
  };
  cell("what", KINDS[item.kind] ?? String(item.kind));
  cell("change", formatChange(item.balance_change, unit));
  cell("when", new Date(item.created_at).toLocaleString());
  cell("after", `balance ${formatAmount({ ...unit, balance: item.balance_after })}`);
  return li;
}

async function loadHistory(first) {
  setText("history-error", "");
  const more = $("history-more");
  more.disabled = true;
  try {
    const query = first || !historyCursor ? "" : `&starting_after=${historyCursor}`;
    const res = await asDevice("GET", `/v1/me/history?limit=20${query}`);
    if (!res.ok) {
      if (res.slug === "device-revoked" || res.slug === "unknown-device") return showRevoked();
      setText(
        "history-error",
        res.slug === "offline" ? "History needs a network." : `History is unavailable (${res.slug}).`,
      );
      return;
    }
    if (first) $("history").replaceChildren();
    for (const item of res.body.items) $("history").append(historyLine(item));
    historyCursor = res.body.next_cursor ?? null;
    more.hidden = !historyCursor;
    $("history-empty").hidden = $("history").children.length > 0;
  } finally {
    more.disabled = false;
  }
}

function showHistory() {
  show("history");
  loadHistory(true).catch(() => {});
}

// ------------------------------------------------------------------ start

function wire() {
  $("sign-form").addEventListener("submit", onSign);
  $("mode-up").addEventListener("click", () => setMode("up"));
  $("mode-in").addEventListener("click", () => setMode("in"));
  $("refresh").addEventListener("click", () => {
    renderCode().catch(() => {});
    refreshBalance().catch(() => {});
  });
  $("sign-out").addEventListener("click", onSignOut);
  $("online-code").addEventListener("click", () => onOnlineCode().catch(() => {}));
  $("show-history").addEventListener("click", showHistory);
  $("history-more").addEventListener("click", () => loadHistory(false).catch(() => {}));
  $("history-back").addEventListener("click", () => {
    show("pay");
    tick();
  });
  $("revoked-again").addEventListener("click", () => startOver().catch(() => {}));
  $("problem-retry").addEventListener("click", () => location.reload());
  window.addEventListener("online", () => {
    setOnline(true);
    if (device && document.body.dataset.screen === "pay") refreshBalance().catch(() => {});
  });
  window.addEventListener("offline", () => {
    setOnline(false);
    renderBalance();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && device && document.body.dataset.screen === "pay") {
      tick();
      keepAwake();
    }
  });
}

async function start() {
  setOnline(navigator.onLine);
  const reason = await unsupportedReason();
  if (reason) return problem(reason);
  try {
    device = (await loadDevice()) ?? null;
    // Offline, the offset learnt last time is the best there is.
    if (device && clockOffsetMs === 0) clockOffsetMs = device.clockOffsetMs ?? 0;
  } catch (_) {
    return problem("This browser does not let the page keep data (IndexedDB), so it cannot keep your key. Leave private browsing, or allow site data.");
  }
  if (device) return showPay();
  const found = await api("GET", `/v1/merchants/${encodeURIComponent(SLUG)}`);
  if (!found.ok) {
    return problem(
      found.slug === "offline"
        ? "The first visit needs a network: connect, then try again. After that the wallet works offline."
        : found.slug === "not-found"
          ? "No shop has this address. Check the link you were given."
          : explain(found),
    );
  }
  merchant = found.body;
  $("merchant-name").textContent = merchant.name;
  document.title = `${merchant.name} · Wallet`;
  setMode("up");
  showSign();
}

wire();
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/wallet/sw.js", { scope: "/wallet/" }).catch(() => {});
}
start();
