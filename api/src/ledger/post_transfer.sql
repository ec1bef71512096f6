-- The body of the statement that records one ledger transfer. It follows a
-- `WITH params AS (SELECT $1 AS merchant_id, ...)` CTE that post.rs writes
-- with one bind per parameter (so the statement can be prepared once per
-- connection and reused).
--
-- One statement is one implicit transaction and one round trip. Either every
-- part below happens or none does:
--   code_floor a payment code raises its device's replay floor; a code at or
--              below it (used, or older than one used) changes nothing
--   reversal   VOID/REFUND claim their share of the redemption they reverse;
--              the row lock this takes serialises reversals of one redemption
--   moved      the conditional balance change: never below zero, and a credit
--              past the largest balance trips accounts_balance_range
--   transfer   the transfer header, with the balance after it
--   earned     for a redemption that also earns: the accrual of the same sale
--   entries    two entries per transfer, which sum to zero
--   spent      the code's fingerprint, unique per merchant: a code pays once
--   remembered the idempotency key, naming the transfer
-- A repeated idempotency key fails the last insert with a unique violation
-- (after waiting for a concurrent first attempt to commit), which rolls back
-- the whole statement: a duplicate never has an effect. No row back means no
-- effect; post.rs then asks `diagnose` why.
, code_floor AS (
    UPDATE devices d
    SET last_offline_issued_at_ms = COALESCE(p.code_issued_at, d.last_offline_issued_at_ms),
        last_numeric_step = COALESCE(p.code_step, d.last_numeric_step)
    FROM params p
    WHERE p.code_device IS NOT NULL
      AND d.merchant_id = p.merchant_id AND d.id = p.code_device AND d.status = 'active'
      AND (p.code_issued_at IS NULL OR d.last_offline_issued_at_ms < p.code_issued_at)
      AND (p.code_step IS NULL OR d.last_numeric_step < p.code_step)
    RETURNING d.id
), reversal AS (
    UPDATE ledger_transfers r
    SET reversed_amount = r.reversed_amount
            + CASE WHEN p.kind = 'void' THEN -r.balance_change ELSE p.change END,
        voided = (p.kind = 'void')
    FROM params p
    WHERE p.kind IN ('void', 'refund')
      AND r.merchant_id = p.merchant_id AND r.id = p.reverses_id
      AND r.kind = 'redeem' AND NOT r.voided
      AND CASE WHEN p.kind = 'void' THEN r.reversed_amount = 0
               ELSE r.reversed_amount + p.change <= -r.balance_change END
    RETURNING r.account_id,
        CASE WHEN p.kind = 'void' THEN -r.balance_change ELSE p.change END AS change
), plan AS (
    -- At most one row: the account and signed change to apply.
    SELECT account_id, change FROM params
    WHERE kind NOT IN ('void', 'refund')
      AND (code_device IS NULL OR EXISTS (SELECT 1 FROM code_floor))
    UNION ALL
    SELECT account_id, change FROM reversal
), moved AS (
    -- plan enters as scalar subqueries (InitPlans, computed once) rather
    -- than a join: when this UPDATE waits for a concurrent one on the same
    -- account and rechecks the row (EvalPlanQual), Postgres must not re-run
    -- the data-modifying `reversal` ("ModifyTable should not be called
    -- during EvalPlanQual"). An earning is added after the check: it cannot
    -- pay for the redemption it comes with.
    UPDATE accounts a
    SET balance = a.balance + (SELECT change FROM plan) + COALESCE((SELECT earn FROM params), 0),
        updated_at = now()
    WHERE a.merchant_id = (SELECT merchant_id FROM params)
      AND a.id = (SELECT account_id FROM plan)
      AND a.balance + (SELECT change FROM plan) >= 0
    RETURNING a.merchant_id, a.id, a.program_id, (SELECT change FROM plan) AS change,
        a.balance - COALESCE((SELECT earn FROM params), 0) AS balance, a.balance AS final_balance
), transfer AS (
    INSERT INTO ledger_transfers
        (merchant_id, id, kind, account_id, balance_change, balance_after, reverses_id, reason, actor,
         store_id, terminal_id, code_kind, reference)
    SELECT m.merchant_id, p.transfer_id, p.kind, m.id, m.change, m.balance, p.reverses_id, p.reason, p.actor,
         p.store_id, p.terminal_id, p.code_kind, p.reference
    FROM moved m, params p
    RETURNING id, kind, account_id, balance_change, balance_after, reverses_id, created_at
), earned AS (
    INSERT INTO ledger_transfers
        (merchant_id, id, kind, account_id, balance_change, balance_after, store_id, terminal_id, reference, sale_id)
    SELECT m.merchant_id, p.earn_transfer_id, 'accrue', m.id, p.earn, m.final_balance,
         p.store_id, p.terminal_id, p.reference, p.transfer_id
    FROM moved m, params p
    WHERE p.earn IS NOT NULL
    RETURNING id
), entries AS (
    INSERT INTO ledger_entries (merchant_id, transfer_id, book, program_id, account_id, amount)
    SELECT m.merchant_id, x.transfer_id, x.book, m.program_id,
           CASE WHEN x.book = 'customer' THEN m.id END, x.amount
    FROM moved m, params p,
         LATERAL (VALUES (p.transfer_id, 'customer', m.change),
                         (p.transfer_id, 'issuance', -m.change),
                         (p.earn_transfer_id, 'customer', p.earn),
                         (p.earn_transfer_id, 'issuance', -p.earn)) AS x (transfer_id, book, amount)
    WHERE x.amount IS NOT NULL
), spent AS (
    INSERT INTO redeemed_codes (merchant_id, fingerprint, kind, device_id, transfer_id)
    SELECT p.merchant_id, p.code_fingerprint, p.code_kind, p.code_device, t.id
    FROM transfer t, params p
    WHERE p.code_fingerprint IS NOT NULL
), remembered AS (
    INSERT INTO idempotency_keys (merchant_id, caller_id, key, request_hash, transfer_id)
    SELECT p.merchant_id, p.caller_id, p.idempotency_key, p.request_hash, t.id FROM transfer t, params p
)
SELECT id, kind, account_id, balance_change, balance_after, reverses_id, created_at FROM transfer
