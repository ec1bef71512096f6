"""Writes additions-v1.json: vectors for what docs/protocol.md adds to the v1
draft (the device-session proof, the numeric replay key) and for key
fingerprints. `python3
gen_additions.py` (needs `cryptography`: OpenSSL's Ed25519, independent of the
Rust code under test)."""
import base64, hashlib, json, os, uuid
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

here = os.path.dirname(os.path.abspath(__file__))
H = lambda b: hashlib.sha256(b).digest()

def keypair(seed_hex):
    sk = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sk, pk

def fingerprint(pk):
    text = base64.b32encode(H(pk)[:16]).decode().rstrip('=')
    return '-'.join(text[i:i + 4] for i in range(0, len(text), 4))

seeds = ['000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
         '202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f']
sessions = []
for seed, device_id, challenge in [
    (seeds[0], '0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8fd0', bytes(range(0x40, 0x60))),
    (seeds[1], '0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8fd1', bytes(32)),
]:
    sk, pk = keypair(seed)
    message = b'tillcode/v1/device-session\0' + uuid.UUID(device_id).bytes + challenge
    sessions.append({
        'seed': seed, 'public_key': pk.hex(), 'device_id': device_id,
        'challenge': challenge.hex(), 'message': message.hex(),
        'signature': sk.sign(message).hex(),
    })

out = {
    'about': 'Vectors for additions to Tillcode protocol v1 (docs/protocol.md, "Changes '
             'from the v1 draft"). Hex byte strings; Ed25519 by OpenSSL.',
    'device_session': sessions,
    'numeric_fingerprints': [
        {'device_id': dev, 'step': step,
         'fingerprint': H(b'tillcode/v1/numeric\0' + uuid.UUID(dev).bytes + step.to_bytes(8, 'big')).hex()}
        for dev, step in [('0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8fd0', 59833333),
                          ('0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8fd0', 0)]
    ],
    'key_fingerprints': [{'public_key': keypair(s)[1].hex(), 'fingerprint': fingerprint(keypair(s)[1])}
                         for s in seeds],
}
with open(os.path.join(here, 'additions-v1.json'), 'w') as f:
    json.dump(out, f, indent=2)
    f.write('\n')
