// Tillcode dashboard: staff sign-in, overview, customers, terminals, fraud,
// settings.
//
// The session is the HttpOnly `tillcode_staff` cookie the server sets; the
// CSRF token from the sign-in answer is kept in sessionStorage (this tab
// only) and sent as X-CSRF-Token on every POST. A 401 anywhere means the
// session is over: the sign-in form comes back. Viewers get the same page;
// the server refuses their changes (403) and the page says so. The customer
// actions (balance adjustment, device unlock) are not even offered to them.
//
// Everything is built with DOM calls (never markup from strings) under a CSP without
// inline script or style.

import { groupedBars, horizontalBars } from "./charts.mjs";

const $ = (id) => document.getElementById(id);
const CSRF_KEY = "tillcode-dashboard-csrf";
const MERCHANT_KEY = "tillcode-dashboard-merchant";
const PAGES = ["overview", "customers", "terminals", "fraud", "settings"];

const state = {
  role: null,
  unit: "points",
  minorUnits: 0,
  stores: [],
  history: { customer: null, cursors: [], next: null },
  // The adjustment sent but not answered (network failure, 5xx): retried
  // with the same Idempotency-Key, so it can apply only once.
  pendingAdjust: null,
};

/** Owners and managers may change things; viewers only look. */
const mayChange = () => state.role === "owner" || state.role === "manager";

// ------------------------------------------------------------------ helpers

/** An element with attributes and children (strings become text). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c !== null && c !== undefined) node.append(c);
  }
  return node;
}

function setText(id, text) {
  $(id).textContent = text;
}

const intFormat = new Intl.NumberFormat("en-US");

/** An amount in the program's unit: points, or minor units of a currency. */
function money(value) {
  if (state.unit === "points" || !state.minorUnits) {
    return state.unit === "points" ? `${intFormat.format(value)} pts` : intFormat.format(value);
  }
  const f = new Intl.NumberFormat("en-US", {
    style: "currency",
    currency: state.unit,
    minimumFractionDigits: state.minorUnits,
  });
  return f.format(value / 10 ** state.minorUnits);
}

function moneyShort(value) {
  if (state.unit !== "points" && state.minorUnits) return money(value);
  return intFormat.format(value);
}

function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)}`;
}

class ApiError extends Error {
  constructor(status, problem) {
    const slug = problem?.type?.split("/").pop() ?? "error";
    super(`${status} ${slug}: ${problem?.detail ?? problem?.title ?? "the server refused"}`);
    this.status = status;
    this.slug = slug;
    this.problem = problem;
  }
}

async function api(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  if (method !== "GET") headers["X-CSRF-Token"] = sessionStorage.getItem(CSRF_KEY) ?? "";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, { detail: "the server cannot be reached; check the connection" });
  }
  const isJson = (res.headers.get("content-type") ?? "").includes("json");
  const data = isJson ? await res.json().catch(() => null) : null;
  if (res.status === 401 && path !== "/v1/staff/sign-in") {
    showSignIn("Your session has ended. Sign in again.");
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function notify(message, kind = "info") {
  const box = $("status");
  box.textContent = message;
  box.className = `notice ${kind}`;
  box.hidden = !message;
}

/** Shows an API failure, unless it already sent the user to sign in. */
function fail(error) {
  if (error?.status === 401) return;
  const text =
    error?.status === 403 && error.slug === "forbidden"
      ? `Refused (403): ${error.problem?.detail ?? "this account may not do that"}.`
      : `Something went wrong (${error?.message ?? error}).`;
  notify(text, "error");
}

// ------------------------------------------------------------------ screens

function showPage(name) {
  for (const section of document.querySelectorAll("main > section.page")) {
    section.hidden = section.id !== `page-${name}`;
  }
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.body.dataset.page = name;
  const h1 = document.querySelector(`#page-${name} h1`);
  if (h1) {
    document.title = `${h1.textContent} · Tillcode dashboard`;
    h1.focus();
  }
}

