// Tillcode till: enrollment, approval, and redemption by camera, typed or
// pasted code. Every request after enrollment is signed with the terminal's
// Ed25519 key (RFC 9421, docs/protocol.md section 11). The private key is
// generated non-extractable and only ever lives in this browser's IndexedDB.
// All text from the server is shown with textContent, never as HTML.

import * as tc from "./signing.mjs";
import { fieldError, idbStore, screens, setText } from "./page.mjs";

const $ = (id) => document.getElementById(id);
const utf8 = new TextEncoder();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------ screens

const SCREENS = [
  "loading", "unsupported", "enroll", "pending", "redeem", "scan", "busy", "result", "recent", "undo",
];

const show = screens(SCREENS);

const numberFormat = new Intl.NumberFormat();
function fmt(n) {
  return typeof n === "number" && Number.isFinite(n) ? numberFormat.format(n) : "—";
}

// ------------------------------------------------------------------ storage

// One record: the terminal's ids, name, status and its key pair (CryptoKey
// objects; IndexedDB keeps a non-extractable key without exposing it).
const DB_NAME = "tillcode-till";
const DB_STORE = "terminal";
const DB_KEY = "self";

const store = idbStore(DB_NAME, DB_STORE);
const loadTerminal = () => store.get(DB_KEY);
const saveTerminal = (record) => store.put(DB_KEY, record);
const forgetTerminal = () => store.delete(DB_KEY);

// ------------------------------------------------------------------ state

let terminal = null;
// Seconds to add to this device's clock, learnt from the server's Date
// header after a signature-expired answer. The server still checks +-30 s
// against its own clock; this only rescues a till whose clock drifted.
let clockOffset = 0;

function renderTerminal() {
  if (!terminal) {
    $("terminal-label").textContent = "";
    return;
  }
  $("terminal-label").textContent = `${terminal.name} · ${terminal.status}`;
  $("info-name").textContent = terminal.name;
  $("info-status").textContent = terminal.status;
  $("info-id").textContent = terminal.terminalId;
  $("info-store").textContent = terminal.storeId;
  $("info-fingerprint").textContent = terminal.fingerprint;
}

// ------------------------------------------------------------------ HTTP

async function readProblem(res) {
  let body = null;
  try {
    body = await res.json();
  } catch (_) {
    body = null;
  }
  return {
    status: res.status,
    slug: tc.problemSlug(body?.type) || `http-${res.status}`,
    title: typeof body?.title === "string" ? body.title : "",
    detail: typeof body?.detail === "string" ? body.detail : "",
  };
}

/** Signs and sends a request as this terminal. `body` is bytes or null. */
async function signedFetch(method, target, { body = null, idempotencyKey = null } = {}) {
  const headers = await tc.signRequest({
    privateKey: terminal.privateKey,
    keyid: `terminal:${terminal.terminalId}`,
    method,
    target,
    body,
    idempotencyKey,
    created: Math.floor(Date.now() / 1000) + clockOffset,
  });
  if (body !== null) headers["Content-Type"] = "application/json";
  headers.Accept = "application/json, application/problem+json";
  return fetch(target, {
    method,
    headers,
    body,
    cache: "no-store",
    credentials: "omit",
    redirect: "error",
  });
}

/** After signature-expired: adopt the server's clock. True if it differs. */
function learnClock(res) {
  const server = Date.parse(res.headers.get("Date") ?? "");
  if (Number.isNaN(server)) return false;
  const offset = Math.round((server - Date.now()) / 1000);
  if (Math.abs(offset - clockOffset) < 5) return false;
  clockOffset = offset;
  return true;
}

// ------------------------------------------------------------------ support

async function unsupportedReason() {
  if (!window.isSecureContext) {
    return "Open the till over HTTPS (or on localhost): browsers give cryptography and the camera only to secure pages.";
  }
  if (!window.crypto?.subtle || !window.indexedDB) {
    return "This browser lacks WebCrypto or IndexedDB, which the till needs to keep its key. Use a current Chrome, Edge, Firefox or Safari, not a private window.";
  }
  try {
    await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  } catch (_) {
    return "This browser cannot make Ed25519 keys with WebCrypto, which the till needs to sign its requests. Use Chrome or Edge 137 or later, Firefox 129 or later, or Safari 17 or later.";
  }
  return null;
}

