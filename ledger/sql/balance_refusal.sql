-- The rule of a balance, written once: 'insufficient-balance' when `change`
-- would take `balance` below zero, NULL when it may be applied. (The upper
-- limit is the CHECK `accounts_balance_range`, which also backs this one.)
-- Inlined like `ledger_code_refusal_v1`.
CREATE OR REPLACE FUNCTION ledger_balance_refusal_v1(
    balance bigint,
    change bigint
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN balance + change < 0 THEN 'insufficient-balance' END
$$;
