ALTER FUNCTION ledger_post_batch(
    uuid[], text[], uuid[], bigint[], uuid[], uuid[], uuid[], text[], bytea[], text[], text[],
    text[], uuid[], bytea[], bigint[], bigint[], uuid[], uuid[], text[], bigint[], uuid[]
) RESET plan_cache_mode;
