"""Writes invalid.json from shared-v1.json: `python3 gen_invalid.py` (needs the
`cryptography` package). Signatures come from OpenSSL, not from the Rust code
under test, and the curve arithmetic below is the textbook affine formulas."""
import base64, hashlib, json, os, uuid
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

here = os.path.dirname(os.path.abspath(__file__))
H = lambda b: hashlib.sha256(b).digest()
b32 = lambda b: base64.b32encode(b).decode().rstrip('=')
def b32d(s): return base64.b32decode(s + '=' * (-len(s) % 8))
p = 2**255 - 19
d = (-121665 * pow(121666, p - 2, p)) % p
L = 2**252 + 27742317777372353535851937790883648493
def raw_pub(sk):
    return sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
def sk_from_seed(seed): return Ed25519PrivateKey.from_private_bytes(seed)

shared = json.load(open(os.path.join(here, 'shared-v1.json')))
V = shared['offline'][0]
seed = bytes.fromhex(V['seed']); sk = sk_from_seed(seed); pk = raw_pub(sk)
merchant = uuid.UUID(V['merchant_id']).bytes
valid = V['payload']
body = b32d(valid[4:]); assert len(body) == 84
handle, issued, nonce, sig = body[:8], body[8:16], body[16:20], body[20:]

def off_msg(h, i, n, label=b'tillcode/v1/offline', m=merchant, sep=b'\0'):
    return label + sep + m + h + i + n
def tok(h=handle, i=issued, n=nonce, s=None, key=sk, **kw):
    if s is None: s = key.sign(off_msg(h, i, n, **kw))
    return 'TC1F' + b32(h + i + n + s)
assert tok() == valid

cases = []
def add(kind, name, verdict, **fields):
    c = {'kind': kind, 'name': name}; c.update(fields); c['verdict'] = verdict
    cases.append(c)

M = 'malformed-code'; BAD = 'bad-code-signature'
def pc(name, payload, verdict=M): add('payment_code', name, verdict, payload=payload)

# ---- payment codes: framing and base32 ----
pc('valid offline token', valid, 'valid')
on = shared['online'][0]['payload']
pc('valid online key', on, 'valid')
pc('offline body under kind K', 'TC1K' + valid[4:])
pc('online body under kind F', 'TC1F' + on[4:])
pc('lowercase kind letter', 'TC1f' + valid[4:])
pc('kind letter missing', 'TC1' + valid[4:])
pc('version 0', 'TC0F' + valid[4:])
pc('two-digit version', 'TC11F' + valid[4:])
pc('lowercase prefix', 'tc1F' + valid[4:])
pc('lowercase body', 'TC1F' + valid[4:].lower())
pc('one lowercase letter in the body', valid[:50] + valid[50].lower() + valid[51:])
for ch in '0189=-/+':
    pc(f"'{ch}' in the body (outside A-Z2-7)", valid[:60] + ch + valid[61:])
pc('online key with non-zero trailing bits', on[:-1] + '5')
pc('online key one character short', on[:-1])
pc('online key two characters short', on[:-2])
pc('offline token two characters short', valid[:-2])
pc('offline token eight characters short (a valid base32 length)', valid[:-8])
pc('offline token one character long', valid + 'A')
pc('offline token eight characters long (a valid base32 length)', valid + 'AAAAAAAA')
pc('offline token with a trailing newline (scanner Enter key)', valid + '\n')
pc('offline token with CR LF', valid + '\r\n')
pc('offline token with a leading space', ' ' + valid)
pc('offline token with a trailing space', valid + ' ')
pc('full-width prefix', '\uff34\uff23\uff11\uff26' + valid[4:])
pc('only the prefix', 'TC1F')
pc('only TC', 'TC')
pc('a link code', shared['link'][0]['payload'])
pc('a URL around the payload', 'https://tillcode.dev/p/' + valid)

# ---- payment codes: numeric ----
N = shared['numeric'][1]; code = N['code']
spaced = ' '.join([code[i:i+4] for i in range(0, 18, 4)])
pc('valid numeric code', code, 'valid')
pc('valid numeric code, shown with spaces', spaced, 'valid')
pc('valid numeric code, irregular spaces', '  ' + code[:3] + '   ' + code[3:] + ' ', 'valid')
pc('17 digits', code[:17])
pc('19 digits', code + '0')
def luhn(ds):
    s = 0
    for i, c in enumerate(reversed(ds)):
        x = int(c)
        if i % 2 == 0:
            x *= 2
            if x > 9: x -= 9
        s += x
    return str((10 - s % 10) % 10)
