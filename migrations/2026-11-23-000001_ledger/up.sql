-- The ledger: merchants, their program, stores, customers, accounts, and the
-- double-entry record of every balance change.
--
-- Every merchant-owned table carries merchant_id as the first column of its
-- primary key, so the schema can later be distributed by merchant (Citus)
-- and no query can reach across merchants by accident.

CREATE TABLE merchants (
    id uuid PRIMARY KEY,
    -- Stable handle for operators and idempotent seeding.
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE programs (
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- 'points', or an ISO 4217 code whose amounts are in minor units (cents).
    unit text NOT NULL CHECK (unit = 'points' OR unit ~ '^[A-Z]{3}$'),
    minor_units smallint NOT NULL CHECK (minor_units BETWEEN 0 AND 4),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, id),
    CHECK (unit <> 'points' OR minor_units = 0)
);
-- One rewards program per merchant.
CREATE UNIQUE INDEX programs_one_per_merchant ON programs (merchant_id);

CREATE TABLE stores (
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    id uuid NOT NULL,
    code text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, code)
);

CREATE TABLE customers (
    merchant_id uuid NOT NULL REFERENCES merchants (id),
    id uuid NOT NULL,
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email = lower(email)),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, email)
);

-- A customer's balance in the merchant's program. `balance` is a projection
-- of the customer's ledger entries, updated in the same statement that
-- records them; the CHECK makes a negative balance impossible even for a
-- buggy caller.
CREATE TABLE accounts (
    merchant_id uuid NOT NULL,
    id uuid NOT NULL,
    program_id uuid NOT NULL,
    customer_id uuid NOT NULL,
    balance bigint NOT NULL DEFAULT 0
        CONSTRAINT accounts_balance_range CHECK (balance BETWEEN 0 AND 1000000000000000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, program_id, customer_id),
    FOREIGN KEY (merchant_id, program_id) REFERENCES programs (merchant_id, id),
    FOREIGN KEY (merchant_id, customer_id) REFERENCES customers (merchant_id, id)
);

-- One balance change. `balance_change` is signed from the customer's side
-- (+ credit, - debit); its two entries carry it and its opposite.
CREATE TABLE ledger_transfers (
    merchant_id uuid NOT NULL,
    id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('accrue', 'redeem', 'void', 'refund', 'adjust', 'expire')),
    account_id uuid NOT NULL,
    balance_change bigint NOT NULL CHECK (balance_change <> 0),
    balance_after bigint NOT NULL CHECK (balance_after >= 0),
    -- VOID and REFUND point at the redemption they reverse.
    reverses_id uuid,
    -- On a redemption: how much VOID and REFUNDs have given back so far.
    reversed_amount bigint NOT NULL DEFAULT 0,
    voided boolean NOT NULL DEFAULT false,
    -- ADJUST: why and who (a staff id or operator name); never a secret.
    reason text CHECK (length(reason) BETWEEN 1 AND 500),
    actor text CHECK (length(actor) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, account_id) REFERENCES accounts (merchant_id, id),
    FOREIGN KEY (merchant_id, reverses_id) REFERENCES ledger_transfers (merchant_id, id),
    CONSTRAINT ledger_transfers_direction CHECK (CASE kind
        WHEN 'accrue' THEN balance_change > 0
        WHEN 'void' THEN balance_change > 0
        WHEN 'refund' THEN balance_change > 0
        WHEN 'redeem' THEN balance_change < 0
        WHEN 'expire' THEN balance_change < 0
        ELSE true END),
    CONSTRAINT ledger_transfers_reversal_link CHECK ((kind IN ('void', 'refund')) = (reverses_id IS NOT NULL)),
    -- Reversals never give back more than the redemption took, and a void gives back all of it.
    CONSTRAINT ledger_transfers_reversal_bounds CHECK (CASE
        WHEN kind = 'redeem' THEN reversed_amount BETWEEN 0 AND -balance_change
            AND (NOT voided OR reversed_amount = -balance_change)
        ELSE reversed_amount = 0 AND NOT voided END),
    CONSTRAINT ledger_transfers_adjust_reason CHECK ((kind = 'adjust') = (reason IS NOT NULL AND actor IS NOT NULL))
);
-- A redemption is voided at most once, whatever the application does.
CREATE UNIQUE INDEX ledger_transfers_one_void ON ledger_transfers (merchant_id, reverses_id) WHERE kind = 'void';
-- Customer history, newest first.
CREATE INDEX ledger_transfers_by_account ON ledger_transfers (merchant_id, account_id, created_at DESC);

-- The two sides of every transfer: the customer's account, and the program's
-- issuance account (the merchant's liability), which is never stored as a
-- balance row: updating one row per transfer would make every redemption of
-- a merchant wait on the same lock. The liability is the sum of balances.
CREATE TABLE ledger_entries (
    merchant_id uuid NOT NULL,
    transfer_id uuid NOT NULL,
    book text NOT NULL CHECK (book IN ('customer', 'issuance')),
    program_id uuid NOT NULL,
    account_id uuid,
    amount bigint NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (merchant_id, transfer_id, book),
    FOREIGN KEY (merchant_id, transfer_id) REFERENCES ledger_transfers (merchant_id, id),
    FOREIGN KEY (merchant_id, program_id) REFERENCES programs (merchant_id, id),
    -- MATCH SIMPLE: checked for customer entries, skipped for issuance (NULL).
    FOREIGN KEY (merchant_id, account_id) REFERENCES accounts (merchant_id, id),
    CHECK ((book = 'customer') = (account_id IS NOT NULL))
);

-- One row per (caller, key) that had an effect; written in the same
-- statement as the transfer it names, so a key can never name a transfer
-- that did not commit, nor be spent twice.
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
