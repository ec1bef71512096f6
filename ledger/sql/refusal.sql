-- Why a posting that wrote nothing was refused, named from the rows as they
-- are now: `ledger_post_each_v1` asks this after rolling the posting back,
-- so the answer reads the committed state, in the posting's transaction.
-- The rules themselves are the `ledger_*_refusal_v1` functions that the
-- posting statements apply; this function only finds the row each rule
-- looks at and asks it.
--
-- refusal is one of:
--   key-taken                  a request with this caller and key committed
--                              first: its stored answer is the answer (or
--                              idempotency-key-reused, if it was another request)
--   account-not-found, insufficient-balance (amount = the balance)
--   redemption-not-found, not-a-redemption, already-voided,
--   redemption-has-refunds, refund-exceeds-redemption (amount = what is
--                              left to refund)
--   device-not-active, code-replayed, code-superseded
--   contended                  nothing explains it any more: a concurrent
--                              change moved the state in between; retry
-- The operation is asked before the code: a debit the balance refused is
-- reported as that, whatever became of the code since (a refused posting
-- leaves its device's floor where it was, so the cashier may correct the
-- amount and send the same code again).
CREATE OR REPLACE FUNCTION ledger_refusal_v1(
    p_merchant_id uuid,
    p_kind text,
    p_account_id uuid,
    p_change bigint,
    p_reverses_id uuid,
    p_caller_id uuid,
    p_idempotency_key text,
    p_code_device uuid,
    p_code_fingerprint bytea,
    p_code_issued_at bigint,
    p_code_step bigint,
    OUT refusal text,
    OUT amount bigint
) LANGUAGE plpgsql STABLE AS $$
DECLARE
    target record;
    device_status text;
    offline_floor bigint;
    numeric_floor bigint;
    available bigint;
BEGIN
    IF p_caller_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM ledger_transfers t
        WHERE t.merchant_id = p_merchant_id AND t.caller_id = p_caller_id
          AND t.idempotency_key = p_idempotency_key
    ) THEN
        refusal := 'key-taken';
        RETURN;
    END IF;

    IF p_kind IN ('void', 'refund') THEN
        SELECT r.kind, r.voided, r.reversed_amount, r.balance_change INTO target
        FROM ledger_transfers r WHERE r.merchant_id = p_merchant_id AND r.id = p_reverses_id;
        IF NOT FOUND THEN
            refusal := 'redemption-not-found';
            RETURN;
        END IF;
        refusal := ledger_reversal_refusal_v1(
            target.kind, target.voided, target.reversed_amount, target.balance_change, p_kind, p_change);
        IF refusal = 'refund-exceeds-redemption' THEN
            amount := -target.balance_change - target.reversed_amount;
        END IF;
    ELSE
        SELECT a.balance INTO available
        FROM accounts a WHERE a.merchant_id = p_merchant_id AND a.id = p_account_id;
        IF NOT FOUND THEN
            refusal := 'account-not-found';
            RETURN;
        END IF;
        refusal := ledger_balance_refusal_v1(available, p_change);
        IF refusal IS NOT NULL THEN
            amount := available;
        END IF;
    END IF;
    IF refusal IS NOT NULL THEN
        RETURN;
    END IF;

    IF p_code_device IS NOT NULL THEN
        -- No such device: the three stay NULL, and a NULL status is not active.
        SELECT d.status, d.last_offline_issued_at_ms, d.last_numeric_step
            INTO device_status, offline_floor, numeric_floor
        FROM devices d WHERE d.merchant_id = p_merchant_id AND d.id = p_code_device;
        refusal := ledger_code_refusal_v1(
            device_status, offline_floor, numeric_floor, p_code_issued_at, p_code_step);
        IF refusal = 'code-below-floor' THEN
            refusal := CASE WHEN EXISTS (
                SELECT 1 FROM ledger_transfers t
                WHERE t.merchant_id = p_merchant_id AND t.code_fingerprint = p_code_fingerprint
            ) THEN 'code-replayed' ELSE 'code-superseded' END;
        END IF;
        IF refusal IS NOT NULL THEN
            RETURN;
        END IF;
    END IF;
    refusal := 'contended';
END
$$;