assert luhn(code[:17]) == code[17]
tr = code[:3] + code[4] + code[3] + code[5:]
assert code[3] != code[4] and luhn(tr[:17]) != tr[17]
pc('adjacent digits transposed (Luhn catches it)', tr)
z = '0' + code[1:17]; pc('handle starting with 0, correct check digit', z + luhn(z))
pc('tab between groups', spaced.replace(' ', '\t'))
pc('non-breaking space between groups', spaced.replace(' ', '\u00a0'))
pc('hyphens between groups', spaced.replace(' ', '-'))
pc('full-width digits', ''.join(chr(0xff10 + int(c)) for c in code))
pc('Arabic-Indic digits', ''.join(chr(0x0660 + int(c)) for c in code))
pc('only spaces', '     ')
pc('empty', '')

# ---- offline tokens: signature checks ----
def ot(name, payload, verdict=BAD, key=pk, merchant_id=V['merchant_id']):
    add('offline_token', name, verdict, payload=payload, public_key=key.hex(), merchant_id=merchant_id)
ot('valid token', valid, 'valid')
def flip(b, i, bit=0): b = bytearray(b); b[i] ^= 1 << bit; return bytes(b)
ot('bit flipped in the signature R', tok(s=flip(sig, 0)))
ot('bit flipped in the signature S', tok(s=flip(sig, 32)))
ot('bit flipped in the device handle', tok(h=flip(handle, 7), s=sig))
ot('bit flipped in the nonce', tok(n=flip(nonce, 0), s=sig))
ot('issued_at one millisecond later', tok(i=(int.from_bytes(issued, 'big') + 1).to_bytes(8, 'big'), s=sig))
S = int.from_bytes(sig[32:], 'little'); assert S < L
for k in (1, 2, 15):
    if S + k * L < 2**256:
        ot(f'non-canonical S (S + {k}L)', tok(s=sig[:32] + (S + k * L).to_bytes(32, 'little')))
ot('S = L (non-canonical zero)', tok(s=sig[:32] + L.to_bytes(32, 'little')))
ot('all-zero signature', tok(s=bytes(64)))
ot('R replaced by the identity point', tok(s=(1).to_bytes(32, 'little') + sig[32:]))
other = sk_from_seed(bytes(range(100, 132)))
ot('signed by another key', tok(key=other))
ot('signature of another token of the same device', tok(s=sk.sign(off_msg(handle, issued, flip(nonce, 3)))))
ot('signed under the register-device label', tok(label=b'tillcode/v1/register-device'))
ot('signed without the 0x00 after the label', tok(sep=b''))
ot('signed with issued_at little-endian', tok(s=sk.sign(off_msg(handle, issued[::-1], nonce))))
ot('signed with the merchant id as text', tok(m=V['merchant_id'].encode()))
ot('signed with the merchant UUID in Microsoft GUID byte order',
   tok(m=uuid.UUID(V['merchant_id']).bytes_le))
ot('verified with another merchant', valid, merchant_id='0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f01')
ot('verified with a non-canonical public key', valid, 'validation-failed',
   key=bytes.fromhex('f0' + 'ff' * 30 + '7f'))
# A = R = identity, S = 0 satisfies [S]B = R + [k]A for every message.
identity = (1).to_bytes(32, 'little')
add('offline_token_raw_key', 'forgery under the identity key (R = identity, S = 0), key not screened', BAD,
    payload=tok(s=identity + bytes(32)), public_key=identity.hex(), merchant_id=V['merchant_id'])
ot('the same forgery when the key is screened', tok(s=identity + bytes(32)), 'weak-key', key=identity)

