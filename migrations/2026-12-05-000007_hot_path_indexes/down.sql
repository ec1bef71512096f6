ALTER TABLE ledger_entries
    ADD FOREIGN KEY (merchant_id, program_id) REFERENCES programs (merchant_id, id);
DROP INDEX accounts_by_customer;
