-- pgbench script for ops/bench.sh: one redemption-shaped transaction, a
-- conditional debit (zero rows updated = insufficient funds, never a negative
-- balance) plus a history row. Needs -D naccounts=N matching setup.sql.
\set aid random(1, :naccounts)
BEGIN;
UPDATE bench_accounts SET balance = balance - 1 WHERE id = :aid AND balance >= 1;
INSERT INTO bench_history (account_id, amount, created_at) VALUES (:aid, 1, now());
END;
