-- The rule of a payment code, written once: why its device refuses it, or
-- NULL when the code may pay. A code pays only through an active device and
-- only if it is newer than every code of that device already used (its
-- replay floor: `last_offline_issued_at_ms` for offline tokens,
-- `last_numeric_step` for numeric codes). A missing device reads as a NULL
-- status. 'code-below-floor' is told apart by `ledger_refusal_v1`: a spent
-- code (replayed) or an older one (superseded).
--
-- A plain SQL expression, IMMUTABLE: Postgres inlines it into the statements
-- that call it, so the posting statements pay nothing for it being a function.
CREATE OR REPLACE FUNCTION ledger_code_refusal_v1(
    status text,
    offline_floor bigint,
    numeric_floor bigint,
    issued_at bigint,
    step bigint
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN status IS DISTINCT FROM 'active' THEN 'device-not-active'
        WHEN (issued_at IS NOT NULL AND issued_at <= offline_floor)
            OR (step IS NOT NULL AND step <= numeric_floor) THEN 'code-below-floor'
    END
$$;