// ------------------------------------------------------------------ enrollment

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const ENROLL_MESSAGES = {
  "malformed-code": "That enrollment code is not valid: it is 8 letters, like BCDF-GHJK.",
  "code-expired": "This enrollment code is unknown, used or expired. Ask a manager for a new one.",
  "not-found": "This enrollment code is unknown, used or expired for this store. Check the store ID, or ask a manager for a new code.",
  "signature-invalid": "The server could not verify this terminal's new key. Reload the page and enroll again; if it keeps happening, this browser's cryptography is faulty.",
  locked: "Too many wrong codes: this enrollment is locked. Ask a manager for a new code.",
  "rate-limited": "Too many attempts. Wait a minute, then try again.",
  "weak-key": "The browser made an unusable key. Reload the page and try again.",
  unavailable: "The rewards service is unavailable. Try again shortly.",
};

function showEnroll() {
  renderTerminal();
  show("enroll", "store-id");
}

async function onEnroll(event) {
  event.preventDefault();
  setText("enroll-error", "");
  const storeId = $("store-id").value.trim().toLowerCase();
  const code = tc.parseEnrollmentCode($("enroll-code").value);
  const name = $("terminal-name").value.trim();
  fieldError("store-id", UUID_RE.test(storeId) ? "" : "Enter the store ID: 36 characters with dashes.");
  fieldError("enroll-code", code ? "" : "Enter the 8-letter code, like BCDF-GHJK.");
  const nameLength = [...name].length;
  fieldError(
    "terminal-name",
    nameLength >= 1 && nameLength <= 64 ? "" : "Enter a name of 1 to 64 characters.",
  );
  const firstBad = ["store-id", "enroll-code", "terminal-name"].find(
    (id) => $(id).getAttribute("aria-invalid") === "true",
  );
  if (firstBad) {
    $(firstBad).focus();
    return;
  }

  const button = $("enroll-submit");
  button.disabled = true;
  button.textContent = "Enrolling…";
  try {
    // A fresh key for every attempt; the private half cannot be exported.
    const keyPair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", keyPair.publicKey));
    const message = await tc.enrollmentMessage(code, publicKey, name);
    const signature = new Uint8Array(
      await crypto.subtle.sign({ name: "Ed25519" }, keyPair.privateKey, message),
    );
    let res;
    try {
      res = await fetch("/v1/terminals/enroll", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json, application/problem+json" },
        body: JSON.stringify({
          store_id: storeId,
          code,
          name,
          public_key: tc.toHex(publicKey),
          signature: tc.toHex(signature),
        }),
        cache: "no-store",
        credentials: "omit",
        redirect: "error",
      });
    } catch (_) {
      setText("enroll-error", "Cannot reach the server. Check the network, then try again.");
      return;
    }
    if (res.status !== 201 && res.status !== 200) {
      const p = await readProblem(res);
      setText("enroll-error", ENROLL_MESSAGES[p.slug] ?? describeUnknown(p));
      return;
    }
    const info = await res.json();
    const fingerprint = await tc.keyFingerprint(publicKey);
    terminal = {
      terminalId: String(info.terminal_id),
      merchantId: String(info.merchant_id ?? ""),
      storeId: String(info.store_id ?? storeId),
      name: String(info.name ?? name),
      status: String(info.status ?? "pending"),
      fingerprint,
      serverFingerprint: String(info.fingerprint ?? ""),
      publicKeyHex: tc.toHex(publicKey),
      privateKey: keyPair.privateKey,
      publicKey: keyPair.publicKey,
      enrolledAt: new Date().toISOString(),
    };
    await saveTerminal(terminal);
    // Ask the browser not to evict the key under storage pressure.
    navigator.storage?.persist?.().catch(() => {});
    $("enroll-form").reset();
    if (terminal.status === "active") showRedeem();
    else showPending();
  } catch (e) {
    setText("enroll-error", `Enrollment failed in this browser: ${e?.message ?? e}`);
  } finally {
    button.disabled = false;
    button.textContent = "Enroll this terminal";
  }
}

// ------------------------------------------------------------------ approval

let pollTimer = null;
let polling = false;

function stopPolling() {
  clearTimeout(pollTimer);
  pollTimer = null;
}

function schedulePoll(ms) {
  stopPolling();
  pollTimer = setTimeout(pollStatus, ms);
}

const STATUS_TEXT = {
  pending: ["Waiting for approval", "Not approved yet. Checking again every few seconds…"],
  suspended: ["Terminal suspended", "A manager suspended this terminal. It works again once they resume it."],
  revoked: ["Terminal revoked", "This terminal was revoked and cannot be used. Forget it and enroll again with a new code."],
};

