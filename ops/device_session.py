#!/usr/bin/env python3
"""Prints a device session token for a customer, as a phone gets one: signs
in with the password, registers a fresh Ed25519 key with its proof of
possession (docs/protocol.md, register-device), then opens a session by
signing a challenge (device-session).

Usage: device_session.py API_URL MERCHANT_ID EMAIL PASSWORD
Needs the `cryptography` package; ops/schemathesis.sh runs it in its venv.
"""

import hashlib
import json
import sys
import urllib.request
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def post(url, body, token=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def main(api, merchant, email, password):
    merchant_id = uuid.UUID(merchant)
    signed_in = post(
        f"{api}/v1/customers/sign-in",
        {"merchant_id": merchant, "email": email, "password": password},
    )
    key = Ed25519PrivateKey.generate()
    public_key = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    name = "schemathesis"

    challenge = bytes.fromhex(post(f"{api}/v1/challenges", {})["challenge"])
    message = (
        b"tillcode/v1/register-device\x00"
        + merchant_id.bytes
        + challenge
        + public_key
        + hashlib.sha256(name.encode()).digest()
    )
    device = post(
        f"{api}/v1/devices",
        {
            "name": name,
            "public_key": public_key.hex(),
            "challenge": challenge.hex(),
            "signature": key.sign(message).hex(),
        },
        token=signed_in["sign_in_token"],
    )

    device_id = uuid.UUID(device["device_id"])
    challenge = bytes.fromhex(post(f"{api}/v1/challenges", {})["challenge"])
    message = b"tillcode/v1/device-session\x00" + device_id.bytes + challenge
    session = post(
        f"{api}/v1/devices/{device_id}/sessions",
        {
            "merchant_id": merchant,
            "challenge": challenge.hex(),
            "signature": key.sign(message).hex(),
        },
    )
    print(session["access_token"])


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
