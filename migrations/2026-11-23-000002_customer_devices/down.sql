DROP TABLE redeemed_codes;
DROP TABLE devices;
ALTER TABLE customers DROP COLUMN password_changed_at;
ALTER TABLE customers DROP COLUMN password_hash;
