// The till web app (/till) in Debian's headless Chromium, driven by
// playwright-core, against a real tillcode-api. Run by ops/browser-test.sh,
// which starts the API with a throw-away database and passes, in the
// environment:
//   TILL_URL              the API's base URL (http://127.0.0.1:PORT)
//   TILL_STORE_ID         the demo store
//   TILL_ENROLL_CODE      a fresh enrollment code for that store
//   TILLCODE_API_BIN      the tillcode-api binary (admin commands; it reads
//                         TILLCODE_DATABASE_URL from the environment)
//   TILLCODE_CUSTOMER_BIN the customer CLI, and TILL_CUSTOMER_HOME its home,
//                         signed in as the demo customer (balance 10000)
//   TILL_WORK             a scratch directory (browser profile, videos)
//   TILL_SCREENSHOTS      where the screenshots go
//   CHROMIUM              the browser (default /usr/bin/chromium)
//
// The story: enroll (key generated in the page, non-extractable), a manager
// compares the fingerprint and approves, the page notices; the browser
// restarts (the key must survive in IndexedDB) with a fake camera that shows
// a fresh offline QR code; redeem 30 by scanning -> balance 9970; scan the
// same code again -> "already used"; a typed numeric code with an earning;
// an earn-only sale (a pasted offline code, nothing redeemed); a pasted
// online key whose first answer is lost (the till retries with the same
// Idempotency-Key; charged once); from the recent sales, a partial refund
// and a void; a suspended terminal is refused. The
// balance is checked with the customer CLI too.

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
const BASE = env("TILL_URL");
const STORE_ID = env("TILL_STORE_ID");
const ENROLL_CODE = env("TILL_ENROLL_CODE");
const API_BIN = env("TILLCODE_API_BIN");
const CUSTOMER_BIN = env("TILLCODE_CUSTOMER_BIN");
const CUSTOMER_HOME = env("TILL_CUSTOMER_HOME");
const WORK = env("TILL_WORK");
const SHOTS = env("TILL_SCREENSHOTS");
const CHROMIUM = env("CHROMIUM", "/usr/bin/chromium");
const TERMINAL_NAME = "Till 1 (browser test)";

// As ops' probe starts Chromium: no sandbox (root), no GPU, and nothing that
// phones home (this machine's network is closed). Media flags: grant the
// camera without a prompt and feed it from a file.
const BASE_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
];

const log = (msg) => process.stderr.write(`till.spec: ${msg}\n`);
mkdirSync(SHOTS, { recursive: true });

function run(bin, args) {
  return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}
/** The last line of a command's output, parsed as JSON. */
function runJson(bin, args) {
  const out = run(bin, args).trim().split("\n");
  return JSON.parse(out[out.length - 1]);
}
const customer = (...args) => runJson(CUSTOMER_BIN, ["--home", CUSTOMER_HOME, ...args]);
const admin = (...args) => JSON.parse(run(API_BIN, ["admin", ...args]));

/** A fresh customer code; for a QR, also a Y4M video of it for the fake camera. */
function customerCode(kind, video = false) {
  const png = path.join(WORK, `${kind}-${Date.now()}.png`);
  const code = customer("code", "--kind", kind, ...(video ? ["--png", png] : []));
  // `shown`: a numeric code grouped as people read it (absent for other kinds).
  if (!video) return { payload: code.payload, shown: code.shown };
  const y4m = png.replace(/\.png$/, ".y4m");
  // 640x480, the QR centred on white (the PNG has its own 4-module quiet
  // zone); 2 s at 10 fps, which Chromium loops.
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-i", png, "-t", "2", "-r", "10",
    "-pix_fmt", "yuv420p",
    "-vf", "scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2:color=white",
    y4m,
  ]);
  return { payload: code.payload, y4m, madeAt: Date.now() };
}

const problems = [];
const cutOnPurpose = new WeakSet();
async function launch(profile, videoFile = null) {
  const args = [...BASE_ARGS];
  if (videoFile) args.push(`--use-file-for-fake-video-capture=${videoFile}`);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: { width: 1024, height: 900 },
    permissions: ["camera"],
  });
  await context.grantPermissions(["camera"], { origin: BASE });
  const page = context.pages()[0] ?? (await context.newPage());
  // Chromium logs every 4xx answer to fetch as a console error; the refusals
  // this test provokes are expected. Anything else (a CSP violation, a
  // script error) fails the test.
  // Network failures are watched through "requestfailed", except the one
  // this test makes on purpose.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource:")) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    if (r.failure()?.errorText !== "net::ERR_ABORTED" && !cutOnPurpose.has(r)) {
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    }
  });
  return { context, page };
}

