// The customer's wallet (/wallet/{slug}) in Debian's headless Chromium,
// driven by playwright-core, against a real tillcode-api, at a phone's
// width (390 px). Run by ops/browser-test.sh, with, in the environment:
//   WALLET_URL            the API's base URL (http://127.0.0.1:PORT)
//   WALLET_SLUG           the demo merchant's slug
//   WALLET_STORE_ID       the demo store
//   TILLCODE_API_BIN      the tillcode-api binary (admin commands; it reads
//                         TILLCODE_DATABASE_URL from the environment)
//   TILLCODE_CASHIER_BIN  the cashier CLI (the till: enrolls, credits, redeems
//                         a PNG of the QR it is given, decoding it itself)
//   TILLCODE_CUSTOMER_BIN the customer CLI (the customer's other device)
//   WALLET_WORK           a scratch directory
//   WALLET_SCREENSHOTS    where the screenshots go (wallet-*.png)
//   CHROMIUM              the browser (default /usr/bin/chromium)
//
// The story: a new customer signs up in the wallet (the device key is made
// and registered in the page); a till credits 100; the wallet's QR, captured
// from the page as a picture, is shown to the /till page's fake camera
// (a second browser, enrolled and approved first), which takes 30, and the
// wallet then shows 70; its numeric code, read off the page, pays 5 at a
// till that is the cashier CLI; the same picture again is refused there
// (the CLI decodes the PNG itself); a new code comes within 20 s and is newer.
// Then the network is cut (DevTools offline): a reload still opens the
// wallet from its service worker and shows a fresh code, which the till
// redeems; back online, the wallet shows the balance the till left. Signing
// out revokes the device (its last code is refused) and deletes its keys;
// signing in again makes a new key, whose code pays; an online key (section
// 4) asked for by the page pays once; the history lists every line. Revoked from the
// customer's other device (the customer CLI), the wallet says so and forgets
// its keys.

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
const BASE = env("WALLET_URL");
const SLUG = env("WALLET_SLUG");
const STORE = env("WALLET_STORE_ID");
const API_BIN = env("TILLCODE_API_BIN");
const CASHIER_BIN = env("TILLCODE_CASHIER_BIN");
const CUSTOMER_BIN = env("TILLCODE_CUSTOMER_BIN");
const WORK = env("WALLET_WORK");
const SHOTS = env("WALLET_SCREENSHOTS");
const CHROMIUM = env("CHROMIUM", "/usr/bin/chromium");

const PASSWORD = "a wallet passphrase for the test";

const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const log = (msg) => process.stderr.write(`wallet.spec: ${msg}\n`);
mkdirSync(SHOTS, { recursive: true });

function run(bin, args, input) {
  return execFileSync(bin, args, {
    encoding: "utf8",
    input,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "inherit"],
  });
}
/** The JSON document a command prints (the last one that starts a line). */
function runJson(bin, args, input) {
  const out = run(bin, args, input).trim();
  return JSON.parse(out.slice(out.search(/^[{[]/m)));
}
const admin = (...args) => runJson(API_BIN, ["admin", ...args]);
const TILL = path.join(WORK, "wallet-till");
const cashier = (...args) => runJson(CASHIER_BIN, ["--home", TILL, "--api", BASE, ...args]);
/** A cashier command that must be refused: the problem type's slug. */
function cashierRefused(...args) {
  try {
    run(CASHIER_BIN, ["--home", TILL, "--api", BASE, ...args]);
  } catch (e) {
    const out = String(e.stdout ?? "").trim();
    return JSON.parse(out.slice(out.search(/^[{[]/m))).type.split("/").pop();
  }
  throw new Error(`cashier ${args.join(" ")} was not refused`);
}

const screenshot = (page, name) => page.screenshot({ path: path.join(SHOTS, `wallet-${name}.png`), fullPage: true });

async function visible(page, selector) {
  await page.locator(selector).waitFor({ state: "visible", timeout: 15000 });
}

/** The QR on the page, as a PNG file, and the issue time of its token. */
let shots = 0;
async function captureQr(page) {
  const file = path.join(WORK, `wallet-qr-${++shots}.png`);
  const issuedAt = Number(await page.locator("#qr").getAttribute("data-issued-at"));
  await page.locator("#qr").screenshot({ path: file });
  return { file, issuedAt };
}

async function waitForBalance(page, value) {
  await page.click("#refresh");
  await page.waitForFunction(
    (v) => document.getElementById("balance").dataset.value === v,
    String(value),
    { timeout: 15000 },
  );
}

/** What the wallet keeps in IndexedDB: per device, whether each key is extractable. */
function storedKeys(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("tillcode-wallet", 1);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const req = open.result.transaction("devices").objectStore("devices").getAll();
          req.onsuccess = () => {
            open.result.close();
            resolve(req.result.map((d) => [d.privateKey.extractable, d.totpKey.extractable, d.privateKey.algorithm.name]));
          };
          req.onerror = () => reject(req.error);
        };
      }),
  );
}

