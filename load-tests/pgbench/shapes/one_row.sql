-- (after updates.sql) The rest of a batch stored as one row per redemption:
-- the transfer carries the code's fingerprint and the idempotency key, each
-- unique (see setup.sql).
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
