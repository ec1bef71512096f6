ALTER TABLE merchant_settings
    DROP COLUMN offline_max_skew_s,
    DROP COLUMN offline_max_age_s;