function showPending() {
  renderTerminal();
  const [title, text] = STATUS_TEXT[terminal.status] ?? STATUS_TEXT.pending;
  $("h-pending").textContent = title;
  $("pending-name").textContent = terminal.name;
  $("pending-fingerprint").textContent = terminal.fingerprint;
  $("pending-intro").hidden = terminal.status !== "pending";
  setText(
    "pending-warning",
    terminal.serverFingerprint && terminal.serverFingerprint !== terminal.fingerprint
      ? `The server reports another key fingerprint (${terminal.serverFingerprint}). Do not approve this terminal; forget it and enroll again.`
      : "",
  );
  $("pending-status").textContent = text;
  if (document.body.dataset.screen !== "pending") show("pending");
  if (terminal.status !== "revoked") schedulePoll(1000);
}

/** Asks the server for this terminal's status; returns true if it answered. */
async function refreshStatus() {
  let res;
  try {
    res = await signedFetch("GET", "/v1/terminal");
  } catch (_) {
    return { reached: false, message: "Cannot reach the server. Retrying…" };
  }
  if (res.ok) {
    const info = await res.json();
    terminal.status = String(info.status);
    if (info.name) terminal.name = String(info.name);
    if (info.fingerprint) terminal.serverFingerprint = String(info.fingerprint);
    await saveTerminal(terminal);
    renderTerminal();
    return { reached: true };
  }
  const p = await readProblem(res);
  if (p.slug === "signature-expired" && learnClock(res)) return refreshStatus();
  if (p.slug === "terminal-not-active") return { reached: true };
  if (p.slug === "signature-invalid") {
    return {
      reached: false,
      message: "The server does not recognise this terminal's key. If the terminal was deleted, forget it and enroll again.",
    };
  }
  return { reached: false, message: describe(p) };
}

async function pollStatus() {
  if (polling || !terminal) return;
  polling = true;
  try {
    const r = await refreshStatus();
    if (document.body.dataset.screen !== "pending") return;
    if (terminal.status === "active") {
      stopPolling();
      showRedeem();
      return;
    }
    if (!r.reached) $("pending-status").textContent = r.message;
    else showPending();
    if (terminal.status !== "revoked") schedulePoll(3000);
  } finally {
    polling = false;
  }
}

async function onForget() {
  if (!window.confirm("Forget this terminal? It must be enrolled again with a new code from a manager.")) return;
  stopPolling();
  stopScan();
  await forgetTerminal();
  terminal = null;
  showEnroll();
}

// ------------------------------------------------------------------ amounts

let keypadField = "amount";

function setKeypadField(id) {
  keypadField = id;
  for (const f of ["amount", "earn"]) $(f).classList.toggle("keypad-target", f === id);
  $("keypad").setAttribute(
    "aria-label",
    id === "amount" ? "Keypad for the amount to redeem" : "Keypad for the amount earned",
  );
}

function onKeypad(event) {
  const key = event.target.closest("button")?.dataset.key;
  if (!key) return;
  const input = $(keypadField);
  if (key === "back") input.value = input.value.slice(0, -1);
  else if (key === "clear") input.value = "";
  else if (input.value.length < 12) input.value = input.value === "0" ? key : input.value + key;
  setText("redeem-error", "");
  input.removeAttribute("aria-invalid");
}

function parseAmount(text, optional) {
  const t = text.trim();
  if (t === "") {
    return optional ? { value: null } : { error: "Enter the amount to redeem, or only what the customer earns." };
  }
  if (!/^[0-9]{1,12}$/.test(t)) return { error: "Amounts are whole numbers: digits only." };
  const value = Number(t);
  if (value === 0) return optional ? { value: null } : { error: "The amount must be above zero." };
  return { value };
}

/** The amounts on screen, or null after showing what is wrong. */
function readAmounts() {
  const earn = parseAmount($("earn").value, true);
  // With an earning and nothing to redeem, the sale only earns (an accrual).
  const amount = parseAmount($("amount").value, !earn.error && earn.value !== null);
  const error = amount.error ?? (earn.error ? `Earn: ${earn.error}` : null);
  for (const [id, bad] of [["amount", amount.error], ["earn", earn.error]]) {
    if (bad) $(id).setAttribute("aria-invalid", "true");
    else $(id).removeAttribute("aria-invalid");
  }
  if (error) {
    show("redeem", amount.error ? "amount" : "earn");
    setText("redeem-error", error);
    return null;
  }
  return { amount: amount.value, earn: earn.value };
}

function showRedeem(focusId = "amount") {
  renderTerminal();
  show("redeem", focusId);
}

// ------------------------------------------------------------------ redemption

