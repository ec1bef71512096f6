DROP FUNCTION ledger_post_batch(
    uuid[], text[], uuid[], bigint[], uuid[], uuid[], uuid[], text[], bytea[], text[], text[],
    text[], uuid[], bytea[], bigint[], bigint[], uuid[], uuid[], text[], bigint[], uuid[]
);
ALTER FUNCTION ledger_post_each(
    uuid[], text[], uuid[], bigint[], uuid[], uuid[], uuid[], text[], bytea[], text[], text[],
    text[], uuid[], bytea[], bigint[], bigint[], uuid[], uuid[], text[], bigint[], uuid[]
) RENAME TO ledger_post_batch;
