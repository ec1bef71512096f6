-- (after updates.sql) The rest of a batch as `ledger_post_batch` stores it
-- today: a transfer, two entries, the spent code and the idempotency key
-- per redemption (see setup.sql).
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
