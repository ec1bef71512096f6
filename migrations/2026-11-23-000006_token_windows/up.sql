-- Per-merchant freshness windows for offline tokens (PROTOCOL.md: "both
-- windows configurable per merchant"). A token is accepted when
--   now - offline_max_age_s <= issued_at <= now + offline_max_skew_s.
-- Bounds: under 10 s a code shown while the cashier types the amount would
-- expire at the till; over 10 minutes a photographed code stays usable too
-- long. A phone clock more than 5 minutes ahead is broken, not skewed.
ALTER TABLE merchant_settings
    ADD COLUMN offline_max_age_s integer NOT NULL DEFAULT 60
        CHECK (offline_max_age_s BETWEEN 10 AND 600),
    ADD COLUMN offline_max_skew_s integer NOT NULL DEFAULT 30
        CHECK (offline_max_skew_s BETWEEN 0 AND 300);