function showSignIn(reason = "") {
  sessionStorage.removeItem(CSRF_KEY);
  state.role = null;
  $("nav").hidden = true;
  $("who").hidden = true;
  notify("");
  const r = $("signin-reason");
  r.textContent = reason;
  r.hidden = !reason;
  const merchant = new URLSearchParams(location.search).get("merchant") ?? localStorage.getItem(MERCHANT_KEY) ?? "";
  if (!$("signin-merchant").value) $("signin-merchant").value = merchant;
  $("signin-password").value = "";
  showPage("signin");
  document.body.dataset.signedIn = "false";
}

function signedIn(role) {
  state.role = role;
  $("nav").hidden = false;
  $("who").hidden = false;
  setText("who-role", `Signed in · ${role}`);
  document.body.dataset.signedIn = "true";
  document.body.dataset.role = role;
  route();
}

function viewerNotice() {
  if (state.role === "viewer") notify("You are signed in as a viewer: you can look, but not change anything.", "info");
  else notify("");
}

async function route() {
  if (!state.role) return;
  const name = location.hash.slice(1);
  const page = PAGES.includes(name) ? name : "overview";
  // A message belongs to the page it was shown on.
  viewerNotice();
  showPage(page);
  try {
    if (page === "overview") await loadOverview();
    if (page === "terminals") await loadTerminals();
    if (page === "fraud") await Promise.all([loadFraud(), loadAnomalies()]);
    if (page === "settings") await loadSettings();
  } catch (e) {
    fail(e);
  }
}

// ------------------------------------------------------------------ sign-in

async function onSignIn(event) {
  event.preventDefault();
  const merchant = $("signin-merchant").value.trim();
  const email = $("signin-email").value.trim();
  const password = $("signin-password").value;
  const error = $("signin-error");
  error.hidden = true;
  if (!merchant || !email || !password) {
    error.textContent = "Enter the merchant ID, your email and your password.";
    error.hidden = false;
    return;
  }
  const button = $("signin-submit");
  button.disabled = true;
  try {
    const answer = await api("POST", "/v1/staff/sign-in", { merchant_id: merchant, email, password });
    sessionStorage.setItem(CSRF_KEY, answer.csrf_token);
    localStorage.setItem(MERCHANT_KEY, merchant);
    $("signin-password").value = "";
    if (!PAGES.includes(location.hash.slice(1))) history.replaceState(null, "", "#overview");
    signedIn(answer.role);
  } catch (e) {
    error.textContent =
      e.slug === "rate-limited"
        ? "Too many failed attempts: wait 15 minutes, then try again."
        : e.status === 401 || e.status === 400
          ? "The merchant ID, email or password is wrong."
          : `Cannot sign in (${e.message}).`;
    error.hidden = false;
    $("signin-password").focus();
  } finally {
    button.disabled = false;
  }
}

async function onSignOut() {
  try {
    await api("POST", "/v1/staff/sign-out");
  } catch (e) {
    // Signed out either way: the cookie is cleared or already worthless.
  }
  showSignIn("You have signed out.");
}

// ------------------------------------------------------------------ overview