const PROBLEMS = {
  "code-replayed": "This code was already used — ask for a new one.",
  "code-expired": "This code has expired — ask the customer to show a new one.",
  "code-not-yet-valid": "This code is dated in the future: the customer's phone clock is wrong. Ask them to correct it and show a new code.",
  "code-superseded": "A newer code from this phone was already used — ask for a new one.",
  "malformed-code": "That is not a valid Tillcode payment code. Scan it again, or type the digits.",
  "unknown-device": "This code comes from a phone that is not registered with this shop's rewards.",
  "device-revoked": "The customer's phone was signed out of rewards. Ask them to sign in again.",
  "bad-code-signature": "The code could not be verified. For a typed code, check the digits; otherwise ask for a new code.",
  "wrong-merchant": "This code is for another shop's rewards.",
  "insufficient-balance": "Not enough balance for this amount. Lower the amount or take another payment.",
  "amount-invalid": "The amount is not valid: it must be above zero and not too large.",
  "account-not-found": "The customer has no rewards account here.",
  "balance-limit": "This would take the customer's balance past its limit.",
  locked: "Too many wrong codes: typed codes for this customer are locked for now. Scan the QR code instead.",
  "rate-limited": "Too many attempts. Wait a minute, then try again.",
  "terminal-not-active": "This terminal is not active (waiting for approval, suspended or revoked). Ask a manager.",
  "signature-missing": "The server did not receive this terminal's signature. Reload the page and try again.",
  "signature-invalid": "The server did not accept this terminal's signature. If the terminal was removed, forget it and enroll again.",
  "signature-expired": "This terminal's clock is more than 30 seconds off. Set the correct date and time, then try again.",
  "signature-replayed": "The server saw this request twice. Try again.",
  "digest-mismatch": "The request was changed on its way to the server. Try again; if it keeps happening, tell a manager.",
  unauthorized: "This terminal is not authorised. Ask a manager.",
  "idempotency-key-missing": "The request had no idempotency key. Reload the page and try again.",
  "idempotency-key-reused": "This request clashed with an earlier one. Try again.",
  "request-in-flight": "The server is still working on this redemption. Wait a moment, then retry.",
  "idempotency-in-flight": "The server is still working on this redemption. Wait a moment, then retry.",
  "validation-failed": "The server refused the request as invalid.",
  "payload-too-large": "The code is too long to be a payment code.",
  unavailable: "The rewards service is unavailable. Retry in a moment.",
};

const TERMINAL_NOT_ACTIVE = {
  pending: "This terminal is still waiting for a manager's approval.",
  suspended: "This terminal is suspended. Ask a manager to resume it.",
  revoked: "This terminal was revoked. Forget it and enroll it again with a new code.",
};

// Refusals of the code itself: the answer is a new code.
const CODE_PROBLEMS = new Set([
  "code-replayed", "code-expired", "code-not-yet-valid", "code-superseded", "malformed-code",
  "unknown-device", "bad-code-signature", "wrong-merchant",
]);
// Where the same request (same Idempotency-Key and body) may be retried.
const RETRYABLE = new Set(["request-in-flight", "idempotency-in-flight", "unavailable"]);

function describeUnknown(p) {
  if (p.status >= 500) return "The server had a problem. Retry in a moment.";
  return p.title ? `${p.title}.` : `The server refused the request (HTTP ${p.status}).`;
}

function describe(p) {
  return PROBLEMS[p.slug] ?? describeUnknown(p);
}

// The request on screen, kept so that "Retry" resends the same body under the
// same Idempotency-Key: the server then answers it once, never twice.
let lastRequest = null;

async function redeem(code) {
  const amounts = readAmounts();
  if (!amounts) return;
  // Earn only: the code names the customer, and nothing is redeemed.
  const earnOnly = amounts.amount === null;
  const body = earnOnly ? { code, amount: amounts.earn } : { code, amount: amounts.amount };
  if (!earnOnly && amounts.earn !== null) body.earn = amounts.earn;
  lastRequest = {
    path: earnOnly ? "/v1/accruals" : "/v1/redemptions",
    earnOnly,
    bytes: utf8.encode(JSON.stringify(body)),
    idempotencyKey: crypto.randomUUID(),
    amounts,
  };
  await send(lastRequest);
}

