-- The start of every batch in ops/ledger-shapes.sh, whatever it stores: the
-- devices' replay floors and the balances of :batch redemptions updated, as
-- `ledger_post_batch` does. The shape's own file (six_rows.sql, one_row.sql)
-- continues the statement. Batches take aligned blocks of accounts, so two
-- clients never wait on each other's rows.
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
