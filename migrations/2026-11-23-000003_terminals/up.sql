-- Staff who run a merchant, the cashier terminals they enroll, and what the
-- ledger records about the sale each transfer belongs to.

CREATE TABLE staff (
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    id uuid NOT NULL,
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email = lower(email)),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    role text NOT NULL CHECK (role IN ('owner', 'manager', 'viewer')),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, email)
);

-- A one-time code a manager gives a new terminal. Only the code's SHA-256
-- is kept; it dies after 10 minutes, after one use, or after 5 wrong codes
-- tried at its store.
CREATE TABLE terminal_enrollments (
    merchant_id uuid NOT NULL,
    id uuid NOT NULL,
    store_id uuid NOT NULL,
    code_hash bytea NOT NULL CHECK (length(code_hash) = 32),
    created_by text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
    expires_at timestamptz NOT NULL,
    failed_attempts smallint NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    used_at timestamptz,
    terminal_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, store_id) REFERENCES stores (merchant_id, id),
    CHECK ((used_at IS NULL) = (terminal_id IS NULL))
);
CREATE INDEX terminal_enrollments_live ON terminal_enrollments (merchant_id, store_id)
    WHERE used_at IS NULL;

CREATE TABLE terminals (
    merchant_id uuid NOT NULL,
    id uuid NOT NULL,
    store_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    public_key bytea NOT NULL CHECK (length(public_key) = 32),
    -- pending until a manager approves it; suspended can be resumed, revoked cannot.
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'suspended', 'revoked')),
    approved_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, store_id) REFERENCES stores (merchant_id, id)
);
-- Signed requests name a terminal by id alone (keyid "terminal:<uuid>").
CREATE UNIQUE INDEX terminals_by_id ON terminals (id);
CREATE UNIQUE INDEX terminals_by_public_key ON terminals (public_key);

-- Where and how a transfer happened, for the dashboard and for disputes.
ALTER TABLE ledger_transfers
    ADD COLUMN store_id uuid,
    ADD COLUMN terminal_id uuid,
    ADD COLUMN code_kind text CHECK (code_kind IN ('online', 'offline', 'numeric')),
    ADD COLUMN reference text CHECK (length(reference) BETWEEN 1 AND 64),
    -- An accrual earned in the same sale as a redemption names it.
    ADD COLUMN sale_id uuid;
CREATE INDEX ledger_transfers_by_terminal ON ledger_transfers (merchant_id, terminal_id, id DESC)
    WHERE terminal_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_transfers_one_earning_per_sale ON ledger_transfers (merchant_id, sale_id)
    WHERE sale_id IS NOT NULL;