async function send(request) {
  $("h-busy").textContent = request.earnOnly
    ? `Adding ${fmt(request.amounts.earn)}…`
    : `Redeeming ${fmt(request.amounts.amount)}…`;
  $("busy-status").textContent = "";
  show("busy");
  const MAX_ATTEMPTS = 4;
  let clockFixed = false;
  for (let attempt = 1; ; attempt++) {
    let res;
    try {
      res = await signedFetch("POST", request.path, {
        body: request.bytes,
        idempotencyKey: request.idempotencyKey,
      });
    } catch (_) {
      if (attempt < MAX_ATTEMPTS) {
        $("busy-status").textContent = "No connection to the server. Retrying the same request…";
        await sleep(500 * 2 ** attempt);
        continue;
      }
      showFailure({
        message: request.earnOnly
          ? "No connection to the server. The points may not have been added."
          : "No connection to the server. The redemption may not have gone through.",
        detail: "Retry sends the same request again: the customer is never charged twice.",
        retry: true,
      });
      return;
    }
    if (res.ok) {
      const answer = await res.json();
      if (request.earnOnly) showEarned(answer);
      else showSuccess(answer);
      return;
    }
    const p = await readProblem(res);
    if ((RETRYABLE.has(p.slug) || res.status === 502 || res.status === 504) && attempt < MAX_ATTEMPTS) {
      $("busy-status").textContent = "The server is busy. Retrying the same request…";
      await sleep(500 * 2 ** attempt);
      continue;
    }
    if (p.slug === "signature-expired" && !clockFixed && learnClock(res)) {
      clockFixed = true;
      continue;
    }
    let message = describe(p);
    if (p.slug === "terminal-not-active") {
      await refreshStatus().catch(() => {});
      message = TERMINAL_NOT_ACTIVE[terminal.status] ?? message;
    }
    showFailure({
      message,
      title: request.earnOnly ? "Not added" : "Not redeemed",
      detail: p.detail,
      slug: p.slug,
      retry: RETRYABLE.has(p.slug) || p.status >= 500,
      newCode: CODE_PROBLEMS.has(p.slug),
    });
    return;
  }
}

function customerName(c) {
  if (typeof c === "string") return c;
  if (c && typeof c === "object") {
    const name = c.masked_name ?? c.display_name ?? c.name ?? c.email;
    if (typeof name === "string") return name;
  }
  return "—";
}

const KIND_TEXT = { online: "an online code", offline: "an offline code", numeric: "a typed code" };

function showSuccess(r) {
  lastRequest = null;
  $("h-result").textContent = "Redeemed";
  $("result-ok").hidden = false;
  $("result-error").hidden = true;
  $("r-customer").textContent = customerName(r.customer);
  // `earned` is {accrual_id, amount, balance_after} when the sale also
  // earned, else null; then the balance that counts is the one after earning.
  const earned = r.earned && typeof r.earned === "object" ? r.earned : null;
  const earnedAmount = earned ? earned.amount : typeof r.earned === "number" ? r.earned : 0;
  const finalBalance = earned && typeof earned.balance_after === "number" ? earned.balance_after : r.balance_after;
  for (const [id, v] of [["r-amount", r.amount], ["r-earned", earnedAmount], ["r-balance", finalBalance]]) {
    $(id).textContent = fmt(v);
    $(id).dataset.value = String(v);
  }
  setText(
    "r-balance-note",
    earned ? `${fmt(r.balance_after)} after the redemption, then ${fmt(earnedAmount)} earned.` : "",
  );
  setText("r-kind", r.code_kind ? `Paid with ${KIND_TEXT[r.code_kind] ?? String(r.code_kind)}.` : "");
  $("r-replayed").hidden = r.replayed !== true;
  $("result-retry").hidden = true;
  $("result-scan").hidden = true;
  $("result-back").hidden = true;
  $("result-next").hidden = false;
  document.body.dataset.result = "ok";
  show("result", "h-result");
}

/** An earn-only sale's answer (`POST /v1/accruals`): nothing redeemed. */
function showEarned(r) {
  showSuccess({
    customer: r.customer,
    amount: 0,
    earned: null,
    balance_after: r.balance_after,
    replayed: r.replayed,
  });
  $("h-result").textContent = "Points added";
  $("r-earned").textContent = fmt(r.amount);
  $("r-earned").dataset.value = String(r.amount);
}

function showFailure({ message, title = "Not redeemed", detail = "", slug = "", retry = false, newCode = false }) {
  $("result-ok").hidden = true;
  $("result-error").hidden = false;
  $("h-result-error").textContent = newCode ? "Ask for a new code" : title;
  $("e-message").textContent = message;
  setText("e-detail", detail && detail !== message ? detail : "");
  $("result-retry").hidden = !retry;
  $("result-scan").hidden = !newCode;
  $("result-back").hidden = false;
  $("result-next").hidden = true;
  document.body.dataset.result = slug || "error";
  show("result", "h-result-error");
}

function clearSale() {
  for (const id of ["amount", "earn", "manual-code", "paste-code"]) $(id).value = "";
  for (const id of ["manual-code", "paste-code"]) fieldError(id, "");
  setText("redeem-error", "");
  setKeypadField("amount");
}

// ------------------------------------------------------------------ undo

// The terminal's own recent sales (GET /v1/terminal/transactions), newest
// first; a redemption with something left to give back can be voided (all
// of it, if nothing was refunded yet) or refunded in part.
const KIND_LABEL = { redeem: "Redeemed", accrue: "Earned", void: "Voided", refund: "Refunded", adjust: "Adjusted" };
const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" });
let recentCursor = null;
// The undo on screen: its sale, and the request last sent for it, so that
// pressing the same button again resends the same Idempotency-Key.
let undoing = null;