async function loadOverview() {
  const ov = await api("GET", "/v1/dashboard/overview");
  state.unit = ov.unit ?? "points";
  state.minorUnits = ov.minor_units ?? 0;
  setText("ov-liability", money(ov.liability));
  $("ov-liability").dataset.value = ov.liability;
  setText("ov-today-count", intFormat.format(ov.today.redemptions));
  $("ov-today-count").dataset.value = ov.today.redemptions;
  setText("ov-today-redeemed", money(ov.today.redeemed));
  $("ov-today-redeemed").dataset.value = ov.today.redeemed;
  setText("ov-today-issued", money(ov.today.issued));
  setText("ov-customers", intFormat.format(ov.customers));
  setText("overview-updated", `Updated ${when(ov.generated_at)} UTC. Days are UTC days.`);

  const labels = ov.days.map((d) => d.day.slice(5));
  const issued = ov.days.reduce((s, d) => s + d.issued, 0);
  const redeemed = ov.days.reduce((s, d) => s + d.redeemed, 0);
  $("ov-chart").replaceChildren(
    groupedBars({
      title: "Issued and redeemed per day, last 14 days",
      summary: `In 14 days, ${money(issued)} issued and ${money(redeemed)} redeemed; today ${money(ov.today.issued)} issued and ${money(ov.today.redeemed)} redeemed.`,
      labels,
      series: [
        { name: "Issued", values: ov.days.map((d) => d.issued), className: "bar-a" },
        { name: "Redeemed", values: ov.days.map((d) => d.redeemed), className: "bar-b" },
      ],
      format: moneyShort,
    }),
  );
  $("ov-days").replaceChildren(
    ...ov.days.map((d) =>
      el("tr", {},
        el("th", { scope: "row", text: d.day }),
        el("td", { class: "num", text: money(d.issued) }),
        el("td", { class: "num", text: money(d.redeemed) }),
        el("td", { class: "num", text: intFormat.format(d.redemptions) })),
    ),
  );
  $("ov-store-chart").replaceChildren(
    horizontalBars({
      title: "Redeemed per store, last 14 days",
      summary: ov.stores.map((s) => `${s.name}: ${money(s.redeemed)}`).join("; ") || "No stores.",
      rows: ov.stores.map((s) => ({ label: s.name, value: s.redeemed })),
      format: moneyShort,
      className: "bar-b",
    }),
  );
  $("ov-stores").replaceChildren(
    ...ov.stores.map((s) =>
      el("tr", { dataset: { store: s.store_id } },
        el("th", { scope: "row" }, s.name, el("span", { class: "hint block", text: s.code })),
        el("td", { class: "num", text: intFormat.format(s.redemptions_today) }),
        el("td", { class: "num", text: money(s.redeemed_today) }),
        el("td", { class: "num", text: intFormat.format(s.redemptions) }),
        el("td", { class: "num", text: money(s.redeemed) }),
        el("td", { class: "num", text: money(s.issued) })),
    ),
  );
}

// ------------------------------------------------------------------ customers

async function onSearch(event) {
  event.preventDefault();
  const q = $("customer-q").value.trim();
  if (!q) {
    $("customer-q").focus();
    return;
  }
  try {
    const rows = await api("GET", `/v1/dashboard/customers?q=${encodeURIComponent(q)}`);
    $("customer-results").replaceChildren(
      ...rows.map((c) =>
        el("tr", { dataset: { customer: c.customer_id } },
          el("td", { text: c.email }),
          el("td", { text: c.display_name }),
          el("td", {}, el("code", { text: c.customer_id })),
          el("td", { class: "num", "data-balance": c.customer_id, text: money(c.balance) }),
          el("td", {},
            el("button", {
              type: "button",
              class: "small",
              "data-history": c.customer_id,
              "aria-label": `Open ${c.email}`,
              text: "Open",
            }))),
      ),
    );
    setText("customer-empty", rows.length ? `${rows.length} found.` : "No customer matches.");
    if (rows.length === 1) await openHistory(rows[0].customer_id, rows[0].email, false);
  } catch (e) {
    fail(e);
  }
}

async function openHistory(customer, email, focus = true) {
  state.history = { customer, email, cursors: [], next: null };
  state.pendingAdjust = null;
  $("adjust-form").reset();
  $("adjust-error").hidden = true;
  setText("h-customer", email);
  $("customer-detail").dataset.customer = customer;
  $("customer-detail").hidden = false;
  // Viewers are not offered what the server would refuse them.
  $("adjust-form").hidden = !mayChange();
  $("adjust-viewer").hidden = mayChange();
  await Promise.all([loadHistory(null), loadDevices()]);
  if (focus) $("h-customer").focus();
}

