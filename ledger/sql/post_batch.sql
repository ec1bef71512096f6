-- Group commit: the ledger's one write statement, for a batch of postings.
--
-- The postings come as parallel arrays (element i of every array is posting
-- i); the function runs as one statement, hence one transaction and one
-- commit for the whole batch: that is what batching buys, since a commit
-- (WAL flush) and a round trip cost more than the work of one posting. The
-- caller acknowledges nothing before the statement has returned, i.e.
-- before the commit. One row comes back per posting, as
-- `ledger_post_each_v1` describes, plus 'terminal-not-active'.
--
-- 1. A posting made at a terminal that is not active now is refused before
--    anything is written. Reading the status here, in the debit's own
--    transaction, is what lets the redemption path skip reading it when the
--    request is authenticated, and closes the gap between the two.
-- 2. The set path: the batch's ordinary postings (no reversal, no earning,
--    and no account, device, idempotency key or code used twice in the
--    batch) share three statements instead of a statement chain each:
--    raise the replay floors of their codes' devices, then the balance
--    changes and transfers of those whose code passed. Profiling showed most
--    of Postgres's time per posting was starting a statement (building the
--    executor for a chain of writable CTEs and re-reading every CHECK of
--    every table it writes), not the row writes (docs/performance.md).
--    Anything that raises (a key or code already taken, a constraint, a
--    deadlock with another batch, or a floor raised for a posting that was
--    then not posted) rolls the whole set back.
-- 3. Every posting the set path did not post goes through
--    `ledger_post_each_v1`, alone: the ones it could not take, and the ones
--    it refused, whose refusal is named there. So the outcomes and every
--    guarantee are those of posting one at a time; only the common case is
--    cheaper.
--
-- Generic plans (`plan_cache_mode`): the statements take arrays as
-- parameters, and with a custom plan the planner knows each array's length,
-- so the generic plan (which assumes ten elements) always looks costlier and
-- Postgres re-planned the set statement on every call, which cost more than
-- running it for a small batch (`ops/profile.sh --users 32`: 1,731 us per
-- call before, 1,412 us after). Every row is found by primary key, so the
-- plans do not depend on the values.
CREATE OR REPLACE FUNCTION ledger_post_batch_v1(
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
) LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
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
        detail := NULL;
        amount := NULL;
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
                  AND d.merchant_id = p_merchant_id[x.i] AND d.id = p_code_device[x.i]
                  AND ledger_code_refusal_v1(d.status, d.last_offline_issued_at_ms, d.last_numeric_step,
                                             p_code_issued_at[x.i], p_code_step[x.i]) IS NULL
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
                  AND ledger_balance_refusal_v1(a.balance, p_change[g.i]) IS NULL
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
            -- A floor raised for a posting that was then refused: undo the set.
            IF EXISTS (SELECT 1 FROM unnest(floored) AS f (i) WHERE NOT (f.i = ANY (posted))) THEN
                RAISE EXCEPTION USING ERRCODE = 'TC001', MESSAGE = 'posting refused';
            END IF;
        EXCEPTION
            WHEN unique_violation OR check_violation OR foreign_key_violation OR deadlock_detected
                OR SQLSTATE 'TC001' THEN
                -- Nothing of the set was written; each posting goes alone below.
                posted := '{}';
        END;
    END IF;
    -- The set path answers only what it posted; the rest go alone below,
    -- where each refusal is named.
    together := posted;

    FOREACH item IN ARRAY together LOOP
        k := array_position(posted, item);
        outcome := 'posted';
        detail := NULL;
        amount := NULL;
        r_id := ids[k]; r_kind := kinds[k]; r_account_id := account_ids[k];
        r_balance_change := changes[k]; r_balance_after := afters[k]; r_reverses_id := NULL;
        r_created_at := created[k];
        RETURN NEXT;
    END LOOP;

    FOR i IN 1 .. n LOOP
        CONTINUE WHEN i = ANY (together) OR i = ANY (idle);
        FOR one IN
            SELECT * FROM ledger_post_each_v1(
                ARRAY[p_merchant_id[i]], ARRAY[p_kind[i]], ARRAY[p_account_id[i]], ARRAY[p_change[i]],
                ARRAY[p_reverses_id[i]], ARRAY[p_transfer_id[i]], ARRAY[p_caller_id[i]],
                ARRAY[p_idempotency_key[i]], ARRAY[p_request_hash[i]], ARRAY[p_reason[i]], ARRAY[p_actor[i]],
                ARRAY[p_code_kind[i]], ARRAY[p_code_device[i]], ARRAY[p_code_fingerprint[i]],
                ARRAY[p_code_issued_at[i]], ARRAY[p_code_step[i]], ARRAY[p_store_id[i]],
                ARRAY[p_terminal_id[i]], ARRAY[p_reference[i]], ARRAY[p_earn[i]], ARRAY[p_earn_transfer_id[i]])
        LOOP
            item := i;
            outcome := one.outcome;
            detail := one.detail;
            amount := one.amount;
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