// ------------------------------------------------------------------ the /till page

const TILL_PROFILE = path.join(WORK, "wallet-till-profile");
const TILL_PAGE_NAME = "Till by the door (wallet test)";

/** The /till page in a browser of its own; its camera shows `video` (Y4M). */
async function launchTill(video = null) {
  const args = [...ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"];
  if (video) args.push(`--use-file-for-fake-video-capture=${video}`);
  const context = await chromium.launchPersistentContext(TILL_PROFILE, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: { width: 1024, height: 900 },
    permissions: ["camera"],
  });
  await context.grantPermissions(["camera"], { origin: BASE });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => problems.push(`till page error: ${e.message}`));
  return { context, page };
}

/** Enrolls the /till page (its key kept in its profile); a manager approves. */
async function enrollTillPage() {
  const code = admin("create-enrollment", "--store", STORE).code;
  const { context, page } = await launchTill();
  await page.goto(`${BASE}/till`);
  await visible(page, "#screen-enroll");
  await page.fill("#store-id", STORE);
  await page.fill("#enroll-code", code);
  await page.fill("#terminal-name", TILL_PAGE_NAME);
  await page.click("#enroll-submit");
  await visible(page, "#screen-pending");
  const pending = admin("terminals").find((t) => t.status === "pending" && t.name === TILL_PAGE_NAME);
  assert.ok(pending, "the till page's terminal is pending");
  assert.equal(admin("approve-terminal", pending.terminal_id).status, "active");
  await page.locator("#screen-redeem").waitFor({ state: "visible", timeout: 20000 });
  await context.close();
}

/** The /till page scans `qr` (a PNG) with its camera and takes `amount`: the balance after. */
async function redeemAtTillPage(qr, amount) {
  const video = qr.replace(/\.png$/, ".y4m");
  // 640x480, the QR (with its quiet zone) centred on white; Chromium loops it.
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-i", qr, "-t", "2", "-r", "10",
    "-pix_fmt", "yuv420p",
    "-vf", "scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2:color=white",
    video,
  ]);
  const { context, page } = await launchTill(video);
  try {
    await page.goto(`${BASE}/till`);
    await visible(page, "#screen-redeem");
    await page.fill("#amount", "");
    await page.click("#amount");
    for (const digit of String(amount)) await page.click(`#keypad button[data-key="${digit}"]`);
    await page.click("#scan-button");
    await page.locator("#result-ok").waitFor({ state: "visible", timeout: 20000 }).catch(async (e) => {
      const msg = (await page.locator("#e-message").textContent().catch(() => "")) ?? "";
      throw new Error(`the till page shows no success; error shown: "${msg}" (${e.message})`);
    });
    await page.screenshot({ path: path.join(SHOTS, "wallet-till-redeemed.png"), fullPage: true });
    return Number(await page.locator("#r-balance").getAttribute("data-value"));
  } finally {
    await context.close();
  }
}

/**
 * Accessibility basics of the screen shown: every input labelled, touch
 * targets of 48 px or more, and nothing wider than the phone, at 100 % and
 * at 200 % text size.
 */
async function checkAccessible(page, name) {
  const unlabelled = await page.$$eval("input", (els) => els.filter((e) => e.labels.length === 0).map((e) => e.id));
  assert.deepEqual(unlabelled, [], `${name}: inputs without a label`);
  for (const scale of ["", "200%"]) {
    await page.evaluate((s) => {
      document.documentElement.style.fontSize = s ? `calc(17px * ${parseInt(s, 10) / 100})` : "";
    }, scale);
    const small = await page.$$eval("main button, main input", (els) =>
      els
        .filter((e) => e.offsetParent !== null)
        .map((e) => ({ id: e.id, r: e.getBoundingClientRect() }))
        .filter(({ r }) => r.width < 48 || r.height < 48)
        .map(({ id, r }) => `${id} ${r.width}x${r.height}`),
    );
    assert.deepEqual(small, [], `${name} ${scale || "100%"}: touch targets under 48 px`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 390, `${name} ${scale || "100%"}: ${wide} px wide, wider than the phone`);
    if (scale) await screenshot(page, `${name}-200-percent`);
  }
  await page.evaluate(() => {
    document.documentElement.style.fontSize = "";
  });
}

const problems = [];
let offlineOnPurpose = false;