function showBalance(customer, balance) {
  const figure = $("detail-balance");
  figure.textContent = money(balance);
  figure.dataset.value = balance;
  const cell = document.querySelector(`#customer-results td[data-balance="${customer}"]`);
  if (cell) cell.textContent = money(balance);
}

async function loadHistory(cursor) {
  const h = state.history;
  const query = new URLSearchParams({ limit: "20" });
  if (cursor) query.set("starting_after", cursor);
  const page = await api("GET", `/v1/dashboard/customers/${h.customer}/history?${query}`);
  h.next = page.next_cursor;
  showBalance(h.customer, page.balance);
  $("history-panel").hidden = false;
  setText("h-history", `History of ${h.email}`);
  $("history-rows").replaceChildren(
    ...page.items.map((t) =>
      el("tr", {},
        el("td", { text: when(t.created_at) }),
        el("td", { text: t.kind }),
        el("td", { class: `num ${t.balance_change < 0 ? "debit" : "credit"}`, text: `${t.balance_change > 0 ? "+" : "−"}${money(Math.abs(t.balance_change))}` }),
        el("td", { class: "num", text: money(t.balance_after) }),
        el("td", { text: t.store_name ?? "—" }),
        el("td", { text: t.code_kind ?? "—" }),
        el("td", { text: t.reason ?? t.reference ?? "" })),
    ),
  );
  if (!page.items.length) {
    $("history-rows").append(el("tr", {}, el("td", { colspan: 7, text: "No entries." })));
  }
  $("history-older").disabled = !h.next;
  $("history-newest").disabled = h.cursors.length === 0;
}

async function loadDevices() {
  const customer = state.history.customer;
  const devices = await api("GET", `/v1/dashboard/customers/${customer}/devices`);
  state.devices = new Map(devices.map((d) => [d.device_id, d]));
  $("device-rows").replaceChildren(
    ...devices.map((d) =>
      el("tr", { dataset: { device: d.device_id, locked: String(d.numeric_locked) } },
        el("th", { scope: "row", text: d.name }),
        el("td", {}, el("span", { class: `badge ${d.status}`, text: d.status })),
        el("td", {},
          d.numeric_locked
            ? el("span", { class: "badge locked", text: "Locked" })
            : el("span", { class: "badge unlocked", text: "Usable" }),
          el("span", {
            class: "hint block",
            text: d.numeric_failures
              ? `${d.numeric_failures} wrong code${d.numeric_failures === 1 ? "" : "s"}${d.numeric_lock_expires_in_s ? `; clears by itself in ${Math.ceil(d.numeric_lock_expires_in_s / 60)} min` : ""}`
              : "No wrong codes",
          })),
        el("td", { text: when(d.created_at) }),
        el("td", {},
          d.numeric_locked && mayChange()
            ? el("button", {
                type: "button",
                class: "small primary",
                "data-unlock": d.device_id,
                "aria-label": `Unlock numeric codes of ${d.name}`,
                text: "Unlock",
              })
            : null)),
    ),
  );
  if (!devices.length) {
    $("device-rows").append(el("tr", {}, el("td", { colspan: 5, text: "No devices." })));
  }
}

/** The adjustment the form describes, as the API takes it. */
function adjustmentFromForm() {
  const amount = Number($("adjust-amount").value);
  const reason = $("adjust-reason").value.trim();
  if ($("adjust-amount").value.trim() === "" || !Number.isInteger(amount) || amount < 1) {
    return { error: "Amount: a whole number of at least 1 is needed.", field: "adjust-amount" };
  }
  if (!reason) return { error: "Reason: say why, for the audit trail.", field: "adjust-reason" };
  return { body: { direction: $("adjust-direction").value, amount, reason } };
}

