-- Every refused payment code and every refused terminal request of a known
-- merchant: when, where, who if known, and why from a closed set. Never a
-- secret or a full code.
CREATE TABLE fraud_events (
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    id uuid NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    reason text NOT NULL CHECK (reason IN (
        'malformed-code', 'unknown-device', 'device-revoked', 'bad-code-signature',
        'code-expired', 'code-not-yet-valid', 'code-replayed', 'code-superseded',
        'wrong-merchant', 'locked', 'insufficient-balance',
        'signature-invalid', 'signature-expired', 'signature-replayed', 'digest-mismatch',
        'terminal-not-active', 'velocity-limit', 'terminal-auto-suspended')),
    code_kind text CHECK (code_kind IN ('online', 'offline', 'numeric')),
    store_id uuid,
    terminal_id uuid,
    customer_id uuid,
    device_id uuid,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX fraud_events_by_time ON fraud_events (merchant_id, occurred_at DESC);
-- Per-merchant limits; a merchant without a row gets the defaults below.
CREATE TABLE merchant_settings (
    merchant_id uuid PRIMARY KEY REFERENCES merchants (id),
    -- Velocity: redemptions per customer, per device and per terminal in a
    -- sliding window (count and total amount).
    velocity_window_s integer NOT NULL DEFAULT 3600 CHECK (velocity_window_s BETWEEN 1 AND 86400),
    customer_max_count integer NOT NULL DEFAULT 20 CHECK (customer_max_count > 0),
    customer_max_amount bigint NOT NULL DEFAULT 1000000 CHECK (customer_max_amount > 0),
    device_max_count integer NOT NULL DEFAULT 20 CHECK (device_max_count > 0),
    terminal_max_count integer NOT NULL DEFAULT 600 CHECK (terminal_max_count > 0),
    -- A terminal that submits this many refused codes in the window is
    -- suspended automatically (a manager can resume it).
    terminal_bad_codes_max integer NOT NULL DEFAULT 30 CHECK (terminal_bad_codes_max > 0),
    terminal_bad_codes_window_s integer NOT NULL DEFAULT 600 CHECK (terminal_bad_codes_window_s BETWEEN 1 AND 86400),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX fraud_events_by_terminal ON fraud_events (merchant_id, terminal_id, occurred_at DESC)
    WHERE terminal_id IS NOT NULL;
