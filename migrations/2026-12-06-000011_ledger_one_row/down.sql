-- Back to six rows per redemption: the entries, spent codes and idempotency
-- keys as tables of their own again, filled from the transfers. (The
-- posting functions are not migrations' business: ledger/sql/.)
DROP VIEW ledger_entries;
DROP VIEW idempotency_keys;
DROP VIEW redeemed_codes;

CREATE TABLE ledger_entries (
    merchant_id uuid NOT NULL,
    transfer_id uuid NOT NULL,
    book text NOT NULL CHECK (book IN ('customer', 'issuance')),
    program_id uuid NOT NULL,
    account_id uuid,
    amount bigint NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (merchant_id, transfer_id, book),
    FOREIGN KEY (merchant_id, transfer_id) REFERENCES ledger_transfers (merchant_id, id),
    FOREIGN KEY (merchant_id, account_id) REFERENCES accounts (merchant_id, id),
    CHECK ((book = 'customer') = (account_id IS NOT NULL))
);
INSERT INTO ledger_entries (merchant_id, transfer_id, book, program_id, account_id, amount)
SELECT t.merchant_id, t.id, b.book, a.program_id,
       CASE WHEN b.book = 'customer' THEN t.account_id END,
       CASE WHEN b.book = 'customer' THEN t.balance_change ELSE -t.balance_change END
FROM ledger_transfers t
JOIN accounts a ON a.merchant_id = t.merchant_id AND a.id = t.account_id
CROSS JOIN (VALUES ('customer'), ('issuance')) AS b (book);

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
INSERT INTO redeemed_codes (merchant_id, fingerprint, kind, device_id, transfer_id, created_at)
SELECT merchant_id, code_fingerprint, code_kind, code_device_id, id, created_at
FROM ledger_transfers WHERE code_fingerprint IS NOT NULL;

CREATE TABLE idempotency_keys (
    merchant_id uuid NOT NULL,
    caller_id uuid NOT NULL,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
    transfer_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, caller_id, key),
    FOREIGN KEY (merchant_id, transfer_id) REFERENCES ledger_transfers (merchant_id, id)
);
INSERT INTO idempotency_keys (merchant_id, caller_id, key, request_hash, transfer_id, created_at)
SELECT merchant_id, caller_id, idempotency_key, request_hash, id, created_at
FROM ledger_transfers WHERE caller_id IS NOT NULL;

ALTER TABLE ledger_transfers
    DROP COLUMN caller_id,
    DROP COLUMN idempotency_key,
    DROP COLUMN request_hash,
    DROP COLUMN code_fingerprint,
    DROP COLUMN code_device_id;
