-- One batch of :batch redemptions stored as one row each: the transfer
-- carries the code's fingerprint and the idempotency key, each unique (see
-- setup.sql); the device's floor and the balance are updated as today.
\set base random(0, :naccounts / :batch - 1) * :batch + 1
\set last :base + :batch - 1
WITH floored AS (
    UPDATE shape_devices d SET floor_ms = d.floor_ms + 1
    WHERE d.merchant_id = '00000000-0000-0000-0000-000000000001'
      AND d.id BETWEEN :base AND :last AND d.status = 'active'
    RETURNING d.id
), moved AS (
    UPDATE shape_accounts a SET balance = a.balance - 1, updated_at = now()
    WHERE a.merchant_id = '00000000-0000-0000-0000-000000000001'
      AND a.id BETWEEN :base AND :last AND a.balance >= 1
    RETURNING a.merchant_id, a.id, a.balance, gen_random_uuid() AS transfer_id
), transfer AS (
    INSERT INTO shape_transfers (merchant_id, id, kind, account_id, balance_change, balance_after,
                                 terminal_id, code_kind, code_fingerprint, caller_id, idempotency_key,
                                 request_hash)
    SELECT merchant_id, transfer_id, 'redeem', id, -1, balance,
           '00000000-0000-0000-0000-000000000002', 'offline', sha256(transfer_id::text::bytea),
           '00000000-0000-0000-0000-000000000002', transfer_id::text, sha256(transfer_id::text::bytea)
    FROM moved
    RETURNING id
)
SELECT count(*) FROM transfer;
