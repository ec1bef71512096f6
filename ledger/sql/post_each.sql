-- One posting at a time, each in a subtransaction of its own: the ledger's
-- complete write path. `ledger_post_batch_v1` sends here every posting its
-- set path does not post (reversals, earnings, postings that share a row
-- with another of the batch, and any it refused), so every refusal is named
-- here, by `ledger_refusal_v1`, reading the same rules.
--
-- Each posting is one statement, a chain of writable CTEs (docs/ledger.md):
--   code_floor a payment code raises its device's replay floor, if
--              `ledger_code_refusal_v1` lets it (an active device, a code
--              newer than every one used)
--   reversal   VOID/REFUND claim their share of the redemption they reverse,
--              if `ledger_reversal_refusal_v1` lets them; the row lock this
--              takes serialises reversals of one redemption
--   moved      the balance change, if `ledger_balance_refusal_v1` lets it; a
--              credit past the largest balance trips accounts_balance_range
--   transfer   the transfer, one row: the balance after it, the caller's
--              idempotency key and request hash, the code's fingerprint
--   earned     for a redemption that also earns: the accrual of the same sale
-- A posting that writes no transfer raises `TC001` (a code of our own): its
-- block is rolled back whole, floor included, so a refused posting spends
-- nothing, not even the customer's code; the handler then names the refusal.
-- A repeated idempotency key or code trips its unique index (after waiting
-- for a concurrent first attempt to commit), which rolls back that posting.
--
-- One row comes back per posting, in order: `outcome` is 'posted' (r_*
-- describe the transfer), a refusal of `ledger_refusal_v1` (`amount` as it
-- says), 'balance-limit', 'deadlocked' (lost a deadlock to a concurrent
-- batch: nothing of it was written, post it again), or 'violated' (a
-- constraint nothing here expects; `detail` names it).
CREATE OR REPLACE FUNCTION ledger_post_each_v1(
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
    detail text,
    amount bigint,
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
        detail := NULL;
        amount := NULL;
        r_id := NULL; r_kind := NULL; r_account_id := NULL; r_balance_change := NULL;
        r_balance_after := NULL; r_reverses_id := NULL; r_created_at := NULL;
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
              AND d.merchant_id = p.merchant_id AND d.id = p.code_device
              AND ledger_code_refusal_v1(d.status, d.last_offline_issued_at_ms, d.last_numeric_step,
                                         p.code_issued_at, p.code_step) IS NULL
            RETURNING d.id
        ), reversal AS (
            UPDATE ledger_transfers r
            SET reversed_amount = r.reversed_amount
                    + CASE WHEN p.kind = 'void' THEN -r.balance_change ELSE p.change END,
                voided = (p.kind = 'void')
            FROM params p
            WHERE p.kind IN ('void', 'refund')
              AND r.merchant_id = p.merchant_id AND r.id = p.reverses_id
              AND ledger_reversal_refusal_v1(r.kind, r.voided, r.reversed_amount, r.balance_change,
                                             p.kind, p.change) IS NULL
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
              AND ledger_balance_refusal_v1(a.balance, (SELECT change FROM plan)) IS NULL
            RETURNING a.merchant_id, a.id, (SELECT change FROM plan) AS change,
                a.balance - COALESCE((SELECT earn FROM params), 0) AS balance, a.balance AS final_balance
        ), transfer AS (
            INSERT INTO ledger_transfers
                (merchant_id, id, kind, account_id, balance_change, balance_after, reverses_id, reason, actor,
                 store_id, terminal_id, code_kind, reference,
                 caller_id, idempotency_key, request_hash, code_fingerprint, code_device_id)
            SELECT m.merchant_id, p.transfer_id, p.kind, m.id, m.change, m.balance, p.reverses_id, p.reason, p.actor,
                 p.store_id, p.terminal_id, p.code_kind, p.reference,
                 p.caller_id, p.idempotency_key, p.request_hash, p.code_fingerprint,
                 CASE WHEN p.code_fingerprint IS NOT NULL THEN p.code_device END
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
        )
        SELECT t.id, t.kind, t.account_id, t.balance_change, t.balance_after, t.reverses_id, t.created_at
                INTO r_id, r_kind, r_account_id, r_balance_change, r_balance_after, r_reverses_id, r_created_at
                FROM transfer t;
        IF NOT FOUND THEN
            -- Refused: undo whatever the statement wrote (a raised floor).
            RAISE EXCEPTION USING ERRCODE = 'TC001', MESSAGE = 'posting refused';
        END IF;
        outcome := 'posted';
        EXCEPTION
            WHEN SQLSTATE 'TC001' THEN
                SELECT e.refusal, e.amount INTO outcome, amount
                FROM ledger_refusal_v1(
                    p_merchant_id[i], p_kind[i], p_account_id[i], p_change[i], p_reverses_id[i],
                    p_caller_id[i], p_idempotency_key[i], p_code_device[i], p_code_fingerprint[i],
                    p_code_issued_at[i], p_code_step[i]) e;
            WHEN unique_violation OR check_violation THEN
                GET STACKED DIAGNOSTICS detail = CONSTRAINT_NAME;
                outcome := CASE detail
                    -- A copy of this request committed first; its answer is the answer.
                    WHEN 'ledger_transfers_idempotency_key' THEN 'key-taken'
                    WHEN 'ledger_transfers_code' THEN 'code-replayed'
                    WHEN 'ledger_transfers_one_void' THEN 'already-voided'
                    WHEN 'accounts_balance_range' THEN 'balance-limit'
                    ELSE 'violated'
                END;
            WHEN deadlock_detected THEN
                outcome := 'deadlocked';
        END;
        RETURN NEXT;
    END LOOP;
END
$$;