async function openRecent(status = "") {
  $("recent-list").replaceChildren();
  recentCursor = null;
  setText("recent-status", status);
  show("recent", "h-recent");
  await loadRecent();
}

async function loadRecent() {
  const query = new URLSearchParams({ limit: "10" });
  if (recentCursor) query.set("starting_after", recentCursor);
  let res;
  try {
    res = await signedFetch("GET", `/v1/terminal/transactions?${query}`);
  } catch (_) {
    setText("recent-status", "No connection to the server. Try again in a moment.");
    return;
  }
  if (!res.ok) {
    setText("recent-status", describe(await readProblem(res)));
    return;
  }
  const page = await res.json();
  for (const item of page.items ?? []) $("recent-list").append(recentLine(item));
  recentCursor = page.next_cursor ?? null;
  $("recent-more").hidden = !recentCursor;
  if (!$("recent-list").children.length) setText("recent-status", "No sales at this terminal yet.");
}

function recentLine(item) {
  const li = document.createElement("li");
  li.dataset.transferId = item.transfer_id;
  li.dataset.kind = item.kind;
  const what = document.createElement("span");
  what.className = "what";
  what.textContent = `${KIND_LABEL[item.kind] ?? item.kind} ${fmt(item.amount)} · ${item.customer}`;
  const when = document.createElement("span");
  when.className = "when";
  const state = item.voided ? " · voided" : item.refundable === 0 ? " · refunded" : "";
  when.textContent = timeFormat.format(new Date(item.created_at)) +
    (item.reference ? ` · ${item.reference}` : "") + state;
  li.append(what, when);
  if (item.kind === "redeem" && item.refundable > 0) {
    const undo = document.createElement("button");
    undo.type = "button";
    undo.textContent = "Undo…";
    undo.setAttribute("aria-label", `Undo: ${what.textContent}`);
    undo.addEventListener("click", () => openUndo(item));
    li.append(undo);
  }
  return li;
}

function openUndo(item) {
  undoing = { item, sent: null };
  $("undo-summary").textContent =
    `${item.customer}: redeemed ${fmt(item.amount)} on ${timeFormat.format(new Date(item.created_at))}.`;
  $("refund-amount").value = String(item.refundable);
  $("refund-amount").removeAttribute("aria-invalid");
  setText("refund-hint", `Up to ${fmt(item.refundable)} can be given back to ${item.customer}.`);
  setText("undo-error", "");
  // A void gives back everything, so only while nothing was refunded.
  $("undo-void").hidden = item.refundable !== item.amount;
  $("undo-void").textContent = `Void: give all ${fmt(item.amount)} back to ${item.customer}`;
  updateRefundLabel();
  show("undo", "h-undo");
}

function updateRefundLabel() {
  const amount = parseAmount($("refund-amount").value, false);
  $("undo-refund").textContent = amount.value
    ? `Refund: give ${fmt(amount.value)} back to ${undoing?.item.customer ?? ""}`
    : "Refund";
}

async function sendUndo(path, body, done) {
  const bytes = JSON.stringify(body);
  // The same action and amount again (a retry after no answer) keeps its key.
  if (!undoing.sent || undoing.sent.path !== path || undoing.sent.bytes !== bytes) {
    undoing.sent = { path, bytes, idempotencyKey: crypto.randomUUID() };
  }
  setText("undo-error", "");
  for (const id of ["undo-refund", "undo-void"]) $(id).disabled = true;
  try {
    let res;
    try {
      res = await signedFetch("POST", path, {
        body: utf8.encode(bytes),
        idempotencyKey: undoing.sent.idempotencyKey,
      });
    } catch (_) {
      setText("undo-error", "No connection to the server. Press again: nothing is given back twice.");
      return;
    }
    if (!res.ok) {
      const p = await readProblem(res);
      setText("undo-error", UNDO_PROBLEMS[p.slug] ?? describe(p));
      return;
    }
    const r = await res.json();
    undoing = null;
    await openRecent(done(r));
  } finally {
    for (const id of ["undo-refund", "undo-void"]) $(id).disabled = false;
  }
}

const UNDO_PROBLEMS = {
  "already-voided": "This sale was already voided.",
  "redemption-has-refunds": "Part of this sale was refunded already: refund the rest instead.",
  "refund-exceeds-redemption": "That is more than is left to give back on this sale.",
};

