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
        'terminal-not-active')),
    code_kind text CHECK (code_kind IN ('online', 'offline', 'numeric')),
    store_id uuid,
    terminal_id uuid,
    customer_id uuid,
    device_id uuid,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX fraud_events_by_time ON fraud_events (merchant_id, occurred_at DESC);
CREATE INDEX fraud_events_by_terminal ON fraud_events (merchant_id, terminal_id, occurred_at DESC)
    WHERE terminal_id IS NOT NULL;