async function onAdjust(event) {
  event.preventDefault();
  const error = $("adjust-error");
  error.hidden = true;
  const customer = state.history.customer;
  const { body, error: invalid, field } = adjustmentFromForm();
  if (invalid) {
    error.textContent = invalid;
    error.hidden = false;
    $(field).focus();
    return;
  }
  // One key per intended adjustment: the same customer and the same fields
  // after an unanswered attempt are a retry of it, and reuse its key.
  const intent = JSON.stringify({ customer, ...body });
  if (state.pendingAdjust?.intent !== intent) {
    state.pendingAdjust = { intent, key: crypto.randomUUID() };
  }
  const { key } = state.pendingAdjust;
  const button = $("adjust-submit");
  button.disabled = true;
  try {
    const done = await api("POST", `/v1/dashboard/customers/${customer}/adjust`, body, { "Idempotency-Key": key });
    state.pendingAdjust = null;
    $("adjust-form").reset();
    notify(
      `${body.direction === "credit" ? "Credited" : "Debited"} ${money(body.amount)}${done.replayed ? " (the earlier attempt had already gone through)" : ""}; the balance is now ${money(done.balance_after)}.`,
      "ok",
    );
    state.history.cursors = [];
    await loadHistory(null);
  } catch (e) {
    if (e.status === 401) return;
    // Answered refusals changed nothing: a corrected attempt is a new one.
    const unanswered = e.status === 0 || e.status >= 500;
    if (!unanswered) state.pendingAdjust = null;
    error.textContent = unanswered
      ? `Not confirmed: ${e.problem?.detail ?? e.message}. Press "Adjust balance" again to retry: it cannot apply twice.`
      : e.status === 403
        ? `Refused (403): ${e.problem?.detail ?? "this account may not do that"}.`
        : `Not adjusted: ${e.problem?.detail ?? e.message}.`;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

function onUnlock(event) {
  const button = event.target.closest("button[data-unlock]");
  if (!button) return;
  const d = state.devices?.get(button.dataset.unlock);
  if (!d) return;
  const dialog = $("confirm");
  setText("confirm-title", `Unlock numeric codes of ${d.name}?`);
  $("confirm-body").replaceChildren(
    el("dl", { class: "facts" },
      el("dt", { text: "Customer" }), el("dd", { text: state.history.email }),
      el("dt", { text: "Device" }), el("dd", { text: d.name }),
      el("dt", { text: "Wrong codes" }), el("dd", { text: String(d.numeric_failures) })),
    el("p", { text: "Unlock only if you are sure the customer, not someone guessing, typed the wrong codes." }),
  );
  $("confirm-error").hidden = true;
  const okButton = $("confirm-ok");
  okButton.textContent = "Unlock";
  okButton.className = "primary";
  okButton.disabled = false;
  okButton.onclick = async () => {
    okButton.disabled = true;
    try {
      await api("POST", `/v1/dashboard/devices/${d.device_id}/unlock`);
      dialog.close();
      notify(`Numeric codes of ${d.name} are unlocked.`, "ok");
      await loadDevices();
      $("h-devices").focus();
    } catch (e) {
      if (e.status === 401) {
        dialog.close();
        return;
      }
      const err = $("confirm-error");
      err.textContent =
        e.status === 403 ? `Refused (403): ${e.problem?.detail ?? "this account may not do that"}.` : `Failed: ${e.message}`;
      err.hidden = false;
      okButton.disabled = false;
    }
  };
  dialog.showModal();
  $("confirm-cancel").focus();
}

async function onHistoryOlder() {
  const h = state.history;
  if (!h.next) return;
  h.cursors.push(h.next);
  try {
    await loadHistory(h.next);
  } catch (e) {
    fail(e);
  }
}

async function onHistoryNewest() {
  state.history.cursors = [];
  try {
    await loadHistory(null);
  } catch (e) {
    fail(e);
  }
}

// ------------------------------------------------------------------ terminals

const ACTIONS = {
  pending: [["approve", "Approve"], ["revoke", "Revoke"]],
  active: [["suspend", "Suspend"], ["revoke", "Revoke"]],
  suspended: [["approve", "Resume"], ["revoke", "Revoke"]],
  revoked: [],
};

async function loadStores() {
  state.stores = await api("GET", "/v1/dashboard/stores");
  const select = $("enroll-store");
  const chosen = select.value;
  select.replaceChildren(
    ...state.stores.map((s) => el("option", { value: s.store_id, text: `${s.name} (${s.code})` })),
  );
  if (chosen) select.value = chosen;
}

async function loadTerminals() {
  const [terminals] = await Promise.all([api("GET", "/v1/dashboard/terminals"), loadStores()]);
  $("terminals-empty").hidden = terminals.length > 0;
  $("terminal-rows").replaceChildren(
    ...terminals.map((t) =>
      el("tr", { dataset: { terminal: t.terminal_id, status: t.status } },
        el("th", { scope: "row", text: t.name }),
        el("td", { text: t.store_name }),
        el("td", {}, el("span", { class: `badge ${t.status}`, text: t.status })),
        el("td", {}, el("code", { class: "fingerprint", text: t.fingerprint })),
        el("td", { text: when(t.last_transaction_at) }),
        el("td", {}, el("div", { class: "row-actions" },
          ...ACTIONS[t.status].map(([action, label]) =>
            el("button", {
              type: "button",
              class: `small ${action === "revoke" ? "danger" : action === "approve" ? "primary" : ""}`,
              "data-action": action,
              "data-terminal": t.terminal_id,
              "aria-label": `${label} ${t.name}`,
              text: label,
            }))))),
    ),
  );
  state.terminals = new Map(terminals.map((t) => [t.terminal_id, t]));
}

const CONFIRM_TEXT = {
  approve: (t) => [
    t.status === "suspended" ? `Resume ${t.name}?` : `Approve ${t.name}?`,
    "Approve only if the terminal shows exactly this key fingerprint.",
    t.status === "suspended" ? "Resume" : "Approve",
  ],
  suspend: (t) => [`Suspend ${t.name}?`, "Its next sale is refused until you resume it.", "Suspend"],
  revoke: (t) => [`Revoke ${t.name}?`, "This is for good: the terminal has to enroll again.", "Revoke"],
};

function onTerminalAction(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const t = state.terminals?.get(button.dataset.terminal);
  if (!t) return;
  const action = button.dataset.action;
  const [title, note, ok] = CONFIRM_TEXT[action](t);
  const dialog = $("confirm");
  setText("confirm-title", title);
  $("confirm-body").replaceChildren(
    el("dl", { class: "facts" },
      el("dt", { text: "Name" }), el("dd", { text: t.name }),
      el("dt", { text: "Store" }), el("dd", { text: t.store_name }),
      el("dt", { text: "Key fingerprint" }), el("dd", {}, el("code", { class: "fingerprint", id: "confirm-fingerprint", text: t.fingerprint }))),
    el("p", { text: note }),
  );
  $("confirm-error").hidden = true;
  const okButton = $("confirm-ok");
  okButton.textContent = ok;
  okButton.className = action === "revoke" ? "danger" : "primary";
  okButton.disabled = false;
  okButton.onclick = async () => {
    okButton.disabled = true;
    try {
      const view = await api("POST", `/v1/dashboard/terminals/${t.terminal_id}/${action}`);
      dialog.close();
      notify(`${view.name} is now ${view.status}.`, "ok");
      await loadTerminals();
      // The row was drawn again: put focus back on it, not on a removed button.
      const again = document.querySelector(`#terminal-rows tr[data-terminal="${t.terminal_id}"] button`);
      (again ?? $("h-terminal-list")).focus();
    } catch (e) {
      if (e.status === 401) {
        dialog.close();
        return;
      }
      const err = $("confirm-error");
      err.textContent =
        e.status === 403 ? `Refused (403): ${e.problem?.detail ?? "this account may not do that"}.` : `Failed: ${e.message}`;
      err.hidden = false;
      okButton.disabled = false;
    }
  };
  dialog.showModal();
  $("confirm-cancel").focus();
}

async function onEnroll(event) {
  event.preventDefault();
  const store = $("enroll-store").value;
  if (!store) {
    notify("Choose a store first.", "error");
    return;
  }
  const button = $("enroll-submit");
  button.disabled = true;
  try {
    const e = await api("POST", "/v1/dashboard/enrollments", { store_id: store });
    setText("enrollment-code", e.code);
    setText("enrollment-store", e.store_id);
    const expires = new Date(e.expires_at);
    setText("enrollment-expires", `Works once, until ${expires.toISOString().slice(11, 16)} UTC (10 minutes).`);
    const qr = $("enrollment-qr");
    qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(e.qr_svg)}`;
    qr.alt = `QR code of the enrollment code ${e.code}`;
    $("enrollment").hidden = false;
    notify(`Enrollment code ${e.code} created.`, "ok");
  } catch (err) {
    fail(err);
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ fraud

const REASONS = {
  "code-replayed": "Code used twice",
  "code-expired": "Expired code",
  "bad-code-signature": "Bad code signature",
  "device-revoked": "Revoked device",
  "unknown-device": "Unknown device",
  "code-superseded": "Superseded code",
  "code-not-yet-valid": "Code from the future",
  "malformed-code": "Malformed code",
  "wrong-merchant": "Other merchant's code",
  locked: "Locked device",
  "insufficient-balance": "Insufficient balance",
  "signature-invalid": "Bad terminal signature",
  "signature-expired": "Stale terminal signature",
  "signature-replayed": "Replayed terminal request",
  "digest-mismatch": "Tampered request body",
  "terminal-not-active": "Inactive terminal",
};

async function loadFraud() {
  let report;
  try {
    report = await api("GET", "/v1/dashboard/fraud?days=14");
  } catch (e) {
    if (e.status === 404) {
      $("fraud-unavailable").hidden = false;
      $("fraud-content").hidden = true;
      return;
    }
    throw e;
  }
  $("fraud-unavailable").hidden = true;
  $("fraud-content").hidden = false;
  const count = (n) => intFormat.format(n);
  $("fraud-chart").replaceChildren(
    groupedBars({
      title: "Refused attempts per day, last 14 days",
      summary: `${count(report.total)} refused attempts in 14 days.`,
      labels: report.days.map((d) => d.day.slice(5)),
      series: [{ name: "Refused attempts", values: report.days.map((d) => d.count), className: "bar-c" }],
      format: count,
    }),
  );
  const group = (id, title, rows, label) =>
    $(id).replaceChildren(
      rows.length
        ? horizontalBars({
            title,
            summary: rows.map((r) => `${label(r)}: ${r.count}`).join("; "),
            rows: rows.map((r) => ({ label: label(r), value: r.count })),
            format: count,
            className: "bar-c",
            width: 480,
          })
        : el("p", { class: "hint", text: "None." }),
    );
  group("fraud-reasons", "Refused attempts by reason", report.by_reason, (r) => REASONS[r.key] ?? r.key);
  group("fraud-stores", "Refused attempts by store", report.by_store, (r) => r.label ?? (r.key ? r.key.slice(0, 8) : "No store"));
  group("fraud-terminals", "Refused attempts by terminal", report.by_terminal, (r) => r.label ?? (r.key ? r.key.slice(0, 8) : "No terminal"));
}

const ANOMALY_KINDS = {
  "impossible-travel": "Two stores within 10 minutes",
  "terminal-above-usual-rate": "Terminal above its store's usual rate",
  "many-customers-failing": "Many customers failing at one terminal",
};

async function loadAnomalies() {
  const flags = await api("GET", "/v1/dashboard/anomalies");
  const storeName = (id) => state.stores.find((s) => s.store_id === id)?.name ?? id.slice(0, 8);
  const terminalName = (id) => state.terminals?.get(id)?.name ?? id.slice(0, 8);
  const cell = (text, title) => el("td", { text, title });
  $("anomaly-rows").replaceChildren(
    ...flags.map((f) =>
      el("tr", { dataset: { kind: f.kind } },
        cell(ANOMALY_KINDS[f.kind] ?? f.kind),
        f.store_id ? cell(storeName(f.store_id), f.store_id) : cell("—"),
        f.terminal_id ? cell(terminalName(f.terminal_id), f.terminal_id) : cell("—"),
        f.account_id ? el("td", {}, el("code", { text: f.account_id.slice(0, 8), title: f.account_id })) : cell("—"),
        cell(f.detail),
        cell(when(f.last_seen_at)))),
  );
  $("anomaly-table").hidden = flags.length === 0;
  $("anomalies-empty").hidden = flags.length !== 0;
}

// ------------------------------------------------------------------ settings

const SETTINGS_FIELDS = [
  "velocity_window_s",
  "customer_max_count",
  "customer_max_amount",
  "device_max_count",
  "terminal_max_count",
  "terminal_bad_codes_max",
  "terminal_bad_codes_window_s",
  "offline_max_age_s",
  "offline_max_skew_s",
];

const settingsInput = (name) => $(`set-${name.replaceAll("_", "-")}`);

function showSettings(s) {
  for (const name of SETTINGS_FIELDS) settingsInput(name).value = String(s[name]);
  setText("settings-updated", s.updated_at ? `Last changed ${when(s.updated_at)} UTC.` : "These are the defaults: never changed.");
}

async function loadSettings() {
  $("settings-error").hidden = true;
  showSettings(await api("GET", "/v1/dashboard/settings"));
}

async function onSaveSettings(event) {
  event.preventDefault();
  const error = $("settings-error");
  error.hidden = true;
  const body = {};
  for (const name of SETTINGS_FIELDS) {
    const input = settingsInput(name);
    const value = Number(input.value);
    if (input.value.trim() === "" || !Number.isInteger(value)) {
      error.textContent = `${input.labels[0].textContent}: a whole number is needed.`;
      error.hidden = false;
      input.focus();
      return;
    }
    body[name] = value;
  }
  const button = $("settings-submit");
  button.disabled = true;
  try {
    showSettings(await api("PUT", "/v1/dashboard/settings", body));
    notify("Settings saved. Servers use them within 30 seconds.", "ok");
  } catch (e) {
    if (e.status === 401) return;
    error.textContent =
      e.status === 403
        ? `Refused (403): ${e.problem?.detail ?? "this account may not do that"}.`
        : e.status === 400
          ? `Not saved: ${e.problem?.detail ?? "a value is out of range"}.`
          : `Failed: ${e.message}`;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ start

async function start() {
  $("signin-form").addEventListener("submit", onSignIn);
  $("sign-out").addEventListener("click", onSignOut);
  $("overview-refresh").addEventListener("click", () => loadOverview().catch(fail));
  $("terminals-refresh").addEventListener("click", () => loadTerminals().catch(fail));
  $("customer-search").addEventListener("submit", onSearch);
  $("customer-results").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-history]");
    if (!b) return;
    const email = b.closest("tr").firstElementChild.textContent;
    openHistory(b.dataset.history, email).catch(fail);
  });
  $("history-older").addEventListener("click", onHistoryOlder);
  $("adjust-form").addEventListener("submit", onAdjust);
  $("device-rows").addEventListener("click", onUnlock);
  $("history-newest").addEventListener("click", onHistoryNewest);
  $("terminal-rows").addEventListener("click", onTerminalAction);
  $("enroll-form").addEventListener("submit", onEnroll);
  $("settings-form").addEventListener("submit", onSaveSettings);
  window.addEventListener("hashchange", route);
  // Without the CSRF token this tab cannot change anything: sign in again.
  if (!sessionStorage.getItem(CSRF_KEY)) {
    showSignIn();
    return;
  }
  try {
    const me = await api("GET", "/v1/staff/me");
    signedIn(me.role);
  } catch (e) {
    if (e.status !== 401) showSignIn(`Cannot reach the server (${e.message}).`);
  }
}

start();
