-- ops/ledger-shapes.sh: two ways to store a batch of redemptions, side by
-- side on the same Postgres. `six_rows` is what `ledger_post_batch` writes
-- today per redemption: the device's floor and the balance updated, a
-- transfer, two entries, the spent code and the idempotency key, with the
-- same keys, indexes and foreign keys. `one_row` writes the two updates and
-- one transfer that carries the code's fingerprint and the idempotency key
-- itself, each unique. Tables are pre-filled (200,000 transfers) so that
-- foreign-key checks and indexes work at a realistic size.
DROP TABLE IF EXISTS shape_entries, shape_codes, shape_keys, shape_transfers, shape_devices, shape_accounts CASCADE;
CREATE TABLE shape_accounts (
    merchant_id uuid NOT NULL, id bigint NOT NULL,
    balance bigint NOT NULL CHECK (balance >= 0), updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, id));
CREATE TABLE shape_devices (
    merchant_id uuid NOT NULL, id bigint NOT NULL,
    floor_ms bigint NOT NULL DEFAULT 0, status text NOT NULL DEFAULT 'active',
    PRIMARY KEY (merchant_id, id));
INSERT INTO shape_accounts SELECT '00000000-0000-0000-0000-000000000001', i, 1000000000
    FROM generate_series(1, :naccounts) i;
INSERT INTO shape_devices SELECT '00000000-0000-0000-0000-000000000001', i
    FROM generate_series(1, :naccounts) i;
CREATE TABLE shape_transfers (
    merchant_id uuid NOT NULL, id uuid NOT NULL, kind text NOT NULL, account_id bigint NOT NULL,
    balance_change bigint NOT NULL, balance_after bigint NOT NULL CHECK (balance_after >= 0),
    terminal_id uuid, code_kind text, created_at timestamptz NOT NULL DEFAULT now(),
    -- one_row only:
    code_fingerprint bytea, caller_id uuid, idempotency_key text, request_hash bytea,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, account_id) REFERENCES shape_accounts (merchant_id, id));
CREATE INDEX shape_transfers_by_account ON shape_transfers (merchant_id, account_id, created_at DESC);
CREATE TABLE shape_entries (
    merchant_id uuid NOT NULL, transfer_id uuid NOT NULL, book text NOT NULL, program_id uuid NOT NULL,
    account_id bigint, amount bigint NOT NULL,
    PRIMARY KEY (merchant_id, transfer_id, book),
    FOREIGN KEY (merchant_id, transfer_id) REFERENCES shape_transfers (merchant_id, id),
    FOREIGN KEY (merchant_id, account_id) REFERENCES shape_accounts (merchant_id, id));
CREATE TABLE shape_codes (
    merchant_id uuid NOT NULL, fingerprint bytea NOT NULL, kind text NOT NULL, device_id bigint NOT NULL,
    transfer_id uuid NOT NULL,
    PRIMARY KEY (merchant_id, fingerprint),
    FOREIGN KEY (merchant_id, transfer_id) REFERENCES shape_transfers (merchant_id, id),
    FOREIGN KEY (merchant_id, device_id) REFERENCES shape_devices (merchant_id, id));
CREATE TABLE shape_keys (
    merchant_id uuid NOT NULL, caller_id uuid NOT NULL, key text NOT NULL, request_hash bytea NOT NULL,
    transfer_id uuid NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, caller_id, key),
    FOREIGN KEY (merchant_id, transfer_id) REFERENCES shape_transfers (merchant_id, id));
CREATE UNIQUE INDEX shape_transfers_one_code ON shape_transfers (merchant_id, code_fingerprint)
    WHERE code_fingerprint IS NOT NULL;
CREATE UNIQUE INDEX shape_transfers_one_key ON shape_transfers (merchant_id, caller_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
INSERT INTO shape_transfers (merchant_id, id, kind, account_id, balance_change, balance_after)
    SELECT '00000000-0000-0000-0000-000000000001', gen_random_uuid(), 'accrue', i % :naccounts + 1, 1, 1
    FROM generate_series(1, 200000) i;
INSERT INTO shape_entries SELECT merchant_id, id, 'customer', '00000000-0000-0000-0000-000000000003', account_id, 1
    FROM shape_transfers;
INSERT INTO shape_codes SELECT merchant_id, sha256(id::text::bytea), 'offline', account_id, id FROM shape_transfers;
INSERT INTO shape_keys (merchant_id, caller_id, key, request_hash, transfer_id)
    SELECT merchant_id, '00000000-0000-0000-0000-000000000002', id::text, sha256(id::text::bytea), id
    FROM shape_transfers;
VACUUM ANALYZE;