# ---- public keys ----
def sqrt_ratio(u, v):
    x2 = u * pow(v, p - 2, p) % p
    x = pow(x2, (p + 3) // 8, p)
    if x * x % p != x2:
        x = x * pow(2, (p - 1) // 4, p) % p
    return x if x * x % p == x2 else None
def decode_pt(b):
    y = int.from_bytes(b, 'little') & (2**255 - 1); sign = b[31] >> 7
    y %= p
    x = sqrt_ratio((y * y - 1) % p, (d * y * y + 1) % p)
    if x is None: return None
    if x & 1 != sign: x = (-x) % p
    return (x, y)
def encode_pt(P):
    x, y = P; return (y | ((x & 1) << 255)).to_bytes(32, 'little')
def add_pt(P, Q):
    (x1, y1), (x2, y2) = P, Q; t = d * x1 * x2 * y1 * y2 % p
    return ((x1 * y2 + y1 * x2) * pow(1 + t, p - 2, p) % p, (y1 * y2 + x1 * x2) * pow(1 - t, p - 2, p) % p)
T8 = decode_pt(bytes.fromhex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'))
mixed = encode_pt(add_pt(decode_pt(pk), T8))

def key(name, hexkey, verdict): add('public_key', name, verdict, public_key=hexkey)
key('valid key', pk.hex(), 'valid')
for name, h in [
    ('identity (order 1)', '01' + '00' * 31),
    ('order 2 (y = -1)', 'ec' + 'ff' * 30 + '7f'),
    ('order 4 (y = 0)', '00' * 32),
    ('order 4 (y = 0, other x)', '00' * 31 + '80'),
    ('order 8', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'),
    ('order 8, other x', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa'),
    ('order 8, y negated', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'),
    ('order 8, y negated, other x', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85'),
    ('y = 3: large order but not in the prime-order subgroup', '03' + '00' * 31),
    ('valid key plus a point of order 8 (mixed order)', mixed.hex()),
]:
    key(name, h, 'weak-key')
for name, h in [
    ('identity with the sign bit set (x = -0)', '01' + '00' * 30 + '80'),
    ('identity encoded as y = p + 1', 'ee' + 'ff' * 30 + '7f'),
    ('order 2 with the sign bit set (x = -0)', 'ec' + 'ff' * 31),
    ('y = p + 3 (non-canonical encoding of a large-order point)', 'f0' + 'ff' * 30 + '7f'),
    ('y = 2 (not on the curve)', '02' + '00' * 31),
    ('31 bytes', pk[:31].hex()),
    ('33 bytes', (pk + b'\0').hex()),
    ('empty', ''),
]:
    key(name, h, 'validation-failed')

# ---- numeric codes: TOTP ----
sec = N['secret']; t = N['unix_s']
def nc(name, code_, unix_s, verdict, secret=sec):
    add('numeric_code', name, verdict, code=code_, secret=secret, unix_s=unix_s)
nc('valid at its own time', code, t, 'valid')
nc('valid one step later', code, t + 30, 'valid')
nc('valid one step earlier', code, t - 30, 'valid')
nc('two steps later', code, t + 60, BAD)
nc('two steps earlier', code, t - 60, BAD)
nc('another device secret', code, t, BAD, secret='00' * 32)
wrong = code[:9] + '%08d' % ((int(code[9:17]) + 1) % 10**8)
nc('TOTP off by one with a recomputed check digit', wrong + luhn(wrong), t, BAD)
nc('Luhn typo', shared['numeric'][4]['code'], t, M)

# ---- link codes ----
lk = shared['link'][0]['payload']
def lc(name, payload, verdict=M): add('link_code', name, verdict, payload=payload)
lc('valid link code', lk, 'valid')
lc('an online key', on)
lc('lowercase', lk.lower())
lc('non-zero trailing bits', lk[:-1] + 'B')
lc('one character short', lk[:-1])
lc('one character long', lk + 'A')

# ---- enrollment codes ----
def ec(inp, verdict): add('enrollment_code', repr(inp), verdict, input=inp)
for inp in ['BCDF-GHJK', 'bcdf-ghjk', ' BCDF GHJK ', 'B-C-D-F-G-H-J-K', 'BCDFGHJK-']:
    ec(inp, 'valid')
for inp in ['BCDF-GHJY', 'BCDE-GHJK', 'BCDF-GHJI', 'BCDF-GHJO', 'BCDF-GHJU', 'BCDF-GHJ', 'BCDF-GHJKL',
            'BCDF_GHJK', 'BCDF\u2013GHJK', 'BCDF\tGHJK', 'BCDF-GHJ1', '\u017fCDF-GHJK', '\uff22CDF-GHJK', '', '--------']:
    ec(inp, M)

out = {
    'about': 'Invalid (and a few valid control) cases for Tillcode protocol v1, derived from '
             'shared-v1.json. Keys are hex; signatures made with OpenSSL through Python '
             '"cryptography", independently of the Rust code. verdict is "valid" or a problem '
             'slug. kinds: payment_code (PaymentCode::parse), offline_token (parse, '
             'parse_public_key, verify), offline_token_raw_key (as offline_token but the key '
             'bypasses parse_public_key), public_key (parse_public_key), numeric_code (parse, '
             'verify at unix_s), link_code (LinkCode::parse), enrollment_code '
             '(EnrollmentCode::parse).',
    'cases': cases,
}
with open(os.path.join(here, 'invalid.json'), 'w') as f:
    json.dump(out, f, indent=2, ensure_ascii=False)
    f.write('\n')
print(len(cases))
