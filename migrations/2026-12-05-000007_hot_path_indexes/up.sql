-- Two costs found on the redemption path with pg_stat_statements
-- (docs/performance.md, 2026-12-05).
--
-- 1. A code names a device, and the device its customer's account: the
--    accounts were only indexed by (merchant, program, customer), so finding
--    a customer's account walked the merchant's part of that index
--    (0.13 ms per redemption with 10,000 customers, growing with them).
CREATE INDEX accounts_by_customer ON accounts (merchant_id, customer_id);

-- 2. Every entry's foreign key to `programs` took a share lock on the one
--    program row of its merchant: a lock on a merchant-wide row from every
--    posting of every till, the hot row the ledger is designed not to have
--    (a share lock writes the locker into the row, and concurrent lockers
--    make Postgres create a new multixact for each). The entry's program is
--    its account's, which `ledger_post_batch` reads from the account row it
--    updates, and `accounts -> programs` keeps that one valid;
--    `tillcode-api verify-ledger` checks every entry is booked to the program
--    of its transfer's account.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_merchant_id_program_id_fkey;