function onRefund(event) {
  event.preventDefault();
  const amount = parseAmount($("refund-amount").value, false);
  if (amount.error || amount.value > undoing.item.refundable) {
    $("refund-amount").setAttribute("aria-invalid", "true");
    setText("undo-error", amount.error ?? `At most ${fmt(undoing.item.refundable)} can be given back.`);
    return;
  }
  const { item } = undoing;
  sendUndo(`/v1/redemptions/${item.transfer_id}/refunds`, { amount: amount.value }, (r) =>
    `Gave ${fmt(r.amount)} back to ${item.customer}; balance ${fmt(r.balance_after)}.`);
}

function onVoid() {
  const { item } = undoing;
  sendUndo(`/v1/redemptions/${item.transfer_id}/void`, {}, (r) =>
    `Voided: gave ${fmt(r.amount)} back to ${item.customer}; balance ${fmt(r.balance_after)}.`);
}

// ------------------------------------------------------------------ typed codes

function onManual(event) {
  event.preventDefault();
  const digits = tc.parseNumericCode($("manual-code").value.trim());
  fieldError("manual-code", digits ? "" : "Type all 18 digits of the code.");
  if (!digits) {
    $("manual-code").focus();
    return;
  }
  redeem(digits);
}

function onPaste(event) {
  event.preventDefault();
  // A payload has no whitespace, so surrounding whitespace from a paste goes.
  const text = $("paste-code").value.trim();
  const code = tc.parseNumericCode(text) ?? (text.startsWith("TC1") ? text : null);
  let error = "";
  if (!code) error = "Paste the text of a payment code: it starts with TC1.";
  else if (code.startsWith("TC1L")) error = "That is a device link code, not a payment code.";
  fieldError("paste-code", error);
  if (error) {
    $("paste-code").focus();
    return;
  }
  redeem(code);
}

// ------------------------------------------------------------------ camera

let scanToken = 0;
let scan = null; // { stream, decoder }

function stopScan() {
  scanToken++;
  if (scan) {
    for (const track of scan.stream?.getTracks() ?? []) track.stop();
    scan.decoder?.close();
    scan = null;
  }
  const video = $("video");
  video.pause();
  video.srcObject = null;
}

function cameraError(e) {
  switch (e?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "The camera is blocked for this page. Allow the camera in the browser's site settings, or type or paste the code.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found. Type or paste the code instead.";
    case "NotReadableError":
    case "AbortError":
      return "The camera is busy or failed to start. Close other apps using it, or type the code.";
    default:
      return "The camera could not be started. Type or paste the code instead.";
  }
}

async function makeDecoder() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return {
          fromVideo: true,
          detect: async (video) => (await detector.detect(video))[0]?.rawValue ?? null,
          close() {},
        };
      }
    } catch (_) {
      // Fall through to jsQR.
    }
  }
  const worker = new Worker("/till/scan-worker.js");
  const waiting = new Map();
  let seq = 0;
  const settleAll = () => {
    for (const resolve of waiting.values()) resolve(null);
    waiting.clear();
  };
  worker.onmessage = (e) => {
    const resolve = waiting.get(e.data.id);
    waiting.delete(e.data.id);
    resolve?.(e.data.text);
  };
  worker.onerror = settleAll;
  return {
    fromVideo: false,
    detect: (image) =>
      new Promise((resolve) => {
        const id = ++seq;
        waiting.set(id, resolve);
        worker.postMessage(
          { id, width: image.width, height: image.height, data: image.data.buffer },
          [image.data.buffer],
        );
      }),
    close() {
      worker.terminate();
      settleAll();
    },
  };
}

