// Checks the wallet's code making (api/src/wallet/codes.mjs) against the
// protocol's conformance vectors, in node's WebCrypto: offline tokens byte
// for byte, numeric codes (TOTP and Luhn), the registration proof and the
// device-session proof; and that the QR encoder the wallet ships puts a
// token in the version the protocol names (section 3).
// Run: node --test ops/browser-test/wallet-codes.test.mjs (no dependencies).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as wc from "../../api/src/wallet/codes.mjs";
import { qrcode } from "../../api/src/wallet/qrcode.mjs";

const vectors = (name) =>
  JSON.parse(readFileSync(new URL(`../../protocol/tests/vectors/${name}`, import.meta.url)));
const shared = vectors("shared-v1.json");
const additions = vectors("additions-v1.json");

// An Ed25519 seed as PKCS#8 (RFC 8410). The wallet itself never imports a
// key: it generates a non-extractable one.
const PKCS8_ED25519_PREFIX = wc.fromHex("302e020100300506032b657004220420");
async function privateKeyFromSeed(seedHex) {
  return crypto.subtle.importKey(
    "pkcs8",
    wc.concat(PKCS8_ED25519_PREFIX, wc.fromHex(seedHex)),
    { name: "Ed25519" },
    false,
    ["sign"],
  );
}

test("the valid offline tokens are reproduced byte for byte", async () => {
  const valid = shared.offline.filter((v) => v.verdict === "valid");
  assert.ok(valid.length >= 1);
  for (const v of valid) {
    const nonce = wc.fromHex(v.nonce);
    const m = wc.offlineMessage(v.merchant_id, v.device_handle, v.issued_at_ms, nonce);
    assert.equal(m.length, 56);
    assert.equal(wc.toHex(m), v.signed_message);
    const payload = await wc.offlineToken({
      privateKey: await privateKeyFromSeed(v.seed),
      merchantId: v.merchant_id,
      deviceHandle: v.device_handle,
      issuedAtMs: v.issued_at_ms,
      nonce,
    });
    assert.equal(payload.length, 139);
    assert.equal(payload, v.payload);
    assert.equal(
      await wc.offlineFingerprint(v.merchant_id, v.device_handle, v.issued_at_ms, nonce),
      v.fingerprint,
    );
  }
});

test("issue times only go up", () => {
  assert.equal(wc.nextIssuedAt(1000, undefined), 1000);
  assert.equal(wc.nextIssuedAt(1000, 999), 1000);
  assert.equal(wc.nextIssuedAt(1000, 1000), 1001);
  assert.equal(wc.nextIssuedAt(900, 1000), 1001);
});

test("numeric codes match the vectors", async () => {
  let checked = 0;
  for (const v of shared.numeric.filter((v) => v.secret)) {
    const key = await wc.importTotpSecret(v.secret);
    assert.equal(await wc.totp(key, v.unix_s), v.totp, `${v.unix_s}`);
    assert.equal(await wc.numericCode(v.handle, key, v.unix_s), v.code);
    checked++;
  }
  assert.ok(checked >= 4);
  // A typo breaks the check digit (the refused vector).
  const typo = shared.numeric.find((v) => v.verdict === "malformed-code").code;
  assert.notEqual(wc.luhnDigit(typo.slice(0, 17)), typo[17]);
  assert.equal(wc.groupDigits("123456789938022008"), "1234 5678 9938 0220 08");
});

test("the registration proof of proofs[0] is reproduced", async () => {
  const v = shared.proofs.find((p) => p.kind === "register-device");
  const privateKey = await privateKeyFromSeed(v.seed);
  const publicKey = wc.fromHex(shared.offline[0].public_key);
  const message = await wc.registrationMessage(
    v.merchant_id,
    wc.fromHex(v.challenge),
    publicKey,
    v.device_name,
  );
  assert.equal(message.length, 140);
  assert.equal(wc.toHex(message), v.message);
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, message));
  assert.equal(wc.toHex(sig), v.signature);
});

test("the device-session proofs are reproduced", async () => {
  for (const v of additions.device_session) {
    const message = wc.sessionMessage(v.device_id, wc.fromHex(v.challenge));
    assert.equal(wc.toHex(message), v.message);
    const key = await privateKeyFromSeed(v.seed);
    const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, message));
    assert.equal(wc.toHex(sig), v.signature);
  }
});

test("the QR of an offline token is version 6 at level M, a numeric code's version 1", () => {
  const qr = qrcode(0, "M");
  qr.addData(shared.offline[0].payload, "Alphanumeric");
  qr.make();
  assert.equal(qr.getModuleCount(), 41);
  const numeric = qrcode(0, "M");
  numeric.addData("123456789938022008", "Numeric");
  numeric.make();
  assert.equal(numeric.getModuleCount(), 21);
});
