DROP TABLE idempotency_keys;
DROP TABLE ledger_entries;
DROP TABLE ledger_transfers;
DROP TABLE accounts;
DROP TABLE customers;
DROP TABLE stores;
DROP TABLE programs;
DROP TABLE merchants;