async function startScan(event) {
  event?.preventDefault();
  const amounts = readAmounts();
  if (!amounts) return;
  stopScan();
  const token = scanToken;
  $("scan-amount").textContent =
    amounts.amount === null
      ? `Earn ${fmt(amounts.earn)}, nothing redeemed`
      : `Amount ${fmt(amounts.amount)}` + (amounts.earn !== null ? `, earn ${fmt(amounts.earn)}` : "");
  $("scan-status").textContent = "Starting the camera…";
  show("scan", "scan-cancel");
  if (!navigator.mediaDevices?.getUserMedia) {
    scanFailed("This browser gives no camera access. Type or paste the code instead.");
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (e) {
    if (token === scanToken) scanFailed(cameraError(e));
    return;
  }
  if (token !== scanToken) {
    for (const track of stream.getTracks()) track.stop();
    return;
  }
  scan = { stream, decoder: null };
  const video = $("video");
  video.srcObject = stream;
  await video.play().catch(() => {});
  const decoder = await makeDecoder();
  if (token !== scanToken) {
    decoder.close();
    return;
  }
  scan.decoder = decoder;
  $("scan-status").textContent = "Hold the customer's QR code in front of the camera.";
  scanLoop(token, decoder);
}

async function scanLoop(token, decoder) {
  const video = $("video");
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  while (token === scanToken) {
    if (video.readyState >= 2 && video.videoWidth > 0) {
      let text = null;
      try {
        if (decoder.fromVideo) {
          text = await decoder.detect(video);
        } else {
          const scale = Math.min(1, 960 / Math.max(video.videoWidth, video.videoHeight));
          canvas.width = Math.round(video.videoWidth * scale);
          canvas.height = Math.round(video.videoHeight * scale);
          ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
          text = await decoder.detect(ctx.getImageData(0, 0, canvas.width, canvas.height));
        }
      } catch (_) {
        text = null;
      }
      if (token !== scanToken) return;
      if (text !== null) {
        const payload = tc.cleanPayload(text);
        const numeric = tc.parseNumericCode(payload);
        if (payload.startsWith("TC1L")) {
          $("scan-status").textContent = "That is a device link code, not a payment code. Ask for the payment code.";
        } else if (payload.startsWith("TC1") || numeric) {
          stopScan();
          redeem(numeric ?? payload);
          return;
        } else {
          $("scan-status").textContent = "That QR code is not a Tillcode payment code.";
        }
      }
    }
    await sleep(120);
  }
}

function scanFailed(message) {
  stopScan();
  showRedeem("scan-button");
  setText("redeem-error", message);
}

// ------------------------------------------------------------------ start

function wire() {
  $("enroll-form").addEventListener("submit", onEnroll);
  $("enroll-code").addEventListener("blur", () => {
    const code = tc.parseEnrollmentCode($("enroll-code").value);
    if (code) $("enroll-code").value = `${code.slice(0, 4)}-${code.slice(4)}`;
  });
  $("pending-check").addEventListener("click", () => {
    $("pending-status").textContent = "Checking…";
    schedulePoll(0);
  });
  $("pending-forget").addEventListener("click", onForget);
  $("info-forget").addEventListener("click", onForget);
  $("amount-form").addEventListener("submit", startScan);
  $("keypad").addEventListener("click", onKeypad);
  $("amount").addEventListener("focus", () => setKeypadField("amount"));
  $("earn").addEventListener("focus", () => setKeypadField("earn"));
  for (const id of ["amount", "earn"]) {
    $(id).addEventListener("input", () => {
      setText("redeem-error", "");
      $(id).removeAttribute("aria-invalid");
    });
  }
  $("manual-form").addEventListener("submit", onManual);
  $("paste-form").addEventListener("submit", onPaste);
  $("scan-cancel").addEventListener("click", () => {
    stopScan();
    showRedeem("scan-button");
  });
  $("result-next").addEventListener("click", () => {
    clearSale();
    showRedeem();
  });
  $("result-back").addEventListener("click", () => {
    // A terminal found not active goes to the status screen, which polls.
    if (terminal && terminal.status !== "active") showPending();
    else showRedeem();
  });
  $("result-scan").addEventListener("click", () => startScan());
  $("recent-open").addEventListener("click", () => openRecent());
  $("recent-more").addEventListener("click", () => loadRecent());
  $("recent-back").addEventListener("click", () => showRedeem());
  $("undo-form").addEventListener("submit", onRefund);
  $("undo-void").addEventListener("click", onVoid);
  $("undo-cancel").addEventListener("click", () => openRecent());
  $("refund-amount").addEventListener("input", () => {
    $("refund-amount").removeAttribute("aria-invalid");
    updateRefundLabel();
  });
  $("result-retry").addEventListener("click", () => {
    if (lastRequest) send(lastRequest);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.dataset.screen === "scan") {
      stopScan();
      showRedeem("scan-button");
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden && document.body.dataset.screen === "scan") {
      stopScan();
      showRedeem("scan-button");
    }
  });
}

async function start() {
  wire();
  const reason = await unsupportedReason();
  if (reason) {
    $("unsupported-reason").textContent = reason;
    show("unsupported");
    return;
  }
  try {
    terminal = (await loadTerminal()) ?? null;
  } catch (_) {
    $("unsupported-reason").textContent =
      "This browser does not let the page keep data (IndexedDB), so it cannot keep the till's key. Leave private browsing, or allow site data.";
    show("unsupported");
    return;
  }
  if (!terminal) {
    showEnroll();
  } else if (terminal.status === "active") {
    showRedeem();
    // Learn of a suspension before the first sale, without blocking it.
    refreshStatus().then(
      () => {
        if (terminal && terminal.status !== "active" && document.body.dataset.screen === "redeem") showPending();
      },
      () => {},
    );
  } else {
    showPending();
  }
}

start();
