#!/usr/bin/env python3
"""Writes the seed corpus (fuzz/corpus/<target>/) from the protocol's test
vectors (protocol/tests/vectors/) and a few hand-written examples.

Run it after the vectors change and commit what it writes; ops/fuzz.sh only
reads these seeds (libFuzzer's new finds go to a scratch corpus under the
fuzz build's target dir).
"""

import hashlib
import json
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VECTORS = ROOT.parent / "protocol" / "tests" / "vectors"
CORPUS = ROOT / "corpus"


def load(name):
    return json.loads((VECTORS / name).read_text())


shared = load("shared-v1.json")
invalid = load("invalid.json")["cases"]
seeds = {}


def seed(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "empty"
    # Same name twice (different vectors): keep both, told apart by content.
    digest = hashlib.sha256(data).hexdigest()[:8]
    seeds.setdefault(target, {})[f"{slug}-{digest}"] = data


for case in shared["offline"]:
    if "payload" in case:
        seed("offline_token", case["name"], case["payload"])
        seed("payment_code", case["name"], case["payload"])
    if "public_key" in case:
        seed("public_key", case["name"], bytes.fromhex(case["public_key"]))
for case in shared["online"]:
    seed("online_key", case["name"], case["payload"])
    seed("payment_code", case["name"], case["payload"])
for case in shared["link"]:
    seed("link_code", case["name"], case["payload"])
    seed("payment_code", "link code is not a payment code", case["payload"])
for case in shared["numeric"]:
    name = case.get("name", f"numeric code at {case.get('unix_s')}")
    code = case["code"]
    spaced = " ".join(code[i : i + 4] for i in range(0, len(code), 4))
    seed("numeric_code", name, code)
    seed("numeric_code", name + " as displayed", spaced)
    seed("payment_code", name + " as displayed", spaced)
for case in shared["enrollment_codes"]:
    seed("enrollment_code", case["input"], case["input"])

for case in invalid:
    kind, name = case["kind"], case["name"]
    if kind in ("payment_code", "offline_token", "offline_token_raw_key", "link_code"):
        target = {"offline_token_raw_key": "offline_token"}.get(kind, kind)
        seed(target, name, case["payload"])
        seed("payment_code", name, case["payload"])
    elif kind == "numeric_code":
        seed("numeric_code", name, case["code"])
    elif kind == "enrollment_code":
        seed("enrollment_code", name, case["input"])
    elif kind == "public_key":
        seed("public_key", name, bytes.fromhex(case["public_key"]))

# The base32 form SDKs send, and raw keys of the vectors.
seed("public_key", "vector key base32", "AOQQPP7TZYIL4HLQ3UMOOS6ATFT6JVRQTOSQ2XY53SDGIESVGG4A")
for case in shared["http_signatures"]:
    h = case["headers"]
    path_and_query = case["url"].split("://", 1)[1].split("/", 1)[1]
    path, _, query = ("/" + path_and_query).partition("?")
    lines = [
        case["method"],
        path,
        ("?" + query) if query else "",
        h.get("Content-Digest", ""),
        h.get("Idempotency-Key", ""),
        h["Signature-Input"],
        h["Signature"],
    ]
    seed("http_signature", case["name"], "\n".join(lines))
    # Parameters in another order, and a second signature under another label.
    reordered = re.sub(r';created=(\d+)(;keyid="[^"]*")', r'\2;created=\1', lines[5])
    seed("http_signature", "params reordered", "\n".join(lines[:5] + [reordered, lines[6]]))
    # Components in another order (content-digest last), as other RFC 9421
    # libraries send them: accepted, over a base in that order.
    components = lines[5].replace('"content-digest" "idempotency-key"', '"idempotency-key" "content-digest"')
    seed("http_signature", "components reordered", "\n".join(lines[:5] + [components, lines[6]]))
    two = lines[5] + ', other=("@method");created=1', lines[6] + ", other=:AAAA:"
    seed("http_signature", "two labels", "\n".join(lines[:5] + list(two)))
    seed("public_key", case["name"] + " key", bytes.fromhex(case["public_key"]))
    seed("content_digest", case["name"], h["Content-Digest"] + "\n" + case["body"])
    seed("till_requests", case["name"], case["body"])
# A request without a body: no digest, no idempotency key, no signature.
seed(
    "http_signature",
    "unsigned get",
    "\n".join(["GET", "/v1/terminal/transactions", "?limit=20", "", "", "", ""]),
)

# RFC 9530's example, with both algorithms and an unknown one.
rfc_body = '{"hello": "world"}'
sha256 = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
sha512 = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
seed("content_digest", "rfc 9530 sha-256", sha256 + "\n" + rfc_body)
seed("content_digest", "rfc 9530 both", f"{sha512}, {sha256}\n" + rfc_body)
seed("content_digest", "md5 and sha-256", f"md5=:Sd/dVLAcvNLSq16eXua5uQ==:, {sha256}\n" + rfc_body)
seed("content_digest", "empty body", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:\n")

# Bodies of every redemption endpoint, valid and not.
online = shared["online"][0]["payload"]
for name, body in {
    "redeem full": {"code": online, "amount": 30, "earn": 5, "reference": "order-1042"},
    "redeem numeric": {"code": "1234 5678 9938 0220 08", "amount": 1},
    "accrue by customer": {"customer_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f00", "amount": 100},
    "accrue by code": {"code": online, "amount": 100, "reference": "r"},
    "refund": {"amount": 10},
    "void": {},
    "unknown field": {"amount": 10, "extra": True},
    "amount beyond i64": {"amount": 10**30},
    "negative amount": {"amount": -1},
    "float amount": {"amount": 1.5},
}.items():
    seed("till_requests", name, json.dumps(body))
seed("till_requests", "deep nesting", "[" * 200 + "]" * 200)
seed("till_requests", "escapes", '{"code":"\\ud83d\\ude00\\u0000","amount":1}')

shutil.rmtree(CORPUS, ignore_errors=True)
for target, files in sorted(seeds.items()):
    (CORPUS / target).mkdir(parents=True)
    for name, data in files.items():
        (CORPUS / target / name).write_bytes(data)
    print(f"{target}: {len(files)} seeds")
