DROP TABLE merchant_settings;
DROP TABLE fraud_events;
