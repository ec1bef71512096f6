-- Generic plans for the statements inside ledger_post_batch.
--
-- Its statements take arrays (the batch) as parameters. With a custom plan
-- the planner knows each array's length, so the generic plan (which assumes
-- ten elements) always looks costlier and Postgres re-plans the three
-- statements on every call. Planning the set statement (eight writable CTEs)
-- cost more than running it for a small batch: `ops/profile.sh --users 32`
-- measured the function at 1,731 us per call before (batches of 4.3) and
-- 1,412 us after (batches of 4.0), and Postgres's CPU at the same rate fell
-- from 79% to 70% of a core. The plans do not depend on the values: every
-- row is found by primary key, whatever the batch.
ALTER FUNCTION ledger_post_batch(
    uuid[], text[], uuid[], bigint[], uuid[], uuid[], uuid[], text[], bytea[], text[], text[],
    text[], uuid[], bytea[], bigint[], bigint[], uuid[], uuid[], text[], bigint[], uuid[]
) SET plan_cache_mode = force_generic_plan;
