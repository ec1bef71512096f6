-- One batch of :batch redemptions as `ledger_post_batch` stores them today
-- (see setup.sql). Batches take aligned blocks of accounts, so two clients
-- never wait on each other's rows.
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
                                 terminal_id, code_kind)
    SELECT merchant_id, transfer_id, 'redeem', id, -1, balance,
           '00000000-0000-0000-0000-000000000002', 'offline'
    FROM moved
    RETURNING merchant_id, id, account_id
), entries AS (
    INSERT INTO shape_entries
    SELECT t.merchant_id, t.id, b.book, '00000000-0000-0000-0000-000000000003',
           CASE WHEN b.book = 'customer' THEN t.account_id END,
           CASE WHEN b.book = 'customer' THEN -1 ELSE 1 END
    FROM transfer t CROSS JOIN (VALUES ('customer'), ('issuance')) AS b (book)
), spent AS (
    INSERT INTO shape_codes
    SELECT t.merchant_id, sha256(t.id::text::bytea), 'offline', t.account_id, t.id FROM transfer t
), remembered AS (
    INSERT INTO shape_keys (merchant_id, caller_id, key, request_hash, transfer_id)
    SELECT t.merchant_id, '00000000-0000-0000-0000-000000000002', t.id::text, sha256(t.id::text::bytea), t.id
    FROM transfer t
)
SELECT count(*) FROM transfer;
