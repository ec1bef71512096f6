-- Customers sign in with email + password; each of their phones is a device
-- with its own Ed25519 key (generated on the phone), its own offline-token
-- handle, numeric-code handle and TOTP secret.

-- argon2id PHC string; NULL for a customer who has no sign-in (created by staff).
ALTER TABLE customers ADD COLUMN password_hash text CHECK (password_hash LIKE '$argon2id$%');
ALTER TABLE customers ADD COLUMN password_changed_at timestamptz;

CREATE TABLE devices (
    merchant_id uuid NOT NULL,
    id uuid NOT NULL,
    customer_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    public_key bytea NOT NULL CHECK (length(public_key) = 32),
    -- 8 random bytes naming the device in offline tokens.
    device_handle bytea NOT NULL CHECK (length(device_handle) = 8),
    -- 9 digits naming the device in numeric codes.
    numeric_handle integer NOT NULL CHECK (numeric_handle BETWEEN 100000000 AND 999999999),
    -- RFC 6238 secret for numeric codes. Needed in clear to compute codes;
    -- wiped (NULL) when the device is revoked.
    totp_secret bytea CHECK (length(totp_secret) = 32),
    -- pending: joined through a link, waiting for the first device's approval.
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('pending', 'active', 'revoked')),
    -- Replay floor: only an offline token newer than the last accepted one,
    -- and only a numeric time step after the last accepted one, can be used.
    last_offline_issued_at_ms bigint NOT NULL DEFAULT 0,
    last_numeric_step bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, device_handle),
    UNIQUE (merchant_id, numeric_handle),
    UNIQUE (merchant_id, public_key),
    FOREIGN KEY (merchant_id, customer_id) REFERENCES customers (merchant_id, id),
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL)),
    CHECK (status <> 'revoked' OR totp_secret IS NULL)
);
CREATE INDEX devices_by_customer ON devices (merchant_id, customer_id);

-- The Postgres half of replay protection: every payment code that paid is
-- remembered by its fingerprint, inserted by the statement that debits, so
-- a code can never pay twice even if Redis forgets it.
CREATE TABLE redeemed_codes (
    merchant_id uuid NOT NULL,
    fingerprint bytea NOT NULL CHECK (length(fingerprint) = 32),
    kind text NOT NULL CHECK (kind IN ('online', 'offline', 'numeric')),
    device_id uuid NOT NULL,
    transfer_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, fingerprint),
    FOREIGN KEY (merchant_id, device_id) REFERENCES devices (merchant_id, id),
    FOREIGN KEY (merchant_id, transfer_id) REFERENCES ledger_transfers (merchant_id, id)
);