async function main() {
  // ---------------------------------------------------------------- tills
  await enrollTillPage();
  const code = admin("create-enrollment", "--store", STORE).code;
  const enrolled = cashier("enroll", "--store", STORE, "--code", code, "--name", "Wallet test till");
  run(API_BIN, ["admin", "approve-terminal", enrolled.terminal_id]);
  assert.equal(cashier("status").status, "active");

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  const page = await context.newPage();
  // Chromium logs every 4xx answer, and every request cut while offline, as
  // "Failed to load resource"; anything else (a CSP violation, a script
  // error) fails the test.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource:")) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    if (r.failure()?.errorText !== "net::ERR_ABORTED" && !offlineOnPurpose) {
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    }
  });

  // ---------------------------------------------------------------- sign up
  await page.goto(`${BASE}/wallet/${SLUG}`);
  await visible(page, "#screen-sign");
  assert.equal((await page.locator("#merchant-name").textContent()).trim(), "Demo Grocers");
  await screenshot(page, "01-sign-up");
  await checkAccessible(page, "01-sign-up");
  const email = `wallet-${Date.now()}@example.com`;
  await page.fill("#display-name", "Wanda");
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await page.fill("#device-name", "Wanda's phone");
  await page.click("#sign-submit");
  await visible(page, "#screen-pay");
  await page.waitForFunction(() => /^\d{4} \d{4} \d{4} \d{4} \d{2}$/.test(document.getElementById("numeric").textContent));
  await waitForBalance(page, 0);
  assert.equal(await page.locator("#qr").getAttribute("data-modules"), "41", "an offline token is QR version 6 at level M");
  const customerId = (await page.locator("#customer-id").textContent()).trim();
  assert.match(customerId, /^[0-9a-f-]{36}$/);
  const fingerprint = (await page.locator("#fingerprint").textContent()).trim();
  assert.match(fingerprint, /^([A-Z2-7]{4}-){6}[A-Z2-7]{2}$/);
  // The key cannot be read out of the page.
  assert.deepEqual(await storedKeys(page), [[false, false, "Ed25519"]]);

  // ---------------------------------------------------------------- pay at a till
  cashier("accrue", "--customer", customerId, "--amount", "100");
  await waitForBalance(page, 100);
  await screenshot(page, "02-pay");
  await checkAccessible(page, "02-pay");
  const first = await captureQr(page);
  assert.equal(await redeemAtTillPage(first.file, 30), 70, "the till page's camera read the wallet's QR");
  log("the /till page scanned the wallet's QR and took 30");
  await waitForBalance(page, 70);
  await screenshot(page, "03-after-redeem");
  assert.equal(cashierRefused("redeem", "--image", first.file, "--amount", "1"), "code-replayed", "the picture pays once");

  const digits = (await page.locator("#numeric").textContent()).replace(/ /g, "");
  cashier("redeem", "--code", digits, "--amount", "5");
  await waitForBalance(page, 65);

  // A new token within 20 s, issued later than the one before.
  const before = Number(await page.locator("#qr").getAttribute("data-issued-at"));
  await page.waitForFunction(
    (t) => Number(document.getElementById("qr").dataset.issuedAt) > t,
    before,
    { timeout: 25000 },
  );

  // ---------------------------------------------------------------- no network
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  offlineOnPurpose = true;
  await context.setOffline(true);
  const lastOnline = Number(await page.locator("#qr").getAttribute("data-issued-at"));
  const started = Date.now();
  await page.reload();
  await visible(page, "#screen-pay");
  await page.waitForFunction(() => /^\d{4} \d{4} \d{4} \d{4} \d{2}$/.test(document.getElementById("numeric").textContent));
  log(`offline reload to a code: ${Date.now() - started} ms`);
  assert.equal((await page.locator("#net").textContent()).trim(), "Offline");
  assert.equal(await page.locator("#balance").getAttribute("data-value"), "65", "the last balance seen");
  const offline = await captureQr(page);
  assert.ok(offline.issuedAt > lastOnline, "a fresh token, newer than any before");
  await screenshot(page, "04-offline");
  cashier("redeem", "--image", offline.file, "--amount", "10");

  await context.setOffline(false);
  offlineOnPurpose = false;
  await waitForBalance(page, 55);
  await screenshot(page, "05-back-online");

  // ---------------------------------------------------------------- sign out, sign in
  // Signing out revokes this device at the server and deletes its keys here:
  // the last code it showed no longer pays.
  const lastShown = await captureQr(page);
  await page.click("#sign-out");
  await visible(page, "#screen-sign");
  assert.deepEqual(await storedKeys(page), [], "the keys are deleted");
  assert.equal(cashierRefused("redeem", "--image", lastShown.file, "--amount", "1"), "device-revoked");
  await page.click("#mode-in");
  assert.equal(await page.locator("#field-display-name").isHidden(), true);
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await page.fill("#device-name", "Wanda's phone, again");
  await screenshot(page, "06-sign-in");
  await page.click("#sign-submit");
  await visible(page, "#screen-pay");
  await waitForBalance(page, 55);
  assert.notEqual((await page.locator("#fingerprint").textContent()).trim(), fingerprint, "a new key");
  cashier("redeem", "--image", (await captureQr(page)).file, "--amount", "5");
  await waitForBalance(page, 50);

  // ---------------------------------------------------------------- an online key
  await page.click("#online-code");
  await page.waitForFunction(() => document.getElementById("qr").dataset.kind === "online");
  assert.equal(await page.locator("#qr").getAttribute("data-modules"), "25", "an online key is QR version 2 at level M");
  assert.match(await page.locator("#code-age").textContent(), /^Online code, \d+ s left$/);
  await screenshot(page, "07-online-key");
  const online = await captureQr(page);
  assert.equal(cashier("redeem", "--image", online.file, "--amount", "5").code_kind, "online");
  await waitForBalance(page, 45);
  assert.equal(await page.locator("#qr").getAttribute("data-kind"), "offline", "a used key gives way to a fresh token");

  // ---------------------------------------------------------------- history
  await page.click("#show-history");
  await visible(page, "#screen-history");
  await page.waitForFunction(() => document.querySelectorAll("#history li").length === 6);
  const lines = await page.$$eval("#history li", (els) => els.map((e) => [e.dataset.kind, e.dataset.change]));
  assert.deepEqual(lines, [
    ["redeem", "-5"],
    ["redeem", "-5"],
    ["redeem", "-10"],
    ["redeem", "-5"],
    ["redeem", "-30"],
    ["accrue", "100"],
  ]);
  assert.match(await page.locator("#history li").last().textContent(), /Earned\s*\+100 points/);
  await screenshot(page, "08-history");
  await page.click("#history-back");
  await visible(page, "#screen-pay");

  // ---------------------------------------------------------------- a phone ten minutes fast
  // Its codes are dated by the server's clock, learnt from the answers'
  // `Date`: without that, each would be refused as not yet valid.
  const fast = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await fast.clock.install({ time: new Date(Date.now() + 10 * 60 * 1000) });
  const fastPage = await fast.newPage();
  fastPage.on("pageerror", (e) => problems.push(`page error (fast phone): ${e.message}`));
  await fastPage.goto(`${BASE}/wallet/${SLUG}`);
  await visible(fastPage, "#screen-sign");
  await fastPage.click("#mode-in");
  await fastPage.fill("#email", email);
  await fastPage.fill("#password", PASSWORD);
  await fastPage.fill("#device-name", "Wanda's fast phone");
  await fastPage.click("#sign-submit");
  await visible(fastPage, "#screen-pay");
  const skewed = await captureQr(fastPage);
  assert.ok(
    Math.abs(skewed.issuedAt - Date.now()) < 60_000,
    `dated by the server's clock, not the phone's (${skewed.issuedAt - Date.now()} ms off)`,
  );
  cashier("redeem", "--image", skewed.file, "--amount", "5");
  await waitForBalance(page, 40);
  await fast.close();

  // ---------------------------------------------------------------- revoked from another device
  // The same customer signs in with the customer CLI (another device) and
  // revokes the wallet's device, found by the fingerprint the page shows.
  const found = await (await fetch(`${BASE}/v1/merchants/${SLUG}`)).json();
  const home = path.join(WORK, "wanda-cli");
  run(
    CUSTOMER_BIN,
    ["--home", home, "login", "--merchant", found.merchant_id, "--email", email, "--device-name", "Wanda's laptop"],
    `${PASSWORD}\n`,
  );
  const shown = (await page.locator("#fingerprint").textContent()).trim();
  const devices = runJson(CUSTOMER_BIN, ["--home", home, "devices"]);
  const wallet = devices.find((d) => d.fingerprint === shown);
  assert.equal(wallet?.status, "active", JSON.stringify(devices));
  runJson(CUSTOMER_BIN, ["--home", home, "revoke-device", wallet.device_id]);
  await page.click("#refresh");
  await visible(page, "#screen-revoked");
  await screenshot(page, "09-revoked");
  await page.click("#revoked-again");
  await visible(page, "#screen-sign");
  assert.deepEqual(await storedKeys(page), [], "a revoked device's keys are deleted");

  await browser.close();
  assert.deepEqual(problems, [], "console errors, CSP violations or failed requests");
  log("passed");
}

main().catch((e) => {
  process.stderr.write(`wallet.spec: FAILED: ${e?.stack ?? e}\n`);
  if (problems.length) process.stderr.write(`${problems.join("\n")}\n`);
  process.exit(1);
});