let shot = 0;
async function screenshot(page, name) {
  shot += 1;
  const file = path.join(SHOTS, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${file}`);
}

const visible = (page, selector, timeout = 15000) =>
  page.locator(selector).waitFor({ state: "visible", timeout });

/** The earning typed in its field, then the amount on the keypad. */
async function typeAmount(page, amount, earn = "") {
  await page.fill("#earn", String(earn));
  await page.fill("#amount", "");
  await page.click("#amount");
  for (const digit of String(amount)) await page.click(`#keypad button[data-key="${digit}"]`);
  assert.equal(await page.inputValue("#amount"), String(amount));
}

async function success(page) {
  await visible(page, "#result-ok", 20000).catch(async (e) => {
    await screenshot(page, "unexpected");
    const msg = (await page.locator("#e-message").textContent().catch(() => "")) ?? "";
    throw new Error(`no success screen; error shown: "${msg}" (${e.message})`);
  });
  const value = async (id) => Number(await page.locator(id).getAttribute("data-value"));
  return {
    customer: (await page.locator("#r-customer").textContent()).trim(),
    amount: await value("#r-amount"),
    earned: await value("#r-earned"),
    balance: await value("#r-balance"),
  };
}

/** The redeem screen's accessibility basics: labels and target sizes. */
async function checkRedeemScreen(page) {
  const unlabelled = await page.$$eval("input, textarea", (els) =>
    els.filter((e) => e.labels.length === 0).map((e) => e.id),
  );
  assert.deepEqual(unlabelled, [], "inputs without a label");
  const small = await page.$$eval("#screen-redeem button, #screen-redeem input, #screen-redeem textarea", (els) =>
    els
      .filter((e) => e.offsetParent !== null)
      .map((e) => ({ id: e.id || e.textContent.trim(), r: e.getBoundingClientRect() }))
      .filter(({ r }) => r.width < 48 || r.height < 48)
      .map(({ id, r }) => `${id} ${r.width}x${r.height}`),
  );
  assert.deepEqual(small, [], "touch targets under 48 px");
}

async function main() {
  const profile = path.join(WORK, "profile");
  const startBalance = customer("balance").balance;
  log(`customer balance before: ${startBalance}`);

  // ---------------------------------------------------------------- enroll
  let { context, page } = await launch(profile);
  const res = await page.goto(`${BASE}/till`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()["content-security-policy"], /script-src 'self'/);
  await visible(page, "#screen-enroll");
  await page.fill("#store-id", STORE_ID);
  // Typed in lower case with a space: the page normalizes as section 8 says.
  await page.fill("#enroll-code", ENROLL_CODE.toLowerCase().replace("-", " "));
  await page.fill("#terminal-name", TERMINAL_NAME);
  await screenshot(page, "enroll");
  await page.click("#enroll-submit");
  await visible(page, "#screen-pending");
  const fingerprint = (await page.locator("#pending-fingerprint").textContent()).trim();
  assert.match(fingerprint, /^([A-Z2-7]{4}-){6}[A-Z2-7]{2}$/);
  await screenshot(page, "pending");

  // ---------------------------------------------------------------- approve
  const pending = admin("terminals").filter((t) => t.status === "pending" && t.name === TERMINAL_NAME);
  assert.equal(pending.length, 1, `one pending terminal named ${TERMINAL_NAME}`);
  assert.equal(pending[0].fingerprint, fingerprint, "the manager sees the fingerprint the till shows");
  assert.equal(pending[0].store_id, STORE_ID);
  const approved = admin("approve-terminal", pending[0].terminal_id);
  assert.equal(approved.status, "active");
  log(`approved terminal ${pending[0].terminal_id}`);
  await visible(page, "#screen-redeem", 20000);
  assert.match(await page.locator("#terminal-label").textContent(), /active/);
  await checkRedeemScreen(page);
  await screenshot(page, "approved");
  // The key must survive a restart of the browser.
  await context.close();

  // ---------------------------------------------------------------- scan
  const offline = customerCode("offline", true);
  ({ context, page } = await launch(profile, offline.y4m));
  await page.goto(`${BASE}/till`);
  await visible(page, "#screen-redeem");
  await typeAmount(page, 30);
  await screenshot(page, "amount");
  await page.click("#scan-button");
  await visible(page, "#screen-scan").catch(() => {});
  if (await page.locator("#screen-scan").isVisible()) {
    await page.waitForFunction(() => document.getElementById("video").readyState >= 2, null, { timeout: 10000 }).catch(() => {});
    await screenshot(page, "scanning");
  }
  const first = await success(page);
  log(`scanned: ${JSON.stringify(first)}`);
  assert.equal(first.amount, 30);
  assert.equal(first.balance, startBalance - 30);
  assert.equal(first.earned, 0);
  assert.ok(first.customer.length > 0 && first.customer !== "—", "a masked customer name");
  assert.doesNotMatch(first.customer, /@/, "never the full email");
  assert.match(await page.locator("#r-balance").textContent(), /9[,.\u202f\u00a0]?970/);
  await screenshot(page, "redeemed");

  // ---------------------------------------------------------------- replay
  await page.click("#result-next");
  await visible(page, "#screen-redeem");
  assert.equal(await page.inputValue("#amount"), "");
  await typeAmount(page, 30);
  await page.click("#scan-button");
  await visible(page, "#result-error", 20000);
  const age = (Date.now() - offline.madeAt) / 1000;
  assert.equal(
    (await page.locator("#e-message").textContent()).trim(),
    "This code was already used — ask for a new one.",
    `the second scan of one code (made ${age.toFixed(0)} s ago; older than 60 s is code-expired)`,
  );
  assert.equal(await page.evaluate(() => document.body.dataset.result), "code-replayed");
  await screenshot(page, "replayed");
  assert.equal(customer("balance").balance, startBalance - 30, "the replay charged nothing");

  // ---------------------------------------------------------------- typed
  await page.click("#result-back");
  await visible(page, "#screen-redeem");
  await typeAmount(page, 20, 5);
  const numeric = customerCode("numeric");
  // Typed as a person reads it off the phone, in groups of four.
  await page.fill("#manual-code", numeric.shown);
  await page.click("#manual-submit");
  const typed = await success(page);
  log(`typed: ${JSON.stringify(typed)}`);
  assert.deepEqual(
    { amount: typed.amount, earned: typed.earned, balance: typed.balance },
    { amount: 20, earned: 5, balance: startBalance - 30 - 20 + 5 },
  );
  await screenshot(page, "typed-with-earning");

  // ---------------------------------------------------------------- earn only
  // Nothing to redeem: the code only names the customer, who earns 7 (an
  // accrual, POST /v1/accruals).
  await page.click("#result-next");
  await visible(page, "#screen-redeem");
  await page.fill("#amount", "");
  await page.fill("#earn", "7");
  await page.fill("#paste-code", `${customerCode("offline").payload}\n`);
  await page.click("#paste-submit");
  const earnedOnly = await success(page);
  log(`earn only: ${JSON.stringify(earnedOnly)}`);
  assert.deepEqual(
    { amount: earnedOnly.amount, earned: earnedOnly.earned, balance: earnedOnly.balance },
    { amount: 0, earned: 7, balance: startBalance - 30 - 20 + 5 + 7 },
  );
  assert.equal((await page.locator("#h-result").textContent()).trim(), "Points added");
  assert.equal(customer("balance").balance, earnedOnly.balance);
  await screenshot(page, "earn-only");

  // ---------------------------------------------------------------- pasted, answer lost
  // The server commits the first attempt but the connection drops before
  // the answer arrives: the till retries by itself with the same
  // Idempotency-Key (and a fresh signature), and the server replays its
  // stored answer instead of charging again.
  await page.click("#result-next");
  await visible(page, "#screen-redeem");
  await typeAmount(page, 10);
  const online = customerCode("online");
  const attempts = [];
  await page.route("**/v1/redemptions", async (route) => {
    const headers = route.request().headers();
    attempts.push({ key: headers["idempotency-key"], input: headers["signature-input"] });
    if (attempts.length === 1) {
      const answer = await route.fetch();
      assert.equal(answer.status(), 201, "the first attempt reached the server and was committed");
      cutOnPurpose.add(route.request());
      await route.abort("connectionreset");
    } else {
      await route.continue();
    }
  });
  await page.fill("#paste-code", `${online.payload}\n`);
  await page.click("#paste-submit");
  const pasted = await success(page);
  await page.unroute("**/v1/redemptions");
  log(`pasted: ${JSON.stringify(pasted)}; attempts: ${attempts.length}`);
  assert.equal(attempts.length, 2);
  assert.match(attempts[0].key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(attempts[1].key, attempts[0].key, "the retry reuses the Idempotency-Key");
  assert.notEqual(attempts[1].input, attempts[0].input, "the retry is signed afresh (new nonce)");
  assert.ok(await page.locator("#r-replayed").isVisible(), "the till says nothing was charged twice");
  assert.equal(pasted.balance, startBalance - 30 - 20 + 5 + 7 - 10);
  assert.equal(customer("balance").balance, pasted.balance, "charged once");
  await screenshot(page, "pasted-retried");

  // ---------------------------------------------------------------- undo
  // From the recent sales: refund 4 of the pasted sale (10), then void the
  // scanned one (30); each screen names the customer and the amounts.
  await page.click("#result-next");
  await visible(page, "#screen-redeem");
  await page.click("#recent-open");
  await visible(page, "#recent-list li >> nth=0");
  await screenshot(page, "recent");
  // Newest first: the pasted 10, the typed 20, the scanned 30.
  const redemption = (n) => page.locator("#recent-list li[data-kind=redeem]").nth(n);
  await redemption(0).locator("button").click();
  await visible(page, "#screen-undo");
  const summary = (await page.locator("#undo-summary").textContent()).trim();
  assert.ok(summary.startsWith(`${pasted.customer}: redeemed 10 on `), summary);
  assert.equal(await page.inputValue("#refund-amount"), "10");
  await page.fill("#refund-amount", "4");
  assert.equal((await page.locator("#undo-refund").textContent()).trim(), `Refund: give 4 back to ${pasted.customer}`);
  await screenshot(page, "undo");
  await page.click("#undo-refund");
  await visible(page, "#screen-recent");
  assert.match(await page.locator("#recent-status").textContent(), /^Gave 4 back to /);
  await visible(page, "#recent-list li >> nth=0");
  // Partly refunded: 6 left to refund, and no longer voidable.
  await redemption(0).locator("button").click();
  await visible(page, "#screen-undo");
  assert.equal(await page.inputValue("#refund-amount"), "6");
  assert.ok(await page.locator("#undo-void").isHidden(), "a refunded sale cannot be voided");
  await page.click("#undo-cancel");
  await visible(page, "#recent-list li >> nth=0");
  await redemption(2).locator("button").click();
  await visible(page, "#screen-undo");
  assert.match(await page.locator("#undo-summary").textContent(), /: redeemed 30 on /);
  await page.click("#undo-void");
  await visible(page, "#screen-recent");
  assert.match(await page.locator("#recent-status").textContent(), /^Voided: gave 30 back to /);
  await visible(page, "#recent-list li >> nth=0");
  assert.match(await redemption(2).locator(".when").textContent(), /voided$/);
  const afterUndo = pasted.balance + 4 + 30;
  assert.equal(customer("balance").balance, afterUndo, "given back once each");
  await screenshot(page, "undone");
  await page.click("#recent-back");

  // ---------------------------------------------------------------- suspended
  // A manager suspends the terminal: the next sale is refused, and says why.
  admin("suspend-terminal", pending[0].terminal_id);
  await visible(page, "#screen-redeem");
  await typeAmount(page, 10);
  await page.fill("#manual-code", customerCode("numeric").payload);
  await page.click("#manual-submit");
  await visible(page, "#result-error", 20000);
  assert.equal(await page.evaluate(() => document.body.dataset.result), "terminal-not-active");
  assert.equal(
    (await page.locator("#e-message").textContent()).trim(),
    "This terminal is suspended. Ask a manager to resume it.",
  );
  assert.match(await page.locator("#terminal-label").textContent(), /suspended/);
  await screenshot(page, "suspended");
  // Back leads to the status screen, which notices when it is resumed.
  await page.click("#result-back");
  await visible(page, "#screen-pending");
  assert.equal((await page.locator("#h-pending").textContent()).trim(), "Terminal suspended");
  admin("approve-terminal", pending[0].terminal_id);
  await visible(page, "#screen-redeem", 20000);

  // ---------------------------------------------------------------- end
  assert.equal(customer("balance").balance, afterUndo, "the CLI sees the same balance");
  await context.close();
  assert.deepEqual(problems, [], "console errors, CSP violations or failed requests");
  log("passed");
}

main().catch((e) => {
  log(`FAILED: ${e?.stack ?? e}`);
  if (problems.length) log(`browser problems:\n  ${problems.join("\n  ")}`);
  process.exit(1);
});
