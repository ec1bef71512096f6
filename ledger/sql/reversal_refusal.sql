-- The rule of a void or refund, written once: why the transfer it names
-- cannot be reversed by it, or NULL when it can. Only a redemption is
-- reversed; a voided one never again; a void only while nothing of it was
-- refunded (refund the rest instead); refunds add up to at most what the
-- redemption took. `op` is 'void' or 'refund', `change` a refund's amount.
-- Inlined like `ledger_code_refusal_v1`.
CREATE OR REPLACE FUNCTION ledger_reversal_refusal_v1(
    target_kind text,
    voided boolean,
    reversed_amount bigint,
    balance_change bigint,
    op text,
    change bigint
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN target_kind IS DISTINCT FROM 'redeem' THEN 'not-a-redemption'
        WHEN voided THEN 'already-voided'
        WHEN op = 'void' AND reversed_amount > 0 THEN 'redemption-has-refunds'
        WHEN op = 'refund' AND reversed_amount + change > -balance_change THEN 'refund-exceeds-redemption'
    END
$$;
