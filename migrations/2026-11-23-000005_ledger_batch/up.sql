-- Group commit: the ledger's one write statement, for a batch of postings.
--
-- `ledger_post_batch` takes the postings as parallel arrays (element i of
-- every array is posting i) and records each in its own subtransaction, so a
-- posting that fails (a repeated idempotency key, a spent code, a balance
-- limit) rolls back alone and the others still commit. The function runs as
-- one statement, hence one transaction and one commit for the whole batch:
-- that is what batching buys, since a commit (WAL flush) and a round trip
-- cost more than the work of one posting. The caller acknowledges nothing
-- before the statement has returned, i.e. before the commit.
--
-- Each posting's statement is the same chain of writable CTEs (see
-- docs/ledger.md); in order:
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
-- that posting's subtransaction: a duplicate never has an effect.
--
-- One row comes back per posting, in order:
--   outcome 'posted'   the transfer was written; r_* describe it
--           'refused'  nothing changed and no constraint said why (a balance
--                      too low, a spent code, a missing account...); the
--                      caller asks the committed state why
--           'violated' a constraint refused it; `violated` names it
--           'contended' a deadlock with a concurrent batch chose this posting
--                      as the victim; nothing of it was written, retry it
CREATE FUNCTION ledger_post_batch(
    p_merchant_id uuid[],
    p_kind text[],
    p_account_id uuid[],
    p_change bigint[],
    p_reverses_id uuid[],
    p_transfer_id uuid[],
    p_caller_id uuid[],
    p_idempotency_key text[],
    p_request_hash bytea[],
    p_reason text[],
    p_actor text[],
    p_code_kind text[],
    p_code_device uuid[],
    p_code_fingerprint bytea[],
    p_code_issued_at bigint[],
    p_code_step bigint[],
    p_store_id uuid[],
    p_terminal_id uuid[],
    p_reference text[],
    p_earn bigint[],
    p_earn_transfer_id uuid[]
) RETURNS TABLE (
    item integer,
    outcome text,
    violated text,
    r_id uuid,
    r_kind text,
    r_account_id uuid,
    r_balance_change bigint,
    r_balance_after bigint,
    r_reverses_id uuid,
    r_created_at timestamptz
) LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_merchant_id, 1), 0) LOOP
        item := i;
        violated := NULL;
        r_id := NULL;
        BEGIN
        WITH params AS (
            SELECT
            p_merchant_id[i] AS merchant_id,
            p_kind[i] AS kind,
            p_account_id[i] AS account_id,
            p_change[i] AS change,
            p_reverses_id[i] AS reverses_id,
            p_transfer_id[i] AS transfer_id,
            p_caller_id[i] AS caller_id,
            p_idempotency_key[i] AS idempotency_key,
            p_request_hash[i] AS request_hash,
            p_reason[i] AS reason,
            p_actor[i] AS actor,
            p_code_kind[i] AS code_kind,
            p_code_device[i] AS code_device,
            p_code_fingerprint[i] AS code_fingerprint,
            p_code_issued_at[i] AS code_issued_at,
            p_code_step[i] AS code_step,
            p_store_id[i] AS store_id,
            p_terminal_id[i] AS terminal_id,
            p_reference[i] AS reference,
            p_earn[i] AS earn,
            p_earn_transfer_id[i] AS earn_transfer_id
        )
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
        SELECT t.id, t.kind, t.account_id, t.balance_change, t.balance_after, t.reverses_id, t.created_at
                INTO r_id, r_kind, r_account_id, r_balance_change, r_balance_after, r_reverses_id, r_created_at
                FROM transfer t;
        outcome := CASE WHEN FOUND THEN 'posted' ELSE 'refused' END;
        EXCEPTION
            WHEN unique_violation OR check_violation THEN
                GET STACKED DIAGNOSTICS violated = CONSTRAINT_NAME;
                outcome := 'violated';
            WHEN deadlock_detected THEN
                outcome := 'contended';
        END;
        RETURN NEXT;
    END LOOP;
END
$$;
