-- The functions of migration 000011: a refused debit raises its code's
-- device replay floor again.

CREATE OR REPLACE FUNCTION ledger_post_each(
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

CREATE OR REPLACE FUNCTION ledger_post_batch(
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
DECLARE
    n integer := coalesce(array_length(p_merchant_id, 1), 0);
    idle integer[] := '{}';
    together integer[] := '{}';
    floored integer[] := '{}';
    posted integer[] := '{}';
    ids uuid[];
    kinds text[];
    account_ids uuid[];
    changes bigint[];
    afters bigint[];
    created timestamptz[];
    k integer;
    one record;
BEGIN
    -- A posting made at a terminal that is not active now is refused before
    -- anything is written. Reading the status here, in the debit's own
    -- transaction, is what lets the redemption path skip reading it when the
    -- request is authenticated, and closes the gap between the two.
    SELECT coalesce(array_agg(i ORDER BY i), '{}') INTO idle
    FROM generate_series(1, n) AS i
    WHERE p_terminal_id[i] IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM terminals t
          WHERE t.merchant_id = p_merchant_id[i] AND t.id = p_terminal_id[i] AND t.status = 'active');

    FOREACH item IN ARRAY idle LOOP
        outcome := 'terminal-not-active';
        violated := NULL;
        r_id := NULL; r_kind := NULL; r_account_id := NULL; r_balance_change := NULL;
        r_balance_after := NULL; r_reverses_id := NULL; r_created_at := NULL;
        RETURN NEXT;
    END LOOP;

    -- The postings that can share statements: ordinary ones, none touching
    -- a row another posting of the batch touches.
    SELECT coalesce(array_agg(x.i ORDER BY x.i), '{}') INTO together
    FROM (
        SELECT i,
            count(*) OVER (PARTITION BY p_merchant_id[i], p_account_id[i]) AS same_account,
            count(*) OVER (PARTITION BY p_merchant_id[i], p_code_device[i]) AS same_device,
            count(*) OVER (PARTITION BY p_merchant_id[i], p_caller_id[i], p_idempotency_key[i]) AS same_key,
            count(*) OVER (PARTITION BY p_merchant_id[i], p_code_fingerprint[i]) AS same_code
        FROM generate_series(1, n) AS i
        WHERE p_reverses_id[i] IS NULL AND p_earn[i] IS NULL AND p_account_id[i] IS NOT NULL
          AND p_kind[i] NOT IN ('void', 'refund')
          AND NOT (i = ANY (idle))
    ) x
    WHERE x.same_account = 1
      AND (p_code_device[x.i] IS NULL OR x.same_device = 1)
      AND x.same_key = 1
      AND (p_code_fingerprint[x.i] IS NULL OR x.same_code = 1);

    IF cardinality(together) > 0 THEN
        BEGIN
            WITH raised AS (
                UPDATE devices d
                SET last_offline_issued_at_ms = COALESCE(p_code_issued_at[x.i], d.last_offline_issued_at_ms),
                    last_numeric_step = COALESCE(p_code_step[x.i], d.last_numeric_step)
                FROM unnest(together) AS x (i)
                WHERE p_code_device[x.i] IS NOT NULL
                  AND d.merchant_id = p_merchant_id[x.i] AND d.id = p_code_device[x.i] AND d.status = 'active'
                  AND (p_code_issued_at[x.i] IS NULL OR d.last_offline_issued_at_ms < p_code_issued_at[x.i])
                  AND (p_code_step[x.i] IS NULL OR d.last_numeric_step < p_code_step[x.i])
                RETURNING x.i
            )
            SELECT coalesce(array_agg(raised.i), '{}') INTO floored FROM raised;

            WITH go AS (
                SELECT x.i FROM unnest(together) AS x (i)
                WHERE p_code_device[x.i] IS NULL OR x.i = ANY (floored)
            ), moved AS (
                UPDATE accounts a
                SET balance = a.balance + p_change[g.i], updated_at = now()
                FROM go g
                WHERE a.merchant_id = p_merchant_id[g.i] AND a.id = p_account_id[g.i]
                  AND a.balance + p_change[g.i] >= 0
                RETURNING g.i, a.merchant_id, a.id, a.balance
            ), transfer AS (
                INSERT INTO ledger_transfers
                    (merchant_id, id, kind, account_id, balance_change, balance_after, reason, actor,
                     store_id, terminal_id, code_kind, reference,
                     caller_id, idempotency_key, request_hash, code_fingerprint, code_device_id)
                SELECT m.merchant_id, p_transfer_id[m.i], p_kind[m.i], m.id, p_change[m.i], m.balance,
                       p_reason[m.i], p_actor[m.i], p_store_id[m.i], p_terminal_id[m.i], p_code_kind[m.i],
                       p_reference[m.i],
                       p_caller_id[m.i], p_idempotency_key[m.i], p_request_hash[m.i], p_code_fingerprint[m.i],
                       CASE WHEN p_code_fingerprint[m.i] IS NOT NULL THEN p_code_device[m.i] END
                FROM moved m
                RETURNING merchant_id, id, kind, account_id, balance_change, balance_after, created_at
            )
            SELECT coalesce(array_agg(m.i), '{}'), array_agg(t.id), array_agg(t.kind), array_agg(t.account_id),
                   array_agg(t.balance_change), array_agg(t.balance_after), array_agg(t.created_at)
                INTO posted, ids, kinds, account_ids, changes, afters, created
                FROM transfer t
                JOIN moved m ON m.merchant_id = t.merchant_id AND p_transfer_id[m.i] = t.id;
        EXCEPTION
            WHEN unique_violation OR check_violation OR foreign_key_violation OR deadlock_detected THEN
                -- Nothing of the set was written; each posting goes alone below.
                together := '{}';
                posted := '{}';
        END;
    END IF;

    FOREACH item IN ARRAY together LOOP
        k := array_position(posted, item);
        violated := NULL;
        r_reverses_id := NULL;
        IF k IS NULL THEN
            outcome := 'refused';
            r_id := NULL; r_kind := NULL; r_account_id := NULL;
            r_balance_change := NULL; r_balance_after := NULL; r_created_at := NULL;
        ELSE
            outcome := 'posted';
            r_id := ids[k]; r_kind := kinds[k]; r_account_id := account_ids[k];
            r_balance_change := changes[k]; r_balance_after := afters[k]; r_created_at := created[k];
        END IF;
        RETURN NEXT;
    END LOOP;

    FOR i IN 1 .. n LOOP
        CONTINUE WHEN i = ANY (together) OR i = ANY (idle);
        FOR one IN
            SELECT * FROM ledger_post_each(
                ARRAY[p_merchant_id[i]], ARRAY[p_kind[i]], ARRAY[p_account_id[i]], ARRAY[p_change[i]],
                ARRAY[p_reverses_id[i]], ARRAY[p_transfer_id[i]], ARRAY[p_caller_id[i]],
                ARRAY[p_idempotency_key[i]], ARRAY[p_request_hash[i]], ARRAY[p_reason[i]], ARRAY[p_actor[i]],
                ARRAY[p_code_kind[i]], ARRAY[p_code_device[i]], ARRAY[p_code_fingerprint[i]],
                ARRAY[p_code_issued_at[i]], ARRAY[p_code_step[i]], ARRAY[p_store_id[i]],
                ARRAY[p_terminal_id[i]], ARRAY[p_reference[i]], ARRAY[p_earn[i]], ARRAY[p_earn_transfer_id[i]])
        LOOP
            item := i;
            outcome := one.outcome;
            violated := one.violated;
            r_id := one.r_id;
            r_kind := one.r_kind;
            r_account_id := one.r_account_id;
            r_balance_change := one.r_balance_change;
            r_balance_after := one.r_balance_after;
            r_reverses_id := one.r_reverses_id;
            r_created_at := one.r_created_at;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$$;

-- CREATE OR REPLACE resets the function's settings: the generic plans of
-- migration 000009 are set again.
ALTER FUNCTION ledger_post_batch(
    uuid[], text[], uuid[], bigint[], uuid[], uuid[], uuid[], text[], bytea[], text[], text[],
    text[], uuid[], bytea[], bigint[], bigint[], uuid[], uuid[], text[], bigint[], uuid[]
) SET plan_cache_mode = force_generic_plan;
