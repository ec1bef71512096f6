// The merchant dashboard (/dashboard) in Debian's headless Chromium, driven
// by playwright-core, against a real tillcode-api. Run by ops/browser-test.sh
// after the till test, with, in the environment:
//   DASH_URL              the API's base URL (http://127.0.0.1:PORT)
//   DASH_MERCHANT_ID      the demo merchant
//   DASH_STORE_ID         the demo store
//   TILLCODE_API_BIN      the tillcode-api binary (admin commands; it reads
//                         TILLCODE_DATABASE_URL from the environment)
//   TILLCODE_CASHIER_BIN  the cashier CLI (enrolls terminals, redeems)
//   TILLCODE_CUSTOMER_BIN the customer CLI, and DASH_CUSTOMER_HOME its home,
//                         signed in as the demo customer
//   DASH_WORK             a scratch directory
//   DASH_SCREENSHOTS      where the screenshots go (dashboard-*.png)
//   CHROMIUM              the browser (default /usr/bin/chromium)
//
// The story: an owner creates a manager and a viewer (`admin create-staff`);
// the manager signs in (the Secure session cookie must be kept and sent back
// by Chromium over http://127.0.0.1), sees the overview, creates an
// enrollment code with its QR, a terminal enrolls with it (cashier CLI), the
// manager compares the fingerprint and approves it; the new terminal
// redeems from the demo customer and the overview shows one more redemption
// today; customer search, ledger history; a balance adjustment whose first
// answer is lost on the way back (the page retries with the same
// Idempotency-Key and the balance moves once), then a second one; the demo
// customer's numeric codes locked by five wrong codes at the till, seen on
// the customer's page and unlocked (a right code then pays); fraud page,
// CSV export, settings (token windows included); sign-out ends the session.
// Then the viewer signs in: every page loads, approving a pending terminal
// is refused (403 shown), nothing changes, and the customer page offers no
// adjustment and no unlock button, even for a locked device.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";

