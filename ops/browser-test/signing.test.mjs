// Checks the till's signing code (api/src/till/signing.mjs) against the
// protocol's conformance vectors, in node's WebCrypto: the enrollment proof,
// key fingerprints, enrollment-code parsing, Content-Digest, and the RFC 9421
// Signature-Input / Signature headers of http_signatures, byte for byte.
// Run: node ops/browser-test/signing.test.mjs (no dependencies).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as tc from "../../api/src/till/signing.mjs";

const vectors = (name) =>
  JSON.parse(readFileSync(new URL(`../../protocol/tests/vectors/${name}`, import.meta.url)));
const shared = vectors("shared-v1.json");
const additions = vectors("additions-v1.json");
const invalid = vectors("invalid.json");

// An Ed25519 seed as a PKCS#8 PrivateKeyInfo (RFC 8410): a fixed 16-byte
// prefix, then the 32-byte seed. The till itself never imports a key: it
// generates a non-extractable one.
const PKCS8_ED25519_PREFIX = tc.fromHex("302e020100300506032b657004220420");
async function keyPairFromSeed(seedHex) {
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    tc.concat(PKCS8_ED25519_PREFIX, tc.fromHex(seedHex)),
    { name: "Ed25519" },
    true,
    ["sign"],
  );
  // The public key is the "x" of the JWK of the private key.
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = new Uint8Array(Buffer.from(jwk.x, "base64url"));
  return { privateKey, publicKey };
}

test("the enrollment proof of proofs[2] is reproduced", async () => {
  const v = shared.proofs.find((p) => p.kind === "enroll-terminal");
  const { privateKey, publicKey } = await keyPairFromSeed(v.seed);
  const code = tc.parseEnrollmentCode(v.code);
  assert.equal(code, "BCDFGHJK");
  const message = await tc.enrollmentMessage(code, publicKey, v.device_name);
  assert.equal(message.length, 124);
  assert.equal(tc.toHex(message), v.message);
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, message));
  assert.equal(tc.toHex(sig), v.signature);
});

test("key fingerprints match the vectors", async () => {
  for (const v of additions.key_fingerprints) {
    assert.equal(await tc.keyFingerprint(tc.fromHex(v.public_key)), v.fingerprint);
  }
  // The one in docs/protocol.md section 9.
  assert.equal(
    await tc.keyFingerprint(
      tc.fromHex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"),
    ),
    "KZDV-VJ2U-MNDU-YAUF-35O3-6K6K-W4",
  );
});

test("enrollment codes parse as the vectors say", () => {
  for (const v of shared.enrollment_codes) {
    assert.equal(tc.parseEnrollmentCode(v.input), v.normalized, v.input);
  }
  const cases = invalid.cases.filter((c) => c.kind === "enrollment_code");
  assert.ok(cases.length >= 20);
  for (const c of cases) {
    const got = tc.parseEnrollmentCode(c.input);
    assert.equal(got !== null, c.verdict === "valid", `${c.name}: ${got}`);
  }
});

test("base32 and base64url", () => {
  // RFC 4648 section 10, without padding.
  const cases = { "": "", f: "MY", fo: "MZXQ", foo: "MZXW6", foob: "MZXW6YQ", fooba: "MZXW6YTB", foobar: "MZXW6YTBOI" };
  for (const [input, want] of Object.entries(cases)) {
    assert.equal(tc.base32(new TextEncoder().encode(input)), want);
  }
  assert.equal(tc.base64url(new Uint8Array([0xfb, 0xff, 0xfe])), "-__-");
  assert.equal(tc.newNonce().length, 22);
  assert.match(tc.newNonce(), /^[A-Za-z0-9_-]{22}$/);
});

test("http_signatures: Content-Digest, Signature-Input and Signature byte for byte", async () => {
  assert.ok(shared.http_signatures.length >= 1);
  for (const v of shared.http_signatures) {
    const { privateKey, publicKey } = await keyPairFromSeed(v.seed);
    assert.equal(tc.toHex(publicKey), v.public_key);
    const url = new URL(v.url);
    const input = v.headers["Signature-Input"];
    const keyid = /keyid="([^"]*)"/.exec(input)[1];
    const nonce = /nonce="([^"]*)"/.exec(input)[1];
    const headers = await tc.signRequest({
      privateKey,
      keyid,
      method: v.method,
      target: url.pathname + url.search,
      body: new TextEncoder().encode(v.body),
      idempotencyKey: v.headers["Idempotency-Key"],
      created: v.created,
      nonce,
    });
    assert.equal(headers["Content-Digest"], v.headers["Content-Digest"]);
    assert.equal(headers["Idempotency-Key"], v.headers["Idempotency-Key"]);
    assert.equal(headers["Signature-Input"], v.headers["Signature-Input"]);
    assert.equal(headers["Signature"], v.headers["Signature"]);

    // And the signature verifies over the base as docs/protocol.md spells it.
    const base = [
      `"@method": POST`,
      `"@path": /v1/redemptions`,
      `"@query": ?`,
      `"content-digest": ${v.headers["Content-Digest"]}`,
      `"idempotency-key": ${v.headers["Idempotency-Key"]}`,
      `"@signature-params": ${input.slice("tc=".length)}`,
    ].join("\n");
    const pub = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    const sig = Buffer.from(v.headers.Signature.slice("tc=:".length, -1), "base64");
    assert.ok(await crypto.subtle.verify({ name: "Ed25519" }, pub, sig, new TextEncoder().encode(base)));
  }
});

test("a GET is signed over method, path and query only", async () => {
  const { privateKey, publicKey } = await keyPairFromSeed(shared.http_signatures[0].seed);
  const headers = await tc.signRequest({
    privateKey,
    keyid: "terminal:0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa",
    method: "GET",
    target: "/v1/terminal",
    created: 1795000000,
    nonce: "AAAAAAAAAAAAAAAAAAAAAA",
  });
  assert.deepEqual(Object.keys(headers).sort(), ["Signature", "Signature-Input"]);
  const params =
    '("@method" "@path" "@query");created=1795000000;' +
    'keyid="terminal:0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8faa";alg="ed25519";' +
    'nonce="AAAAAAAAAAAAAAAAAAAAAA";tag="tillcode/v1"';
  assert.equal(headers["Signature-Input"], `tc=${params}`);
  const base = `"@method": GET\n"@path": /v1/terminal\n"@query": ?\n"@signature-params": ${params}`;
  const pub = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  const sig = Buffer.from(headers.Signature.slice("tc=:".length, -1), "base64");
  assert.ok(await crypto.subtle.verify({ name: "Ed25519" }, pub, sig, new TextEncoder().encode(base)));

  const withQuery = await tc.signRequest({
    privateKey,
    keyid: "terminal:x",
    method: "get",
    target: "/v1/x?a=1&b=2",
    created: 1,
    nonce: "n",
  });
  assert.match(withQuery["Signature-Input"], /^tc=\("@method" "@path" "@query"\);created=1;/);
});

test("typed codes and problem slugs", () => {
  assert.equal(tc.parseNumericCode("1234 5678 9012 3456 78"), "123456789012345678");
  assert.equal(tc.parseNumericCode("1234\t5678 9012 3456 78"), null);
  assert.equal(tc.parseNumericCode("12345678901234567"), null);
  assert.equal(tc.cleanPayload("TC1KABC\r\n"), "TC1KABC");
  assert.equal(tc.cleanPayload(" TC1KABC"), " TC1KABC");
  assert.equal(tc.problemSlug("https://tillcode.dev/problems/code-replayed"), "code-replayed");
  assert.equal(tc.problemSlug(undefined), "");
});
