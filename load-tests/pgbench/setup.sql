-- Baseline for ops/bench.sh: the smallest schema that does what a Tillcode
-- redemption must do in Postgres (a conditional debit plus an appended row),
-- so pgbench's tps is the ceiling the ledger can be compared against.
-- Run in a scratch database: it drops and recreates its tables.
-- psql variable naccounts: how many accounts (default 10000); pass the same
-- value to pgbench with -D naccounts=N.
\if :{?naccounts}
\else
\set naccounts 10000
\endif

SET client_min_messages = warning; -- quiet "does not exist, skipping"
DROP TABLE IF EXISTS bench_history;
DROP TABLE IF EXISTS bench_accounts;

CREATE TABLE bench_accounts (
    id      int PRIMARY KEY,
    -- Same guard as the ledger: a debit can never take a balance below zero.
    balance bigint NOT NULL CHECK (balance >= 0)
);

CREATE TABLE bench_history (
    id         bigserial PRIMARY KEY,
    account_id int,
    amount     bigint,
    created_at timestamptz
);

-- 1e12 each: no run is long enough to exhaust an account, so every debit
-- succeeds and the number measured is the write path, not the error path.
INSERT INTO bench_accounts (id, balance)
SELECT g, 1000000000000 FROM generate_series(1, :naccounts) AS g;

VACUUM ANALYZE bench_accounts;