import { chromium } from "playwright-core";

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set (run ops/browser-test.sh)`);
  return v;
};
const BASE = env("DASH_URL");
const MERCHANT = env("DASH_MERCHANT_ID");
const STORE = env("DASH_STORE_ID");
const API_BIN = env("TILLCODE_API_BIN");
const CASHIER_BIN = env("TILLCODE_CASHIER_BIN");
const CUSTOMER_BIN = env("TILLCODE_CUSTOMER_BIN");
const CUSTOMER_HOME = env("DASH_CUSTOMER_HOME");
const WORK = env("DASH_WORK");
const SHOTS = env("DASH_SCREENSHOTS");
const CHROMIUM = env("CHROMIUM", "/usr/bin/chromium");

const MANAGER = { email: "maria.manager@example.com", password: "manager passphrase for the dashboard" };
const VIEWER = { email: "victor.viewer@example.com", password: "viewer passphrase for the dashboard" };
const NEW_TILL = "Till 2 (dashboard test)";
const PENDING_TILL = "Till 3 (left pending)";

const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const log = (msg) => process.stderr.write(`dashboard.spec: ${msg}\n`);
mkdirSync(SHOTS, { recursive: true });

function run(bin, args, input) {
  return execFileSync(bin, args, {
    encoding: "utf8",
    input,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "inherit"],
  });
}
/** The last line of a command's output that starts a JSON document, parsed. */
function runJson(bin, args, input) {
  const out = run(bin, args, input).trim();
  return JSON.parse(out.slice(out.search(/^[{[]/m)));
}
const admin = (args, input) => runJson(API_BIN, ["admin", ...args], input);
const customer = (...args) => runJson(CUSTOMER_BIN, ["--home", CUSTOMER_HOME, ...args]);
const cashier = (home, ...args) => runJson(CASHIER_BIN, ["--home", home, "--api", BASE, ...args]);
/** A cashier command that must be refused: the problem type's slug. */
function cashierRefused(home, ...args) {
  try {
    run(CASHIER_BIN, ["--home", home, "--api", BASE, ...args]);
  } catch (e) {
    const out = String(e.stdout ?? "").trim();
    return JSON.parse(out.slice(out.search(/^[{[]/m))).type.split("/").pop();
  }
  throw new Error(`cashier ${args.join(" ")} was not refused`);
}

/** Luhn check digit over ASCII digits (as protocol/src/luhn.rs). */
function luhn(digits) {
  let sum = 0;
  [...digits].reverse().forEach((c, i) => {
    let d = Number(c);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  });
  return String((10 - (sum % 10)) % 10);
}

/** The customer's numeric code with every TOTP digit changed and a valid check digit: a wrong code, not a typo. */
function wrongNumericCode() {
  const digits = customer("code", "--kind", "numeric").payload.replace(/\D/g, "");
  assert.equal(digits.length, 18);
  const totp = [...digits.slice(9, 17)].map((c) => String((Number(c) + 5) % 10)).join("");
  const body = digits.slice(0, 9) + totp;
  return body + luhn(body);
}

/** Five wrong numeric codes at the till: the device's numeric codes are locked. */
function lockNumericCodes(till) {
  for (let i = 0; i < 5; i += 1) {
    assert.equal(cashierRefused(till, "redeem", "--code", wrongNumericCode(), "--amount", "1"), "bad-code-signature");
  }
  const right = customer("code", "--kind", "numeric").payload;
  assert.equal(cashierRefused(till, "redeem", "--code", right, "--amount", "1"), "locked", "a right code is refused too");
}

const problems = [];
async function launch() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // Chromium logs every 4xx answer to fetch as a console error; the 401 and
  // 403 this test provokes are expected. Anything else (a CSP violation, a
  // script error, a failed request) fails the test.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource:")) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    if (r.failure()?.errorText !== "net::ERR_ABORTED") {
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    }
  });
  // Nothing may come from anywhere but the API: the page works offline.
  page.on("request", (r) => {
    if (!r.url().startsWith(BASE) && !r.url().startsWith("data:")) problems.push(`off-origin request: ${r.url()}`);
  });
  return { browser, context, page };
}

async function screenshot(page, name) {
  const file = path.join(SHOTS, `dashboard-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${file}`);
}

const visible = (page, selector, timeout = 15000) =>
  page.locator(selector).first().waitFor({ state: "visible", timeout });

/** Presses Tab from `from` until an element matching `target` has focus; it must show a visible focus ring. */
async function tabTo(page, from, target, most = 40) {
  await page.focus(from);
  for (let i = 0; i < most; i += 1) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, target)) {
      const ring = await page.evaluate(() => {
        const e = document.activeElement;
        const style = getComputedStyle(e);
        return { visible: e.matches(":focus-visible"), style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
      });
      assert.ok(ring.visible && ring.style !== "none" && ring.width >= 2, `${target} shows focus: ${JSON.stringify(ring)}`);
      return;
    }
  }
  throw new Error(`${target} is not reachable with Tab from ${from}`);
}

/** Every input and select has a label; every button a name; pages reachable by keyboard. */
async function checkAccessible(page, where) {
  const bad = await page.$$eval("input, select, button, a[href]", (els) =>
    els
      .filter((e) => e.offsetParent !== null)
      .filter((e) =>
        e.matches("input, select")
          ? e.labels.length === 0 && !e.getAttribute("aria-label")
          : !(e.getAttribute("aria-label") || e.textContent.trim()),
      )
      .map((e) => e.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(bad, [], `${where}: controls without a label or name`);
}

async function signIn(page, who) {
  await page.goto(`${BASE}/dashboard`);
  await visible(page, "#page-signin");
  await page.fill("#signin-merchant", MERCHANT);
  await page.fill("#signin-email", who.email);
  await page.fill("#signin-password", who.password);
  await page.press("#signin-password", "Enter");
  await visible(page, "#page-overview");
  await page.waitForFunction(() => document.getElementById("ov-today-count").dataset.value !== undefined);
}

const dataValue = async (page, id) => Number(await page.locator(id).getAttribute("data-value"));

async function terminalRow(page, name) {
  await page.click("#terminals-refresh");
  const row = page.locator("#terminal-rows tr", { has: page.locator("th", { hasText: name }) });
  await row.waitFor({ state: "visible" });
  return row;
}

async function main() {
  admin(["create-staff", "--merchant", MERCHANT, "--email", MANAGER.email, "--name", "Maria", "--role", "manager"], `${MANAGER.password}\n`);
  admin(["create-staff", "--merchant", MERCHANT, "--email", VIEWER.email, "--name", "Victor", "--role", "viewer"], `${VIEWER.password}\n`);

  // ---------------------------------------------------------------- sign in
  let { browser, context, page } = await launch();
  const res = await page.goto(`${BASE}/dashboard`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()["content-security-policy"], /script-src 'self'/);
  await visible(page, "#page-signin");
  await checkAccessible(page, "sign-in");
  await page.fill("#signin-merchant", MERCHANT);
  await page.fill("#signin-email", MANAGER.email);
  await page.fill("#signin-password", "not the password");
  await page.click("#signin-submit");
  await visible(page, "#signin-error");
  assert.match(await page.locator("#signin-error").textContent(), /wrong/);
  await screenshot(page, "01-signin-refused");

  await signIn(page, MANAGER);
  // The Secure cookie over http://127.0.0.1: Chromium treats the loopback
  // address as a secure context, keeps the cookie and sends it back.
  const cookies = await context.cookies(BASE);
  const session = cookies.find((c) => c.name === "tillcode_staff");
  assert.ok(session, "the session cookie is stored");
  assert.equal(session.secure, true);
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Strict");
  assert.equal(await page.evaluate(() => document.cookie), "", "HttpOnly: not visible to script");
  const me = await page.evaluate(async () => (await fetch("/v1/staff/me")).json());
  assert.equal(me.role, "manager", "the cookie is sent back");

  // ---------------------------------------------------------------- overview
  const count0 = await dataValue(page, "#ov-today-count");
  const redeemed0 = await dataValue(page, "#ov-today-redeemed");
  const liability0 = await dataValue(page, "#ov-liability");
  log(`overview: ${count0} redemptions today, ${redeemed0} redeemed, liability ${liability0}`);
  assert.ok(count0 >= 1, "the till test's redemptions show on the overview");
  assert.equal(await page.locator("#ov-chart svg[role=img] .chart-bars rect.bar-b").count(), 14);
  assert.equal(liability0, customer("balance").balance, "one customer: the liability is their balance");
  await checkAccessible(page, "overview");
  await screenshot(page, "02-overview");

  // ---------------------------------------------------------------- enroll and approve
  await page.click('#nav a[data-page="terminals"]');
  await visible(page, "#page-terminals");
  assert.equal(await page.evaluate(() => document.activeElement.id), "h-terminals", "focus moves to the page");
  await page.selectOption("#enroll-store", STORE);
  await page.click("#enroll-submit");
  await visible(page, "#enrollment");
  const code = (await page.locator("#enrollment-code").textContent()).trim();
  assert.match(code, /^[A-Z]{4}-[A-Z]{4}$/);
  assert.ok(await page.locator("#enrollment-qr").evaluate((img) => img.complete && img.naturalWidth > 0), "the QR renders");
  assert.match(await page.locator("#enrollment-qr").getAttribute("alt"), new RegExp(code));
  await checkAccessible(page, "terminals");
  await screenshot(page, "03-enrollment");

  const till = path.join(WORK, "cashier-2");
  const enrolled = cashier(till, "enroll", "--store", STORE, "--code", code, "--name", NEW_TILL);
  assert.equal(enrolled.status, "pending");
  let row = await terminalRow(page, NEW_TILL);
  assert.equal(await row.getAttribute("data-status"), "pending");
  assert.equal((await row.locator(".fingerprint").textContent()).trim(), enrolled.fingerprint);
  await row.locator('button[data-action="approve"]').click();
  await visible(page, "#confirm");
  assert.equal((await page.locator("#confirm-fingerprint").textContent()).trim(), enrolled.fingerprint);
  assert.equal(await page.evaluate(() => document.activeElement.id), "confirm-cancel", "the safe choice has focus");
  await screenshot(page, "04-approve-dialog");
  await page.click("#confirm-ok");
  await page.locator("#confirm").waitFor({ state: "hidden" });
  row = await terminalRow(page, NEW_TILL);
  assert.equal(await row.getAttribute("data-status"), "active");
  assert.equal(cashier(till, "status").status, "active", "the terminal sees it");
  await screenshot(page, "05-approved");

  // ---------------------------------------------------------------- a redemption appears
  const payment = customer("code", "--kind", "offline").payload;
  const sale = cashier(till, "redeem", "--code", payment, "--amount", "25");
  log(`redeemed through the API: ${JSON.stringify(sale)}`);
  await page.click('#nav a[data-page="overview"]');
  await visible(page, "#page-overview");
  await page.click("#overview-refresh");
  await page.waitForFunction(
    (n) => Number(document.getElementById("ov-today-count").dataset.value) === n,
    count0 + 1,
  );
  assert.equal(await dataValue(page, "#ov-today-redeemed"), redeemed0 + 25);
  assert.equal(await dataValue(page, "#ov-liability"), liability0 - 25);
  await screenshot(page, "06-overview-after-sale");

  // ---------------------------------------------------------------- customers
  await page.click('#nav a[data-page="customers"]');
  await page.fill("#customer-q", "dana@");
  await page.press("#customer-q", "Enter");
  await visible(page, "#history-panel");
  assert.equal(await page.locator("#customer-results tr").count(), 1);
  const first = page.locator("#history-rows tr").first();
  assert.match(await first.textContent(), /redeem/);
  assert.match(await first.textContent(), /−25/);
  await checkAccessible(page, "customers");
  await screenshot(page, "07-customers");

  // ---------------------------------------------------------------- adjust a balance
  // The first answer is lost on its way back (the server applied it); the
  // page keeps the Idempotency-Key and the retry gets the same adjustment.
  await visible(page, "#adjust-form");
  const balance0 = await dataValue(page, "#detail-balance");
  assert.equal(balance0, customer("balance").balance);
  await tabTo(page, "#customer-q", "#adjust-direction");
  await page.keyboard.press("Tab");
  await page.keyboard.type("40");
  await page.keyboard.press("Tab");
  await page.keyboard.type("goodwill: dashboard test");
  const keys = [];
  let lose = true;
  await page.route("**/v1/dashboard/customers/*/adjust", async (route) => {
    keys.push(route.request().headers()["idempotency-key"]);
    const answer = await route.fetch();
    if (lose) {
      lose = false;
      assert.equal(answer.status(), 201, "the server applied the first attempt");
      await route.abort("aborted");
    } else {
      await route.fulfill({ response: answer });
    }
  });
  await page.keyboard.press("Enter");
  await visible(page, "#adjust-error");
  assert.match(await page.locator("#adjust-error").textContent(), /Not confirmed/);
  assert.equal(customer("balance").balance, balance0 + 40, "applied on the server");
  assert.equal(await dataValue(page, "#detail-balance"), balance0, "the page did not see it");
  await screenshot(page, "07b-adjust-unconfirmed");
  await page.click("#adjust-submit");
  await page.waitForFunction(() => /already gone through/.test(document.getElementById("status").textContent));
  assert.equal(keys.length, 2);
  assert.match(keys[0], /^[0-9a-f-]{36}$/);
  assert.equal(keys[1], keys[0], "the retry reuses the key");
  await page.waitForFunction((b) => Number(document.getElementById("detail-balance").dataset.value) === b, balance0 + 40);
  assert.equal(customer("balance").balance, balance0 + 40, "applied once");
  let top = await page.locator("#history-rows tr").first().textContent();
  assert.match(top, /adjust/);
  assert.match(top, /\+40/);
  assert.match(top, /goodwill: dashboard test/);
  assert.equal(
    (await page.locator("#customer-results td[data-balance]").textContent()).trim(),
    `${new Intl.NumberFormat("en-US").format(balance0 + 40)} pts`,
    "the search result shows the new balance",
  );
  await screenshot(page, "07c-adjusted");
  // A second adjustment is a new action: a new key.
  await page.selectOption("#adjust-direction", "debit");
  await page.fill("#adjust-amount", "15");
  await page.fill("#adjust-reason", "correction");
  await page.click("#adjust-submit");
  await page.waitForFunction((b) => Number(document.getElementById("detail-balance").dataset.value) === b, balance0 + 25);
  assert.equal(keys.length, 3);
  assert.notEqual(keys[2], keys[0]);
  top = await page.locator("#history-rows tr").first().textContent();
  assert.match(top, /−15/);
  assert.match(top, /correction/);
  await page.unroute("**/v1/dashboard/customers/*/adjust");
  assert.equal(customer("balance").balance, balance0 + 25);

  // ---------------------------------------------------------------- unlock a device
  lockNumericCodes(till);
  await page.click("#customer-search button[type=submit]");
  const device = page.locator("#device-rows tr", { has: page.locator("th", { hasText: "Dana's phone" }) });
  await page.waitForFunction(() => document.querySelector("#device-rows tr[data-locked='true']") !== null);
  assert.match(await device.textContent(), /Locked/);
  assert.match(await device.textContent(), /5 wrong codes/);
  await checkAccessible(page, "customer with a locked device");
  await screenshot(page, "07d-device-locked");
  await tabTo(page, "#adjust-submit", "#device-rows button[data-unlock]");
  await page.keyboard.press("Enter");
  await visible(page, "#confirm");
  assert.equal(await page.evaluate(() => document.activeElement.id), "confirm-cancel", "the safe choice has focus");
  await page.click("#confirm-ok");
  await page.locator("#confirm").waitFor({ state: "hidden" });
  await page.waitForFunction(() => document.querySelector("#device-rows tr[data-locked='false']") !== null);
  assert.match(await device.textContent(), /Usable/);
  assert.equal(await device.locator("button[data-unlock]").count(), 0);
  await screenshot(page, "07e-device-unlocked");
  // A right numeric code pays again. One accepted per 30 s step: if the
  // till test used this step already, the next step's code is the one.
  let paid = null;
  for (let tries = 0; paid === null && tries < 3; tries += 1) {
    try {
      paid = cashier(till, "redeem", "--code", customer("code", "--kind", "numeric").payload, "--amount", "1");
    } catch (e) {
      const wait = 30_000 - (Date.now() % 30_000) + 500;
      log(`numeric code refused (${String(e.stdout ?? "").trim().slice(0, 120)}); next step in ${wait} ms`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  assert.ok(paid, "a right numeric code pays after the unlock");
  assert.equal(paid.balance_after, balance0 + 24);

  // ---------------------------------------------------------------- fraud, CSV
  await page.click('#nav a[data-page="fraud"]');
  await visible(page, "#fraud-chart svg");
  // The till test scanned one code twice: that replay must show up here.
  await page.waitForFunction(
    () => document.querySelector("#fraud-reasons")?.textContent.includes("Code used twice"),
    null,
    { timeout: 10000 },
  );
  // One store only: nothing to flag, and the page says so.
  await visible(page, "#anomalies-empty");
  assert.ok(await page.locator("#anomaly-table").isHidden());
  await screenshot(page, "08-fraud");
  const csv = await page.request.get(`${BASE}/v1/dashboard/export/ledger.csv`);
  assert.equal(csv.status(), 200);
  const lines = (await csv.text()).trim().split("\r\n");
  assert.match(lines[0], /^transfer_id,created_at,kind,/);
  assert.ok(lines.some((l) => l.includes(",redeem,") && l.includes(",-25,")), "the sale is in the CSV");

  // ---------------------------------------------------------------- settings
  await page.click('#nav a[data-page="settings"]');
  await visible(page, "#page-settings");
  await page.waitForFunction(() => document.getElementById("set-customer-max-count").value === "20");
  assert.match(await page.locator("#settings-updated").textContent(), /defaults/);
  await checkAccessible(page, "settings");
  await page.fill("#set-velocity-window-s", "0");
  await page.click("#settings-submit");
  await visible(page, "#settings-error");
  assert.match(await page.locator("#settings-error").textContent(), /Not saved: velocity_window_s must be 1 to 86400/);
  await page.fill("#set-velocity-window-s", "3600");
  // The offline code windows: the defaults, a bound enforced by the server, a new value.
  assert.equal(await page.inputValue("#set-offline-max-age-s"), "60");
  assert.equal(await page.inputValue("#set-offline-max-skew-s"), "30");
  await page.fill("#set-offline-max-age-s", "5");
  await page.click("#settings-submit");
  await page.waitForFunction(() => /offline_max_age_s must be 10 to 600/.test(document.getElementById("settings-error").textContent));
  await page.fill("#set-offline-max-age-s", "45");
  await page.fill("#set-customer-max-count", "50");
  await page.click("#settings-submit");
  await page.waitForFunction(() => /Settings saved/.test(document.getElementById("status").textContent));
  assert.ok(await page.locator("#settings-error").isHidden());
  assert.match(await page.locator("#settings-updated").textContent(), /Last changed/);
  const saved = await (await page.request.get(`${BASE}/v1/dashboard/settings`)).json();
  assert.deepEqual([saved.offline_max_age_s, saved.offline_max_skew_s, saved.customer_max_count], [45, 30, 50]);
  await screenshot(page, "08b-settings");

  // ---------------------------------------------------------------- sign out
  await page.click("#sign-out");
  await visible(page, "#page-signin");
  assert.equal((await page.request.get(`${BASE}/v1/staff/me`)).status(), 401, "the session is gone");
  await browser.close();

  // ---------------------------------------------------------------- the viewer
  const pendingHome = path.join(WORK, "cashier-3");
  const code3 = admin(["create-enrollment", "--store", STORE]).code;
  const pending = cashier(pendingHome, "enroll", "--store", STORE, "--code", code3, "--name", PENDING_TILL);
  ({ browser, context, page } = await launch());
  await signIn(page, VIEWER);
  assert.match(await page.locator("#status").textContent(), /viewer/);
  await page.click('#nav a[data-page="terminals"]');
  row = await terminalRow(page, PENDING_TILL);
  await row.locator('button[data-action="approve"]').click();
  await visible(page, "#confirm");
  await page.click("#confirm-ok");
  await visible(page, "#confirm-error");
  assert.match(await page.locator("#confirm-error").textContent(), /403/);
  await screenshot(page, "09-viewer-refused");
  await page.keyboard.press("Escape");
  await page.locator("#confirm").waitFor({ state: "hidden" });
  row = await terminalRow(page, PENDING_TILL);
  assert.equal(await row.getAttribute("data-status"), "pending", "nothing changed");
  const still = admin(["terminals", "--merchant", MERCHANT]).find((t) => t.terminal_id === pending.terminal_id);
  assert.equal(still.status, "pending");
  // Creating an enrollment is refused too.
  await page.selectOption("#enroll-store", STORE);
  await page.click("#enroll-submit");
  await page.waitForFunction(() => /403/.test(document.getElementById("status").textContent));
  assert.ok(await page.locator("#enrollment").isHidden());
  // The settings show, and saving them is refused.
  await page.click('#nav a[data-page="settings"]');
  await page.waitForFunction(() => document.getElementById("set-customer-max-count").value === "50");
  await page.fill("#set-customer-max-count", "1");
  await page.click("#settings-submit");
  await visible(page, "#settings-error");
  assert.match(await page.locator("#settings-error").textContent(), /403/);
  // A locked device: the viewer sees the lock, and no button to lift it or to adjust.
  lockNumericCodes(till);
  await page.click('#nav a[data-page="customers"]');
  await page.fill("#customer-q", "dana@");
  await page.press("#customer-q", "Enter");
  await page.waitForFunction(() => document.querySelector("#device-rows tr[data-locked='true']") !== null);
  assert.ok(await page.locator("#adjust-form").isHidden(), "no adjustment form for a viewer");
  await visible(page, "#adjust-viewer");
  assert.equal(await page.locator("#device-rows button").count(), 0, "no unlock button for a viewer");
  await checkAccessible(page, "customers as a viewer");
  await screenshot(page, "10-viewer-customer");
  await browser.close();

  assert.deepEqual(problems, [], "console errors, CSP violations or failed requests");
  log("passed");
}

main().catch((e) => {
  log(`FAILED: ${e?.stack ?? e}`);
  if (problems.length) log(`browser problems:\n  ${problems.join("\n  ")}`);
  process.exit(1);
});
